"""Accessibility, checked by axe-core in the browser on every menu page of every role (and the
login page): no serious or critical violations (labels, contrast, names of links and buttons,
landmarks...), at desktop and phone widths."""

from __future__ import annotations

import pytest

from tests.portal.conftest import accessibility_problems, browser_login
from tests.portal.world import build_world


def _menu_urls(page) -> list[str]:
    return page.eval_on_selector_all("nav.menus a", "links => links.map(a => a.href)")


def test_login_page_has_no_serious_violations(page):
    page.goto("/login/")
    assert accessibility_problems(page) == []


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_every_menu_page_of_every_role_has_no_serious_violations(page, viewport):
    if viewport == "phone":
        page.set_viewport_size({"width": 390, "height": 844})
    world = build_world()
    problems: list[str] = []
    for user in (world.ana.user, world.agency_user, world.atelier_user, world.finance):
        page.context.clear_cookies()
        browser_login(page, user)
        urls = _menu_urls(page)
        assert len(urls) >= 2, (user.email, urls)
        for url in urls:
            page.goto(url)
            problems += accessibility_problems(page)
    assert problems == [], "\n".join(problems)


def test_the_check_finds_what_it_looks_for(page):
    """The checker itself: an unlabelled field and grey-on-white text are reported."""
    page.set_content(
        '<html lang="en"><body><main><input type="text">'
        '<p style="color:#ccc;background:#fff">faint</p></main></body></html>'
    )
    found = " ".join(accessibility_problems(page))
    assert "label" in found
    assert "color-contrast" in found
