"""git-model: version machine-learning models like code.

The public Python API; the CLI is a thin layer over these functions. Imports are lazy so
that `git model --version` and hooks with nothing to do start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "add", "checkout", "status"]

if TYPE_CHECKING:
    from gitmodel.commands.add import add
    from gitmodel.commands.checkout import checkout
    from gitmodel.commands.status import status

_LAZY = {
    "add": "gitmodel.commands.add",
    "status": "gitmodel.commands.status",
    "checkout": "gitmodel.commands.checkout",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gitmodel' has no attribute {name!r}")
