"""Developer laptop: DEBUG on, and an embedded PostgreSQL in .data/ when DATABASE_URL is unset."""

import os

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-secret")

if not env("DATABASE_URL", default=""):
    from config.embedded_db import embedded_database_url

    os.environ["DATABASE_URL"] = embedded_database_url(BASE_DIR / ".data" / "pg", keep_data=True)
    DATABASES["default"].update(env.db("DATABASE_URL"))
