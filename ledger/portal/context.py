"""Template context for every portal page: the menus of the viewer's roles."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from ledger.portal.access import AGENCY, TALENT, roles_of
from ledger.selectors.late_reports import late_reports_held_count
from ledger.selectors.visibility import Viewer, viewer_for_user

ROLE_LABELS = {"talent": "Talent", "agency": "Agency", "brand": "Brand", "finance": "Finance"}


# Menu entries that show how many things wait for the viewer: url name -> count(viewer, role).
COUNTS = {
    f"{TALENT}:late-reports": late_reports_held_count,
    f"{AGENCY}:late-reports": late_reports_held_count,
}


def _menu(role: str, viewer: Viewer) -> list[dict[str, Any]]:
    """A role's menu from its package's NAV: [(label, url name), ...]."""
    try:
        nav = import_module(f"ledger.portal.{role}.nav").NAV
    except ModuleNotFoundError:
        return []
    items = []
    for label, name in nav:
        try:
            item: dict[str, Any] = {"label": label, "url": reverse(name)}
        except NoReverseMatch:
            continue  # a page named in the menu before its view exists
        if name in COUNTS:
            item["count"] = COUNTS[name](viewer=viewer, role=role)
        items.append(item)
    return items


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    viewer = getattr(request, "viewer", None) or viewer_for_user(user)
    menus = [
        {"role": role, "label": ROLE_LABELS[role], "items": _menu(role, viewer)}
        for role in roles_of(viewer)
    ]
    return {"portal_menus": menus}
