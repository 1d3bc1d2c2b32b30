"""Production settings refuse to start without a secret key, a database or a shared cache, and
pass `check --deploy`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from ledger.checks import shared_cache_check

ROOT = Path(__file__).resolve().parents[1]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key != "DATABASE_URL"
    }
    environment.update(DJANGO_SETTINGS_MODULE="config.settings.production", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DATABASE_URL": "postgres://twinledger@db.invalid:5432/twinledger",
    "DJANGO_ALLOWED_HOSTS": "ledger.example.com",
    "CACHE_URL": "redis://cache.invalid:6379/1",
}


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_a_database_url():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DATABASE_URL"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DATABASE_URL must be set" in result.stderr


def test_production_settings_pass_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_run_with_a_cache_each_process_keeps_to_itself():
    """Without CACHE_URL the throttles would count in per-process memory: every quota times the
    number of processes, forgotten on restart. ledger.E001 stops `check` (and so `migrate`)."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "CACHE_URL"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "ledger.E001" in result.stderr
    assert "per-process memory" in result.stderr
    assert "API throttling" in result.stderr
    assert "Set CACHE_URL" in result.stderr


def test_production_refuses_a_dummy_cache_that_would_count_nothing():
    result = manage("check", **{**PRODUCTION_ENV, "CACHE_URL": "dummycache://"})
    assert result.returncode != 0
    assert "ledger.E001" in result.stderr
    assert "a dummy cache that keeps nothing" in result.stderr


def test_the_shared_cache_check_covers_axes_on_its_own_cache_alias(settings):
    """django-axes' cache handler counts failed logins in AXES_CACHE: that alias must be shared
    too, even when the default one is."""
    settings.LEDGER_SHARED_CACHE_REQUIRED = True
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"},
        "axes": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    settings.AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
    settings.AXES_CACHE = "axes"

    [error] = shared_cache_check()

    assert error.id == "ledger.E001"
    assert error.msg.startswith("The 'axes' cache is per-process memory")
    assert "login lockouts" in error.msg


def test_the_shared_cache_check_leaves_development_and_tests_alone(settings):
    assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    assert not settings.LEDGER_SHARED_CACHE_REQUIRED
    assert shared_cache_check() == []


STORAGE_PROBE = (
    "from django.core.files.storage import storages; s = storages['asset_images']; "
    "print(type(s).__name__, getattr(s, 'bucket_name', '-'), getattr(s, 'endpoint_url', '-'), "
    "getattr(s, 'default_acl', '-'), getattr(s, 'querystring_auth', '-'))"
)


def test_asset_images_go_to_s3_compatible_storage_when_a_bucket_is_named():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        STORAGE_PROBE,
        **PRODUCTION_ENV,
        ASSET_IMAGES_S3_BUCKET="tl-asset-images",
        ASSET_IMAGES_S3_ENDPOINT_URL="https://s3.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "S3Storage",
        "tl-asset-images",
        "https://s3.example.com",
        "private",
        "True",
    ]


def test_asset_images_stay_on_private_local_storage_without_a_bucket():
    result = manage("shell", "--no-imports", "-c", STORAGE_PROBE, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "FileSystemStorage"
