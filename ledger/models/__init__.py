from .accounts import LedgerAccount
from .journal import JournalTransaction, Posting
from .sealing import Block, BlockEntry

__all__ = ["Block", "BlockEntry", "JournalTransaction", "LedgerAccount", "Posting"]
