"""People and parties: users log in by email; talents, agencies and brands are the parties."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey

from ledger.fields import CurrencyField

PERCENT_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
COUNTRY_VALIDATOR = RegexValidator(r"^[A-Z]{2}$", "Use an ISO 3166-1 alpha-2 code, e.g. FR.")


def percent_field(default: str = "0", **kwargs) -> models.DecimalField:
    return models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=Decimal(default),
        validators=PERCENT_VALIDATORS,
        **kwargs,
    )


def normalize_login_email(value: str | None) -> str:
    """The one form of an email as an identity: stripped and lower-cased.

    Stored emails, login lookups and the failed-login lockout (AXES_USERNAME_CALLABLE) all go
    through it, so `KOFI@x.test ` is the same person everywhere, lockout included.
    """
    return (value or "").strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_login_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        # Emails are stored lower-cased (a check constraint holds it): log in in any case.
        return self.get(email=normalize_login_email(username))

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address. Roles come from memberships and `is_finance`."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the Django admin.")
    is_finance = models.BooleanField(
        default=False, help_text="Platform finance: closes periods, exports, runs payouts."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            # Lower-case only, so the unique index on email is also case-insensitive.
            models.CheckConstraint(condition=Q(email=Lower("email")), name="user_email_lowercase")
        ]

    def __str__(self) -> str:
        return self.email


class Agency(models.Model):
    """Represents talents and earns a commission on their licenses."""

    name = models.CharField(max_length=200, unique=True)
    country = models.CharField(max_length=2, validators=[COUNTRY_VALIDATOR])
    default_commission_pct = percent_field("20")
    withholding_pct = percent_field()
    stripe_account_id = models.CharField(max_length=64, blank=True)
    payouts_enabled = models.BooleanField(default=False)
    members = models.ManyToManyField(User, through="AgencyMembership", related_name="agencies")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class AgencyMembership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "user"], name="agency_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.agency} ({self.role})"


class Talent(models.Model):
    """A model: owns digital twins and is paid for every use of them."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="talent")
    legal_name = models.CharField(max_length=200)
    display_name = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, validators=[COUNTRY_VALIDATOR])
    default_currency = CurrencyField(default="EUR")
    withholding_pct = percent_field(help_text="Set by finance; withheld from each statement.")
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="talents"
    )
    stripe_account_id = models.CharField(max_length=64, blank=True)
    payouts_enabled = models.BooleanField(
        default=False, help_text="Set from Stripe: the connected account can receive transfers."
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.display_name or self.legal_name

    @property
    def can_receive_payouts(self) -> bool:
        return bool(self.stripe_account_id) and self.payouts_enabled


class Brand(models.Model):
    """Licenses twins, reports their use and receives invoices."""

    name = models.CharField(max_length=200, unique=True)
    legal_name = models.CharField(max_length=200)
    billing_email = models.EmailField()
    billing_address = models.TextField(blank=True)
    country = models.CharField(max_length=2, validators=[COUNTRY_VALIDATOR])
    vat_number = models.CharField(max_length=32, blank=True)
    currency = CurrencyField(default="EUR")
    tax_rate_pct = percent_field()
    payment_terms_days = models.PositiveSmallIntegerField(
        default=30, validators=[MaxValueValidator(365)]
    )
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    members = models.ManyToManyField(User, through="BrandMembership", related_name="brands")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class BrandMembership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"  # manages API keys and members
        MEMBER = "member", "Member"  # logs usage, requests licenses
        BILLING = "billing", "Billing"  # sees invoices

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "user"], name="brand_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.brand} ({self.role})"


class BrandAPIKey(AbstractAPIKey):
    """A brand's key for the usage API. Only a hash is stored; the key is shown once at creation.

    The key reads `<prefix>.<secret>`: the prefix finds the row, the SHA-512 of the whole key
    must match `hashed_key`. A revoked key stays revoked (the library refuses to un-revoke).
    """

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="api_keys")
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "brand API key"
        verbose_name_plural = "brand API keys"
