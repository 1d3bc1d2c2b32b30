"""Load shedding (ledger.api.overload): past capacity a request gets a fast 503 with Retry-After
in the API's error shape instead of queueing. Decided by the gate's state, never by timing."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from ledger.api.overload import Gate, LoadSheddingMiddleware


def test_a_free_slot_is_taken_at_once_and_given_back():
    gate = Gate(slots=2, max_waiters=0, max_wait=0)
    assert gate.enter()
    assert gate.enter()
    assert not gate.enter()  # both slots taken, no one may wait: shed
    gate.leave()
    assert gate.enter()


def test_with_no_waiting_allowed_a_full_gate_sheds_without_waiting():
    # max_wait is an hour: had the caller waited, this test would hang instead of passing.
    gate = Gate(slots=1, max_waiters=0, max_wait=3600)
    assert gate.enter()
    assert not gate.enter()


def test_a_zero_wait_sheds_even_when_waiting_is_allowed():
    gate = Gate(slots=1, max_waiters=5, max_wait=0)
    assert gate.enter()
    assert not gate.enter()
    assert gate.waiting == 0


def test_past_max_waiters_a_request_is_shed_while_the_waiter_gets_the_next_slot():
    gate = Gate(slots=1, max_waiters=1, max_wait=3600)
    assert gate.enter()
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(gate.enter()))
    waiter.start()
    while gate.waiting < 1:  # until the waiter is queued (a state, not a duration)
        threading.Event().wait(0.001)
    assert not gate.enter()  # one waiting already: the next is shed at once
    gate.leave()  # the slot goes to the waiter
    waiter.join(timeout=30)
    assert got == [True]
    assert gate.waiting == 0
    gate.leave()  # the waiter is done
    assert gate.enter()


def test_a_gate_needs_a_slot():
    with pytest.raises(ValueError):
        Gate(slots=0, max_waiters=0, max_wait=0)


@override_settings(LOAD_SHED_SLOTS=0)
def test_with_no_slots_configured_the_middleware_is_not_used():
    with pytest.raises(MiddlewareNotUsed):
        LoadSheddingMiddleware(lambda request: HttpResponse())


def _middleware(view=None) -> LoadSheddingMiddleware:
    with override_settings(LOAD_SHED_SLOTS=1, LOAD_SHED_MAX_WAITERS=0, LOAD_SHED_MAX_WAIT_MS=0):
        return LoadSheddingMiddleware(view or (lambda request: HttpResponse("served")))


def test_an_api_request_past_capacity_is_503_overloaded_with_retry_after():
    middleware = _middleware()
    assert middleware.gate.enter()  # a request in flight holds the only slot
    response = middleware(RequestFactory().post("/api/v1/usage-events/"))
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body == {"code": "overloaded", "detail": body["detail"], "field": ""}


def test_a_portal_request_past_capacity_is_503_text_with_retry_after():
    middleware = _middleware()
    assert middleware.gate.enter()
    response = middleware(RequestFactory().get("/brand/"))
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response["Content-Type"].startswith("text/plain")


def test_a_request_within_capacity_is_served_and_frees_its_slot():
    middleware = _middleware()
    assert middleware(RequestFactory().get("/api/v1/")).content == b"served"
    assert middleware(RequestFactory().get("/api/v1/")).content == b"served"
    assert middleware.gate.enter()  # the slot was given back each time


def test_a_view_that_raises_still_frees_its_slot():
    def crash(request):
        raise RuntimeError("boom")

    middleware = _middleware(crash)
    with pytest.raises(RuntimeError):
        middleware(RequestFactory().get("/api/v1/"))
    assert middleware.gate.enter()


def test_the_middleware_runs_first():
    from django.conf import settings

    assert settings.MIDDLEWARE[0] == "ledger.api.overload.LoadSheddingMiddleware"


def test_production_sheds_and_its_gunicorn_has_threads_to_spare():
    from config import gunicorn

    assert gunicorn.worker_class == "gthread"
    assert gunicorn.threads > gunicorn._slots + gunicorn._waiters
