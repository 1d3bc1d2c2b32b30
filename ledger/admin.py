"""Django admin for the ledger.

The journal (transactions, postings, sealed blocks) is written only by services and is
append-only in PostgreSQL itself, so its admin is strictly read-only: no add, change or delete,
for anyone, superusers included. Corrections are reversing transactions posted by a service.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ledger.models import (
    Asset,
    Block,
    BlockEntry,
    Charge,
    CloseRun,
    ConsentVersion,
    DocumentLine,
    Invoice,
    JournalTransaction,
    LateReport,
    LedgerAccount,
    License,
    LicenseVersion,
    Payout,
    Posting,
    ReconciliationMismatch,
    RefusedAttempt,
    Statement,
    Twin,
    UsageEvent,
)
from ledger.money import Money
from ledger.selectors.balances import account_balance

ACCOUNT_PARTIES = ("talent", "agency", "brand")


def _admin_link(obj, label: object = None) -> str:
    if obj is None:
        return "—"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if label is None else label)


class ReadOnlyAdminMixin:
    """View-only: the rows are written by services, never by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "currency", "owner")
    list_select_related = ACCOUNT_PARTIES
    list_filter = ("kind", "currency")
    search_fields = ("talent__legal_name", "talent__display_name", "agency__name", "brand__name")
    ordering = ("kind", "currency", "id")
    autocomplete_fields = ACCOUNT_PARTIES
    fields = ("kind", "currency", "talent", "agency", "brand", "balance")
    readonly_fields = ("balance",)

    def get_readonly_fields(self, request, obj=None):
        # Once an account exists postings may point at it: what it is and whose it is are fixed.
        if obj is not None:
            return ("kind", "currency", *ACCOUNT_PARTIES, "balance")
        return self.readonly_fields

    @admin.display(description="owner")
    def owner(self, account: LedgerAccount) -> str:
        party = account.brand or account.talent or account.agency
        return _admin_link(party) if party else "platform"

    @admin.display(description="balance (debits positive)")
    def balance(self, account: LedgerAccount) -> str:
        if account.pk is None:
            return "—"
        return str(account_balance(account=account))


class PostingInline(ReadOnlyInline):
    model = Posting
    fields = ("account", "debit", "credit", "amount_minor", "currency", "occurred_at")
    readonly_fields = fields
    ordering = ("id",)

    def get_queryset(self, request):
        # LedgerAccount.__str__ names the owning party.
        return (
            super()
            .get_queryset(request)
            .select_related("account__talent", "account__agency", "account__brand")
        )

    @admin.display(description="debit")
    def debit(self, posting: Posting) -> str:
        return (
            str(Money(posting.amount_minor, posting.currency)) if posting.amount_minor > 0 else ""
        )

    @admin.display(description="credit")
    def credit(self, posting: Posting) -> str:
        return (
            str(Money(-posting.amount_minor, posting.currency)) if posting.amount_minor < 0 else ""
        )


@admin.register(JournalTransaction)
class JournalTransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "source",
        "idempotency_key",
        "occurred_at",
        "recorded_at",
        "reverses_link",
        "block_link",
        "short_hash",
    )
    list_select_related = ("reverses", "block_entry__block")
    list_filter = ("kind",)
    search_fields = ("=source", "=idempotency_key", "=content_hash", "memo")
    date_hierarchy = "occurred_at"
    ordering = ("-id",)
    show_full_result_count = False  # the journal is large; avoid a second COUNT(*) per page
    fields = (
        "kind",
        "source",
        "idempotency_key",
        "occurred_at",
        "recorded_at",
        "memo",
        "reverses_link",
        "reversed_by_link",
        "block_link",
        "content_hash",
    )
    readonly_fields = fields
    inlines = (PostingInline,)

    @admin.display(description="reverses")
    def reverses_link(self, tx: JournalTransaction) -> str:
        return _admin_link(tx.reverses)

    @admin.display(description="reversed by")
    def reversed_by_link(self, tx: JournalTransaction) -> str:
        reversal = JournalTransaction.objects.filter(reverses=tx).first()
        return _admin_link(reversal)

    @admin.display(description="sealed in")
    def block_link(self, tx: JournalTransaction) -> str:
        try:
            block = tx.block_entry.block
        except BlockEntry.DoesNotExist:
            return "not sealed yet"
        return _admin_link(block)

    @admin.display(description="content hash")
    def short_hash(self, tx: JournalTransaction) -> str:
        return f"{tx.content_hash[:12]}…"


class BlockEntryInline(ReadOnlyInline):
    model = BlockEntry
    fields = ("position", "transaction", "leaf_hash")
    readonly_fields = fields
    ordering = ("position",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("transaction")


@admin.register(Block)
class BlockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "height",
        "tx_count",
        "first_transaction_id",
        "last_transaction_id",
        "sealed_at",
        "block_hash",
        "merkle_root",
    )
    ordering = ("-height",)
    search_fields = ("=block_hash", "=merkle_root", "=prev_hash")
    date_hierarchy = "sealed_at"
    fields = (
        "height",
        "sealed_at",
        "tx_count",
        "first_transaction_id",
        "last_transaction_id",
        "prev_hash",
        "merkle_root",
        "block_hash",
    )
    readonly_fields = fields
    inlines = (BlockEntryInline,)


# Licensing and usage: written by services (consent and license versions, decisions and uses are
# history and append-only), so the admin shows them and changes nothing.


class ConsentVersionInline(ReadOnlyInline):
    model = ConsentVersion
    fields = (
        "version",
        "effective_from",
        "revoked",
        "allowed_kinds",
        "allowed_channels",
        "allowed_territories",
        "forbidden_contexts",
        "requires_output_approval",
    )
    ordering = ("-version",)


@admin.register(Twin)
class TwinAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "name", "talent", "created_at")
    list_select_related = ("talent",)
    search_fields = ("name", "talent__legal_name", "talent__display_name")
    inlines = [ConsentVersionInline]


class LicenseVersionInline(ReadOnlyInline):
    model = LicenseVersion
    fields = (
        "version",
        "starts_at",
        "ends_at",
        "use_kinds",
        "channels",
        "territories",
        "brand_category",
        "exclusive",
        "rates",
        "agency_commission_pct",
        "platform_fee_pct",
    )
    ordering = ("-version",)


@admin.register(License)
class LicenseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "brand", "twin", "currency", "status", "active_version")
    list_select_related = ("brand", "twin", "active_version")
    list_filter = ("status", "currency")
    search_fields = ("brand__name", "twin__name")
    inlines = [LicenseVersionInline]


@admin.register(Asset)
class AssetAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("asset_ref", "brand", "twin", "approval", "generated_at", "first_published_at")
    list_select_related = ("brand", "twin")
    list_filter = ("approval",)
    search_fields = ("asset_ref", "content_credential")


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "external_id",
        "brand",
        "license",
        "kind",
        "channel",
        "territory",
        "quantity",
        "gross",
        "occurred_at",
        "recorded_at",
        "reported_late",
    )
    list_select_related = ("brand", "license")
    list_filter = ("kind", "channel", "currency")
    search_fields = ("external_id", "content_credential")
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    @admin.display(description="gross")
    def gross(self, obj: UsageEvent) -> str:
        return str(Money(obj.gross_minor, obj.currency))

    @admin.display(description="reported late")
    def reported_late(self, obj: UsageEvent) -> str:
        late = obj.recorded_at - obj.occurred_at
        return f"{late.days} days" if late > timedelta(days=1) else ""


@admin.register(RefusedAttempt)
class RefusedAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "brand", "license", "code", "kind", "channel", "recorded_at")
    list_select_related = ("brand", "license")
    list_filter = ("code",)
    search_fields = ("external_id",)
    show_full_result_count = False


@admin.register(LateReport)
class LateReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Held reports are decided by the talent or the agency (portal, API), never here."""

    list_display = (
        "external_id",
        "brand",
        "license",
        "reason",
        "kind",
        "occurred_at",
        "recorded_at",
    )
    list_select_related = ("brand", "license")
    list_filter = ("reason",)
    search_fields = ("external_id",)
    show_full_result_count = False


@admin.register(CloseRun)
class CloseRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "period_start",
        "status",
        "phase",
        "done",
        "total",
        "attempts",
        "resumes",
        "finished_at",
    )
    list_filter = ("status",)
    fields = (
        "period_start",
        "kind",
        "status",
        "phase",
        "watermark",
        "done",
        "total",
        "attempts",
        "error",
        "progressed_at",
        "resumes",
        "recoveries",
        "requested_by",
        "requested_at",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields


class DocumentLineInline(ReadOnlyInline):
    model = DocumentLine
    fields = (
        "position",
        "section",
        "license",
        "kind",
        "transaction_kind",
        "channel",
        "units",
        "entries",
        "gross_minor",
        "commission_minor",
        "fee_minor",
        "amount_minor",
    )
    readonly_fields = fields


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "display_number",
        "period_start",
        "talent",
        "agency",
        "currency",
        "payable_minor",
        "payout_minor",
        "closing_minor",
    )
    list_filter = ("period_start", "series", "currency")
    list_select_related = ("talent", "agency")
    inlines = [DocumentLineInline]
    readonly_fields = [f.name for f in Statement._meta.fields]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("display_number", "period_start", "brand", "currency", "total_minor", "due_at")
    list_filter = ("period_start", "currency")
    list_select_related = ("brand",)
    inlines = [DocumentLineInline]
    readonly_fields = [f.name for f in Invoice._meta.fields]


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("kind", "license", "account", "period_start", "transaction", "created_at")
    list_filter = ("kind", "period_start")
    readonly_fields = [f.name for f in Charge._meta.fields]


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "statement",
        "amount_minor",
        "currency",
        "status",
        "failure_code",
        "stripe_transfer_id",
        "attempts",
    )
    list_filter = ("status", "currency")
    list_select_related = ("statement",)
    readonly_fields = [f.name for f in Payout._meta.fields]


@admin.register(ReconciliationMismatch)
class ReconciliationMismatchAdmin(admin.ModelAdmin):
    """Differences found against Stripe; finance ticks `resolved` once handled."""

    list_display = ("kind", "object_type", "stripe_id", "payout", "run", "resolved")
    list_filter = ("resolved", "kind")
    list_editable = ("resolved",)
    readonly_fields = ("run", "kind", "object_type", "stripe_id", "payout", "detail")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
