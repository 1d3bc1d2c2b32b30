"""Settings of the app that gunicorn serves during `make bench`.

The test settings (PostgreSQL from DATABASE_URL, which benchmarks.run exports, even when it
started an embedded server) pointed at the scratch database that benchmarks.run created, and
tuned the way a production deployment would be: DEBUG off, persistent connections, no per-request
logging, throttling quotas out of reach.
"""

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES, REST_FRAMEWORK, env

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

DATABASES["default"]["NAME"] = env("BENCH_DATABASE_NAME", default="twinledger_bench")
# The plain backend, as production runs; the test backend only changes flush.
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = None
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
DATABASES["default"].pop("TEST", None)

# Throttling stays on (its cache round trips are part of every request) with quotas that the
# benchmark, one brand sending far more than any brand's quota, never reaches.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        scope: "1000000/second" for scope in REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # 4xx answers (refusals, replays) are expected in a benchmark; 5xx still show.
    "loggers": {"django.request": {"level": "ERROR"}},
}

# The close as production runs it (base settings): two connections working off its chunks.
LEDGER_CLOSE_WORKERS = env.int("LEDGER_CLOSE_WORKERS", default=2)
