"""Ingest through the real HTTP stack: gunicorn serving config.wsgi, PostgreSQL behind it.

Two measurements against one server (see benchmarks.server for its shape):
- ingest_batch: batches of 1,000 generations POSTed to /api/v1/usage-events/batch/ by a few
  concurrent keep-alive clients (closed loop, so the server is saturated); events/s counts only
  accepted events, over the wall time of the whole run; latencies are per HTTP request.
- ingest_single: single generations POSTed to /api/v1/usage-events/ at a fixed open-loop rate
  (latency from each request's scheduled send time).

The load comes from benchmarks.load in its own process. Afterwards the journal is checked: every
accepted event must be exactly one usage event and one journal transaction.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .server import ROOT, Server, gunicorn

BATCH_SIZE = 1000


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _p50(values: list[float]) -> float | None:
    return round(percentile(values, 50), 1) if values else None


def _p99(values: list[float]) -> float | None:
    return round(percentile(values, 99), 1) if values else None


def api_missing() -> str | None:
    """Why the ingest benchmark cannot run yet, or None when the API and key service exist."""
    from django.urls import Resolver404, resolve

    from .scenario import api_key_service

    for path in ("/api/v1/usage-events/", "/api/v1/usage-events/batch/"):
        try:
            resolve(path)
        except Resolver404:
            return f"{path} is not routed yet"
    if api_key_service() is None:
        return "no brand_api_key_create service yet"
    return None


def _load(server: Server, scenario, mode: str, prefix: str, *extra: str, timeout: float) -> dict:
    command = [
        sys.executable,
        "-m",
        "benchmarks.load",
        mode,
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--key",
        scenario.api_key,
        "--licenses",
        ",".join(str(license.pk) for license in scenario.licenses),
        "--prefix",
        prefix,
        *extra,
    ]
    done = subprocess.run(
        command, cwd=ROOT, stdout=subprocess.PIPE, text=True, timeout=timeout, check=True
    )
    return json.loads(done.stdout)


class Profiler:
    """py-spy on the gunicorn workers while a phase runs, when BENCH_PROFILE names a folder."""

    def __init__(self, server: Server, name: str):
        self.folder = os.environ.get("BENCH_PROFILE")
        self.server, self.name, self.process = server, name, None

    def __enter__(self):
        if self.folder:
            Path(self.folder).mkdir(parents=True, exist_ok=True)
            output = Path(self.folder) / f"{self.name}.txt"
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--pid",
                    str(self.server.process.pid),
                    "--subprocesses",
                    "--format",
                    "raw",
                    "--rate",
                    "50",
                    "--nonblocking",
                    "--output",
                    str(output),
                ],
                stdout=sys.stderr,
                stderr=sys.stderr,
            )
            log(f"profiling {self.name} into {output}")
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)


def _journal_counts(external_id_like: str) -> tuple[int, int, int]:
    """Usage events, their journal transactions and postings, for external ids LIKE this."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(DISTINCT u.id), count(DISTINCT u.transaction_id), count(p.id)
              FROM ledger_usageevent u LEFT JOIN ledger_posting p USING (transaction_id)
             WHERE u.external_id LIKE %s
            """,
            [external_id_like],
        )
        return cursor.fetchone()


def bench_ingest(
    *, scenario, database_name: str, events: int, single_rate: float, single_seconds: float
) -> Iterator[dict]:
    """Yields the ingest_batch line, then the ingest_single line, as each is measured."""
    from django.db import connection

    with gunicorn(database_name=database_name) as server:
        log(f"serving: {server.description}")
        # One client per worker keeps every worker busy (batches on one license still queue on
        # its tier counter lock, but parsing and validation overlap).
        concurrency = int(os.environ.get("BENCH_CLIENTS", "4"))
        log(f"ingest_batch: {events} events in batches of {BATCH_SIZE}, {concurrency} clients")
        batch_prefix = f"batch-{int(time.time())}"
        with Profiler(server, "ingest_batch"):
            batch = _load(
                server,
                scenario,
                "batch",
                batch_prefix,
                "--events",
                str(events),
                "--batch-size",
                str(BATCH_SIZE),
                "--concurrency",
                str(concurrency),
                "--warmup",
                str(concurrency),
                timeout=600,
            )
        if batch["errors"] or batch["accepted"] != events:
            log(f"ingest_batch: outcomes {batch['outcomes']}, HTTP {batch['http']}")
            for error in batch["errors"]:
                log(f"  {error}")
        latencies = batch["latencies_ms"]
        yield {
            "bench": "ingest_batch",
            "events": batch["accepted"],
            "events_per_s": round(batch["accepted"] / batch["wall_s"]),
            "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
            "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
            "requests": batch["requests"],
            "batch_size": BATCH_SIZE,
            "clients": concurrency,
            "shed_retries": batch["shed_retries"],
            "licenses": len(scenario.licenses),
            "server": server.shape,
        }

        log(f"ingest_single: {single_rate:g} req/s open loop for {single_seconds:g} s")
        single_prefix = f"single-{int(time.time())}"
        with Profiler(server, "ingest_single"):
            single = _load(
                server,
                scenario,
                "single",
                single_prefix,
                "--rate",
                str(single_rate),
                "--seconds",
                str(single_seconds),
                "--warmup",
                "64",
                timeout=single_seconds + 120,  # 20 s drain + 60 s request timeout + setup
            )
        if single["errors"]:
            log(f"ingest_single: HTTP {single['http']}")
            for error in single["errors"]:
                log(f"  {error}")
        latencies = single["latencies_ms"]
        yield {
            "bench": "ingest_single",
            "requests": single["requests"],
            "rate_per_s": round(single_rate),
            "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
            "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
            "events_per_s": round(single["accepted"] / single["wall_s"]),
            "accepted": single["accepted"],
            "licenses": len(scenario.licenses),
            "answered": single["answered"],
            "dropped": single["dropped"],
            "max_ms": round(max(latencies), 1) if latencies else None,
            # Past capacity the server sheds (503 + Retry-After) so that what it serves stays
            # fast: the fraction shed, how fast a shed answer came, and the served ones' tail.
            "shed": single["shed"],
            "shed_fraction": round(single["shed"] / single["requests"], 3),
            "shed_p99_ms": _p99(single["shed_latencies_ms"]),
            "served_p50_ms": _p50(single["served_latencies_ms"]),
            "served_p99_ms": _p99(single["served_latencies_ms"]),
            "server": server.shape,
        }

    # Every accepted event is one usage event with its journal transaction, exactly once.
    connection.close()
    for name, result, like in (
        ("ingest_batch", batch, f"{batch_prefix}-b%"),
        ("ingest_single", single, f"{single_prefix}-s-%"),
    ):
        events_, transactions, postings = _journal_counts(like)
        verdict = "ok" if events_ == transactions == result["accepted"] else "MISMATCH"
        log(
            f"check {name}: {result['accepted']} accepted; {events_} usage events, "
            f"{transactions} journal transactions, {postings} postings: {verdict}"
        )
