"""Production settings refuse to start without a secret key and pass `check --deploy`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

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
