"""Which accounts need a second factor, and whether a request's user has passed it.

The one rule behind every path to elevated powers (portal, API, Django admin):

- an account *needs* a second factor when it holds powers over other parties' data: finance
  (`is_finance`: reads every party, closes, reverses, pays) and staff (`is_staff`, superusers
  included: the Django admin's raw records and API-key creation);
- a request has *passed* it when django-otp's OTPMiddleware verified the session's device
  (`user.is_verified()`, set by `django_otp.login` on the second-factor page);
- a request acts with finance powers only when both hold: `acts_as_finance`.

A user object that did not come through OTPMiddleware (a DRF `force_authenticate`, an API-key
client, a user loaded by hand) has no `is_verified` and so has not passed: the safe default.
"""

from __future__ import annotations

from typing import Any


def needs_second_factor(user: Any) -> bool:
    """The account's powers need a verified second factor (finance or staff)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and (getattr(user, "is_finance", False) or getattr(user, "is_staff", False))
    )


def second_factor_verified(user: Any) -> bool:
    """This request's session passed the second factor (django-otp's OTPMiddleware says so)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(callable(is_verified) and is_verified())


def second_factor_pending(user: Any) -> bool:
    """Logged in with the password, but the account's second factor is still to be passed."""
    return needs_second_factor(user) and not second_factor_verified(user)


def acts_as_finance(user: Any) -> bool:
    """The request acts with finance powers: a finance account with a verified second factor."""
    return bool(
        getattr(user, "is_active", False)
        and getattr(user, "is_finance", False)
        and second_factor_verified(user)
    )
