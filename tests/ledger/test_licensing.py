"""Licenses (SPEC "Licenses"): proposal, approvals, decline, amendments, exclusivity, bad terms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger.errors import Conflict, InvalidInput, NotAllowed, Refused
from ledger.models import License, LicenseActivation, LicenseDecision, LicenseVersion
from ledger.services.licensing import license_amend, license_decide, license_propose
from tests.factories import AgencyFactory, BrandFactory, TalentFactory
from tests.ledger.scenario import (
    END,
    START,
    USE_AT,
    approve_all,
    first_version,
    licensed,
    make_twin,
    propose,
    scenario,
    terms,
)


@pytest.fixture
def twin(db):
    return make_twin(TalentFactory())


@pytest.fixture
def represented_twin(db):
    return make_twin(TalentFactory(agency=AgencyFactory(default_commission_pct=Decimal("20"))))


def decisions(version: LicenseVersion) -> list[tuple[str, str]]:
    return sorted(version.decisions.values_list("party", "decision"))


def written() -> dict[str, int]:
    return {
        "licenses": License.objects.count(),
        "versions": LicenseVersion.objects.count(),
        "decisions": LicenseDecision.objects.count(),
        "activations": LicenseActivation.objects.count(),
    }


# --- proposal and approval -------------------------------------------------------------------


def test_a_proposal_is_a_pending_license_with_version_1(twin):
    brand = BrandFactory()
    proposed_at = START - timedelta(days=3)

    license = license_propose(
        brand=brand, twin=twin, currency="EUR", terms=terms(), now=proposed_at
    )

    assert (license.status, license.active_version_id, license.currency) == ("pending", None, "EUR")
    v1 = license.versions.get()
    assert (v1.version, v1.proposed_at, v1.agency_id) == (1, proposed_at, None)
    assert v1.rates == terms().rates
    assert v1.agency_commission_pct == 0 and v1.platform_fee_pct == Decimal("10")
    assert not LicenseActivation.objects.exists()


def test_the_talents_approval_activates_a_license_without_agency(twin):
    license = propose(twin, BrandFactory())
    approved_at = START - timedelta(days=1)

    license_decide(version=first_version(license), party="talent", approve=True, now=approved_at)

    license.refresh_from_db()
    assert license.status == "active"
    assert license.active_version == first_version(license)
    assert first_version(license).activation.activated_at == approved_at
    assert decisions(first_version(license)) == [("talent", "approve")]


@pytest.mark.parametrize("order", [("talent", "agency"), ("agency", "talent")])
def test_a_represented_talents_license_needs_both_approvals_in_either_order(
    represented_twin, order
):
    license = propose(represented_twin, BrandFactory())
    version = first_version(license)
    assert version.agency_id == represented_twin.talent.agency_id
    assert version.agency_commission_pct == Decimal("20")  # the agency's default

    license_decide(version=version, party=order[0], approve=True, now=START)
    license.refresh_from_db()
    assert (license.status, license.active_version_id) == ("pending", None)
    assert not LicenseActivation.objects.exists()

    license_decide(version=version, party=order[1], approve=True, now=START)
    license.refresh_from_db()
    assert (license.status, license.active_version_id) == ("active", version.pk)
    assert decisions(version) == [("agency", "approve"), ("talent", "approve")]


def test_an_explicit_commission_overrides_the_agencys_default(represented_twin):
    license = propose(represented_twin, BrandFactory(), agency_commission_pct=Decimal("12.5"))

    assert first_version(license).agency_commission_pct == Decimal("12.5")


@pytest.mark.parametrize(
    ("represented", "party"), [(False, "talent"), (True, "talent"), (True, "agency")]
)
def test_a_decline_declines_the_license(twin, represented_twin, represented, party):
    license = propose(represented_twin if represented else twin, BrandFactory())

    license_decide(
        version=first_version(license), party=party, approve=False, reason="no", now=START
    )

    license.refresh_from_db()
    assert license.status == "declined"
    assert decisions(first_version(license)) == [(party, "decline")]
    assert first_version(license).decisions.get().reason == "no"
    other = {"talent": "agency", "agency": "talent"}[party]
    if represented:  # the other party can no longer approve it
        with pytest.raises(Conflict) as refused:
            license_decide(version=first_version(license), party=other, approve=True, now=START)
        assert refused.value.code == "already_decided"


@pytest.mark.parametrize("party", ["agency", "brand", ""])
def test_a_party_that_is_not_required_is_not_allowed_to_decide(twin, party):
    license = propose(twin, BrandFactory())
    before = written()

    with pytest.raises(NotAllowed) as refused:
        license_decide(version=first_version(license), party=party, approve=True, now=START)

    assert refused.value.code == "not_a_party"
    assert written() == before


@pytest.mark.parametrize("second", [True, False])
def test_deciding_twice_is_a_conflict(represented_twin, second):
    license = propose(represented_twin, BrandFactory())
    license_decide(version=first_version(license), party="talent", approve=True, now=START)
    before = written()

    with pytest.raises(Conflict) as refused:
        license_decide(version=first_version(license), party="talent", approve=second, now=START)

    assert refused.value.code == "already_decided"
    assert written() == before


def test_deciding_an_active_version_again_is_a_conflict(twin):
    license = licensed(twin, BrandFactory())

    with pytest.raises(Conflict) as refused:
        license_decide(version=first_version(license), party="talent", approve=False, now=START)

    assert refused.value.code == "already_decided"
    license.refresh_from_db()
    assert license.status == "active"


# --- amendments ------------------------------------------------------------------------------

AMENDED_AT = datetime(2026, 4, 1, tzinfo=UTC)


def amended_terms():
    return terms(
        channels=["ecommerce", "social", "print", "ooh"],
        rates={"per_publication": {"social": 2500}},
    )


def test_an_amendment_is_version_2_pending_while_version_1_stays_in_force(db):
    s = scenario()

    v2 = license_amend(license=s.license, terms=amended_terms(), now=AMENDED_AT)

    s.license.refresh_from_db()
    assert (v2.version, s.license.status) == (2, "active")
    assert s.license.active_version.version == 1
    with pytest.raises(Conflict) as refused:
        license_amend(license=s.license, terms=amended_terms(), now=AMENDED_AT)
    assert refused.value.code == "amendment_pending"


@pytest.mark.parametrize("represented", [False, True])
def test_an_amendment_applies_to_uses_from_its_activation(db, represented):
    s = scenario(agency=represented)
    asset = s.asset(occurred_at=USE_AT)
    v2 = license_amend(license=s.license, terms=amended_terms(), now=AMENDED_AT - timedelta(days=5))
    license_decide(version=v2, party="talent", approve=True, now=AMENDED_AT)
    if represented:  # not active until the agency agrees too
        assert not LicenseActivation.objects.filter(version=v2).exists()
        license_decide(version=v2, party="agency", approve=True, now=AMENDED_AT)

    def publish(at, channel="social"):
        return s.use("publication", asset_ref=asset.asset_ref, occurred_at=at, channel=channel)

    before = publish(AMENDED_AT - timedelta(seconds=1))
    after = publish(AMENDED_AT)
    ooh_before = publish(AMENDED_AT - timedelta(seconds=1), channel="ooh")
    ooh_after = publish(AMENDED_AT + timedelta(seconds=1), channel="ooh")

    assert (before.event.license_version.version, before.event.gross_minor) == (1, 2000)
    assert (after.event.license_version.version, after.event.gross_minor) == (2, 2500)
    assert (ooh_before.status, ooh_before.error.code) == ("refused", "channel_not_licensed")
    assert ooh_after.status == "accepted" and ooh_after.event.gross_minor == 0
    s.license.refresh_from_db()
    assert s.license.active_version == v2


def test_a_declined_amendment_leaves_the_license_active_on_version_1(db):
    s = scenario()
    v2 = license_amend(license=s.license, terms=amended_terms(), now=AMENDED_AT)

    license_decide(version=v2, party="talent", approve=False, now=AMENDED_AT)

    s.license.refresh_from_db()
    assert (s.license.status, s.license.active_version.version) == ("active", 1)
    v3 = license_amend(license=s.license, terms=amended_terms(), now=AMENDED_AT)
    assert v3.version == 3


def test_a_pending_or_declined_license_cannot_be_amended(twin):
    pending = propose(twin, BrandFactory())
    declined = propose(twin, BrandFactory())
    license_decide(version=first_version(declined), party="talent", approve=False, now=START)

    with pytest.raises(Conflict) as waiting:
        license_amend(license=pending, terms=terms(), now=START)
    with pytest.raises(Conflict) as dead:
        license_amend(license=declined, terms=terms(), now=START)

    assert (waiting.value.code, dead.value.code) == ("amendment_pending", "license_declined")
    assert LicenseVersion.objects.count() == 2


def test_an_amendment_with_invalid_terms_writes_nothing(db):
    s = scenario()

    with pytest.raises(InvalidInput) as refused:
        license_amend(license=s.license, terms=terms(rates={"per_asset": {}}), now=AMENDED_AT)

    assert refused.value.code == "invalid_rates"
    assert s.license.versions.count() == 1


# --- exclusivity -----------------------------------------------------------------------------

EXCLUSIVE = {
    "exclusive": True,
    "exclusivity_category": "apparel",
    "exclusivity_territories": ["FR"],
}


def holder(twin, **overrides):
    """An active license holding exclusivity for apparel in FR through 2026."""
    return licensed(twin, BrandFactory(), **{**EXCLUSIVE, **overrides})


def assert_refused_and_nothing_written(
    license, conflicting, party="talent", at=START + timedelta(days=1)
):
    version = first_version(license)
    before = written()

    with pytest.raises(Refused) as refused:
        license_decide(version=version, party=party, approve=True, now=at)

    assert refused.value.code == "exclusivity_conflict"
    assert f"License {conflicting.pk} " in refused.value.detail
    assert written() == before
    license.refresh_from_db()
    assert (license.status, license.active_version_id) == ("pending", None)
    assert not version.decisions.filter(party=party).exists()


@pytest.mark.parametrize(
    "overrides",
    [
        # the same exclusivity
        {**EXCLUSIVE, "brand_category": "beauty", "territories": ["DE"]},
        # exclusivity in an overlapping territory set
        {
            **EXCLUSIVE,
            "exclusivity_territories": ["DE", "FR"],
            "brand_category": "beauty",
            "territories": ["DE"],
        },
        {**EXCLUSIVE, "exclusivity_territories": ["WW"], "brand_category": "beauty"},
    ],
)
def test_an_overlapping_exclusivity_is_refused_naming_the_holder(twin, overrides):
    held = holder(twin)
    rival = propose(twin, BrandFactory(), **overrides)

    assert_refused_and_nothing_written(rival, held)


@pytest.mark.parametrize(
    "overrides",
    [
        {"brand_category": "apparel", "territories": ["FR"]},
        {"brand_category": "Apparel ", "territories": ["DE", "FR", "US"]},
        {"brand_category": "apparel", "territories": ["WW"]},
    ],
)
def test_a_use_inside_anothers_exclusivity_is_refused(twin, overrides):
    held = holder(twin)
    rival = propose(twin, BrandFactory(), **overrides)

    assert_refused_and_nothing_written(rival, held)


def test_a_worldwide_exclusivity_blocks_every_territory(twin):
    held = holder(twin, exclusivity_territories=["WW"])
    rival = propose(twin, BrandFactory(), territories=["JP"])

    assert_refused_and_nothing_written(rival, held)


def test_the_last_of_two_approvals_is_the_one_refused(represented_twin):
    held = holder(represented_twin)
    rival = propose(represented_twin, BrandFactory(), territories=["FR"])
    license_decide(version=first_version(rival), party="talent", approve=True, now=START)

    assert_refused_and_nothing_written(rival, held, party="agency")
    assert decisions(first_version(rival)) == [("talent", "approve")]


@pytest.mark.parametrize(
    "overrides",
    [
        # another category
        {**EXCLUSIVE, "exclusivity_category": "beauty", "brand_category": "beauty"},
        {"brand_category": "beauty", "territories": ["FR"]},
        # no territory in common
        {**EXCLUSIVE, "exclusivity_territories": ["DE"], "territories": ["DE"]},
        {"brand_category": "apparel", "territories": ["DE", "US"]},
        # no time in common: after the holder's term
        {
            **EXCLUSIVE,
            "starts_at": END + timedelta(days=1),
            "ends_at": END + timedelta(days=90),
        },
        {
            "territories": ["FR"],
            "starts_at": END + timedelta(days=1),
            "ends_at": END + timedelta(days=90),
        },
        # ...or before it (approved once the twin has consent: it was created at START - 31d)
        {
            "territories": ["FR"],
            "starts_at": START - timedelta(days=20),
            "ends_at": START - timedelta(days=1),
        },
    ],
)
def test_no_conflict_without_overlap_in_category_territory_and_time(twin, overrides):
    holder(twin)
    rival = propose(twin, BrandFactory(), **overrides)
    at = overrides.get("starts_at", START)

    license_decide(version=first_version(rival), party="talent", approve=True, now=at)

    rival.refresh_from_db()
    assert rival.status == "active"


def test_only_active_licenses_hold_exclusivity(twin):
    pending = propose(twin, BrandFactory(), **EXCLUSIVE)
    declined = propose(twin, BrandFactory(), **EXCLUSIVE)
    license_decide(version=first_version(declined), party="talent", approve=False, now=START)
    rival = propose(twin, BrandFactory(), territories=["FR"])

    approve_all(first_version(rival), at=START)

    rival.refresh_from_db()
    assert rival.status == "active"
    # SPEC checks a license against other *exclusive* active licenses only: the pending exclusive
    # one may still activate over the rival's (non-exclusive) use.
    approve_all(first_version(pending), at=START)
    pending.refresh_from_db()
    assert pending.status == "active"


def test_other_twins_licenses_do_not_conflict(twin):
    holder(twin)
    other_twin = make_twin(twin.talent)
    rival = propose(other_twin, BrandFactory(), **EXCLUSIVE)

    approve_all(first_version(rival), at=START)

    rival.refresh_from_db()
    assert rival.status == "active"


def test_an_exclusive_license_can_amend_itself(twin):
    held = holder(twin)
    v2 = license_amend(license=held, terms=terms(**EXCLUSIVE), now=AMENDED_AT)

    license_decide(version=v2, party="talent", approve=True, now=AMENDED_AT)

    held.refresh_from_db()
    assert held.active_version == v2


def give_up_exclusivity(held):
    """Version 2 of `held`, not exclusive, in force from AMENDED_AT (version 1 until then)."""
    v2 = license_amend(license=held, terms=terms(), now=AMENDED_AT - timedelta(days=2))
    license_decide(version=v2, party="talent", approve=True, now=AMENDED_AT)


@pytest.mark.parametrize("approved_at", [AMENDED_AT, AMENDED_AT + timedelta(days=1)])
def test_an_exclusivity_given_up_by_amendment_no_longer_blocks(twin, approved_at):
    """A rival in force from `approved_at` never overlaps version 1's exclusivity."""
    give_up_exclusivity(holder(twin))
    rival = propose(twin, BrandFactory(), territories=["FR"], starts_at=START)

    license_decide(version=first_version(rival), party="talent", approve=True, now=approved_at)

    rival.refresh_from_db()
    assert rival.status == "active"


def test_a_rival_overlapping_the_exclusivity_before_it_was_given_up_is_refused(twin):
    held = holder(twin)
    give_up_exclusivity(held)
    rival = propose(twin, BrandFactory(), territories=["FR"], starts_at=START)

    # Approved a day before version 2 took over: in force for a day under version 1's exclusivity.
    assert_refused_and_nothing_written(rival, held, at=AMENDED_AT - timedelta(days=1))


def test_a_rival_approved_while_the_exclusivity_is_in_force_is_refused_even_if_it_ends_soon(twin):
    held = holder(twin, ends_at=AMENDED_AT)
    rival = propose(twin, BrandFactory(), territories=["FR"], starts_at=START)

    assert_refused_and_nothing_written(rival, held)


# --- invalid terms ---------------------------------------------------------------------------

NAIVE = datetime(2026, 1, 1)  # noqa: DTZ001 - deliberately without a time zone


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"ends_at": START - timedelta(days=1)}, "invalid_term", "ends_at"),
        ({"ends_at": START}, "invalid_term", "ends_at"),
        ({"starts_at": NAIVE}, "invalid_datetime", "starts_at"),
        (
            {"rates": {"per_asset": {"tiers": [{"up_to": 100, "unit_minor": 4000}]}}},
            "invalid_rates",
            "rates.per_asset.tiers[0]",
        ),
        ({"rates": {"cpm": {"social": 3.5}}}, "invalid_rates", "rates.cpm.social"),
        ({"rates": {"royalty": 5}}, "invalid_rates", "rates.royalty"),
        ({"rates": "5%"}, "invalid_rates", "rates"),
        ({"agency_commission_pct": Decimal("10")}, "no_agency", "agency_commission_pct"),
        ({"platform_fee_pct": Decimal("100.5")}, "out_of_range", "platform_fee_pct"),
        ({"platform_fee_pct": Decimal("-1")}, "out_of_range", "platform_fee_pct"),
        ({"platform_fee_pct": 10.0}, "invalid_type", "platform_fee_pct"),
        ({"platform_fee_pct": "ten"}, "invalid_type", "platform_fee_pct"),
        ({"platform_fee_pct": Decimal("1.00001")}, "out_of_range", "platform_fee_pct"),
        ({"sell_off_days": -1}, "out_of_range", "sell_off_days"),
        ({"sell_off_days": True}, "invalid_type", "sell_off_days"),
        ({"sell_off_days": "30"}, "invalid_type", "sell_off_days"),
        ({"use_kinds": []}, "required", "use_kinds"),
        ({"use_kinds": ["generation", "cloning"]}, "unknown_kind", "use_kinds"),
        ({"brand_category": " "}, "required", "brand_category"),
        ({"territories": []}, "required", "territories"),
        ({"territories": ["FRA"]}, "invalid_territory", "territories"),
        ({"channels": ["Social!"]}, "invalid_tag", "channels"),
        (
            {"exclusive": True, "exclusivity_category": "", "exclusivity_territories": ["FR"]},
            "invalid_exclusivity",
            "exclusivity_category",
        ),
        (
            {"exclusive": True, "exclusivity_category": "apparel"},
            "invalid_exclusivity",
            "exclusivity_category",
        ),
    ],
)
def test_invalid_terms_are_refused_with_a_code_and_nothing_is_written(twin, overrides, code, field):
    with pytest.raises(InvalidInput) as refused:
        license_propose(
            brand=BrandFactory(), twin=twin, currency="EUR", terms=terms(**overrides), now=START
        )

    assert (refused.value.code, refused.value.field) == (code, field)
    assert written() == dict.fromkeys(written(), 0)


@pytest.mark.parametrize(
    ("commission", "fee"), [(Decimal("80"), Decimal("20.0001")), (Decimal("100"), Decimal("1"))]
)
def test_commission_and_fee_over_100_percent_are_refused(represented_twin, commission, fee):
    with pytest.raises(InvalidInput) as refused:
        propose(
            represented_twin, BrandFactory(), agency_commission_pct=commission, platform_fee_pct=fee
        )

    assert (refused.value.code, refused.value.field) == ("invalid_split", "platform_fee_pct")
    assert written()["licenses"] == 0


def test_the_agency_default_commission_counts_towards_100_percent(represented_twin):
    with pytest.raises(InvalidInput) as refused:
        propose(represented_twin, BrandFactory(), platform_fee_pct=Decimal("81"))

    assert refused.value.code == "invalid_split"


def test_commission_and_fee_of_exactly_100_percent_are_allowed(represented_twin):
    license = propose(
        represented_twin,
        BrandFactory(),
        agency_commission_pct=Decimal("30"),
        platform_fee_pct=Decimal("70"),
    )

    assert license.status == "pending"


@pytest.mark.parametrize("currency", ["XYZ", "eur", "", None, "EURO"])
def test_an_unknown_currency_is_refused_and_nothing_is_written(twin, currency):
    with pytest.raises(InvalidInput) as refused:
        license_propose(
            brand=BrandFactory(), twin=twin, currency=currency, terms=terms(), now=START
        )

    assert (refused.value.code, refused.value.field) == ("unknown_currency", "currency")
    assert written()["licenses"] == 0


@pytest.mark.parametrize("currency", ["JPY", "KWD", "USD"])
def test_any_iso_currency_is_accepted(twin, currency):
    license = license_propose(
        brand=BrandFactory(), twin=twin, currency=currency, terms=terms(), now=START
    )

    assert license.currency == currency


def test_terms_are_stored_cleaned(twin):
    license = propose(
        twin,
        BrandFactory(),
        brand_category=" Apparel ",
        territories=["US", "FR", "US"],
        channels=["Social", "print"],
        exclusive=False,
        exclusivity_category="ignored",
        exclusivity_territories=["FR"],
    )

    v1 = first_version(license)
    assert v1.brand_category == "apparel"
    assert v1.territories == ["FR", "US"]
    assert v1.channels == ["print", "social"]
    assert (v1.exclusive, v1.exclusivity_category, v1.exclusivity_territories) == (False, "", [])
