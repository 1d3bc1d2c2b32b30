"""Twins and consent (SPEC "Twins and consent"): versions, history, the consent in force at
occurred_at, refusal codes, and revocation with its sell-off window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.errors import InvalidInput
from ledger.models import ConsentVersion, RefusedAttempt
from ledger.selectors.licensing import consent_history, consent_in_force
from ledger.services.twins import consent_revoke, consent_update, twin_create
from ledger.services.usage import asset_decide, late_report_decide
from ledger.vocabulary import CHANNELS, DEFAULT_CONSENTED_KINDS, UseKind
from tests.factories import TalentFactory
from tests.images import attach_image
from tests.ledger.scenario import TWIN_CREATED, USE_AT, journal_state, scenario

REVOKED_AT = USE_AT + timedelta(days=5)


def consent_of(twin, **changes):
    """The latest version's consent with `changes`, as consent_update arguments."""
    latest = twin.consent_versions.order_by("-version").first()
    current = {
        "allowed_kinds": latest.allowed_kinds,
        "allowed_channels": latest.allowed_channels,
        "allowed_territories": latest.allowed_territories,
        "forbidden_contexts": latest.forbidden_contexts,
        "requires_output_approval": latest.requires_output_approval,
    }
    return {**current, **changes}


# --- versions and history --------------------------------------------------------------------


def test_a_new_twin_has_consent_v1_with_everything_but_training(db):
    twin = twin_create(talent=TalentFactory(), name="  Inès v1 ", now=TWIN_CREATED)

    assert twin.name == "Inès v1"
    [v1] = twin.consent_versions.all()
    assert (v1.version, v1.effective_from, v1.revoked) == (1, TWIN_CREATED, False)
    assert UseKind.TRAINING not in v1.allowed_kinds
    assert set(v1.allowed_kinds) == {"generation", "publication", "impressions", "sale"}
    assert sorted(v1.allowed_channels) == sorted(CHANNELS)
    assert v1.allowed_territories == ["WW"]
    assert v1.forbidden_contexts == []
    assert v1.requires_output_approval is False


def test_each_change_is_a_new_numbered_version_and_history_is_kept(db):
    twin = twin_create(talent=TalentFactory(), name="T", now=TWIN_CREATED)
    t2, t3, t4 = (TWIN_CREATED + timedelta(days=d) for d in (1, 2, 3))

    consent_update(twin=twin, **consent_of(twin, allowed_channels=["social"]), note="n2", now=t2)
    consent_update(
        twin=twin, **consent_of(twin, forbidden_contexts=["Political", "tobacco"]), now=t3
    )
    consent_revoke(twin=twin, now=t4)

    versions = list(twin.consent_versions.order_by("version"))
    assert [(v.version, v.effective_from, v.revoked) for v in versions] == [
        (1, TWIN_CREATED, False),
        (2, t2, False),
        (3, t3, False),
        (4, t4, True),
    ]
    # Nothing was overwritten: v1 still has every channel; tags are cleaned and kept sorted.
    assert sorted(versions[0].allowed_channels) == sorted(CHANNELS)
    assert versions[1].allowed_channels == ["social"] and versions[1].note == "n2"
    assert versions[2].forbidden_contexts == ["political", "tobacco"]
    assert versions[3].forbidden_contexts == ["political", "tobacco"]  # revocation keeps them
    assert [v.version for v in consent_history([twin.pk])[twin.pk]] == [4, 3, 2, 1]


def test_the_version_in_force_is_the_latest_effective_one(db):
    twin = twin_create(talent=TalentFactory(), name="T", now=TWIN_CREATED)
    later = TWIN_CREATED + timedelta(days=10)
    consent_update(twin=twin, **consent_of(twin, allowed_channels=["print"]), now=later)
    history = consent_history([twin.pk])[twin.pk]

    assert consent_in_force(history, TWIN_CREATED - timedelta(seconds=1)) is None
    assert consent_in_force(history, TWIN_CREATED).version == 1
    assert consent_in_force(history, later - timedelta(microseconds=1)).version == 1
    assert consent_in_force(history, later).version == 2


def test_a_change_dated_before_the_latest_version_takes_effect_from_it(db):
    """Consent cannot be rewritten in the past: an earlier `now` is clamped to the latest."""
    twin = twin_create(talent=TalentFactory(), name="T", now=TWIN_CREATED)

    v2 = consent_update(twin=twin, **consent_of(twin), now=TWIN_CREATED - timedelta(days=3))

    assert v2.version == 2 and v2.effective_from == TWIN_CREATED


def test_revoking_twice_creates_no_second_version_and_an_update_restores_consent(db):
    twin = twin_create(talent=TalentFactory(), name="T", now=TWIN_CREATED)
    first = consent_revoke(twin=twin, now=REVOKED_AT)

    again = consent_revoke(twin=twin, now=REVOKED_AT + timedelta(days=1))
    restored = consent_update(twin=twin, **consent_of(twin), now=REVOKED_AT + timedelta(days=2))

    assert again.pk == first.pk
    assert (restored.version, restored.revoked) == (3, False)


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"allowed_kinds": ["generation", "telepathy"]}, "unknown_kind", "allowed_kinds"),
        ({"allowed_kinds": "generation"}, "invalid_type", "allowed_kinds"),
        ({"allowed_channels": ["Social Media!"]}, "invalid_tag", "allowed_channels"),
        ({"allowed_territories": ["France"]}, "invalid_territory", "allowed_territories"),
        ({"allowed_territories": ["fr"]}, "invalid_territory", "allowed_territories"),
        ({"forbidden_contexts": [""]}, "invalid_tag", "forbidden_contexts"),
        ({"requires_output_approval": "yes"}, "invalid_type", "requires_output_approval"),
    ],
)
def test_invalid_consent_is_refused_and_nothing_is_written(db, changes, code, field):
    twin = twin_create(talent=TalentFactory(), name="T", now=TWIN_CREATED)

    with pytest.raises(InvalidInput) as refused:
        consent_update(twin=twin, **consent_of(twin, **changes), now=REVOKED_AT)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert twin.consent_versions.count() == 1


def test_a_twin_needs_a_name_and_nothing_is_written_without_one(db):
    with pytest.raises(InvalidInput) as refused:
        twin_create(talent=TalentFactory(), name="  ")

    assert refused.value.code == "required"
    assert ConsentVersion.objects.count() == 0


def test_a_refused_first_version_leaves_no_twin(db):
    talent = TalentFactory()

    with pytest.raises(InvalidInput):
        twin_create(talent=talent, name="T", allowed_territories=["Europe"])

    assert not talent.twins.exists()


# --- consent applied to uses -----------------------------------------------------------------


def test_training_is_refused_until_the_talent_turns_it_on(db):
    # A license with training is approved only within consent: training is off from then on.
    s = scenario(
        use_kinds=["generation", "training"], consent={"allowed_kinds": DEFAULT_CONSENTED_KINDS}
    )
    # A training use names its own output (the trained model), like a generation.
    refused = s.use("training", asset_ref="model-run-1", occurred_at=USE_AT)
    consent_update(
        twin=s.twin,
        **consent_of(s.twin, allowed_kinds=[*DEFAULT_CONSENTED_KINDS, "training"]),
        now=USE_AT + timedelta(hours=1),
    )
    accepted = s.use("training", asset_ref="model-run-2", occurred_at=USE_AT + timedelta(hours=2))

    assert (refused.status, refused.error.code, refused.error.field) == (
        "refused",
        "kind_not_consented",
        "kind",
    )
    assert accepted.status == "accepted"
    assert accepted.event.gross_minor == 0 and accepted.event.transaction_id is None


@pytest.mark.parametrize(
    ("consent", "use", "code", "field"),
    [
        (
            {"allowed_kinds": ["generation", "publication"]},
            {"kind": "generation", "quantity": 1},
            None,
            None,
        ),
        ({"allowed_kinds": ["publication"]}, {"kind": "generation"}, "kind_not_consented", "kind"),
        (
            {"allowed_channels": ["ecommerce"]},
            {"channel": "social"},
            "channel_not_consented",
            "channel",
        ),
        (
            {"allowed_territories": ["FR"]},
            {"territory": "DE"},
            "territory_not_consented",
            "territory",
        ),
        (
            {"forbidden_contexts": ["political", "tobacco"]},
            {"context_tags": ["summer", "tobacco"]},
            "context_forbidden",
            "context_tags",
        ),
        (
            {"forbidden_contexts": ["political", "my-ex-brand"]},
            {"context_tags": ["my-ex-brand"]},
            "context_forbidden",
            "context_tags",
        ),
        ({"forbidden_contexts": ["political"]}, {"context_tags": ["sports"]}, None, None),
    ],
)
def test_a_use_outside_consent_is_refused_with_its_code(db, consent, use, code, field):
    s = scenario(consent=consent)
    before = journal_state()

    outcome = s.use(**{"kind": "generation", **use})

    if code is None:
        assert outcome.status == "accepted"
        return
    assert (outcome.status, outcome.error.code, outcome.error.field) == ("refused", code, field)
    assert journal_state() == before
    attempt = RefusedAttempt.objects.get()
    assert (attempt.code, attempt.twin_id, attempt.license_id) == (code, s.twin.pk, s.license.pk)


def test_a_use_is_judged_by_the_consent_in_force_when_it_occurred(db):
    s = scenario()
    change = USE_AT + timedelta(days=1)
    consent_update(twin=s.twin, **consent_of(s.twin, allowed_channels=["print"]), now=change)

    before_change = s.use(
        occurred_at=change - timedelta(seconds=1),
        channel="social",
        now=change - timedelta(milliseconds=1),
    )
    after_change = s.use(occurred_at=change, channel="social")

    assert before_change.status == "accepted"
    assert (after_change.status, after_change.error.code) == ("refused", "channel_not_consented")


def test_a_widening_change_does_not_reach_back_in_time(db):
    s = scenario(consent={"allowed_territories": ["FR"]})
    change = USE_AT + timedelta(days=1)
    consent_update(twin=s.twin, **consent_of(s.twin, allowed_territories=["WW"]), now=change)

    early = s.use(occurred_at=change - timedelta(hours=1), territory="DE")
    late = s.use(occurred_at=change + timedelta(hours=1), territory="DE")

    assert (early.status, early.error.code) == ("refused", "territory_not_consented")
    assert late.status == "accepted"


# --- output approval -------------------------------------------------------------------------


def test_output_approval_holds_publication_until_the_talent_approves(db):
    s = scenario(consent={"requires_output_approval": True})
    asset = s.asset()
    assert asset.approval == "pending"

    held = s.use("publication", asset_ref=asset.asset_ref, occurred_at=USE_AT + timedelta(hours=1))
    attach_image(asset)
    asset_decide(asset=asset, approve=True, now=s.now)
    released = s.use(
        "publication", asset_ref=asset.asset_ref, occurred_at=USE_AT + timedelta(hours=2)
    )

    assert (held.status, held.error.code, held.error.field) == (
        "refused",
        "asset_not_approved",
        "asset_ref",
    )
    assert released.status == "accepted"


def test_assets_generated_before_approval_was_required_need_none(db):
    s = scenario()
    asset = s.asset(occurred_at=USE_AT)
    consent_update(
        twin=s.twin,
        **consent_of(s.twin, requires_output_approval=True),
        now=USE_AT + timedelta(hours=1),
    )

    later = s.asset(occurred_at=USE_AT + timedelta(hours=2))
    publication = s.use(
        "publication", asset_ref=asset.asset_ref, occurred_at=USE_AT + timedelta(hours=3)
    )

    assert asset.approval == "not_required" and later.approval == "pending"
    assert publication.status == "accepted"


# --- revocation and the sell-off window -----------------------------------------------------


def test_after_revocation_new_generation_and_publication_are_refused(db):
    s = scenario()
    generated = s.asset(occurred_at=REVOKED_AT - timedelta(days=1))
    consent_revoke(twin=s.twin, now=REVOKED_AT)

    generation = s.use("generation", occurred_at=REVOKED_AT + timedelta(seconds=1))
    publication = s.use(
        "publication", asset_ref=generated.asset_ref, occurred_at=REVOKED_AT + timedelta(hours=1)
    )

    for outcome in (generation, publication):
        assert (outcome.status, outcome.error.code, outcome.error.field) == (
            "refused",
            "consent_revoked",
            "occurred_at",
        )
    assert set(RefusedAttempt.objects.values_list("code", flat=True)) == {"consent_revoked"}


def test_a_generation_dated_before_the_revocation_but_reported_after_is_held_not_booked(db):
    s = scenario()
    revocation = consent_revoke(twin=s.twin, now=REVOKED_AT)
    before = journal_state()

    late_report = s.use("generation", occurred_at=REVOKED_AT - timedelta(seconds=1))

    assert late_report.status == "held"
    report = late_report.late_report
    assert (report.reason, report.consent_version_id, report.changed_at) == (
        "consent_changed_since",
        revocation.pk,
        REVOKED_AT,
    )
    assert journal_state() == before


@pytest.mark.parametrize("kind", ["impressions", "sale"])
def test_sell_off_accepts_impressions_and_sales_of_published_assets_until_its_end(db, kind):
    s = scenario()  # sell_off_days = 30 (the default)
    asset = s.published(at=REVOKED_AT - timedelta(days=2))
    consent_revoke(twin=s.twin, now=REVOKED_AT)
    sell_off_end = REVOKED_AT + timedelta(days=30)

    outcomes = {
        label: s.use(kind, asset_ref=asset.asset_ref, occurred_at=at)
        for label, at in [
            ("just after", REVOKED_AT + timedelta(seconds=1)),
            ("mid", REVOKED_AT + timedelta(days=15)),
            ("last instant", sell_off_end),
            ("after", sell_off_end + timedelta(seconds=1)),
        ]
    }

    assert {label: o.status for label, o in outcomes.items()} == {
        "just after": "accepted",
        "mid": "accepted",
        "last instant": "accepted",
        "after": "refused",
    }
    assert outcomes["after"].error.code == "consent_revoked"


def test_the_sell_off_window_is_the_licenses_own(db):
    s = scenario(sell_off_days=3)
    asset = s.published(at=REVOKED_AT - timedelta(days=2))
    consent_revoke(twin=s.twin, now=REVOKED_AT)

    inside = s.use(
        "impressions", asset_ref=asset.asset_ref, occurred_at=REVOKED_AT + timedelta(days=3)
    )
    outside = s.use(
        "impressions", asset_ref=asset.asset_ref, occurred_at=REVOKED_AT + timedelta(days=4)
    )

    assert inside.status == "accepted"
    assert (outside.status, outside.error.code) == ("refused", "consent_revoked")


def test_no_sell_off_for_an_asset_never_published(db):
    s = scenario()
    asset = s.asset(occurred_at=REVOKED_AT - timedelta(days=2))
    consent_revoke(twin=s.twin, now=REVOKED_AT)

    outcome = s.use(
        "impressions", asset_ref=asset.asset_ref, occurred_at=REVOKED_AT + timedelta(days=1)
    )

    assert (outcome.status, outcome.error.code) == ("refused", "consent_revoked")


def test_no_sell_off_for_an_asset_whose_publication_after_revocation_was_refused(db):
    s = scenario()
    asset = s.asset(occurred_at=REVOKED_AT - timedelta(days=2))
    consent_revoke(twin=s.twin, now=REVOKED_AT)

    publication = s.use(
        "publication", asset_ref=asset.asset_ref, occurred_at=REVOKED_AT + timedelta(hours=1)
    )
    impressions = s.use(
        "impressions", asset_ref=asset.asset_ref, occurred_at=REVOKED_AT + timedelta(hours=2)
    )

    assert publication.error.code == impressions.error.code == "consent_revoked"
    asset.refresh_from_db()
    assert asset.first_published_at is None


def test_a_publication_dated_before_revocation_opens_the_sell_off_once_the_talent_accepts(db):
    s = scenario()
    asset = s.asset(occurred_at=REVOKED_AT - timedelta(days=2))
    consent_revoke(twin=s.twin, now=REVOKED_AT)

    publication = s.use(
        "publication", asset_ref=asset.asset_ref, occurred_at=REVOKED_AT - timedelta(days=1)
    )
    refused_before = s.use(
        "impressions", asset_ref=asset.asset_ref, occurred_at=REVOKED_AT + timedelta(days=1)
    )
    late_report_decide(report=publication.late_report, accept=True, party="talent", now=s.now)
    impressions = s.use(
        "impressions", asset_ref=asset.asset_ref, occurred_at=REVOKED_AT + timedelta(days=1)
    )

    assert publication.status == "held"
    assert (refused_before.status, refused_before.error.code) == ("refused", "consent_revoked")
    assert impressions.status == "accepted", impressions.error


def test_sell_off_still_respects_the_rest_of_the_consent(db):
    s = scenario(consent={"forbidden_contexts": ["alcohol"]})
    asset = s.published(at=REVOKED_AT - timedelta(days=2))
    consent_revoke(twin=s.twin, now=REVOKED_AT)

    outcome = s.use(
        "impressions",
        asset_ref=asset.asset_ref,
        occurred_at=REVOKED_AT + timedelta(days=1),
        context_tags=["alcohol"],
    )

    assert (outcome.status, outcome.error.code) == ("refused", "context_forbidden")


def test_sell_off_applies_within_one_batch_too(db):
    """A publication before a narrowing (impressions removed) and impressions after it,
    reported together: the publication is still allowed, the impressions are in sell-off."""
    s = scenario()
    asset = s.asset(occurred_at=REVOKED_AT - timedelta(days=3))
    consent_update(
        twin=s.twin,
        **consent_of(s.twin, allowed_kinds=["generation", "publication", "sale"]),
        now=REVOKED_AT,
    )

    publication, impressions = s.batch(
        [
            s.item(
                "publication", asset_ref=asset.asset_ref, occurred_at=REVOKED_AT - timedelta(days=1)
            ),
            s.item(
                "impressions", asset_ref=asset.asset_ref, occurred_at=REVOKED_AT + timedelta(days=1)
            ),
        ]
    )

    assert publication.status == "accepted"
    assert impressions.status == "accepted", impressions.error


def test_consent_restored_after_revocation_accepts_new_uses(db):
    s = scenario()
    consent_revoke(twin=s.twin, now=REVOKED_AT)
    consent_update(twin=s.twin, **consent_of(s.twin), now=REVOKED_AT + timedelta(days=1))

    during = s.use("generation", occurred_at=REVOKED_AT + timedelta(hours=12))
    after = s.use("generation", occurred_at=REVOKED_AT + timedelta(days=2))

    assert during.error.code == "consent_revoked"
    assert after.status == "accepted"
