from .accounts import LedgerAccount
from .journal import JournalTransaction, Posting
from .licensing import License, LicenseActivation, LicenseDecision, LicenseVersion
from .sealing import Block, BlockEntry
from .twins import ConsentVersion, Twin
from .usage import Asset, RefusedAttempt, TierCounter, UsageEvent

__all__ = [
    "Asset",
    "Block",
    "BlockEntry",
    "ConsentVersion",
    "JournalTransaction",
    "LedgerAccount",
    "License",
    "LicenseActivation",
    "LicenseDecision",
    "LicenseVersion",
    "Posting",
    "RefusedAttempt",
    "TierCounter",
    "Twin",
    "UsageEvent",
]
