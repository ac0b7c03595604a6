"""post-checkout / post-merge / post-rewrite: bring the artifacts of the new HEAD into the
work tree.

Only pointers that changed between the old and the new HEAD are touched. A modified
work-tree file is never overwritten (a warning says so), and a missing object is reported
without failing the checkout: the hook informs, `git model checkout` decides.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gitmodel.errors import GitModelError
from gitmodel.git import ZERO_SHA, GitRepo, is_null_oid
from gitmodel.pointer import POINTER_SUFFIX
from gitmodel.printable import printable

if TYPE_CHECKING:
    from gitmodel.progress import ProgressCallback


def post_checkout(args: list[str], stdin: bytes, progress: ProgressCallback | None = None) -> int:
    if len(args) >= 3:
        old, new, branch_flag = args[0], args[1], args[2]
    else:  # the pre-commit framework passes these in its environment
        import os

        if "PRE_COMMIT_IS_SQUASH_MERGE" in os.environ:  # one framework hook serves all three
            return post_merge(args, stdin, progress)
        if "PRE_COMMIT_REWRITE_COMMAND" in os.environ:
            return post_rewrite([os.environ["PRE_COMMIT_REWRITE_COMMAND"]], stdin, progress)
        old = os.environ.get("PRE_COMMIT_FROM_REF", "")
        new = os.environ.get("PRE_COMMIT_TO_REF", "")
        branch_flag = os.environ.get("PRE_COMMIT_CHECKOUT_TYPE", "1")
    if branch_flag == "0" or old == new:  # a file checkout, or nothing moved
        return 0
    return materialise_changes(old, new, progress)


def post_merge(args: list[str], stdin: bytes, progress: ProgressCallback | None = None) -> int:
    import os

    repo = GitRepo.discover(Path.cwd())
    if (args[:1] or [os.environ.get("PRE_COMMIT_IS_SQUASH_MERGE", "0")]) == ["1"]:
        # `git merge --squash` moves no ref: the merged pointers are staged, not committed
        staged = repo.staged_paths("HEAD", f"*{POINTER_SUFFIX}")
        return materialise_paths(repo, staged, progress)
    old = repo.resolve_optional("ORIG_HEAD") or ZERO_SHA
    new = repo.resolve_commit("HEAD")
    return materialise_changes(old, new, progress) if old != new else 0


def post_rewrite(args: list[str], stdin: bytes, progress: ProgressCallback | None = None) -> int:
    """After a rebase (`git pull --rebase` too): the post-checkout that started it was skipped
    (HEAD was not yet where it ends), so bring what changed from the old tip to the rebased
    HEAD. The `--apply` backend's first checkout (of the new base) is not skipped, since Git
    starts it before the rebase is marked in progress: what changed from the new base counts
    too. An amend changes no pointer in the work tree: nothing to do."""
    if args[:1] != ["rebase"]:
        return 0
    repo = GitRepo.discover(Path.cwd())
    new = repo.resolve_commit("HEAD")
    paths: dict[str, None] = {}
    for old in _rebase_starts(repo):
        if old != new:
            paths.update(dict.fromkeys(changed_pointers(repo, old, new)))
    return materialise_paths(repo, list(paths), progress)


def _rebase_starts(repo: GitRepo) -> list[str]:
    """The tip before the rebase and the base it was replayed onto. The merge backend keeps
    both in its state folder (removed only after post-rewrite); for the apply backend they are
    ORIG_HEAD and the reflog's `(start)` entry."""
    starts = []
    for name in ("orig-head", "onto"):
        try:
            starts.append((repo.git_dir / "rebase-merge" / name).read_text().strip())
        except OSError:
            continue
    if len(starts) < 2:
        starts.append(repo.resolve_optional("ORIG_HEAD") or ZERO_SHA)
        for commit, message in repo.reflog("HEAD", 10000):
            if message.startswith(("rebase", "pull")) and "(start)" in message:
                starts.append(commit)
                break
    return [s for s in starts if s]


def changed_pointers(repo: GitRepo, old: str, new: str) -> list[str]:
    if not old or is_null_oid(old):
        return [e.path for e in repo.tree_entries(new) if e.path.endswith(POINTER_SUFFIX)]
    return repo.changed_paths(old, new, f"*{POINTER_SUFFIX}")


def materialise_changes(old: str, new: str, progress: ProgressCallback | None) -> int:
    repo = GitRepo.discover(Path.cwd())
    if _rebase_continues(repo):
        return 0
    return materialise_paths(repo, changed_pointers(repo, old, new), progress)


def materialise_paths(
    repo: GitRepo, pointer_paths: list[str], progress: ProgressCallback | None
) -> int:
    paths = [p for p in pointer_paths if (repo.root / p).is_file()]
    if not paths:
        return 0
    from gitmodel.cache.lock import file_lock
    from gitmodel.placement import CheckoutPlan, execute_plan, plan_artifact, python_gc_paused
    from gitmodel.pointer import read_pointer
    from gitmodel.workspace import open_workspace

    ws = open_workspace(repo.root)
    restored = 0
    # Shared, like `git model checkout`: a gc (exclusive) cannot delete objects between the
    # plan finding them and the links to them being made.
    with python_gc_paused(), file_lock(ws.cache_lock, shared=True):
        for rel in paths:
            pointer_file = repo.root / rel
            plan = CheckoutPlan()
            try:
                plan_artifact(ws, read_pointer(pointer_file), pointer_file, plan, verify=False)
            except GitModelError as exc:
                _warn(f"{rel}: {exc.message} ({exc.hint})")
                continue
            if plan.conflicts:
                _warn(
                    f"not updating {rel.removesuffix(POINTER_SUFFIX)}: it has changes not saved "
                    f"in the cache ({', '.join(plan.conflicts[:3])}); run `git model status`"
                )
                continue
            execute_plan(ws, plan, progress)
            restored += len(plan.writes) + sum(len(fill.files.paths) for fill in plan.fills)
    ws.stat_cache.close()
    if restored:
        print(f"git-model: updated {restored} artifact file(s)", file=sys.stderr)
    return 0


def _rebase_continues(repo: GitRepo) -> bool:
    """Whether a rebase is in progress and has commits left to replay: its post-rewrite
    brings the result. A rebase with nothing left (a fast-forward, `--onto` with nothing to
    replay) ends with this checkout and runs no post-rewrite, so this checkout must count."""
    if (repo.git_dir / "rebase-apply").exists():
        return True
    try:
        todo = (repo.git_dir / "rebase-merge" / "git-rebase-todo").read_text(errors="replace")
    except FileNotFoundError:
        return (repo.git_dir / "rebase-merge").exists()
    commands = (line.split(maxsplit=1)[0] for line in todo.splitlines() if line.strip())
    return any(not c.startswith("#") and c != "noop" for c in commands)


def _warn(text: str) -> None:
    print(printable(f"git-model: warning: {text}"), file=sys.stderr)
