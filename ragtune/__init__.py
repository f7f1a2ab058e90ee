"""ragtune: keep a language model's knowledge correct as documents change."""

__version__ = "0.1.0"
