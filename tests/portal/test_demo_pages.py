"""Every portal page works on the demo data (what `make run` shows): each demo login follows
every link of its menus, and every portal link on those pages, and gets no error."""

from __future__ import annotations

import re
from collections import deque

import pytest

from accounts.models import User
from ledger.services.closing import period_close_due
from ledger.services.demo import DEMO_LOGINS, seed_demo
from tests.logins import login

pytestmark = pytest.mark.django_db

ROLE_PREFIXES = ("/talent/", "/agency/", "/brand/", "/finance/")
# Pages that change something or leave the portal are not followed by a crawler.
SKIP = re.compile(r"/(logout|login)/|/(approve|decline|revoke|retry|resolve|connect|close)/?$")
HREF = re.compile(r'href="(/[^"#]*)"')
MAX_PAGES_PER_LOGIN = 80


def _crawl(client, start: str) -> dict[str, int]:
    seen: dict[str, int] = {}
    queue = deque([start])
    while queue and len(seen) < MAX_PAGES_PER_LOGIN:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        seen[url] = response.status_code
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        for link in HREF.findall(response.content.decode()):
            link = link.replace("&amp;", "&")
            if link.startswith(ROLE_PREFIXES) and not SKIP.search(link.split("?")[0]):
                queue.append(link)
    return seen


def test_every_page_each_demo_login_can_reach_answers(client):
    """One seed for all the logins (seeding takes seconds); the admin has no portal role."""
    seed_demo()
    period_close_due()  # what the worker does on start-up: statements for the past months
    broken: dict[str, dict[str, int]] = {}
    for demo_login in DEMO_LOGINS:
        if demo_login.email.startswith("admin"):
            continue
        client.logout()
        login(client, User.objects.get(email=demo_login.email))
        home = client.get("/", follow=True)
        assert home.status_code == 200, demo_login.email
        start = home.redirect_chain[-1][0]
        seen = _crawl(client, start)
        if failures := {url: status for url, status in seen.items() if status != 200}:
            broken[demo_login.email] = failures
        # A menu worth the name: the dashboard and several other pages.
        assert len(seen) > 3, (demo_login.email, seen)
    assert not broken, broken
