"""Late reports (SPEC "Changes of consent and what they mean for uses", "Reporting window"):
held instead of booked, counted nowhere until accepted; accepted -> booked as if reported at
acceptance (a prior-period adjustment once its period closed); declined -> a refused attempt.
Two accepts at once book once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.errors import Conflict
from ledger.models import (
    Coverage,
    Invoice,
    LateReport,
    LateReportDecision,
    LedgerAccount,
    Posting,
    RefusedAttempt,
    Statement,
    UsageEvent,
)
from ledger.periods import Period
from ledger.services.licensing import license_amend
from ledger.services.twins import consent_revoke, consent_update
from ledger.services.usage import late_report_decide
from tests.ledger.close_helpers import at, close, invoice_of, lines_of, statement_of
from tests.ledger.scenario import approve_all, journal_state, scenario, terms
from tests.ledger.test_consent import consent_of
from tests.threads import in_threads

pytestmark = pytest.mark.django_db

DEFAULT_WINDOWS = {"producing_report_hours": 72, "reporting_window_days": 45}


def test_a_license_has_the_default_reporting_windows(db):
    s = scenario(**DEFAULT_WINDOWS)
    version = s.license.versions.get()
    assert (version.producing_report_hours, version.reporting_window_days) == (72, 45)


@pytest.mark.parametrize(
    ("kind", "late", "on_time"),
    [
        ("generation", timedelta(hours=72, seconds=1), timedelta(hours=72)),
        ("impressions", timedelta(days=45, seconds=1), timedelta(days=45)),
    ],
)
def test_a_report_later_than_its_window_is_held(db, kind, late, on_time):
    s = scenario(**DEFAULT_WINDOWS)
    asset_ref = None
    if kind == "impressions":
        asset_ref = s.asset(occurred_at=at("2026-03-01"), now=at("2026-03-01", 13)).asset_ref
        published = s.use(
            "publication", asset_ref=asset_ref, occurred_at=at("2026-03-02"), now=at("2026-03-02")
        )
        assert published.status == "accepted"
    occurred = at("2026-03-10")

    held = s.use(kind, asset_ref=asset_ref, quantity=10, occurred_at=occurred, now=occurred + late)
    booked = s.use(
        kind, asset_ref=asset_ref, quantity=10, occurred_at=occurred, now=occurred + on_time
    )

    assert held.status == "held", held.error
    assert held.late_report.reason == "reported_late"
    assert held.late_report.due_at == occurred + on_time
    assert booked.status == "accepted"


def test_a_narrower_amendment_holds_a_producing_use_dated_before_it(db):
    s = scenario()
    amended_at = at("2026-04-01")
    version = license_amend(
        license=s.license, terms=terms(channels=["print"]), now=amended_at - timedelta(days=1)
    )
    approve_all(version, at=amended_at)

    outcome = s.use(occurred_at=at("2026-03-31"), channel="social", now=at("2026-04-02"))

    assert outcome.status == "held"
    assert (outcome.late_report.reason, outcome.late_report.changed_at) == (
        "license_changed_since",
        amended_at,
    )


def test_held_reports_are_in_no_balance_and_no_close(db):
    s = scenario(**DEFAULT_WINDOWS)
    before = journal_state()

    held = s.use(occurred_at=at("2026-03-10"), now=at("2026-03-14", 13))  # 4 days late
    close("2026-03")

    assert held.status == "held"
    assert journal_state() == before
    assert not Posting.objects.exists() and not Coverage.objects.exists()
    assert not Statement.objects.filter(talent=s.talent).exists()
    assert not Invoice.objects.filter(brand=s.brand).exists()


def test_a_generation_reported_4_days_late_accepted_after_close_is_a_prior_period_adjustment(db):
    """SPEC tiers (40.00 / 30.00), 10% fee. Occurred March 10, reported March 14 13:00 (4 days
    late: held). March closes without it. Accepted April 12: booked then, on April's statement
    as a prior-period adjustment of 4_000 gross, 3_600 to the talent."""
    s = scenario(**DEFAULT_WINDOWS)
    held = s.use(occurred_at=at("2026-03-10"), now=at("2026-03-14", 13))
    assert held.status == "held"
    close("2026-03")

    decision = late_report_decide(
        report=held.late_report, accept=True, party="talent", note="ok", now=at("2026-04-12")
    )
    close("2026-04")

    event = decision.usage_event
    assert (event.occurred_at, event.recorded_at, event.gross_minor) == (
        at("2026-03-10"),
        at("2026-04-12"),
        4_000,
    )
    assert Coverage.objects.get(transaction_id=event.transaction_id).period_start == (
        Period.parse("2026-04").start
    )
    april = statement_of("2026-04", talent=s.talent)
    assert (april.earnings_minor, april.adjustments_minor, april.payable_minor) == (0, 3_600, 3_600)
    [adjustment] = lines_of(april)
    assert (adjustment["section"], adjustment["kind"], adjustment["gross_minor"]) == (
        "adjustments",
        "generation",
        4_000,
    )
    assert invoice_of("2026-04", s.brand).adjustments_minor == 4_000


def test_an_accepted_report_is_rated_as_if_reported_at_acceptance(db):
    """Per-asset tiers count in the order uses are recorded: a report accepted after 100 other
    assets of March is the 101st, at 30.00."""
    s = scenario(**DEFAULT_WINDOWS)
    held = s.use(occurred_at=at("2026-03-02"), now=at("2026-03-08"))
    s.use(occurred_at=at("2026-03-10"), quantity=100, now=at("2026-03-10", 13))

    decision = late_report_decide(
        report=held.late_report, accept=True, party="talent", now=at("2026-03-20")
    )

    assert decision.usage_event.gross_minor == 3_000


def test_a_declined_report_is_a_refused_attempt_and_posts_nothing(db):
    s = scenario(**DEFAULT_WINDOWS)
    held = s.use(occurred_at=at("2026-03-10"), now=at("2026-03-20"))
    before = journal_state()

    decision = late_report_decide(
        report=held.late_report, accept=False, party="talent", note="too late", now=at("2026-03-21")
    )

    assert journal_state() == before
    attempt = RefusedAttempt.objects.get()
    assert decision.refused_attempt_id == attempt.pk
    assert (attempt.code, attempt.external_id) == ("late_report_declined", held.external_id)
    assert "too late" in attempt.detail
    with pytest.raises(Conflict) as again:
        late_report_decide(report=held.late_report, accept=True, party="talent")
    assert again.value.code == "already_decided"


def test_a_replay_of_a_held_report_returns_it_and_a_different_body_conflicts(db):
    s = scenario(**DEFAULT_WINDOWS)
    item = s.item(occurred_at=at("2026-03-10"))
    first = s.batch([item], now=at("2026-03-20"))[0]

    again = s.batch([item], now=at("2026-03-21"))[0]
    other = s.batch([s.item(external_id=item.external_id, quantity=3)], now=at("2026-03-21"))[0]

    assert (first.status, again.status) == ("held", "held")
    assert again.late_report.pk == first.late_report.pk
    assert (other.status, other.error.code) == ("conflict", "idempotency_conflict")
    assert LateReport.objects.count() == 1


def test_social_turned_off_holds_a_social_generation_dated_before_never_booked(db):
    s = scenario()
    changed = at("2026-03-12")
    narrowed = consent_update(
        twin=s.twin, **consent_of(s.twin, allowed_channels=["ecommerce", "print"]), now=changed
    )

    outcome = s.use(occurred_at=changed - timedelta(days=1), channel="social", now=changed)

    assert outcome.status == "held"
    report = outcome.late_report
    assert (report.consent_version_id, report.changed_at) == (narrowed.pk, changed)
    assert "v2" in report.detail and "social" in report.detail
    assert not UsageEvent.objects.exists()


def test_the_held_report_names_the_change_since_which_it_is_refused(db):
    """Social off at v2, territories narrowed at v3: it has been refused since v2."""
    s = scenario()
    v2 = consent_update(
        twin=s.twin, **consent_of(s.twin, allowed_channels=["print"]), now=at("2026-03-11")
    )
    consent_update(
        twin=s.twin, **consent_of(s.twin, allowed_territories=["FR"]), now=at("2026-03-12")
    )

    outcome = s.use(occurred_at=at("2026-03-10"), channel="social", now=at("2026-03-13"))

    assert outcome.late_report.consent_version_id == v2.pk


def test_after_revocation_uses_dated_yesterday_and_three_months_back_are_never_booked(db):
    s = scenario()
    consent_revoke(twin=s.twin, now=at("2026-06-01"))

    outcomes = s.batch(
        [
            s.item(occurred_at=at("2026-05-31")),
            s.item(occurred_at=at("2026-03-01")),  # March: closed by then
        ],
        now=at("2026-06-01", 13),
    )

    assert [o.status for o in outcomes] == ["held", "held"]
    assert not UsageEvent.objects.exists()


def test_an_impression_in_a_narrowed_territory_earns_until_the_sell_off_date(db):
    s = scenario(sell_off_days=10)
    asset = s.published(at=at("2026-03-01"))
    consent_update(
        twin=s.twin, **consent_of(s.twin, allowed_territories=["DE"]), now=at("2026-03-05")
    )

    inside = s.use("impressions", asset_ref=asset.asset_ref, occurred_at=at("2026-03-15"))
    after = s.use("impressions", asset_ref=asset.asset_ref, occurred_at=at("2026-03-16"))
    never_published = s.asset(occurred_at=at("2026-03-02"), territory="DE")
    unpublished = s.use(
        "impressions", asset_ref=never_published.asset_ref, occurred_at=at("2026-03-06")
    )

    assert inside.status == "accepted", inside.error
    assert (after.status, after.error.code) == ("refused", "territory_not_consented")
    assert (unpublished.status, unpublished.error.code) == ("refused", "territory_not_consented")


@pytest.mark.django_db(transaction=True)
def test_two_accepts_of_the_same_report_book_once(db):
    s = scenario(**DEFAULT_WINDOWS)
    held = s.use(occurred_at=at("2026-03-10"), now=at("2026-03-20"))
    report = held.late_report

    def accept(_: int):
        try:
            return late_report_decide(
                report=report, accept=True, party="talent", now=at("2026-03-21")
            )
        except Conflict as error:
            return error

    results = in_threads(accept, 2)

    assert sorted(type(r).__name__ for r in results) == ["Conflict", "LateReportDecision"]
    assert UsageEvent.objects.filter(external_id=held.external_id).count() == 1
    assert LateReportDecision.objects.count() == 1
    talent = LedgerAccount.objects.get(kind="talent_payable", talent=s.talent)
    assert sum(Posting.objects.filter(account=talent).values_list("amount_minor", flat=True)) == (
        -3_600
    )
    assert Statement.objects.count() == 0
