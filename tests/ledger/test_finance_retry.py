"""Finance's retries of failed payouts and brand invoice billings: sent again once, never paid
or billed twice.

The rule (ledger.services.payouts.payout_retry): a failed payout posts nothing, and the next
close carries its amount into that statement's opening, whose payout pays it. So a retry is
allowed only while the payout is failed and not yet carried; it goes out under a new
idempotency key (Stripe keeps a refusal under the old one). Billings (invoice_billing_retry):
only a failed one of which nothing exists at Stripe. Against the local Stripe server.
"""

from __future__ import annotations

import pytest

from accounts.models import Talent
from ledger.errors import Conflict
from ledger.gateways.stripe import StripeGateway
from ledger.models import Invoice, InvoiceBilling, JournalTransaction, Payout, Statement
from ledger.periods import Period
from ledger.services.billing import invoice_billing_retry, invoice_send
from ledger.services.closing import period_close_execute, period_close_request
from ledger.services.payouts import payout_retry, payout_send
from tests.ledger.scenario import scenario

MARCH, APRIL = Period.parse("2026-03"), Period.parse("2026-04")


def close(period: Period) -> None:
    now = period.end_at.replace(day=10)
    run = period_close_request(period=period, now=now)
    period_close_execute(run_id=run.pk, now=now)


@pytest.fixture
def gateway(stripe_server) -> StripeGateway:
    return StripeGateway(api_key="sk_test_123", api_base=stripe_server.url, timeout=2.0)


def failed_payout(gateway: StripeGateway, stripe_server) -> Payout:
    """March closed for a payee with a connected account; its 108.00 transfer declined."""
    s = scenario()
    account = gateway.account_create(email="t@example.test", country="FR", metadata={})
    Talent.objects.filter(pk=s.talent.pk).update(stripe_account_id=account.id, payouts_enabled=True)
    assert s.use("generation", quantity=3).status == "accepted"
    close(MARCH)
    payout = Payout.objects.get()
    stripe_server.decline_next("balance_insufficient", path_prefix="/v1/transfers")
    failed = payout_send(payout_id=payout.pk, gateway=gateway)
    assert (failed.status, failed.failure_code) == ("failed", "balance_insufficient")
    return failed


def transfers(stripe_server) -> list[dict]:
    return list(stripe_server.transfers.values())


def test_a_retried_payout_is_sent_once_under_a_new_key(
    db, stripe_server, gateway, django_capture_on_commit_callbacks
):
    failed = failed_payout(gateway, stripe_server)
    old_key = failed.idempotency_key
    with django_capture_on_commit_callbacks() as callbacks:
        retried = payout_retry(payout_id=failed.pk)
    assert len(callbacks) == 1  # one send enqueued, after commit
    assert retried.status == "pending"
    assert retried.idempotency_key != old_key
    assert (retried.failure_code, retried.failure_message) == ("", "")
    (history,) = retried.previous_failures
    assert history["idempotency_key"] == str(old_key)
    assert history["failure_code"] == "balance_insufficient"

    sent = payout_send(payout_id=failed.pk, gateway=gateway)
    assert sent.status == "sent"
    (transfer,) = transfers(stripe_server)
    assert (transfer["id"], transfer["amount"]) == (sent.stripe_transfer_id, 10_800)
    assert JournalTransaction.objects.filter(kind="payout").count() == 1

    # Sent now: another retry is refused and nothing moves.
    with pytest.raises(Conflict) as refused:
        payout_retry(payout_id=failed.pk)
    assert refused.value.code == "payout_not_failed"
    assert len(transfers(stripe_server)) == 1


def test_a_second_retry_while_the_first_is_pending_is_refused(db, stripe_server, gateway):
    """A double click: the first retry made it pending, the second finds it so."""
    failed = failed_payout(gateway, stripe_server)
    first = payout_retry(payout_id=failed.pk)
    with pytest.raises(Conflict) as refused:
        payout_retry(payout_id=failed.pk)
    assert refused.value.code == "payout_not_failed"
    failed.refresh_from_db()
    assert failed.idempotency_key == first.idempotency_key
    assert len(failed.previous_failures) == 1


def test_once_carried_into_the_next_statement_a_retry_is_refused_and_it_is_paid_once(
    db, stripe_server, gateway
):
    failed = failed_payout(gateway, stripe_server)
    close(APRIL)
    april = Statement.objects.get(period_start=APRIL.start, talent__isnull=False)
    assert april.opening_minor == 10_800
    failed.refresh_from_db()
    assert failed.carried_by == april

    with pytest.raises(Conflict) as refused:
        payout_retry(payout_id=failed.pk)
    assert refused.value.code == "payout_carried_forward"
    failed.refresh_from_db()
    assert failed.status == "failed"

    payout_send(payout_id=Payout.objects.get(statement=april).pk, gateway=gateway)
    assert [t["amount"] for t in transfers(stripe_server)] == [10_800]


def test_a_retried_payout_is_not_carried_by_the_next_close(db, stripe_server, gateway):
    """Retried (pending again) before April closes: April does not take the amount back."""
    failed = failed_payout(gateway, stripe_server)
    payout_retry(payout_id=failed.pk)
    close(APRIL)
    failed.refresh_from_db()
    assert failed.carried_by is None
    april = Statement.objects.filter(period_start=APRIL.start, talent__isnull=False).first()
    assert april is None or april.opening_minor == 0


def test_a_retry_is_refused_while_the_payee_cannot_receive_payouts(db, stripe_server, gateway):
    failed = failed_payout(gateway, stripe_server)
    Talent.objects.update(payouts_enabled=False)
    with pytest.raises(Conflict) as refused:
        payout_retry(payout_id=failed.pk)
    assert refused.value.code == "payout_account_missing"
    failed.refresh_from_db()
    assert (failed.status, failed.idempotency_key) == ("failed", failed.idempotency_key)


def test_a_pending_or_sent_payout_cannot_be_retried(db, stripe_server, gateway):
    s = scenario()
    Talent.objects.filter(pk=s.talent.pk).update(stripe_account_id="acct_x", payouts_enabled=True)
    assert s.use("generation", quantity=3).status == "accepted"
    close(MARCH)
    payout = Payout.objects.get()
    with pytest.raises(Conflict):
        payout_retry(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.previous_failures == []


# --------------------------------------------------------------------------- billings


def billing_failed_at(stripe_server, gateway, path_prefix: str) -> InvoiceBilling:
    s = scenario()
    assert s.use("generation", quantity=3).status == "accepted"
    close(MARCH)
    billing = InvoiceBilling.objects.get(invoice=Invoice.objects.get(brand=s.brand))
    stripe_server.decline_next("invalid_request", path_prefix=path_prefix)
    failed = invoice_send(billing_id=billing.pk, gateway=gateway)
    assert failed.status == "failed"
    return failed


def test_a_billing_that_failed_before_stripe_had_an_invoice_is_sent_again_once(
    db, stripe_server, gateway, django_capture_on_commit_callbacks
):
    failed = billing_failed_at(stripe_server, gateway, "/v1/invoices")  # refused at create
    assert failed.stripe_invoice_id == ""
    old_prefix = failed.idempotency_prefix
    with django_capture_on_commit_callbacks() as callbacks:
        retried = invoice_billing_retry(billing_id=failed.pk)
    assert len(callbacks) == 1
    assert (retried.status, retried.failure_code) == ("pending", "")
    assert retried.idempotency_prefix != old_prefix
    assert retried.previous_failures[0]["idempotency_prefix"] == str(old_prefix)

    sent = invoice_send(billing_id=failed.pk, gateway=gateway)
    assert sent.status == "sent"
    assert len(stripe_server.invoices) == 1
    with pytest.raises(Conflict) as refused:
        invoice_billing_retry(billing_id=failed.pk)
    assert refused.value.code == "billing_not_failed"


def test_a_billing_with_an_invoice_at_stripe_is_not_sent_again(db, stripe_server, gateway):
    """Failed after Stripe made the invoice: a resend would bill the brand a second time."""
    failed = billing_failed_at(stripe_server, gateway, "/v1/invoiceitems")
    assert failed.stripe_invoice_id
    with pytest.raises(Conflict) as refused:
        invoice_billing_retry(billing_id=failed.pk)
    assert refused.value.code == "billing_exists_at_stripe"
    failed.refresh_from_db()
    assert (failed.status, failed.previous_failures) == ("failed", [])
    assert len(stripe_server.invoices) == 1


def test_concurrent_retries_of_one_payout_send_it_again_once(committed_db, stripe_server, gateway):
    """Eight finance clicks at the same moment: one retry, one new key, one send enqueued."""
    from tests.portal.world import quiet_celery
    from tests.threads import in_threads

    failed = failed_payout(gateway, stripe_server)

    def retry(_: int) -> str:
        try:
            return str(payout_retry(payout_id=failed.pk).idempotency_key)
        except Conflict as error:
            return error.code

    with quiet_celery():
        outcomes = in_threads(retry)
    keys = [o for o in outcomes if o != "payout_not_failed"]
    assert len(keys) == 1, outcomes
    failed.refresh_from_db()
    assert (failed.status, str(failed.idempotency_key)) == ("pending", keys[0])
    assert len(failed.previous_failures) == 1
