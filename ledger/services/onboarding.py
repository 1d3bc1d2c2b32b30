"""Payout onboarding: a talent's or an agency's Stripe connected account (Express) and the
single-use, short-lived link that sends its people to Stripe's hosted onboarding.

    payout_account_link    -> the party's connected account (created once, its id stored),
                              then a fresh account link (never cached: Stripe's links are
                              single-use; the refresh URL asks for a new one)
    payout_account_refresh -> the account's state read back from Stripe (payouts_enabled stored)

No Stripe call is made inside a database transaction: the account is created first, then its
id is stored by one conditional UPDATE that only fills an empty ``stripe_account_id``.
"""

from __future__ import annotations

import logging

from accounts.models import Agency, AgencyMembership, Talent
from ledger.gateways.stripe import Account, AccountLink, StripeGateway
from ledger.gateways.stripe import gateway as default_gateway

logger = logging.getLogger(__name__)

Party = Talent | Agency


def _party(talent: Talent | None, agency: Agency | None) -> Party:
    if (talent is None) == (agency is None):
        raise ValueError("Give exactly one of talent and agency.")
    return talent if talent is not None else agency  # type: ignore[return-value]


def _metadata(party: Party) -> dict[str, str]:
    return {"talent" if isinstance(party, Talent) else "agency": str(party.pk)}


def _email(party: Party) -> str:
    """The talent's login email; for an agency, its first admin's (else first member's)."""
    if isinstance(party, Talent):
        email: str | None = party.user.email
    else:
        members = AgencyMembership.objects.filter(agency=party).order_by("pk")
        emails = members.values_list("user__email", flat=True)
        email = emails.filter(role=AgencyMembership.Role.ADMIN).first() or emails.first()
    kind = next(iter(_metadata(party)))
    return email or f"{kind}-{party.pk}@payouts.invalid"  # no one to name yet: a placeholder


def _account_id(party: Party, gw: StripeGateway) -> str:
    """The party's connected account id, creating the account when it has none yet."""
    if party.stripe_account_id:
        return party.stripe_account_id
    model = type(party)
    stored = model.objects.filter(pk=party.pk).values_list("stripe_account_id", flat=True).get()
    if stored:
        party.stripe_account_id = stored
        return stored

    # The key is the party's: two concurrent first requests get the same Stripe account back.
    metadata = _metadata(party)
    ((kind, pk),) = metadata.items()
    account = gw.account_create(
        email=_email(party),
        country=party.country,
        metadata=metadata,
        idempotency_key=f"account-{kind}-{pk}",
    )
    updated = model.objects.filter(pk=party.pk, stripe_account_id="").update(
        stripe_account_id=account.id, payouts_enabled=account.payouts_enabled
    )
    if updated:
        party.stripe_account_id = account.id
        party.payouts_enabled = account.payouts_enabled
        return account.id

    # Another request stored its account first: use that one. Ours stays in Stripe unused
    # (no money can reach it: nothing of ours names it); it carries our metadata for cleanup.
    party.refresh_from_db(fields=["stripe_account_id", "payouts_enabled"])
    logger.warning(
        "Orphaned Stripe connected account %s for %s %s: another request stored %s first",
        account.id,
        model.__name__.lower(),
        party.pk,
        party.stripe_account_id,
    )
    return party.stripe_account_id


def payout_account_link(
    *,
    talent: Talent | None = None,
    agency: Agency | None = None,
    refresh_url: str,
    return_url: str,
    gateway: StripeGateway | None = None,
) -> AccountLink:
    """A new onboarding link for the party's connected account (created on first use).

    Raises the gateway's errors (StripeNotConfiguredError, TransientStripeError, ...).
    """
    party = _party(talent, agency)
    gw = gateway or default_gateway()
    account_id = _account_id(party, gw)
    return gw.account_link_create(
        account_id=account_id, refresh_url=refresh_url, return_url=return_url
    )


def payout_account_refresh(
    *,
    talent: Talent | None = None,
    agency: Agency | None = None,
    gateway: StripeGateway | None = None,
) -> Account | None:
    """The party's connected account as Stripe has it now, ``payouts_enabled`` stored.

    None when the party has no connected account yet.
    """
    party = _party(talent, agency)
    if not party.stripe_account_id:
        return None
    gw = gateway or default_gateway()
    account = gw.account_retrieve(party.stripe_account_id)
    type(party).objects.filter(pk=party.pk, stripe_account_id=account.id).update(
        payouts_enabled=account.payouts_enabled
    )
    party.payouts_enabled = account.payouts_enabled
    return account
