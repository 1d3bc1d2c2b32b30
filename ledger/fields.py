"""Model fields for money columns."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from ledger.money import UnknownCurrency, currency_choices, currency_exponent


def validate_currency(value: str) -> None:
    try:
        currency_exponent(value)
    except UnknownCurrency:
        raise ValidationError(
            "%(value)s is not an ISO 4217 currency code.",
            code="unknown_currency",
            params={"value": value},
        ) from None


class CurrencyField(models.CharField):
    """An ISO 4217 code, validated against ledger.money's table.

    A validator rather than `choices`: the currency list lives in code, not in migrations, so
    adding a currency needs no migration. Forms still show a select.
    """

    default_validators = [validate_currency]

    def __init__(self, *args, **kwargs):
        kwargs["max_length"] = 3
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_length", None)
        return name, path, args, kwargs

    def formfield(self, **kwargs):
        kwargs.setdefault("widget", forms.Select(choices=currency_choices()))
        return super().formfield(**kwargs)
