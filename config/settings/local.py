"""Developer laptop: DEBUG on, an embedded PostgreSQL in .data/ when DATABASE_URL is unset, and
the Celery broker in files under .data/broker/ when CELERY_BROKER_URL is unset."""

import os

from config.celery import broker_transport_options

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-secret")

if not env("DATABASE_URL", default=""):
    from config.embedded_db import embedded_database_url

    os.environ["DATABASE_URL"] = embedded_database_url(BASE_DIR / ".data" / "pg", keep_data=True)
    DATABASES["default"].update(env.db("DATABASE_URL"))

# kombu's filesystem transport ignores the host; naming one keeps it from warning on each connect.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost/")
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(
    CELERY_BROKER_URL, env.path("CELERY_BROKER_FOLDER", default=BASE_DIR / ".data" / "broker")
)
LEDGER_CLOSE_ON_WORKER_START = True

# `make run` on a laptop has no Stripe key: payouts and invoices go to the offline sandbox
# (ids start with sandbox_). Set STRIPE_SECRET_KEY=sk_test_... to use Stripe's test mode.
STRIPE_SANDBOX = env.bool("STRIPE_SANDBOX", default=True)

# The login page lists the demo logins; finance's second-factor page shows the current code.
PORTAL_DEMO_HINTS = env.bool("PORTAL_DEMO_HINTS", default=True)
