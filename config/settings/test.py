"""Test run: a real PostgreSQL — DATABASE_URL when set, otherwise an embedded one in a scratch folder."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, env

SECRET_KEY = "test-only-not-secret"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only

if not env("DATABASE_URL", default=""):
    from config.embedded_db import embedded_database_url

    scratch = Path(tempfile.mkdtemp(prefix="twinledger-test-"))
    # Exported so that subprocesses (Celery workers, the served app) use the same server.
    os.environ["DATABASE_URL"] = embedded_database_url(scratch / "pg", keep_data=False)
    DATABASES["default"].update(env.db("DATABASE_URL"))

# Exports in a scratch folder, exported so that the test Celery worker writes to the same one.
if not env("DJANGO_MEDIA_ROOT", default=""):
    os.environ["DJANGO_MEDIA_ROOT"] = tempfile.mkdtemp(prefix="twinledger-media-")
MEDIA_ROOT = Path(os.environ["DJANGO_MEDIA_ROOT"])
STORAGES["exports"]["OPTIONS"]["location"] = MEDIA_ROOT / "exports"  # noqa: F405

# Our PostgreSQL backend with one change: the test runner's flush may clear the journal.
DATABASES["default"]["ENGINE"] = "tests.db_backend"
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_twinledger")}

# Most tests keep their data in one uncommitted transaction that other connections cannot see:
# the close works its chunks on this connection alone unless a test asks for more.
LEDGER_CLOSE_WORKERS = env.int("LEDGER_CLOSE_WORKERS", default=1)

# The close watchdog acts on a run that has not moved for this long (production: 300 s), so a
# test that kills a worker sees its close resumed in seconds. Every worker subprocess reads it.
LEDGER_CLOSE_STALL_SECONDS = env.int("LEDGER_CLOSE_STALL_SECONDS", default=2)
