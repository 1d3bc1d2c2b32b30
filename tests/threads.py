"""Real threads on real PostgreSQL connections, released together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connection

THREADS = 8


def in_threads(fn: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Run fn(i) in n threads released at once by a barrier; each closes its own connection."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        try:
            barrier.wait(timeout=30)
            return fn(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(run, i) for i in range(n)]
        return [f.result(timeout=300) for f in futures]
