"""A cheap language guess from function words, for instruction/response mismatch.

Function words ("the", "und", "les", "que") make up a large share of any running
text and differ between languages, so counting them tells the common European
languages apart on a sentence or two, with no model to install. Texts that are
too short or too mixed get no verdict, so the mismatch check stays quiet on them.
"""

from __future__ import annotations

import re

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and of to is in that it for you are with as on be this was have not "
        "what how do does can your from at by or an will which if".split()
    ),
    "fr": frozenset(
        "le la les des et est une un du que pour dans pas vous sur qui ce il au "
        "avec sont mais nous leur cette ou de par en ne se aux".split()
    ),
    "de": frozenset(
        "der die das und ist nicht ein eine zu den mit sich des auf für im dem "
        "sie es wie auch bei oder wird sind".split()
    ),
    "es": frozenset(
        "el la los las y es de que en un una por con para no se del al lo como "
        "más pero sus le ya o".split()
    ),
    "it": frozenset(
        "il lo la gli le di che è e un una per non con del della sono si anche "
        "come ma nel alla questo".split()
    ),
    "nl": frozenset(
        "de het een en van is dat niet te zijn op voor met als die er ook aan "
        "maar om bij wordt".split()
    ),
    "pt": frozenset(
        "o os a as e é de que em um uma para não com do da dos se por mais "
        "como mas ao você".split()
    ),
}
_WORD = re.compile(r"[^\W\d_]+")


def _weights() -> dict[str, float]:
    """A word shared by n languages counts 1/n: "par" says French, "de" little."""
    shared: dict[str, int] = {}
    for stops in STOPWORDS.values():
        for word in stops:
            shared[word] = shared.get(word, 0) + 1
    return {word: 1.0 / n for word, n in shared.items()}


_WEIGHT = _weights()


def guess_language(text: str, min_hits: int = 3, margin: float = 1.5) -> str | None:
    """ISO 639-1 code of the likeliest language, or None when unclear.

    Args:
        text: Any text.
        min_hits: Function words of the winner the text must contain at least.
        margin: How many times the runner-up's weighted score the winner needs.
    """
    words = [w.casefold() for w in _WORD.findall(text)]
    scores = []
    for code, stops in STOPWORDS.items():
        found = [w for w in words if w in stops]
        scores.append((sum(_WEIGHT[w] for w in found), len(found), code))
    scores.sort(reverse=True)
    (best, hits, code), (second, _, _) = scores[0], scores[1]
    if hits < min_hits or best < margin * second:
        return None
    return code


def language_mismatch(instruction: str, response: str) -> tuple[str, str] | None:
    """The two languages when both are clear and differ, else None."""
    asked, answered = guess_language(instruction), guess_language(response)
    if asked and answered and asked != answered:
        return asked, answered
    return None
