"""The fixed words of the domain: use kinds, channels, forbidden-context categories."""

from __future__ import annotations

from django.db import models


class UseKind(models.TextChoices):
    GENERATION = "generation", "Generation"
    PUBLICATION = "publication", "Publication"
    IMPRESSIONS = "impressions", "Impressions"
    SALE = "sale", "Sale"
    TRAINING = "training", "Training"


# Consent that a talent gives by default when creating a twin: everything but training, which
# stays off until the talent turns it on (SPEC, "Twins and consent").
DEFAULT_CONSENTED_KINDS = [k for k in UseKind.values if k != UseKind.TRAINING]

CHANNELS = ["ecommerce", "social", "print", "ooh", "video", "tv"]

CONTEXT_CATEGORIES = [
    "political",
    "alcohol",
    "tobacco",
    "gambling",
    "adult",
    "weapons",
    "religious",
]

WORLDWIDE = "WW"

# Uses that keep being accepted for already-published assets during a sell-off window.
SELL_OFF_KINDS = {UseKind.IMPRESSIONS, UseKind.SALE}
