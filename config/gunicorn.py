"""Production gunicorn settings: `gunicorn -c python:config.gunicorn config.wsgi`.

gthread workers, so that a request past capacity reaches the app's load-shedding gate at once
(ledger.api.overload) instead of waiting, unseen and unbounded, in the listen backlog: each
worker has more threads than LOAD_SHED_SLOTS + LOAD_SHED_MAX_WAITERS, and the spare threads
answer the excess with a fast 503. Every value can be overridden from the environment.
"""

from __future__ import annotations

import multiprocessing
import os

_slots = int(os.environ.get("LOAD_SHED_SLOTS", "2"))
_waiters = int(os.environ.get("LOAD_SHED_MAX_WAITERS", "4"))

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(multiprocessing.cpu_count() * 2)))
worker_class = "gthread"
# Enough threads to hold the running, the waiting, and a few being shed at once.
threads = int(os.environ.get("GUNICORN_THREADS", str(_slots + _waiters + 4)))
# A short backlog: connections the workers cannot even accept are refused quickly by the kernel
# rather than left to wait there.
backlog = int(os.environ.get("GUNICORN_BACKLOG", "256"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
