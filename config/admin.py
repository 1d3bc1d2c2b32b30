"""The Django admin, with one change: finance users pass their second factor first."""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login

from ledger.portal.access import needs_second_factor


class TwinLedgerAdminSite(admin.AdminSite):
    site_header = "Twin Ledger admin"

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and not needs_second_factor(request)

    def login(self, request, extra_context=None):
        # A logged-in finance user without the second factor goes to the portal's code page.
        if request.user.is_authenticated and needs_second_factor(request):
            return redirect_to_login(request.get_full_path(), login_url="portal:otp")
        return super().login(request, extra_context)
