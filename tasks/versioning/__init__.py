"""versioning capability."""
