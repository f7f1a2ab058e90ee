"""Retrain policy: when a retrain may run, and whether it already ran."""
