"""Asset images in the portal: streamed to the parties of the asset's license, under each role.

Each role's pages see the image through that role alone (a person who is a talent and a brand
member sees, on the talent pages, only the talent's assets). Another party's asset is a 404;
finance reaches these only past its second factor (portal_view).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from ledger.image_http import image_response
from ledger.models import AssetImage
from ledger.portal.access import AGENCY, BRAND, FINANCE, TALENT, portal_view
from ledger.selectors.images import asset_images_visible_to
from ledger.selectors.visibility import Viewer


def _as_role(viewer: Viewer, role: str) -> Viewer:
    if role == TALENT:
        return Viewer(user=viewer.user, talent_id=viewer.talent_id)
    if role == AGENCY:
        return Viewer(user=viewer.user, agency_ids=viewer.agency_ids)
    if role == BRAND:
        return Viewer(user=viewer.user, brand_ids=viewer.brand_ids)
    return viewer  # finance sees every party's


def _image_view(role: str, *, thumbnail: bool):
    @portal_view(role)
    @require_GET
    def view(request: HttpRequest, asset_id: int) -> HttpResponse:
        assets = asset_images_visible_to(_as_role(request.viewer, role))
        asset = assets.filter(pk=asset_id).first()
        if asset is None:
            raise Http404("No such asset.")
        try:
            image = asset.image
        except AssetImage.DoesNotExist:
            raise Http404("This asset has no image yet.") from None
        return image_response(image, thumbnail=thumbnail)

    view.__name__ = f"{role}_asset_{'thumbnail' if thumbnail else 'image'}"
    return view


VIEWS = {
    (role, thumbnail): _image_view(role, thumbnail=thumbnail)
    for role in (TALENT, AGENCY, BRAND, FINANCE)
    for thumbnail in (False, True)
}


def image_urlpatterns(role: str) -> list[URLPattern]:
    """`<role>:asset-image` and `<role>:asset-thumbnail`."""
    return [
        path("assets/<int:asset_id>/image/", VIEWS[role, False], name="asset-image"),
        path("assets/<int:asset_id>/thumbnail/", VIEWS[role, True], name="asset-thumbnail"),
    ]
