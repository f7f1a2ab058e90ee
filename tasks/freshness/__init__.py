"""freshness capability."""
