"""Stripe webhooks at /stripe/webhook/: signature checked on the raw body, each event stored
once before it is handled, handled once, and never moving state backwards."""

from __future__ import annotations

import json
import time

import pytest

from accounts.models import Talent
from ledger.gateways.stripe import StripeGateway
from ledger.models import JournalTransaction, LedgerAccount, Payout, Statement, StripeEvent
from ledger.periods import Period
from ledger.selectors.bank_payouts import bank_payouts_of, bank_payouts_returned
from ledger.services.closing import period_close_execute, period_close_request
from ledger.services.payouts import payout_send
from tests.ledger.scenario import scenario

SECRET = "whsec_test_endpoint"
MARCH, APRIL = Period.parse("2026-03"), Period.parse("2026-04")


@pytest.fixture
def stripe_settings(settings, stripe_server):
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_API_BASE = stripe_server.url
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    return settings


def event(stripe_id: str, type_: str, obj: dict, *, created: int | None = None) -> bytes:
    return json.dumps(
        {
            "id": stripe_id,
            "object": "event",
            "type": type_,
            "created": created or int(time.time()),
            "livemode": False,
            "api_version": "2026-08-27",
            "data": {"object": obj},
        }
    ).encode()


def deliver(client, stripe_server, body: bytes, *, timestamp: int | None = None, secret=SECRET):
    signature = stripe_server.sign(body, timestamp or int(time.time()), secret)
    return client.post(
        "/stripe/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


def close(period: Period) -> None:
    now = period.end_at.replace(day=10)
    run = period_close_request(period=period, now=now)
    period_close_execute(run_id=run.pk, now=now)


@pytest.mark.parametrize(
    "how", ["unsigned", "wrong secret", "stale (10 minutes)", "body changed after signing"]
)
def test_an_unverified_event_is_a_400_and_nothing_is_stored(
    db, client, stripe_server, stripe_settings, how
):
    body = event("evt_1", "account.updated", {"id": "acct_1", "payouts_enabled": True})
    if how == "unsigned":
        response = client.post("/stripe/webhook/", data=body, content_type="application/json")
    elif how == "wrong secret":
        response = deliver(client, stripe_server, body, secret="whsec_other")
    elif how == "stale (10 minutes)":
        response = deliver(client, stripe_server, body, timestamp=int(time.time()) - 600)
    else:
        signature = stripe_server.sign(body, int(time.time()), SECRET)
        response = client.post(
            "/stripe/webhook/",
            data=body.replace(b"true", b"false"),
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert not StripeEvent.objects.exists()


def test_account_updated_enables_payouts_once_even_when_delivered_twice(
    db, client, stripe_server, stripe_settings
):
    s = scenario()
    Talent.objects.filter(pk=s.talent.pk).update(stripe_account_id="acct_9")
    body = event("evt_a", "account.updated", {"id": "acct_9", "payouts_enabled": True})
    first = deliver(client, stripe_server, body)
    again = deliver(client, stripe_server, body)
    assert first.json() == {"id": "evt_a", "status": "processed", "duplicate": False}
    assert again.json() == {"id": "evt_a", "status": "processed", "duplicate": True}
    stored = StripeEvent.objects.get()
    assert (stored.attempts, stored.object_id, stored.body) == (1, "acct_9", body.decode())
    s.talent.refresh_from_db()
    assert s.talent.payouts_enabled is True


def test_an_older_account_event_arriving_late_does_not_undo_a_newer_one(
    db, client, stripe_server, stripe_settings
):
    s = scenario()
    Talent.objects.filter(pk=s.talent.pk).update(stripe_account_id="acct_9")
    now = int(time.time())
    newer = event(
        "evt_new", "account.updated", {"id": "acct_9", "payouts_enabled": True}, created=now
    )
    older = event(
        "evt_old", "account.updated", {"id": "acct_9", "payouts_enabled": False}, created=now - 60
    )
    deliver(client, stripe_server, newer)
    response = deliver(client, stripe_server, older)
    assert response.json()["status"] == "ignored"
    s.talent.refresh_from_db()
    assert s.talent.payouts_enabled is True


def test_a_reversed_transfer_returns_the_payout_to_the_next_statement(
    db, client, stripe_server, stripe_settings
):
    """March pays 108.00; Stripe reverses the transfer: the payout's journal entry is reversed
    and April's statement opens with the 108.00 again (nothing counted twice)."""
    gateway = StripeGateway(api_key="sk_test_123", api_base=stripe_server.url)
    s = scenario()
    account = gateway.account_create(email="t@example.test", country="FR", metadata={})
    Talent.objects.filter(pk=s.talent.pk).update(stripe_account_id=account.id, payouts_enabled=True)
    assert s.use("generation", quantity=3).status == "accepted"
    close(MARCH)
    payout = payout_send(payout_id=Payout.objects.get().pk, gateway=gateway)
    body = event(
        "evt_rev", "transfer.reversed", {"id": payout.stripe_transfer_id, "object": "transfer"}
    )
    assert deliver(client, stripe_server, body).json()["status"] == "processed"
    assert deliver(client, stripe_server, body).json()["duplicate"] is True
    payout.refresh_from_db()
    assert (payout.status, payout.failure_code) == ("reversed", "transfer_reversed")
    assert (
        JournalTransaction.objects.filter(kind="reversal", reverses=payout.transaction).count() == 1
    )

    close(APRIL)
    talent = LedgerAccount.objects.get(kind="talent_payable")
    april = Statement.objects.get(account=talent, period_start=APRIL.start)
    assert (april.opening_minor, april.earnings_minor, april.payable_minor) == (10_800, 0, 10_800)
    balance = sum(talent.postings.values_list("amount_minor", flat=True))
    assert -balance == april.closing_minor + april.payout_minor


def test_an_event_nobody_handles_is_stored_and_ignored(db, client, stripe_server, stripe_settings):
    body = event("evt_x", "invoice.created", {"id": "in_1"})
    assert deliver(client, stripe_server, body).json()["status"] == "ignored"
    assert StripeEvent.objects.get().type == "invoice.created"


def test_a_real_delivery_from_the_stripe_server(
    transactional_db, live_server, stripe_server, settings
):
    """The fake Stripe server signs and POSTs to our running endpoint over HTTP."""
    settings.STRIPE_WEBHOOK_SECRET = stripe_server.webhook_secret
    s = scenario()
    Talent.objects.filter(pk=s.talent.pk).update(stripe_account_id="acct_live")
    stripe_server.webhook_url = f"{live_server.url}/stripe/webhook/"
    delivery = stripe_server.send_event(
        "account.updated", {"id": "acct_live", "object": "account", "payouts_enabled": True}
    )
    assert delivery.status == 200
    s.talent.refresh_from_db()
    assert s.talent.payouts_enabled is True


def test_a_bank_payout_failure_is_recorded_for_the_payee_with_the_banks_reason(
    transactional_db, live_server, stripe_server, stripe_client, settings
):
    """The payee's own payout from its Stripe balance bounces at the bank: the Stripe server
    sends `payout.failed` for the connected account; the payee's bank payouts then show it
    failed with the reason, and the journal is untouched (our transfer had completed)."""
    settings.STRIPE_WEBHOOK_SECRET = stripe_server.webhook_secret
    stripe_server.webhook_url = f"{live_server.url}/stripe/webhook/"
    account = stripe_client.v1.accounts.create(params={"type": "express", "country": "FR"})
    s = scenario()
    Talent.objects.filter(pk=s.talent.pk).update(stripe_account_id=account.id)
    payout = stripe_client.v1.payouts.create(
        params={"amount": 12_345, "currency": "eur"}, options={"stripe_account": account.id}
    )
    journal_before = JournalTransaction.objects.count()

    stripe_server.pay_payout(payout.id)
    stripe_server.deliver_events()
    assert [p.status for p in bank_payouts_of(stripe_accounts=[account.id])] == ["paid"]
    assert bank_payouts_returned() == []

    stripe_server.fail_payout(payout.id, code="account_closed")
    stripe_server.deliver_events()
    (failed,) = bank_payouts_of(stripe_accounts=[account.id])
    assert (failed.status, failed.amount_minor, failed.currency) == ("failed", 12_345, "EUR")
    assert failed.failure_code == "account_closed"
    assert "closed" in failed.failure_message
    assert bank_payouts_of(stripe_accounts=["acct_someone_else"]) == []
    assert [p.stripe_id for p in bank_payouts_returned()] == [payout.id]
    assert JournalTransaction.objects.count() == journal_before
    payout_events = StripeEvent.objects.filter(type__in=["payout.paid", "payout.failed"])
    assert sorted(payout_events.values_list("type", "status")) == [
        ("payout.failed", "processed"),
        ("payout.paid", "processed"),
    ]


def test_a_bank_payout_event_without_an_account_fails_and_is_kept_for_redelivery(
    db, client, stripe_server, stripe_settings
):
    body = event("evt_po", "payout.failed", {"id": "po_1", "amount": 100, "currency": "eur"})
    with pytest.raises(ValueError):
        deliver(client, stripe_server, body)
    stored = StripeEvent.objects.get(stripe_id="evt_po")
    assert stored.status == "failed"
    assert "names no connected account" in stored.error
