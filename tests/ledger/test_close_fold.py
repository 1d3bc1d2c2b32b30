"""The fold: coverage and line totals written ahead of the close, on the schedule.

Amounts follow the SPEC tiers of the `solo` scenario: each of a month's first assets is 40.00,
the talent's share 36.00 after the 10% platform fee.
"""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from django.db import connection

import ledger.services.closing as closing
from ledger.models import CloseRun, Coverage, CoverageFold, CoverageTotal, Statement
from ledger.periods import Period
from ledger.selectors.coverage import coverage_totals_mismatches
from ledger.services.closing import (
    ADVISORY_LOCK_CLASS,
    ADVISORY_LOCK_CLOSE,
    coverage_fold_due,
    period_close_execute,
    period_close_request,
)
from tests.ledger.close_helpers import (
    account_of,
    actual_lines,
    at,
    close,
    close_now,
    expected_lines,
    statement_of,
    waterfall,
)
from tests.ledger.test_close_rules import record, statement_waterfall

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


def totals_of(account) -> dict[date, tuple[int, int]]:
    """Per period: (entries, amount) of the account's line totals."""
    found: dict[date, tuple[int, int]] = {}
    for total in CoverageTotal.objects.filter(account=account):
        entries, amount = found.get(total.period_start, (0, 0))
        found[total.period_start] = (entries + total.entries, amount + total.amount_minor)
    return found


def test_the_fold_covers_each_use_in_its_month_and_adds_only_what_is_new(solo):
    """Fold on 2026-04-05: the March use in March, the April use in April; folding again adds
    nothing; a third use is added once, by the next fold."""
    s = solo
    march = record(s, occurred_at=at("2026-03-10"))
    april = record(s, occurred_at=at("2026-04-02"))
    talent = account_of("talent_payable", "EUR", talent=s.talent)

    assert coverage_fold_due(now=at("2026-04-05")) == april.transaction_id
    assert dict(Coverage.objects.values_list("transaction_id", "period_start")) == {
        march.transaction_id: MARCH,
        april.transaction_id: APRIL,
    }
    assert totals_of(talent) == {MARCH: (1, -3_600), APRIL: (1, -3_600)}

    coverage_fold_due(now=at("2026-04-05"))
    assert totals_of(talent) == {MARCH: (1, -3_600), APRIL: (1, -3_600)}

    record(s, occurred_at=at("2026-04-06"))
    coverage_fold_due(now=at("2026-04-07"))
    assert totals_of(talent) == {MARCH: (1, -3_600), APRIL: (2, -7_200)}
    assert coverage_totals_mismatches() == []
    assert CoverageFold.objects.count() == 2  # nothing new to fold the second time


def test_a_close_after_the_schedule_folded_sums_the_totals_and_folds_only_its_own(solo):
    """Everything recorded was folded before the close: its cover phase has nothing left but
    the charges it posts, and the statements equal their recomputation from the postings."""
    s = solo
    for day in ("2026-03-05", "2026-03-10", "2026-04-02"):
        record(s, occurred_at=at(day))
    coverage_fold_due(now=at("2026-04-05"))
    folded = set(Coverage.objects.values_list("transaction_id", flat=True))

    run = close("2026-03")

    assert set(Coverage.objects.values_list("transaction_id", flat=True)) == folded
    assert run.chunks.filter(phase="cover").count() == 0  # the fold reached the watermark
    statement = statement_of("2026-03", talent=s.talent)
    assert waterfall(statement) == statement_waterfall(earnings=7_200)
    for document in [*Statement.objects.all(), *s.brand.invoices.all()]:
        assert actual_lines(document) == expected_lines(document.account, document.period_start)
    assert coverage_totals_mismatches() == []


@pytest.mark.parametrize("stopped_in", ["coverage_fold_range", "invoices_issue_within"])
def test_a_fold_while_a_close_is_stopped_half_way_puts_later_uses_after_it(
    solo, monkeypatch, stopped_in
):
    """The March close dies after reading its watermark W (in its cover phase, or issuing
    invoices). The schedule's fold runs before the re-run: a March use recorded after W goes
    to April (an adjustment there), everything up to W stays March's, and the re-run issues
    March exactly as if the fold had not run.

    March: 2 assets at 40.00: talent 2 x 3_600 = 7_200.
    Late (recorded April 12, occurred March 20): March's third asset, 40.00 -> 3_600.
    """
    s = solo
    record(s, occurred_at=at("2026-03-05"))
    record(s, occurred_at=at("2026-03-10"))
    now = close_now("2026-03")
    original = getattr(closing, stopped_in)

    def dying(**kwargs):
        raise RuntimeError("worker killed")

    run = period_close_request(period=Period.parse("2026-03"), now=now)
    monkeypatch.setattr(closing, stopped_in, dying)
    with pytest.raises(RuntimeError, match="worker killed"):
        period_close_execute(run_id=run.pk, now=now)
    run.refresh_from_db()
    assert run.status == CloseRun.Status.FAILED and run.watermark
    monkeypatch.setattr(closing, stopped_in, original)

    late = record(s, occurred_at=at("2026-03-20"), now=at("2026-04-12"))
    assert late.transaction_id > run.watermark
    assert coverage_fold_due(now=at("2026-04-12")) == late.transaction_id
    assert Coverage.objects.get(transaction_id=late.transaction_id).period_start == APRIL
    assert (
        Coverage.objects.filter(transaction_id__lte=run.watermark)
        .exclude(period_start=MARCH)
        .count()
        == 0
    )

    period_close_execute(run_id=run.pk, now=now)
    assert waterfall(statement_of("2026-03", talent=s.talent)) == statement_waterfall(
        earnings=7_200
    )
    close("2026-04")
    assert waterfall(statement_of("2026-04", talent=s.talent)) == statement_waterfall(
        opening=7_200, adjustments=3_600
    )
    for document in [*Statement.objects.all(), *s.brand.invoices.all()]:
        assert actual_lines(document) == expected_lines(document.account, document.period_start)
    assert coverage_totals_mismatches() == []


def test_the_fold_waits_its_turn_while_a_close_holds_the_lock(solo):
    """Another process holds the close's advisory lock (a close is running): the scheduled fold
    does nothing and says so; the close folds what it needs itself."""
    record(solo, occurred_at=at("2026-03-10"))
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [ADVISORY_LOCK_CLASS, ADVISORY_LOCK_CLOSE])
        assert coverage_fold_due(now=at("2026-03-11")) is None
    assert not Coverage.objects.exists() and not CoverageFold.objects.exists()
    assert coverage_fold_due(now=at("2026-03-11")) is not None
    assert Coverage.objects.count() == 1


def test_a_month_no_close_issued_goes_on_the_next_close_with_its_entries_explained(solo):
    """March was never closed; the schedule folded March and April in their own months. The
    April close issues both: March's use as a prior-period adjustment, and each line's
    "explain this number" lists exactly the entries it sums.

    March 10 and April 2: one asset each at 40.00 -> talent 3_600 each.
    """
    from ledger.selectors.statements import line_entries

    s = solo
    march = record(s, occurred_at=at("2026-03-10"))
    april = record(s, occurred_at=at("2026-04-02"))
    coverage_fold_due(now=at("2026-04-05"))
    assert Coverage.objects.get(transaction_id=march.transaction_id).period_start == MARCH

    close("2026-04")

    statement = statement_of("2026-04", talent=s.talent)
    assert waterfall(statement) == statement_waterfall(earnings=3_600, adjustments=3_600)
    entries = {
        line.section: [e["transaction"] for e in line_entries(line)]
        for line in statement.lines.all()
    }
    assert entries == {
        "earnings": [april.transaction_id],
        "adjustments": [march.transaction_id],
    }
    for line in statement.lines.all():
        assert sum(e["amount_minor"] for e in line_entries(line)) == line.amount_minor
