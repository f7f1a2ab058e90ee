"""The ``serving:`` section: the OpenAI-compatible endpoint of ``ragtune serve``."""

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ragtune.schema import StrictModel
from ragtune.tasks.privacy.pii import KINDS

# Names are left out of answers by default: answers legitimately name officers,
# authors and companies, and the issue asks for contact data, account numbers and
# ids. The query log redacts every kind (``query_log_pii_kinds``).
DEFAULT_PII_KINDS = ["email", "phone", "iban", "card", "national_id"]


class ServingConfig(StrictModel):
    """Where the server listens, what it retrieves and what it filters out.

    Secrets never live here: ``api_keys_env`` names the environment variable that
    holds the accepted bearer keys, so params.yaml can be committed.
    """

    host: str = Field("127.0.0.1", description="Interface to bind (0.0.0.0: all).")
    port: int = Field(8000, ge=1, le=65535, description="TCP port to listen on.")
    poll_interval_s: float = Field(
        30.0,
        ge=0,
        description="Seconds between checks for a new champion model or a new live "
        "index version (0: only on POST /admin/reload).",
    )
    deny_terms: list[str] = Field(
        default_factory=list,
        description="Words or phrases removed from every answer (case-insensitive, "
        "whole words), replaced by [removed].",
    )
    pii_kinds: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PII_KINDS),
        description=f"PII detectors run on every answer; known: {', '.join(KINDS)}.",
    )
    query_log_pii_kinds: list[str] = Field(
        default_factory=lambda: list(KINDS),
        description="PII detectors run on the question before the query log keeps "
        "it (deny terms apply too); all kinds, names included: the drift monitor "
        "needs topics, not who asked.",
    )
    stream_holdback_chars: int = Field(
        64,
        ge=16,
        description="Characters a stream holds back so a PII string or deny term "
        "split across chunks is still caught; at least the longest one.",
    )
    min_source_score: float = Field(
        0.35,
        ge=-1,
        le=1,
        description="Cosine similarity (question vs chunk) above which a source "
        "counts as relevant in the query log.",
    )
    k: int = Field(4, ge=1, le=50, description="Sources retrieved per question.")
    recent_change_days: int = Field(
        30,
        ge=0,
        description="An answer whose sources took effect, or were amended, within "
        "this many days says so (``validity.recent_changes`` in the response).",
    )
    pseudonymise_users: bool = Field(
        True,
        description="Record X-User callers in the audit and query logs as "
        "user-<HMAC> with a per-project key (<state_dir>/secrets/user-pseudonym.key, "
        "made on first use); deleting the key unlinks every pseudonym. False: the "
        "name as sent.",
    )
    max_request_bytes: int = Field(
        262_144,
        ge=1024,
        description="Largest request body accepted (413 beyond): one oversized "
        "prompt must not occupy the model while health checks starve.",
    )
    api_keys_env: str | None = Field(
        "RAGTUNE_API_KEYS",
        description="Environment variable with comma-separated bearer keys; the "
        "server refuses to start without keys unless `ragtune serve "
        "--insecure-local` (loopback only).",
    )
    admin_keys_env: str | None = Field(
        "RAGTUNE_ADMIN_KEYS",
        description="Environment variable with the keys /admin/* accepts (they "
        "also work as API keys); unset or empty: admin endpoints answer 403.",
    )
    rate_limit_per_minute: int = Field(
        120,
        ge=0,
        description="Requests per minute each API key may make (429 with "
        "Retry-After beyond; bursts up to this many); 0: no limit.",
    )
    citations: Literal["text", "field"] = Field(
        "text",
        description="text: answers end with their numbered sources ([1] title, "
        "doc id, clause), as well as the `sources` field; field: only the field.",
    )
    query_log: Path | None = Field(
        None, description="Query log JSONL (default: <state_dir>/query_log.jsonl)."
    )
    feedback_log: Path | None = Field(
        None, description="Feedback JSONL (default: <state_dir>/feedback.jsonl)."
    )

    @field_validator("deny_terms")
    @classmethod
    def _terms_not_blank(cls, terms: list[str]) -> list[str]:
        blank = [t for t in terms if not t.strip()]
        if blank:
            raise ValueError("serving.deny_terms holds an empty term")
        return [t.strip() for t in terms]

    @field_validator("pii_kinds", "query_log_pii_kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ValueError(
                f"unknown PII kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}"
            )
        return kinds

    @model_validator(mode="after")
    def _holdback_covers_terms(self) -> "ServingConfig":
        longest = max((len(t) for t in self.deny_terms), default=0)
        if longest > self.stream_holdback_chars:
            raise ValueError(
                f"serving.stream_holdback_chars ({self.stream_holdback_chars}) is "
                f"shorter than the longest deny term ({longest} characters): a split "
                "term could slip through a stream"
            )
        return self
