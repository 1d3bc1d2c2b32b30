"""Gateways to outside services. ``ledger.gateways.stripe`` is the only module importing stripe."""
