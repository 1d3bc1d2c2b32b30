"""Usage events: report one or a batch (brand API key), list and read them, reverse one (finance),
and list refused attempts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from ledger.api.errors import ErrorSerializer, error_body, error_responses
from ledger.api.fields import (
    MAX_ID,
    NOT_BLANK,
    SLUG_RE,
    TERRITORY_RE,
    AwareDateTimeField,
    IdField,
    QueryIdField,
    SlugField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictListField,
    StrictSerializer,
    TerritoryField,
)
from ledger.api.pagination import PageQuery, paginated_response
from ledger.api.permissions import IsBrandAPIKey, IsFinance, viewer, visible_or_404
from ledger.api.serializers import (
    OUTCOMES,
    LateReportOutput,
    RefusedAttemptOutput,
    UsageEventOutput,
    late_report_body,
    page_of,
    usage_event_body,
)
from ledger.errors import InvalidInput
from ledger.image_http import refuse_oversized_body, uploaded_image
from ledger.images import image_decode
from ledger.selectors.visibility import (
    mark_reversal_state,
    refused_attempts_visible_to,
    usage_events_filter,
    usage_events_visible_to,
)
from ledger.services.images import asset_image_attach_with_use
from ledger.services.usage import (
    MAX_BATCH,
    Outcome,
    UsageInput,
    usage_record,
    usage_record_batch,
    usage_reverse,
)
from ledger.vocabulary import UseKind

CHANNEL_MAX_LENGTH = 32  # UsageEvent.channel / RefusedAttempt.channel columns
MAX_CONTEXT_TAGS = 50


class UsageEventInput(StrictSerializer):
    external_id = StrictCharField(
        min_length=1,
        max_length=200,
        validators=[NOT_BLANK],
        help_text="Your idempotency key, unique per brand; not only whitespace.",
    )
    license = IdField(help_text="Id of one of your licenses.")
    kind = StrictChoiceField(choices=UseKind.choices)
    asset_ref = StrictCharField(
        min_length=1,
        max_length=200,
        validators=[NOT_BLANK],
        help_text="Your asset id; a new one for a generation; not only whitespace.",
    )
    content_credential = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Watermark or C2PA manifest id.",
    )
    channel = SlugField(max_length=CHANNEL_MAX_LENGTH, help_text="e.g. social, ecommerce.")
    territory = TerritoryField(help_text="ISO 3166-1 alpha-2, upper case.")
    occurred_at = AwareDateTimeField(help_text="ISO 8601 with a UTC offset.")
    quantity = StrictIntegerField(
        help_text="Assets or impressions: a JSON integer from 1 to 10^12 (out of range: 422 "
        "invalid_quantity). Refused, with nothing written, when the event's rated gross is above "
        "10^14 minor units (422 gross_too_large), when it would take its license's uses in the "
        "period past 10^15 minor units of gross or 10^15 units (422 license_period_limit), or "
        "the brand's uses in the period past 10^15 minor units of gross (422 "
        "brand_period_limit); in a batch, each such item is refused on its own."
    )
    sale_amount_minor = StrictIntegerField(
        required=False,
        allow_null=True,
        help_text="For sale uses: the attributed sale amount, a JSON integer in minor units, "
        "from 1 to 10^15 (otherwise 422 invalid_sale_amount).",
    )
    context_tags = StrictListField(
        child=SlugField(),
        required=False,
        allow_null=True,
        max_length=MAX_CONTEXT_TAGS,
        help_text="Context categories of the use, e.g. alcohol.",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """The declared fields' rules, hand-inlined: the ingest path parses up to 1,000 of these
        per request, and DRF's generic field machinery costs ~100 us per event. The declared
        fields stay the contract (and the OpenAPI schema); tests hold both paths to the same
        first error (field and code) on every bad input they know."""
        return _parse_event(data)

    def declared_to_internal_value(self, data: Any) -> dict[str, Any]:
        """DRF's own parsing through the declared fields (what `_parse_event` must agree with)."""
        return super().to_internal_value(data)

    def run_validators(self, value: dict[str, Any]) -> None:
        """None to run: no object-level validators and no read-only fields. DRF's lookup of
        read-only defaults deep-copies every declared field, only to find none: is_valid() took
        525 us with it and 32 us without (measured on the 2-core bench machine)."""

    @staticmethod
    def to_usage(data: dict[str, Any]) -> UsageInput:
        return UsageInput(
            external_id=data["external_id"],
            license_id=data["license"],
            kind=data["kind"],
            asset_ref=data["asset_ref"],
            channel=data["channel"],
            territory=data["territory"],
            occurred_at=data["occurred_at"],
            quantity=data["quantity"],
            sale_amount_minor=data.get("sale_amount_minor"),
            context_tags=tuple(data.get("context_tags") or ()),
            content_credential=data.get("content_credential") or "",
        )


_FIELDS = (
    "external_id",
    "license",
    "kind",
    "asset_ref",
    "content_credential",
    "channel",
    "territory",
    "occurred_at",
    "quantity",
    "sale_amount_minor",
    "context_tags",
)
_KNOWN = frozenset(_FIELDS)
_KINDS = frozenset(UseKind.values)
_MISSING = object()


class _Invalid(Exception):
    def __init__(self, path: tuple[Any, ...], code: str, message: str):
        self.path = path
        self.code = code
        self.message = message

    def as_validation_error(self) -> ValidationError:
        detail: Any = [ErrorDetail(self.message, code=self.code)]
        for key in reversed(self.path):
            detail = {key: detail}
        return ValidationError(detail)


def _text(
    value: Any,
    path: tuple[Any, ...],
    *,
    max_length: int,
    blank: bool = False,
    pattern: re.Pattern[str] | None = None,
    spaces: bool = True,
) -> str:
    if value == "" and not blank:
        raise _Invalid(path, "blank", "This field may not be blank.")
    if not isinstance(value, str):
        raise _Invalid(path, "invalid_type", "Expected a string.")
    if not spaces and value.isspace():  # what NOT_BLANK refuses, at C speed
        raise _Invalid(path, "blank", "This field may not be blank.")
    if len(value) > max_length:
        raise _Invalid(
            path, "max_length", f"Ensure this field has no more than {max_length} characters."
        )
    if "\x00" in value:
        raise _Invalid(path, "null_characters_not_allowed", "Null characters are not allowed.")
    if _SURROGATE.search(value):
        raise _Invalid(
            path, "surrogate_characters_not_allowed", "Surrogate characters are not allowed."
        )
    if pattern is not None and not pattern.match(value):
        raise _Invalid(path, "invalid", "Enter a valid value.")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _required(data: dict[str, Any], name: str) -> Any:
    value = data.get(name, _MISSING)
    if value is _MISSING:
        raise _Invalid((name,), "required", "This field is required.")
    if value is None:
        raise _Invalid((name,), "null", "This field may not be null.")
    return value


def _parse_event(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationError(
            {
                api_settings.NON_FIELD_ERRORS_KEY: [
                    ErrorDetail("Expected a JSON object.", code="invalid_type")
                ]
            }
        )
    for key in data:
        if key not in _KNOWN:
            raise ValidationError(
                {key: [ErrorDetail(f"Unknown field {key!r}.", code="unknown_field")]}
            )
    try:
        return _parse_fields(data)
    except _Invalid as error:
        raise error.as_validation_error() from None


def _parse_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["external_id"] = _text(
        _required(data, "external_id"), ("external_id",), max_length=200, spaces=False
    )

    license = _required(data, "license")
    if type(license) is not int:
        raise _Invalid(("license",), "invalid_type", "Expected a JSON integer.")
    if license > MAX_ID:
        raise _Invalid(
            ("license",), "max_value", f"Ensure this value is less than or equal to {MAX_ID}."
        )
    if license < 1:
        raise _Invalid(
            ("license",), "min_value", "Ensure this value is greater than or equal to 1."
        )
    out["license"] = license

    kind = _required(data, "kind")
    if not isinstance(kind, str):
        raise _Invalid(("kind",), "invalid_type", "Expected a string.")
    if kind not in _KINDS:
        raise _Invalid(("kind",), "invalid_choice", f"{kind!r} is not a valid choice.")
    out["kind"] = kind

    out["asset_ref"] = _text(
        _required(data, "asset_ref"), ("asset_ref",), max_length=200, spaces=False
    )

    credential = data.get("content_credential")
    if credential is not None:
        out["content_credential"] = _text(
            credential, ("content_credential",), max_length=200, blank=True
        )
    elif "content_credential" in data:
        out["content_credential"] = None

    out["channel"] = _text(
        _required(data, "channel"), ("channel",), max_length=CHANNEL_MAX_LENGTH, pattern=SLUG_RE
    )
    out["territory"] = _text(
        _required(data, "territory"), ("territory",), max_length=2, pattern=TERRITORY_RE
    )

    occurred_at = _required(data, "occurred_at")
    try:
        out["occurred_at"] = _OCCURRED_AT.to_internal_value(occurred_at)
    except ValidationError as error:
        raise _Invalid(("occurred_at",), error.detail[0].code, str(error.detail[0])) from None

    quantity = _required(data, "quantity")
    if type(quantity) is not int:
        raise _Invalid(("quantity",), "invalid_type", "Expected a JSON integer.")
    out["quantity"] = quantity

    amount = data.get("sale_amount_minor", _MISSING)
    if amount is not _MISSING:
        if amount is not None and type(amount) is not int:
            raise _Invalid(("sale_amount_minor",), "invalid_type", "Expected a JSON integer.")
        out["sale_amount_minor"] = amount

    tags = data.get("context_tags", _MISSING)
    if tags is not _MISSING:
        if tags is not None:
            if not isinstance(tags, list):
                raise _Invalid(("context_tags",), "invalid_type", "Expected a JSON array.")
            for index, tag in enumerate(tags):
                _text(tag, ("context_tags", index), max_length=64, pattern=SLUG_RE)
            if len(tags) > MAX_CONTEXT_TAGS:
                raise _Invalid(
                    ("context_tags",),
                    "max_length",
                    f"Ensure this field has no more than {MAX_CONTEXT_TAGS} elements.",
                )
        out["context_tags"] = tags
    return out


_OCCURRED_AT = AwareDateTimeField()


class EventListField(StrictListField):
    """1 to MAX_BATCH events (counted before any is parsed), external_ids unique; the first
    bad event is reported as events[i].<field>."""

    default_error_messages = {
        "batch_too_large": f"A batch holds at most {MAX_BATCH} events.",
        "batch_empty": "A batch holds at least one event.",
    }

    def __init__(self, **kwargs: Any):
        # Declared for the schema (minItems / maxItems); enforced below with our own codes.
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", MAX_BATCH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            self.fail("invalid_type")
        if not data:
            self.fail("batch_empty")
        if len(data) > MAX_BATCH:
            self.fail("batch_too_large")
        events = []
        seen: set[str] = set()
        for index, item in enumerate(data):
            try:
                event = _parse_event(item)
            except ValidationError as error:
                raise ValidationError({index: error.detail}) from None
            external_id = event["external_id"]
            if external_id in seen:
                message = f"external_id {external_id!r} appears twice in the batch."
                raise ValidationError(
                    {index: {"external_id": [ErrorDetail(message, code="duplicate_external_id")]}}
                )
            seen.add(external_id)
            events.append(event)
        return events


class UsageEventFormInput(UsageEventInput):
    """The multipart form of a generation with its image (described for OpenAPI only)."""

    image = serializers.FileField(
        required=False, help_text="The generated image: JPEG, PNG or WebP, at most 20 MB."
    )


SINGLE_EXAMPLE = {
    "external_id": "gen-2026-11-03-0001",
    "license": 12,
    "kind": "generation",
    "asset_ref": "lookbook-fw26-017",
    "content_credential": "c2pa:urn:uuid:6f1c0b6e",
    "channel": "social",
    "territory": "FR",
    "occurred_at": "2026-11-03T12:00:00Z",
    "quantity": 1,
    "context_tags": ["apparel"],
}


class UsageEventListCreateApi(APIView):
    # JSON first: the ingest path is unchanged; a generation may come as a form with its image.
    parser_classes = [JSONParser, MultiPartParser]

    class FilterSerializer(PageQuery):
        license = QueryIdField(required=False)
        twin = QueryIdField(required=False)
        kind = StrictChoiceField(choices=UseKind.choices, required=False)
        occurred_after = AwareDateTimeField(required=False, help_text="occurred_at >= this.")
        occurred_before = AwareDateTimeField(required=False, help_text="occurred_at < this.")

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), IsBrandAPIKey()]
        return [IsAuthenticated()]

    @extend_schema(
        operation_id="usage_events_list",
        summary="List usage events visible to the caller",
        description="A brand sees its own events; a talent the uses of its twins; an agency those "
        "of its talents' twins; finance all. Newest first, cursor-paginated.",
        parameters=[FilterSerializer],
        responses={
            200: page_of(UsageEventOutput, "PaginatedUsageEventList"),
            **error_responses(400),
        },
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = usage_events_filter(
            usage_events_visible_to(viewer(request)), filters.validated_data
        )
        return paginated_response(
            request=request, view=self, queryset=events, output=UsageEventOutput
        )

    @extend_schema(
        operation_id="usage_events_create",
        summary="Report one usage event (brand API key)",
        description="Accepted: 201 with the rated event. The same external_id with the same body "
        "again: 200 with the first response's event, nothing new written. The same external_id "
        "with a different body: 409 idempotency_conflict. Refused by the license, the consent or "
        "the rules: 422 with a stable code, nothing posted (rights refusals are kept for the "
        "talent to see). A license that is not yours: 404 license_not_found. Held: 202 with the "
        "late report (its id and state), nothing posted until the talent accepts it: a "
        "generation, publication or training allowed when it occurred but not by the consent or "
        "terms in force now (consent_changed_since, license_changed_since), or any use reported "
        "after the license's window (producing_report_hours, reporting_window_days; "
        "reported_late). The same body again returns the report's current state (202), never a "
        "second hold; once accepted, 200 with the booked event. A generation may carry its "
        "image: send the same fields as a multipart form with an `image` file part (JPEG, PNG or "
        "WebP, at most 20 MB and 50 megapixels, decoded before anything is recorded: 413 "
        "image_too_large, 400 image_unreadable or image_type_not_allowed); a held generation's "
        "image is not kept: send it again with PUT /assets/{id}/image/ once the report is "
        "accepted.",
        request={
            "application/json": UsageEventInput,
            "multipart/form-data": UsageEventFormInput,
        },
        responses={
            201: OpenApiResponse(UsageEventOutput, description="Accepted and rated."),
            200: OpenApiResponse(UsageEventOutput, description="A replay: the first result."),
            202: OpenApiResponse(
                LateReportOutput, description="Held as a late report for the talent to decide."
            ),
            **error_responses(400, 403, 404, 409, 413, 422),
        },
        examples=[OpenApiExample("generation", value=SINGLE_EXAMPLE, request_only=True)],
    )
    def post(self, request):
        image = None
        if request.content_type.startswith("multipart/form-data"):
            refuse_oversized_body(request)
            body, data = _form_event(request.data), uploaded_image(request.FILES)
        else:
            body, data = request.data, None
        serializer = UsageEventInput(data=body)
        serializer.is_valid(raise_exception=True)
        item = UsageEventInput.to_usage(serializer.validated_data)
        if data is not None:
            if item.kind != UseKind.GENERATION:
                raise InvalidInput(
                    "Only a generation carries an image.", code="image_not_allowed", field="image"
                )
            # Decoded before the use is recorded: a refused image leaves nothing written.
            image = image_decode(data)
        outcome = usage_record(brand=request.auth.brand, item=item)
        if outcome.error is not None:
            raise outcome.error
        if outcome.status == "held":
            return Response(late_report_body(outcome.late_report), status=status.HTTP_202_ACCEPTED)
        if image is not None and outcome.event is not None:
            # A second transaction: should it fail, the use stands and the same request again
            # (a replay) attaches the image.
            asset_image_attach_with_use(
                asset=outcome.event.asset, image=image, replayed=outcome.status == "replayed"
            )
        _mark_state([outcome])
        code = status.HTTP_201_CREATED if outcome.status == "accepted" else status.HTTP_200_OK
        return Response(usage_event_body(outcome.event), status=code)


def _form_event(data) -> dict[str, Any]:
    """A multipart form's fields as the JSON body would carry them: the integer fields as
    integers (when they are digits), context_tags as its repeated values; the image apart."""
    event: dict[str, Any] = {}
    for name in data:
        if name == "image":
            continue
        values = data.getlist(name)
        if name == "context_tags":
            event[name] = [tag for value in values for tag in value.split(",") if tag]
            continue
        value = values[-1]
        if name in _FORM_INTEGERS and _FORM_INTEGER.fullmatch(value):
            value = int(value)
        event[name] = value
    return event


_FORM_INTEGERS = frozenset({"license", "quantity", "sale_amount_minor"})
_FORM_INTEGER = re.compile(r"-?[0-9]{1,19}")


class BatchResultOutput(serializers.Serializer):
    index = serializers.IntegerField()
    external_id = serializers.CharField()
    status = serializers.ChoiceField(choices=OUTCOMES)
    event = UsageEventOutput(required=False, help_text="For accepted and replayed items.")
    late_report = LateReportOutput(
        required=False, help_text="For held items: the late report kept for the talent."
    )
    error = ErrorSerializer(required=False, help_text="For refused and conflict items.")


class UsageEventBatchApi(APIView):
    permission_classes = [IsAuthenticated, IsBrandAPIKey]

    class InputSerializer(StrictSerializer):
        events = EventListField(
            child=UsageEventInput(), help_text=f"1 to {MAX_BATCH} events, external_ids unique."
        )

    class OutputSerializer(serializers.Serializer):
        results = BatchResultOutput(many=True)

    @extend_schema(
        operation_id="usage_events_batch",
        summary="Report up to 1,000 usage events at once (brand API key)",
        description="Each event is accepted, replayed, held (a late report, see the single POST), "
        "refused or a conflict on its own, exactly "
        "as if posted alone; results come back in order and accepted events are committed "
        "together, exactly once. The batch as a whole is a 400 (and nothing is written) when it "
        "is not well-formed: more than 1,000 events (batch_too_large), the same external_id "
        "twice (duplicate_external_id, field events[i].external_id), or any event that does not "
        "parse (field events[i].<field>).",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 403, 413)},
        examples=[
            OpenApiExample("two events", value={"events": [SINGLE_EXAMPLE]}, request_only=True)
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = [UsageEventInput.to_usage(e) for e in serializer.validated_data["events"]]
        outcomes = usage_record_batch(brand=request.auth.brand, items=items)
        _mark_state(outcomes)
        return Response({"results": [_result(o) for o in outcomes]})


def _mark_state(outcomes: list[Outcome]) -> None:
    """A use accepted just now cannot have been reversed; replays are looked up (together)."""
    for outcome in outcomes:
        if outcome.status == "accepted":
            outcome.event.is_reversed = False
    mark_reversal_state([o.event for o in outcomes if o.status == "replayed"])


def _result(outcome: Outcome) -> dict[str, Any]:
    result: dict[str, Any] = {
        "index": outcome.index,
        "external_id": outcome.external_id,
        "status": outcome.status,
    }
    if outcome.event is not None:
        result["event"] = usage_event_body(outcome.event)
    if outcome.late_report is not None:
        result["late_report"] = late_report_body(outcome.late_report)
    if outcome.error is not None:
        error = outcome.error
        result["error"] = error_body(error.code, error.detail, error.field)
    return result


class UsageEventDetailApi(APIView):
    @extend_schema(
        operation_id="usage_events_retrieve",
        summary="One usage event visible to the caller",
        responses={200: UsageEventOutput, **error_responses(404)},
    )
    def get(self, request, event_id: int):
        event = visible_or_404(usage_events_visible_to(viewer(request)), event_id, "usage event")
        return Response(usage_event_body(event))


class UsageEventReverseApi(APIView):
    permission_classes = [IsAuthenticated, IsFinance]

    class InputSerializer(StrictSerializer):
        reason = StrictCharField(min_length=1, max_length=2000)

    class OutputSerializer(serializers.Serializer):
        event = UsageEventOutput()
        reversal_transaction_id = serializers.IntegerField()

    @extend_schema(
        operation_id="usage_events_reverse",
        summary="Reverse a use (finance)",
        description="Posts the exact negation of the use's journal transaction; the use stays on "
        "record with status reversed. A second reversal: 409 already_reversed.",
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, event_id: int):
        event = visible_or_404(usage_events_visible_to(viewer(request)), event_id, "usage event")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reversal = usage_reverse(
            event=event, reason=serializer.validated_data["reason"], by=request.user
        )
        event = usage_events_visible_to(viewer(request)).get(pk=event_id)
        return Response(
            {"event": usage_event_body(event), "reversal_transaction_id": reversal.pk},
            status=status.HTTP_201_CREATED,
        )


class RefusedAttemptListApi(APIView):
    class FilterSerializer(PageQuery):
        license = QueryIdField(required=False)
        twin = QueryIdField(required=False)
        kind = StrictChoiceField(choices=UseKind.choices, required=False)
        code = serializers.CharField(required=False, max_length=64)

    @extend_schema(
        operation_id="refused_attempts_list",
        summary="Refused usage attempts visible to the caller",
        description="Uses refused for rights reasons (license, consent, approval). A talent sees "
        "those aimed at its twins, whichever brand tried; a brand its own; finance all.",
        parameters=[FilterSerializer],
        responses={
            200: page_of(RefusedAttemptOutput, "PaginatedRefusedAttemptList"),
            **error_responses(400),
        },
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        attempts = refused_attempts_visible_to(viewer(request))
        data = filters.validated_data
        for name, lookup in (
            ("license", "license_id"),
            ("twin", "twin_id"),
            ("kind", "kind"),
            ("code", "code"),
        ):
            if name in data:
                attempts = attempts.filter(**{lookup: data[name]})
        return paginated_response(
            request=request, view=self, queryset=attempts, output=RefusedAttemptOutput
        )
