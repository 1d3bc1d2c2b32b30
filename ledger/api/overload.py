"""Load shedding: past capacity, answer 503 at once instead of queueing for seconds.

Why here, and how. A gunicorn sync worker takes one connection at a time; the rest wait in the
kernel's listen backlog, where no one can see how long they have waited (gunicorn sets no
request-start header and there is no proxy in front to set one). At twice capacity that queue
only grows: requests were answered after up to 18 s, long after any client had given up.

So the queue is moved to where it can be bounded: gunicorn's gthread worker hands each request
to a thread at once, and this middleware (first in MIDDLEWARE) admits at most `slots` requests
per process into the application. A request that finds every slot taken waits for one, but
only while fewer than `max_waiters` others are already waiting and for at most `max_wait_ms`;
otherwise it is answered 503 `overloaded` with `Retry-After` (the API's JSON error shape under
/api/). An answered request has therefore waited at most `max_wait_ms` before it ran, and a shed
one costs the server well under a millisecond. Run the app with more threads per worker than
`slots + max_waiters` (config/gunicorn.py does), so that requests reach this gate instead of
queueing in front of the thread pool.

Per process, not global: a worker killed mid-request cannot leak a slot, and no cross-process
lock sits on the hot path (one uncontended semaphore acquire and release per request: well under
a microsecond each).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse, JsonResponse

from ledger.api.errors import API_PREFIX, error_body

RETRY_AFTER_SECONDS = 1


class Gate:
    """At most `slots` holders; a caller waits for a slot only while fewer than `max_waiters`
    are waiting, and for at most `max_wait` seconds. `enter()` says whether it got a slot;
    whoever got one must `leave()`."""

    def __init__(self, *, slots: int, max_waiters: int, max_wait: float):
        if slots < 1:
            raise ValueError("a gate needs at least one slot")
        self.slots = slots
        self.max_waiters = max_waiters
        self.max_wait = max_wait
        self._free = threading.Semaphore(slots)
        self._lock = threading.Lock()
        self.waiting = 0

    def enter(self) -> bool:
        if self._free.acquire(blocking=False):  # the common case: no contention at all
            return True
        with self._lock:
            if self.waiting >= self.max_waiters:
                return False
            self.waiting += 1
        try:
            return self.max_wait > 0 and self._free.acquire(timeout=self.max_wait)
        finally:
            with self._lock:
                self.waiting -= 1

    def leave(self) -> None:
        self._free.release()


def overloaded_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse(
            error_body("overloaded", "The server is at capacity; retry after Retry-After."),
            status=503,
        )
    else:
        response = HttpResponse(
            "The server is at capacity; please retry in a moment.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Not logged one by one (Django logs every 5xx): under overload that is thousands of lines
    # a second, written by a server that has no time to spare.
    response._has_been_logged = True
    return response


class LoadSheddingMiddleware:
    """Settings: LOAD_SHED_SLOTS (0: off, the middleware unloads itself), LOAD_SHED_MAX_WAITERS,
    LOAD_SHED_MAX_WAIT_MS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        slots = settings.LOAD_SHED_SLOTS
        if slots <= 0:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.gate = Gate(
            slots=slots,
            max_waiters=settings.LOAD_SHED_MAX_WAITERS,
            max_wait=settings.LOAD_SHED_MAX_WAIT_MS / 1000,
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.gate.enter():
            return overloaded_response(request)
        try:
            # A streamed body (CSV export) is produced after this returns, outside the gate:
            # the gate bounds the views' work, which is what queues.
            return self.get_response(request)
        finally:
            self.gate.leave()
