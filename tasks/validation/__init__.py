"""validation capability."""
