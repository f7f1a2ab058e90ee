"""Exceptions that the CLI maps to exit codes (1: a gate said no, 2: bad input)."""


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
