from .accounts import LedgerAccount
from .background import BackgroundRun
from .billing import InvoiceBilling
from .closing import (
    Charge,
    CloseChunk,
    CloseRun,
    Coverage,
    CoverageFold,
    CoverageTotal,
    DocumentLine,
    DocumentSeries,
    Invoice,
    Payout,
    Statement,
)
from .images import AssetImage
from .journal import JournalTransaction, Posting
from .licensing import License, LicenseActivation, LicenseDecision, LicenseVersion
from .reconciliation import ReconciliationMismatch, ReconciliationRun
from .sealing import Block, BlockEntry
from .twins import ConsentVersion, Twin
from .usage import (
    Asset,
    BrandPeriodVolume,
    LateReport,
    LateReportDecision,
    RefusedAttempt,
    TierCounter,
    UsageEvent,
)
from .verification import VerificationRun
from .webhooks import StripeEvent

__all__ = [
    "Asset",
    "AssetImage",
    "BackgroundRun",
    "Block",
    "BlockEntry",
    "BrandPeriodVolume",
    "Charge",
    "CloseChunk",
    "CloseRun",
    "ConsentVersion",
    "Coverage",
    "CoverageFold",
    "CoverageTotal",
    "DocumentLine",
    "DocumentSeries",
    "Invoice",
    "InvoiceBilling",
    "JournalTransaction",
    "LateReport",
    "LateReportDecision",
    "LedgerAccount",
    "License",
    "LicenseActivation",
    "LicenseDecision",
    "LicenseVersion",
    "Payout",
    "Posting",
    "ReconciliationMismatch",
    "ReconciliationRun",
    "RefusedAttempt",
    "Statement",
    "StripeEvent",
    "TierCounter",
    "Twin",
    "UsageEvent",
    "VerificationRun",
]
