"""The caller's party for a request, and the few role checks that views need.

What a party may *see* is decided by ledger.selectors.visibility; this module only answers
"who is calling" and "may this caller act as X" (a brand API key, finance, a twin's owner...).
"""

from __future__ import annotations

from rest_framework import permissions
from rest_framework.request import Request

from accounts.models import Brand
from ledger.api.authentication import second_factor_required
from ledger.errors import InvalidInput, NotAllowed, NotFound
from ledger.selectors.visibility import Viewer, viewer_for_api_key, viewer_for_user

_VIEWER_ATTR = "_twin_ledger_viewer"


def viewer(request: Request) -> Viewer:
    """The caller's party (computed once per request)."""
    cached = getattr(request, _VIEWER_ATTR, None)
    if cached is not None:
        return cached
    key = request.auth if is_api_key_request(request) else None
    if key is not None:
        result = viewer_for_api_key(key_id=key.pk, brand_id=key.brand_id)
    else:
        result = viewer_for_user(request.user)
    setattr(request, _VIEWER_ATTR, result)
    return result


def is_api_key_request(request: Request) -> bool:
    from accounts.models import BrandAPIKey

    return isinstance(request.auth, BrandAPIKey)


def acting_brand(request: Request, brand_id: int | None = None) -> Brand:
    """The brand a write is made for: the API key's brand, or (for a person) the brand named in
    the request, which may be omitted when the person can act for exactly one brand."""
    caller = viewer(request)
    if caller.is_api_key:
        if brand_id is not None and brand_id not in caller.brand_ids:
            raise NotAllowed(
                "This API key acts for another brand.", code="not_brand_member", field="brand"
            )
        return request.auth.brand
    writable = caller.writer_brand_ids
    if brand_id is None:
        if not writable:
            raise NotAllowed(
                "Only a brand (member or API key) can do this.", code="not_brand_member"
            )
        if len(writable) > 1:
            raise InvalidInput(
                "You belong to several brands: say which one.", code="required", field="brand"
            )
        (brand_id,) = writable
    elif brand_id not in writable:
        raise NotAllowed("You cannot act for this brand.", code="not_brand_member", field="brand")
    return Brand.objects.get(pk=brand_id)


class IsBrandAPIKey(permissions.BasePermission):
    """Usage reporting is machine-to-machine: a brand API key only."""

    message = "This endpoint takes a brand API key (Authorization: Api-Key <key>)."
    code = "api_key_required"

    def has_permission(self, request, view) -> bool:
        return is_api_key_request(request)


class IsFinance(permissions.BasePermission):
    """Finance powers: a finance account whose session passed its second factor (the Viewer
    decides). A finance account without it is told so (`second_factor_required`); anyone else
    gets `finance_only`."""

    message = "Platform finance only."
    code = "finance_only"

    def has_permission(self, request, view) -> bool:
        caller = viewer(request)
        if caller.finance:
            return True
        if caller.second_factor_pending and getattr(request.user, "is_finance", False):
            raise second_factor_required()
        return False


def visible_or_404(queryset, pk: int, what: str):
    """The row `pk` of a visibility-scoped queryset, or 404: another party's row is not found."""
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"No such {what}.", code="not_found")
    return found


def person(request: Request):
    """The person behind a request, for `by=` audit fields; None for an API key."""
    user = request.user
    return user if getattr(user, "pk", None) is not None else None
