"""index capability."""
