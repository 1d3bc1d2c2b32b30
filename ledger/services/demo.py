"""Demo data for `make run`: a few parties to click through, loaded exactly once.

Demo data only: every demo user shares DEMO_PASSWORD, which is published in the README.
Later issues grow this with twins, licenses and usage.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction

from accounts.models import AgencyMembership, BrandMembership, User
from accounts.services import agency_create, brand_create, talent_create, user_create

DEMO_PASSWORD = "twinledger-demo"
ADMIN_EMAIL = "admin@twinledger.test"

# pg_advisory_xact_lock key ("DEMO" in ASCII): two concurrent seeds load the data once, and the
# second sees the first's admin user instead of failing on a unique constraint.
SEED_LOCK_KEY = 0x44454D4F


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    role: str


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin(ADMIN_EMAIL, "admin (superuser)"),
    DemoLogin("finance@twinledger.test", "finance (staff)"),
    DemoLogin("agency@twinledger.test", "agency admin · Maison Agency"),
    DemoLogin("ines@twinledger.test", "talent · Inès Moreau (Maison Agency)"),
    DemoLogin("kofi@twinledger.test", "talent · Kofi Mensah (Maison Agency)"),
    DemoLogin("mai@twinledger.test", "talent · Mai Tanaka (independent)"),
    DemoLogin("atelier@twinledger.test", "brand admin · Atelier Nord (EUR)"),
    DemoLogin("lumen@twinledger.test", "brand admin · Lumen Apparel (USD)"),
)


@dataclass(frozen=True, slots=True)
class SeedResult:
    created: bool


def seed_demo() -> SeedResult:
    """Load the demo parties unless they are there already (the admin user is the marker)."""
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEED_LOCK_KEY])
        if User.objects.filter(email=ADMIN_EMAIL).exists():
            return SeedResult(created=False)

        def demo_user(email: str, full_name: str, **flags: bool) -> User:
            return user_create(email=email, password=DEMO_PASSWORD, full_name=full_name, **flags)

        demo_user(ADMIN_EMAIL, "Demo Admin", is_superuser=True)
        demo_user("finance@twinledger.test", "Farah Finance", is_finance=True, is_staff=True)

        agency = agency_create(
            name="Maison Agency",
            country="FR",
            default_commission_pct=Decimal("20"),
            members=[
                (
                    demo_user("agency@twinledger.test", "Claire Dubois"),
                    AgencyMembership.Role.ADMIN,
                )
            ],
        )

        talent_create(
            user=demo_user("ines@twinledger.test", "Inès Moreau"),
            legal_name="Inès Moreau",
            display_name="Inès",
            country="FR",
            default_currency="EUR",
            agency=agency,
        )
        talent_create(
            user=demo_user("kofi@twinledger.test", "Kofi Mensah"),
            legal_name="Kofi Mensah",
            country="GB",
            default_currency="GBP",
            agency=agency,
            withholding_pct=Decimal("20"),
        )
        talent_create(
            user=demo_user("mai@twinledger.test", "Mai Tanaka"),
            legal_name="Mai Tanaka",
            country="JP",
            default_currency="JPY",
        )

        brand_create(
            name="Atelier Nord",
            legal_name="Atelier Nord SAS",
            billing_email="billing@ateliernord.test",
            country="FR",
            vat_number="FR00123456789",
            currency="EUR",
            tax_rate_pct=Decimal("20"),
            members=[
                (demo_user("atelier@twinledger.test", "Sofie Lund"), BrandMembership.Role.ADMIN)
            ],
        )
        brand_create(
            name="Lumen Apparel",
            legal_name="Lumen Apparel Inc.",
            billing_email="ap@lumenapparel.test",
            country="US",
            currency="USD",
            tax_rate_pct=Decimal("8.875"),
            payment_terms_days=45,
            members=[
                (demo_user("lumen@twinledger.test", "Jordan Reyes"), BrandMembership.Role.ADMIN)
            ],
        )
        return SeedResult(created=True)
