"""English lexicons."""
