"""Maps ``flows/`` and ``tasks/`` into ``ragtune.flows`` and ``ragtune.tasks``.

Metadata lives in pyproject.toml. This file only computes the package list, because
setuptools' ``packages.find`` cannot rename top-level folders, and a static list would
drift every time a capability subpackage is added.
"""

from setuptools import find_packages, setup

MAPPED = {"flows": "ragtune.flows", "tasks": "ragtune.tasks"}


def _packages() -> list[str]:
    packages = find_packages(include=["ragtune", "ragtune.*"])
    for folder, name in MAPPED.items():
        packages.append(name)
        packages += [f"{name}.{sub}" for sub in find_packages(where=folder)]
    return packages


setup(packages=_packages())
