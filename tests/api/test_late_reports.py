"""Late reports over the API: a producing use no longer allowed when reported is held (202),
never booked unless the talent accepts; replays answer the held state; who may read and decide."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ledger.models import LateReport, RefusedAttempt, UsageEvent
from ledger.services.licensing import license_decide, license_propose
from ledger.services.twins import consent_revoke, consent_update, twin_create
from ledger.services.usage import usage_record
from tests.api.conftest import (
    assert_error,
    key_client,
    post_json,
    snapshot,
    terms,
    unique,
    user_client,
)
from tests.ledger.scenario import Scenario

URL = "/api/v1/usage-events/"
BATCH = "/api/v1/usage-events/batch/"
REPORTS = "/api/v1/late-reports/"


def _consent_of(twin) -> dict:
    latest = twin.consent_versions.order_by("-version").first()
    return {
        "allowed_kinds": latest.allowed_kinds,
        "allowed_channels": latest.allowed_channels,
        "allowed_territories": latest.allowed_territories,
        "forbidden_contexts": latest.forbidden_contexts,
        "requires_output_approval": latest.requires_output_approval,
    }


def social_off(world) -> None:
    consent_update(
        twin=world.twin_a, **{**_consent_of(world.twin_a), "allowed_channels": ["ecommerce"]}
    )


def held(world, brand_a, **overrides):
    """Turn social off on twin A, then report a social generation dated yesterday: held."""
    social_off(world)
    body = world.event(occurred_at=(timezone.now() - timedelta(days=1)).isoformat(), **overrides)
    response = post_json(brand_a, URL, body)
    assert response.status_code == 202, response.content
    return body, response.json()


def test_social_turned_off_then_a_social_generation_dated_yesterday_is_held_not_booked(
    world, brand_a
):
    before = snapshot()
    body, report = held(world, brand_a)

    latest = world.twin_a.consent_versions.order_by("-version").first()
    assert report["state"] == "held"
    assert report["reason"] == "consent_changed_since"
    assert report["consent_version"] == latest.version
    assert report["changed_at"].replace("Z", "+00:00") == latest.effective_from.isoformat()
    assert report["external_id"] == body["external_id"]
    # Nothing is booked: no use, no journal entry, no asset (only the report and the consent).
    after = snapshot()
    assert after == {**before, "ConsentVersion": before["ConsentVersion"] + 1}
    assert LateReport.objects.get().pk == report["id"]


def test_a_held_report_is_booked_only_when_the_talent_accepts_it(world, brand_a):
    body, report = held(world, brand_a)
    talent = user_client(world.talent_a.user)

    listed = talent.get(REPORTS, {"state": "held"}).json()["results"]
    accepted = post_json(talent, f"{REPORTS}{report['id']}/accept/", {"note": "fine by me"})
    replay = post_json(brand_a, URL, body)

    assert [r["id"] for r in listed] == [report["id"]]
    assert accepted.status_code == 200, accepted.content
    decided = accepted.json()
    assert (decided["state"], decided["note"], decided["decided_by_party"]) == (
        "accepted",
        "fine by me",
        "talent",
    )
    event = UsageEvent.objects.get(external_id=body["external_id"])
    assert decided["usage_event"] == event.pk
    assert event.gross_minor == 4000 and event.transaction_id is not None
    # The brand's replay now finds the booked event.
    assert replay.status_code == 200 and replay.json()["id"] == event.pk
    again = post_json(talent, f"{REPORTS}{report['id']}/accept/", {})
    assert_error(again, 409, "already_decided")
    assert UsageEvent.objects.filter(external_id=body["external_id"]).count() == 1


def test_a_declined_report_becomes_a_refused_attempt_and_is_never_booked(world, brand_a):
    body, report = held(world, brand_a)
    talent = user_client(world.talent_a.user)

    declined = post_json(talent, f"{REPORTS}{report['id']}/decline/", {"note": "not after"})
    replay = post_json(brand_a, URL, body)

    assert declined.status_code == 200 and declined.json()["state"] == "declined"
    attempt = RefusedAttempt.objects.get(code="late_report_declined")
    assert (attempt.external_id, attempt.twin_id) == (body["external_id"], world.twin_a.pk)
    assert not UsageEvent.objects.filter(external_id=body["external_id"]).exists()
    assert replay.status_code == 202 and replay.json()["state"] == "declined"


def test_a_replay_of_a_held_report_returns_it_and_holds_nothing_twice(world, brand_a):
    body, report = held(world, brand_a)

    again = post_json(brand_a, URL, body)
    other_body = post_json(brand_a, URL, {**body, "quantity": 2})
    batch = post_json(brand_a, BATCH, {"events": [body]})

    assert again.status_code == 202 and again.json() == report
    assert_error(other_body, 409, "idempotency_conflict", "external_id")
    [result] = batch.json()["results"]
    assert (result["status"], result["late_report"]["id"]) == ("held", report["id"])
    assert LateReport.objects.count() == 1


def test_a_held_event_in_a_batch_is_held_and_the_others_booked(world, brand_a):
    social_off(world)
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    events = [world.event(occurred_at=yesterday), world.event(channel="ecommerce")]

    response = post_json(brand_a, BATCH, {"events": events})

    held_result, booked = response.json()["results"]
    assert held_result["status"] == "held"
    assert held_result["late_report"]["reason"] == "consent_changed_since"
    assert "event" not in held_result
    assert booked["status"] == "accepted"


def test_after_revocation_producing_uses_dated_yesterday_and_months_back_are_never_booked(
    world, brand_a
):
    now = timezone.now()
    license = year_old_license(world, now)
    asset = usage_record(
        brand=world.brand_a,
        item=_item(world, license, "generation", occurred_at=now - timedelta(days=2)),
    ).event.asset
    consent_revoke(twin=license.twin)
    events = [
        world.event(license=license.pk, occurred_at=(now - timedelta(days=1)).isoformat()),
        world.event(license=license.pk, occurred_at=(now - timedelta(days=91)).isoformat()),
        world.event(
            license=license.pk,
            kind="publication",
            asset_ref=asset.asset_ref,
            occurred_at=(now - timedelta(days=1)).isoformat(),
        ),
        world.event(license=license.pk, occurred_at=timezone.now().isoformat()),  # refused
    ]

    results = post_json(brand_a, BATCH, {"events": events}).json()["results"]

    assert [r["status"] for r in results] == ["held", "held", "held", "refused"]
    assert {r["late_report"]["reason"] for r in results[:3]} == {"consent_changed_since"}
    assert results[1]["late_report"]["days_late"] == 91
    assert results[3]["error"]["code"] == "consent_revoked"
    assert not UsageEvent.objects.filter(external_id__in=[e["external_id"] for e in events])


def test_an_impression_of_an_asset_published_before_revocation_inside_sell_off_is_accepted(
    world, brand_a
):
    now = timezone.now()
    asset = usage_record(
        brand=world.brand_a,
        item=_item(world, world.license_a, "generation", occurred_at=now - timedelta(hours=3)),
    ).event.asset
    usage_record(
        brand=world.brand_a,
        item=_item(
            world,
            world.license_a,
            "publication",
            asset_ref=asset.asset_ref,
            occurred_at=now - timedelta(hours=2),
        ),
    )
    consent_revoke(twin=world.twin_a)

    response = post_json(
        brand_a,
        URL,
        world.event(
            kind="impressions",
            asset_ref=asset.asset_ref,
            quantity=1000,
            occurred_at=timezone.now().isoformat(),
        ),
    )

    assert response.status_code == 201, response.content


def test_an_impression_reported_after_its_window_is_held_as_reported_late(world, brand_a):
    """Impressions are judged at occurred_at only, but have a reporting window (45 days)."""
    now = timezone.now()
    license = year_old_license(world, now)
    asset = usage_record(
        brand=world.brand_a,
        item=_item(world, license, "generation", occurred_at=now - timedelta(days=60)),
        now=now - timedelta(days=60),
    ).event.asset
    usage_record(
        brand=world.brand_a,
        item=_item(
            world, license, "publication", asset_ref=asset.asset_ref, occurred_at=asset.generated_at
        ),
        now=asset.generated_at + timedelta(hours=1),
    )
    late = world.event(
        license=license.pk,
        kind="impressions",
        asset_ref=asset.asset_ref,
        quantity=500,
        occurred_at=(now - timedelta(days=46)).isoformat(),
    )
    on_time = {**world.event(), **late, "external_id": "on-time", "occurred_at": now.isoformat()}

    held_response = post_json(brand_a, URL, late)
    booked = post_json(brand_a, URL, on_time)

    assert held_response.status_code == 202
    assert held_response.json()["reason"] == "reported_late"
    assert held_response.json()["days_late"] == 46
    assert booked.status_code == 201


def year_old_license(world, now):
    """A twin of talent A created long ago, licensed to brand A for the past year: three months
    back is inside both its consent and the license."""
    twin = twin_create(
        talent=world.talent_a, name="Twin A (archive)", now=now - timedelta(days=400)
    )
    license = license_propose(
        brand=world.brand_a,
        twin=twin,
        currency="EUR",
        terms=terms(now, starts_at=now - timedelta(days=365)),
        now=now - timedelta(days=366),
    )
    license_decide(
        version=license.versions.get(), party="talent", approve=True, now=now - timedelta(days=365)
    )
    license.refresh_from_db()
    return license


def _item(world, license, kind, *, asset_ref=None, occurred_at):
    return Scenario(
        talent=world.talent_a, twin=license.twin, brand=world.brand_a, license=license
    ).item(kind, asset_ref=asset_ref or unique("asset"), occurred_at=occurred_at)


# --- who may read and decide -----------------------------------------------------------------


def test_other_parties_neither_see_nor_decide_a_late_report(world, brand_a, anonymous):
    _, report = held(world, brand_a)
    detail = f"{REPORTS}{report['id']}/"
    other_talent = user_client(world.talent_b.user)
    other_agency = user_client(world.other_agency_user)
    other_brand = key_client(world.raw_b)
    other_brand_member = user_client(world.brand_b_user)

    for client in (other_talent, other_agency, other_brand, other_brand_member):
        assert client.get(REPORTS).json()["results"] == []
        assert_error(client.get(detail), 404, "not_found")
        for action in ("accept", "decline"):
            assert_error(post_json(client, f"{detail}{action}/", {}), 404, "not_found")
    assert_error(anonymous.get(REPORTS), 401, "not_authenticated")
    assert_error(post_json(anonymous, f"{detail}accept/", {}), 401, "not_authenticated")
    assert LateReport.objects.get().pk == report["id"]
    assert not UsageEvent.objects.exists() and not RefusedAttempt.objects.exists()


def test_the_reporting_brand_reads_its_report_but_cannot_decide_it(world, brand_a):
    _, report = held(world, brand_a)
    member = user_client(world.brand_a_user)

    for client in (brand_a, member):
        assert client.get(f"{REPORTS}{report['id']}/").json()["state"] == "held"
        assert [r["id"] for r in client.get(REPORTS).json()["results"]] == [report["id"]]
        assert_error(
            post_json(client, f"{REPORTS}{report['id']}/accept/", {}), 403, "not_talent_or_agency"
        )


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_the_agency_of_the_talent_decides_its_late_reports(world, brand_a, action):
    consent_update(
        twin=world.twin_c, **{**_consent_of(world.twin_c), "allowed_channels": ["ecommerce"]}
    )
    body = world.event(
        license=world.license_c.pk,
        occurred_at=(timezone.now() - timedelta(days=1)).isoformat(),
    )
    report = post_json(brand_a, URL, body).json()
    agency = user_client(world.agency_user)

    response = post_json(agency, f"{REPORTS}{report['id']}/{action}/", {})

    assert response.status_code == 200, response.content
    assert response.json()["decided_by_party"] == "agency"
    assert response.json()["state"] == ("accepted" if action == "accept" else "declined")


def test_a_generation_reported_4_days_late_is_202_held_and_posts_nothing(world, brand_a):
    now = timezone.now()
    license = year_old_license(world, now)
    before = snapshot()

    response = post_json(
        brand_a,
        URL,
        world.event(license=license.pk, occurred_at=(now - timedelta(days=4)).isoformat()),
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["state"], body["reason"], body["days_late"]) == ("held", "reported_late", 4)
    assert body["due_at"] < body["recorded_at"]
    assert {k: v for k, v in snapshot().items() if v != before[k]} == {}


# --- the reporting window is a term of the license -------------------------------------------


def _proposal(world, **terms_overrides):
    now = timezone.now()
    return {
        "twin": world.twin_c.pk,
        "currency": "EUR",
        "terms": {
            "use_kinds": ["generation"],
            "channels": ["social"],
            "territories": ["FR"],
            "brand_category": "beauty",
            "starts_at": (now + timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=90)).isoformat(),
            "platform_fee_pct": "10",
            **terms_overrides,
        },
    }


def test_a_proposal_sets_its_reporting_windows_and_they_default_to_72_hours_and_45_days(
    world, brand_b
):
    chosen = post_json(
        brand_b,
        "/api/v1/licenses/",
        _proposal(world, producing_report_hours=24, reporting_window_days=10),
    )
    default = post_json(brand_b, "/api/v1/licenses/", _proposal(world))

    [version] = chosen.json()["versions"]
    assert (version["producing_report_hours"], version["reporting_window_days"]) == (24, 10)
    [version] = default.json()["versions"]
    assert (version["producing_report_hours"], version["reporting_window_days"]) == (72, 45)


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"producing_report_hours": 0}, "out_of_range", "terms.producing_report_hours"),
        ({"reporting_window_days": 367}, "out_of_range", "terms.reporting_window_days"),
        ({"producing_report_hours": "72"}, "invalid_type", "terms.producing_report_hours"),
    ],
)
def test_a_reporting_window_out_of_bounds_is_a_400_and_nothing_is_written(
    world, brand_b, overrides, code, field
):
    before = snapshot()

    response = post_json(brand_b, "/api/v1/licenses/", _proposal(world, **overrides))

    assert_error(response, 400, code, field)
    assert snapshot() == before
