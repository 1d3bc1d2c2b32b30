"""Usage capture under real concurrency: threads on their own PostgreSQL connections, real commits.

Each thread closes its connection when done (the test database is dropped at the end).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from ledger.errors import Refused
from ledger.models import (
    Asset,
    ConsentVersion,
    JournalTransaction,
    License,
    Posting,
    TierCounter,
    UsageEvent,
)
from ledger.services.licensing import license_decide
from ledger.services.twins import consent_update
from ledger.services.usage import Outcome, usage_record, usage_record_batch
from tests.factories import BrandFactory
from tests.ledger.scenario import USE_AT, first_version, propose, scenario
from tests.threads import THREADS, in_threads

pytestmark = pytest.mark.usefixtures("committed_db")


def send_in_batches(s, items, thread: int, size: int = 100) -> list[Outcome]:
    """The same items, shuffled differently per thread, sent in batches of `size`."""
    order = list(items)
    random.Random(thread).shuffle(order)
    outcomes: list[Outcome] = []
    for start in range(0, len(order), size):
        outcomes += usage_record_batch(brand=s.brand, items=order[start : start + size], now=s.now)
    return outcomes


def assert_each_accepted_exactly_once(results: list[list[Outcome]], ids: list[str]) -> None:
    statuses = Counter((o.external_id, o.status) for outcomes in results for o in outcomes)
    assert {status for _, status in statuses} <= {"accepted", "replayed"}, statuses
    for external_id in ids:
        assert statuses[(external_id, "accepted")] == 1, external_id
        assert statuses[(external_id, "replayed")] == THREADS - 1, external_id
    # Replays answer with the winner's event.
    events = {}
    for outcomes in results:
        for o in outcomes:
            assert events.setdefault(o.external_id, o.event.pk) == o.event.pk


def test_8_threads_sending_the_same_1000_generations_record_each_once():
    s = scenario()
    items = [
        s.item(
            external_id=f"gen-{n:04d}",
            asset_ref=f"asset-{n:04d}",
            occurred_at=USE_AT + timedelta(seconds=n),
        )
        for n in range(1000)
    ]
    ids = [item.external_id for item in items]

    results = in_threads(lambda i: send_in_batches(s, items, i))

    assert_each_accepted_exactly_once(results, ids)
    assert UsageEvent.objects.count() == 1000
    assert JournalTransaction.objects.count() == 1000
    assert sorted(UsageEvent.objects.values_list("external_id", flat=True)) == sorted(ids)
    # 1,000 units in one period: the first 100 at 40.00, the rest at 30.00, whatever the order.
    assert UsageEvent.objects.aggregate(g=Sum("gross_minor"))["g"] == 100 * 4000 + 900 * 3000
    assert TierCounter.objects.get(license=s.license).units == 1000
    assert Posting.objects.aggregate(total=Sum("amount_minor"))["total"] == 0


def test_8_threads_sending_the_same_1000_impressions_record_each_once():
    """No tier counter to queue on: the batches race on the unique indexes themselves."""
    s = scenario()
    asset = s.published()
    items = [
        s.item(
            "impressions",
            external_id=f"imp-{n:04d}",
            asset_ref=asset.asset_ref,
            quantity=1000 + n,
            occurred_at=USE_AT + timedelta(minutes=1, seconds=n),
        )
        for n in range(1000)
    ]
    ids = [item.external_id for item in items]
    before = JournalTransaction.objects.count()

    results = in_threads(lambda i: send_in_batches(s, items, i))

    assert_each_accepted_exactly_once(results, ids)
    assert UsageEvent.objects.filter(kind="impressions").count() == 1000
    assert JournalTransaction.objects.count() - before == 1000
    assert UsageEvent.objects.filter(kind="impressions").aggregate(g=Sum("gross_minor"))[
        "g"
    ] == sum(cpm(1000 + n, 333) for n in range(1000))


def cpm(impressions: int, cpm_minor: int) -> int:
    """round_half_even(impressions * cpm / 1000), computed independently of ledger.money."""
    quotient, remainder = divmod(impressions * cpm_minor, 1000)
    return quotient + (2 * remainder > 1000 or (2 * remainder == 1000 and quotient % 2 == 1))


def test_8_threads_publishing_the_same_assets_in_different_orders_all_succeed():
    """Each thread publishes the same 40 assets (its own external_ids) in its own order: every
    batch updates the same assets' first publication, and none may deadlock."""
    s = scenario()
    refs = [
        s.use(asset_ref=f"pub-{n:02d}", occurred_at=USE_AT).event.asset.asset_ref for n in range(40)
    ]

    def publish(thread: int) -> list[Outcome]:
        order = list(refs)
        random.Random(thread).shuffle(order)
        items = [
            s.item(
                "publication",
                external_id=f"p{thread}-{ref}",
                asset_ref=ref,
                occurred_at=USE_AT + timedelta(hours=1, minutes=thread),
            )
            for ref in order
        ]
        return usage_record_batch(brand=s.brand, items=items, now=s.now)

    results = in_threads(publish)

    assert {o.status for outcomes in results for o in outcomes} == {"accepted"}
    first = set(
        Asset.objects.filter(asset_ref__in=refs).values_list("first_published_at", flat=True)
    )
    assert first == {USE_AT + timedelta(hours=1)}


def test_8_threads_crossing_a_tier_boundary_price_each_unit_once():
    s = scenario()  # tier 1: up to 100 at 40.00, then 30.00

    def twenty_single_units(thread: int) -> list[Outcome]:
        return [
            usage_record(
                brand=s.brand,
                item=s.item(
                    external_id=f"t{thread}-{n}",
                    occurred_at=USE_AT + timedelta(seconds=thread * 100 + n),
                ),
                now=s.now,
            )
            for n in range(20)
        ]

    results = in_threads(twenty_single_units)

    assert {o.status for outcomes in results for o in outcomes} == {"accepted"}
    prices = Counter(UsageEvent.objects.values_list("gross_minor", flat=True))
    assert prices == {4000: 100, 3000: 60}
    assert UsageEvent.objects.aggregate(g=Sum("gross_minor"))["g"] == 100 * 4000 + 60 * 3000
    assert TierCounter.objects.get(license=s.license).units == 160
    # Each unit's price matches its position in the counter's order.
    tiers = [e.rating["lines"][0]["tier"] for e in UsageEvent.objects.order_by("pk")]
    assert tiers.count(1) == 100


@pytest.mark.parametrize(
    "tiers",
    [
        [{"up_to": None, "unit_minor": 4000}],  # flat: the counter is never locked
        [{"up_to": 5, "unit_minor": 4000}, {"up_to": None, "unit_minor": 3000}],  # soon past
    ],
    ids=["flat", "past-the-last-boundary"],
)
def test_counts_stay_exact_when_the_price_no_longer_depends_on_them(tiers):
    """Past the last tier boundary the counter is read without a lock and incremented
    atomically at the end: concurrent uses must still all be counted."""
    s = scenario(rates={"per_asset": {"tiers": tiers}})

    def ten_uses_of_three_units(thread: int) -> list[str]:
        return [
            usage_record(
                brand=s.brand,
                item=s.item(external_id=f"t{thread}-{n}", quantity=3),
                now=s.now,
            ).status
            for n in range(10)
        ]

    statuses = in_threads(ten_uses_of_three_units)

    assert {status for thread in statuses for status in thread} == {"accepted"}
    assert TierCounter.objects.get(license=s.license).units == THREADS * 10 * 3
    expensive = min(THREADS * 10 * 3, tiers[0]["up_to"] or THREADS * 10 * 3)
    total = UsageEvent.objects.aggregate(g=Sum("gross_minor"))["g"]
    assert total == expensive * 4000 + (THREADS * 30 - expensive) * tiers[-1]["unit_minor"]


def test_8_threads_editing_consent_get_consecutive_versions():
    s = scenario()
    base = s.twin.consent_versions.get()

    def edit(thread: int) -> int:
        return consent_update(
            twin=s.twin,
            allowed_kinds=base.allowed_kinds,
            allowed_channels=base.allowed_channels,
            allowed_territories=base.allowed_territories,
            forbidden_contexts=[f"tag-{thread}"],
            requires_output_approval=False,
            now=s.now,
        ).version

    versions = in_threads(edit)

    assert sorted(versions) == list(range(2, THREADS + 2))
    assert ConsentVersion.objects.filter(twin=s.twin).count() == THREADS + 1


def test_8_conflicting_exclusive_licenses_approved_at_once_activate_one():
    s = scenario()
    exclusive = {
        "exclusive": True,
        "exclusivity_category": "apparel",
        "exclusivity_territories": ["FR"],
    }
    rivals = [propose(s.twin, BrandFactory(), **exclusive) for _ in range(THREADS)]

    def approve(thread: int) -> str:
        try:
            license_decide(
                version=first_version(rivals[thread]), party="talent", approve=True, now=s.now
            )
            return "active"
        except Refused as refused:
            assert refused.code == "exclusivity_conflict"
            return "refused"

    outcomes = in_threads(approve)

    assert sorted(outcomes) == ["active"] + ["refused"] * (THREADS - 1)
    assert License.objects.filter(pk__in=[r.pk for r in rivals], status="active").count() == 1


def test_a_counter_row_committed_while_the_use_waits_for_it_is_read_after_the_wait():
    """The first use of a period makes its counter row and reads it in one statement. When
    another transaction made that row first and commits while the statement waits for it, the
    statement's snapshot cannot see it (it is neither made nor older): it is read again.

    Here the other transaction sets the counter past the cheap tier, so the use must be priced
    at the dearer unit; without the second read, the use fails on the missing row.
    """
    s = scenario()  # up to 100 units at 40.00, then 30.00
    period = USE_AT.date().replace(day=1)
    inserted, waiting = threading.Event(), threading.Event()

    def other_transaction() -> None:
        try:
            with transaction.atomic():
                TierCounter.objects.create(license=s.license, period_start=period, units=100)
                inserted.set()
                assert waiting.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=other_transaction)
    holder.start()
    assert inserted.wait(timeout=30)

    def use() -> Outcome:
        try:
            return usage_record(brand=s.brand, item=s.item(external_id="late-reader"), now=s.now)
        finally:
            connection.close()

    recording: list[Outcome] = []
    recorder = threading.Thread(target=lambda: recording.append(use()))
    recorder.start()
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:  # until the use's INSERT waits for the other row
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the use never waited for the other transaction's row")
    waiting.set()
    holder.join(timeout=30)
    recorder.join(timeout=30)

    assert [o.status for o in recording] == ["accepted"]
    assert recording[0].event.gross_minor == 3000
    assert TierCounter.objects.get(license=s.license, period_start=period).units == 101


def test_concurrent_batches_never_take_a_license_past_its_period_maximum():
    """Eight batches of six events at the per-event gross maximum (10^14 each), at once: each
    fits the license's period maximum (10^15) alone, together they would pass it eightfold.
    Exactly ten events are accepted, whichever batches won; the rest are refused."""
    from ledger.services.bounds import MAX_EVENT_GROSS_MINOR, MAX_LICENSE_PERIOD_GROSS_MINOR
    from ledger.services.usage import MAX_QUANTITY

    s = scenario(rates={"per_asset": {"tiers": [{"up_to": None, "unit_minor": 100}]}})
    batches = [[s.item(quantity=MAX_QUANTITY) for _ in range(6)] for _ in range(THREADS)]

    results = in_threads(lambda i: usage_record_batch(brand=s.brand, items=batches[i], now=s.now))

    outcomes = [o for batch in results for o in batch]
    statuses = Counter(o.status for o in outcomes)
    assert statuses == {"accepted": 10, "refused": 6 * THREADS - 10}, statuses
    assert {o.error.code for o in outcomes if o.status == "refused"} == {"license_period_limit"}
    accepted = UsageEvent.objects.filter(license=s.license)
    assert accepted.aggregate(total=Sum("gross_minor"))["total"] == 10 * MAX_EVENT_GROSS_MINOR
    counter = TierCounter.objects.get(license=s.license)
    assert counter.gross_minor == MAX_LICENSE_PERIOD_GROSS_MINOR
