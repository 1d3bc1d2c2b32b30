"""A small world for portal tests, built through the services with real dates around today.

Two talents (Ana, represented by the agency; Ben, independent, whose twin's outputs need his
approval), two brands (Atelier licenses Ana's twin, Bolt licenses Ben's and has asked for Ana's),
a finance user with a TOTP device. Uses fall in the previous month (closed: statements and
invoices issued) and in the current month (live earnings, not yet on a statement); one use was
refused. Every user's password is `PASSWORD`.

The close runs in-process. What it hands to Celery after commit (invoice sending) goes to an
in-memory broker nobody consumes (`quiet_celery`): these tests are about pages, and the tasks
have their own tests with real workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Agency, AgencyMembership, Brand, BrandMembership, Talent, User
from config.celery import app as celery_app
from ledger.models import License, Twin
from ledger.periods import Period
from ledger.services.closing import period_close_execute, period_close_request
from ledger.services.usage import UsageInput, usage_record_batch
from tests.celery_worker import _drop_connection_pools
from tests.factories import AgencyFactory, BrandFactory, TalentFactory, UserFactory
from tests.ledger.scenario import approve_all, first_version, make_twin, propose, terms
from tests.logins import totp_device
from tests.portal.conftest import PASSWORD


@dataclass
class PortalWorld:
    now: datetime
    previous: Period  # closed
    current: Period  # open: live earnings
    agency: Agency
    agency_user: User
    ana: Talent  # represented by the agency
    ben: Talent  # independent; his twin requires output approval
    ana_twin: Twin
    ben_twin: Twin
    atelier: Brand
    bolt: Brand
    atelier_user: User
    bolt_user: User
    finance: User
    atelier_ana: License  # active, EUR
    bolt_ben: License  # active, EUR
    bolt_ana_pending: License  # pending, waiting for Ana (and the agency)


@contextmanager
def quiet_celery() -> Iterator[None]:
    """Tasks enqueued meanwhile go to an in-memory broker that no worker reads."""
    keys = ("broker_url", "broker_transport_options", "task_default_queue")
    saved = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(
        broker_url="memory://", broker_transport_options={}, task_default_queue="portal-tests"
    )
    _drop_connection_pools()
    try:
        yield
    finally:
        celery_app.conf.update(saved)
        _drop_connection_pools()


def _person(email: str, name: str, **flags) -> User:
    return UserFactory(email=email, full_name=name, password=PASSWORD, **flags)


def build_world() -> PortalWorld:
    now = timezone.now().replace(microsecond=0)
    current = Period.of(now)
    previous = current.previous()
    start, end = now - timedelta(days=400), now + timedelta(days=365)

    agency = AgencyFactory(name="Maison Test", default_commission_pct=Decimal("20"))
    agency_user = _person("agency@portal.test", "Alex Agent")
    AgencyMembership.objects.create(agency=agency, user=agency_user, role="admin")
    ana = TalentFactory(
        user=_person("ana@portal.test", "Ana Alves"), legal_name="Ana Alves", agency=agency
    )
    ben = TalentFactory(user=_person("ben@portal.test", "Ben Brook"), legal_name="Ben Brook")
    ana_twin = make_twin(ana, at=start - timedelta(days=30))
    ben_twin = make_twin(ben, at=start - timedelta(days=30), requires_output_approval=True)

    atelier = BrandFactory(name="Atelier Test")
    bolt = BrandFactory(name="Bolt Test")
    atelier_user = _person("atelier@portal.test", "Ada Atelier")
    bolt_user = _person("bolt@portal.test", "Bo Bolt")
    BrandMembership.objects.create(brand=atelier, user=atelier_user, role="admin")
    BrandMembership.objects.create(brand=bolt, user=bolt_user, role="admin")
    finance = _person("finance@portal.test", "Fay Finance", is_finance=True, is_staff=True)
    totp_device(finance)

    window = {"starts_at": start, "ends_at": end, "at": start - timedelta(days=10)}
    atelier_ana = propose(ana_twin, atelier, **window)
    approve_all(first_version(atelier_ana), at=start)
    bolt_ben = propose(ben_twin, bolt, **window)
    approve_all(first_version(bolt_ben), at=start)
    bolt_ana_pending = propose(ana_twin, bolt, **{**window, "at": now - timedelta(days=1)})

    _uses(atelier, atelier_ana, previous.start_at + timedelta(days=3), "prev-a", now)
    _uses(atelier, atelier_ana, max(current.start_at, now - timedelta(hours=6)), "cur-a", now)
    _uses(bolt, bolt_ben, previous.start_at + timedelta(days=4), "prev-b", now, approve_first=False)
    # A use outside the license's territories: refused and kept for Ana to see.
    usage_record_batch(
        brand=atelier,
        items=[_item(atelier_ana, "refused-1", "generation", "asset-refused", now, "JP")],
        now=now,
    )
    with quiet_celery():
        run = period_close_request(period=previous, now=now)
        period_close_execute(run_id=run.pk, now=now)

    for license in (atelier_ana, bolt_ben, bolt_ana_pending):
        license.refresh_from_db()
    return PortalWorld(
        now=now,
        previous=previous,
        current=current,
        agency=agency,
        agency_user=agency_user,
        ana=ana,
        ben=ben,
        ana_twin=ana_twin,
        ben_twin=ben_twin,
        atelier=atelier,
        bolt=bolt,
        atelier_user=atelier_user,
        bolt_user=bolt_user,
        finance=finance,
        atelier_ana=atelier_ana,
        bolt_ben=bolt_ben,
        bolt_ana_pending=bolt_ana_pending,
    )


def _item(
    license: License,
    external_id: str,
    kind: str,
    asset_ref: str,
    at: datetime,
    territory: str = "FR",
    channel: str = "social",
    **extra,
) -> UsageInput:
    return UsageInput(
        external_id=external_id,
        license_id=license.pk,
        kind=kind,
        asset_ref=asset_ref,
        channel=channel,
        territory=territory,
        occurred_at=at,
        quantity=extra.pop("quantity", 1),
        sale_amount_minor=extra.pop("sale_amount_minor", None),
        context_tags=(),
        content_credential=extra.pop("content_credential", ""),
    )


def _uses(
    brand: Brand,
    license: License,
    at: datetime,
    prefix: str,
    now: datetime,
    *,
    approve_first: bool = True,
) -> None:
    """Three generations, one publication and a batch of impressions around `at`."""
    items = [
        _item(license, f"{prefix}-gen-{n}", "generation", f"{prefix}-asset-{n}", at, channel=ch)
        for n, ch in enumerate(("social", "ecommerce", "social"))
    ]
    usage_record_batch(brand=brand, items=items, now=now)
    if not approve_first:
        return  # outputs wait for the talent's approval: nothing to publish yet
    later = at + timedelta(hours=1)
    usage_record_batch(
        brand=brand,
        items=[
            _item(license, f"{prefix}-pub", "publication", f"{prefix}-asset-0", later),
            _item(
                license,
                f"{prefix}-imp",
                "impressions",
                f"{prefix}-asset-0",
                later,
                quantity=12_000,
            ),
        ],
        now=now,
    )


__all__ = ["PortalWorld", "build_world", "quiet_celery", "terms"]
