"""`git-model hook NAME ARGS…`: what the installed hook shims run.

Kept free of the CLI framework and of heavy imports, so a hook with nothing to do costs a
Python start-up and one or two `git` calls.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gitmodel.hooknames import HOOK_NAMES, hooks_dir

if TYPE_CHECKING:
    from gitmodel.progress import ProgressCallback, TerminalProgress

# A hook's handler: (its arguments, its stdin, where progress goes) -> exit code
Handler = Callable[[list[str], bytes, "ProgressCallback | None"], int]

__all__ = ["HOOK_NAMES", "main_hook", "run_legacy_hook"]


def main_hook(argv: list[str]) -> int:
    if not argv or argv[0] not in HOOK_NAMES:
        print(f"usage: git-model hook {{{','.join(HOOK_NAMES)}}} [ARGS…]", file=sys.stderr)
        return 2
    name, args = argv[0], argv[1:]
    progress: TerminalProgress | None = None
    try:
        # pre-push and post-rewrite get a list on stdin (post-rewrite's is read so Git can
        # write it)
        reads_stdin = name in ("pre-push", "post-rewrite")
        stdin = sys.stdin.buffer.read() if reads_stdin and not sys.stdin.isatty() else b""
        code = run_legacy_hook(name, args, stdin)
        if code != 0:
            return code
        if os.environ.get("GIT_MODEL_SKIP_HOOKS") == "1":
            return 0
        if name != "pre-commit":  # the hooks that move bytes show it on a terminal
            from gitmodel.progress import terminal_progress

            progress = terminal_progress()
        return _handler(name)(args, stdin, progress)
    except (Exception, KeyboardInterrupt) as exc:
        from gitmodel.errorfunnel import report_failure

        if progress is not None:
            progress.end()
        return report_failure(exc, prefix=f"git-model {name}: ")


def _handler(name: str) -> Handler:
    if name == "pre-commit":
        from gitmodel.commands.precommit import pre_commit

        return lambda args, stdin, _progress: pre_commit(args, stdin)
    if name == "pre-push":
        from gitmodel.commands.prepush import pre_push

        return pre_push
    from gitmodel.commands import postcheckout

    if name == "post-rewrite":
        return postcheckout.post_rewrite
    return postcheckout.post_checkout if name == "post-checkout" else postcheckout.post_merge


def run_legacy_hook(name: str, args: list[str], stdin: bytes) -> int:
    """Run the user's own hook that `git model install` kept as NAME.legacy, if any."""
    if os.environ.get("PRE_COMMIT") == "1":  # run by the pre-commit framework: no shim, no legacy
        return 0
    legacy = hooks_dir(Path.cwd()) / f"{name}.legacy"
    if not os.access(legacy, os.X_OK):
        return 0
    return subprocess.run([str(legacy), *args], input=stdin, check=False).returncode
