"""POST /stripe/webhook/: Stripe's events, signature verified against the raw body."""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ledger.gateways.stripe import SignatureError, StripeNotConfiguredError
from ledger.services.webhooks import stripe_event_receive

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs the body instead
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    try:
        received = stripe_event_receive(
            payload=request.body,
            signature_header=request.headers.get("Stripe-Signature", ""),
        )
    except SignatureError as error:
        return JsonResponse(
            {"code": "invalid_signature", "detail": str(error), "field": ""}, status=400
        )
    except StripeNotConfiguredError:
        return JsonResponse(
            {"code": "stripe_not_configured", "detail": "No webhook secret.", "field": ""},
            status=503,
        )
    # A handler that raised answered 500 (Django's handler) and is retried by Stripe; its
    # failure is on the stored event.
    return JsonResponse(
        {
            "id": received.event.stripe_id,
            "status": received.event.status,
            "duplicate": received.duplicate,
        }
    )
