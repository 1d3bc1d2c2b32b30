"""Permissions that follow from a role flag rather than from rows in auth tables, and the
identity the failed-login lockout counts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import BaseBackend

from accounts.models import normalize_login_email

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


def lockout_username(request: Any, credentials: dict | None = None) -> str:
    """AXES_USERNAME_CALLABLE: the identity django-axes counts failures for and locks.

    Login finds the account by the normalised email (UserManager.get_by_natural_key), so the
    lockout must count that too: otherwise `KOFI@x.test` or `kofi@x.test ` would be a fresh
    identity with its own five tries while logging in to the same, locked, account.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        raw = credentials.get(field)
    else:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        raw = data.get(field)
    return normalize_login_email(raw if isinstance(raw, str) else None)
