"""The usage API under real concurrency: threads on their own connections, real commits."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from ledger.models import JournalTransaction, UsageEvent
from tests.api.conftest import build_world, key_client, post_json, unique

THREADS = 4


@pytest.mark.usefixtures("committed_db")
def test_threads_posting_the_same_batch_write_each_event_once():
    world = build_world()
    asset = unique("asset")
    assert (
        post_json(
            key_client(world.raw_a), "/api/v1/usage-events/", world.event(asset_ref=asset)
        ).status_code
        == 201
    )
    events = [
        world.event(kind="impressions", asset_ref=asset, quantity=1000 + i) for i in range(200)
    ]
    before = JournalTransaction.objects.count()
    barrier = threading.Barrier(THREADS)

    def send(thread: int) -> list[dict]:
        order = list(events)
        random.Random(thread).shuffle(order)
        client = key_client(world.raw_a)
        try:
            barrier.wait(timeout=30)
            results = []
            for start in range(0, len(order), 50):
                response = post_json(
                    client, "/api/v1/usage-events/batch/", {"events": order[start : start + 50]}
                )
                assert response.status_code == 200, response.content
                results += json.loads(response.content)["results"]
            return results
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = [
            r for f in [pool.submit(send, i) for i in range(THREADS)] for r in f.result(timeout=300)
        ]

    statuses = Counter((r["external_id"], r["status"]) for r in results)
    for event in events:
        assert statuses[(event["external_id"], "accepted")] == 1
        assert statuses[(event["external_id"], "replayed")] == THREADS - 1
    bodies: dict[str, dict] = {}
    for r in results:
        assert bodies.setdefault(r["external_id"], r["event"]) == r["event"]
    assert JournalTransaction.objects.count() == before + len(events)
    assert UsageEvent.objects.filter(brand=world.brand_a).count() == len(events) + 1
