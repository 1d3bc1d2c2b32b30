"""Who may open a portal page: login, the role the page is for, and the second factor of finance
and staff accounts (accounts.second_factor holds the rule, for the API and the admin too).

Objects of another party are never looked up directly: views fetch them through the visibility
selectors, so they are simply not found (404), as in the API.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.second_factor import second_factor_pending
from ledger.selectors.visibility import Viewer, viewer_for_user

TALENT, AGENCY, BRAND, FINANCE = "talent", "agency", "brand", "finance"
ROLES = (TALENT, AGENCY, BRAND, FINANCE)


def roles_of(viewer: Viewer) -> list[str]:
    """The portal roles a viewer holds, in menu order (a person may hold several)."""
    held = {
        TALENT: viewer.talent_id is not None,
        AGENCY: bool(viewer.agency_ids),
        BRAND: bool(viewer.brand_ids),
        FINANCE: viewer.finance,
    }
    return [role for role in ROLES if held[role]]


def needs_second_factor(request: HttpRequest) -> bool:
    """Finance and staff users must have passed their second factor in this session."""
    return second_factor_pending(request.user)


def portal_view(*roles: str) -> Callable:
    """Decorate a view for the given roles: anonymous -> login; other roles -> 403.

    Sets `request.viewer` (the party scope every selector takes). Finance and staff users who
    have not passed their second factor in this session are sent to it before any page, whatever
    the role of the page, since their account can see everything.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if needs_second_factor(request):
                return redirect_to_login(request.get_full_path(), login_url="portal:otp")
            request.viewer = viewer_for_user(request.user)
            if not set(roles) & set(roles_of(request.viewer)):
                raise PermissionDenied("This page is for another role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def home_url_for(viewer: Viewer) -> str:
    """Where a person lands after login: their first role's dashboard (none: the home page)."""
    held = roles_of(viewer)
    return f"{held[0]}:dashboard" if len(held) == 1 else "portal:home"


def go_home(viewer: Viewer) -> HttpResponse:
    return redirect(home_url_for(viewer))
