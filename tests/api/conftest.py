"""The parties and licenses the API tests act on, built through the services, with clients
authenticated the way real callers are (an Api-Key header; a session login for people).

    brand A  --license LA (active)-->  twin TA of talent A (independent, requires no approval)
    brand B  --license LB (active)-->  twin TA (same twin, a competitor)
    brand A  --license LC (active)-->  twin TC of talent C (represented by agency G)
    talent B owns twin TB, licensed to nobody

Times are relative to the real clock: the API records uses at `timezone.now()`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AgencyMembership, Brand, BrandAPIKey, BrandMembership, Talent, User
from accounts.services import brand_api_key_create
from ledger.models import (
    Asset,
    ConsentVersion,
    JournalTransaction,
    License,
    LicenseDecision,
    LicenseVersion,
    Posting,
    RefusedAttempt,
    Twin,
    UsageEvent,
)
from ledger.services.licensing import Terms, license_decide, license_propose
from ledger.services.twins import twin_create
from tests.factories import AgencyFactory, BrandFactory, TalentFactory, UserFactory
from tests.logins import login

RATES = {
    "per_asset": {
        "tiers": [{"up_to": 100, "unit_minor": 4000}, {"up_to": None, "unit_minor": 3000}]
    },
    "per_publication": {"social": 2000, "ecommerce": 1500},
    "cpm": {"social": 350},
    "revenue_share_pct": "5",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def terms(now, **overrides: Any) -> Terms:
    values = {
        "use_kinds": ["generation", "publication", "impressions", "sale"],
        "channels": ["social", "ecommerce"],
        "territories": ["FR", "DE", "US"],
        "brand_category": "apparel",
        "starts_at": now - timedelta(days=30),
        "ends_at": now + timedelta(days=365),
        "rates": RATES,
        "platform_fee_pct": Decimal("10"),
        **overrides,
    }
    return Terms(**values)


def active_license(brand: Brand, twin: Twin, now, **overrides: Any) -> License:
    license = license_propose(
        brand=brand,
        twin=twin,
        currency="EUR",
        terms=terms(now, **overrides),
        now=now - timedelta(days=31),
    )
    version = license.versions.get()
    license_decide(version=version, party="talent", approve=True, now=now - timedelta(days=30))
    if version.agency_id:
        license_decide(version=version, party="agency", approve=True, now=now - timedelta(days=30))
    license.refresh_from_db()
    return license


@dataclass
class World:
    now: Any
    brand_a: Brand
    brand_b: Brand
    key_a: BrandAPIKey
    raw_a: str
    key_b: BrandAPIKey
    raw_b: str
    brand_a_user: User
    brand_b_user: User
    talent_a: Talent
    talent_b: Talent
    talent_c: Talent
    agency_user: User
    other_agency_user: User
    finance: User
    twin_a: Twin
    twin_b: Twin
    twin_c: Twin
    license_a: License
    license_b: License
    license_c: License

    def event(self, **overrides: Any) -> dict[str, Any]:
        """A valid generation event on license A (brand A)."""
        body = {
            "external_id": unique("ev"),
            "license": self.license_a.pk,
            "kind": "generation",
            "asset_ref": unique("asset"),
            "channel": "social",
            "territory": "FR",
            "occurred_at": (self.now - timedelta(hours=1)).isoformat(),
            "quantity": 1,
        }
        body.update(overrides)
        return body


@pytest.fixture(autouse=True)
def _clear_throttle_counts():
    cache.clear()
    yield
    cache.clear()


def member(model_membership, party, role) -> User:
    user = UserFactory()
    model_membership.objects.create(user=user, role=role, **party)
    return user


@pytest.fixture
def world(db) -> World:
    return build_world()


def build_world() -> World:
    now = timezone.now()
    brand_a, brand_b = BrandFactory(), BrandFactory()
    key_a, raw_a = brand_api_key_create(brand=brand_a, name="ci")
    key_b, raw_b = brand_api_key_create(brand=brand_b, name="ci")
    agency = AgencyFactory()
    other_agency = AgencyFactory()
    talent_a, talent_b = TalentFactory(), TalentFactory()
    talent_c = TalentFactory(agency=agency)
    created = now - timedelta(days=60)
    twin_a = twin_create(talent=talent_a, name="Twin A", now=created)
    twin_b = twin_create(talent=talent_b, name="Twin B", now=created)
    twin_c = twin_create(talent=talent_c, name="Twin C", now=created)
    return World(
        now=now,
        brand_a=brand_a,
        brand_b=brand_b,
        key_a=key_a,
        raw_a=raw_a,
        key_b=key_b,
        raw_b=raw_b,
        brand_a_user=member(BrandMembership, {"brand": brand_a}, BrandMembership.Role.MEMBER),
        brand_b_user=member(BrandMembership, {"brand": brand_b}, BrandMembership.Role.ADMIN),
        talent_a=talent_a,
        talent_b=talent_b,
        talent_c=talent_c,
        agency_user=member(AgencyMembership, {"agency": agency}, AgencyMembership.Role.ADMIN),
        other_agency_user=member(
            AgencyMembership, {"agency": other_agency}, AgencyMembership.Role.ADMIN
        ),
        finance=UserFactory(is_finance=True),
        twin_a=twin_a,
        twin_b=twin_b,
        twin_c=twin_c,
        license_a=active_license(brand_a, twin_a, now),
        license_b=active_license(brand_b, twin_a, now),
        license_c=active_license(brand_a, twin_c, now),
    )


def key_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def user_client(user: User) -> APIClient:
    """A person's session client; finance and staff with their second factor passed."""
    return login(APIClient(), user)


@pytest.fixture
def brand_a(world) -> APIClient:
    return key_client(world.raw_a)


@pytest.fixture
def brand_b(world) -> APIClient:
    return key_client(world.raw_b)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def post_json(client: APIClient, url: str, body: Any):
    """POST a JSON document exactly as given (numbers stay numbers, 1.0 stays a float)."""
    return client.post(url, data=json.dumps(body), content_type="application/json")


def put_json(client: APIClient, url: str, body: Any):
    return client.put(url, data=json.dumps(body), content_type="application/json")


WRITE_MODELS = (
    JournalTransaction,
    Posting,
    UsageEvent,
    RefusedAttempt,
    Asset,
    License,
    LicenseVersion,
    LicenseDecision,
    Twin,
    ConsentVersion,
)


def snapshot() -> dict[str, int]:
    """Row counts of everything the API can write: equal before and after = nothing written."""
    return {model.__name__: model.objects.count() for model in WRITE_MODELS}


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"code", "detail", "field"}, body
    assert body["code"] == code, body
    assert body["detail"], body
    if field is not None:
        assert body["field"] == field, body
    return body
