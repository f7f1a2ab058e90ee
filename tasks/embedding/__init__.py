"""embedding capability."""
