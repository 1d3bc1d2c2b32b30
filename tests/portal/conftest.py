"""Portal tests: Django's test client for behaviour and access, Playwright for the browser.

Browser tests drive the system's chromium (Debian's package `chromium`; `.ci/run` installs it)
through Playwright, headless, against the app served by pytest-django's `live_server` on
127.0.0.1. They need committed data (the server is another thread with its own connection), so
they use `transactional_db`. Screenshots go to build/screenshots/ (see `shot`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.logins import current_code, totp_device

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are still plain synchronous calls, one at a time.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
PASSWORD = "portal-test-password"
# axe-core impacts that fail a page (minor and moderate ones are left to review).
BLOCKING = {"serious", "critical"}


def _chromium() -> str | None:
    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


@pytest.fixture(scope="session")
def browser() -> Iterator:
    executable = _chromium()
    if executable is None:
        if os.environ.get("PORTAL_BROWSER_REQUIRED"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed: apt-get install chromium (see README)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser, live_server, transactional_db) -> Iterator:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def phone_page(browser, live_server, transactional_db) -> Iterator:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def browser_login(page, user, password: str = PASSWORD) -> None:
    """Log in through the login page; finance and staff also enter their current TOTP code."""
    page.goto("/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    if user.is_finance or user.is_staff:
        page.wait_for_url("**/login/second-factor/**")
        page.get_by_label("6-digit code").fill(current_code(totp_device(user)))
        page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as build/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]
