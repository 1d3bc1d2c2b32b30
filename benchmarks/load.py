"""HTTP load generator for the ingest benchmarks: standard library only, run as its own process.

    python -m benchmarks.load batch  --port P --key K --licenses L --events 50000 --concurrency 3
    python -m benchmarks.load single --port P --key K --licenses L --rate 200 --seconds 15

It never imports Django, so it competes with the server only for CPU, not for a GIL. Every body is
built before the clock starts. It prints one JSON object on stdout (latencies in ms, outcome
counts, wall time); benchmarks.ingest turns that into the bench lines.

- batch: closed loop. `concurrency` threads, each with its own connection (kept alive when the
  server allows it; gunicorn's sync workers close it after each response), send batches of
  `batch_size` events back to back; latency is per HTTP request.
- single: open loop. Request i is due at start + i / rate, whatever happened to earlier ones; a
  pool of sender threads takes due requests in order, and latency is measured from the due time,
  not from when a sender got to it, so a stalled server shows up in the numbers (no coordinated
  omission). The pool is large enough that senders are never what holds requests back. When the
  server falls so far behind that requests are still queued `drain` seconds after the last one
  was due, those are not sent but counted with the time they waited (a lower bound), so the run
  stays bounded in time and the percentiles stay honest.

Only loopback addresses are accepted as targets.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import queue
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

BATCH_PATH = "/api/v1/usage-events/batch/"
SHED = (503, 429)  # the server's "overloaded, retry later" answers
SINGLE_PATH = "/api/v1/usage-events/"


def event(*, external_id: str, license_id: int, occurred_at: str) -> dict:
    """A generation of a new asset: one accepted use, one journal transaction."""
    return {
        "external_id": external_id,
        "license": license_id,
        "kind": "generation",
        "asset_ref": f"asset-{external_id}",
        "channel": "social",
        "territory": "FR",
        "occurred_at": occurred_at,
        "quantity": 1,
        "context_tags": [],
    }


class Client:
    """One connection, kept alive when the server allows; reopened when the server closes it.

    A POST is retried once on a connection the server had just closed; the API is idempotent on
    external_id, so a retried request can only be answered as a replay, never counted twice.
    """

    def __init__(self, host: str, port: int, key: str, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.headers = {
            "Authorization": f"Api-Key {key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self.connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.connection.request("POST", path, body=body, headers=self.headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server had just closed: one retry on a new one.
                self.connection.close()
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def _occurred_at() -> str:
    # A minute ago: inside the license term, never "in the future".
    moment = datetime.now(UTC) - timedelta(minutes=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_batch(args: argparse.Namespace) -> dict:
    occurred_at = _occurred_at()
    n_batches = -(-args.events // args.batch_size)
    bodies = []
    for b in range(n_batches + args.warmup):
        prefix = "warm" if b < args.warmup else "b"
        size = args.batch_size
        if b >= args.warmup:
            size = min(args.batch_size, args.events - (b - args.warmup) * args.batch_size)
        items = [
            event(
                external_id=f"{args.prefix}-{prefix}{b}-{i}",
                license_id=args.licenses[b % len(args.licenses)],
                occurred_at=occurred_at,
            )
            for i in range(size)
        ]
        bodies.append(json.dumps({"events": items}).encode())
    warmup, measured = bodies[: args.warmup], bodies[args.warmup :]

    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    http_statuses: Counter[int] = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    next_index = iter(range(len(measured)))
    shed_retries = [0]
    start_line = threading.Barrier(args.concurrency + 1)

    def worker(warm: list[bytes]) -> None:
        client = Client(args.host, args.port, args.key, args.timeout)
        try:
            for body in warm:
                client.post(BATCH_PATH, body)
            start_line.wait()
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                sent = time.perf_counter()
                try:
                    status, payload = client.post(BATCH_PATH, measured[index])
                    while status in SHED:
                        # Shed (the server's worker was busy): retry as a client should, after
                        # a pause; the batch is idempotent on its external_ids. The time counts.
                        with lock:
                            shed_retries[0] += 1
                        time.sleep(0.05)
                        status, payload = client.post(BATCH_PATH, measured[index])
                except OSError as error:
                    with lock:
                        errors.append(repr(error))
                    continue
                elapsed = (time.perf_counter() - sent) * 1000
                counted = Counter()
                if status == 200:
                    counted.update(r.get("status", "?") for r in json.loads(payload)["results"])
                elif len(errors) < 5:
                    with lock:
                        errors.append(f"HTTP {status}: {payload[:300]!r}")
                with lock:
                    latencies.append(elapsed)
                    http_statuses[status] += 1
                    outcomes.update(counted)
        finally:
            client.close()

    threads = [
        threading.Thread(target=worker, args=(warmup[t :: args.concurrency],), daemon=True)
        for t in range(args.concurrency)
    ]
    for thread in threads:
        thread.start()
    start_line.wait(timeout=args.timeout)
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "mode": "batch",
        "requests": len(latencies),
        "events_sent": args.events,
        "accepted": outcomes.get("accepted", 0),
        "outcomes": dict(outcomes),
        "http": {str(k): v for k, v in http_statuses.items()},
        "errors": errors[:5],
        "wall_s": wall,
        "latencies_ms": latencies,
        "shed_retries": shed_retries[0],
    }


def run_single(args: argparse.Namespace) -> dict:
    occurred_at = _occurred_at()
    n = int(args.rate * args.seconds)
    licenses = args.licenses

    def body(external_id: str, i: int) -> bytes:
        license_id = licenses[i % len(licenses)]
        return json.dumps(
            event(external_id=external_id, license_id=license_id, occurred_at=occurred_at)
        ).encode()

    warm = [body(f"{args.prefix}-warm-{i}", i) for i in range(args.warmup)]
    bodies = [body(f"{args.prefix}-s-{i}", i) for i in range(n)]
    due: queue.SimpleQueue[tuple[int, float] | None] = queue.SimpleQueue()
    latencies: list[float] = [float("nan")] * n
    statuses: list[int] = [0] * n  # 0: never answered
    dropped = 0
    http_statuses: Counter[int] = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(args.senders + 1)
    started = 0.0  # set when the schedule starts
    give_up_at = float("inf")

    def sender(own_warm: list[bytes]) -> None:
        nonlocal dropped
        client = Client(args.host, args.port, args.key, args.timeout)
        try:
            for body in own_warm:
                client.post(SINGLE_PATH, body)
            ready.wait()
            while (item := due.get()) is not None:
                index, due_at = item
                if time.perf_counter() > give_up_at:
                    # Never sent: the server fell too far behind. Its latency is at least this.
                    latencies[index] = (time.perf_counter() - due_at) * 1000
                    with lock:
                        dropped += 1
                    continue
                try:
                    status, payload = client.post(SINGLE_PATH, bodies[index])
                except OSError as error:
                    latencies[index] = (time.perf_counter() - due_at) * 1000
                    with lock:
                        dropped += 1
                        errors.append(repr(error))
                    continue
                latencies[index] = (time.perf_counter() - due_at) * 1000
                statuses[index] = status
                with lock:
                    http_statuses[status] += 1
                    if status not in (200, 201, *SHED) and len(errors) < 5:
                        errors.append(f"HTTP {status}: {payload[:300]!r}")
        finally:
            client.close()

    senders = [
        threading.Thread(target=sender, args=(warm[t :: args.senders],), daemon=True)
        for t in range(args.senders)
    ]
    for thread in senders:
        thread.start()
    ready.wait(timeout=args.timeout)
    interval = 1.0 / args.rate
    started = time.perf_counter()
    give_up_at = started + args.seconds + args.drain
    for index in range(n):
        due_at = started + index * interval
        delay = due_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        due.put((index, due_at))
    for _ in senders:
        due.put(None)
    for thread in senders:
        thread.join(timeout=args.drain + args.timeout + 5)
    wall = time.perf_counter() - started
    done = [latency for latency in latencies if latency == latency]  # NaN: still in flight
    shed = [lat for lat, st in zip(latencies, statuses, strict=True) if st in SHED]
    served = [lat for lat, st in zip(latencies, statuses, strict=True) if st and st not in SHED]
    return {
        "mode": "single",
        "requests": n,
        "answered": sum(http_statuses.values()),
        "dropped": dropped + (n - len(done)),
        "rate_per_s": args.rate,
        "accepted": http_statuses.get(201, 0),
        "http": {str(k): v for k, v in http_statuses.items()},
        "errors": errors[:5],
        "wall_s": wall,
        # Dropped requests count with the time they had waited: a lower bound of their latency.
        "latencies_ms": done,
        # Load shedding: requests answered 503/429 (refused fast), and the latencies of the
        # ones the server did serve.
        "shed": len(shed),
        "shed_latencies_ms": shed,
        "served_latencies_ms": served,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["batch", "single"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument(
        "--licenses",
        required=True,
        type=lambda v: [int(x) for x in v.split(",")],
        help="license ids, comma-separated; batches / requests take them in turn",
    )
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--warmup", type=int, default=4, help="unmeasured requests first")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument(
        "--drain",
        type=float,
        default=20.0,
        help="single: seconds after the last scheduled send after which requests still waiting "
        "to be sent are dropped (and counted with the time they waited)",
    )
    args = parser.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error("the load generator only targets loopback addresses")
    result = run_batch(args) if args.mode == "batch" else run_single(args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
