"""Daily reconciliation against the local Stripe server: every difference is recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Talent
from ledger.gateways.stripe import StripeGateway
from ledger.models import Payout, ReconciliationMismatch
from ledger.periods import Period
from ledger.services.closing import period_close_execute, period_close_request
from ledger.services.payouts import payout_send
from ledger.services.reconciliation import stripe_reconcile
from tests.ledger.scenario import scenario


@pytest.fixture
def gateway(stripe_server) -> StripeGateway:
    return StripeGateway(api_key="sk_test_123", api_base=stripe_server.url)


def sent_payouts(gateway: StripeGateway, count: int) -> list[Payout]:
    for _ in range(count):
        s = scenario()
        account = gateway.account_create(email="t@example.test", country="FR", metadata={})
        Talent.objects.filter(pk=s.talent.pk).update(
            stripe_account_id=account.id, payouts_enabled=True
        )
        assert s.use("generation", quantity=3).status == "accepted"
    march = Period.parse("2026-03")
    run = period_close_request(period=march, now=march.end_at.replace(day=10))
    period_close_execute(run_id=run.pk, now=march.end_at.replace(day=10))
    return [payout_send(payout_id=p.pk, gateway=gateway) for p in Payout.objects.all()]


def test_everything_matching_records_nothing(db, stripe_server, gateway):
    sent_payouts(gateway, 2)
    run = stripe_reconcile(gateway=gateway)
    assert (run.transfers_seen, run.mismatches) == (2, 0)


def test_each_kind_of_difference_is_recorded(db, stripe_server, gateway):
    payouts = sent_payouts(gateway, 3)
    # Stripe holds a transfer that is none of ours.
    stranger = gateway.transfer_create(
        amount_minor=500,
        currency="EUR",
        destination=payouts[0].destination,
        transfer_group="manual",
        metadata={},
        idempotency_key="manual-1",
    )
    # Ours says another amount than Stripe's; and one of ours Stripe never made.
    Payout.objects.filter(pk=payouts[1].pk).update(amount_minor=payouts[1].amount_minor + 1)
    Payout.objects.filter(pk=payouts[2].pk).update(stripe_transfer_id="tr_not_at_stripe")

    run = stripe_reconcile(gateway=gateway)
    found = {(m.kind, m.stripe_id) for m in ReconciliationMismatch.objects.filter(run=run)}
    assert found == {
        ("unknown_to_us", stranger.id),
        ("amount_differs", payouts[1].stripe_transfer_id),
        ("missing_at_stripe", "tr_not_at_stripe"),
        ("unknown_to_us", payouts[2].stripe_transfer_id),
    }
    assert run.mismatches == 4


def test_the_next_run_starts_from_the_last_one(db, stripe_server, gateway):
    first = stripe_reconcile(gateway=gateway, now=timezone.now() - timedelta(days=1))
    second = stripe_reconcile(gateway=gateway)
    assert second.since == first.started_at - timedelta(hours=1)


def test_invoices_are_reconciled_too(db, stripe_server, gateway):
    """One brand invoice sent through Stripe matches; a Stripe invoice that is none of ours and
    one of ours Stripe does not have are both recorded."""
    from ledger.models import InvoiceBilling
    from ledger.services.billing import invoice_send

    sent_payouts(gateway, 1)
    billing = InvoiceBilling.objects.get()
    invoice_send(billing_id=billing.pk, gateway=gateway)
    billing.refresh_from_db()
    assert billing.status == "sent"
    assert stripe_reconcile(gateway=gateway).mismatches == 0

    customer = gateway.customer_create(
        name="Stranger", email="s@example.test", metadata={}, idempotency_key="stranger"
    )
    stranger = gateway.invoice_create(
        customer=customer.id, currency="EUR", days_until_due=30, metadata={}, idempotency_key="x"
    )
    real = billing.stripe_invoice_id
    InvoiceBilling.objects.filter(pk=billing.pk).update(stripe_invoice_id="in_not_at_stripe")
    run = stripe_reconcile(gateway=gateway)
    found = {
        (m.kind, m.object_type, m.stripe_id) for m in ReconciliationMismatch.objects.filter(run=run)
    }
    assert found == {
        ("unknown_to_us", "invoice", stranger.id),
        ("unknown_to_us", "invoice", real),
        ("missing_at_stripe", "invoice", "in_not_at_stripe"),
    }
    assert run.invoices_seen == 2
