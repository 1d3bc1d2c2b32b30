"""ledger/gateways/stripe.py: typed (mypy --strict), the only stripe importer, and every method
driven over HTTP against the fake Stripe server (faults injected by the server, not patched)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import stripe
from django.test import override_settings

from ledger.gateways.stripe import (
    Account,
    PermanentStripeError,
    SignatureError,
    StripeGateway,
    StripeNotConfiguredError,
    Transfer,
    TransientStripeError,
    gateway,
    translate_error,
)

ROOT = Path(__file__).resolve().parents[1]
GATEWAY = ROOT / "ledger" / "gateways" / "stripe.py"


def make_gateway(server, *, timeout: float = 5.0) -> StripeGateway:
    return StripeGateway(
        api_key="sk_test_123",
        api_base=server.url,
        webhook_secret=server.webhook_secret,
        timeout=timeout,
    )


@pytest.fixture
def gw(stripe_server) -> StripeGateway:
    return make_gateway(stripe_server)


@pytest.fixture
def account(gw) -> Account:
    return gw.account_create(email="talent@example.com", country="FR", metadata={"talent": "7"})


def pay(gw: StripeGateway, destination: str, key: str, amount: int = 1234) -> Transfer:
    return gw.transfer_create(
        amount_minor=amount,
        currency="EUR",
        destination=destination,
        transfer_group="statement:42",
        metadata={"payout_intent": key},
        idempotency_key=key,
    )


# --------------------------------------------------------------------------- static checks


def test_mypy_strict_passes_on_the_gateway():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(GATEWAY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_catches_a_wrong_stripe_parameter_name(tmp_path):
    # stripe's TypedDict params are what make a typo a type error, not a 400 in production.
    typo = tmp_path / "typo_gateway.py"
    typo.write_text(GATEWAY.read_text().replace('"amount": amount_minor', '"amont": amount_minor'))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(typo)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert 'Extra key "amont" for TypedDict "TransferCreateParams"' in result.stdout


def test_no_other_module_imports_stripe():
    pattern = re.compile(r"^\s*(import\s+stripe\b|from\s+stripe\b)", re.MULTILINE)
    importers = sorted(
        str(path.relative_to(ROOT))
        for package in ("accounts", "config", "ledger")
        for path in (ROOT / package).rglob("*.py")
        if pattern.search(path.read_text())
    )
    assert importers == ["ledger/gateways/stripe.py"]


# --------------------------------------------------------------------------- configuration


def test_gateway_from_settings(stripe_server):
    with override_settings(
        STRIPE_SECRET_KEY="sk_test_123",
        STRIPE_API_BASE=stripe_server.url,
        STRIPE_WEBHOOK_SECRET=stripe_server.webhook_secret,
    ):
        built = gateway()
        assert (built.configured, built.api_base) == (True, stripe_server.url)
        assert built.account_create(email="a@x.test", country="US", metadata={}).id.startswith(
            "acct_"
        )
    assert stripe_server.requests_to("POST", "/v1/accounts")[0].api_key == "sk_test_123"

    with override_settings(STRIPE_SECRET_KEY="", STRIPE_API_BASE=None, STRIPE_WEBHOOK_SECRET=""):
        unconfigured = gateway()
    assert unconfigured.configured is False and unconfigured.api_base is None
    with pytest.raises(StripeNotConfiguredError) as exc:
        unconfigured.account_retrieve("acct_x")
    assert isinstance(exc.value, PermanentStripeError) and exc.value.code == "not_configured"
    with pytest.raises(StripeNotConfiguredError):
        unconfigured.webhook_event(b"{}", "t=1,v1=x")
    assert len(stripe_server.requests) == 1  # nothing was sent unconfigured


# --------------------------------------------------------------------------- accounts


def test_accounts_and_onboarding_link(gw, stripe_server, account):
    assert account.id.startswith("acct_")
    assert (account.payouts_enabled, account.details_submitted) == (False, False)
    sent = stripe_server.requests_to("POST", "/v1/accounts")[0].params
    assert sent["type"] == "express"
    assert sent["capabilities"] == {"transfers": {"requested": "true"}}
    assert (sent["email"], sent["country"], sent["metadata"]) == (
        "talent@example.com",
        "FR",
        {"talent": "7"},
    )

    stripe_server.set_account(
        account.id, payouts_enabled=True, charges_enabled=True, details_submitted=True
    )
    assert gw.account_retrieve(account.id) == Account(account.id, True, True)

    link = gw.account_link_create(
        account_id=account.id, refresh_url="https://x.test/r", return_url="https://x.test/done"
    )
    assert link.url.startswith(stripe_server.url) and link.expires_at > time.time()
    assert stripe_server.requests_to("POST", "/v1/account_links")[0].params == {
        "account": account.id,
        "type": "account_onboarding",
        "refresh_url": "https://x.test/r",
        "return_url": "https://x.test/done",
    }

    with pytest.raises(PermanentStripeError) as exc:
        gw.account_retrieve("acct_missing")
    assert (exc.value.code, exc.value.http_status) == ("resource_missing", 404)


# --------------------------------------------------------------------------- transfers


def test_transfer_exact_amount_and_idempotent_replay(gw, stripe_server, account):
    first = pay(gw, account.id, "intent-1")
    assert (first.amount_minor, first.currency, first.destination) == (1234, "eur", account.id)
    assert (first.reversed, first.transfer_group) == (False, "statement:42")
    assert first.metadata == {"payout_intent": "intent-1"}
    assert first.created > 0

    again = pay(gw, account.id, "intent-1")
    assert again == first
    assert list(stripe_server.transfers) == [first.id]
    recorded = stripe_server.requests_to("POST", "/v1/transfers")
    assert [r.idempotency_key for r in recorded] == ["intent-1", "intent-1"]
    assert [r.replayed for r in recorded] == [False, True]
    assert recorded[0].params["amount"] == "1234"

    # The same key with another body is a bug on our side: permanent.
    with pytest.raises(PermanentStripeError) as exc:
        pay(gw, account.id, "intent-1", amount=1235)
    assert exc.value.http_status == 400
    assert list(stripe_server.transfers) == [first.id]
    assert gw.transfer_retrieve(first.id) == first


def test_transfer_reverse_and_list(gw, stripe_server, account):
    old = pay(gw, account.id, "intent-old", amount=100)
    stripe_server.advance_clock(3600)
    since = stripe_server.now()
    recent = [pay(gw, account.id, f"intent-{i}", amount=200 + i) for i in range(105)]

    reversal = gw.transfer_reverse(
        transfer_id=recent[0].id, idempotency_key="rev-1", metadata={"reason": "void"}
    )
    assert (reversal.transfer_id, reversal.amount_minor, reversal.currency) == (
        recent[0].id,
        200,
        "eur",
    )
    replay = gw.transfer_reverse(
        transfer_id=recent[0].id, idempotency_key="rev-1", metadata={"reason": "void"}
    )
    assert replay.id == reversal.id and len(stripe_server.reversals) == 1
    assert stripe_server.requests_to("POST", f"/v1/transfers/{recent[0].id}/reversals")[
        0
    ].params == {"metadata": {"reason": "void"}}

    listed = list(gw.transfers_list(created_gte=since))  # two pages of 100
    assert [t.id for t in listed] == [t.id for t in reversed(recent)]
    assert old.id not in {t.id for t in listed}
    assert sum(t.amount_minor for t in listed) == sum(200 + i for i in range(105))
    assert next(t for t in listed if t.id == recent[0].id).reversed is True
    assert len(stripe_server.requests_to("GET", "/v1/transfers")) == 2


@pytest.mark.parametrize("fault", ["500", "429", "timeout"])
def test_transient_faults(stripe_server, fault):
    gw = make_gateway(stripe_server, timeout=0.3)
    account = gw.account_create(email="t@x.test", country="FR", metadata={})
    if fault == "timeout":
        stripe_server.timeout_next(1, seconds=3, path_prefix="/v1/transfers")
    else:
        stripe_server.fail_next(1, status=int(fault), path_prefix="/v1/transfers")
    with pytest.raises(TransientStripeError) as exc:
        pay(gw, account.id, "intent-t")
    if fault != "timeout":
        assert exc.value.http_status == int(fault)
    assert stripe_server.transfers == {}
    assert pay(gw, account.id, "intent-t").amount_minor == 1234  # the retry goes through


def test_lost_response_then_retry_gives_one_transfer(stripe_server):
    gw = make_gateway(stripe_server, timeout=0.3)
    account = gw.account_create(email="t@x.test", country="FR", metadata={})
    stripe_server.timeout_next(1, seconds=3, path_prefix="/v1/transfers", after_work=True)
    with pytest.raises(TransientStripeError):
        pay(gw, account.id, "intent-lost")
    assert len(stripe_server.transfers) == 1  # Stripe did it; we never heard
    retried = pay(gw, account.id, "intent-lost")
    assert list(stripe_server.transfers) == [retried.id]


def test_declines_and_auth_are_permanent(gw, stripe_server, account):
    stripe_server.decline_next("balance_insufficient", path_prefix="/v1/transfers")
    with pytest.raises(PermanentStripeError) as exc:
        pay(gw, account.id, "intent-d")
    assert (exc.value.code, exc.value.http_status) == ("balance_insufficient", 400)
    assert "insufficient available funds" in exc.value.message
    assert not isinstance(exc.value, TransientStripeError)
    assert isinstance(exc.value.__cause__, stripe.InvalidRequestError)
    assert stripe_server.transfers == {}

    with pytest.raises(PermanentStripeError) as exc:
        pay(gw, "acct_missing", "intent-m")
    assert (exc.value.code, exc.value.param) == ("resource_missing", "destination")

    bad_key = StripeGateway(api_key="sk_live_nope", api_base=stripe_server.url)
    with pytest.raises(PermanentStripeError) as exc:
        bad_key.account_retrieve(account.id)
    assert exc.value.http_status == 401


def test_error_translation_table():
    def kind(exc):
        return type(translate_error(exc)).__name__

    assert kind(stripe.APIConnectionError("down")) == "TransientStripeError"
    assert kind(stripe.RateLimitError("slow", http_status=429)) == "TransientStripeError"
    assert kind(stripe.APIError("boom", http_status=503)) == "TransientStripeError"
    in_use = stripe.IdempotencyError("busy", http_status=409, code="idempotency_key_in_use")
    translated = translate_error(in_use)
    assert isinstance(translated, TransientStripeError)
    assert (translated.code, translated.http_status) == ("idempotency_key_in_use", 409)
    assert kind(stripe.IdempotencyError("other body", http_status=400)) == "PermanentStripeError"
    assert kind(stripe.CardError("no", None, "card_declined", http_status=402)) == (
        "PermanentStripeError"
    )
    assert kind(stripe.PermissionError("no", http_status=403)) == "PermanentStripeError"
    assert kind(stripe.AuthenticationError("no", http_status=401)) == "PermanentStripeError"
    assert kind(stripe.InvalidRequestError("no", "amount", http_status=400)) == (
        "PermanentStripeError"
    )


# --------------------------------------------------------------------------- invoices


def test_customer_and_invoice_lifecycle(gw, stripe_server):
    customer = gw.customer_create(
        name="Atelier Nord", email="ap@atelier.test", metadata={"brand": "3"}, idempotency_key="c-1"
    )
    assert customer.id.startswith("cus_") and customer.name == "Atelier Nord"
    assert (
        gw.customer_create(
            name="Atelier Nord",
            email="ap@atelier.test",
            metadata={"brand": "3"},
            idempotency_key="c-1",
        )
        == customer
    )
    assert len(stripe_server.customers) == 1

    invoice = gw.invoice_create(
        customer=customer.id,
        currency="EUR",
        days_until_due=30,
        metadata={"statement": "9"},
        idempotency_key="inv-1",
    )
    assert (invoice.status, invoice.amount_due, invoice.currency) == ("draft", 0, "eur")
    assert invoice.metadata == {"statement": "9"} and invoice.customer == customer.id
    sent = stripe_server.requests_to("POST", "/v1/invoices")[0].params
    assert (sent["collection_method"], sent["days_until_due"]) == ("send_invoice", "30")

    for n, amount in enumerate((120000, 34567)):
        item = gw.invoice_item_create(
            customer=customer.id,
            amount_minor=amount,
            currency="EUR",
            description=f"Royalties, line {n}",
            invoice=invoice.id,
            metadata={"line": str(n)},
            idempotency_key=f"ii-{n}",
        )
        assert (item.amount_minor, item.currency, item.invoice) == (amount, "eur", invoice.id)
    gw.invoice_item_create(  # replayed: not a third line
        customer=customer.id,
        amount_minor=120000,
        currency="EUR",
        description="Royalties, line 0",
        invoice=invoice.id,
        metadata={"line": "0"},
        idempotency_key="ii-0",
    )
    pending = gw.invoice_item_create(
        customer=customer.id,
        amount_minor=5,
        currency="eur",
        description="next time",
        invoice=None,
        metadata={},
        idempotency_key="ii-pending",
    )
    assert pending.invoice is None
    assert "invoice" not in stripe_server.requests_to("POST", "/v1/invoiceitems")[-1].params

    final = gw.invoice_finalize(invoice.id, idempotency_key="fin-1")
    assert (final.status, final.amount_due) == ("open", 154567)
    assert final.hosted_invoice_url and final.number
    assert gw.invoice_finalize(invoice.id, idempotency_key="fin-1") == final  # replay
    with pytest.raises(PermanentStripeError):  # a new key: Stripe refuses to re-finalize
        gw.invoice_finalize(invoice.id, idempotency_key="fin-2")

    assert gw.invoice_send(invoice.id, idempotency_key="send-1").status == "open"
    stripe_server.pay_invoice(invoice.id)
    assert gw.invoice_retrieve(invoice.id).status == "paid"

    since = stripe_server.now()
    stripe_server.advance_clock(10)
    later = gw.invoice_create(
        customer=customer.id,
        currency="eur",
        days_until_due=14,
        metadata={},
        idempotency_key="inv-2",
    )
    listed = list(gw.invoices_list(created_gte=since + 1))
    assert [i.id for i in listed] == [later.id]
    assert {i.id for i in gw.invoices_list(created_gte=0)} == {invoice.id, later.id}
    assert [e["type"] for e in stripe_server.events][:3] == [
        "invoice.created",
        "invoice.finalized",
        "invoice.sent",
    ]


# --------------------------------------------------------------------------- webhooks


def test_webhook_good_stale_and_bad_signatures(gw, stripe_server, account):
    stripe_server.set_account(account.id, payouts_enabled=True, charges_enabled=True)
    event = stripe_server.pending_events[-1]
    payload = json.dumps(event).encode()
    now = int(time.time())

    parsed = gw.webhook_event(payload, stripe_server.sign(payload, now))
    assert (parsed.id, parsed.type, parsed.account) == (event["id"], "account.updated", account.id)
    assert parsed.created == event["created"] and parsed.livemode is False
    assert parsed.data_object["id"] == account.id
    assert parsed.data_object["payouts_enabled"] is True
    assert parsed.previous_attributes and parsed.previous_attributes["payouts_enabled"] is False

    with pytest.raises(SignatureError, match="tolerance"):
        gw.webhook_event(payload, stripe_server.sign(payload, now - 301))
    assert gw.webhook_event(payload, stripe_server.sign(payload, now - 200)).id == event["id"]
    with pytest.raises(SignatureError, match="No signatures found"):
        gw.webhook_event(payload, stripe_server.sign(payload, now, "whsec_someone_else"))
    with pytest.raises(SignatureError):
        gw.webhook_event(payload + b" ", stripe_server.sign(payload, now))  # tampered body
    with pytest.raises(SignatureError):
        gw.webhook_event(payload, "")
    junk = b"not json"
    with pytest.raises(SignatureError, match="not a Stripe event"):
        gw.webhook_event(junk, stripe_server.sign(junk, now))


def test_account_create_with_the_same_idempotency_key_is_one_account(gw, stripe_server):
    """Two concurrent first onboarding requests for one party send the same key."""
    first = gw.account_create(
        email="t@example.test",
        country="FR",
        metadata={"talent": "7"},
        idempotency_key="account-talent-7",
    )
    second = gw.account_create(
        email="t@example.test",
        country="FR",
        metadata={"talent": "7"},
        idempotency_key="account-talent-7",
    )
    assert first.id == second.id
    assert len(stripe_server.accounts) == 1
