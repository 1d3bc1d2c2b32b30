"""The licensing and usage records show in the admin, read-only, for staff with the finance role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from ledger.models import Asset, License, RefusedAttempt, Twin, UsageEvent
from ledger.services.licensing import Terms, license_decide, license_propose
from ledger.services.twins import twin_create
from ledger.services.usage import UsageInput, usage_record_batch
from tests.factories import BrandFactory, TalentFactory, UserFactory
from tests.logins import login

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def usage():
    brand = BrandFactory()
    twin = twin_create(talent=TalentFactory(), name="Twin", now=NOW - timedelta(days=30))
    license = license_propose(
        brand=brand,
        twin=twin,
        currency="EUR",
        now=NOW - timedelta(days=20),
        terms=Terms(
            use_kinds=["generation"],
            channels=["social"],
            territories=["WW"],
            brand_category="apparel",
            starts_at=NOW - timedelta(days=15),
            ends_at=NOW + timedelta(days=300),
            rates={"per_asset": {"tiers": [{"up_to": None, "unit_minor": 4000}]}},
            platform_fee_pct=Decimal("10"),
        ),
    )
    license_decide(
        version=license.versions.get(), party="talent", approve=True, now=NOW - timedelta(days=14)
    )
    usage_record_batch(
        brand=brand,
        now=NOW,
        items=[
            UsageInput("e1", license.pk, "generation", "a1", "social", "FR", NOW, 1),
            UsageInput("e2", license.pk, "generation", "a2", "tv", "FR", NOW, 1),
        ],
    )
    assert UsageEvent.objects.count() == RefusedAttempt.objects.count() == 1


@pytest.mark.usefixtures("usage")
@pytest.mark.parametrize("model", [Twin, License, Asset, UsageEvent, RefusedAttempt])
def test_finance_sees_licensing_and_usage_records_read_only(client, model):
    login(client, UserFactory(is_finance=True, is_staff=True))
    meta = model._meta
    changelist = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert changelist.status_code == 200
    obj = model.objects.first()
    change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {}).status_code == 403
    add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
    assert client.get(add).status_code == 403
