"""How much a change matters, as a score in [0, 1].

Six components, each growing linearly to 1 at its saturation count
(``watch.saturation``), weighed by ``watch.weights`` and divided by the sum of
the weights. With the defaults a one-word typo fix scores about 0.05 (one line
each way, one section), while an amendment that changes a threshold and says
from when it applies scores above 0.5 (amendment terms, effective date, numbers).
"""

from __future__ import annotations

from ragtune.tasks.watch.config import WatchConfig
from ragtune.tasks.watch.models import DiffSummary, Significance


def _ratio(count: int, saturation: int) -> float:
    return min(1.0, count / saturation)


def components(diff: DiffSummary, cfg: WatchConfig) -> dict[str, float]:
    """Each component in [0, 1], named as in ``watch.weights``."""
    sat = cfg.saturation
    return {
        "size": _ratio(diff.lines_added + diff.lines_removed, sat.lines),
        "amendment_language": _ratio(diff.amendment_changes, sat.amendment_terms),
        "effective_date": 1.0 if diff.effective_language else 0.0,
        "numbers": _ratio(diff.numbers_changed, sat.numbers),
        "dates": _ratio(diff.dates_changed, sat.dates),
        "sections": _ratio(len(diff.sections_touched), sat.sections),
    }


def significance(diff: DiffSummary, cfg: WatchConfig) -> Significance:
    """The weighted mean of the components; 0 for a change that changed no line."""
    parts = components(diff, cfg)
    if diff.lines_added + diff.lines_removed == 0:
        return Significance(0.0, {k: 0.0 for k in parts})
    weights = cfg.weights.model_dump()
    score = sum(weights[k] * v for k, v in parts.items()) / sum(weights.values())
    return Significance(round(score, 4), {k: round(v, 4) for k, v in parts.items()})
