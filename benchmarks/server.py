"""Gunicorn serving config.wsgi on a loopback port, started and stopped by the benchmark.

The listening socket is made here (127.0.0.1, a port the kernel picks) and handed to gunicorn as
`fd://N`, so there is no window in which another process could take the port. The server runs
in its own process group, so stopping it (or a crash of the benchmark) ends its workers too.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# 2 cores shared by the server, PostgreSQL and the load generator. 4 sync workers did at least as
# well as 3 sync workers or 2 gthread workers x 2 threads (30,000 events in batches, single POSTs
# at 30/s), but a sync worker leaves the excess of an overload waiting in the listen backlog,
# unseen (18 s at 200 req/s). So: 4 gthread workers, each running at most LOAD_SHED_SLOTS
# requests at once (ledger.api.overload), with spare threads that answer the excess 503 at once,
# as config/gunicorn.py runs production. Keep-alive off, as the sync workers had it: each
# request's connection is accepted by whichever worker gets to it first, so no worker is stuck
# with more kept-alive clients than the others. BENCH_WORKERS / BENCH_WORKER_CLASS /
# BENCH_THREADS / BENCH_KEEPALIVE and LOAD_SHED_SLOTS / LOAD_SHED_MAX_WAITERS /
# LOAD_SHED_MAX_WAIT_MS override. Measured on this box under load from other jobs (load average
# 9-14, so capacity was ~30 single POSTs/s), single POSTs at 60/s for 15 s: 4 sync workers with
# no shedding answered p50 18 s / p99 25 s and dropped 221 of 900; this shape shed 48% (503 in
# p99 0.55 s) and served the rest at p50 0.21 s / p99 0.78 s.
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "gthread")
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
KEEPALIVE = int(os.environ.get("BENCH_KEEPALIVE", "0"))
LOAD_SHED = {
    # One request running per worker: the 4 sync workers' concurrency, which was the best here.
    "LOAD_SHED_SLOTS": os.environ.get("LOAD_SHED_SLOTS", "1"),
    "LOAD_SHED_MAX_WAITERS": os.environ.get("LOAD_SHED_MAX_WAITERS", "2"),
    "LOAD_SHED_MAX_WAIT_MS": os.environ.get("LOAD_SHED_MAX_WAIT_MS", "250"),
}


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    process: subprocess.Popen

    @property
    def shape(self) -> str:
        threads = f" x {THREADS} threads" if WORKER_CLASS == "gthread" else ""
        shed = (
            f", shedding past {LOAD_SHED['LOAD_SHED_SLOTS']} running + "
            f"{LOAD_SHED['LOAD_SHED_MAX_WAITERS']} waiting <= {LOAD_SHED['LOAD_SHED_MAX_WAIT_MS']} ms"
            if int(LOAD_SHED["LOAD_SHED_SLOTS"]) > 0
            else ""
        )
        return f"gunicorn {WORKER_CLASS}, {WORKERS} workers{threads}{shed}"

    @property
    def description(self) -> str:
        return f"{self.shape}, on {self.host}:{self.port}"


def _wait_until_serving(host: str, port: int, process: subprocess.Popen, timeout: float) -> None:
    """Until any HTTP answer comes back (the socket accepts before a worker has booted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} while starting")
        connection = http.client.HTTPConnection(host, port, timeout=2)
        try:
            connection.request("GET", "/api/v1/")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)  # graceful: the master stops its workers
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def gunicorn(*, database_name: str, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """Serve the app on a free loopback port with benchmarks.settings on `database_name`."""
    host = "127.0.0.1"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(2048)
    port = listener.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "BENCH_DATABASE_NAME": database_name,
        "PYTHONUNBUFFERED": "1",
        **LOAD_SHED,
        **(extra_env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"fd://{listener.fileno()}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        WORKER_CLASS,
        # A sync worker given threads > 1 silently becomes gthread: threads only for gthread.
        "--threads",
        str(THREADS if WORKER_CLASS == "gthread" else 1),
        "--backlog",
        "2048",
        "--keep-alive",
        str(KEEPALIVE),
        "--timeout",
        "120",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        pass_fds=(listener.fileno(),),
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr,  # stdout is for the JSON lines only
    )
    listener.close()  # gunicorn holds its own copy
    try:
        _wait_until_serving(host, port, process, timeout=60)
        yield Server(host=host, port=port, process=process)
    finally:
        _stop(process)
