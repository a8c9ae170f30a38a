"""`GET /v1/accounts/{sid}/notifications` on the real server: an account's alerts with their
delivery state, newest first, and only its own (another account's list is a 404, in
test_billing_api.py)."""

from __future__ import annotations

from test_billing_api import call, client, fund, ok, path
from tests.conftest import LiveServer


def test_a_low_balance_alert_is_listed_pending_with_what_it_says(live_server: LiveServer) -> None:
    with client(live_server) as c:
        fund(c, live_server)  # 10.00; the default threshold is 5.00
        assert call(c, live_server, "long")["allowed"] is True
        ok(c.post(path(live_server, "acme", "/calls/long/end"), json={"duration_s": 14400}))  # 5.04: 4.96 left
        listed = ok(c.get(path(live_server, "acme", "/notifications")))
        (alert,) = listed["notifications"]
        assert (alert["topic"], alert["status"], alert["attempts"], alert["last_error"]) == (
            "balance.low",
            "pending",
            0,
            None,
        )
        assert (alert["payload"]["available"], alert["payload"]["threshold"]) == ("4.96", "5.00")
        assert alert["delivered_at"] is None
        assert listed["next_before"] is None
        bad = c.get(path(live_server, "acme", "/notifications"), params={"limit": 1001})
        assert bad.status_code == 400


def test_a_failed_delivery_is_shown_to_the_customer_by_its_kind_not_its_text(live_server: LiveServer) -> None:
    with client(live_server) as c:
        fund(c, live_server)
        ok(c.patch(path(live_server, "acme"), json={"webhook_url": "http://127.0.0.1:9/hook"}))
        assert call(c, live_server, "long")["allowed"] is True
        ok(c.post(path(live_server, "acme", "/calls/long/end"), json={"duration_s": 14400}))
        assert live_server.container.notifications.run_once().retrying == 1  # a loopback address: refused
        (alert,) = ok(c.get(path(live_server, "acme", "/notifications")))["notifications"]
    assert (alert["status"], alert["attempts"]) == ("retrying", 1)
    assert alert["last_error"] == "the webhook's host is not a public address"
