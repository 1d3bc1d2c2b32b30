"""Brand invoices through Stripe Invoicing: one customer per brand, one Stripe invoice per
invoice whose total is ours to the unit, sent once whatever fails; its webhooks move our status
forward only and post the payment to the journal once.

Against the local Stripe-compatible server (tests/stripe_fake) through the real stripe-python
client and our gateway; the faults are the server's.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from accounts.models import Brand
from ledger.gateways.stripe import StripeGateway, TransientStripeError
from ledger.models import Invoice, InvoiceBilling, JournalTransaction, StripeEvent
from ledger.periods import Period
from ledger.services.billing import invoice_send
from ledger.services.closing import period_close_execute, period_close_request
from tests.ledger.scenario import RATES, scenario

SECRET = "whsec_test_endpoint"
MARCH = Period.parse("2026-03")


def close(period: Period) -> None:
    now = period.end_at.replace(day=10)
    run = period_close_request(period=period, now=now)
    period_close_execute(run_id=run.pk, now=now)


@pytest.fixture
def gateway(stripe_server) -> StripeGateway:
    return StripeGateway(api_key="sk_test_123", api_base=stripe_server.url, timeout=2.0)


@pytest.fixture
def stripe_settings(settings, stripe_server):
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_API_BASE = stripe_server.url
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    return settings


def billed(*, assets: int = 3, tax_pct: str | None = None, **scenario_kw):
    """A brand with uses in March, closed: its invoice and billing (pending)."""
    s = scenario(**scenario_kw)
    if tax_pct is not None:
        Brand.objects.filter(pk=s.brand.pk).update(tax_rate_pct=Decimal(tax_pct))
    assert s.use("generation", quantity=assets).status == "accepted"
    close(MARCH)
    invoice = Invoice.objects.get(brand=s.brand)
    return s, invoice, InvoiceBilling.objects.get(invoice=invoice)


def stripe_invoices(stripe_server) -> list[dict]:
    return list(stripe_server.invoices.values())


def assert_matches(stripe_server, invoice: Invoice, billing: InvoiceBilling) -> dict:
    (remote,) = stripe_invoices(stripe_server)
    assert remote["id"] == billing.stripe_invoice_id
    assert (remote["status"], remote["collection_method"]) == ("open", "send_invoice")
    assert remote["amount_due"] == invoice.total_minor
    assert sum(line["amount"] for line in remote["lines"]["data"]) == invoice.total_minor
    assert remote["currency"] == invoice.currency.lower()
    assert remote["metadata"]["invoice_billing"] == str(billing.pk)
    assert billing.hosted_invoice_url == remote["hosted_invoice_url"]
    return remote


def test_an_invoice_is_one_stripe_invoice_with_an_item_per_line_and_is_sent(
    db, stripe_server, gateway
):
    """3 assets at 40.00: 120.00, no tax. Sent twice: nothing is duplicated."""
    s, invoice, billing = billed()
    assert (billing.status, invoice.total_minor) == ("pending", 12_000)

    sent = invoice_send(billing_id=billing.pk, gateway=gateway)
    again = invoice_send(billing_id=billing.pk, gateway=gateway)  # a duplicate task
    assert (sent.status, again.stripe_invoice_id) == ("sent", sent.stripe_invoice_id)

    remote = assert_matches(stripe_server, invoice, sent)
    assert len(stripe_server.customers) == 1
    s.brand.refresh_from_db()
    assert remote["customer"] == s.brand.stripe_customer_id
    (customer,) = stripe_server.customers.values()
    assert customer["email"] == s.brand.billing_email
    lines = list(invoice.lines.order_by("position"))
    assert len(remote["lines"]["data"]) == len(lines) == len(stripe_server.invoiceitems)
    first = remote["lines"]["data"][0]
    assert (
        first["description"] == f"License {s.license.pk} · generation {lines[0].channel} · 2026-03"
    )
    assert remote["due_date"] - remote["effective_at"] == s.brand.payment_terms_days * 86400
    assert len(stripe_server.requests_to("POST", "/v1/invoices")) == 1


def test_tax_is_one_more_item_and_the_total_is_ours(db, stripe_server, gateway):
    _s, invoice, billing = billed(tax_pct="20")
    assert (invoice.net_minor, invoice.tax_minor, invoice.total_minor) == (12_000, 2_400, 14_400)
    sent = invoice_send(billing_id=billing.pk, gateway=gateway)
    assert sent.status == "sent"
    remote = assert_matches(stripe_server, invoice, sent)
    assert [line["amount"] for line in remote["lines"]["data"]][-1] == 2_400


def test_an_advance_applied_is_a_negative_item(db, stripe_server, gateway):
    """Advance 100.05 (on the March invoice), one asset at 40.00 applied against it: the
    advance-applied line is a negative item and Stripe's total is still ours."""
    _s, invoice, billing = billed(
        assets=1,
        tax_pct="20",
        activated_at=datetime(2026, 3, 1, tzinfo=UTC),
        rates={**RATES, "advance_minor": 10_005},
    )
    assert invoice.advance_applied_minor == 4_000
    sent = invoice_send(billing_id=billing.pk, gateway=gateway)
    assert sent.status == "sent"
    remote = assert_matches(stripe_server, invoice, sent)
    amounts = [line["amount"] for line in remote["lines"]["data"]]
    assert -4_000 in amounts
    assert invoice.total_minor == 12_006  # net 10_005 + tax 2_001


def test_thirty_percent_transient_faults_still_make_one_invoice_and_one_item_per_line(
    db, stripe_server, gateway
):
    """Half the faults land after Stripe did the work (the answer is lost)."""
    _s, invoice, billing = billed(tax_pct="20")
    faults = 0
    for attempt in range(200):
        stripe_server.fail_rate(0.3, seed=attempt, after_work=attempt % 2 == 1)
        try:
            invoice_send(billing_id=billing.pk, gateway=gateway)
            break
        except TransientStripeError:
            faults += 1
    stripe_server.fail_rate(0)
    assert faults > 0, "no fault was injected: the test proves nothing"
    billing.refresh_from_db()
    assert billing.status == "sent"
    assert_matches(stripe_server, invoice, billing)
    assert len(stripe_server.customers) == 1
    assert len(stripe_server.invoiceitems) == invoice.lines.count() + 1  # + tax


def test_a_refused_invoice_fails_with_the_reason(db, stripe_server, gateway):
    s, _invoice, billing = billed()
    Brand.objects.filter(pk=s.brand.pk).update(stripe_customer_id="cus_gone")
    failed = invoice_send(billing_id=billing.pk, gateway=gateway)
    assert failed.status == "failed"
    assert failed.failure_code
    assert not stripe_invoices(stripe_server)


# --------------------------------------------------------------------------- webhooks


def event(stripe_id: str, type_: str, obj: dict, *, created: int) -> bytes:
    return json.dumps(
        {
            "id": stripe_id,
            "object": "event",
            "type": type_,
            "created": created,
            "livemode": False,
            "api_version": "2026-08-27",
            "data": {"object": obj},
        }
    ).encode()


def deliver(client, stripe_server, body: bytes):
    signature = stripe_server.sign(body, int(time.time()), SECRET)
    return client.post(
        "/stripe/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


def public(stripe_server, billing: InvoiceBilling) -> dict:
    """The Stripe invoice as a webhook would carry it (the fake's internal keys removed)."""
    remote = stripe_server.invoices[billing.stripe_invoice_id]
    return {k: v for k, v in remote.items() if not k.startswith("_")}


def sent_billing(stripe_server, gateway, **kw):
    s, invoice, billing = billed(**kw)
    billing = invoice_send(billing_id=billing.pk, gateway=gateway)
    assert billing.status == "sent"
    return s, invoice, billing


def test_paid_posts_the_payment_once_even_when_delivered_twice(
    db, client, stripe_server, stripe_settings, gateway
):
    _s, _invoice, billing = sent_billing(stripe_server, gateway, tax_pct="20")
    paid = stripe_server.pay_invoice(billing.stripe_invoice_id)
    body = event("evt_paid", "invoice.paid", paid, created=int(time.time()))
    first = deliver(client, stripe_server, body)
    again = deliver(client, stripe_server, body)
    assert first.json()["status"] == "processed"
    assert again.json()["duplicate"] is True
    billing.refresh_from_db()
    assert billing.status == "paid" and billing.paid_at is not None
    (payment,) = JournalTransaction.objects.filter(kind="payment")
    assert billing.payment_transaction == payment
    assert (payment.source, payment.idempotency_key) == ("stripe-invoice", str(billing.pk))
    legs = dict(payment.postings.values_list("account__kind", "amount_minor"))
    # The net, not the total: tax is not in our journal.
    assert legs == {"stripe_clearing": 12_000, "brand_receivable": -12_000}

    # Another event id for the same payment (Stripe resends differently): still one posting.
    deliver(
        client, stripe_server, event("evt_paid_2", "invoice.paid", paid, created=int(time.time()))
    )
    assert JournalTransaction.objects.filter(kind="payment").count() == 1


def test_an_older_payment_failed_after_paid_does_not_move_it_back(
    db, client, stripe_server, stripe_settings, gateway
):
    _s, _invoice, billing = sent_billing(stripe_server, gateway)
    now = int(time.time())
    obj = public(stripe_server, billing)
    deliver(client, stripe_server, event("evt_p", "invoice.paid", obj, created=now))
    failed = {**obj, "last_payment_error": {"code": "card_declined", "message": "Declined."}}
    response = deliver(
        client, stripe_server, event("evt_f", "invoice.payment_failed", failed, created=now - 60)
    )
    assert response.json()["status"] == "processed"  # handled: found older, changed nothing
    billing.refresh_from_db()
    assert (billing.status, billing.status_event_created) == ("paid", now)
    assert JournalTransaction.objects.filter(kind="payment").count() == 1


def test_payment_failed_keeps_the_reason_then_paid(
    db, client, stripe_server, stripe_settings, gateway
):
    _s, _invoice, billing = sent_billing(stripe_server, gateway)
    now = int(time.time())
    obj = stripe_server.fail_invoice_payment(billing.stripe_invoice_id)
    obj["last_payment_error"] = {"code": "card_declined", "message": "Your card was declined."}
    deliver(client, stripe_server, event("evt_f", "invoice.payment_failed", obj, created=now))
    billing.refresh_from_db()
    assert (billing.status, billing.failure_code) == ("payment_failed", "card_declined")

    paid = stripe_server.pay_invoice(billing.stripe_invoice_id)
    deliver(client, stripe_server, event("evt_p", "invoice.paid", paid, created=now + 5))
    billing.refresh_from_db()
    assert billing.status == "paid"
    assert JournalTransaction.objects.filter(kind="payment").count() == 1


def test_voided_and_nothing_moves_it_afterwards(
    db, client, stripe_server, stripe_settings, gateway
):
    _s, _invoice, billing = sent_billing(stripe_server, gateway)
    now = int(time.time())
    obj = public(stripe_server, billing)
    deliver(client, stripe_server, event("evt_v", "invoice.voided", obj, created=now))
    billing.refresh_from_db()
    assert billing.status == "void"
    deliver(
        client, stripe_server, event("evt_u", "invoice.marked_uncollectible", obj, created=now + 1)
    )
    billing.refresh_from_db()
    assert billing.status == "void"
    assert StripeEvent.objects.filter(status="processed").count() == 2


def test_marked_uncollectible(db, client, stripe_server, stripe_settings, gateway):
    _s, _invoice, billing = sent_billing(stripe_server, gateway)
    obj = public(stripe_server, billing)
    body = event("evt_u", "invoice.marked_uncollectible", obj, created=int(time.time()))
    deliver(client, stripe_server, body)
    billing.refresh_from_db()
    assert billing.status == "uncollectible"
