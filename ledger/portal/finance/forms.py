"""Finance's forms: they check the shape of what was typed; the services decide the rest."""

from __future__ import annotations

from django import forms

from ledger.errors import InvalidInput
from ledger.models import InvoiceBilling, Payout
from ledger.periods import Period


class PeriodField(forms.CharField):
    """YYYY-MM (an `<input type="month">` sends exactly that), cleaned to a `Period`."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 7)
        super().__init__(**kwargs)

    def clean(self, value):
        label = super().clean(value)
        try:
            return Period.parse(label)
        except InvalidInput as error:
            raise forms.ValidationError(error.detail, code=error.code) from error


class CloseStartForm(forms.Form):
    period = PeriodField(
        label="Period to close",
        help_text="A month that has ended, e.g. 2026-03. Closing it issues its statements, "
        "invoices and payouts, once.",
    )


def _with_all(choices) -> list[tuple[str, str]]:
    return [("", "All"), *choices]


class PayoutFilter(forms.Form):
    status = forms.ChoiceField(
        label="Payout status", required=False, choices=_with_all(Payout.Status.choices)
    )
    billing_status = forms.ChoiceField(
        label="Invoice billing status",
        required=False,
        choices=_with_all(InvoiceBilling.Status.choices),
    )


class MismatchFilter(forms.Form):
    STATES = [("open", "Open"), ("resolved", "Resolved"), ("all", "All")]
    state = forms.ChoiceField(label="Show", required=False, choices=STATES)

    def resolved(self) -> bool | None:
        state = self.cleaned_data.get("state") or "open"
        return None if state == "all" else state == "resolved"


class ResolveForm(forms.Form):
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=1000,
        help_text="What was done about it, for whoever reads this later.",
    )
