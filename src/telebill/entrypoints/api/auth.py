"""HTTP authentication: Basic (`AccountSid:AuthToken`, `KeySid:KeySecret`), RS256 bearer
tokens (Voximplant keys), and the operator bearer token for administration."""

from __future__ import annotations

import base64
import binascii

from fastapi import Request

from telebill.bootstrap import Container
from telebill.domain.accounts import Principal
from telebill.domain.errors import Unauthenticated


def container_of(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def basic_credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthenticated("HTTP Basic credentials required")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("malformed Basic credentials") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise Unauthenticated("malformed Basic credentials")
    return username, password


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def basic_principal(request: Request) -> Principal:
    """The caller authenticated with HTTP Basic (the Twilio and native APIs).

    Runs on the event loop: credentials are cached (ADR 7), so this is a hash and a dict
    lookup; a cache miss costs one short indexed query every few seconds per credential.
    """
    username, password = basic_credentials(request)
    principal = container_of(request).accounts.authenticate_basic(username, password)
    request.state.account_sid = principal.account.sid
    return principal


async def any_principal(request: Request) -> Principal:
    """Basic, or a bearer JWT signed by one of the account's keys."""
    token = bearer_token(request)
    if token is not None:
        principal = container_of(request).accounts.authenticate_jwt(token)
        request.state.account_sid = principal.account.sid
        return principal
    return await basic_principal(request)
