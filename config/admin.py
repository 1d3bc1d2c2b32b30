"""The Django admin, with one change: every staff user passes their second factor first.

The admin shows every raw record and creates API keys, so a password alone never opens it, for
finance and superusers alike (accounts.second_factor). A staff user logged in by password is sent
to the portal's second-factor page (`/login/second-factor/`: enrol an authenticator app the first
time, then its code), which brings them back here.
"""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login

from ledger.portal.access import needs_second_factor


class TwinLedgerAdminSite(admin.AdminSite):
    site_header = "Twin Ledger admin"

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and not needs_second_factor(request)

    def login(self, request, extra_context=None):
        # Logged in by password (here or in the portal), second factor still to pass: go pass it.
        if request.user.is_authenticated and needs_second_factor(request):
            return redirect_to_login(request.get_full_path(), login_url="portal:otp")
        return super().login(request, extra_context)
