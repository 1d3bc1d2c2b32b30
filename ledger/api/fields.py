"""Strict input parsing for the API: JSON types are taken as sent, never coerced.

DRF's stock fields are lenient ("12" is an integer, 12.0 too, "yes" is true, a naive time gets
the server's zone). For money and idempotency that leniency is a bug: `"12.50"` must not become
12 and a replay must hash the same value the first request did. Every input here is the JSON
type it claims to be or a 400 `invalid_type`; a serializer refuses keys it does not declare
(`unknown_field`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.validators import RegexValidator
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.settings import api_settings

MAX_ID = 2**63 - 1  # a bigint primary key
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TERRITORY_RE = re.compile(r"^[A-Z]{2}$")

INVALID_TYPE = "invalid_type"

# A period label as ledger.periods.Period.parse takes it: YYYY-MM from 2000 on.
PERIOD_PATTERN = r"^([2-9][0-9]{3})-(0[1-9]|1[0-2])$"

# A key or reference made of whitespace only names nothing: refused like an empty one. Searched,
# not matched, as JSON Schema's `pattern` is, so the schema states exactly this rule.
NOT_BLANK_RE = re.compile(r"\S")
NOT_BLANK = RegexValidator(NOT_BLANK_RE, "This field may not be blank.", code="blank")


def _error(message: str, code: str) -> ErrorDetail:
    return ErrorDetail(message, code=code)


class StrictSerializer(serializers.Serializer):
    """Input serializer: a JSON object whose keys are all declared fields."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise ValidationError(
                {
                    api_settings.NON_FIELD_ERRORS_KEY: [
                        _error("Expected a JSON object.", INVALID_TYPE)
                    ]
                }
            )
        fields = self.fields
        for key in data:
            field = fields.get(key)
            if field is None or field.read_only:
                raise ValidationError({key: [_error(f"Unknown field {key!r}.", "unknown_field")]})
        return super().to_internal_value(data)

    def create(self, validated_data):  # pragma: no cover - input serializers never save
        raise NotImplementedError

    def update(self, instance, validated_data):  # pragma: no cover
        raise NotImplementedError


class StrictCharField(serializers.CharField):
    """A JSON string, kept exactly as sent (no trimming, no number-to-string coercion)."""

    default_error_messages = {INVALID_TYPE: "Expected a string."}

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail(INVALID_TYPE)
        return data


class SlugField(StrictCharField):
    """A lower-case tag: letters, digits, `-` and `_`, at most 64 characters (e.g. a channel)."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)
        self.validators.append(
            RegexValidator(SLUG_RE, "Use lower-case letters, digits, - and _.", code="invalid")
        )


class TerritoryField(StrictCharField):
    """An ISO 3166-1 alpha-2 code in upper case, or WW for worldwide."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("max_length", 2)
        super().__init__(**kwargs)
        self.validators.append(
            RegexValidator(
                TERRITORY_RE, "Use an upper-case ISO 3166-1 alpha-2 code.", code="invalid"
            )
        )


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: 1.0, 1.5, "1" and true are all refused (`invalid_type`)."""

    default_error_messages = {INVALID_TYPE: "Expected a JSON integer."}

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            self.fail(INVALID_TYPE)
        return data


class IdField(StrictIntegerField):
    """The id of a row (a positive bigint)."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {INVALID_TYPE: "Expected true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail(INVALID_TYPE)
        return data


class StrictChoiceField(serializers.ChoiceField):
    default_error_messages = {INVALID_TYPE: "Expected a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail(INVALID_TYPE)
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a UTC offset (`Z` or `+02:00`); a time without one is refused, not guessed."""

    default_error_messages = {
        INVALID_TYPE: "Expected an ISO 8601 string.",
        "invalid": "Not an ISO 8601 date-time.",
        "naive_datetime": "The time must include a UTC offset, e.g. 2026-11-03T12:00:00Z.",
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            self.fail(INVALID_TYPE)
        try:
            parsed = parse_datetime(data)
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid")
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.fail("naive_datetime")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            self.fail("invalid")


class StrictListField(serializers.ListField):
    """A JSON array (a string or an object is not a list of one)."""

    default_error_messages = {INVALID_TYPE: "Expected a JSON array."}

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            self.fail(INVALID_TYPE)
        return super().to_internal_value(data)


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^\d+(\.\d{1,4})?$", "example": "20.5"}
)
class DecimalStringField(serializers.Field):
    """A decimal sent as a string ("12.5") or an integer; a JSON float is refused (binary
    floating point cannot hold most decimals exactly)."""

    default_error_messages = {
        INVALID_TYPE: 'Send decimals as strings, e.g. "12.5".',
        "invalid": "Not a decimal number.",
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail(INVALID_TYPE)
        try:
            value = Decimal(str(data))
        except InvalidOperation:
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        return value

    def to_representation(self, value: Any) -> str:
        return str(value)


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.Field):
    """Any JSON object, checked further by the service that uses it (e.g. a license's rates)."""

    default_error_messages = {INVALID_TYPE: "Expected a JSON object."}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail(INVALID_TYPE)
        return data

    def to_representation(self, value: Any) -> Any:
        return value


def tag_list(**kwargs: Any) -> StrictListField:
    """A list of slugs (channels, context tags...)."""
    kwargs.setdefault("max_length", 100)
    return StrictListField(child=StrictCharField(max_length=64), **kwargs)


def territory_list(**kwargs: Any) -> StrictListField:
    kwargs.setdefault("max_length", 300)
    return StrictListField(child=StrictCharField(max_length=64), **kwargs)


class QueryIdField(serializers.IntegerField):
    """An id in a query string (where every value is text): digits only."""

    default_error_messages = {"invalid": "Expected a positive integer id."}

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not data.isascii() or not data.isdigit() or len(data) > 19:
            self.fail("invalid")
        return int(data)


class PeriodField(StrictCharField):
    """A period label, YYYY-MM (checked by Period.parse: 400 invalid_period)."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("help_text", "YYYY-MM, e.g. 2026-11.")
        super().__init__(**kwargs)
        self.validators.append(
            RegexValidator(
                re.compile(PERIOD_PATTERN), "Use YYYY-MM, e.g. 2026-11.", code="invalid_period"
            )
        )


def _currency_schema() -> dict[str, Any]:
    from ledger.money import CURRENCY_EXPONENTS

    return {"type": "string", "enum": sorted(CURRENCY_EXPONENTS), "example": "EUR"}


class CurrencyCodeField(StrictCharField):
    """An ISO 4217 code of ledger.money's table; the schema lists them, the service decides
    (400 unknown_currency)."""


extend_schema_field(_currency_schema())(CurrencyCodeField)
