"""Settings shared by every environment; everything that differs comes from the environment."""

from datetime import timedelta
from pathlib import Path

import environ

from config.celery import DEFAULT_VISIBILITY_TIMEOUT_S, broker_transport_options

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "config.admin_apps.TwinLedgerAdminConfig",  # django.contrib.admin behind the 2nd factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "accounts",
    "ledger",
]

MIDDLEWARE = [
    # First: past capacity a request is shed before anything else spends time on it.
    "ledger.api.overload.LoadSheddingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# Load shedding (ledger.api.overload), per server process: requests running at once, requests
# allowed to wait for one of those slots, and how long they may wait before a 503. 0 slots: off
# (development and tests, one request at a time). Production sets them (config/gunicorn.py runs
# gthread workers with more threads than slots + waiters).
LOAD_SHED_SLOTS = env.int("LOAD_SHED_SLOTS", default=0)
LOAD_SHED_MAX_WAITERS = env.int("LOAD_SHED_MAX_WAITERS", default=4)
LOAD_SHED_MAX_WAIT_MS = env.int("LOAD_SHED_MAX_WAIT_MS", default=500)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ledger.portal.context.portal",
            ],
        },
    },
]

# DATABASE_URL is set by the environment (CI, production) or by local/test settings,
# which start an embedded PostgreSQL when it is absent.
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/twinledger")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Under /api/ a CSRF failure answers in the API's error shape (ledger.api.errors).
CSRF_FAILURE_VIEW = "ledger.api.errors.csrf_failure"
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:login"

# Failed logins (portal and admin): after AXES_FAILURE_LIMIT failures for one email from one
# address, that pair is locked out for AXES_COOLOFF_MINUTES (HTTP 429); a success resets it.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Login forms (portal and admin) post the email as `username` (axes would look for `email`).
AXES_USERNAME_FORM_FIELD = "username"
# ...and count the email as login finds it (stripped, lower-cased), not as typed.
AXES_USERNAME_CALLABLE = "accounts.backends.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# Finance's second factor: TOTP (django-otp); the issuer names the app in authenticator apps.
OTP_TOTP_ISSUER = "Twin Ledger"
# Demo only (local settings): the login page lists the demo logins and the finance second-factor
# page shows the current code, so `make run` can be tried without an authenticator app.
PORTAL_DEMO_HINTS = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")

# Files the system keeps (finance exports built by the worker, uploaded asset images: likenesses
# of real people). No MEDIA_URL and no URL pattern serves MEDIA_ROOT: nothing here is public;
# views stream each file through the storage API after their checks (an asset image only to the
# license's parties). Web processes and workers must share it (one disk, or a shared storage
# backend in production: asset images go to S3-compatible storage, config/settings/production.py).
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "exports", "base_url": None},
    },
    # No location: FileSystemStorage reads MEDIA_ROOT when used (tests point it at a tmp dir).
    "asset_images": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
}

# The cache holds API throttle counters: set CACHE_URL to Redis (redis://127.0.0.1:6379/1) when
# more than one process serves the API, so every worker counts against one quota.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# On in production: a cache the throttles (or axes, or sessions) count in must be shared, or
# `manage.py check` fails with ledger.E001 (ledger/checks.py).
LEDGER_SHARED_CACHE_REQUIRED = False

# API throttling: per brand API key, and per logged-in user (fixed one-second/minute windows in
# the default cache; Redis in production so that every worker counts against one quota).
API_KEY_THROTTLE_RATE = env("API_KEY_THROTTLE_RATE", default="6000/min")
USER_THROTTLE_RATE = env("USER_THROTTLE_RATE", default="1200/min")

REST_FRAMEWORK = {
    # The API key comes first: its WWW-Authenticate header makes a missing login a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ledger.api.authentication.BrandAPIKeyAuthentication",
        # A person's portal session; finance and staff only once their second factor is passed.
        "ledger.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["ledger.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "ledger.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "ledger.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "ledger.api.throttling.APIKeyRateThrottle",
        "ledger.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"api_key": API_KEY_THROTTLE_RATE, "user": USER_THROTTLE_RATE},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Twin Ledger API",
    "DESCRIPTION": (
        "Consent-gated licensing and usage capture for AI digital twins. Every error is "
        '`{"code": "...", "detail": "...", "field": "..."}`; `code` is stable, `field` names the '
        "input at fault (e.g. `events[3].quantity`) or is empty."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ledger.api.schema.error_codes_hook",
    ],
    "ENUM_NAME_OVERRIDES": {
        "UseKindEnum": "ledger.vocabulary.UseKind",
        "AssetApprovalEnum": "ledger.api.serializers.ASSET_APPROVALS",
        "LicenseStatusEnum": "ledger.api.serializers.LICENSE_STATUSES",
        "LicenseVersionStateEnum": "ledger.api.serializers.VERSION_STATES",
        "UsageEventStatusEnum": "ledger.api.serializers.USAGE_EVENT_STATUSES",
        "UsageOutcomeEnum": "ledger.api.serializers.OUTCOMES",
        "EffectiveRightsStateEnum": "ledger.selectors.rights.STATES",
        "ConsentConflictRightEnum": "ledger.selectors.rights.RIGHTS",
        "LateReportStateEnum": "ledger.api.serializers.LATE_REPORT_STATES",
        "LateReportReasonEnum": "ledger.models.LateReport.Reason",
        "RunStatusEnum": "ledger.api.statements.RUN_STATUSES",
    },
}

# Ledger: how many journal transactions one sealed block holds at most.
LEDGER_BLOCK_SIZE = env.int("LEDGER_BLOCK_SIZE", default=1024)
# Period close: days after a period's end before the scheduled close runs (late usage arrives),
# accounts per close transaction, and the payout threshold in major units of each currency.
LEDGER_CLOSE_GRACE_DAYS = env.int("LEDGER_CLOSE_GRACE_DAYS", default=5)
# 500: an account costs the close a few total rows now (the fold read its postings), so a
# chunk's own round trips and commit are most of its time.
LEDGER_CLOSE_CHUNK = env.int("LEDGER_CLOSE_CHUNK", default=500)
# Connections working off a close's chunks at once (threads of the process running the close).
LEDGER_CLOSE_WORKERS = env.int("LEDGER_CLOSE_WORKERS", default=2)
# The close watchdog (beat, every minute; ledger.tasks.close_watchdog): a close that has not
# moved (a chunk done, a phase begun) for this long while no live process holds the close lock
# lost its worker, and is resumed. The lock rules out a slow but live close, so this only sets
# how soon a dead one is picked up. After LEDGER_CLOSE_MAX_RESUMES automatic resumes (watchdog
# or broker redelivery) it is failed with the reason instead: a close that kills its worker
# every time waits for finance, not for the next retry.
LEDGER_CLOSE_STALL_SECONDS = env.int("LEDGER_CLOSE_STALL_SECONDS", default=300)
LEDGER_CLOSE_MAX_RESUMES = env.int("LEDGER_CLOSE_MAX_RESUMES", default=3)
LEDGER_MINIMUM_PAYOUT = env("LEDGER_MINIMUM_PAYOUT", default="25.00")
# The fold (ledger.services.coverage): journal ids per transaction when it catches up.
LEDGER_FOLD_SLICE = env.int("LEDGER_FOLD_SLICE", default=100_000)
# The platform's fee on licenses a brand requests in the portal (percent of every amount).
PORTAL_PLATFORM_FEE_PCT = env("PORTAL_PLATFORM_FEE_PCT", default="10")

# Stripe (ledger/gateways/stripe.py). An empty secret key: Stripe is not configured and the
# gateway refuses calls. STRIPE_API_BASE points the client elsewhere (tests: a local fake);
# unset, Stripe's own addresses. The webhook secret verifies Stripe-Signature headers.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default=None)
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Without a key: the offline sandbox gateway (records what would be sent) instead of refusing.
STRIPE_SANDBOX = env.bool("STRIPE_SANDBOX", default=False)

# Celery (config/celery.py reads every CELERY_* setting). The broker is Redis in production and
# CI; `filesystem://` is kombu's broker in plain files (CELERY_BROKER_FOLDER), for a laptop with
# no server. No result backend: tasks report through the database.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
# Redis (and SQS) hand an unacknowledged message to another worker once it has been out for
# the visibility timeout: how long a task whose worker died waits to run again. It must exceed
# the longest countdown a task is retried with (payouts and invoices back off up to an hour;
# shorter, a waiting retry is delivered again and again, each copy a duplicate) and should
# exceed the longest task (shorter, a live close is delivered to a second worker, which finds
# the lock taken and retries every minute). Hence two hours; a dead close does not wait for it:
# the close watchdog resumes it within minutes (LEDGER_CLOSE_STALL_SECONDS).
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(
    CELERY_BROKER_URL,
    env.path("CELERY_BROKER_FOLDER", default=BASE_DIR / ".data" / "broker"),
    visibility_timeout_s=env.int(
        "CELERY_BROKER_VISIBILITY_TIMEOUT_S", default=DEFAULT_VISIBILITY_TIMEOUT_S
    ),
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_RESULT_EXPIRES = None  # nothing to expire: no "celery.backend_cleanup" beat entry
# A task is acknowledged when it has finished, not when it starts, so a worker that dies mid-task
# leaves it to be delivered again (every task is safe to run twice); one message at a time each.
# Requeued on worker loss, a task that kills its worker would come back forever: the close
# counts each redelivery as one of its LEDGER_CLOSE_MAX_RESUMES, then fails with the reason.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# Beat schedules live in the database (django_celery_beat), editable in the admin by finance;
# `manage.py setup_schedules` creates the defaults.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# On worker start-up, close the periods that are due at once (local: the demo's past months).
LEDGER_CLOSE_ON_WORKER_START = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # django-axes logs every login at INFO; failures and lockouts (WARNING) are what matter.
    "loggers": {"axes": {"level": env("AXES_LOG_LEVEL", default="WARNING")}},
}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out logins before any check
    "django.contrib.auth.backends.ModelBackend",
    "accounts.backends.FinanceRoleBackend",
]
