"""Period close: runs, the charges the platform raises itself, coverage, statements, invoices.

Statements, invoices, their lines, charges and coverage are documents of record: append-only
(PostgreSQL triggers, migrations 0008 and 0023). The mutable rows are work and cache: a
`CloseRun` (its status and progress move while the close works) with its chunks, and the
`CoverageTotal` sums each fold adds to (recomputed by verify_ledger).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Now

from ledger.fields import CurrencyField

from .accounts import LedgerAccount
from .append_only import AppendOnlyModel


class CloseRun(models.Model):
    """One close of one period. Unique per (period, kind): a second request finds this row."""

    class Kind(models.TextChoices):
        PERIOD_CLOSE = "period_close", "Period close"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Phase(models.TextChoices):
        CHARGES = "charges", "Flat fees and minimum-guarantee top-ups"
        COVER = "cover", "Coverage: the transactions covered, with line keys and figures"
        INVOICES = "invoices", "Advance applications and brand invoices"
        STATEMENTS = "statements", "Talent and agency statements"
        DONE = "done", "Done"

    period_start = models.DateField(help_text="First day of the period (calendar month, UTC).")
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.PERIOD_CLOSE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.CHARGES)
    # The highest journal transaction id the close covers (besides its own charges), read while
    # no lower id was in flight. Frozen once set, so every chunk and every re-run agree, and
    # the fold puts any higher id after this period (ledger.services.coverage).
    watermark = models.BigIntegerField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # When the run last moved (requested, started, a phase begun, a chunk done), on the
    # database's clock: what the watchdog measures a stall by (period_close_watchdog).
    progressed_at = models.DateTimeField(db_default=Now())
    # Automatic restarts after its worker died (the watchdog, or the broker redelivering the
    # close's message), bounded by LEDGER_CLOSE_MAX_RESUMES; each is in `recoveries`.
    resumes = models.PositiveIntegerField(default=0)
    # What the automatic recovery did, oldest first: {"at", "by", "action", "phase", "done",
    # "total", "detail"}; shown to finance with the run.
    recoveries = models.JSONField(default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period_start", "kind"], name="close_run_once"),
        ]

    def __str__(self) -> str:
        return f"Close {self.period_start:%Y-%m} ({self.status})"

    @property
    def progress_pct(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return (100 * self.done // self.total) if self.total else 0


class Charge(AppendOnlyModel):
    """A journal transaction the platform raised itself, and how its amount was reached."""

    class Kind(models.TextChoices):
        ADVANCE = "advance", "Advance"
        FLAT_FEE = "flat_fee", "Flat fee"
        MINIMUM_TOPUP = "minimum_topup", "Minimum-guarantee top-up"
        ADVANCE_APPLICATION = "advance_application", "Advance application"
        WITHHOLDING = "withholding", "Withholding"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    transaction = models.OneToOneField(
        "ledger.JournalTransaction", on_delete=models.PROTECT, related_name="charge"
    )
    license = models.ForeignKey(
        "ledger.License", on_delete=models.PROTECT, null=True, blank=True, related_name="charges"
    )
    # The payee account of a withholding (one per statement).
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Null for an advance (charged at activation, not by a close).
    period_start = models.DateField(null=True, blank=True)
    # The figures behind the amount (days active, guarantee vs gross, shares applied...).
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "license", "account", "period_start"],
                nulls_distinct=False,
                name="charge_once_per_period",
            ),
        ]
        indexes = [models.Index(fields=["period_start", "kind"], name="charge_period_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (transaction {self.transaction_id})"


class CloseChunk(models.Model):
    """A slice of a phase's accounts, claimed by one worker at a time (FOR UPDATE SKIP LOCKED)
    and marked done in the same transaction as its documents: a crashed worker's chunk is
    simply claimed again. In the cover phase the bounds are journal transaction ids, and
    `accounts` is 0 (the run's progress counts accounts only)."""

    run = models.ForeignKey(CloseRun, on_delete=models.CASCADE, related_name="chunks")
    phase = models.CharField(max_length=16, choices=CloseRun.Phase.choices)
    number = models.PositiveIntegerField()
    first_account_id = models.BigIntegerField()
    last_account_id = models.BigIntegerField()
    accounts = models.PositiveIntegerField()
    done = models.BooleanField(default=False)
    # The PostgreSQL backend (connection) that did it: which worker, when chasing a problem.
    done_by = models.IntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "phase", "number"], name="close_chunk_once")
        ]

    def __str__(self) -> str:
        return f"{self.run} {self.phase} #{self.number}"


class LineKeyed(models.Model):
    """A document line's key (license, what was used or charged, channel, section) and the
    whole transactions' figures behind it: what the brand is charged, the agency's commission,
    the platform's fee."""

    license_id = models.BigIntegerField(null=True)
    transaction_kind = models.CharField(max_length=32)
    kind = models.CharField(max_length=32)
    channel = models.CharField(max_length=64)
    prior = models.BooleanField()
    units = models.BigIntegerField()
    gross_minor = models.BigIntegerField()
    commission_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField()

    class Meta:
        abstract = True


class Coverage(LineKeyed, AppendOnlyModel):
    """Which period's documents a journal transaction is on, with the line key and figures its
    postings are summed under there.

    The transaction is the primary key: it is covered once. All its postings share its id and
    occurred_at, so they are on the same close's documents, and each posting to a payee's or
    brand's account is on that close's document of the account (unique per account and period):
    with those two unique constraints, this table is invariant 6's proof.

    `period_start` is the period the transaction counts in: its own month, or the first month
    no close has frozen yet, if that is later (a late use). A close issues every period after
    the previous finished close up to its own, so it is the first close at or after that month.
    Rows are written ahead of the close, by the fold (ledger.services.coverage).

    Reversals are keyed under the use (or charge) they reverse, with negative units; `prior`
    when that original happened before `period_start`'s month began.
    """

    # No foreign-key constraint: rows are only ever inserted from a SELECT over the journal
    # (never deleted), and the checks at COMMIT cost a row lock per transaction.
    transaction = models.OneToOneField(
        "ledger.JournalTransaction",
        on_delete=models.DO_NOTHING,
        primary_key=True,
        related_name="coverage",
        db_constraint=False,
    )
    period_start = models.DateField()

    def __str__(self) -> str:
        return f"transaction {self.transaction_id} in {self.period_start:%Y-%m}"


class CoverageTotal(LineKeyed):
    """The running sums of one account's covered postings under one line key, in one period:
    what a document line says, kept up to date by each fold so the close reads a few rows per
    account instead of every posting.

    A cache of the coverage, not a record: the fold adds to it in the same transaction as the
    coverage rows it sums, and `coverage_totals_mismatches` recomputes it from the journal.
    """

    period_start = models.DateField()
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    entries = models.BigIntegerField()
    # The account's own postings: a payee's share, or what the brand owes.
    amount_minor = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "account",
                    "period_start",
                    "license_id",
                    "transaction_kind",
                    "kind",
                    "channel",
                    "prior",
                ],
                nulls_distinct=False,
                name="coverage_total_per_line",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"account {self.account_id} {self.period_start:%Y-%m} {self.kind}: {self.amount_minor}"
        )


class CoverageFold(models.Model):
    """A fold of the journal into coverage: every transaction id up to `watermark` (read while
    no lower id was in flight) is covered. The next fold starts after the highest."""

    watermark = models.BigIntegerField(unique=True)
    folded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"folded up to {self.watermark}"


class DocumentSeries(models.Model):
    """Gap-free numbering: the counter moves in the same transaction as the documents."""

    name = models.CharField(max_length=16, primary_key=True)
    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_number}"


class Statement(AppendOnlyModel):
    """A talent's royalty statement or an agency's commission statement, one per currency."""

    run = models.ForeignKey(CloseRun, on_delete=models.PROTECT, related_name="statements")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    talent = models.ForeignKey(
        "accounts.Talent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="statements",
    )
    agency = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="statements",
    )
    period_start = models.DateField()
    currency = CurrencyField()
    series = models.CharField(max_length=16)
    number = models.PositiveBigIntegerField()
    # The waterfall (SPEC "Statement waterfall"), minor units.
    opening_minor = models.BigIntegerField()
    earnings_minor = models.BigIntegerField()
    adjustments_minor = models.BigIntegerField()
    advance_recouped_minor = models.BigIntegerField()
    withholding_pct = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))
    withholding_minor = models.BigIntegerField()
    payable_minor = models.BigIntegerField()
    minimum_payout_minor = models.BigIntegerField()
    payout_minor = models.BigIntegerField()
    closing_minor = models.BigIntegerField()
    # Why nothing is paid out this time, when nothing is ("below the minimum payout", ...).
    carry_forward_reason = models.CharField(max_length=200, blank=True)
    issued_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_start"], name="statement_once_per_period"
            ),
            models.UniqueConstraint(fields=["series", "number"], name="statement_number_unique"),
        ]
        indexes = [models.Index(fields=["period_start"], name="statement_period_idx")]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"{self.series}-{self.number:06d}"


class Invoice(AppendOnlyModel):
    """A brand's invoice for one period and currency."""

    run = models.ForeignKey(CloseRun, on_delete=models.PROTECT, related_name="invoices")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    brand = models.ForeignKey("accounts.Brand", on_delete=models.PROTECT, related_name="invoices")
    period_start = models.DateField()
    currency = CurrencyField()
    series = models.CharField(max_length=16)
    number = models.PositiveBigIntegerField()
    # Charges of the period and prior-period adjustments, then the advance credited against it.
    subtotal_minor = models.BigIntegerField()
    adjustments_minor = models.BigIntegerField()
    advance_applied_minor = models.BigIntegerField()
    net_minor = models.BigIntegerField()
    tax_rate_pct = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))
    tax_minor = models.BigIntegerField()
    total_minor = models.BigIntegerField()
    issued_at = models.DateTimeField()
    due_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_start"], name="invoice_once_per_period"
            ),
            models.UniqueConstraint(fields=["series", "number"], name="invoice_number_unique"),
        ]
        indexes = [models.Index(fields=["period_start"], name="invoice_period_idx")]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"{self.series}-{self.number:06d}"


class DocumentLine(AppendOnlyModel):
    """One line of a statement or an invoice: a license's postings of one kind and channel.

    `amount_minor` is what the line adds to the document's owner (a payee's share, or what the
    brand owes); gross, commission and fee are the whole transactions' figures behind it.
    """

    class Section(models.TextChoices):
        EARNINGS = "earnings", "Earnings"
        ADJUSTMENTS = "adjustments", "Prior-period adjustments"
        ADVANCE = "advance", "Advance recouped / applied"
        WITHHOLDING = "withholding", "Withholding"
        PAYMENTS = "payments", "Payouts and payments"

    statement = models.ForeignKey(
        Statement, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    position = models.PositiveIntegerField()
    section = models.CharField(max_length=16, choices=Section.choices)
    license = models.ForeignKey(
        "ledger.License", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The use's kind (generation, impressions...) or the charge's (flat_fee...).
    kind = models.CharField(max_length=32)
    # What the entries are: uses, their reversals, a charge...
    transaction_kind = models.CharField(max_length=32)
    channel = models.CharField(max_length=64, blank=True)
    units = models.BigIntegerField(default=0)
    entries = models.PositiveIntegerField()
    gross_minor = models.BigIntegerField()
    commission_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField()
    amount_minor = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(statement__isnull=False, invoice__isnull=True)
                | models.Q(statement__isnull=True, invoice__isnull=False),
                name="line_on_one_document",
            ),
        ]
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} {self.amount_minor}"


class Payout(models.Model):
    """A statement's payout: a Stripe transfer to the payee's connected account, made once.

    Created with its statement, in the close's transaction; sent after commit by a task whose
    Stripe call carries `idempotency_key`, so a retry after any crash gets the same transfer.
    Its status only moves forward: pending -> sent, or pending -> failed (the amount then stays
    payable and the next statement carries it in its opening balance) — except that finance
    may send a failed one again before it is carried (failed -> pending under a new key, see
    `payout_retry`).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        REVERSED = "reversed", "Reversed after it was sent"

    statement = models.OneToOneField(Statement, on_delete=models.PROTECT, related_name="payout")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    destination = models.CharField(max_length=64, help_text="The payee's Stripe account.")
    currency = CurrencyField()
    amount_minor = models.BigIntegerField()
    idempotency_key = models.UUIDField(unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    stripe_transfer_id = models.CharField(max_length=64, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    # The journal entry of the transfer: payable debited, Stripe clearing credited.
    transaction = models.OneToOneField(
        "ledger.JournalTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payout",
    )
    # The later statement whose opening balance took a failed payout's amount back.
    carried_by = models.ForeignKey(
        Statement, on_delete=models.PROTECT, null=True, blank=True, related_name="carried_payouts"
    )
    # Earlier failed attempts finance retried (payout_retry): when, the key, the reason.
    previous_failures = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="payout_positive")
        ]

    def __str__(self) -> str:
        return f"Payout of {self.statement} ({self.status})"
