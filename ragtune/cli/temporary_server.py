"""Prefect's temporary API server ends with the CLI process, even on SIGKILL.

Without a ``PREFECT_API_URL``, Prefect starts a uvicorn child for the length of
the command and stops it at interpreter exit (``atexit``). A SIGKILL skips that:
in 10 of 13 trials the server outlived a killed ``ragtune refresh``, holding a
port, ~250 MB and its database. Prefect offers no hook for how it starts the
child, so when (and only when) its server module is imported, its ``subprocess``
reference is replaced by one whose ``Popen`` adds ``die_with_parent``. Importing
that module eagerly would cost every command seconds, hence the import hook.
Prefect starts the server from the thread that first needs the API, the main
thread in the CLI (``PR_SET_PDEATHSIG`` follows the forking thread).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import subprocess
import sys
import types
from typing import Any

from ragtune.lifecycle import die_with_parent

SERVER_MODULE = "prefect.server.api.server"


class _Subprocess(types.ModuleType):
    """``subprocess`` with a ``Popen`` whose children die with this process."""

    def __init__(self) -> None:
        super().__init__("subprocess")

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - module passthrough
        return getattr(subprocess, name)

    @staticmethod
    def Popen(*args: Any, **kwargs: Any) -> subprocess.Popen:  # noqa: N802, ANN401
        kwargs.setdefault("preexec_fn", die_with_parent)
        return subprocess.Popen(*args, **kwargs)


def _patch(module: types.ModuleType) -> None:
    module.subprocess = _Subprocess()  # type: ignore[attr-defined]


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the real loader of one module so that
    ``_patch`` runs right after the module's own code."""

    def find_spec(
        self,
        fullname: str,
        path: Any = None,
        target: Any = None,  # noqa: ANN401
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != SERVER_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            run(module)
            _patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def tie_to_this_process() -> None:
    """Make Prefect's temporary server (if this process starts one) a child that
    ends with it; idempotent."""
    if SERVER_MODULE in sys.modules:
        _patch(sys.modules[SERVER_MODULE])
    elif not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
