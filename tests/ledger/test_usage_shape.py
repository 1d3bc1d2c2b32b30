"""usage_record_batch refuses malformed values itself (not only the API does): 400-type errors,
nothing written, nothing kept as a refused attempt. And what training and provenance produce."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from ledger.errors import InvalidInput
from ledger.models import Asset, RefusedAttempt
from ledger.rates import Rates, RatesError
from ledger.selectors.provenance import provenance_lookup
from ledger.selectors.visibility import viewer_for_user
from tests.ledger.scenario import USE_AT, journal_state, scenario

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"kind": "hologram"}, "unknown_kind", "kind"),
        ({"channel": "Social"}, "invalid_channel", "channel"),
        ({"channel": "x" * 65}, "invalid_channel", "channel"),
        ({"territory": "fra"}, "invalid_territory", "territory"),
        ({"occurred_at": datetime(2026, 3, 10, 12)}, "invalid_datetime", "occurred_at"),  # noqa: DTZ001
        ({"context_tags": ("Alcohol",)}, "invalid_tag", "context_tags"),
        ({"external_id": ""}, "invalid_length", "external_id"),
        ({"asset_ref": "a" * 201}, "invalid_length", "asset_ref"),
        ({"quantity": True}, "invalid_type", "quantity"),
        ({"quantity": 1.0}, "invalid_type", "quantity"),
    ],
)
def test_a_malformed_value_is_refused_before_anything_is_written(change, code, field):
    s = scenario()
    good = s.item("generation")
    before = journal_state()

    with pytest.raises(InvalidInput) as excinfo:
        s.batch([good, replace(s.item("generation"), **change)])

    assert (excinfo.value.code, excinfo.value.field) == (code, field)
    assert "Event 1" in excinfo.value.detail
    assert journal_state() == before
    assert not RefusedAttempt.objects.exists()


def test_a_training_use_names_its_own_output_which_needs_no_approval():
    s = scenario(
        use_kinds=["generation", "training"],
        consent={"allowed_kinds": ["generation", "training"], "requires_output_approval": True},
    )
    image = s.use("generation", asset_ref="image-1")
    model = s.use("training", asset_ref="model-1")

    assert (image.status, model.status) == ("accepted", "accepted")
    assert Asset.objects.get(asset_ref="image-1").approval == Asset.Approval.PENDING
    assert Asset.objects.get(asset_ref="model-1").approval == Asset.Approval.NOT_REQUIRED
    again = s.use("training", asset_ref="model-1")
    assert (again.status, again.error.code) == ("refused", "asset_exists")


def test_provenance_finds_an_asset_by_a_credential_first_reported_on_a_later_use():
    s = scenario()
    asset = s.asset(occurred_at=USE_AT)
    published = s.use(
        "publication", asset_ref=asset.asset_ref, content_credential="c2pa:urn:uuid:42"
    )
    assert published.status == "accepted"

    found = provenance_lookup(
        viewer=viewer_for_user(s.talent.user), content_credential="c2pa:urn:uuid:42"
    )

    assert [record.asset.pk for record in found] == [asset.pk]
    assert [use.pk for use in found[0].uses][:1] == [published.event.pk]


@pytest.mark.parametrize("key", ["Social", "social media", ""])
def test_rate_channels_must_be_channel_slugs(key):
    with pytest.raises(RatesError):
        Rates.parse({"cpm": {key: 100}})
