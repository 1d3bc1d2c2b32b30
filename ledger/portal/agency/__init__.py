"""The agency's portal pages."""
