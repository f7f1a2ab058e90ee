"""Promotion gates: the evaluation gate, approval and the reports behind them."""
