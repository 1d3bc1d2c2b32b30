"""The hand-written reads of the usage path (ledger.selectors.rows and its callers) give the
same instances, field for field and relation for relation, as the ORM queries they replace."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import BrandAPIKey
from ledger.models import Asset, ConsentVersion, LedgerAccount, License, LicenseVersion, UsageEvent
from ledger.selectors.api_keys import api_key_by_prefix
from ledger.selectors.intake import assets_by_ref, events_by_external_id, licenses_by_id
from ledger.selectors.licensing import activated_versions, consent_history
from ledger.services.postings import AccountCache
from tests.ledger.scenario import scenario

pytestmark = pytest.mark.django_db


def fields_of(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def assert_same(raw, orm) -> None:
    assert type(raw) is type(orm)
    assert fields_of(raw) == fields_of(orm)
    assert raw._state.adding is False and raw._state.db == "default"


def no_queries(read) -> None:
    with CaptureQueriesContext(connection) as queries:
        read()
    assert not queries, [q["sql"] for q in queries]


def test_licenses_with_twin_and_talent_and_only_the_brands_own():
    s = scenario(agency=True)
    other = scenario()

    found = licenses_by_id(s.brand.pk, [s.license.pk, other.license.pk])

    assert list(found) == [s.license.pk]  # another brand's license is not found
    license = found[s.license.pk]
    orm = License.objects.select_related("twin__talent").get(pk=s.license.pk)
    assert_same(license, orm)
    no_queries(lambda: (license.twin, license.twin.talent))
    assert_same(license.twin, orm.twin)
    assert_same(license.twin.talent, orm.twin.talent)


def test_activated_versions_with_activation_and_agency():
    s = scenario(agency=True)
    bare = scenario()  # no agency: the outer join finds none

    found = activated_versions([s.license.pk, bare.license.pk])

    for license in (s.license, bare.license):
        orm = list(
            LicenseVersion.objects.filter(license=license, activation__isnull=False)
            .select_related("activation", "agency")
            .order_by("-version")
        )
        raw = found[license.pk]
        assert len(raw) == len(orm) > 0
        for version, expected in zip(raw, orm, strict=True):
            assert_same(version, expected)
            assert isinstance(version.rates, dict)  # jsonb parsed as the ORM parses it
            no_queries(lambda v=version: (v.activation, v.agency))
            assert_same(version.activation, expected.activation)
            if expected.agency is None:
                assert version.agency is None
            else:
                assert_same(version.agency, expected.agency)
    assert found[bare.license.pk][0].agency is None


def test_consent_history_newest_first():
    s = scenario()
    found = consent_history([s.twin.pk])
    orm = list(ConsentVersion.objects.filter(twin=s.twin).order_by("-effective_from", "-version"))
    assert len(found[s.twin.pk]) == len(orm) > 0
    for raw, expected in zip(found[s.twin.pk], orm, strict=True):
        assert_same(raw, expected)


def test_assets_and_events_of_the_brand_only():
    s = scenario(agency=True)
    other = scenario()
    mine = s.use(external_id="shared-id", asset_ref="shared-ref")
    theirs = other.use(external_id="shared-id", asset_ref="shared-ref")
    assert mine.status == theirs.status == "accepted"

    assets = assets_by_ref(s.brand.pk, ["shared-ref", "unknown"])
    events = events_by_external_id(s.brand.pk, ["shared-id", "unknown"])

    assert list(assets) == ["shared-ref"] and list(events) == ["shared-id"]
    assert_same(assets["shared-ref"], Asset.objects.get(pk=mine.event.asset_id))
    event = events["shared-id"]
    assert_same(event, UsageEvent.objects.get(pk=mine.event.pk))
    assert isinstance(event.rating, dict) and event.rating["lines"]


def test_accounts_loaded_for_a_batch_are_the_posting_accounts():
    s = scenario(agency=True)
    assert s.use().status == "accepted"  # makes the accounts
    cache = AccountCache()
    cache.load(
        currencies={"EUR"}, brands={s.brand.pk}, talents={s.talent.pk}, agencies={s.agency.pk}
    )

    def read():
        return [
            cache.get(LedgerAccount.Kind.BRAND_RECEIVABLE, "EUR", brand=s.brand),
            cache.get(LedgerAccount.Kind.TALENT_PAYABLE, "EUR", talent=s.talent),
            cache.get(LedgerAccount.Kind.AGENCY_PAYABLE, "EUR", agency=s.agency),
            cache.get(LedgerAccount.Kind.PLATFORM_REVENUE, "EUR"),
        ]

    with CaptureQueriesContext(connection) as queries:
        loaded = read()
    assert not queries  # all four came from the one load
    for account in loaded:
        assert_same(account, s.account(account.kind))
    assert {a.kind for a in loaded} == {
        "brand_receivable",
        "talent_payable",
        "agency_payable",
        "platform_revenue",
    }


def test_api_key_by_prefix_skips_revoked_keys():
    from accounts.services import brand_api_key_create

    s = scenario()
    created = brand_api_key_create(brand=s.brand, name="k")
    raw_key = (
        created if isinstance(created, str) else next(p for p in created if isinstance(p, str))
    )
    prefix = raw_key.partition(".")[0]

    key = api_key_by_prefix(prefix)

    orm = BrandAPIKey.objects.select_related("brand").get(prefix=prefix)
    assert_same(key, orm)
    no_queries(lambda: key.brand)
    assert_same(key.brand, orm.brand)
    assert key.is_valid(raw_key)
    BrandAPIKey.objects.filter(pk=orm.pk).update(revoked=True)
    assert api_key_by_prefix(prefix) is None
    assert api_key_by_prefix("no-such-prefix") is None
