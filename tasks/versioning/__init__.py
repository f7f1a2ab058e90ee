"""Data versioning: DVC hashes, pinned revisions, knowledge-base init and push.

Plain Python over DVC's Python API and the git CLI; flows wrap these as tasks.
"""

from ragtune.tasks.versioning.hashing import data_hash, recorded_hash
from ragtune.tasks.versioning.kb_init import init_knowledge_base
from ragtune.tasks.versioning.models import DataRevision, InitResult, TrackedBy
from ragtune.tasks.versioning.pipeline import reproduce, stage_status
from ragtune.tasks.versioning.remote import configure_remote, push, track_and_push
from ragtune.tasks.versioning.revisions import pin_data, resolve_data

__all__ = [
    "DataRevision",
    "InitResult",
    "TrackedBy",
    "configure_remote",
    "data_hash",
    "init_knowledge_base",
    "push",
    "recorded_hash",
    "reproduce",
    "pin_data",
    "resolve_data",
    "stage_status",
    "track_and_push",
]
