"""The talent's portal pages."""
