"""The agency menu: (label, URL name), in order — the dashboard and uses first."""

from .consent_urls import NAV as CONSENT
from .earnings_urls import NAV as EARNINGS

NAV = [*EARNINGS[:2], *CONSENT, *EARNINGS[2:]]
