"""Payouts: a statement's payout is one Stripe transfer, whatever fails on the way.

Against the local Stripe-compatible server (tests/stripe_fake) through the real stripe-python
client and our gateway; the faults are the server's, not patches of our code, except where a
process crash is the fault (said where it is).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Talent
from ledger import tasks
from ledger.gateways.stripe import StripeGateway, TransientStripeError
from ledger.models import InvoiceBilling, JournalTransaction, LedgerAccount, Payout, Statement
from ledger.periods import Period
from ledger.services import payouts as payouts_service
from ledger.services.closing import period_close_execute, period_close_request
from ledger.services.payouts import payout_send
from tests.ledger.scenario import scenario

MARCH, APRIL = Period.parse("2026-03"), Period.parse("2026-04")


def close(period: Period) -> None:
    now = period.end_at.replace(day=10)
    run = period_close_request(period=period, now=now)
    period_close_execute(run_id=run.pk, now=now)


@pytest.fixture
def gateway(stripe_server) -> StripeGateway:
    return StripeGateway(api_key="sk_test_123", api_base=stripe_server.url, timeout=2.0)


def payee(gateway: StripeGateway, *, assets: int = 3):
    """A talent with a connected account that can receive payouts, and uses in March."""
    s = scenario()
    account = gateway.account_create(email="t@example.test", country="FR", metadata={})
    Talent.objects.filter(pk=s.talent.pk).update(stripe_account_id=account.id, payouts_enabled=True)
    assert s.use("generation", quantity=assets).status == "accepted"
    return s


def transfers_to(stripe_server, destination: str) -> list[dict]:
    return [t for t in stripe_server.transfers.values() if t["destination"] == destination]


def test_a_statement_payout_is_one_transfer_and_one_journal_entry(db, stripe_server, gateway):
    """3 assets at 40.00 = 120.00 gross, 10 % platform fee: the talent is paid 108.00."""
    s = payee(gateway)
    close(MARCH)
    statement = Statement.objects.get(talent=s.talent)
    assert statement.payout_minor == 10_800
    payout = Payout.objects.get(statement=statement)
    assert (payout.status, payout.amount_minor) == ("pending", 10_800)

    sent = payout_send(payout_id=payout.pk, gateway=gateway)
    assert sent.status == "sent"
    again = payout_send(payout_id=payout.pk, gateway=gateway)  # a duplicate task
    assert again.stripe_transfer_id == sent.stripe_transfer_id

    (transfer,) = transfers_to(stripe_server, payout.destination)
    assert transfer["id"] == sent.stripe_transfer_id
    assert (transfer["amount"], transfer["currency"]) == (10_800, "eur")
    assert transfer["transfer_group"] == statement.display_number
    assert transfer["metadata"]["payout"] == str(payout.pk)
    legs = dict(sent.transaction.postings.values_list("account__kind", "amount_minor"))
    assert legs == {"talent_payable": 10_800, "stripe_clearing": -10_800}
    assert sent.transaction.kind == JournalTransaction.Kind.PAYOUT


def test_thirty_percent_transient_faults_still_make_one_transfer_per_payout(
    db, stripe_server, gateway
):
    """Half the faults happen after Stripe made the transfer (the answer is lost): the retry's
    idempotency key gets the same transfer back."""
    parties = [payee(gateway, assets=1 + i) for i in range(8)]
    close(MARCH)
    pending = list(Payout.objects.filter(status="pending"))
    assert len(pending) == len(parties)
    faults = 0
    for number, payout in enumerate(pending):
        # Faults before the work for half the payouts, after it (answer lost) for the others.
        stripe_server.fail_rate(
            0.3, seed=7 + number, path_prefix="/v1/transfers", after_work=number % 2 == 1
        )
        for _ in range(50):
            try:
                payout_send(payout_id=payout.pk, gateway=gateway)
                break
            except TransientStripeError:
                faults += 1
    stripe_server.fail_rate(0)
    assert faults > 0, "no fault was injected: the test proves nothing"
    for payout in Payout.objects.all():
        assert payout.status == "sent"
        (transfer,) = transfers_to(stripe_server, payout.destination)
        assert (transfer["id"], transfer["amount"]) == (
            payout.stripe_transfer_id,
            payout.amount_minor,
        )
    assert JournalTransaction.objects.filter(kind="payout").count() == len(parties)


def test_a_crash_between_the_transfer_and_our_record_gets_the_same_transfer(
    db, stripe_server, gateway, monkeypatch
):
    """The worker dies right after Stripe answered, before we recorded it. A process crash
    cannot be produced by the Stripe server, so it is simulated here by failing our record once."""
    s = payee(gateway)
    close(MARCH)
    payout = Payout.objects.get()
    record = payouts_service._record_sent

    def crash(*args, **kwargs):
        monkeypatch.setattr(payouts_service, "_record_sent", record)
        raise SystemExit("worker killed")

    monkeypatch.setattr(payouts_service, "_record_sent", crash)
    with pytest.raises(SystemExit):
        payout_send(payout_id=payout.pk, gateway=gateway)
    assert Payout.objects.get().status == "pending"
    assert len(transfers_to(stripe_server, payout.destination)) == 1

    sent = payout_send(payout_id=payout.pk, gateway=gateway)
    (transfer,) = transfers_to(stripe_server, payout.destination)
    assert (sent.status, sent.stripe_transfer_id, sent.attempts) == ("sent", transfer["id"], 2)
    assert s.talent.pk == Statement.objects.get().talent_id


def test_a_declined_payout_fails_with_the_reason_and_is_paid_with_the_next_statement(
    db, stripe_server, gateway
):
    """March: payout 108.00 declined (account closed). April has no uses: its statement opens
    with the 108.00 back and pays it again."""
    payee(gateway)
    close(MARCH)
    march = Payout.objects.get()
    stripe_server.decline_next("account_closed", path_prefix="/v1/transfers")
    failed = payout_send(payout_id=march.pk, gateway=gateway)
    assert (failed.status, failed.failure_code) == ("failed", "account_closed")
    assert failed.transaction is None
    talent_account = LedgerAccount.objects.get(kind="talent_payable")
    assert not JournalTransaction.objects.filter(kind="payout").exists()

    close(APRIL)
    april = Statement.objects.get(account=talent_account, period_start=APRIL.start)
    assert (april.opening_minor, april.payable_minor, april.payout_minor) == (
        10_800,
        10_800,
        10_800,
    )
    failed.refresh_from_db()
    assert failed.carried_by == april
    again = Payout.objects.get(statement=april)
    assert payout_send(payout_id=again.pk, gateway=gateway).status == "sent"
    assert len(transfers_to(stripe_server, again.destination)) == 1


def test_no_payout_without_a_payout_account(db):
    s = scenario()
    assert s.use("generation", quantity=3).status == "accepted"
    close(MARCH)
    statement = Statement.objects.get(talent=s.talent)
    assert (statement.payout_minor, statement.carry_forward_reason) == (0, "no payout account yet")
    assert not Payout.objects.exists()


def test_payout_send_is_queued_after_the_close_commits(
    db, django_capture_on_commit_callbacks, monkeypatch
):
    """The task is enqueued only once the close's chunk has committed (never inside it)."""
    s = scenario()
    Talent.objects.filter(pk=s.talent.pk).update(stripe_account_id="acct_x", payouts_enabled=True)
    assert s.use("generation", quantity=3).status == "accepted"
    sent: list[int] = []
    monkeypatch.setattr(tasks.payout_send, "delay", sent.append)  # the broker is not under test
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        close(MARCH)
        assert sent == []  # nothing enqueued while the close's transaction is open
    assert callbacks
    for callback in callbacks:
        callback()
    assert sent == [Payout.objects.get().pk]


def test_many_payouts_of_a_close_go_to_the_broker_as_one_message_a_worker_fans_out(
    db, django_capture_on_commit_callbacks, monkeypatch
):
    """A close pays thousands of payees: one enqueue_each message per chunk, after its commit;
    the worker then sends each payout its own payout_send (retried and idempotent per payout).
    The broker is not under test (tests/test_celery_worker.py runs a fan-out on a real one)."""
    parties = [scenario() for _ in range(8)]  # chunks of 4 payees (8 / 2 per worker)
    for s in parties:
        Talent.objects.filter(pk=s.talent.pk).update(
            stripe_account_id="acct_x", payouts_enabled=True
        )
        assert s.use("generation", quantity=3).status == "accepted"
    fanned: list[tuple] = []
    monkeypatch.setattr(tasks.enqueue_each, "delay", lambda *args: fanned.append(args))
    monkeypatch.setattr(tasks.payout_send, "delay", lambda pk: pytest.fail("sent one by one"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        close(MARCH)
    for callback in callbacks:
        callback()
    payouts = sorted(Payout.objects.values_list("pk", flat=True))
    assert len(payouts) == 8
    by_task: dict[str, list[list[int]]] = {}
    for name, ids in fanned:
        by_task.setdefault(name, []).append(ids)
    assert [len(ids) for ids in by_task["payout_send"]] == [4, 4]
    assert sorted(pk for ids in by_task["payout_send"] for pk in ids) == payouts
    # The brands' invoices (8 brands, chunks of 4) go the same way.
    billings = sorted(InvoiceBilling.objects.values_list("pk", flat=True))
    assert sorted(pk for ids in by_task["invoice_send"] for pk in ids) == billings
    assert len(billings) == 8 and set(by_task) == {"payout_send", "invoice_send"}

    sent: list[int] = []
    monkeypatch.setattr(tasks.payout_send, "delay", sent.append)
    assert tasks.enqueue_each("payout_send", payouts) == 8  # the worker's side, run in place
    assert sent == payouts
    with pytest.raises(ValueError, match="not a task a fan-out may enqueue"):
        tasks.enqueue_each("period_close", [1])


def test_the_payee_sees_the_payout_status_and_the_reason_on_its_statement(
    db, stripe_server, gateway
):
    s = payee(gateway)
    close(MARCH)
    payout = Payout.objects.get()
    stripe_server.decline_next("account_closed", path_prefix="/v1/transfers")
    payout_send(payout_id=payout.pk, gateway=gateway)
    client = APIClient()
    client.force_authenticate(s.talent.user)
    body = client.get(f"/api/v1/statements/{payout.statement_id}/").json()
    assert body["payout"]["status"] == "failed"
    assert body["payout"]["failure_code"] == "account_closed"
    assert body["payout"]["amount_minor"] == 10_800
