"""`manage.py seed_demo`: loads the demo data once; a second run changes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count, Sum
from django.test import RequestFactory
from django.utils import timezone
from PIL import Image

from accounts.models import Agency, AgencyMembership, Brand, BrandMembership, Talent, User
from ledger.models import (
    Asset,
    AssetImage,
    ConsentVersion,
    JournalTransaction,
    LateReport,
    License,
    LicenseDecision,
    LicenseVersion,
    Posting,
    RefusedAttempt,
    TierCounter,
    Twin,
    UsageEvent,
)
from ledger.selectors.history import with_license_history
from ledger.selectors.licensing import consent_history, consent_in_force
from ledger.selectors.rights import mark_rights, version_conflicts
from ledger.services import demo
from ledger.services.demo import ADMIN_EMAIL, DEMO_DAYS, DEMO_LOGINS, DEMO_PASSWORD, seed_demo


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list]:
    return {
        "users": sorted(
            User.objects.values_list("email", "is_staff", "is_superuser", "is_finance")
        ),
        "agencies": sorted(Agency.objects.values_list("id", "name")),
        "agency_members": sorted(AgencyMembership.objects.values_list("id", "role")),
        "talents": sorted(Talent.objects.values_list("id", "legal_name", "agency_id")),
        "brands": sorted(Brand.objects.values_list("id", "name", "currency")),
        "brand_members": sorted(BrandMembership.objects.values_list("id", "role")),
        "twins": sorted(Twin.objects.values_list("id", "name")),
        "consent_versions": ConsentVersion.objects.count(),
        "licenses": sorted(License.objects.values_list("id", "status", "active_version_id")),
        "license_versions": LicenseVersion.objects.count(),
        "decisions": LicenseDecision.objects.count(),
        "assets": sorted(Asset.objects.values_list("id", "approval")),
        "images": sorted(AssetImage.objects.values_list("asset_id", "sha256")),
        "uses": UsageEvent.objects.count(),
        "transactions": JournalTransaction.objects.count(),
        "postings": Posting.objects.count(),
        "refusals": RefusedAttempt.objects.count(),
        "tier_units": sorted(
            TierCounter.objects.values_list("license_id", "period_start", "units")
        ),
    }


def test_seed_demo_creates_the_demo_parties_and_prints_the_logins(db):
    output = seed()

    assert "Demo data loaded" in output
    for login in DEMO_LOGINS:
        assert login.email in output
    assert DEMO_PASSWORD in output

    admin = User.objects.get(email=ADMIN_EMAIL)
    assert admin.is_superuser and admin.is_staff
    finance = User.objects.get(email="finance@twinledger.test")
    assert finance.is_finance and finance.is_staff and not finance.is_superuser

    agency = Agency.objects.get(name="Maison Agency")
    assert list(agency.members.values_list("email", flat=True)) == ["agency@twinledger.test"]

    assert Talent.objects.count() == 3
    assert agency.talents.count() == 2
    assert Talent.objects.filter(agency__isnull=True).count() == 1

    brands = dict(Brand.objects.values_list("name", "currency"))
    assert brands == {"Atelier Nord": "EUR", "Lumen Apparel": "USD"}
    for brand in Brand.objects.all():
        assert brand.members.count() == 1


def test_every_demo_login_works_with_the_demo_password(db):
    seed()

    assert set(User.objects.values_list("email", flat=True)) == {
        login.email for login in DEMO_LOGINS
    }
    for login in DEMO_LOGINS:
        assert (
            authenticate(
                RequestFactory().post("/login/"), username=login.email, password=DEMO_PASSWORD
            )
            is not None
        ), login.email


def test_a_second_seed_creates_nothing_and_says_already_loaded(db):
    seed()
    before = snapshot()

    output = seed()

    assert "already loaded" in output
    assert snapshot() == before


RATE_TYPES = {
    "per_asset",
    "per_publication",
    "cpm",
    "revenue_share_pct",
    "flat_fee_minor",
    "minimum_guarantee_minor",
    "advance_minor",
}


def test_seed_demo_loads_twins_with_consent_and_licenses_of_every_rate_type(db):
    seed()

    twins = {twin.name: twin for twin in Twin.objects.all()}
    assert len(twins) >= 3
    current = {
        name: twin.consent_versions.order_by("-version").first() for name, twin in twins.items()
    }
    assert any(c.requires_output_approval for c in current.values())
    assert any({"political", "tobacco"} <= set(c.forbidden_contexts) for c in current.values())
    assert any(twin.consent_versions.count() > 1 for twin in twins.values())  # history to show
    assert all(
        "training" not in twin.consent_versions.get(version=1).allowed_kinds
        for twin in twins.values()
    )

    licenses = License.objects.select_related("active_version", "brand")
    assert {license.brand.name for license in licenses} == {"Atelier Nord", "Lumen Apparel"}
    assert {license.currency for license in licenses} == {"EUR", "USD"}
    statuses = Counter(license.status for license in licenses)
    assert statuses["pending"] >= 1 and statuses["active"] >= 4
    versions = LicenseVersion.objects.all()
    assert {key for version in versions for key in version.rates} == RATE_TYPES
    assert any(v.exclusive and v.license.status == "active" for v in versions)
    # Represented talents' licenses carry both approvals; the pending one none.
    for license in licenses.filter(status="active"):
        parties = set(license.active_version.decisions.values_list("party", flat=True))
        assert parties == ({"talent", "agency"} if license.active_version.agency_id else {"talent"})
    pending = licenses.get(status="pending")
    assert not pending.versions.get().decisions.exists()


def test_seed_demo_loads_three_months_of_uses_and_some_refused_attempts(db):
    before = timezone.now()
    output = seed()

    uses = UsageEvent.objects.all()
    assert 2000 <= uses.count() <= 5000
    assert f"{uses.count()} uses" in output
    assert set(uses.values_list("kind", flat=True)) == {
        "generation",
        "publication",
        "impressions",
        "sale",
    }
    first, last = (
        uses.order_by(f).values_list("occurred_at", flat=True)[0]
        for f in ("occurred_at", "-occurred_at")
    )
    assert before - timedelta(days=DEMO_DAYS + 1) <= first
    assert last <= timezone.now()
    assert last - first >= timedelta(days=DEMO_DAYS - 2)
    months = {d.strftime("%Y-%m") for d in uses.values_list("period_start", flat=True)}
    assert len(months) >= 3

    # Every active license is used; the pending one never is.
    for license in License.objects.annotate(n=Count("uses")):
        assert (license.n > 0) == (license.status == "active"), license

    # Money: priced uses posted, the ledger balanced, tiers crossed somewhere.
    priced = uses.exclude(gross_minor=0)
    assert priced.count() == uses.exclude(transaction=None).count() > 1000
    # Plus one advance, charged when its license was activated.
    advances = JournalTransaction.objects.filter(kind="advance")
    assert advances.count() == 1
    assert JournalTransaction.objects.count() == priced.count() + 1
    assert Posting.objects.aggregate(total=Sum("amount_minor"))["total"] == 0
    tiers_used = {
        line.get("tier")
        for rating in uses.filter(kind="generation").values_list("rating", flat=True)
        for line in rating["lines"]
    }
    assert {1, 2} <= tiers_used

    # Outputs awaiting approval were decided: most approved, some rejected, a few pending.
    approvals = Counter(Asset.objects.values_list("approval", flat=True))
    assert approvals["approved"] > approvals["rejected"] > 0 and approvals["pending"] > 0

    # The talent approved images she saw: every approved asset has one, drawn by the seed; a few
    # wait for Inès with their image, one (the runway draft) still waits for its image.
    approved = Asset.objects.filter(approval="approved")
    assert not approved.filter(image__isnull=True).exists()
    ines_pending = Asset.objects.filter(
        approval="pending", twin__talent__user__email__startswith="ines"
    )
    assert ines_pending.filter(image__isnull=False).exists()
    assert ines_pending.filter(image__isnull=True, asset_ref="runway-draft").exists()
    image = AssetImage.objects.filter(asset__in=ines_pending).first()
    assert (image.format, image.width, image.height) == ("JPEG", 480, 600)
    with image.original.open("rb") as stored:
        assert Image.open(stored).size == (480, 600)

    refusals = RefusedAttempt.objects.all()
    assert {
        "context_forbidden",
        "channel_not_licensed",
        "asset_not_approved",
        "territory_not_consented",
        "license_inactive",
    } <= set(refusals.values_list("code", flat=True))
    assert all(r.twin_id is not None for r in refusals)  # the talent sees them
    assert not refusals.exclude(external_id__startswith="demo-").exists()

    # Two late reports wait for Inès: one reported after the window, one after a narrowing.
    held = LateReport.objects.filter(decision__isnull=True)
    assert set(held.values_list("reason", flat=True)) == {
        "reported_late",
        "consent_changed_since",
    }
    assert {r.twin.talent.user.email for r in held} == {"ines@twinledger.test"}
    # The daily traffic itself was reported on time: nothing else is held.
    assert LateReport.objects.count() == 2


def test_a_seed_interrupted_during_the_uses_completes_on_the_next_run(db, monkeypatch):
    weeks = 0
    real_end_of_week = demo._end_of_week

    def crash_after_three_weeks(stream, rng):
        nonlocal weeks
        weeks += 1
        if weeks > 3 * len(demo.TRAFFIC):
            raise RuntimeError("killed")
        real_end_of_week(stream, rng)

    monkeypatch.setattr(demo, "_end_of_week", crash_after_three_weeks)
    with pytest.raises(RuntimeError):
        seed_demo()
    partial = UsageEvent.objects.count()
    assert partial > 0 and not RefusedAttempt.objects.exists()

    monkeypatch.setattr(demo, "_end_of_week", real_end_of_week)
    statuses: Counter[str] = Counter()
    real_batch = demo.usage_record_batch

    def counting_batch(**kwargs):
        outcomes = real_batch(**kwargs)
        statuses.update(o.status for o in outcomes)
        return outcomes

    monkeypatch.setattr(demo, "usage_record_batch", counting_batch)
    result = seed_demo()

    # The rerun regenerated the same traffic: what was written is replayed, never in conflict.
    assert statuses["conflict"] == 0
    assert statuses["replayed"] == partial
    assert result.created and result.uses == UsageEvent.objects.count() - partial
    assert RefusedAttempt.objects.count() == result.refused
    again = snapshot()
    assert seed_demo().created is False
    assert snapshot() == again


def test_demo_licenses_fit_consent_when_approved_and_one_is_narrowed_since(db):
    seed()

    licenses = list(with_license_history(License.objects.select_related("brand", "twin")))
    histories = consent_history({license.twin_id for license in licenses})
    for license in licenses:
        for version in license.versions.all():
            activation = getattr(version, "activation", None)
            if activation is not None:
                in_force = consent_in_force(histories[license.twin_id], activation.activated_at)
                assert version_conflicts(version, in_force) == [], license
    now = timezone.now()
    mark_rights(licenses, now=now)
    narrowed = [x for x in licenses if x.rights.effective.state == "narrowed"]
    assert [(x.brand.name, x.twin.name) for x in narrowed] == [(demo.LUMEN, demo.KOFI_TWIN)]
    (kofi,) = narrowed
    assert kofi.rights.effective.removed_territories == ["JP"]
    assert kofi.rights.effective.territories == ["GB", "US"]
    since = kofi.rights.effective.narrowed_since
    assert now - timedelta(days=demo.KOFI_NARROWED_DAYS + 1) < since < now - timedelta(days=29)
