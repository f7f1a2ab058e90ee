"""evaluation capability: retrieval metrics on BEIR-layout evaluation sets."""
