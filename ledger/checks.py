"""System checks on the settings the ledger's safeguards depend on.

`shared_cache_check`: API throttling (and django-axes, with its cache handler, and cache-only
sessions) count in the Django cache. A per-process cache (LocMem) gives each web process its
own counters — with N processes every quota is N times larger, and a restart forgets them — and
the dummy cache counts nothing, so no quota ever applies. That is harmless on a laptop and in
tests, and a silent loss of a security control in production (issue 15, item 10).

It is an Error, not a Warning, where LEDGER_SHARED_CACHE_REQUIRED is on (production settings):
`manage.py check` and `migrate` then refuse to run, so a deploy without CACHE_URL stops at its
first management command instead of serving with quotas nobody enforces. A deliberately
single-process deployment can acknowledge it with SILENCED_SYSTEM_CHECKS = ["ledger.E001"].
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

# Cache backends whose entries other processes cannot see.
NOT_SHARED = {
    "django.core.cache.backends.locmem.LocMemCache": "per-process memory",
    "django.core.cache.backends.dummy.DummyCache": "a dummy cache that keeps nothing",
}
AXES_CACHE_HANDLER = "axes.handlers.cache.AxesCacheHandler"
CACHE_SESSIONS = "django.contrib.sessions.backends.cache"


def cache_users() -> dict[str, list[str]]:
    """Which cache alias each cache-counting safeguard in these settings uses."""
    users: dict[str, list[str]] = {}
    if settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_CLASSES"):
        # DRF's throttles, and ours (ledger.api.throttling), count in the default cache.
        users.setdefault("default", []).append("API throttling (REST_FRAMEWORK)")
    if getattr(settings, "AXES_HANDLER", "") == AXES_CACHE_HANDLER:
        alias = getattr(settings, "AXES_CACHE", "default")
        users.setdefault(alias, []).append("login lockouts (django-axes' cache handler)")
    if settings.SESSION_ENGINE == CACHE_SESSIONS:
        users.setdefault(settings.SESSION_CACHE_ALIAS, []).append("sessions (cache-only)")
    return users


@register(Tags.caches, Tags.security)
def shared_cache_check(app_configs=None, **kwargs) -> list[Error]:
    if not getattr(settings, "LEDGER_SHARED_CACHE_REQUIRED", False):
        return []
    errors = []
    for alias, users in cache_users().items():
        backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
        if backend in NOT_SHARED:
            errors.append(
                Error(
                    f"The {alias!r} cache is {NOT_SHARED[backend]} ({backend}), but it "
                    f"holds the counts of {' and '.join(users)}: each process would keep its "
                    "own, so those limits would not hold.",
                    hint=(
                        "Set CACHE_URL to a cache every web process shares, e.g. "
                        "redis://127.0.0.1:6379/1."
                    ),
                    id="ledger.E001",
                )
            )
    return errors
