"""Demo data for `make run`: parties, twins, licenses and three months of uses, loaded once.

Demo data only: every demo user shares DEMO_PASSWORD, which is published in the README.

Two stages, under one session-level advisory lock so that concurrent seeds load everything once:
1. parties, twins with their consent, and licenses (every rate type; one exclusive, one pending),
   in one durable transaction, unless the admin user exists already;
2. uses over the DEMO_DAYS before the moment stage 1 ran, through `usage_record_batch` (durable
   batches of its own, so outside stage 1's transaction), deterministic (fixed random seed), each
   day's uses reported the next morning, with a few refused attempts and two late reports held
   for Inès at the end. Stage 2 is done when its final event exists; an interrupted
   stage 2 completes on the next run without doubling anything (uses are idempotent on their
   external_id, and refused attempts already kept are not sent again).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AgencyMembership, Brand, BrandMembership, Talent, User
from accounts.services import agency_create, brand_create, talent_create, user_create
from ledger.images import image_decode
from ledger.models import Asset, AssetImage, License, RefusedAttempt, Twin, UsageEvent
from ledger.services.demo_images import demo_image
from ledger.services.images import asset_image_attach
from ledger.services.licensing import Terms, license_decide, license_propose
from ledger.services.twins import consent_update, twin_create
from ledger.services.usage import MAX_BATCH, UsageInput, asset_decide, usage_record_batch
from ledger.vocabulary import CHANNELS, DEFAULT_CONSENTED_KINDS

DEMO_PASSWORD = "twinledger-demo"
ADMIN_EMAIL = "admin@twinledger.test"

# Advisory lock key ("DEMO" in ASCII): two concurrent seeds load the data once, and the second
# sees the first's data instead of failing on a unique constraint or doubling the uses.
SEED_LOCK_KEY = 0x44454D4F

DEMO_SEED = 20260101  # the random seed of the demo traffic
DEMO_DAYS = 90  # uses cover the three months before the seed ran
TWIN_AGE = timedelta(days=120)  # twins were "created" this long before the seed ran
CHUNK_DAYS = 7  # uses are sent a week at a time; the talent decides pending outputs in between
KOFI_NARROWED_DAYS = 30  # Kofi took Japan out of his consent this long before the seed ran
REPORTED_AFTER = timedelta(days=1, hours=1)  # each day's uses are reported the next morning
FINAL_EXTERNAL_ID = "demo-final"  # the last use written: stage 2 is complete when it exists

ATELIER, LUMEN = "Atelier Nord", "Lumen Apparel"
INES_STUDIO, INES_RUNWAY, KOFI_TWIN, MAI_TWIN = (
    "Inès — Studio",
    "Inès — Runway",
    "Kofi — Everyday",
    "Mai — Beauty",
)


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    role: str


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin(ADMIN_EMAIL, "admin (superuser; /admin/, second factor)"),
    DemoLogin("finance@twinledger.test", "finance (staff; second factor)"),
    DemoLogin("agency@twinledger.test", "agency admin · Maison Agency"),
    DemoLogin("ines@twinledger.test", "talent · Inès Moreau (Maison Agency)"),
    DemoLogin("kofi@twinledger.test", "talent · Kofi Mensah (Maison Agency)"),
    DemoLogin("mai@twinledger.test", "talent · Mai Tanaka (independent)"),
    DemoLogin("atelier@twinledger.test", "brand admin · Atelier Nord (EUR)"),
    DemoLogin("lumen@twinledger.test", "brand admin · Lumen Apparel (USD)"),
)


@dataclass(frozen=True, slots=True)
class SeedResult:
    created: bool  # anything new was written
    uses: int = 0  # uses accepted by this run
    refused: int = 0  # refused attempts kept by this run


def seed_demo() -> SeedResult:
    """Load the demo data unless it is there already; a second run writes nothing."""
    with _seed_lock():
        parties = _seed_parties(timezone.now().replace(minute=0, second=0, microsecond=0))
        uses, refused = _seed_uses()
    return SeedResult(created=parties or bool(uses or refused), uses=uses, refused=refused)


@contextmanager
def _seed_lock() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [SEED_LOCK_KEY])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SEED_LOCK_KEY])


# --- stage 1: parties, twins, licenses --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LicenseSpec:
    brand: str
    twin: str
    currency: str
    terms: dict[str, Any]
    approved: bool = True


def _license_specs() -> list[_LicenseSpec]:
    return [
        # Exclusive in apparel in France; tiers: the first 100 assets a month at 40.00, then 30.00.
        _LicenseSpec(
            ATELIER,
            INES_STUDIO,
            "EUR",
            {
                "use_kinds": ["generation", "publication"],
                "channels": ["ecommerce", "social", "print"],
                "territories": ["FR", "BE", "DE"],
                "brand_category": "apparel",
                "rates": {
                    "per_asset": {
                        "tiers": [
                            {"up_to": 100, "unit_minor": 4000},
                            {"up_to": None, "unit_minor": 3000},
                        ]
                    },
                    "per_publication": {"ecommerce": 1500, "social": 2000, "print": 4500},
                },
                "exclusive": True,
                "exclusivity_category": "apparel",
                "exclusivity_territories": ["FR"],
            },
        ),
        # Same twin, same category, a competitor: allowed, its territories miss France.
        _LicenseSpec(
            LUMEN,
            INES_STUDIO,
            "USD",
            {
                "use_kinds": ["generation", "publication", "impressions", "sale"],
                "channels": ["social", "video", "ecommerce"],
                "territories": ["US", "CA"],
                "brand_category": "apparel",
                "rates": {"cpm": {"social": 350, "video": 520}, "revenue_share_pct": "5.5"},
            },
        ),
        # Output approval required by the twin's consent; a monthly holding fee.
        _LicenseSpec(
            ATELIER,
            INES_RUNWAY,
            "EUR",
            {
                "use_kinds": ["generation", "publication"],
                "channels": ["print", "social"],
                "territories": ["FR"],
                "brand_category": "luxury",
                "rates": {
                    "per_asset": {"tiers": [{"up_to": None, "unit_minor": 2500}]},
                    "per_publication": {"print": 5000, "social": 2500},
                    "flat_fee_minor": 50000,
                },
            },
        ),
        # Three tiers, CPM, revenue share and a minimum guarantee. Japan was licensed within
        # Kofi's consent; he has since taken Japan out of it (KOFI_NARROWED_DAYS ago): the license
        # is narrowed, and uses there are refused (territory_not_consented).
        _LicenseSpec(
            LUMEN,
            KOFI_TWIN,
            "USD",
            {
                "use_kinds": ["generation", "publication", "impressions", "sale"],
                "channels": ["social", "ecommerce"],
                "territories": ["US", "GB", "JP"],
                "brand_category": "sportswear",
                "rates": {
                    "per_asset": {
                        "tiers": [
                            {"up_to": 50, "unit_minor": 3500},
                            {"up_to": 200, "unit_minor": 2800},
                            {"up_to": None, "unit_minor": 2000},
                        ]
                    },
                    "cpm": {"social": 400},
                    "revenue_share_pct": "7.5",
                    "minimum_guarantee_minor": 200000,
                },
                "agency_commission_pct": Decimal("15"),
            },
        ),
        # An advance, recouped from later uses (charged by the period close).
        _LicenseSpec(
            ATELIER,
            KOFI_TWIN,
            "EUR",
            {
                "use_kinds": ["generation", "publication"],
                "channels": ["ecommerce", "print"],
                "territories": ["GB", "FR", "DE"],
                "brand_category": "eyewear",
                "rates": {
                    "per_asset": {
                        "tiers": [
                            {"up_to": 100, "unit_minor": 3000},
                            {"up_to": None, "unit_minor": 2200},
                        ]
                    },
                    "per_publication": {"ecommerce": 1200},
                    "advance_minor": 300000,
                },
            },
        ),
        # An independent talent: no agency commission.
        _LicenseSpec(
            ATELIER,
            MAI_TWIN,
            "EUR",
            {
                "use_kinds": ["generation", "publication", "impressions"],
                "channels": ["social", "video"],
                "territories": ["JP", "FR"],
                "brand_category": "beauty",
                "rates": {
                    "per_asset": {
                        "tiers": [
                            {"up_to": 20, "unit_minor": 6000},
                            {"up_to": None, "unit_minor": 4500},
                        ]
                    },
                    "cpm": {"social": 300, "video": 450},
                },
                "platform_fee_pct": Decimal("12.5"),
            },
        ),
        # Awaiting Mai's approval: training with a flat fee.
        _LicenseSpec(
            LUMEN,
            MAI_TWIN,
            "USD",
            {
                "use_kinds": ["generation", "training"],
                "channels": ["social"],
                "territories": ["WW"],
                "brand_category": "beauty",
                "rates": {"flat_fee_minor": 150000},
            },
            approved=False,
        ),
    ]


def _seed_parties(now: datetime) -> bool:
    """Stage 1 in one durable transaction; False when it ran before."""
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEED_LOCK_KEY])
        if User.objects.filter(email=ADMIN_EMAIL).exists():
            return False

        def demo_user(email: str, full_name: str, **flags: bool) -> User:
            return user_create(email=email, password=DEMO_PASSWORD, full_name=full_name, **flags)

        demo_user(ADMIN_EMAIL, "Demo Admin", is_superuser=True)
        demo_user("finance@twinledger.test", "Farah Finance", is_finance=True, is_staff=True)

        agency_admin = demo_user("agency@twinledger.test", "Claire Dubois")
        agency = agency_create(
            name="Maison Agency",
            country="FR",
            default_commission_pct=Decimal("20"),
            members=[(agency_admin, AgencyMembership.Role.ADMIN)],
        )

        ines = talent_create(
            user=demo_user("ines@twinledger.test", "Inès Moreau"),
            legal_name="Inès Moreau",
            display_name="Inès",
            country="FR",
            default_currency="EUR",
            agency=agency,
        )
        kofi = talent_create(
            user=demo_user("kofi@twinledger.test", "Kofi Mensah"),
            legal_name="Kofi Mensah",
            country="GB",
            default_currency="GBP",
            agency=agency,
            withholding_pct=Decimal("20"),
        )
        mai = talent_create(
            user=demo_user("mai@twinledger.test", "Mai Tanaka"),
            legal_name="Mai Tanaka",
            country="JP",
            default_currency="JPY",
        )

        brand_users = {
            ATELIER: demo_user("atelier@twinledger.test", "Sofie Lund"),
            LUMEN: demo_user("lumen@twinledger.test", "Jordan Reyes"),
        }
        brands = {
            ATELIER: brand_create(
                name=ATELIER,
                legal_name="Atelier Nord SAS",
                billing_email="billing@ateliernord.test",
                country="FR",
                vat_number="FR00123456789",
                currency="EUR",
                tax_rate_pct=Decimal("20"),
                members=[(brand_users[ATELIER], BrandMembership.Role.ADMIN)],
            ),
            LUMEN: brand_create(
                name=LUMEN,
                legal_name="Lumen Apparel Inc.",
                billing_email="ap@lumenapparel.test",
                country="US",
                currency="USD",
                tax_rate_pct=Decimal("8.875"),
                payment_terms_days=45,
                members=[(brand_users[LUMEN], BrandMembership.Role.ADMIN)],
            ),
        }

        twins = _seed_twins(now, ines=ines, kofi=kofi, mai=mai)
        for spec in _license_specs():
            _seed_license(
                spec,
                now=now,
                brand=brands[spec.brand],
                proposer=brand_users[spec.brand],
                twin=twins[spec.twin],
                agency_admin=agency_admin,
            )
        return True


def _seed_twins(now: datetime, *, ines: Talent, kofi: Talent, mai: Talent) -> dict[str, Twin]:
    created = now - TWIN_AGE
    twins = {
        INES_STUDIO: twin_create(
            talent=ines,
            name=INES_STUDIO,
            description="Catalogue and social imagery.",
            forbidden_contexts=["political", "tobacco"],
            by=ines.user,
            now=created,
        ),
        INES_RUNWAY: twin_create(
            talent=ines,
            name=INES_RUNWAY,
            description="Editorial work: every output is approved by Inès first.",
            requires_output_approval=True,
            forbidden_contexts=["political", "tobacco", "alcohol"],
            by=ines.user,
            now=created,
        ),
        KOFI_TWIN: twin_create(
            talent=kofi,
            name=KOFI_TWIN,
            allowed_channels=["ecommerce", "social", "print", "video"],
            allowed_territories=["GB", "FR", "DE", "US", "JP"],
            forbidden_contexts=["alcohol", "gambling"],
            by=kofi.user,
            now=created,
        ),
        MAI_TWIN: twin_create(talent=mai, name=MAI_TWIN, by=mai.user, now=created),
    }
    # Consent history: Mai turns training on; Inès adds a forbidden context mid-period; Kofi
    # takes Japan out of his consent after licensing it (a narrowed license, see _license_specs).
    consent_update(
        twin=twins[MAI_TWIN],
        allowed_kinds=[*DEFAULT_CONSENTED_KINDS, "training"],
        allowed_channels=CHANNELS,
        allowed_territories=["WW"],
        forbidden_contexts=["adult", "weapons"],
        requires_output_approval=False,
        note="Training allowed for beauty campaigns",
        by=mai.user,
        now=created + timedelta(days=10),
    )
    consent_update(
        twin=twins[INES_STUDIO],
        allowed_kinds=DEFAULT_CONSENTED_KINDS,
        allowed_channels=CHANNELS,
        allowed_territories=["WW"],
        forbidden_contexts=["political", "tobacco", "gambling"],
        requires_output_approval=False,
        note="No gambling campaigns",
        by=ines.user,
        now=now - timedelta(days=45),
    )
    consent_update(
        twin=twins[KOFI_TWIN],
        allowed_kinds=DEFAULT_CONSENTED_KINDS,
        allowed_channels=["ecommerce", "social", "print", "video"],
        allowed_territories=["GB", "FR", "DE", "US"],
        forbidden_contexts=["alcohol", "gambling"],
        requires_output_approval=False,
        note="No more campaigns in Japan",
        by=kofi.user,
        now=now - timedelta(days=KOFI_NARROWED_DAYS),
    )
    return twins


def _seed_license(
    spec: _LicenseSpec,
    *,
    now: datetime,
    brand: Brand,
    proposer: User,
    twin: Twin,
    agency_admin: User,
) -> License:
    terms = {
        "starts_at": now - timedelta(days=100),
        "ends_at": now + timedelta(days=265),
        "platform_fee_pct": Decimal("10"),
        **spec.terms,
    }
    license = license_propose(
        brand=brand,
        twin=twin,
        currency=spec.currency,
        terms=Terms(**terms),
        by=proposer,
        now=now - timedelta(days=105),
    )
    if spec.approved:
        version = license.versions.get()
        license_decide(
            version=version,
            party="talent",
            approve=True,
            by=twin.talent.user,
            now=now - timedelta(days=100),
        )
        if version.agency_id:
            license_decide(
                version=version,
                party="agency",
                approve=True,
                by=agency_admin,
                now=now - timedelta(days=99),
            )
    return license


# --- stage 2: three months of uses -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Traffic:
    """How much one license is used per day (each count drawn uniformly from 0 to the max)."""

    brand: str
    twin: str
    territories: tuple[str, ...]
    channels: tuple[str, ...]  # for generations and publications
    generations: int
    publications: int
    cpm_channels: tuple[str, ...] = ()
    impressions: int = 0
    sales: int = 0
    approval: bool = False  # the twin's consent requires output approval


TRAFFIC = (
    _Traffic(ATELIER, INES_STUDIO, ("FR", "BE", "DE"), ("ecommerce", "social", "print"), 7, 4),
    _Traffic(
        LUMEN, INES_STUDIO, ("US", "CA"), ("social", "video"), 2, 2, ("social", "video"), 10, 4
    ),
    _Traffic(ATELIER, INES_RUNWAY, ("FR",), ("print", "social"), 3, 2, approval=True),
    _Traffic(LUMEN, KOFI_TWIN, ("US", "GB"), ("social", "ecommerce"), 4, 2, ("social",), 8, 3),
    _Traffic(ATELIER, KOFI_TWIN, ("GB", "FR", "DE"), ("ecommerce", "print"), 3, 2),
    _Traffic(ATELIER, MAI_TWIN, ("JP", "FR"), ("social", "video"), 3, 2, ("social", "video"), 5),
)


@dataclass(slots=True)
class _Stream:
    """One license's demo traffic and the state of its assets as the weeks go by."""

    traffic: _Traffic
    license: License
    generated: int = 0
    fresh: list[str] = field(default_factory=list)  # generated this week
    ready: list[str] = field(default_factory=list)  # publishable (approved when it must be)
    published_now: list[str] = field(default_factory=list)  # published this week
    viewable: list[str] = field(default_factory=list)  # published in an earlier week


def _seed_uses() -> tuple[int, int]:
    """Stage 2; returns (uses accepted, refused attempts kept) by this run."""
    brands = {brand.name: brand for brand in Brand.objects.filter(name__in=[ATELIER, LUMEN])}
    if (
        len(brands) < 2
        or UsageEvent.objects.filter(brand=brands[ATELIER], external_id=FINAL_EXTERNAL_ID).exists()
    ):
        return 0, 0
    licenses = {
        (license.brand.name, license.twin.name): license
        for license in License.objects.filter(brand__in=brands.values()).select_related(
            "brand", "twin__talent__user"
        )
    }
    if any((t.brand, t.twin) not in licenses for t in TRAFFIC):
        return 0, 0  # a database seeded before demo licenses existed: leave it as it is
    anchor = licenses[(ATELIER, INES_STUDIO)].twin.created_at + TWIN_AGE  # when stage 1 ran
    streams = [_Stream(t, licenses[(t.brand, t.twin)]) for t in TRAFFIC]
    rng = random.Random(DEMO_SEED)
    start = anchor - timedelta(days=DEMO_DAYS)
    accepted = refused = sequence = 0

    for week_start in range(0, DEMO_DAYS, CHUNK_DAYS):
        for day in range(week_start, min(week_start + CHUNK_DAYS, DEMO_DAYS)):
            day_start = start + timedelta(days=day)
            items: dict[str, list[UsageInput]] = {ATELIER: [], LUMEN: []}
            for stream in streams:
                for use in _day_of_uses(stream, rng, day_start):
                    sequence += 1
                    items[stream.traffic.brand].append(
                        UsageInput(external_id=f"demo-{sequence:06d}", **use)
                    )
            # Brands report each day's uses the next morning, within every reporting window
            # (72 hours for generations and publications), so none is held as late.
            reported = min(day_start + REPORTED_AFTER, timezone.now())
            for brand_name, day_items in items.items():
                counts = _send(
                    brands[brand_name],
                    sorted(day_items, key=lambda item: item.occurred_at),
                    now=reported,
                )
                accepted, refused = accepted + counts[0], refused + counts[1]
        for stream in streams:
            _end_of_week(stream, rng)

    for brand_name in (LUMEN, ATELIER):  # Atelier's batch, with the final event, comes last
        examples = _refused_examples(brand_name, licenses, anchor)
        counts = _send(brands[brand_name], examples)
        accepted, refused = accepted + counts[0], refused + counts[1]
    return accepted, refused


def _day_of_uses(stream: _Stream, rng: random.Random, day_start: datetime) -> list[dict]:
    t = stream.traffic

    def use(kind: str, asset_ref: str, channel: str, **extra: Any) -> dict:
        return {
            "license_id": stream.license.pk,
            "kind": kind,
            "asset_ref": asset_ref,
            "channel": channel,
            "territory": rng.choice(t.territories),
            "occurred_at": day_start + timedelta(seconds=rng.randrange(86_400)),
            "quantity": 1,
            **extra,
        }

    uses = []
    for _ in range(rng.randint(0, t.generations)):
        stream.generated += 1
        ref = f"L{stream.license.pk}-{stream.generated:05d}"
        quantity = rng.choice((1, 1, 1, 1, 2, 3))
        uses.append(
            use(
                "generation",
                ref,
                rng.choice(t.channels),
                quantity=quantity,
                content_credential=f"c2pa:demo:{ref}",
            )
        )
        stream.fresh.append(ref)
    for _ in range(rng.randint(0, t.publications)):
        if not stream.ready:
            break
        ref = stream.ready.pop(rng.randrange(len(stream.ready)))
        uses.append(use("publication", ref, rng.choice(t.channels)))
        stream.published_now.append(ref)
    if stream.viewable:
        for _ in range(rng.randint(0, t.impressions)):
            quantity = rng.randrange(500, 60_000)
            channel = rng.choice(t.cpm_channels)
            uses.append(use("impressions", rng.choice(stream.viewable), channel, quantity=quantity))
        for _ in range(rng.randint(0, t.sales)):
            amount = rng.randrange(1_500, 25_000)
            channel = rng.choice(t.channels)
            uses.append(use("sale", rng.choice(stream.viewable), channel, sale_amount_minor=amount))
    return uses


def _end_of_week(stream: _Stream, rng: random.Random) -> None:
    """The week's outputs become publishable; when approval is required, the talent decides
    them first (about 85 % approved, 10 % rejected, 5 % left pending)."""
    fresh, stream.fresh = stream.fresh, []
    stream.viewable += stream.published_now
    stream.published_now = []
    if not stream.traffic.approval:
        stream.ready += fresh
        return
    pending = {
        asset.asset_ref: asset
        for asset in Asset.objects.filter(
            license=stream.license, asset_ref__in=fresh, approval=Asset.Approval.PENDING
        ).select_related("image")
    }
    for asset in pending.values():
        _send_image(asset, stream.license)  # the talent decides on the image, so it comes first
    for ref in fresh:
        roll = rng.random()  # drawn whatever happens, so the traffic stays the same on a rerun
        if roll < 0.05:
            continue
        approve = roll >= 0.15
        asset = pending.get(ref)
        if asset is not None:  # not decided yet (a rerun finds it decided)
            asset_decide(
                asset=asset,
                approve=approve,
                by=stream.license.twin.talent.user,
                now=asset.generated_at + timedelta(hours=6),
            )
        if approve:
            stream.ready.append(ref)


def _send_image(asset: Asset, license: License) -> None:
    """The brand sends the generated image (drawn by code), unless a rerun finds it sent."""
    try:
        asset.image  # noqa: B018 - the reverse one-to-one raises when there is none
        return
    except AssetImage.DoesNotExist:
        pass
    caption = f"{license.twin.name} · generated for {license.brand.name}"
    asset_image_attach(
        asset=asset,
        image=image_decode(demo_image(asset_ref=asset.asset_ref, caption=caption)),
        now=asset.generated_at + timedelta(minutes=5),
    )


def _refused_examples(
    brand_name: str, licenses: dict[tuple[str, str], License], anchor: datetime
) -> list[UsageInput]:
    """Uses the talents must hear about: outside consent, outside the license, unapproved."""
    at = anchor - timedelta(days=1)

    def item(key: str, twin: str, kind: str, asset_ref: str, channel: str, territory: str, **kw):
        return UsageInput(
            external_id=f"demo-{key}",
            license_id=licenses[(brand_name, twin)].pk,
            kind=kind,
            asset_ref=asset_ref,
            channel=channel,
            territory=territory,
            occurred_at=kw.pop("occurred_at", at),
            quantity=kw.pop("quantity", 1),
            **kw,
        )

    if brand_name == LUMEN:
        return [
            # Japan is in the license, no longer in Kofi's consent: territory_not_consented.
            item(
                "jp-campaign", KOFI_TWIN, "impressions", "jp-banner", "social", "JP", quantity=9000
            ),
            # Mai has not approved this license yet: license_inactive.
            item("mai-early", MAI_TWIN, "generation", "mai-early-1", "social", "US"),
        ]
    return [
        # Inès forbids political and (since 45 days ago) gambling contexts: context_forbidden.
        item(
            "political",
            INES_STUDIO,
            "generation",
            "vote-poster",
            "social",
            "FR",
            context_tags=("campaign", "political"),
        ),
        item(
            "casino",
            INES_STUDIO,
            "generation",
            "casino-night",
            "print",
            "FR",
            context_tags=("gambling",),
        ),
        # Billboards are not in the license: channel_not_licensed.
        item("billboard", INES_STUDIO, "publication", "L-ooh-1", "ooh", "FR"),
        # Held for Inès as late reports (her Late reports page): a lookbook generation reported
        # five days after it happened (the license asks for 72 hours), and a casino campaign
        # dated before she forbade gambling, reported after (consent_changed_since).
        item(
            "late-lookbook",
            INES_STUDIO,
            "generation",
            "lookbook-late-1",
            "ecommerce",
            "FR",
            occurred_at=anchor - timedelta(days=5),
        ),
        item(
            "casino-archive",
            INES_STUDIO,
            "generation",
            "casino-archive-1",
            "social",
            "FR",
            occurred_at=anchor - timedelta(days=50),
            context_tags=("gambling",),
        ),
        # A runway output published before Inès approved it: asset_not_approved.
        item("runway-draft", INES_RUNWAY, "generation", "runway-draft", "print", "FR"),
        item(
            "runway-draft-print",
            INES_RUNWAY,
            "publication",
            "runway-draft",
            "print",
            "FR",
            occurred_at=at + timedelta(hours=2),
        ),
        item(
            FINAL_EXTERNAL_ID.removeprefix("demo-"), MAI_TWIN, "generation", "final", "social", "JP"
        ),
    ]


def _send(brand: Brand, items: list[UsageInput], *, now: datetime | None = None) -> tuple[int, int]:
    """Record `items` in batches at `now` (default: the real time); returns (accepted, refused).
    Items already refused and kept by an earlier, interrupted run are not sent again."""
    kept = set(
        RefusedAttempt.objects.filter(
            brand=brand, external_id__in=[item.external_id for item in items]
        ).values_list("external_id", flat=True)
    )
    items = [item for item in items if item.external_id not in kept]
    accepted = refused = 0
    for start in range(0, len(items), MAX_BATCH):
        for outcome in usage_record_batch(
            brand=brand, items=items[start : start + MAX_BATCH], now=now
        ):
            accepted += outcome.status == "accepted"
            refused += outcome.status == "refused"
    return accepted, refused
