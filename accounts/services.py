"""Writes for people and parties (HackSoft style: `<entity>_<action>`, keyword-only, typed).

Every service validates with `full_clean()` before it saves, so a bad country, currency or
percentage raises `django.core.exceptions.ValidationError` and, because each runs inside
`transaction.atomic`, nothing of a refused call is written (a party is never left half-made
without its members). They are not durable: a caller such as `seed_demo` may group several into
one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import (
    Agency,
    AgencyMembership,
    Brand,
    BrandAPIKey,
    BrandMembership,
    Talent,
    User,
    normalize_login_email,
)

Percent = Decimal | int | str


def _percent(value: Percent) -> Percent:
    # Same rule as ledger.money: a float cannot hold 12.5 % exactly, so it is a programming error.
    if isinstance(value, float):
        raise TypeError("Percentages must be Decimal, int or str, never float.")
    return value


def user_create(
    *,
    email: str,
    password: str,
    full_name: str = "",
    is_finance: bool = False,
    is_staff: bool = False,
    is_superuser: bool = False,
) -> User:
    """Create a user who logs in with `email` (stored lower-cased).

    Password strength is the entry point's concern (sign-up form, admin); here it must only be
    non-empty, so demo and test users can share one simple password. A superuser is always staff
    (otherwise they could not open the admin).
    """
    if not password:
        raise ValidationError({"password": "A password is required."})
    with transaction.atomic():
        user = User(
            email=normalize_login_email(email),
            full_name=full_name,
            is_finance=is_finance,
            is_staff=is_staff or is_superuser,
            is_superuser=is_superuser,
        )
        user.set_password(password)
        user.full_clean()
        user.save()
        return user


def agency_create(
    *,
    name: str,
    country: str,
    default_commission_pct: Percent,
    members: Sequence[tuple[User, str]] = (),
) -> Agency:
    """Create an agency and its memberships; `members` are (user, AgencyMembership.Role) pairs."""
    with transaction.atomic():
        agency = Agency(
            name=name,
            country=country,
            default_commission_pct=_percent(default_commission_pct),
        )
        agency.full_clean()
        agency.save()
        for user, role in members:
            membership = AgencyMembership(agency=agency, user=user, role=role)
            membership.full_clean()
            membership.save()
        return agency


def talent_create(
    *,
    user: User,
    legal_name: str,
    country: str,
    default_currency: str,
    agency: Agency | None = None,
    display_name: str = "",
    withholding_pct: Percent = Decimal("0"),
) -> Talent:
    """Make `user` a talent, represented by `agency` when given."""
    with transaction.atomic():
        talent = Talent(
            user=user,
            legal_name=legal_name,
            display_name=display_name,
            country=country,
            default_currency=default_currency,
            withholding_pct=_percent(withholding_pct),
            agency=agency,
        )
        talent.full_clean()
        talent.save()
        return talent


def brand_create(
    *,
    name: str,
    legal_name: str,
    billing_email: str,
    country: str,
    currency: str,
    tax_rate_pct: Percent,
    payment_terms_days: int = 30,
    billing_address: str = "",
    vat_number: str = "",
    members: Sequence[tuple[User, str]] = (),
) -> Brand:
    """Create a brand and its memberships; `members` are (user, BrandMembership.Role) pairs."""
    with transaction.atomic():
        brand = Brand(
            name=name,
            legal_name=legal_name,
            billing_email=billing_email,
            billing_address=billing_address,
            country=country,
            vat_number=vat_number,
            currency=currency,
            tax_rate_pct=_percent(tax_rate_pct),
            payment_terms_days=payment_terms_days,
        )
        brand.full_clean()
        brand.save()
        for user, role in members:
            membership = BrandMembership(brand=brand, user=user, role=role)
            membership.full_clean()
            membership.save()
        return brand


def brand_api_key_create(
    *, brand: Brand, name: str, by: User | None = None
) -> tuple[BrandAPIKey, str]:
    """A new API key for `brand`: returns the row and the raw key, which is never stored.

    Only the SHA-512 of the key is kept, so the caller must hand the raw key to the brand now;
    a lost key is revoked and replaced, not recovered.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "An API key needs a name."})
    with transaction.atomic():
        key = BrandAPIKey(brand=brand, name=name, created_by=by)
        raw = BrandAPIKey.objects.assign_key(key)
        key.full_clean()
        key.save(force_insert=True)
        return key, raw


def brand_api_key_revoke(*, key: BrandAPIKey) -> BrandAPIKey:
    """Revoke `key` for good; revoking a revoked key changes nothing."""
    BrandAPIKey.objects.filter(pk=key.pk, revoked=False).update(revoked=True)
    key.refresh_from_db()
    return key


def second_factor_device(*, user: User) -> TOTPDevice:
    """The user's TOTP device: the confirmed one, else a pending one to enrol (made once)."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).get()  # one pending device, not two
        device = TOTPDevice.objects.filter(user=user).order_by(
            "-confirmed", "pk"
        ).first() or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def second_factor_check(*, device: TOTPDevice, token: str) -> bool:
    """Whether `token` is the device's current code; a first good code confirms enrolment.

    django-otp throttles the device itself: each failure doubles the wait before the next try.
    """
    token = (token or "").strip().replace(" ", "")
    if not (token.isdigit() and len(token) == device.digits) or not device.verify_token(token):
        return False
    if not device.confirmed:
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        device.confirmed = True
    return True
