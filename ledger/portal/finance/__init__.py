"""The finance's portal pages."""
