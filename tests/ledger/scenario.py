"""Licensing scenarios for service tests, built only through the services.

A talent (optionally represented by an agency) owns a twin; a brand holds an active license on
it with chosen terms and rates; `Scenario.use(...)` reports one use. Times are fixed so tests are
deterministic: the license runs through 2026, uses default to mid-March, and every write passes
an explicit `now`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from accounts.models import Agency, Brand, Talent
from ledger.models import (
    Asset,
    ConsentVersion,
    JournalTransaction,
    LedgerAccount,
    License,
    LicenseVersion,
    Posting,
    RefusedAttempt,
    TierCounter,
    Twin,
    UsageEvent,
)
from ledger.selectors.rights import scope_conflicts
from ledger.services.licensing import Terms, license_decide, license_propose
from ledger.services.twins import consent_update, twin_create
from ledger.services.usage import (
    Outcome,
    UsageInput,
    asset_decide,
    usage_record,
    usage_record_batch,
)
from ledger.vocabulary import CHANNELS, DEFAULT_CONSENTED_KINDS, WORLDWIDE
from tests.factories import AgencyFactory, BrandFactory, TalentFactory
from tests.images import attach_image

TWIN_CREATED = datetime(2025, 12, 1, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)
USE_AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # default occurred_at of a use
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # default "now" when recording uses

# First 100 assets of a period at 40.00, every further one at 30.00 (SPEC example).
TIERS = {"tiers": [{"up_to": 100, "unit_minor": 4000}, {"up_to": None, "unit_minor": 3000}]}
RATES: dict[str, Any] = {
    "per_asset": TIERS,
    "per_publication": {"ecommerce": 1500, "social": 2000},
    "cpm": {"social": 333, "ecommerce": 1},
    "revenue_share_pct": "5.5",
}

_ids = itertools.count(1)


def next_id(prefix: str = "ev") -> str:
    return f"{prefix}-{next(_ids)}"


# The scenarios record uses months after they occur (NOW is long after USE_AT): their reporting
# windows are the widest a license may have, so only the tests about late reports (which set
# the license defaults, 72 hours and 45 days) see uses held for being late.
WIDE_WINDOWS = {"producing_report_hours": 366 * 24, "reporting_window_days": 366}


def terms(**overrides: Any) -> Terms:
    """Terms covering every kind but training, three channels, FR/DE/US, all of 2026."""
    base = Terms(
        use_kinds=["generation", "publication", "impressions", "sale"],
        channels=["ecommerce", "social", "print"],
        territories=["FR", "DE", "US"],
        brand_category="apparel",
        starts_at=START,
        ends_at=END,
        rates=RATES,
        platform_fee_pct=Decimal("10"),
        **WIDE_WINDOWS,
    )
    return replace(base, **overrides)


def make_twin(talent: Talent, *, at: datetime = TWIN_CREATED, **consent: Any) -> Twin:
    return twin_create(talent=talent, name="Twin", now=at, **consent)


def approve_all(version: LicenseVersion, *, at: datetime = START) -> LicenseVersion:
    """Every required party approves (talent first, then the agency if any)."""
    license_decide(version=version, party="talent", approve=True, now=at)
    if version.agency_id:
        license_decide(version=version, party="agency", approve=True, now=at)
    return version


def propose(
    twin: Twin,
    brand: Brand,
    *,
    currency: str = "EUR",
    at: datetime = START - timedelta(days=10),
    **term_overrides: Any,
) -> License:
    return license_propose(
        brand=brand, twin=twin, currency=currency, terms=terms(**term_overrides), now=at
    )


def licensed(
    twin: Twin,
    brand: Brand,
    *,
    currency: str = "EUR",
    activated_at: datetime = START,
    **term_overrides: Any,
) -> License:
    """An active license (all parties approved at `activated_at`)."""
    license = propose(twin, brand, currency=currency, **term_overrides)
    approve_all(first_version(license), at=activated_at)
    license.refresh_from_db()
    return license


def first_version(license: License) -> LicenseVersion:
    return license.versions.get(version=1)


@dataclass
class Scenario:
    talent: Talent
    twin: Twin
    brand: Brand
    license: License
    agency: Agency | None = None
    now: datetime = NOW
    defaults: dict[str, Any] = field(default_factory=dict)

    def item(
        self,
        kind: str = "generation",
        *,
        external_id: str | None = None,
        asset_ref: str | None = None,
        channel: str = "social",
        territory: str = "FR",
        occurred_at: datetime = USE_AT,
        quantity: int = 1,
        sale_amount_minor: int | None = None,
        context_tags: Iterable[str] = (),
        license: License | int | None = None,
        content_credential: str = "",
    ) -> UsageInput:
        if kind == "sale" and sale_amount_minor is None:
            sale_amount_minor = 10_000
        license_id = license if isinstance(license, int) else (license or self.license).pk
        return UsageInput(
            external_id=external_id or next_id(),
            license_id=license_id,
            kind=kind,
            asset_ref=asset_ref or next_id("asset"),
            channel=channel,
            territory=territory,
            occurred_at=occurred_at,
            quantity=quantity,
            sale_amount_minor=sale_amount_minor,
            context_tags=tuple(context_tags),
            content_credential=content_credential,
        )

    def use(self, kind: str = "generation", *, now: datetime | None = None, **kw: Any) -> Outcome:
        """Record one use through usage_record."""
        return usage_record(brand=self.brand, item=self.item(kind, **kw), now=now or self.now)

    def batch(self, items: list[UsageInput], *, now: datetime | None = None) -> list[Outcome]:
        return usage_record_batch(brand=self.brand, items=items, now=now or self.now)

    def asset(self, *, approve: bool | None = None, **kw: Any) -> Asset:
        """Generate an asset (accepted) and return it; `approve` decides it when pending."""
        outcome = self.use("generation", **kw)
        assert outcome.status == "accepted", outcome.error
        asset = outcome.event.asset
        if approve is not None:
            if approve and asset.approval == Asset.Approval.PENDING:
                attach_image(asset)  # the talent approves what she has seen
            asset = asset_decide(asset=asset, approve=approve, now=self.now)
        return asset

    def published(self, *, at: datetime = USE_AT, channel: str = "social", **kw: Any) -> Asset:
        """An asset generated and then published at `at` (both accepted)."""
        asset = self.asset(occurred_at=at - timedelta(hours=1), channel=channel, **kw)
        outcome = self.use(
            "publication", asset_ref=asset.asset_ref, occurred_at=at, channel=channel
        )
        assert outcome.status == "accepted", outcome.error
        asset.refresh_from_db()
        return asset

    def account(self, kind: str) -> LedgerAccount | None:
        owner = {
            LedgerAccount.Kind.BRAND_RECEIVABLE: {"brand": self.brand},
            LedgerAccount.Kind.TALENT_PAYABLE: {"talent": self.talent},
            LedgerAccount.Kind.AGENCY_PAYABLE: {"agency": self.agency},
            LedgerAccount.Kind.PLATFORM_REVENUE: {},
        }[kind]
        return LedgerAccount.objects.filter(
            kind=kind, currency=self.license.currency, **owner
        ).first()


def scenario(
    *,
    agency: bool = False,
    currency: str = "EUR",
    consent: dict[str, Any] | None = None,
    activated_at: datetime = START,
    **term_overrides: Any,
) -> Scenario:
    """A talent (with an agency when asked), a twin, a brand, and an active license.

    A license is never approved beyond consent: a `consent` narrower than the terms is given as
    a new consent version at `activated_at`, just after the approval under a first consent that
    covers the terms, so that uses are judged against it from then on.
    """
    agency_obj = AgencyFactory(default_commission_pct=Decimal("20")) if agency else None
    talent = TalentFactory(agency=agency_obj)
    consent = consent or {}
    license_terms = terms(**term_overrides)
    narrower = _narrower_than_terms(consent, license_terms)
    # First a consent that covers the terms (training too when they ask for it).
    wide = {"allowed_kinds": sorted({*DEFAULT_CONSENTED_KINDS, *license_terms.use_kinds})}
    twin = make_twin(talent, **(wide if narrower else consent))
    brand = BrandFactory()
    license = licensed(twin, brand, currency=currency, activated_at=activated_at, **term_overrides)
    if narrower:
        first = twin.consent_versions.get(version=1)
        consent_update(
            twin=twin,
            allowed_kinds=consent.get("allowed_kinds", first.allowed_kinds),
            allowed_channels=consent.get("allowed_channels", first.allowed_channels),
            allowed_territories=consent.get("allowed_territories", first.allowed_territories),
            forbidden_contexts=consent.get("forbidden_contexts", first.forbidden_contexts),
            requires_output_approval=consent.get("requires_output_approval", False),
            note="Narrower than the license",
            now=activated_at,
        )
    return Scenario(talent=talent, twin=twin, brand=brand, license=license, agency=agency_obj)


def _narrower_than_terms(consent: dict[str, Any], license_terms: Terms) -> bool:
    given = ConsentVersion(
        allowed_kinds=consent.get("allowed_kinds", DEFAULT_CONSENTED_KINDS),
        allowed_channels=consent.get("allowed_channels", CHANNELS),
        allowed_territories=consent.get("allowed_territories", [WORLDWIDE]),
        forbidden_contexts=consent.get("forbidden_contexts", []),
    )
    return bool(
        scope_conflicts(
            use_kinds=license_terms.use_kinds,
            channels=license_terms.channels,
            territories=license_terms.territories,
            brand_category=license_terms.brand_category,
            consent=given,
        )
    )


def journal_state() -> dict[str, int]:
    """Counts of everything a use can write: compare before and after to prove nothing was."""
    return {
        "transactions": JournalTransaction.objects.count(),
        "postings": Posting.objects.count(),
        "events": UsageEvent.objects.count(),
        "assets": Asset.objects.count(),
        "tier_units": sum(TierCounter.objects.values_list("units", flat=True)),
    }


def refusal_codes() -> list[str]:
    return list(RefusedAttempt.objects.order_by("pk").values_list("code", flat=True))
