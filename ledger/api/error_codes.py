"""Every error `code` the API can answer, with its HTTP status and what it means.

The one registry: the OpenAPI schema lists it (`x-error-codes` on the Error component and a table
in the API description, by ledger.api.schema.error_codes_hook), and tests/api/test_error_codes.py
fails when the code base raises a code that is not here. Adding a code is one line below.
Payout and billing failure codes (`stripe_error`, `transfer_reversed`...) are states shown on
statements and invoices, not API errors, and are not listed.
"""

from __future__ import annotations

# code: (HTTP status, meaning). Grouped by status; within a group, alphabetical.
ERROR_CODES: dict[str, tuple[int, str]] = {
    # 400: the request itself is wrong; nothing was written.
    "image_not_allowed": (400, "Only a generation carries an image."),
    "invalid_length": (400, "The text is longer (or shorter) than the field allows."),
    "invalid_party": (400, "A late report is decided by the talent or the agency only."),
    "bad_request": (400, "The request could not be read (e.g. a malformed header)."),
    "batch_empty": (400, "A batch holds at least one event."),
    "batch_too_large": (400, "A batch holds at most 1,000 events."),
    "blank": (400, "The field is empty or only whitespace."),
    "duplicate_external_id": (400, "The same external_id appears twice in one batch."),
    "empty": (400, "The list may not be empty."),
    "invalid": (400, "The value does not have the required form (see the field's pattern)."),
    "invalid_choice": (400, "The value is not one of the field's allowed values."),
    "invalid_cursor": (400, "The `cursor` is not one this API returned."),
    "invalid_datetime": (400, "Not a date-time with a UTC offset."),
    "invalid_exclusivity": (400, "The exclusivity terms are incomplete or inconsistent."),
    "invalid_period": (400, "Not a period: use YYYY-MM (e.g. 2026-11)."),
    "invalid_rates": (400, "The license's rates are malformed (the field names the part)."),
    "invalid_signature": (400, "Stripe webhook: the signature does not verify."),
    "invalid_tag": (400, "A tag is not a lower-case slug (letters, digits, - and _)."),
    "invalid_territory": (400, "Not an upper-case ISO 3166-1 alpha-2 code (or WW)."),
    "invalid_split": (400, "Commission and platform fee together exceed 100%."),
    "invalid_term": (400, "The license term ends before it starts."),
    "invalid_type": (400, "The value is not of the JSON type the field requires."),
    "malformed_json": (400, "The body is not valid JSON."),
    "max_length": (400, "The value is longer than allowed."),
    "max_value": (400, "The number is larger than allowed."),
    "min_length": (400, "The value is shorter than allowed."),
    "min_value": (400, "The number is smaller than allowed."),
    "naive_datetime": (400, "The time has no UTC offset (send e.g. 2026-11-03T12:00:00Z)."),
    "nesting_too_deep": (400, "The JSON body nests deeper than 32 levels."),
    "no_agency": (400, "An agency commission on a twin whose talent has no agency."),
    "null": (400, "The field may not be null."),
    "null_characters_not_allowed": (400, "The text contains a NUL character."),
    "out_of_range": (400, "The number is outside its allowed range."),
    "party_required": (400, "Say which party (talent or agency) you decide as."),
    "required": (400, "A required field is missing."),
    "surrogate_characters_not_allowed": (400, "The text contains unpaired surrogates."),
    "unknown_currency": (400, "Not an ISO 4217 currency this ledger supports."),
    "unknown_kind": (400, "Not a use kind (generation, publication, impressions, sale, training)."),
    "unknown_field": (400, "A field (or query parameter) the operation does not declare."),
    # 401: who is calling is unknown.
    "authentication_failed": (401, "The credentials were not accepted."),
    "invalid_api_key": (401, "The API key is unknown, revoked or expired."),
    "not_authenticated": (401, "No credentials: send `Authorization: Api-Key ...` or log in."),
    # 403: known, but not allowed.
    "not_talent_or_agency": (403, "Only the talent or the agency decides a late report."),
    "api_key_required": (403, "Only a brand API key can do this (not a person's session)."),
    "csrf_failed": (403, "A session request without a valid CSRF token."),
    "finance_only": (403, "Only finance staff can do this."),
    "not_a_party": (403, "You are not a party who approves this license."),
    "not_a_talent": (403, "Only a talent can do this."),
    "not_brand_member": (403, "You do not act for this brand."),
    "not_license_brand": (403, "Only the license's brand can do this."),
    "not_twin_owner": (403, "Only the twin's talent can do this."),
    "payee_only": (403, "Only a talent or an agency receives payouts."),
    "permission_denied": (403, "You may not do this."),
    "second_factor_required": (403, "Finance powers need a verified second factor (TOTP)."),
    # 404: does not exist, or is not yours to see.
    "license_not_found": (404, "No such license among yours."),
    "not_found": (404, "No such thing, or not visible to you."),
    "twin_not_found": (404, "No such twin, or not visible to you."),
    # 405 / 406 / 413 / 415: the HTTP exchange itself.
    "method_not_allowed": (405, "The operation does not take this HTTP method."),
    "not_acceptable": (406, "The Accept header asks for a format this operation cannot give."),
    "payload_too_large": (413, "The body is larger than the server accepts."),
    "unsupported_media_type": (415, "Send the body as application/json."),
    # 409: conflicts with the current state; nothing was written.
    "asset_decided": (409, "The talent already decided on the asset: its image cannot change."),
    "late_report_not_bookable": (409, "The held report can no longer be booked as it was."),
    "already_decided": (409, "Already approved, declined or rejected."),
    "already_reversed": (409, "This use was already reversed."),
    "amendment_pending": (409, "An earlier amendment still awaits approval."),
    "billing_exists_at_stripe": (409, "The invoice already exists at Stripe."),
    "billing_not_failed": (409, "Only a failed invoice delivery can be retried."),
    "conflict": (409, "Conflicts with the current state."),
    "idempotency_conflict": (409, "This external_id was used before with a different body."),
    "image_exists": (409, "The asset already has its image."),
    "later_period_closed": (409, "A later period is already closed."),
    "license_declined": (409, "A declined license cannot be changed."),
    "nothing_to_reverse": (409, "The use was priced at zero: there is nothing to reverse."),
    "payout_account_missing": (409, "The payee has no payout account that can receive."),
    "payout_carried_forward": (409, "The payable was carried forward: there is no payout."),
    "payout_not_failed": (409, "Only a failed payout can be retried."),
    "period_not_ended": (409, "The period has not ended yet."),
    "previous_period_open": (409, "The previous period is not closed yet."),
    # 413 / 415 for images.
    "image_too_large": (413, "The image is over 20 MB or too many pixels."),
    "image_type_not_allowed": (415, "Images are JPEG, PNG or WebP."),
    # 422: well-formed, but the license, the consent or the rules refuse it.
    "brand_period_limit": (422, "The brand's uses this month would exceed 10^15 minor units."),
    "image_not_for_training": (422, "A training run's output is a model, not an image."),
    "asset_exists": (422, "This asset_ref was already generated (a generation needs a new one)."),
    "asset_not_approved": (422, "The talent has not approved this asset's image."),
    "asset_unknown": (422, "No such asset_ref under this license."),
    "before_license_start": (422, "occurred_at is before the license starts."),
    "channel_not_consented": (422, "The twin's consent does not allow this channel."),
    "channel_not_licensed": (422, "The license does not grant this channel."),
    "consent_changed_since": (
        202,
        "A late report's state: allowed when it occurred, no longer by the consent in force; "
        "held for the talent to decide.",
    ),
    "consent_conflict": (422, "The license asks for more than the twin's consent allows."),
    "consent_revoked": (422, "The talent revoked the twin's consent."),
    "context_forbidden": (422, "A context tag is forbidden by the twin's consent."),
    "exclusivity_conflict": (422, "Overlaps another active exclusive license of the twin."),
    "gross_too_large": (422, "The amount would exceed what a license may bill in a period."),
    "image_missing": (422, "The asset has no image yet (it cannot be approved without one)."),
    "image_unreadable": (422, "The file is not a decodable image."),
    "invalid_quantity": (422, "quantity is not a positive integer within bounds."),
    "invalid_sale_amount": (422, "sale_amount_minor is missing or outside its bounds."),
    "invalid_transaction": (422, "The journal entry would not balance."),
    "journal_error": (422, "The journal refused the entry."),
    "kind_not_consented": (422, "The twin's consent does not allow this use kind."),
    "kind_not_licensed": (422, "The license does not grant this use kind."),
    "late_report_declined": (422, "A late report the talent declined."),
    "license_inactive": (422, "The license is not active at occurred_at."),
    "license_period_limit": (422, "The license's quantity limit for the period is reached."),
    "no_consent": (422, "The twin has no consent in force at that time."),
    "occurred_in_future": (422, "occurred_at is more than 5 minutes in the future."),
    "refused": (422, "Refused by the license, the consent or the rules."),
    "territory_not_consented": (422, "The twin's consent does not allow this territory."),
    "territory_not_licensed": (422, "The license does not grant this territory."),
    # 429 / 5xx.
    "throttled": (429, "Too many requests: retry after Retry-After seconds."),
    "server_error": (500, "An error of ours; nothing you sent was at fault."),
    "stripe_unavailable": (503, "Stripe could not be reached; retry later."),
    "stripe_not_configured": (503, "Stripe is not configured on this server."),
    "overloaded": (503, "The server is at capacity: retry after Retry-After seconds."),
}


def error_codes_table() -> str:
    """The registry as a Markdown table (for the API description)."""
    rows = [
        f"| `{code}` | {status} | {meaning} |"
        for code, (status, meaning) in sorted(ERROR_CODES.items(), key=lambda i: (i[1][0], i[0]))
    ]
    return "\n".join(["| code | status | meaning |", "|---|---|---|", *rows])
