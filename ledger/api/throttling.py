"""Request quotas: per brand API key (`api_key` scope) and per logged-in user (`user` scope).

Fixed windows counted with the cache's atomic increment: one add + one incr per request, however
high the rate (SimpleRateThrottle keeps every request's timestamp in a list and rewrites it each
time). Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], read per request so that
settings overrides apply; an over-quota request is a 429 `throttled` with Retry-After.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle


class FixedWindowThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def ident(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        ident = self.ident(request)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if ident is None or not rate:
            return True
        limit, duration = SimpleRateThrottle.parse_rate(self, rate)
        now = time.time()
        window = int(now // duration)
        key = f"throttle:{self.scope}:{ident}:{window}"
        cache.add(key, 0, duration + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, duration + 1)
            count = 1
        if count > limit:
            self._wait = (window + 1) * duration - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait


class APIKeyRateThrottle(FixedWindowThrottle):
    """One quota per brand API key (by its public prefix)."""

    scope = "api_key"

    def ident(self, request) -> str | None:
        key = request.auth
        prefix = getattr(key, "prefix", None)
        return prefix if isinstance(prefix, str) else None


class UserRateThrottle(FixedWindowThrottle):
    """One quota per logged-in person (API-key requests are counted by the key instead)."""

    scope = "user"

    def ident(self, request) -> str | None:
        user = request.user
        if getattr(request.auth, "prefix", None) is not None:
            return None
        if user is None or not user.is_authenticated or user.pk is None:
            return None
        return str(user.pk)
