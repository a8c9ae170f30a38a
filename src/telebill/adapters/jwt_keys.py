"""RS256 key pairs and JWT verification with `cryptography` and PyJWT."""

from __future__ import annotations

from typing import Any

from telebill.domain.errors import Unauthenticated

# Clock skew tolerated between the signer and this server, in seconds.
LEEWAY_S = 10
# Longest token life accepted (Voximplant: exp at most one hour after iat).
MAX_LIFETIME_S = 3600


class RsaJwtKeys:
    # The crypto libraries are imported on first use: most processes (CLI commands, the
    # Twilio-only API) never touch a JWT, and they cost a noticeable part of start-up.
    def generate(self) -> tuple[str, str]:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode("ascii")
        public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )
        return private_pem, public_pem

    def key_id(self, token: str) -> str | None:
        import jwt

        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        return kid if isinstance(kid, str) else None

    def verify(self, token: str, public_pem: str) -> dict[str, object]:
        import jwt

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                public_pem,
                algorithms=["RS256"],
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > MAX_LIFETIME_S:
            raise Unauthenticated("invalid token: lifetime longer than one hour")
        return claims
