"""Party-creation services: they create what they say, and refuse bad input writing nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Agency, AgencyMembership, Brand, BrandMembership, Talent, User
from accounts.services import agency_create, brand_create, talent_create, user_create

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    models = [User, Agency, AgencyMembership, Talent, Brand, BrandMembership]
    return {model.__name__: model.objects.count() for model in models}


def make_user(email: str = "someone@example.test", **flags) -> User:
    return user_create(email=email, password="pw-for-tests", **flags)


def brand_kwargs(**overrides) -> dict:
    return {
        "name": "Atelier Test",
        "legal_name": "Atelier Test SAS",
        "billing_email": "billing@atelier.test",
        "country": "FR",
        "currency": "EUR",
        "tax_rate_pct": Decimal("20"),
        **overrides,
    }


def talent_kwargs(user: User, **overrides) -> dict:
    return {
        "user": user,
        "legal_name": "Ada Model",
        "country": "FR",
        "default_currency": "EUR",
        **overrides,
    }


# user_create


def test_user_create_stores_a_lowercased_email_and_a_usable_hashed_password():
    user = user_create(email="Ada@Example.TEST", password="s3cret-pass", full_name="Ada")

    user.refresh_from_db()
    assert user.email == "ada@example.test"
    assert user.full_name == "Ada"
    assert user.password != "s3cret-pass"
    assert user.check_password("s3cret-pass")
    assert (user.is_staff, user.is_superuser, user.is_finance) == (False, False, False)


def test_user_create_sets_role_flags_and_a_superuser_is_always_staff():
    finance = make_user("finance@example.test", is_finance=True, is_staff=True)
    admin = make_user("admin@example.test", is_superuser=True)

    assert (finance.is_finance, finance.is_staff, finance.is_superuser) == (True, True, False)
    assert (admin.is_staff, admin.is_superuser) == (True, True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"email": "not-an-email", "password": "pw-for-tests"},
        {"email": "", "password": "pw-for-tests"},
        {"email": "ok@example.test", "password": ""},
    ],
    ids=["bad-email", "no-email", "no-password"],
)
def test_user_create_refuses_bad_input_and_writes_nothing(kwargs):
    before = counts()

    with pytest.raises(ValidationError):
        user_create(**kwargs)

    assert counts() == before


def test_user_create_refuses_an_email_that_differs_only_in_case():
    make_user("ada@example.test")
    before = counts()

    with pytest.raises(ValidationError):
        make_user("ADA@example.test")

    assert counts() == before


# agency_create


def test_agency_create_creates_the_agency_with_its_members_and_roles():
    owner, staff = make_user("owner@example.test"), make_user("staff@example.test")

    agency = agency_create(
        name="Maison Test",
        country="FR",
        default_commission_pct=Decimal("17.5"),
        members=[(owner, AgencyMembership.Role.ADMIN), (staff, AgencyMembership.Role.MEMBER)],
    )

    agency.refresh_from_db()
    assert (agency.name, agency.country, agency.default_commission_pct) == (
        "Maison Test",
        "FR",
        Decimal("17.5"),
    )
    roles = dict(AgencyMembership.objects.filter(agency=agency).values_list("user__email", "role"))
    assert roles == {"owner@example.test": "admin", "staff@example.test": "member"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"country": "France"},
        {"country": "fr"},
        {"default_commission_pct": Decimal("100.01")},
        {"default_commission_pct": Decimal("-1")},
    ],
    ids=["country-name", "lowercase-country", "commission-over-100", "negative-commission"],
)
def test_agency_create_refuses_bad_input_and_writes_nothing(overrides):
    before = counts()

    with pytest.raises(ValidationError):
        agency_create(
            **{"name": "Bad Agency", "country": "FR", "default_commission_pct": Decimal("20")}
            | overrides
        )

    assert counts() == before


def test_agency_create_with_a_bad_member_role_writes_neither_agency_nor_members():
    good, bad = make_user("good@example.test"), make_user("bad@example.test")
    before = counts()

    with pytest.raises(ValidationError):
        agency_create(
            name="Half Made",
            country="FR",
            default_commission_pct=Decimal("20"),
            members=[(good, AgencyMembership.Role.ADMIN), (bad, "overlord")],
        )

    assert counts() == before


def test_agency_create_refuses_a_duplicate_name():
    agency_create(name="Maison Test", country="FR", default_commission_pct=Decimal("20"))
    before = counts()

    with pytest.raises(ValidationError):
        agency_create(name="Maison Test", country="BE", default_commission_pct=Decimal("10"))

    assert counts() == before


def test_percentages_as_floats_are_a_programming_error():
    with pytest.raises(TypeError):
        agency_create(name="Float Agency", country="FR", default_commission_pct=20.0)
    assert not Agency.objects.exists()


# talent_create


def test_talent_create_links_the_user_and_the_representing_agency():
    agency = agency_create(name="Maison Test", country="FR", default_commission_pct=Decimal("20"))
    user = make_user()

    talent = talent_create(
        **talent_kwargs(user),
        agency=agency,
        display_name="Ada",
        withholding_pct=Decimal("12.5"),
    )

    talent.refresh_from_db()
    assert talent.user == user
    assert talent.agency == agency
    assert list(agency.talents.all()) == [talent]
    assert (talent.display_name, talent.default_currency, talent.withholding_pct) == (
        "Ada",
        "EUR",
        Decimal("12.5"),
    )
    assert not talent.can_receive_payouts


def test_talent_create_independent_talent_has_no_agency_and_no_withholding():
    talent = talent_create(**talent_kwargs(make_user(), default_currency="JPY", country="JP"))

    assert talent.agency is None
    assert talent.withholding_pct == Decimal("0")
    assert talent.default_currency == "JPY"


@pytest.mark.parametrize(
    "overrides",
    [
        {"country": "XYZ"},
        {"default_currency": "EURO"},
        {"default_currency": "ABC"},
        {"withholding_pct": Decimal("101")},
        {"legal_name": ""},
    ],
    ids=["bad-country", "bad-currency-format", "unknown-currency", "pct-over-100", "no-name"],
)
def test_talent_create_refuses_bad_input_and_writes_nothing(overrides):
    user = make_user()
    before = counts()

    with pytest.raises(ValidationError):
        talent_create(**talent_kwargs(user, **overrides))

    assert counts() == before


def test_a_user_can_be_only_one_talent():
    user = make_user()
    talent_create(**talent_kwargs(user))

    with pytest.raises(ValidationError):
        talent_create(**talent_kwargs(user, legal_name="Ada Again"))

    assert Talent.objects.count() == 1


# brand_create


def test_brand_create_creates_the_brand_with_billing_details_and_members():
    admin, billing = make_user("admin@brand.test"), make_user("ap@brand.test")

    brand = brand_create(
        **brand_kwargs(
            currency="USD",
            country="US",
            tax_rate_pct=Decimal("8.875"),
            payment_terms_days=45,
            vat_number="US-123",
        ),
        members=[(admin, BrandMembership.Role.ADMIN), (billing, BrandMembership.Role.BILLING)],
    )

    brand.refresh_from_db()
    assert (brand.currency, brand.country, brand.tax_rate_pct, brand.payment_terms_days) == (
        "USD",
        "US",
        Decimal("8.875"),
        45,
    )
    assert brand.vat_number == "US-123"
    roles = dict(BrandMembership.objects.filter(brand=brand).values_list("user__email", "role"))
    assert roles == {"admin@brand.test": "admin", "ap@brand.test": "billing"}


def test_brand_create_defaults_to_thirty_day_terms():
    assert brand_create(**brand_kwargs()).payment_terms_days == 30


@pytest.mark.parametrize(
    "overrides",
    [
        {"country": "F"},
        {"currency": "usd"},
        {"currency": "XXX"},
        {"tax_rate_pct": Decimal("-0.01")},
        {"tax_rate_pct": Decimal("250")},
        {"billing_email": "not-an-email"},
        {"payment_terms_days": 366},
    ],
    ids=[
        "bad-country",
        "lowercase-currency",
        "unknown-currency",
        "negative-tax",
        "tax-over-100",
        "bad-billing-email",
        "terms-over-a-year",
    ],
)
def test_brand_create_refuses_bad_input_and_writes_nothing(overrides):
    before = counts()

    with pytest.raises(ValidationError):
        brand_create(**brand_kwargs(**overrides))

    assert counts() == before


def test_brand_create_with_a_bad_member_role_writes_neither_brand_nor_members():
    user = make_user()
    before = counts()

    with pytest.raises(ValidationError):
        brand_create(**brand_kwargs(), members=[(user, "owner")])

    assert counts() == before
