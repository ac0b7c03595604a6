"""`git model install` / `uninstall`: Git integration for this clone.

- hook shims (pre-commit, pre-push, post-checkout, post-merge, post-rewrite) from the
  package's copy of hooks/, in the folder Git really uses (core.hooksPath respected). A
  user's own hook is kept as HOOK.legacy and run first; our older shims are upgraded;
  running it twice changes nothing.
- the `gitmodel` textconv diff driver and merge driver in .git/config, and the `*.gitmodel`
  line in .gitattributes.
- or, with the pre-commit framework, the hooks in .pre-commit-config.yaml instead of shims.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from gitmodel.errors import InstallationError, UsageError
from gitmodel.fsutil import atomic_write_bytes
from gitmodel.gitignore import append_line_once
from gitmodel.hooknames import HOOK_NAMES, hooks_dir
from gitmodel.workspace import Workspace, open_workspace

ATTRIBUTES_LINE = "*.gitmodel diff=gitmodel merge=gitmodel"
DRIVER_CONFIG = {
    "diff.gitmodel.textconv": "git-model textconv",
    "merge.gitmodel.name": "git-model pointer merge",
    "merge.gitmodel.driver": "git-model merge-driver %O %A %B %P",
}
SHIM_MARKER = re.compile(
    rb"^# git-model hook shim: (?P<hook>[a-z-]+) \(shim-version (?P<v>\d+)\)$", re.MULTILINE
)
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
FRAMEWORK_HOOKS = {
    "git-model-check": ["pre-commit"],
    "git-model-push": ["pre-push"],
    "git-model-checkout": ["post-checkout", "post-merge", "post-rewrite"],
}


@dataclass
class InstallResult:
    hooks: dict[str, str] = field(default_factory=dict)  # hook -> what happened
    config: dict[str, str] = field(default_factory=dict)
    attributes_file: str | None = None  # the .gitattributes we changed, if any
    framework_file: str | None = None
    notes: list[str] = field(default_factory=list)


def shim_source(hook: str) -> bytes:
    try:
        return resources.files("gitmodel.shims").joinpath(hook).read_bytes()
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise InstallationError(
            f"this git-model installation is incomplete: its {hook} hook shim is missing",
            "reinstall git-model (pip install --force-reinstall git-model); "
            "please report this packaging bug",
        ) from exc


def install(
    *,
    force: bool = False,
    pre_commit_framework: bool = False,
    framework_repo: str | None = None,
    framework_rev: str | None = None,
    repo: str | Path = ".",
) -> InstallResult:
    ws = open_workspace(Path(repo))
    result = InstallResult()
    folder = hooks_dir(ws.repo.root)
    # Every shim is read and every hook planned before anything is written: a refusal, or a
    # broken installation, changes nothing.
    sources = {} if pre_commit_framework else {h: shim_source(h) for h in HOOK_NAMES}
    plans = {h: _plan_hook(folder, h, source, force) for h, source in sources.items()}
    for key, value in DRIVER_CONFIG.items():  # (plans made first: a refusal changes nothing)
        ws.repo.git("config", "--local", key, value)
        result.config[key] = value
    if _ensure_attributes(ws.repo.root / ".gitattributes"):
        result.attributes_file = ".gitattributes"
    if pre_commit_framework:
        result.framework_file = PRE_COMMIT_CONFIG
        if _write_framework_config(ws, framework_repo, framework_rev) == "rewritten":
            result.notes.append(
                f"{PRE_COMMIT_CONFIG} was written anew: its layout was too unusual to edit in "
                "place, so its comments are gone (the settings are all kept)"
            )
        return result
    folder.mkdir(parents=True, exist_ok=True)
    for hook, action in plans.items():
        result.hooks[hook] = _apply_hook(folder, hook, sources[hook], action)
    return result


def _plan_hook(folder: Path, hook: str, source: bytes, force: bool) -> str:
    path = folder / hook
    if not path.exists():
        return "install"
    current = path.read_bytes()
    if current == source:
        return "keep"
    if SHIM_MARKER.search(current):
        return "upgrade"
    legacy = folder / f"{hook}.legacy"
    if legacy.exists() and not force:
        raise UsageError(
            f"{path} is someone else's hook and {legacy.name} is taken, so it cannot be kept",
            f"merge them by hand, or pass --force to move {legacy.name} to {hook}.legacy.N "
            f"and keep yours as {legacy.name}",
        )
    return "chain"


def _apply_hook(folder: Path, hook: str, source: bytes, action: str) -> str:
    path = folder / hook
    if action == "keep":
        return "already installed"
    if action == "chain":
        legacy = folder / f"{hook}.legacy"
        if legacy.exists():
            n = 1
            while (folder / f"{hook}.legacy.{n}").exists():
                n += 1
            legacy.rename(folder / f"{hook}.legacy.{n}")
        path.rename(legacy)
    atomic_write_bytes(path, source, mode=0o755)
    os.chmod(path, 0o755)
    return {
        "install": "installed",
        "upgrade": "upgraded",
        "chain": f"installed; your hook was kept as {hook}.legacy and runs first",
    }[action]


def uninstall(*, repo: str | Path = ".") -> InstallResult:
    ws = open_workspace(Path(repo))
    result = InstallResult()
    folder = hooks_dir(ws.repo.root)
    for hook in HOOK_NAMES:
        path = folder / hook
        if path.exists() and SHIM_MARKER.search(path.read_bytes()):
            path.unlink()
            legacy = folder / f"{hook}.legacy"
            if legacy.exists():
                legacy.rename(path)
                result.hooks[hook] = "removed; your own hook was restored"
            else:
                result.hooks[hook] = "removed"
    for section in ("diff.gitmodel", "merge.gitmodel"):
        if ws.repo.config_get_regexp("^" + re.escape(section) + r"\."):
            ws.repo.git("config", "--local", "--remove-section", section)
            result.config[section] = "removed"
    note = _forget_attributes(ws)
    if note:
        result.notes.append(note)
    return result


def _forget_attributes(ws: Workspace) -> str | None:
    """Keep a committed `*.gitmodel` line (teammates' clones rely on it); remove one that was
    never committed, and the file with it when nothing else is left."""
    path = ws.repo.root / ".gitattributes"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    ours = (ATTRIBUTES_LINE, *OLD_ATTRIBUTES_LINES)
    if not any(line in ours for line in lines):
        return None
    if ws.repo.is_tracked(".gitattributes"):
        return "the *.gitmodel line in .gitattributes is kept (it is committed)"
    rest = [line for line in lines if line not in ours]
    if rest:
        atomic_write_bytes(path, ("\n".join(rest) + "\n").encode("utf-8"))
    else:
        path.unlink()
    return "the *.gitmodel line was removed from .gitattributes (it was never committed)"


def _write_framework_config(ws: Workspace, url: str | None, rev: str | None) -> str:
    """Add git-model's hooks to .pre-commit-config.yaml (hooks from the installed git-model,
    or from the git-model repository at `url`/`rev`). Says what happened to the file:
    "created", "edited" (the user's text kept) or "rewritten" (its comments lost)."""
    import yaml

    from gitmodel.precommitconfig import edit_config

    path = ws.repo.root / PRE_COMMIT_CONFIG
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    doc = yaml.safe_load(text) or {}
    if not isinstance(doc, dict) or not isinstance(doc.get("repos", []), list):
        raise UsageError(
            f"{PRE_COMMIT_CONFIG} is not a pre-commit config",
            "fix it, or add git-model's hooks by hand (see docs/hooks.md)",
        )
    repos = [r for r in doc.get("repos", []) if not _is_ours(r)]
    if url:
        entry: dict[str, object] = {
            "repo": url,
            "rev": rev or "HEAD",
            "hooks": [{"id": hid, "stages": stages} for hid, stages in FRAMEWORK_HOOKS.items()],
        }
    else:
        entry = {
            "repo": "local",
            "hooks": [
                {
                    "id": hid,
                    "name": hid,
                    "entry": f"git-model hook {stages[0]}",
                    "language": "system",
                    "pass_filenames": False,
                    "always_run": True,
                    "stages": stages,
                }
                for hid, stages in FRAMEWORK_HOOKS.items()
            ],
        }
    types = list(doc.get("default_install_hook_types", ["pre-commit"]))
    for stages in FRAMEWORK_HOOKS.values():
        types += [s for s in stages if s not in types]
    intended = {**doc, "repos": [*repos, entry], "default_install_hook_types": types}
    new_text, kept = edit_config(text, doc, intended, _is_ours)
    if new_text != text:
        atomic_write_bytes(path, new_text.encode())
    if not text.strip():
        return "created"
    return "edited" if kept else "rewritten"


def _is_ours(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    hooks = entry.get("hooks") or []
    return any(isinstance(h, dict) and h.get("id") in FRAMEWORK_HOOKS for h in hooks)


OLD_ATTRIBUTES_LINES = ("*.gitmodel diff=gitmodel",)  # written by earlier releases


def _ensure_attributes(path: Path) -> bool:
    """Make .gitattributes carry ATTRIBUTES_LINE, upgrading an older git-model line in place."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    lines = text.splitlines()
    if ATTRIBUTES_LINE in lines:
        return False
    old = [i for i, line in enumerate(lines) if line in OLD_ATTRIBUTES_LINES]
    if not old:
        return append_line_once(path, ATTRIBUTES_LINE)
    lines[old[0]] = ATTRIBUTES_LINE
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))
    return True
