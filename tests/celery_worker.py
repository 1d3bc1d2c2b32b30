"""A real Celery worker in a subprocess, for tests that must see tasks run as in production.

The worker is `python -m celery -A config worker` (solo pool) with config.settings.test, pointed
at the test database; it consumes only a queue of its own, so nothing left over from another
test or a killed worker reaches it, and everything it enqueues itself (a chain's next link) goes
to that queue too. Data a test wants the worker to see must be committed: the fixture depends on
`committed_db`.

    def test_it(celery_worker_process):
        celery_worker_process.send("ledger.tasks.seal_blocks")

The broker, in order: CELERY_BROKER_URL when set (CI: Redis); else Redis at 127.0.0.1:6379 when
it answers PING (LEDGER_TEST_REDIS_URL names another); else kombu's filesystem transport in a
scratch folder, so a fresh laptop without Redis still runs the suite.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import environ
import pytest
from django.db import connection

from config.celery import app as celery_app
from config.celery import broker_transport_options

ROOT = Path(__file__).resolve().parents[1]
REDIS_PROBE_URL = os.environ.get("LEDGER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10


@dataclass(frozen=True)
class Broker:
    url: str
    transport_options: dict
    kind: str  # "environment", "redis" or "filesystem": which rule chose it


def choose_broker(scratch: Path) -> Broker:
    """CELERY_BROKER_URL, else a local Redis that answers, else files in `scratch`."""
    if url := os.environ.get("CELERY_BROKER_URL"):
        folder = Path(os.environ.get("CELERY_BROKER_FOLDER") or scratch)
        return Broker(url, broker_transport_options(url, folder), "environment")
    if redis_answers(REDIS_PROBE_URL):
        return Broker(REDIS_PROBE_URL, {}, "redis")
    url = "filesystem://localhost/"
    return Broker(url, broker_transport_options(url, scratch), "filesystem")


def redis_answers(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL that django-environ reads back as this connection (the test database)."""
    user = quote(settings_dict["USER"] or "", safe="")
    password = settings_dict["PASSWORD"] or ""
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host = settings_dict["HOST"] or ""
    port = str(settings_dict["PORT"] or "")
    name = quote(settings_dict["NAME"], safe="")
    if host.startswith("/") and port:
        url = f"postgres://{auth}@:{port}/{name}?host={quote(host, safe='/')}"
    elif host.startswith("/"):
        # The form config/embedded_db.py uses: an absolute path before the name is the socket dir.
        url = f"postgres://{auth}@/{host}/{name}"
    else:
        url = f"postgres://{auth}@{host}{':' + port if port else ''}/{name}"
    parsed = environ.Env.db_url_config(url)
    effective_host = parsed["HOST"] or (parsed.get("OPTIONS") or {}).get("host", "")
    assert (parsed["NAME"], parsed["USER"], effective_host, str(parsed["PORT"] or "")) == (
        settings_dict["NAME"],
        settings_dict["USER"] or "",
        host,
        port,
    ), f"{url} does not read back as the test database"
    return url


class CeleryWorkerProcess:
    """One worker subprocess on its own queue; `start()` again after `kill()` for a new one."""

    def __init__(self, *, broker: Broker, queue: str, database_url: str, log_path: Path):
        self.broker = broker
        self.queue = queue
        self.database_url = database_url
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log_offset = 0  # where the current process's output starts in the log file
        # Set before start(): environment for the next worker only, CELERY_* included (a
        # test's own CELERY_* variables are not passed on: the broker is the fixture's).
        self.extra_env: dict[str, str] = {}

    @property
    def pid(self) -> int:
        assert self.process is not None, "the worker was never started"
        return self.process.pid

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=info",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--queues",
            self.queue,
            "--hostname",
            f"{self.queue}@%h",
        ]

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("CELERY_")}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DATABASE_URL=self.database_url,
            CELERY_BROKER_URL=self.broker.url,
            CELERY_TASK_DEFAULT_QUEUE=self.queue,
            PYTHONUNBUFFERED="1",
        )
        if folder := self._broker_folder():
            env["CELERY_BROKER_FOLDER"] = folder
        env.update(self.extra_env)
        return env

    def _broker_folder(self) -> str | None:
        messages = self.broker.transport_options.get("data_folder_in")
        return str(Path(messages).parent) if messages else None

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self.process = subprocess.Popen(
                self.argv(),
                cwd=ROOT,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes all of it
            )

    def log(self) -> str:
        """Everything the current worker process has printed so far."""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until the worker logs "ready"; fails with its log if it exits or takes too long."""
        deadline = time.monotonic() + timeout
        while " ready." not in self.log():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Celery worker exited with code {self.process.returncode}:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"Celery worker not ready after {timeout} s:\n{self.log()}")
            time.sleep(0.1)

    def send(self, task_name: str, *args, **kwargs) -> str:
        """Enqueue `task_name` on this worker's queue through the project's app; its task id."""
        with celery_app.connection_for_write() as conn:
            result = celery_app.send_task(
                task_name, args=args, kwargs=kwargs, queue=self.queue, connection=conn
            )
        return result.id

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (a crash, as far as the broker can tell)."""
        if self.process is None or self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Warm shutdown (SIGTERM: finish the task at hand), then SIGKILL after `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def purge(self) -> int:
        """Drop every message waiting on this worker's queue; how many there were."""
        with celery_app.connection_for_write() as conn:
            queue = celery_app.amqp.queues[self.queue].bind(conn.default_channel)
            queue.declare()
            return queue.purge() or 0

    def delete_queue(self) -> None:
        """Remove the queue and its binding from the broker (declared first: kombu deletes only
        the bindings this connection knows of)."""
        with celery_app.connection_for_write() as conn:
            queue = celery_app.amqp.queues[self.queue].bind(conn.default_channel)
            queue.declare()
            queue.delete()


def _drop_connection_pools() -> None:
    """Make the app connect again with the broker settings just changed (as after a fork)."""
    celery_app._pool = None
    with suppress(AttributeError, KeyError):
        celery_app.__dict__["amqp"]._producer_pool = None


@contextmanager
def celery_worker() -> Iterator[CeleryWorkerProcess]:
    """Start a worker on a fresh queue, wait until it is ready, and always stop it afterwards.

    The test process's own app is pointed at the same broker and queue meanwhile, so that
    `send()` and any `.delay()` in code under test reach this worker.
    """
    scratch = Path(tempfile.mkdtemp(prefix="twinledger-celery-"))
    broker = choose_broker(scratch / "broker")
    queue = f"test-{uuid.uuid4().hex[:12]}"
    worker = CeleryWorkerProcess(
        broker=broker,
        queue=queue,
        database_url=database_url(connection.settings_dict),
        log_path=scratch / "worker.log",
    )
    keys = ("broker_url", "broker_transport_options", "task_default_queue")
    saved = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(
        broker_url=broker.url,
        broker_transport_options=broker.transport_options,
        task_default_queue=queue,
    )
    _drop_connection_pools()
    try:
        worker.purge()
        worker.start()
        worker.wait_ready()
        yield worker
    finally:
        try:
            worker.stop()
        finally:
            worker.kill()  # whatever stop() left, e.g. after an interrupted wait
            with suppress(Exception):  # the broker may be what failed
                worker.delete_queue()
            celery_app.conf.update(saved)
            _drop_connection_pools()
            shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def celery_worker_process(committed_db) -> Iterator[CeleryWorkerProcess]:
    """A real Celery worker (subprocess, solo pool) on the test database and its own queue.

    API: `.send(task_name, *args, **kwargs)` enqueues on its queue and returns the task id;
    `.pid`; `.wait_ready(timeout)`; `.log()` (its output so far); `.kill()` (SIGKILL) and
    `.stop()` (warm shutdown, then SIGKILL); `.start()` starts a new worker on the same queue,
    with `.extra_env` added to its environment.
    Needs committed data (committed_db). Broker: CELERY_BROKER_URL, else Redis on
    127.0.0.1:6379 if it answers, else a filesystem broker in a scratch folder — a fresh laptop
    without Redis still runs the suite. The worker is stopped at teardown whatever happened.
    """
    with celery_worker() as worker:
        yield worker
