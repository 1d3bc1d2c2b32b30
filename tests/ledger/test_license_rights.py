"""A license never grants more than the twin's consent (SPEC "Licenses"): each proposal's conflicts
with the consent in force, named per right; no approval while any remains; effective rights
(terms ∩ consent) with since when consent narrowed them, or the revocation and its sell-off."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from ledger.errors import ConsentConflictRefused
from ledger.models import License, LicenseActivation, LicenseDecision
from ledger.selectors.history import with_license_history
from ledger.selectors.rights import mark_rights, territory_intersection
from ledger.services.licensing import license_amend, license_decide
from ledger.services.twins import consent_revoke, consent_update
from ledger.vocabulary import CHANNELS, DEFAULT_CONSENTED_KINDS
from tests.factories import AgencyFactory, BrandFactory, TalentFactory
from tests.ledger.scenario import START, first_version, licensed, make_twin, propose, terms

pytestmark = pytest.mark.django_db

NO_SOCIAL = [c for c in CHANNELS if c != "social"]


def consent(twin, at, **changes):
    """A new consent version at `at`: the defaults (no training, every channel, WW) changed."""
    values = {
        "allowed_kinds": DEFAULT_CONSENTED_KINDS,
        "allowed_channels": CHANNELS,
        "allowed_territories": ["WW"],
        "forbidden_contexts": [],
        "requires_output_approval": False,
        **changes,
    }
    return consent_update(twin=twin, now=at, **values)


def rights(license, at):
    (loaded,) = with_license_history(License.objects.filter(pk=license.pk))
    mark_rights([loaded], now=at)
    return loaded.rights


def written() -> tuple[int, int]:
    return LicenseDecision.objects.count(), LicenseActivation.objects.count()


@pytest.fixture
def twin():
    """Consent forbids training (the default) and, since before the proposal, social."""
    twin = make_twin(TalentFactory())
    consent(twin, START - timedelta(days=20), allowed_channels=NO_SOCIAL)
    return twin


@pytest.fixture
def represented_twin():
    twin = make_twin(TalentFactory(agency=AgencyFactory(default_commission_pct=Decimal("20"))))
    consent(twin, START - timedelta(days=20), allowed_channels=NO_SOCIAL)
    return twin


def training_and_social(twin):
    return propose(
        twin,
        BrandFactory(),
        use_kinds=["generation", "training"],
        channels=["social", "ecommerce"],
        rates={},
    )


# --- conflicts and approval ------------------------------------------------------------------


def test_a_proposal_beyond_consent_is_created_with_each_conflict_named(twin):
    license = training_and_social(twin)

    assert license.status == "pending"
    found = rights(license, START)
    assert found.pending_version == 1
    assert [(c.right, c.value) for c in found.conflicts] == [
        ("training", "training"),
        ("channel", "social"),
    ]
    assert all(c.detail for c in found.conflicts)


def test_the_talent_cannot_approve_training_and_social_that_consent_forbids(twin):
    license = training_and_social(twin)
    before = written()

    with pytest.raises(ConsentConflictRefused) as refused:
        license_decide(version=first_version(license), party="talent", approve=True, now=START)

    assert refused.value.code == "consent_conflict" and refused.value.status == 422
    assert [(c["right"], c["value"]) for c in refused.value.conflicts] == [
        ("training", "training"),
        ("channel", "social"),
    ]
    assert "training" in refused.value.detail and "'social'" in refused.value.detail
    assert written() == before
    license.refresh_from_db()
    assert license.status == "pending"


def test_the_agency_cannot_approve_a_conflicting_version_either(represented_twin):
    license = training_and_social(represented_twin)
    before = written()

    with pytest.raises(ConsentConflictRefused) as refused:
        license_decide(version=first_version(license), party="agency", approve=True, now=START)

    assert {c["right"] for c in refused.value.conflicts} == {"training", "channel"}
    assert written() == before


def test_declining_a_conflicting_version_is_still_possible(twin):
    license = training_and_social(twin)

    license_decide(version=first_version(license), party="talent", approve=False, now=START)

    license.refresh_from_db()
    assert license.status == "declined"


def test_after_the_talent_widens_consent_the_license_can_be_approved(twin):
    license = training_and_social(twin)
    consent(twin, START - timedelta(hours=1), allowed_kinds=[*DEFAULT_CONSENTED_KINDS, "training"])

    assert rights(license, START).conflicts == []
    license_decide(version=first_version(license), party="talent", approve=True, now=START)

    license.refresh_from_db()
    assert license.status == "active"
    assert rights(license, START).effective.state == "full"


def test_an_amendment_beyond_consent_is_listed_and_cannot_be_approved(twin):
    held = licensed(twin, BrandFactory(), channels=["ecommerce"])
    at = START + timedelta(days=2)
    amendment = license_amend(license=held, terms=terms(channels=["ecommerce", "social"]), now=at)

    found = rights(held, at)
    assert found.pending_version == 2
    assert [(c.right, c.value) for c in found.conflicts] == [("channel", "social")]
    assert found.effective.state == "full"  # the terms in force (version 1) fit consent
    with pytest.raises(ConsentConflictRefused):
        license_decide(version=amendment, party="talent", approve=True, now=at)


def test_the_check_is_made_against_the_consent_in_force_at_approval(db):
    twin = make_twin(TalentFactory())
    license = propose(twin, BrandFactory(), channels=["social"])
    assert rights(license, START - timedelta(days=10)).conflicts == []
    consent(twin, START - timedelta(days=1), allowed_channels=NO_SOCIAL)

    with pytest.raises(ConsentConflictRefused) as refused:
        license_decide(version=first_version(license), party="talent", approve=True, now=START)

    assert [(c["right"], c["value"]) for c in refused.value.conflicts] == [("channel", "social")]


@pytest.mark.parametrize(
    ("consented", "overrides", "expected"),
    [
        ({"allowed_territories": ["FR", "DE"]}, {"territories": ["WW"]}, [("territory", "WW")]),
        ({"allowed_territories": ["FR", "DE"]}, {"territories": ["FR", "JP"]}, [("territory", "JP")]),
        ({"allowed_territories": ["WW"]}, {"territories": ["FR", "JP"]}, []),
        ({"forbidden_contexts": ["alcohol"]}, {"brand_category": "alcohol"}, [("context", "alcohol")]),
        ({"allowed_kinds": ["generation"]}, {"use_kinds": ["generation", "sale"]}, [("kind", "sale")]),
    ],
)  # fmt: skip
def test_conflicts_per_territory_context_and_kind(db, consented, overrides, expected):
    twin = make_twin(TalentFactory())
    consent(twin, START - timedelta(days=20), **consented)
    license = propose(twin, BrandFactory(), **overrides)

    assert [(c.right, c.value) for c in rights(license, START).conflicts] == expected


def test_nothing_can_be_approved_while_consent_is_revoked(db):
    twin = make_twin(TalentFactory())
    license = propose(twin, BrandFactory())
    consent_revoke(twin=twin, now=START - timedelta(days=1))

    with pytest.raises(ConsentConflictRefused) as refused:
        license_decide(version=first_version(license), party="talent", approve=True, now=START)

    assert [(c["right"], c["value"]) for c in refused.value.conflicts] == [("consent", "revoked")]


# --- effective rights ------------------------------------------------------------------------


def test_territory_intersection_respects_worldwide():
    assert territory_intersection(["WW"], ["FR", "DE"]) == ["DE", "FR"]
    assert territory_intersection(["FR", "JP"], ["WW"]) == ["FR", "JP"]
    assert territory_intersection(["FR", "JP"], ["DE", "FR"]) == ["FR"]
    assert territory_intersection(["WW"], ["WW"]) == ["WW"]


def test_an_active_license_within_consent_has_its_terms_as_effective_rights(db):
    twin = make_twin(TalentFactory())
    license = licensed(twin, BrandFactory())

    effective = rights(license, START + timedelta(days=5)).effective

    assert effective.state == "full"
    assert effective.kinds == ["generation", "publication", "impressions", "sale"]
    assert effective.channels == ["ecommerce", "print", "social"]
    assert effective.territories == ["DE", "FR", "US"]
    assert effective.narrowed_since is None and effective.revoked_at is None


def test_a_narrowing_shows_the_effective_rights_and_since_when(db):
    twin = make_twin(TalentFactory())
    license = licensed(twin, BrandFactory())
    narrowed_at = START + timedelta(days=40)
    consent(twin, narrowed_at, allowed_channels=NO_SOCIAL, allowed_territories=["FR", "DE"])

    before = rights(license, narrowed_at - timedelta(seconds=1)).effective
    after = rights(license, narrowed_at + timedelta(days=3)).effective

    assert before.state == "full"
    assert after.state == "narrowed"
    assert after.narrowed_since == narrowed_at
    assert after.channels == ["ecommerce", "print"] and after.removed_channels == ["social"]
    assert after.territories == ["DE", "FR"] and after.removed_territories == ["US"]
    assert after.kinds == ["generation", "publication", "impressions", "sale"]

    # A further narrowing keeps "since" at the first; widening back ends the narrowing.
    consent(twin, narrowed_at + timedelta(days=5), allowed_channels=["print"])
    further = rights(license, narrowed_at + timedelta(days=6)).effective
    assert further.narrowed_since == narrowed_at and further.channels == ["print"]
    consent(twin, narrowed_at + timedelta(days=7))
    assert rights(license, narrowed_at + timedelta(days=8)).effective.state == "full"


def test_a_forbidden_brand_category_narrows_the_license(db):
    twin = make_twin(TalentFactory())
    license = licensed(twin, BrandFactory(), brand_category="spirits")
    consent(twin, START + timedelta(days=2), forbidden_contexts=["spirits"])

    effective = rights(license, START + timedelta(days=3)).effective

    assert effective.state == "narrowed" and effective.category_forbidden
    assert effective.forbidden_contexts == ["spirits"]


def test_a_revocation_shows_the_sell_off_date_and_leaves_only_sell_off_uses(db):
    twin = make_twin(TalentFactory())
    license = licensed(twin, BrandFactory(), sell_off_days=30)
    revoked_at = START + timedelta(days=50)
    consent_revoke(twin=twin, now=revoked_at)

    during = rights(license, revoked_at + timedelta(days=10)).effective
    assert during.state == "revoked"
    assert during.revoked_at == revoked_at
    assert during.sell_off_until == revoked_at + timedelta(days=30)
    assert during.in_sell_off and during.kinds == ["impressions", "sale"]

    after = rights(license, revoked_at + timedelta(days=31)).effective
    assert after.state == "revoked" and not after.in_sell_off
    assert after.kinds == [] and after.channels == [] and after.territories == []


def test_a_pending_license_has_no_effective_rights_yet(twin):
    assert rights(training_and_social(twin), START).effective.state == "not_active"


def test_rights_of_a_page_of_licenses_take_one_query_for_every_consent_history(
    db, django_assert_num_queries
):
    licenses = []
    for _ in range(4):
        twin = make_twin(TalentFactory())
        licenses.append(licensed(twin, BrandFactory()))
        consent(twin, START + timedelta(days=3), allowed_channels=NO_SOCIAL)
    loaded = list(with_license_history(License.objects.filter(pk__in=[x.pk for x in licenses])))

    with django_assert_num_queries(1):
        mark_rights(loaded, now=START + timedelta(days=4))

    assert {license.rights.effective.state for license in loaded} == {"narrowed"}
