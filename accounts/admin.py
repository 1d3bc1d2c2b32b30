"""Django admin for people and parties.

Users log in by email (there is no username), so the stock user forms are re-pointed at our model
with `email` as the only identifying field, and the email is stored lower-cased as the manager and
`user_create` store it (the unique constraint is on lower(email), and login looks it up exactly).

Stripe-owned fields (account/customer ids, payouts_enabled) are read-only here: they are set from
Stripe's answers, and flipping `payouts_enabled` by hand would let a transfer go to an account
Stripe has not cleared.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .models import (
    Agency,
    AgencyMembership,
    Brand,
    BrandAPIKey,
    BrandMembership,
    Talent,
    User,
    normalize_login_email,
)


class UserCreationForm(auth_forms.UserCreationForm):
    """Email + password1/password2; the password validators of AUTH_PASSWORD_VALIDATORS apply."""

    class Meta(auth_forms.UserCreationForm.Meta):
        model = User
        fields = ("email",)
        field_classes = {}

    def clean_email(self) -> str:
        # Lower-cased before model validation, so the lower(email) unique constraint is checked
        # against what will actually be stored.
        return normalize_login_email(self.cleaned_data["email"])


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta(auth_forms.UserChangeForm.Meta):
        model = User
        fields = ("email",)  # the admin's fieldsets decide the full list
        field_classes = {}

    def clean_email(self) -> str:
        return normalize_login_email(self.cleaned_data["email"])


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        (
            "Roles and permissions",
            {
                "fields": (
                    "is_active",
                    "is_finance",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined")
    list_display = ("email", "full_name", "is_finance", "is_staff", "is_active", "date_joined")
    list_filter = ("is_finance", "is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    filter_horizontal = ("groups", "user_permissions")


class AgencyMembershipInline(admin.TabularInline):
    model = AgencyMembership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "country",
        "default_commission_pct",
        "withholding_pct",
        "talent_count",
        "payouts_enabled",
        "created_at",
    )
    list_filter = ("country", "payouts_enabled")
    search_fields = ("name", "stripe_account_id")
    ordering = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "country")}),
        ("Money", {"fields": ("default_commission_pct", "withholding_pct")}),
        ("Stripe", {"fields": ("stripe_account_id", "payouts_enabled")}),
        ("Talents", {"fields": ("represented_talents",)}),
        (None, {"fields": ("created_at",)}),
    )
    readonly_fields = ("stripe_account_id", "payouts_enabled", "represented_talents", "created_at")
    inlines = (AgencyMembershipInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_talent_count=Count("talents"))

    @admin.display(description="talents", ordering="_talent_count")
    def talent_count(self, agency: Agency) -> int:
        return agency._talent_count

    @admin.display(description="represented talents")
    def represented_talents(self, agency: Agency) -> str:
        if agency.pk is None:  # the add page: no talents yet
            return "—"
        talents = agency.talents.select_related("user").order_by("legal_name", "pk")
        if not talents:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a> ({})',
            (
                (reverse("admin:accounts_talent_change", args=[t.pk]), t, t.user.email)
                for t in talents
            ),
        )


@admin.register(Talent)
class TalentAdmin(admin.ModelAdmin):
    list_display = (
        "legal_name",
        "display_name",
        "user",
        "agency",
        "country",
        "default_currency",
        "withholding_pct",
        "payouts_enabled",
        "created_at",
    )
    list_select_related = ("user", "agency")
    list_filter = ("country", "default_currency", "payouts_enabled", "agency")
    search_fields = ("legal_name", "display_name", "user__email", "agency__name")
    ordering = ("legal_name", "pk")
    autocomplete_fields = ("user", "agency")
    fieldsets = (
        (None, {"fields": ("user", "legal_name", "display_name", "country")}),
        ("Representation and money", {"fields": ("agency", "default_currency", "withholding_pct")}),
        ("Stripe", {"fields": ("stripe_account_id", "payouts_enabled")}),
        (None, {"fields": ("created_at",)}),
    )
    readonly_fields = ("stripe_account_id", "payouts_enabled", "created_at")


class BrandMembershipInline(admin.TabularInline):
    model = BrandMembership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "legal_name",
        "country",
        "currency",
        "billing_email",
        "tax_rate_pct",
        "payment_terms_days",
        "member_count",
        "created_at",
    )
    list_filter = ("country", "currency")
    search_fields = ("name", "legal_name", "billing_email", "vat_number", "stripe_customer_id")
    ordering = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "legal_name", "country", "vat_number")}),
        (
            "Billing",
            {
                "fields": (
                    "billing_email",
                    "billing_address",
                    "currency",
                    "tax_rate_pct",
                    "payment_terms_days",
                )
            },
        ),
        ("Stripe", {"fields": ("stripe_customer_id",)}),
        (None, {"fields": ("created_at",)}),
    )
    readonly_fields = ("stripe_customer_id", "created_at")
    inlines = (BrandMembershipInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("members"))

    @admin.display(description="members", ordering="_member_count")
    def member_count(self, brand: Brand) -> int:
        return brand._member_count


# The library's own APIKey model is unused (brand keys below carry their brand), so its admin
# goes; a brand key created here is shown once, in the confirmation message, like the API's.
admin.site.unregister(APIKey)


@admin.register(BrandAPIKey)
class BrandAPIKeyAdmin(APIKeyModelAdmin):
    list_display = ("prefix", "name", "brand", "created", "expiry_date", "_has_expired", "revoked")
    list_filter = ("revoked", "created")
    search_fields = ("name", "prefix", "brand__name")
    autocomplete_fields = ("brand",)
    exclude = ("created_by",)

    def save_model(self, request, obj, form=None, change=False):
        if not obj.pk:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
