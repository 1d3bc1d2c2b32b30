"""Forms of the consent, licensing and brand pages.

Forms check the shape of what was typed (types, lengths, choices, dates); the services decide
the rest and raise `DomainError`s, which `add_domain_error` puts on the field they name, so a
refused save re-renders the form with the service's own reason and nothing is written.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from decimal import Decimal

from django import forms
from django.conf import settings

from ledger.errors import DomainError
from ledger.money import Money, currency_choices
from ledger.services.licensing import Terms
from ledger.vocabulary import CHANNELS, CONTEXT_CATEGORIES, UseKind


# The platform's share of a license a brand requests from the portal. The API lets the caller
# name it; on a brand's form it is the platform's published fee, not something to haggle over.
def platform_fee_pct() -> Decimal:
    """The platform's fee on portal license requests (settings.PORTAL_PLATFORM_FEE_PCT)."""
    return Decimal(settings.PORTAL_PLATFORM_FEE_PCT)


_SPLIT = re.compile(r"[\s,;]+")


def split_list(text: str) -> list[str]:
    """ "FR, de  US" -> ["FR", "de", "US"] (commas, semicolons or spaces)."""
    return [part for part in _SPLIT.split(text or "") if part]


def add_domain_error(form: forms.Form, error: DomainError, aliases: dict[str, str]) -> None:
    """Attach a service's error to the form field it names (or to the form as a whole)."""
    field = error.field or ""
    target = None
    for prefix, name in aliases.items():
        if field == prefix or field.startswith(prefix + ".") or field.startswith(prefix + "["):
            target = name
            break
    if target is None and field in form.fields:
        target = field
    form.add_error(target, error.detail)


class TagsField(forms.CharField):
    """Free tags separated by commas or spaces (the service checks each one)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 1000)
        super().__init__(**kwargs)

    def clean(self, value):
        return split_list(super().clean(value))


class TerritoriesField(TagsField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "ISO country codes separated by commas (FR, DE, US), or WW.")
        super().__init__(**kwargs)

    def clean(self, value):
        return [code.upper() for code in super().clean(value)]


def _checkboxes(choices, **kwargs) -> forms.MultipleChoiceField:
    kwargs.setdefault("required", False)
    return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **kwargs)


class ConsentForm(forms.Form):
    allowed_kinds = _checkboxes(
        UseKind.choices,
        label="Allowed uses",
        help_text="Training (using the twin to train or fine-tune models) stays off unless you "
        "tick it.",
    )
    allowed_channels = _checkboxes([(c, c) for c in CHANNELS], label="Allowed channels")
    other_channels = TagsField(label="Other channels", help_text="Optional, e.g. podcast.")
    allowed_territories = TerritoriesField(label="Allowed territories")
    forbidden_contexts = _checkboxes(
        [(c, c) for c in CONTEXT_CATEGORIES], label="Forbidden contexts"
    )
    other_contexts = TagsField(
        label="Other forbidden contexts", help_text="Optional free tags, e.g. fast-food."
    )
    requires_output_approval = forms.BooleanField(
        required=False,
        label="I approve each generated image before it is published, shown or sold",
    )
    note = forms.CharField(
        required=False, max_length=2000, label="Note (optional)", widget=forms.TextInput
    )

    ALIASES = {"allowed_channels": "other_channels", "forbidden_contexts": "other_contexts"}

    @classmethod
    def initial_from(cls, version) -> dict:
        if version is None:
            return {}
        return {
            "allowed_kinds": version.allowed_kinds,
            "allowed_channels": [c for c in version.allowed_channels if c in CHANNELS],
            "other_channels": ", ".join(c for c in version.allowed_channels if c not in CHANNELS),
            "allowed_territories": ", ".join(version.allowed_territories),
            "forbidden_contexts": [
                c for c in version.forbidden_contexts if c in CONTEXT_CATEGORIES
            ],
            "other_contexts": ", ".join(
                c for c in version.forbidden_contexts if c not in CONTEXT_CATEGORIES
            ),
            "requires_output_approval": version.requires_output_approval,
        }

    def consent(self) -> dict:
        """The service's keyword arguments."""
        data = self.cleaned_data
        return {
            "allowed_kinds": list(data["allowed_kinds"]),
            "allowed_channels": [*data["allowed_channels"], *data["other_channels"]],
            "allowed_territories": data["allowed_territories"],
            "forbidden_contexts": [*data["forbidden_contexts"], *data["other_contexts"]],
            "requires_output_approval": data["requires_output_approval"],
            "note": data["note"],
        }


class RevokeForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, label="Reason (optional)")


class DecisionForm(forms.Form):
    version = forms.IntegerField(min_value=1, max_value=10**9, widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])
    reason = forms.CharField(required=False, max_length=2000)


class AssetDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])


def _money_field(label: str, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(10**12),
        max_digits=16,
        decimal_places=3,
        label=label,
        **kwargs,
    )


class LicenseRequestForm(forms.Form):
    """A brand's request for a license: which twin, the currency, and the terms it proposes."""

    brand = forms.ChoiceField(label="For brand")
    twin = forms.ChoiceField(required=False, label="Twin")
    twin_id = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=2**62,
        label="…or the twin's ID",
        help_text="The ID the talent or their agency gave you.",
    )
    currency = forms.ChoiceField(choices=currency_choices())
    use_kinds = _checkboxes(UseKind.choices, label="Uses", required=True)
    channels = _checkboxes([(c, c) for c in CHANNELS], label="Channels")
    territories = TerritoriesField(label="Territories")
    brand_category = forms.CharField(
        max_length=64, label="Your category", help_text="What you sell, e.g. apparel."
    )
    starts_on = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    asset_price = _money_field("Price per generated asset")
    asset_tier_up_to = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10**9,
        label="…for the first (assets a month)",
        help_text="Leave empty for one price for every asset.",
    )
    asset_price_after = _money_field("…then, per further asset")
    publication_price = _money_field("Price per publication (each channel)")
    cpm_price = _money_field("Price per 1,000 impressions (each channel)")
    revenue_share_pct = forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(100),
        decimal_places=4,
        label="Share of attributed sales (%)",
    )
    flat_fee = _money_field("Flat fee per month")
    sell_off_days = forms.IntegerField(
        min_value=0,
        max_value=3650,
        initial=30,
        label="Sell-off days",
        help_text="After the end or a revocation, published images may still be shown and sold.",
    )
    producing_report_hours = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=366 * 24,
        initial=72,
        label="Report generations within (hours)",
        help_text="Generations and publications reported later are held for the talent.",
    )
    reporting_window_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=366,
        initial=45,
        label="Report impressions and sales within (days)",
        help_text="Later reports are held for the talent to accept or decline.",
    )
    exclusive = forms.BooleanField(required=False, label="Ask for exclusivity")
    exclusivity_category = forms.CharField(required=False, max_length=64)
    exclusivity_territories = TerritoriesField(
        label="Exclusive in territories", help_text="Codes, or WW."
    )

    ALIASES = {
        "rates.per_asset": "asset_price",
        "rates.per_publication": "publication_price",
        "rates.cpm": "cpm_price",
        "rates.revenue_share_pct": "revenue_share_pct",
        "rates.flat_fee_minor": "flat_fee",
        "rates": None,
        "starts_at": "starts_on",
        "ends_at": "ends_on",
        "platform_fee_pct": None,
        "agency_commission_pct": None,
    }

    def __init__(self, *args, brands, twins, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = [(str(b.pk), b.name) for b in brands]
        if len(brands) == 1:
            self.fields["brand"].widget = forms.HiddenInput()
            self.fields["brand"].initial = str(brands[0].pk)
        self.fields["twin"].choices = [("", "— choose —")] + [
            (str(t.pk), f"{t.name} ({t.talent}) · #{t.pk}") for t in twins
        ]

    def clean(self):
        data = super().clean()
        if not data.get("twin") and not data.get("twin_id"):
            self.add_error("twin", "Choose a twin, or enter its ID.")
        elif data.get("twin") and data.get("twin_id") and int(data["twin"]) != data["twin_id"]:
            self.add_error("twin_id", "Choose a twin or enter an ID, not both.")
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", "The term must end after it starts.")
        if data.get("asset_tier_up_to") and data.get("asset_price_after") is None:
            self.add_error("asset_price_after", "Give the price after the first assets.")
        if data.get("asset_price_after") is not None and data.get("asset_price") is None:
            self.add_error("asset_price", "Give the price of the first assets.")
        if data.get("asset_price_after") is not None and not data.get("asset_tier_up_to"):
            self.add_error("asset_tier_up_to", "Say how many assets the first price covers.")
        for name in ("publication_price", "cpm_price"):
            if data.get(name) is not None and not data.get("channels"):
                self.add_error(name, "Choose the channels this price is for.")
        currency = data.get("currency")
        if currency:
            for name in ("asset_price", "asset_price_after", "publication_price", "cpm_price",
                         "flat_fee"):  # fmt: skip
                value = data.get(name)
                if value is None:
                    continue
                try:
                    data[f"{name}_minor"] = Money.from_major(value, currency).minor
                except ValueError:
                    self.add_error(name, f"Too many decimals for {currency}.")
        return data

    def twin_pk(self) -> int:
        return int(self.cleaned_data.get("twin") or self.cleaned_data["twin_id"])

    def terms(self) -> Terms:
        data = self.cleaned_data
        channels = list(data["channels"])
        rates: dict = {}
        if data.get("asset_price_minor") is not None:
            if data.get("asset_tier_up_to"):
                rates["per_asset"] = {
                    "tiers": [
                        {
                            "up_to": data["asset_tier_up_to"],
                            "unit_minor": data["asset_price_minor"],
                        },
                        {"up_to": None, "unit_minor": data["asset_price_after_minor"]},
                    ]
                }
            else:
                rates["per_asset"] = {
                    "tiers": [{"up_to": None, "unit_minor": data["asset_price_minor"]}]
                }
        for name, key in (
            ("publication_price_minor", "per_publication"),
            ("cpm_price_minor", "cpm"),
        ):
            if data.get(name) is not None:
                rates[key] = {channel: data[name] for channel in channels}
        if data.get("revenue_share_pct") is not None:
            rates["revenue_share_pct"] = str(data["revenue_share_pct"])
        if data.get("flat_fee_minor") is not None:
            rates["flat_fee_minor"] = data["flat_fee_minor"]
        return Terms(
            use_kinds=list(data["use_kinds"]),
            channels=channels,
            territories=data["territories"],
            brand_category=data["brand_category"],
            starts_at=datetime.combine(data["starts_on"], time.min, tzinfo=UTC),
            ends_at=datetime.combine(data["ends_on"], time(23, 59, 59), tzinfo=UTC),
            rates=rates,
            platform_fee_pct=platform_fee_pct(),
            sell_off_days=data["sell_off_days"],
            # Left empty: the license defaults (72 hours, 45 days).
            producing_report_hours=data.get("producing_report_hours") or 72,
            reporting_window_days=data.get("reporting_window_days") or 45,
            exclusive=data["exclusive"],
            exclusivity_category=data["exclusivity_category"],
            exclusivity_territories=data["exclusivity_territories"],
        )


class ApiKeyForm(forms.Form):
    brand = forms.ChoiceField(label="For brand")
    name = forms.CharField(
        max_length=50, label="Name", help_text="Where the key is used, e.g. shop-backend."
    )

    def __init__(self, *args, brands, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = [(str(b.pk), b.name) for b in brands]
        if len(brands) == 1:
            self.fields["brand"].widget = forms.HiddenInput()
            self.fields["brand"].initial = str(brands[0].pk)


class UsageFilterForm(forms.Form):
    license = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(required=False, choices=[("", "All uses"), *UseKind.choices])
    outcome = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Accepted, held and refused"),
            ("accepted", "Accepted"),
            ("held", "Held for the talent"),
            ("refused", "Refused"),
        ],
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=10**6)

    def __init__(self, *args, licenses, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["license"].choices = [("", "All licenses")] + [
            (str(license.pk), f"#{license.pk} · {license.twin.name}") for license in licenses
        ]
