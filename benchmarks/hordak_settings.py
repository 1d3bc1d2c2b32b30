"""Settings of the django-hordak peer (benchmarks.hordak_peer): hordak alone, in its own database.

Nothing of Twin Ledger is installed here. The server is DATABASE_URL's (benchmarks.run exports
it, also for an embedded PostgreSQL); the scratch database on it is created and dropped by
benchmarks.hordak_peer.
"""

import environ

env = environ.Env()

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "mptt",
    "djmoney",
    "hordak",
]

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = None
DATABASES["default"]["TEST"] = {
    "NAME": env("HORDAK_DATABASE_NAME", default="twinledger_bench_hordak")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DEFAULT_CURRENCY = "EUR"
CURRENCIES = ["EUR"]
HORDAK_INTERNAL_CURRENCY = "EUR"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
