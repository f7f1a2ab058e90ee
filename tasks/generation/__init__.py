"""Answer generation: one interface, several model backends."""
