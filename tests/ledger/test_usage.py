"""Usage capture (SPEC "Usage events", "Rating and rounding"): every refusal code, what an
accepted use posts, idempotency, batches, reversals and tier periods."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db.models import Sum

from ledger.errors import Conflict, InvalidInput
from ledger.models import (
    Asset,
    JournalTransaction,
    LedgerAccount,
    Posting,
    RefusedAttempt,
    TierCounter,
    UsageEvent,
)
from ledger.services.journal import AlreadyReversed
from ledger.services.licensing import license_amend, license_decide
from ledger.services.usage import (
    MAX_BATCH,
    MAX_QUANTITY,
    MAX_SALE_AMOUNT_MINOR,
    asset_decide,
    usage_record_batch,
    usage_reverse,
)
from tests.images import attach_image
from tests.ledger.scenario import (
    END,
    NOW,
    START,
    USE_AT,
    first_version,
    journal_state,
    licensed,
    make_twin,
    propose,
    refusal_codes,
    scenario,
    terms,
)

Kind = LedgerAccount.Kind


def postings_of(tx: JournalTransaction) -> dict[str, int]:
    return dict(tx.postings.values_list("account__kind").annotate(total=Sum("amount_minor")))


def assert_refused(outcome, code: str, field: str) -> None:
    assert outcome.status == "refused", outcome
    assert (outcome.error.code, outcome.error.field) == (code, field), outcome.error.detail
    assert outcome.event is None


# --- refusals --------------------------------------------------------------------------------


def test_another_brands_license_is_not_found_and_not_recorded(db):
    mine, theirs = scenario(), scenario()
    before = journal_state()

    outcomes = [
        mine.use(license=theirs.license.pk),
        mine.use(license=999_999_999),
    ]

    for outcome in outcomes:
        assert_refused(outcome, "license_not_found", "license")
    assert journal_state() == before
    assert not RefusedAttempt.objects.exists()  # no license of the caller's to attach it to


def test_a_pending_license_is_inactive(solo):
    pending = propose(solo.twin, solo.brand)

    assert_refused(solo.use(license=pending), "license_inactive", "occurred_at")


def test_a_declined_license_is_inactive(solo):
    declined = propose(solo.twin, solo.brand)
    license_decide(version=first_version(declined), party="talent", approve=False, now=START)

    assert_refused(solo.use(license=declined), "license_inactive", "occurred_at")


def test_uses_after_the_term_are_inactive_and_up_to_its_end_accepted(solo):
    at_end = solo.use(occurred_at=END, now=END)
    after = solo.use(occurred_at=END + timedelta(seconds=1), now=END + timedelta(days=1))

    assert at_end.status == "accepted"
    assert_refused(after, "license_inactive", "occurred_at")


def test_uses_before_activation_are_inactive(db):
    s = scenario(activated_at=START + timedelta(days=10))

    before = s.use(occurred_at=START + timedelta(days=9))
    after = s.use(occurred_at=START + timedelta(days=10))

    assert_refused(before, "license_inactive", "occurred_at")
    assert after.status == "accepted"


def test_a_use_before_the_license_start_is_refused(solo):
    assert_refused(
        solo.use(occurred_at=START - timedelta(seconds=1)), "before_license_start", "occurred_at"
    )
    assert solo.use(occurred_at=START).status == "accepted"


def test_more_than_five_minutes_in_the_future_is_refused_exactly_five_accepted(solo):
    edge = solo.use(occurred_at=NOW + timedelta(minutes=5))
    beyond = solo.use(occurred_at=NOW + timedelta(minutes=5, microseconds=1))

    assert edge.status == "accepted"
    assert_refused(beyond, "occurred_in_future", "occurred_at")
    assert refusal_codes() == []  # a bad value, not a rights question


@pytest.mark.parametrize(
    ("use", "code", "field"),
    [
        ({"kind": "training"}, "kind_not_licensed", "kind"),
        ({"channel": "tv"}, "channel_not_licensed", "channel"),
        ({"territory": "JP"}, "territory_not_licensed", "territory"),
    ],
)
def test_a_use_outside_the_license_is_refused_and_recorded(solo, use, code, field):
    before = journal_state()

    outcome = solo.use(**{"kind": "generation", **use})

    assert_refused(outcome, code, field)
    assert journal_state() == before
    attempt = RefusedAttempt.objects.get()
    assert (attempt.code, attempt.field, attempt.twin_id, attempt.license_id) == (
        code,
        field,
        solo.twin.pk,
        solo.license.pk,
    )
    assert attempt.brand_id == solo.brand.pk


@pytest.mark.parametrize(
    ("consent", "use", "code", "field"),
    [
        ({"allowed_kinds": ["publication"]}, {}, "kind_not_consented", "kind"),
        ({"allowed_channels": ["print"]}, {}, "channel_not_consented", "channel"),
        ({"allowed_territories": ["DE"]}, {}, "territory_not_consented", "territory"),
        (
            {"forbidden_contexts": ["gambling"]},
            {"context_tags": ["gambling"]},
            "context_forbidden",
            "context_tags",
        ),
    ],
)
def test_a_use_outside_consent_is_refused_and_recorded(db, consent, use, code, field):
    s = scenario(consent=consent)
    before = journal_state()

    assert_refused(s.use(**use), code, field)

    assert journal_state() == before
    assert list(RefusedAttempt.objects.values_list("code", "twin_id")) == [(code, s.twin.pk)]


def test_the_license_is_checked_before_consent(db):
    s = scenario(consent={"allowed_channels": ["print"]})

    assert_refused(s.use(channel="tv"), "channel_not_licensed", "channel")


def test_generating_an_existing_asset_ref_is_refused(solo):
    solo.use(asset_ref="hero-1")
    before = journal_state()

    assert_refused(solo.use(asset_ref="hero-1"), "asset_exists", "asset_ref")
    assert journal_state() == before


def test_asset_refs_belong_to_their_brand(db):
    a, b = scenario(), scenario()

    assert a.use(asset_ref="hero-1").status == b.use(asset_ref="hero-1").status == "accepted"
    assert_refused(a.use("publication", asset_ref="nope"), "asset_unknown", "asset_ref")


def test_an_asset_of_another_twin_is_unknown(solo):
    other_license = licensed(make_twin(solo.talent), solo.brand)
    asset = solo.asset()

    outcome = solo.use("publication", asset_ref=asset.asset_ref, license=other_license)

    assert_refused(outcome, "asset_unknown", "asset_ref")
    assert RefusedAttempt.objects.get().code == "asset_unknown"


@pytest.mark.parametrize("kind", ["publication", "impressions", "sale"])
def test_uses_of_an_unknown_asset_are_refused(solo, kind):
    assert_refused(solo.use(kind, asset_ref="never-generated"), "asset_unknown", "asset_ref")


@pytest.mark.parametrize("kind", ["publication", "impressions", "sale"])
def test_uses_of_a_pending_or_rejected_asset_are_refused_until_approved(db, kind):
    s = scenario(consent={"requires_output_approval": True})
    pending = s.asset()
    rejected = s.asset(approve=False)
    before = journal_state()

    assert_refused(s.use(kind, asset_ref=pending.asset_ref), "asset_not_approved", "asset_ref")
    assert_refused(s.use(kind, asset_ref=rejected.asset_ref), "asset_not_approved", "asset_ref")
    assert journal_state() == before
    assert refusal_codes() == ["asset_not_approved"] * 2

    attach_image(pending)
    asset_decide(asset=pending, approve=True, now=NOW)
    if kind != "publication":
        assert s.use("publication", asset_ref=pending.asset_ref).status == "accepted"
    assert s.use(kind, asset_ref=pending.asset_ref).status == "accepted"


def test_an_asset_is_decided_once(db):
    s = scenario(consent={"requires_output_approval": True})
    asset = s.asset(approve=True)

    with pytest.raises(Conflict) as refused:
        asset_decide(asset=asset, approve=False, now=NOW)

    assert refused.value.code == "already_decided"
    asset.refresh_from_db()
    assert asset.approval == "approved"


def test_an_asset_not_needing_approval_cannot_be_decided(solo):
    with pytest.raises(Conflict):
        asset_decide(asset=solo.asset(), approve=True, now=NOW)


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1])
def test_a_quantity_out_of_bounds_is_refused_and_not_recorded(solo, quantity):
    before = journal_state()

    assert_refused(solo.use("generation", quantity=quantity), "invalid_quantity", "quantity")
    assert journal_state() == before
    assert refusal_codes() == []


def test_the_largest_quantity_is_accepted(solo):
    asset = solo.published()

    outcome = solo.use("impressions", asset_ref=asset.asset_ref, quantity=MAX_QUANTITY)

    assert outcome.status == "accepted"
    assert outcome.event.gross_minor == 333 * 10**9  # 10^12 impressions at 3.33 per mille


@pytest.mark.parametrize("amount", [None, 0, -5, MAX_SALE_AMOUNT_MINOR + 1])
def test_a_sale_amount_out_of_bounds_is_refused_and_not_recorded(solo, amount):
    asset = solo.published()
    before = journal_state()

    item = replace(solo.item("sale", asset_ref=asset.asset_ref), sale_amount_minor=amount)
    [outcome] = solo.batch([item])

    assert_refused(outcome, "invalid_sale_amount", "sale_amount_minor")
    assert journal_state() == before
    assert refusal_codes() == []


def test_a_sale_amount_on_another_kind_is_refused(solo):
    outcome = solo.use("generation", sale_amount_minor=100)

    assert_refused(outcome, "invalid_sale_amount", "sale_amount_minor")


def test_the_largest_sale_amount_is_accepted(solo):
    asset = solo.published()

    outcome = solo.use("sale", asset_ref=asset.asset_ref, sale_amount_minor=MAX_SALE_AMOUNT_MINOR)

    assert outcome.status == "accepted"
    assert outcome.event.gross_minor == 55 * 10**12  # 5.5 %


def test_values_are_checked_before_rights(db):
    """A malformed value is the brand's bug: answered, not recorded as a rights refusal."""
    s = scenario(consent={"allowed_channels": ["print"]})

    assert_refused(s.use(channel="tv", quantity=0), "invalid_quantity", "quantity")
    assert refusal_codes() == []


# --- accepted uses ---------------------------------------------------------------------------


def test_an_accepted_use_posts_the_gross_and_its_split(represented):
    outcome = represented.use("generation", quantity=1)

    assert outcome.status == "accepted"
    event = outcome.event
    assert (event.gross_minor, event.currency, event.quantity) == (4000, "EUR", 1)
    assert event.license_version == first_version(represented.license)
    assert event.period_start.isoformat() == "2026-03-01"
    assert event.rating["lines"] == [
        {"rate": "per_asset", "tier": 1, "units": 1, "unit_minor": 4000, "amount_minor": 4000}
    ]
    assert (event.rating["agency_commission_pct"], event.rating["platform_fee_pct"]) == (
        "20.0000",
        "10.0000",
    )
    tx = event.transaction
    assert (tx.kind, tx.source, tx.idempotency_key, tx.occurred_at) == (
        "usage",
        f"usage:{represented.brand.pk}",
        event.external_id,
        USE_AT,
    )
    # commission = rhe(4000 * 20 / 100) = 800; fee = rhe(4000 * 10 / 100) = 400; talent the rest
    assert postings_of(tx) == {
        Kind.BRAND_RECEIVABLE: 4000,
        Kind.TALENT_PAYABLE: -2800,
        Kind.AGENCY_PAYABLE: -800,
        Kind.PLATFORM_REVENUE: -400,
    }
    assert represented.account(Kind.BRAND_RECEIVABLE).brand == represented.brand
    assert represented.account(Kind.TALENT_PAYABLE).talent == represented.talent
    assert represented.account(Kind.AGENCY_PAYABLE).agency == represented.agency


def test_an_independent_talents_use_has_no_agency_posting(solo):
    asset = solo.published()

    event = solo.use("sale", asset_ref=asset.asset_ref, sale_amount_minor=10_010).event

    # 5.5 % of 100.10 = 5.5055 -> 551; fee rhe(55.1) = 55; talent 496
    assert event.gross_minor == 551
    assert postings_of(event.transaction) == {
        Kind.BRAND_RECEIVABLE: 551,
        Kind.TALENT_PAYABLE: -496,
        Kind.PLATFORM_REVENUE: -55,
    }


@pytest.mark.parametrize(
    ("kind", "extra", "gross"),
    [
        ("publication", {"channel": "ecommerce", "quantity": 2}, 3000),
        ("publication", {"channel": "social"}, 2000),
        ("impressions", {"quantity": 1500}, 500),  # 499.5 -> 500
        ("impressions", {"quantity": 2500, "channel": "ecommerce"}, 2),  # 2.5 -> 2
        ("sale", {"sale_amount_minor": 10_000}, 550),
    ],
)
def test_each_usage_rate_through_the_service(represented, kind, extra, gross):
    asset = represented.published(channel=extra.get("channel", "social"))

    event = represented.use(kind, asset_ref=asset.asset_ref, **extra).event

    assert event.gross_minor == gross
    totals = postings_of(event.transaction)
    assert sum(totals.values()) == 0
    assert totals[Kind.BRAND_RECEIVABLE] == gross


def test_a_use_priced_at_zero_has_no_transaction(solo):
    asset = solo.published()
    before = journal_state()

    event = solo.use("publication", asset_ref=asset.asset_ref, channel="print").event

    assert (event.gross_minor, event.transaction_id) == (0, None)
    assert event.rating["lines"] == [{"rate": "none", "amount_minor": 0}]
    after = journal_state()
    assert (after["transactions"], after["events"]) == (
        before["transactions"],
        before["events"] + 1,
    )


def test_a_zero_decimal_currency_posts_in_its_own_unit(db):
    s = scenario(
        currency="JPY", rates={"per_asset": {"tiers": [{"up_to": None, "unit_minor": 5000}]}}
    )

    event = s.use().event

    assert (event.currency, event.gross_minor) == ("JPY", 5000)
    assert set(event.transaction.postings.values_list("currency", flat=True)) == {"JPY"}


def test_the_ledger_stays_balanced_over_many_uses(represented):
    asset = represented.published()
    for n in range(1, 30):
        represented.use("impressions", asset_ref=asset.asset_ref, quantity=n * 137)
        represented.use("sale", asset_ref=asset.asset_ref, sale_amount_minor=n * 1013)

    assert Posting.objects.aggregate(total=Sum("amount_minor"))["total"] == 0
    gross = UsageEvent.objects.aggregate(total=Sum("gross_minor"))["total"]
    assert (
        represented.account(Kind.BRAND_RECEIVABLE).postings.aggregate(total=Sum("amount_minor"))[
            "total"
        ]
        == gross
    )


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_body_again_is_a_replay_of_the_first(solo):
    item = solo.item("generation", external_id="once")
    [first] = solo.batch([item])
    before = journal_state()

    [again] = solo.batch([item], now=NOW + timedelta(hours=1))

    assert (first.status, again.status) == ("accepted", "replayed")
    assert again.event.pk == first.event.pk
    assert journal_state() == before


def test_the_same_external_id_with_another_body_is_a_conflict(solo):
    item = solo.item("generation", external_id="once")
    solo.batch([item])
    before = journal_state()

    [other] = solo.batch([replace(item, quantity=2)])

    assert other.status == "conflict"
    assert (other.error.code, other.error.field) == ("idempotency_conflict", "external_id")
    assert journal_state() == before


def test_context_tag_order_and_repeats_do_not_change_the_body(solo):
    item = solo.item("generation", context_tags=["summer", "beach"])
    solo.batch([item])

    [again] = solo.batch([replace(item, context_tags=("beach", "summer", "beach"))])

    assert again.status == "replayed"


def test_external_ids_are_per_brand(db):
    a, b = scenario(), scenario()

    assert a.use(external_id="x-1").status == b.use(external_id="x-1").status == "accepted"


def test_a_refused_external_id_can_be_sent_again_once_allowed(solo):
    early = solo.use(external_id="retry", occurred_at=NOW + timedelta(hours=1))
    later = solo.use(
        external_id="retry", occurred_at=NOW + timedelta(hours=1), now=NOW + timedelta(hours=1)
    )

    assert early.status == "refused" and later.status == "accepted"


# --- batches ---------------------------------------------------------------------------------


def test_a_batch_answers_each_item_in_order(solo):
    asset = solo.published()
    done = solo.item("generation", external_id="done")
    taken = solo.item("generation", external_id="taken")
    solo.batch([done, taken])
    items = [
        solo.item("generation", external_id="new-1"),
        solo.item("generation", external_id="bad-channel", channel="tv"),
        done,
        replace(taken, quantity=3),
        solo.item("impressions", external_id="new-2", asset_ref=asset.asset_ref, quantity=1000),
        solo.item("generation", external_id="bad-qty", quantity=0),
    ]

    outcomes = solo.batch(items)

    assert [(o.index, o.external_id, o.status) for o in outcomes] == [
        (0, "new-1", "accepted"),
        (1, "bad-channel", "refused"),
        (2, "done", "replayed"),
        (3, "taken", "conflict"),
        (4, "new-2", "accepted"),
        (5, "bad-qty", "refused"),
    ]
    assert [o.error.code for o in outcomes if o.error] == [
        "channel_not_licensed",
        "idempotency_conflict",
        "invalid_quantity",
    ]
    assert outcomes[2].event.external_id == "done"
    assert outcomes[4].event.gross_minor == 333
    assert refusal_codes() == ["channel_not_licensed"]


def test_a_batch_with_a_conflict_still_commits_its_other_items(solo):
    solo.use(external_id="taken")

    outcomes = solo.batch(
        [solo.item(external_id="taken", quantity=5), solo.item(external_id="fresh")]
    )

    assert [o.status for o in outcomes] == ["conflict", "accepted"]
    assert UsageEvent.objects.filter(external_id="fresh").exists()


def test_a_batch_may_publish_an_asset_it_generated(solo):
    outcomes = solo.batch(
        [
            solo.item("generation", asset_ref="fresh", occurred_at=USE_AT),
            solo.item("publication", asset_ref="fresh", occurred_at=USE_AT + timedelta(hours=1)),
            solo.item(
                "impressions",
                asset_ref="fresh",
                occurred_at=USE_AT + timedelta(hours=2),
                quantity=1500,
            ),
            solo.item("generation", asset_ref="fresh", occurred_at=USE_AT),
        ]
    )

    assert [o.status for o in outcomes] == ["accepted", "accepted", "accepted", "refused"]
    assert outcomes[3].error.code == "asset_exists"
    asset = Asset.objects.get(asset_ref="fresh")
    assert asset.first_published_at == USE_AT + timedelta(hours=1)
    assert {o.event.asset_id for o in outcomes[:3]} == {asset.pk}


def test_a_batch_cannot_publish_an_asset_it_generated_that_needs_approval(db):
    s = scenario(consent={"requires_output_approval": True})

    outcomes = s.batch(
        [
            s.item("generation", asset_ref="fresh"),
            s.item("publication", asset_ref="fresh", occurred_at=USE_AT + timedelta(hours=1)),
        ]
    )

    assert [o.status for o in outcomes] == ["accepted", "refused"]
    assert outcomes[1].error.code == "asset_not_approved"


def test_first_published_at_keeps_the_earliest_publication(solo):
    asset = solo.published(at=USE_AT)

    solo.batch(
        [
            solo.item(
                "publication", asset_ref=asset.asset_ref, occurred_at=USE_AT + timedelta(days=1)
            ),
            solo.item(
                "publication", asset_ref=asset.asset_ref, occurred_at=USE_AT - timedelta(minutes=30)
            ),
        ]
    )

    asset.refresh_from_db()
    assert asset.first_published_at == USE_AT - timedelta(minutes=30)


def test_a_duplicate_external_id_in_a_batch_refuses_the_batch_and_writes_nothing(db):
    s = scenario(consent={"allowed_channels": ["social"]})
    before = journal_state()

    with pytest.raises(InvalidInput) as refused:
        s.batch(
            [
                s.item(external_id="a"),
                s.item(external_id="b", channel="print"),  # would be a recorded refusal
                s.item(external_id="a", quantity=2),
            ]
        )

    assert (refused.value.code, refused.value.field) == ("duplicate_external_id", "external_id")
    assert journal_state() == before
    assert refusal_codes() == []


def test_a_batch_of_more_than_1000_is_refused_and_writes_nothing(solo):
    before = journal_state()

    with pytest.raises(InvalidInput) as refused:
        solo.batch([solo.item() for _ in range(MAX_BATCH + 1)])

    assert (refused.value.code, refused.value.field) == ("batch_too_large", "events")
    assert journal_state() == before


def test_a_batch_of_exactly_1000_is_accepted(solo):
    outcomes = solo.batch([solo.item() for _ in range(MAX_BATCH)])

    assert {o.status for o in outcomes} == {"accepted"}
    assert UsageEvent.objects.count() == JournalTransaction.objects.count() == MAX_BATCH
    gross = UsageEvent.objects.aggregate(total=Sum("gross_minor"))["total"]
    assert gross == 100 * 4000 + 900 * 3000


def test_an_empty_batch_does_nothing(solo):
    assert usage_record_batch(brand=solo.brand, items=[], now=NOW) == []


# --- reversal --------------------------------------------------------------------------------


def test_a_reversal_posts_the_exact_negation_and_only_once(represented):
    event = represented.use(quantity=3).event
    original = postings_of(event.transaction)

    reversal = usage_reverse(event=event, reason="duplicate report", now=NOW)

    assert reversal.kind == "reversal" and reversal.reverses_id == event.transaction_id
    assert reversal.memo == "duplicate report"
    assert postings_of(reversal) == {kind: -amount for kind, amount in original.items()}
    assert sorted(reversal.postings.values_list("account_id", "amount_minor")) == sorted(
        (account, -amount)
        for account, amount in event.transaction.postings.values_list("account_id", "amount_minor")
    )
    before = journal_state()
    with pytest.raises((AlreadyReversed, Conflict)) as again:
        usage_reverse(event=event, reason="again", now=NOW)
    assert getattr(again.value, "code", None) == "already_reversed"
    assert journal_state() == before
    assert UsageEvent.objects.filter(pk=event.pk).exists()  # the use itself stays on record


def test_a_use_priced_at_zero_has_nothing_to_reverse(solo):
    asset = solo.published()
    event = solo.use("publication", asset_ref=asset.asset_ref, channel="print").event

    with pytest.raises(Conflict) as refused:
        usage_reverse(event=event, reason="mistake", now=NOW)

    assert refused.value.code == "nothing_to_reverse"


# --- tiers and periods -----------------------------------------------------------------------


def tier_units(s, period: str) -> int:
    return TierCounter.objects.get(license=s.license, period_start=period).units


def test_tiers_count_across_events_and_within_one_batch(solo):
    first = solo.use(quantity=60).event
    second, third = solo.batch([solo.item(quantity=30), solo.item(quantity=20)])

    assert first.gross_minor == 60 * 4000
    assert second.event.gross_minor == 30 * 4000
    assert third.event.gross_minor == 10 * 4000 + 10 * 3000
    assert [line["units"] for line in third.event.rating["lines"]] == [10, 10]
    assert tier_units(solo, "2026-03-01") == 110


def test_refused_and_replayed_uses_do_not_count_towards_tiers(solo):
    item = solo.item(quantity=99)
    solo.batch([item])
    solo.batch([item])
    solo.use(quantity=5, channel="tv")

    assert solo.use(quantity=1).event.gross_minor == 4000
    assert solo.use(quantity=1).event.gross_minor == 3000


def test_tier_counts_restart_each_calendar_month(solo):
    january = datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)
    february = datetime(2026, 2, 1, tzinfo=UTC)

    jan_bulk = solo.use(quantity=100, occurred_at=january).event
    feb_first = solo.use(quantity=1, occurred_at=february).event
    jan_late = solo.use(quantity=1, occurred_at=january - timedelta(days=3)).event

    assert jan_bulk.gross_minor == 100 * 4000
    assert (feb_first.gross_minor, feb_first.period_start.isoformat()) == (4000, "2026-02-01")
    assert (jan_late.gross_minor, jan_late.period_start.isoformat()) == (3000, "2026-01-01")
    assert (tier_units(solo, "2026-01-01"), tier_units(solo, "2026-02-01")) == (101, 1)


def test_the_tier_period_is_the_utc_month_whatever_the_offset_of_occurred_at(solo):
    """01:00 on 1 March in Paris (+02:00 here) is still 28 February in UTC."""
    paris = timezone(timedelta(hours=2))
    solo.use(quantity=100, occurred_at=datetime(2026, 2, 10, tzinfo=UTC))

    late_february = solo.use(quantity=1, occurred_at=datetime(2026, 3, 1, 1, 0, tzinfo=paris))
    early_march = solo.use(quantity=1, occurred_at=datetime(2026, 3, 1, 2, 0, tzinfo=paris))

    assert late_february.event.period_start.isoformat() == "2026-02-01"
    assert late_february.event.gross_minor == 3000
    assert early_march.event.period_start.isoformat() == "2026-03-01"
    assert early_march.event.gross_minor == 4000


def test_tiers_count_per_license(solo):
    second = licensed(make_twin(solo.talent), solo.brand)
    solo.use(quantity=100)

    assert solo.use(quantity=1).event.gross_minor == 3000
    assert solo.use(quantity=1, license=second).event.gross_minor == 4000


def test_an_amendment_changes_the_price_not_the_count(db):
    s = scenario()
    s.use(quantity=90, occurred_at=datetime(2026, 3, 2, tzinfo=UTC))
    cheaper = {
        "per_asset": {
            "tiers": [{"up_to": 100, "unit_minor": 2000}, {"up_to": None, "unit_minor": 1000}]
        }
    }
    v2 = license_amend(
        license=s.license, terms=terms(rates=cheaper), now=datetime(2026, 3, 3, tzinfo=UTC)
    )
    license_decide(version=v2, party="talent", approve=True, now=datetime(2026, 3, 4, tzinfo=UTC))

    event = s.use(quantity=20, occurred_at=datetime(2026, 3, 5, tzinfo=UTC)).event

    assert event.gross_minor == 10 * 2000 + 10 * 1000
    assert event.rating["license_version"] == 2
    assert Decimal(event.rating["platform_fee_pct"]) == Decimal("10")
