"""Every verify_ledger run is kept (VerificationRun): what it checked and what it found."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger.models import VerificationRun
from ledger.services.sealing import seal_blocks
from ledger.services.verification import ledger_verify_record
from tests.conftest import triggers_disabled
from tests.factories import UserFactory
from tests.ledger.helpers import accounts_for, post_use

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture
def journal(committed_db):
    accounts = accounts_for()
    txs = [post_use(f"use-{n}", accounts, gross=1000 + n).transaction for n in range(5)]
    seal_blocks(block_size=4)
    return txs


@pytest.mark.usefixtures("journal")
def test_the_command_records_a_clean_run():
    call_command("verify_ledger")
    (run,) = VerificationRun.objects.all()
    assert (run.trigger, run.ok, run.problems) == ("command", True, [])
    assert (run.transactions_checked, run.blocks_checked) == (5, 2)
    assert run.finished_at >= run.started_at


def test_the_command_records_the_problems_and_still_fails(journal):
    victim = journal[3]
    with triggers_disabled(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_posting SET amount_minor = amount_minor + 1 WHERE id = %s",
            [victim.postings.order_by("id").first().pk],
        )
    with pytest.raises(CommandError):
        call_command("verify_ledger")
    (run,) = VerificationRun.objects.all()
    assert run.ok is False
    assert run.problems[0].startswith(f"transaction {victim.pk}: content hash mismatch")
    assert run.transactions_checked == 5


@pytest.mark.usefixtures("journal")
def test_a_portal_run_names_who_asked():
    finance = UserFactory(is_finance=True)
    run, report = ledger_verify_record(trigger="portal", requested_by=finance)
    assert report.ok
    assert (run.trigger, run.requested_by, run.ok) == ("portal", finance, True)
    assert VerificationRun.objects.count() == 1
