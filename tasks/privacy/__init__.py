"""Personal-data detection and redaction shared by dataset gates and serving."""

from ragtune.tasks.privacy.pii import KINDS, PIIMatch, redact, scan

__all__ = ["KINDS", "PIIMatch", "redact", "scan"]
