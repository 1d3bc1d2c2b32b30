"""The brand's portal pages."""
