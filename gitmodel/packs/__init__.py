"""Packs: files as recipes of chunks, chunks encoded and grouped into pack files with an index.

The format is specified in docs/pack-format.md. This package is the format layer only: it
chunks, encodes, writes and reads packs and recipes; deciding what to pack (gc), and moving
packs to and from remotes, live above it.

The compiled libraries it needs (pyfastcdc, zstandard, numpy) are dependencies of git-model;
`require` imports them lazily (start-up stays fast) and turns a broken installation that lacks
one into an error that says how to repair it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from gitmodel.errors import InstallationError


def require(module: str) -> ModuleType:
    """Import a compiled library that packs need, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InstallationError(
            f"packs need the Python package {module!r}, which is not installed",
            "reinstall git-model with its dependencies: pip install --force-reinstall git-model",
        ) from None
