"""Forms of the money and uses pages (talent and agency): the uses feed's filters."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator

from accounts.models import Brand
from ledger.models import License
from ledger.selectors.usage_feed import FeedFilters
from ledger.vocabulary import UseKind


class UsesFilterForm(forms.Form):
    """Filters of the uses feed, read from the query string. Brands and licenses are limited to
    those the viewer can see: naming another one is an invalid choice, not a hint it exists."""

    brand = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    license = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *UseKind.choices])
    channel = forms.CharField(
        required=False,
        max_length=64,
        validators=[RegexValidator(r"^[a-z0-9_-]+$", "Letters, digits, - and _ only.")],
    )
    territory = forms.CharField(
        required=False,
        max_length=2,
        validators=[RegexValidator(r"^[A-Za-z]{2}$", "Two letters, e.g. FR.")],
    )
    asset = forms.CharField(required=False, max_length=200, label="Asset ref")
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput({"type": "date"})
    )
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, brands: list[Brand], licenses: list[License], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = [("", "Any brand")] + [(b.pk, b.name) for b in brands]
        self.fields["license"].choices = [("", "Any license")] + [
            (lic.pk, f"#{lic.pk} {lic.brand.name} — {lic.twin.name}") for lic in licenses
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def feed_filters(self) -> FeedFilters:
        data = self.cleaned_data
        return FeedFilters(
            brand=data.get("brand"),
            license=data.get("license"),
            kind=data.get("kind") or "",
            channel=data.get("channel") or "",
            territory=(data.get("territory") or "").upper(),
            asset_ref=data.get("asset") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
