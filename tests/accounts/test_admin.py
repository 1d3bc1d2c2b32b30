"""The Django admin: every page renders with real rows; the journal is view-only, for everyone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import (
    Agency,
    AgencyMembership,
    Brand,
    BrandMembership,
    Talent,
    User,
)
from ledger.models import Block, BlockEntry, JournalTransaction, LedgerAccount, Posting
from ledger.money import Money
from ledger.services.accounts import ledger_account_get_or_create
from ledger.services.journal import Leg, journal_post, transaction_reverse
from ledger.services.sealing import seal_blocks
from tests.factories import AgencyFactory, BrandFactory, TalentFactory, UserFactory
from tests.logins import current_code, totp_device

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
Kind = LedgerAccount.Kind


@dataclass
class World:
    agency: Agency
    agency_member: User
    talent: Talent
    brand: Brand
    brand_member: User
    receivable: LedgerAccount
    usage: JournalTransaction
    reversed_usage: JournalTransaction
    reversal: JournalTransaction
    block: Block


def _post_use(key: str, accounts: dict[str, LedgerAccount]) -> JournalTransaction:
    """A rated use of 10.00 EUR: agency 2.00, platform 1.00, talent 7.00."""
    legs = [
        Leg(accounts["brand"], Money(1000, "EUR")),
        Leg(accounts["agency"], Money(-200, "EUR")),
        Leg(accounts["platform"], Money(-100, "EUR")),
        Leg(accounts["talent"], Money(-700, "EUR")),
    ]
    result = journal_post(
        kind="usage", source="admin-test", idempotency_key=key, occurred_at=T0, legs=legs
    )
    return result.transaction


@pytest.fixture
def world(db) -> World:
    agency = AgencyFactory(name="Northlight Agency")
    agency_member = UserFactory(email="agent@northlight.test")
    AgencyMembership.objects.create(
        agency=agency, user=agency_member, role=AgencyMembership.Role.ADMIN
    )
    talent = TalentFactory(agency=agency, legal_name="Ava Lindqvist", user__email="ava@talent.test")
    brand = BrandFactory(name="Bright Soda")
    brand_member = UserFactory(email="buyer@brightsoda.test")
    BrandMembership.objects.create(
        brand=brand, user=brand_member, role=BrandMembership.Role.BILLING
    )

    accounts = {
        "brand": ledger_account_get_or_create(
            kind=Kind.BRAND_RECEIVABLE, currency="EUR", brand=brand
        ),
        "agency": ledger_account_get_or_create(
            kind=Kind.AGENCY_PAYABLE, currency="EUR", agency=agency
        ),
        "talent": ledger_account_get_or_create(
            kind=Kind.TALENT_PAYABLE, currency="EUR", talent=talent
        ),
        "platform": ledger_account_get_or_create(kind=Kind.PLATFORM_REVENUE, currency="EUR"),
    }
    usage = _post_use("use-1", accounts)
    reversed_usage = _post_use("use-2", accounts)
    reversal = transaction_reverse(original=reversed_usage, reason="reported twice")
    (block,) = seal_blocks().blocks
    return World(
        agency=agency,
        agency_member=agency_member,
        talent=talent,
        brand=brand,
        brand_member=brand_member,
        receivable=accounts["brand"],
        usage=usage,
        reversed_usage=reversed_usage,
        reversal=reversal,
        block=block,
    )


def admin_url(model, view: str, *args) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


ALL_MODELS = [User, Agency, Talent, Brand, LedgerAccount, JournalTransaction, Block]
EDITABLE_MODELS = [User, Agency, Talent, Brand, LedgerAccount]
JOURNAL_MODELS = [JournalTransaction, Block]


# --- every page renders -------------------------------------------------------------------------


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_changelist_renders_with_rows(admin_client, world, model):
    response = admin_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    changelist = response.context["cl"]
    assert changelist.result_count == model.objects.count() > 0
    assert len(changelist.result_list) == changelist.result_count


def test_changelists_show_the_useful_columns(admin_client, world):
    def page(model) -> str:
        return admin_client.get(admin_url(model, "changelist")).content.decode()

    assert "agent@northlight.test" in page(User)
    assert "Northlight Agency" in page(Agency)
    talents = page(Talent)
    assert "Ava Lindqvist" in talents and "ava@talent.test" in talents
    assert "Bright Soda" in page(Brand)
    accounts = page(LedgerAccount)
    assert "Brand receivable" in accounts and "platform" in accounts
    journal = page(JournalTransaction)
    assert "use-1" in journal and "reported twice" not in journal  # memo only on the detail
    assert world.block.block_hash in page(Block)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_change_page_renders_for_a_row(admin_client, world, model):
    obj = model.objects.order_by("pk").first()
    response = admin_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("model", EDITABLE_MODELS, ids=lambda m: m.__name__)
def test_add_page_of_editable_models_renders(admin_client, world, model):
    response = admin_client.get(admin_url(model, "add"))
    assert response.status_code == 200


def test_changelist_search_finds_rows(admin_client, world):
    response = admin_client.get(admin_url(User, "changelist"), {"q": "northlight"})
    assert [u.email for u in response.context["cl"].result_list] == ["agent@northlight.test"]
    response = admin_client.get(admin_url(JournalTransaction, "changelist"), {"q": "use-2"})
    assert list(response.context["cl"].result_list) == [world.reversed_usage]
    response = admin_client.get(admin_url(Talent, "changelist"), {"q": "ava@talent.test"})
    assert list(response.context["cl"].result_list) == [world.talent]


# --- parties ------------------------------------------------------------------------------------


def test_agency_page_lists_members_inline_and_represented_talents_read_only(admin_client, world):
    response = admin_client.get(admin_url(Agency, "change", world.agency.pk))
    html = response.content.decode()
    assert "agent@northlight.test" in html  # membership inline
    assert admin_url(Talent, "change", world.talent.pk) in html  # represented talent link
    assert "Ava Lindqvist" in html
    assert "represented_talents" not in response.context["adminform"].form.fields


def test_brand_page_lists_members_inline(admin_client, world):
    html = admin_client.get(admin_url(Brand, "change", world.brand.pk)).content.decode()
    assert "buyer@brightsoda.test" in html


def test_stripe_owned_fields_are_read_only(admin_client, world):
    for model, obj, fields in [
        (Agency, world.agency, {"stripe_account_id", "payouts_enabled"}),
        (Talent, world.talent, {"stripe_account_id", "payouts_enabled"}),
        (Brand, world.brand, {"stripe_customer_id"}),
    ]:
        form = admin_client.get(admin_url(model, "change", obj.pk)).context["adminform"].form
        assert not fields & set(form.fields)


def test_admin_creates_a_user_by_email_and_password_stored_lower_case(admin_client, world):
    response = admin_client.post(
        admin_url(User, "add"),
        {
            "email": "New.Person@Example.com",
            "password1": "a-long-pass-9871",
            "password2": "a-long-pass-9871",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password("a-long-pass-9871")
    assert not user.is_staff


def test_admin_refuses_an_existing_email_in_another_case(admin_client, world):
    response = admin_client.post(
        admin_url(User, "add"),
        {
            "email": "AGENT@Northlight.test",
            "password1": "a-long-pass-9871",
            "password2": "a-long-pass-9871",
        },
    )
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert User.objects.filter(email__iexact="agent@northlight.test").count() == 1


def test_admin_user_page_edits_the_finance_role(admin_client, world):
    user = world.agency_member
    response = admin_client.get(admin_url(User, "change", user.pk))
    assert "is_finance" in response.context["adminform"].form.fields
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "is_active": "on",
        "is_finance": "on",
    }
    response = admin_client.post(admin_url(User, "change", user.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.is_finance
    assert not user.is_staff


def test_admin_login_form_takes_an_email_then_the_second_factor(client, world):
    boss = User.objects.create_superuser("boss@example.com", "a-long-pass-9871")
    response = client.post(
        reverse("admin:login"),
        {"username": "boss@example.com", "password": "a-long-pass-9871", "next": "/admin/"},
    )
    assert response.status_code == 302
    assert "_auth_user_id" in client.session
    landed = client.get(reverse("admin:index"), follow=True)
    assert landed.redirect_chain[-1][0].startswith(reverse("portal:otp"))
    device = totp_device(boss)
    done = client.post(landed.redirect_chain[-1][0], {"token": current_code(device)}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("admin:index")
    assert done.status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


# --- ledger -------------------------------------------------------------------------------------


def test_ledger_account_page_shows_the_derived_balance_and_freezes_identity(admin_client, world):
    url = admin_url(LedgerAccount, "change", world.receivable.pk)
    response = admin_client.get(url)
    assert "10.00 EUR" in response.content.decode()  # two uses of 10.00, one reversed
    form_fields = set(response.context["adminform"].form.fields)
    assert not {"kind", "currency", "brand", "talent", "agency"} & form_fields


def test_transaction_page_shows_postings_reversal_and_block_read_only(admin_client, world):
    response = admin_client.get(admin_url(JournalTransaction, "change", world.reversed_usage.pk))
    html = response.content.decode()
    for amount in ("10.00 EUR", "2.00 EUR", "1.00 EUR", "7.00 EUR"):
        assert amount in html
    assert admin_url(JournalTransaction, "change", world.reversal.pk) in html  # reversed by
    assert admin_url(Block, "change", world.block.pk) in html  # sealed in
    assert response.context["has_change_permission"] is False
    assert not response.context["adminform"].form.fields  # nothing editable
    (postings_inline,) = response.context["inline_admin_formsets"]
    assert len(postings_inline.formset.forms) == 4
    assert not postings_inline.has_add_permission
    assert not postings_inline.has_delete_permission


def test_block_page_lists_its_entries_read_only(admin_client, world):
    response = admin_client.get(admin_url(Block, "change", world.block.pk))
    assert response.status_code == 200
    (entries_inline,) = response.context["inline_admin_formsets"]
    assert len(entries_inline.formset.forms) == world.block.tx_count == 3
    assert world.block.merkle_root in response.content.decode()


@pytest.mark.parametrize("model", JOURNAL_MODELS, ids=lambda m: m.__name__)
def test_journal_admin_refuses_add(admin_client, world, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "add"), {}).status_code == 403


@pytest.mark.parametrize("model", JOURNAL_MODELS, ids=lambda m: m.__name__)
def test_journal_admin_refuses_delete_and_change(admin_client, world, model):
    obj = model.objects.order_by("pk").first()
    before = model.objects.count()
    assert admin_client.get(admin_url(model, "delete", obj.pk)).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert admin_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
    assert model.objects.count() == before


@pytest.mark.parametrize("model", JOURNAL_MODELS, ids=lambda m: m.__name__)
def test_journal_changelist_offers_no_add_button_and_no_bulk_delete(admin_client, world, model):
    response = admin_client.get(admin_url(model, "changelist"))
    assert response.context["has_add_permission"] is False
    assert admin_url(model, "add") not in response.content.decode()
    action_form = response.context["action_form"]  # None when no action is left at all
    choices = action_form.fields["action"].choices if action_form is not None else []
    assert "delete_selected" not in [name for name, _ in choices]


def test_postings_and_block_entries_have_no_admin_of_their_own(admin_client):
    from django.contrib import admin

    assert not admin.site.is_registered(Posting)
    assert not admin.site.is_registered(BlockEntry)
