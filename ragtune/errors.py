"""Exceptions that the CLI maps to exit codes (1: a gate said no, 2: bad input,
3: another run holds the lock)."""


class RagtuneError(Exception):
    """Base class; carries a message meant for an operator, not a traceback reader."""

    exit_code = 2


class ConfigError(RagtuneError):
    """params.yaml or an environment override is missing, malformed or inconsistent."""


class InputError(RagtuneError):
    """A path, file, flag or event given by the user cannot be used."""


class GateFailed(RagtuneError):
    """A quality gate stopped the run; nothing live was changed."""

    exit_code = 1


class Busy(RagtuneError):
    """Another run holds the lock this one needs; nothing was changed. Try again
    when it has finished (exit code 3, so schedulers can tell it from a failure)."""

    exit_code = 3


def yaml_problem(exc: Exception) -> str:
    """A YAML (or text decoding) error as one line, where and what: PyYAML's own
    report spans several lines with an excerpt, which breaks the one-line
    message every refusal prints. Duck-typed, so this module imports no YAML."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    what = problem or " ".join(str(exc).split())
    if mark is None:
        return what
    return f"line {mark.line + 1}, column {mark.column + 1}: {what}"
