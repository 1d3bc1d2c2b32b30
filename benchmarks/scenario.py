"""The parties, twin, consent and active license the ingest benchmarks report usage against.

Made with the same services the product uses, so the benchmark exercises real data: a talent
represented by an agency (so a rated use posts four legs: brand receivable against talent,
agency and platform), a twin with its default consent, and an active license with a graduated
per-asset rate, plus a brand API key.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

API_KEY_SERVICE = "brand_api_key_create"
API_KEY_SERVICE_MODULES = ("accounts.services", "ledger.services.api_keys", "ledger.services")


@dataclass(frozen=True)
class Scenario:
    brand: object
    twin: object
    licenses: list  # the brand's active licenses of the twin; the load spreads over them
    api_key: str | None  # None while no API-key service exists

    @property
    def license(self):
        return self.licenses[0]


def api_key_service():
    """`brand_api_key_create`, wherever it lives; None when it does not exist (yet)."""
    for name in API_KEY_SERVICE_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        service = getattr(module, API_KEY_SERVICE, None)
        if service is not None:
            return service
    return None


def _raw_key(created) -> str:
    """The secret shown once: the service may return it alone, or as (object, key)."""
    if isinstance(created, str):
        return created
    if isinstance(created, tuple):
        return next(part for part in created if isinstance(part, str))
    for attribute in ("key", "raw_key", "secret"):
        value = getattr(created, attribute, None)
        if isinstance(value, str):
            return value
    raise TypeError(f"Cannot find the raw key in {created!r}")


def scenario_create(*, now: datetime | None = None, licenses: int = 1) -> Scenario:
    """`licenses` identical, non-exclusive licenses of one brand on one twin.

    One license is the hot spot a single busy campaign makes: its per-asset tier counter row is
    locked by every rated generation until commit. Several show what the same load does when it
    is spread over licenses (several campaigns, brands or twins).
    """
    from accounts import services as accounts
    from accounts.models import BrandMembership
    from ledger.services.licensing import Terms, license_decide, license_propose
    from ledger.services.twins import twin_create

    now = now or timezone.now()
    agency = accounts.agency_create(
        name="Bench Agency", country="FR", default_commission_pct=Decimal("15")
    )
    talent = accounts.talent_create(
        user=accounts.user_create(email="talent@bench.example", password="bench"),
        legal_name="Bench Talent",
        country="FR",
        default_currency="EUR",
        agency=agency,
    )
    brand_user = accounts.user_create(email="brand@bench.example", password="bench")
    brand = accounts.brand_create(
        name="Bench Brand",
        legal_name="Bench Brand SAS",
        billing_email="billing@bench.example",
        country="FR",
        currency="EUR",
        tax_rate_pct=Decimal("20"),
        members=[(brand_user, BrandMembership.Role.ADMIN)],
    )
    twin = twin_create(talent=talent, name="Bench Twin", now=now - timedelta(days=2))
    made = []
    for _ in range(licenses):
        license = license_propose(
            brand=brand,
            twin=twin,
            currency="EUR",
            terms=Terms(
                use_kinds=["generation", "publication", "impressions"],
                channels=["social", "ecommerce"],
                territories=["WW"],
                brand_category="apparel",
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=365),
                rates={
                    "per_asset": {
                        "tiers": [
                            {"up_to": 100, "unit_minor": 4000},
                            {"up_to": None, "unit_minor": 3000},
                        ]
                    }
                },
                platform_fee_pct=Decimal("20"),
            ),
            now=now - timedelta(days=2),
        )
        version = license.versions.get(version=1)
        for party in ("talent", "agency"):
            license_decide(version=version, party=party, approve=True, now=now - timedelta(days=2))
        license.refresh_from_db()
        made.append(license)

    service = api_key_service()
    api_key = None
    if service is not None:
        api_key = _raw_key(service(brand=brand, name="bench"))
    return Scenario(brand=brand, twin=twin, licenses=made, api_key=api_key)
