"""Base class for every typed config section.

Sections forbid unknown keys and are immutable once validated, so a typo in
params.yaml fails loudly at load time instead of silently falling back to a default.
"""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, values are frozen after load."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
