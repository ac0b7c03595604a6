"""git-model: version machine-learning models like code.

The public Python API (docs/python-api.md): every verb of the CLI as a plain typed function
returning a typed result, and the exceptions they raise. The CLI is a thin layer over these
functions. Imports are lazy so that `git model --version` and hooks with nothing to do start
fast: `import gitmodel` loads nothing else until a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
# The verbs, their results, the errors they raise and the progress callback they take.
__all__ = [
    "AddResult",
    "ArtifactStatus",
    "CheckoutResult",
    "DeprecateResult",
    "DiffResult",
    "FsckResult",
    "GcResult",
    "GitError",
    "GitModelError",
    "InstallResult",
    "ListedRemote",
    "Migrated",
    "ModelDiff",
    "ModelRow",
    "ProgressCallback",
    "RemoteConfig",
    "RollbackResult",
    "SharedRemote",
    "ShowResult",
    "StageChange",
    "SyncResult",
    "TagResult",
    "Usage",
    "UsageError",
    "VersionRow",
    "__version__",
    "add",
    "checkout",
    "demote",
    "deprecate",
    "diff",
    "du",
    "fetch",
    "fsck",
    "gc",
    "install",
    "ls",
    "migrate",
    "promote",
    "pull",
    "push",
    "remote_add",
    "remote_approve",
    "remote_default",
    "remote_list",
    "remote_remove",
    "report",
    "rollback",
    "show",
    "status",
    "tag",
    "uninstall",
    "versions",
]

if TYPE_CHECKING:
    from gitmodel.cireport import report
    from gitmodel.commands.add import AddResult, add
    from gitmodel.commands.checkout import CheckoutResult, checkout
    from gitmodel.commands.deprecate import DeprecateResult, deprecate
    from gitmodel.commands.diff import DiffResult, ModelDiff, diff
    from gitmodel.commands.du import du
    from gitmodel.commands.fsck import FsckResult, fsck
    from gitmodel.commands.gc import GcResult, gc
    from gitmodel.commands.install import InstallResult, install, uninstall
    from gitmodel.commands.ls import ModelRow, ls
    from gitmodel.commands.migrate import Migrated, migrate
    from gitmodel.commands.promote import StageChange, demote, promote
    from gitmodel.commands.remote import (
        ListedRemote,
        remote_add,
        remote_approve,
        remote_default,
        remote_list,
        remote_remove,
    )
    from gitmodel.commands.rollback import RollbackResult, rollback
    from gitmodel.commands.show import ShowResult, show
    from gitmodel.commands.status import ArtifactStatus, status
    from gitmodel.commands.sync import SyncResult, fetch, pull, push
    from gitmodel.commands.tag import TagResult, tag
    from gitmodel.commands.versions import VersionRow, versions
    from gitmodel.errors import GitError, GitModelError, UsageError
    from gitmodel.packs.usage import Usage
    from gitmodel.progress import ProgressCallback
    from gitmodel.remotes.config import RemoteConfig
    from gitmodel.remotes.shared import SharedRemote

# name -> the module that defines it, imported on first use
_LAZY = {
    **dict.fromkeys(("add", "AddResult"), "gitmodel.commands.add"),
    **dict.fromkeys(("status", "ArtifactStatus"), "gitmodel.commands.status"),
    **dict.fromkeys(("checkout", "CheckoutResult"), "gitmodel.commands.checkout"),
    **dict.fromkeys(("tag", "TagResult"), "gitmodel.commands.tag"),
    **dict.fromkeys(("promote", "demote", "StageChange"), "gitmodel.commands.promote"),
    **dict.fromkeys(("versions", "VersionRow"), "gitmodel.commands.versions"),
    **dict.fromkeys(("ls", "ModelRow"), "gitmodel.commands.ls"),
    **dict.fromkeys(("show", "ShowResult"), "gitmodel.commands.show"),
    **dict.fromkeys(("rollback", "RollbackResult"), "gitmodel.commands.rollback"),
    **dict.fromkeys(("diff", "DiffResult", "ModelDiff"), "gitmodel.commands.diff"),
    **dict.fromkeys(("deprecate", "DeprecateResult"), "gitmodel.commands.deprecate"),
    **dict.fromkeys(("migrate", "Migrated"), "gitmodel.commands.migrate"),
    "report": "gitmodel.cireport",
    **dict.fromkeys(("push", "fetch", "pull", "SyncResult"), "gitmodel.commands.sync"),
    **dict.fromkeys(("gc", "GcResult"), "gitmodel.commands.gc"),
    **dict.fromkeys(("fsck", "FsckResult"), "gitmodel.commands.fsck"),
    "du": "gitmodel.commands.du",
    "Usage": "gitmodel.packs.usage",
    **dict.fromkeys(("install", "uninstall", "InstallResult"), "gitmodel.commands.install"),
    **dict.fromkeys(
        (
            "remote_add",
            "remote_list",
            "remote_remove",
            "remote_default",
            "remote_approve",
            "ListedRemote",
        ),
        "gitmodel.commands.remote",
    ),
    "ProgressCallback": "gitmodel.progress",
    "RemoteConfig": "gitmodel.remotes.config",
    "SharedRemote": "gitmodel.remotes.shared",
    **dict.fromkeys(("GitModelError", "GitError", "UsageError"), "gitmodel.errors"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # the next lookup skips this function
        return value
    raise AttributeError(f"module 'gitmodel' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
