"""In the browser: Bolt sends a generated image from its Assets page, Ben sees it on his approval
page (and opens it full size), approves it, and Bolt's impressions of it are then accepted by the
API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

from django.utils import timezone

from accounts.services import brand_api_key_create
from ledger.models import Asset, AssetImage, UsageEvent
from tests.images import png_bytes
from tests.portal.conftest import accessibility_problems, browser_login, shot
from tests.portal.world import build_world


def report(base_url: str, raw_key: str, event: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base_url}/api/v1/usage-events/",
        data=json.dumps(event).encode(),
        headers={"Authorization": f"Api-Key {raw_key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_talent_approves_the_image_she_sees_then_impressions_are_accepted(page, live_server):
    world = build_world()
    asset = Asset.objects.filter(twin=world.ben_twin, approval="pending").order_by("pk").first()
    _, raw_key = brand_api_key_create(brand=world.bolt, name="browser test")
    impression = {
        "external_id": "browser-imp-1",
        "license": world.bolt_ben.pk,
        "kind": "impressions",
        "asset_ref": asset.asset_ref,
        "channel": "social",
        "territory": "FR",
        "occurred_at": (timezone.now() - timedelta(minutes=30)).isoformat(),
        "quantity": 5000,
    }
    status, body = report(live_server.url, raw_key, impression)
    assert (status, body["code"]) == (422, "asset_not_approved")

    # Bolt sends the image from its Assets page.
    browser_login(page, world.bolt_user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assets").click()
    page.get_by_label(f"Image of {asset.asset_ref}").set_input_files(
        files=[
            {"name": "look.png", "mimeType": "image/png", "buffer": png_bytes((900, 1200), "navy")}
        ]
    )
    page.locator(f"#asset-{asset.pk}").get_by_role("button", name="Send image").click()
    page.wait_for_load_state()
    assert f"The image of {asset.asset_ref} is sent" in page.get_by_role("status").inner_text()
    assert AssetImage.objects.filter(asset=asset).exists()
    page.context.clear_cookies()

    # Ben sees it, large enough to judge, and opens it full size.
    browser_login(page, world.ben.user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assets").click()
    image = page.get_by_role(
        "img", name=f"The image generated from {world.ben_twin.name} as {asset.asset_ref}"
    )
    image.wait_for()
    # Found in the page is not yet loaded: read the sizes once the thumbnail has arrived.
    size = image.evaluate(
        """img => new Promise(done => {
            const sizes = () => done([img.naturalWidth, img.naturalHeight, img.clientWidth]);
            if (img.complete && img.naturalWidth) sizes();
            else img.addEventListener("load", sizes, {once: true});
        })"""
    )
    assert size[:2] == [360, 480] and size[2] >= 300, size
    assert page.get_by_text("Waiting for the image").count() >= 1  # the others have none yet
    assert page.get_by_role("button", name=f"Approve {asset.asset_ref}").count() == 1
    shot(page, "talent-assets-image")
    assert accessibility_problems(page) == []
    full_size = page.get_by_role("link", name="Full size").get_attribute("href")
    opened = page.goto(full_size)
    assert opened.status == 200 and opened.headers["content-type"] == "image/png"
    page.wait_for_function("document.images.length && document.images[0].complete")
    assert page.evaluate("document.images[0].naturalWidth") == 900
    page.goto("/talent/assets/")
    page.get_by_role("button", name=f"Approve {asset.asset_ref}").click()
    page.wait_for_load_state()
    assert f"Asset {asset.asset_ref} approved" in page.get_by_role("status").inner_text()
    asset.refresh_from_db()
    assert asset.approval == "approved" and asset.decided_by == world.ben.user

    # Now the brand's impressions of that asset are accepted.
    status, body = report(live_server.url, raw_key, {**impression, "external_id": "browser-imp-2"})
    assert status == 201, body
    assert UsageEvent.objects.filter(external_id="browser-imp-2", asset=asset).exists()
