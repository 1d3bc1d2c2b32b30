"""No valid input can stop a close: the most a brand may report (per event, per license and
period, per brand and period) folds, closes, exports and reads back; one unit more is refused
with its code, and nothing of it is written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.exports.csv import period_csv
from ledger.models import (
    BrandPeriodVolume,
    Invoice,
    LedgerAccount,
    Statement,
    TierCounter,
    UsageEvent,
)
from ledger.periods import Period
from ledger.selectors.balances import account_balance
from ledger.services.bounds import (
    MAX_BRAND_PERIOD_GROSS_MINOR,
    MAX_EVENT_GROSS_MINOR,
    MAX_LICENSE_PERIOD_GROSS_MINOR,
    MAX_LICENSE_PERIOD_UNITS,
)
from ledger.services.closing import coverage_fold_due
from ledger.services.usage import MAX_QUANTITY
from ledger.services.verification import ledger_verify
from tests.api.conftest import active_license, post_json, snapshot
from tests.ledger.close_helpers import close

URL = "/api/v1/usage-events/batch/"
# 1.00 a generated asset: MAX_QUANTITY assets are exactly the per-event gross maximum.
UNIT_MINOR = 100
CHEAP = {"per_asset": {"tiers": [{"up_to": None, "unit_minor": UNIT_MINOR}]}, "cpm": {"social": 1}}
assert MAX_QUANTITY * UNIT_MINOR == MAX_EVENT_GROSS_MINOR


def accept_all(client, events: list[dict]) -> None:
    response = post_json(client, URL, {"events": events})
    assert response.status_code == 200, response.content
    assert {r["status"] for r in response.json()["results"]} == {"accepted"}


@pytest.fixture
def maxed(world, brand_a):
    """Brand A at every bound at once: 10 generations at the per-event gross maximum on one
    license (the brand's period maximum in all, 10^15 minor), and 1,000 impressions events of
    the maximum quantity on another (the license's period maximum of units)."""
    occurred = world.now - timedelta(hours=1)
    generations = active_license(world.brand_a, world.twin_a, world.now, rates=CHEAP)
    impressions = active_license(world.brand_a, world.twin_c, world.now, rates=CHEAP)
    asset = world.event(license=impressions.pk, occurred_at=occurred.isoformat())
    first = post_json(brand_a, "/api/v1/usage-events/", asset)
    assert first.status_code == 201, first.content
    impressions_batch = [
        world.event(
            license=impressions.pk,
            kind="impressions",
            asset_ref=asset["asset_ref"],
            # The generation above took one unit of the license's period maximum.
            quantity=MAX_QUANTITY if n < 999 else MAX_QUANTITY - 1,
            occurred_at=occurred.isoformat(),
        )
        for n in range(1000)
    ]
    accept_all(brand_a, impressions_batch)
    # Whatever the impressions cost (1 minor per 1,000), the generations take the rest of the
    # brand's period maximum: nine at the per-event maximum and one for the remainder.
    gross_left = MAX_BRAND_PERIOD_GROSS_MINOR - sum(
        UsageEvent.objects.filter(brand=world.brand_a).values_list("gross_minor", flat=True)
    )
    last = gross_left - 9 * MAX_EVENT_GROSS_MINOR
    assert 0 < last <= MAX_EVENT_GROSS_MINOR and last % UNIT_MINOR == 0
    quantities = [MAX_QUANTITY] * 9 + [last // UNIT_MINOR]
    accept_all(
        brand_a,
        [
            world.event(license=generations.pk, quantity=q, occurred_at=occurred.isoformat())
            for q in quantities
        ],
    )
    world.generations, world.impressions, world.occurred = generations, impressions, occurred
    return world


def test_the_largest_accepted_input_folds_closes_exports_and_reads_balances(maxed):
    volume = BrandPeriodVolume.objects.get(brand=maxed.brand_a)
    assert volume.gross_minor == MAX_BRAND_PERIOD_GROSS_MINOR
    counter = TierCounter.objects.get(license=maxed.impressions)
    assert counter.quantity == MAX_LICENSE_PERIOD_UNITS
    assert TierCounter.objects.get(license=maxed.generations).gross_minor <= (
        MAX_LICENSE_PERIOD_GROSS_MINOR
    )

    assert coverage_fold_due() is not None
    period = Period.of(maxed.occurred)
    close(period.label)

    invoice = Invoice.objects.get(brand=maxed.brand_a)
    assert invoice.subtotal_minor == MAX_BRAND_PERIOD_GROSS_MINOR
    assert invoice.total_minor >= invoice.subtotal_minor
    assert Statement.objects.filter(period_start=period.start).count() >= 3  # 2 talents, agency
    csv_text = "".join(period_csv(period.start))
    assert invoice.display_number in csv_text
    assert csv_text.count(invoice.display_number) == invoice.lines.count()
    receivable = LedgerAccount.objects.get(kind="brand_receivable", brand=maxed.brand_a)
    assert account_balance(account=receivable).minor == MAX_BRAND_PERIOD_GROSS_MINOR
    assert ledger_verify().problems == []


def counted() -> tuple[list, list]:
    """The period volumes counted so far (a per-asset tier counter row may exist at zero)."""
    return (
        sorted(
            TierCounter.objects.exclude(gross_minor=0, quantity=0, units=0).values_list(
                "license_id", "units", "gross_minor", "quantity"
            )
        ),
        sorted(BrandPeriodVolume.objects.values_list("brand_id", "gross_minor")),
    )


def refused_with_nothing_written(client, events: list[dict], code: str) -> None:
    before, volumes = snapshot(), counted()
    response = post_json(client, URL, {"events": events})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["refused"] * len(events)
    assert {r["error"]["code"] for r in results} == {code}
    assert all(r["error"]["field"] == "quantity" for r in results)
    assert snapshot() == before
    assert counted() == volumes


def test_one_unit_past_the_license_period_units_is_refused_with_nothing_written(maxed, brand_a):
    event = maxed.event(
        license=maxed.impressions.pk,
        kind="impressions",
        asset_ref=UsageEvent.objects.filter(license=maxed.impressions).first().asset.asset_ref,
        quantity=1,
        occurred_at=maxed.occurred.isoformat(),
    )
    refused_with_nothing_written(brand_a, [event], "license_period_limit")


def test_one_minor_unit_past_the_brand_period_gross_is_refused_with_nothing_written(maxed, brand_a):
    event = maxed.event(
        license=maxed.generations.pk, quantity=1, occurred_at=maxed.occurred.isoformat()
    )
    refused_with_nothing_written(brand_a, [event], "brand_period_limit")


def test_an_event_rated_above_the_per_event_gross_is_refused_with_nothing_written(world, brand_a):
    """License A's first tier is 40.00 an asset: 10^12 assets would be 4 * 10^16."""
    refused_with_nothing_written(brand_a, [world.event(quantity=MAX_QUANTITY)], "gross_too_large")


def test_a_batch_past_the_license_period_gross_keeps_what_fits_and_refuses_the_rest(world, brand_a):
    """Events of 3 * 10^10 assets at 30.00 (9 * 10^13 each): the twelfth passes 10^15."""
    events = [world.event(quantity=3 * 10**10) for _ in range(12)]
    response = post_json(brand_a, URL, {"events": events})
    assert response.status_code == 200, response.content
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["accepted"] * 11 + ["refused"]
    assert response.json()["results"][11]["error"]["code"] == "license_period_limit"
    counter = TierCounter.objects.get(license=world.license_a)
    accepted = UsageEvent.objects.filter(license=world.license_a)
    assert accepted.count() == 11
    assert (
        counter.gross_minor
        == sum(e.gross_minor for e in accepted)
        <= (MAX_LICENSE_PERIOD_GROSS_MINOR)
    )
    assert counter.quantity == 11 * 3 * 10**10
