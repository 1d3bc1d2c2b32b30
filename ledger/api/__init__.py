"""The v1 HTTP API (DRF): thin views over the services and selectors; see urls.py."""
