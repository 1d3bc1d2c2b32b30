"""Production: everything from the environment; refuses to start without a real secret key."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import STORAGES, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random value of 50+ characters.")
if not env("DATABASE_URL", default=""):
    raise ImproperlyConfigured("DATABASE_URL must be set in production.")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# Throttle counters must be shared by every web process: CACHE_URL (ledger/checks.py).
LEDGER_SHARED_CACHE_REQUIRED = True

# Load shedding on (see config/gunicorn.py for the matching worker threads).
LOAD_SHED_SLOTS = env.int("LOAD_SHED_SLOTS", default=2)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Asset images on S3-compatible storage (AWS S3, MinIO, Scaleway, R2...) when a bucket is named;
# private objects, no public URL (the portal and the API stream them after checking the party).
ASSET_IMAGES_BUCKET = env("ASSET_IMAGES_S3_BUCKET", default="")
if ASSET_IMAGES_BUCKET:
    STORAGES["asset_images"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ASSET_IMAGES_BUCKET,
            "endpoint_url": env("ASSET_IMAGES_S3_ENDPOINT_URL", default=None),
            "region_name": env("ASSET_IMAGES_S3_REGION", default=None),
            "access_key": env("ASSET_IMAGES_S3_ACCESS_KEY_ID", default=None),
            "secret_key": env("ASSET_IMAGES_S3_SECRET_ACCESS_KEY", default=None),
            "location": env("ASSET_IMAGES_S3_PREFIX", default="asset-images"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
            "object_parameters": {"CacheControl": "private, no-store"},
        },
    }
