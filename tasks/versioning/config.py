"""DVC remote used to push a user's own knowledge base."""

import re

from pydantic import Field, field_validator

from ragtune.schema import StrictModel

CLOUD_SCHEMES = ("s3", "gs", "azure")
URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def check_remote_url(url: str) -> str:
    """Accept a local folder or an ``s3://``, ``gs://``, ``azure://`` URL."""
    if not url.strip():
        raise ValueError("the DVC remote URL is empty")
    match = URL_SCHEME.match(url)
    if match and match.group(1).lower() not in CLOUD_SCHEMES:
        supported = ", ".join(f"{s}://" for s in CLOUD_SCHEMES)
        raise ValueError(f"remote {url!r}: use a local folder or one of {supported}")
    return url


class DvcConfig(StrictModel):
    """Remote storage for DVC-tracked data: a local folder by default, or an
    ``s3://``, ``gs://`` or ``azure://`` URL; credentials come from the environment
    as DVC reads them, never from this file."""

    remote_name: str = Field(
        "storage",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="DVC remote name, made the default remote by `ragtune init`.",
    )
    remote_url: str = Field(
        ".ragtune/dvc-remote",
        description="Local folder (relative to params.yaml) or object-store URL.",
    )

    @field_validator("remote_url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        return check_remote_url(value)
