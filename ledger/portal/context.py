"""Template context for every portal page: the menus of the viewer's roles."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from ledger.portal.access import roles_of
from ledger.selectors.visibility import viewer_for_user

ROLE_LABELS = {"talent": "Talent", "agency": "Agency", "brand": "Brand", "finance": "Finance"}


def _menu(role: str) -> list[dict[str, str]]:
    """A role's menu from its package's NAV: [(label, url name), ...]."""
    try:
        nav = import_module(f"ledger.portal.{role}.nav").NAV
    except ModuleNotFoundError:
        return []
    items = []
    for label, name in nav:
        try:
            items.append({"label": label, "url": reverse(name)})
        except NoReverseMatch:
            continue  # a page named in the menu before its view exists
    return items


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    viewer = getattr(request, "viewer", None) or viewer_for_user(user)
    menus = [
        {"role": role, "label": ROLE_LABELS[role], "items": _menu(role)}
        for role in roles_of(viewer)
    ]
    return {"portal_menus": menus}
