"""Permissions that follow from a role flag rather than from rows in auth tables."""

from __future__ import annotations

from django.contrib.auth.backends import BaseBackend

# Finance reads everything in the admin and may edit party settings it owns (withholding
# rates, payment terms). Journal rows stay read-only for everyone: their admins refuse changes.
FINANCE_APPS = {"accounts", "ledger"}
FINANCE_CHANGE = {"accounts.change_talent", "accounts.change_agency", "accounts.change_brand"}


class FinanceRoleBackend(BaseBackend):
    """Grants finance users (User.is_finance) their role's permissions; authenticates no one."""

    def _is_finance(self, user) -> bool:
        return bool(user.is_active and getattr(user, "is_finance", False))

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        if not self._is_finance(user_obj):
            return False
        app_label, _, codename = perm.partition(".")
        return (
            app_label in FINANCE_APPS and codename.startswith("view_")
        ) or perm in FINANCE_CHANGE

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        return self._is_finance(user_obj) and app_label in FINANCE_APPS
