"""`manage.py seed_demo`: loads the demo parties once; a second run changes nothing."""

from __future__ import annotations

from io import StringIO

from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import Agency, AgencyMembership, Brand, BrandMembership, Talent, User
from ledger.services.demo import ADMIN_EMAIL, DEMO_LOGINS, DEMO_PASSWORD


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
        assert authenticate(username=login.email, password=DEMO_PASSWORD) is not None, login.email


def test_a_second_seed_creates_nothing_and_says_already_loaded(db):
    seed()
    before = snapshot()

    output = seed()

    assert "already loaded" in output
    assert snapshot() == before
