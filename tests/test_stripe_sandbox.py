"""Without a Stripe key and with STRIPE_SANDBOX (make run), payouts and invoices go to the offline
sandbox: nothing leaves the machine, and what would have been sent is labelled sandbox_."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Talent
from ledger.gateways.sandbox import SandboxGateway, is_sandbox_id
from ledger.gateways.stripe import StripeGateway, gateway
from ledger.models import Payout
from ledger.periods import Period
from ledger.services.closing import period_close_execute, period_close_request
from ledger.services.payouts import payout_send
from tests.ledger.scenario import scenario


def test_no_key_and_sandbox_on_gives_the_sandbox_else_the_real_gateway(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_SANDBOX = True
    assert isinstance(gateway(), SandboxGateway)
    settings.STRIPE_SANDBOX = False
    assert type(gateway()) is StripeGateway and not gateway().configured
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_SANDBOX = True
    assert type(gateway()) is StripeGateway  # a key always means Stripe


def test_a_sandbox_payout_is_sent_once_posted_and_labelled(db, settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_SANDBOX = True
    s = scenario()
    Talent.objects.filter(pk=s.talent.pk).update(
        stripe_account_id="sandbox_acct_1", payouts_enabled=True
    )
    assert s.use("generation", quantity=3).status == "accepted"
    march = Period.parse("2026-03")
    run = period_close_request(period=march, now=march.end_at.replace(day=10))
    period_close_execute(run_id=run.pk, now=march.end_at.replace(day=10))
    payout = payout_send(payout_id=Payout.objects.get().pk)
    again = payout_send(payout_id=payout.pk)
    assert payout.status == "sent" and is_sandbox_id(payout.stripe_transfer_id)
    assert again.stripe_transfer_id == payout.stripe_transfer_id
    assert payout.transaction is not None
    client = APIClient()
    client.force_authenticate(s.talent.user)
    body = client.get(f"/api/v1/statements/{payout.statement_id}/").json()
    assert body["payout"]["sandbox"] is True


def test_the_sandbox_answers_for_the_same_key_with_the_same_ids():
    sandbox = SandboxGateway()
    first = sandbox.transfer_create(
        amount_minor=100,
        currency="EUR",
        destination="sandbox_acct_1",
        transfer_group="RS-000001",
        metadata={},
        idempotency_key="k1",
    )
    second = sandbox.transfer_create(
        amount_minor=100,
        currency="EUR",
        destination="sandbox_acct_1",
        transfer_group="RS-000001",
        metadata={},
        idempotency_key="k1",
    )
    assert first.id == second.id and is_sandbox_id(first.id)
    invoice = sandbox.invoice_create(
        customer="sandbox_cus", currency="EUR", days_until_due=30, metadata={}, idempotency_key="i"
    )
    for amount in (1200, 300):
        sandbox.invoice_item_create(
            customer="sandbox_cus",
            amount_minor=amount,
            currency="EUR",
            description="line",
            invoice=invoice.id,
            metadata={},
            idempotency_key=f"item-{amount}",
        )
    finalized = sandbox.invoice_finalize(invoice.id, idempotency_key="f")
    assert (finalized.status, finalized.amount_due) == ("open", 1500)


@pytest.mark.parametrize("method", ["transfers_list", "invoices_list"])
def test_the_sandbox_has_nothing_to_reconcile(method):
    assert list(getattr(SandboxGateway(), method)(created_gte=0)) == []
