"""The Celery app: `celery -A config worker` (with DJANGO_SETTINGS_MODULE set, as for manage.py).

Settings come from Django settings under the CELERY_ namespace (config/settings/base.py); tasks
are found in each app's tasks.py. The broker is CELERY_BROKER_URL: Redis in production and CI,
kombu's filesystem transport under .data/broker/ for `make run` (see filesystem_broker_options).

No default DJANGO_SETTINGS_MODULE is set here: config/__init__.py imports this module before
manage.py, wsgi.py or asgi.py picks its own default, so a default here would override theirs.
"""

from __future__ import annotations

from pathlib import Path

from celery import Celery

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# The brokers that hand an unacknowledged message to another worker after a visibility timeout
# (RabbitMQ does it when the connection drops; the filesystem transport never does).
VISIBILITY_TIMEOUT_SCHEMES = ("redis", "rediss", "sentinel", "sqs")
DEFAULT_VISIBILITY_TIMEOUT_S = 2 * 60 * 60  # why: config/settings/base.py


def broker_transport_options(
    broker_url: str, folder: Path | str, *, visibility_timeout_s: int = DEFAULT_VISIBILITY_TIMEOUT_S
) -> dict:
    """The transport options for `broker_url`: the visibility timeout where the broker has one
    (kombu's default for Redis is an hour), the folders for kombu's filesystem transport."""
    if broker_url.startswith("filesystem:"):
        return filesystem_broker_options(Path(folder))
    if broker_url.split(":", 1)[0] in VISIBILITY_TIMEOUT_SCHEMES:
        return {"visibility_timeout": visibility_timeout_s}
    return {}


def filesystem_broker_options(folder: Path) -> dict:
    """Transport options for `filesystem://`: messages, bindings and processed files in `folder`.

    Producers write to data_folder_out and consumers read from data_folder_in, so one folder
    serves both for every process on this machine. The folders are created here because kombu
    does not create them.
    """
    messages, processed, control = folder / "queue", folder / "processed", folder / "control"
    for path in (messages, processed, control):
        path.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(messages),
        "data_folder_out": str(messages),
        "processed_folder": str(processed),
        "store_processed": False,  # a processed message is deleted, not kept
        "control_folder": str(control),
        "polling_interval": 0.2,  # seconds between looks at the folder (kombu's default: 1)
    }
