"""DVC remote used to push a user's own knowledge base."""

from pydantic import Field

from ragtune.schema import StrictModel


class DvcConfig(StrictModel):
    """Remote storage for DVC-tracked data: a local folder by default, or an
    ``s3://``, ``gs://`` or ``azure://`` URL; credentials come from the environment
    as DVC reads them, never from this file."""

    remote_name: str = "storage"
    remote_url: str = Field(
        ".ragtune/dvc-remote", description="Local folder or object-store URL."
    )
