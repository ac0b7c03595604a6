"""Sharing commands of the CLI: remote, push, fetch, pull, fsck, gc.

Part of the CLI package, the only place that imports typer.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gitmodel.cli.app import ForceOption, JsonOption, QuietOption, app
from gitmodel.cli.common import (
    handle_errors,
    is_quiet,
    print_json,
    progress_line,
    say,
    set_quiet,
    warn,
)
from gitmodel.cli.packreport import packing_json, packs_check_json, say_packing, say_packs_check
from gitmodel.cli.remotereport import remote_packs_json, say_remote_packs
from gitmodel.table import human_size, render_table

remote_app = typer.Typer(
    help="Manage model remotes (where objects are shared).", no_args_is_help=True
)
app.add_typer(remote_app, name="remote")

JobsOption = Annotated[
    int | None,
    typer.Option("--jobs", "-j", help="Parallel transfers (default: 4 per core, max 32).", min=1),
]
RemoteOption = Annotated[
    str | None, typer.Option("--remote", "-r", help="Model remote (default: model.defaultRemote).")
]
RevOption = Annotated[
    list[str] | None,
    typer.Option(
        "--rev", help="Objects of the pointers at this revision; repeatable.", metavar="REV"
    ),
]
CheckedRemoteOption = Annotated[
    str | None,
    typer.Option("--remote", "-r", help="Work on this model remote instead of the local cache."),
]
AllVersionsOption = Annotated[
    bool, typer.Option("--all-versions", help="Also every registered version (NAME@vX.Y.Z).")
]


@remote_app.command("add")
@handle_errors
def remote_add(
    name: Annotated[str, typer.Argument(help="Remote name, e.g. origin.")],
    url: Annotated[
        str, typer.Argument(help="s3://bucket/prefix, gs://…, az://…, ssh://…, or a folder.")
    ],
    default: Annotated[bool, typer.Option("--default", "-d", help="Make it the default.")] = False,
    shared: Annotated[
        bool,
        typer.Option("--shared", help="Write it to the committed .gitmodel.toml, for every clone."),
    ] = False,
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="S3-compatible endpoint URL.", metavar="URL"),
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Object storage region.", metavar="REGION")
    ] = None,
) -> None:
    """Add a model remote (stored in .git/config, or .gitmodel.toml with --shared; credentials
    never are)."""
    from gitmodel.commands.remote import remote_add as add_remote

    add_remote(name, url, default=default, shared=shared, endpoint=endpoint, region=region)
    if shared:
        say(f"added model remote {name} to .gitmodel.toml (staged; commit it to share it)")
    else:
        say(f"added model remote {name}")


@remote_app.command("approve")
@handle_errors
def remote_approve(
    name: Annotated[str, typer.Argument(help="Committed remote to approve.")],
) -> None:
    """Approve a remote committed in .gitmodel.toml, as it is now, for this clone."""
    from gitmodel.commands.remote import remote_approve as approve

    shared = approve(name)
    say(f"approved model remote {name}: {shared.describe()}")


@remote_app.command("list")
@handle_errors
def remote_list(as_json: JsonOption = False) -> None:
    """List model remotes."""
    from gitmodel.commands.remote import describe
    from gitmodel.commands.remote import remote_list as list_remotes

    remotes, default = list_remotes()
    if as_json:
        print_json(
            [
                {
                    **describe(r.config),
                    "default": r.config.name == default,
                    **({"committed": True, "approved": r.approved} if r.shared else {}),
                }
                for r in remotes
            ]
        )
        return
    if not remotes:
        say("no model remotes (add one: git model remote add origin s3://BUCKET/PATH --default)")
        return
    any_shared = any(r.shared for r in remotes)
    rows = [
        [
            ("* " if r.config.name == default else "  ") + r.config.name,
            str(describe(r.config)["url"]),
            " ".join(f"{k}={v}" for k, v in sorted(r.config.options.items())),
            *(
                [
                    ".git/config"
                    if r.shared is None
                    else ".gitmodel.toml" + ("" if r.approved else " (not approved)")
                ]
                if any_shared
                else []
            ),
        ]
        for r in remotes
    ]
    print(render_table(["  NAME", "URL", "OPTIONS", *(["FROM"] if any_shared else [])], rows))


@remote_app.command("remove")
@handle_errors
def remote_remove(name: Annotated[str, typer.Argument(help="Remote to remove.")]) -> None:
    """Remove a model remote (its objects stay where they are)."""
    from gitmodel.commands.remote import remote_remove as remove_remote

    remove_remote(name)
    say(f"removed model remote {name}")


@remote_app.command("default")
@handle_errors
def remote_default(name: Annotated[str, typer.Argument(help="Remote to use by default.")]) -> None:
    """Set the default model remote."""
    from gitmodel.commands.remote import remote_default as set_default

    set_default(name)
    say(f"default model remote: {name}")


def _summary(verb: str, result: object, noun: str = "object(s)") -> str:
    from gitmodel.cli.remotereport import transfer_line
    from gitmodel.commands.sync import SyncResult

    assert isinstance(result, SyncResult)
    return transfer_line(verb, result, noun)


@app.command()
@handle_errors
def push(
    remote: Annotated[
        str | None, typer.Argument(help="Model remote (default: the default).")
    ] = None,
    rev: RevOption = None,
    all_versions: AllVersionsOption = False,
    jobs: JobsOption = None,
    quiet: QuietOption = False,
) -> None:
    """Upload the objects of HEAD's pointers (or of --rev, --all-versions) to a remote."""
    from gitmodel.commands.sync import push as upload

    set_quiet(quiet or is_quiet())
    result = upload(
        remote, revs=rev or [], all_versions=all_versions, jobs=jobs, progress=progress_line()
    )
    say(_summary("pushed", result))


@app.command()
@handle_errors
def fetch(
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            help="Paths, model names or versions (default: the work tree's).", show_default=False
        ),
    ] = None,
    remote: RemoteOption = None,
    rev: RevOption = None,
    all_versions: AllVersionsOption = False,
    manifests_only: Annotated[
        bool,
        typer.Option(
            "--manifests-only",
            help="Only folder and tensor manifests (what diff needs to name changed tensors), "
            "no weights.",
        ),
    ] = False,
    jobs: JobsOption = None,
    quiet: QuietOption = False,
) -> None:
    """Download missing objects into the cache, each verified against its oid."""
    from gitmodel.commands.sync import fetch as download

    set_quiet(quiet or is_quiet())
    result = download(
        targets or [],
        remote=remote,
        revs=rev or [],
        all_versions=all_versions,
        manifests_only=manifests_only,
        jobs=jobs,
        progress=progress_line(),
    )
    say(_summary("fetched", result, "manifest(s)" if manifests_only else "object(s)"))


@app.command()
@handle_errors
def pull(
    targets: Annotated[
        list[str] | None,
        typer.Argument(help="Paths or model names (default: every pointer).", show_default=False),
    ] = None,
    remote: RemoteOption = None,
    jobs: JobsOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
) -> None:
    """fetch, then checkout: the exact bytes of every pointer in the work tree."""
    from gitmodel.cli.coreops import report_checkout
    from gitmodel.commands.sync import pull as download_and_checkout

    set_quiet(quiet or is_quiet())
    fetched, checked_out = download_and_checkout(
        targets or [], remote=remote, jobs=jobs, force=force, progress=progress_line()
    )
    say(_summary("fetched", fetched))
    report_checkout(checked_out, list_restored=False)


@app.command()
@handle_errors
def fsck(
    remote: CheckedRemoteOption = None, jobs: JobsOption = None, as_json: JsonOption = False
) -> None:
    """Rehash objects (local cache, or a remote); quarantine corrupt local ones."""
    from gitmodel.commands.fsck import fsck as check

    result = check(remote=remote, jobs=jobs, progress=progress_line())
    if as_json:
        packed = {"damaged": result.damaged} if result.packed else {}
        print_json(
            {
                "where": result.where,
                "checked": result.checked,
                "corrupt": result.corrupt,
                "quarantined": result.quarantined,
                "missing": result.missing,
                "wrong_size": [
                    {
                        "oid": w.oid,
                        "claimed_by": w.claimed_by,
                        "expected": w.expected,
                        "actual": w.actual,
                    }
                    for w in result.wrong_size
                ],
                "wrong_digest": result.wrong_digest,
                **packs_check_json(result),
                **packed,  # a remote in the packed layout
            }
        )
    else:
        wrong = set(result.wrong_digest)

        def why(oid: str) -> str:
            return " (its bytes do not match the digest a pointer records)" if oid in wrong else ""

        for oid, where in zip(result.corrupt, result.quarantined, strict=False):
            print(f"corrupt {oid}: moved to {where}{why(oid)}")
        for oid in result.corrupt[len(result.quarantined) :]:
            print(f"corrupt {oid} on {result.where}{why(oid)}")
        for line in result.damaged:
            print(f"damaged: {line}")
        for oid in result.missing:
            print(f"missing {oid} on {result.where}")
        for mismatch in result.wrong_size:
            print(
                f"wrong size {mismatch.oid}: {mismatch.claimed_by} says size = "
                f"{mismatch.expected}, the object holds {mismatch.actual} bytes"
            )
        summary = f"checked {result.checked} object(s) in {result.where}: "
        summary += f"{len(result.corrupt)} corrupt"
        summary += f", {len(result.missing)} missing" if remote is not None else ""
        summary += f", {len(result.damaged)} damaged" if result.damaged else ""
        print(summary + (f", {len(result.wrong_size)} wrong size" if result.wrong_size else ""))
        say_packs_check(result)
    if result.corrupt:
        hint = (
            "recover them with `git model fetch` (then `git model checkout`)"
            if remote is None
            else "delete them from the remote (push skips objects already there), then "
            "`git model push` from a clone that has good copies"
        )
        warn(hint)
    if result.missing:
        warn(
            "push the missing ones from a clone that has them (`git model push --all-versions`,"
            " or `--rev REV` for the commits that name them)"
        )
    if result.wrong_size:
        from gitmodel.sizecheck import HINT

        warn(HINT)
    if result.damaged_packs:
        warn("recover what they held with `git model fetch` (then `git model checkout`)")
    if result.damaged and not result.corrupt:
        warn(f"run `git model gc --remote {remote}` to drop what no file uses, then push again")
    if (
        result.corrupt
        or result.missing
        or result.wrong_size
        or result.damaged_packs
        or result.damaged
    ):
        raise SystemExit(1)


@app.command()
@handle_errors
def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Only show what would be deleted.")
    ] = False,
    remote: CheckedRemoteOption = None,
    keep_tags: Annotated[
        bool,
        typer.Option(
            "--keep-tags",
            help="Keep only tagged versions, HEADs, stashes, indexes, "
            "work trees and unpushed commits (not all branch history).",
        ),
    ] = False,
    all_refs: Annotated[
        bool, typer.Option("--all-refs", help="Keep everything any ref's history needs (default).")
    ] = False,
    grace: Annotated[
        float | None,
        typer.Option(
            "--grace",
            metavar="HOURS",
            help="With --remote: keep unneeded objects written, and incomplete uploads "
            "started, in the last HOURS (default 24; 0 deletes and aborts them too).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Delete objects nothing in Git needs any more (local cache, or a remote)."""
    from gitmodel.commands.gc import ALL_REFS, DEFAULT_GRACE_HOURS, KEEP_TAGS
    from gitmodel.commands.gc import gc as collect
    from gitmodel.errors import UsageError

    if keep_tags and all_refs:
        raise UsageError("--keep-tags and --all-refs exclude each other", "pass one of them")
    result = collect(
        dry_run=dry_run,
        remote=remote,
        scope=KEEP_TAGS if keep_tags else ALL_REFS,
        grace_hours=grace,
    )
    if as_json:
        print_json(
            {
                "where": result.where,
                "scope": result.scope,
                "dry_run": result.dry_run,
                "kept": result.kept,
                "kept_recent": result.recent,
                "freed": result.freed,
                "repos": result.repos,
                "deleted": [{"oid": o, "size": s} for o, s in result.deleted],
                "aborted_uploads": [
                    {"key": u.key, "started": _utc(u.started)} for u in result.aborted
                ],
                "kept_recent_uploads": result.recent_uploads,
                **packing_json(result.packing),
                **remote_packs_json(result.packs),
            }
        )
        return
    verb = "would delete" if dry_run else "deleted"
    for oid, size in result.deleted:
        say(f"{verb} {oid} ({human_size(size)})")
    say(
        f"{verb} {len(result.deleted)} object(s), {human_size(result.freed)}, from "
        f"{result.where}; kept {result.kept} needed by {result.scope} of "
        f"{len(result.repos)} repositor{'y' if len(result.repos) == 1 else 'ies'}"
    )
    if result.packing is not None:
        say_packing(result.packing, dry_run)
    hours = DEFAULT_GRACE_HOURS if grace is None else grace
    say_remote_packs(result.packs, dry_run)
    if result.recent:
        say(
            f"kept {result.recent} unneeded object(s) written in the last {hours:g} h (a push "
            "may still be on its way; --grace 0 deletes them)"
        )
    abort = "would abort" if dry_run else "aborted"
    for upload in result.aborted:
        started = f" (started {_utc(upload.started)})" if upload.started is not None else ""
        say(f"{abort} incomplete upload {upload.key}{started}")
    if result.aborted:
        say(f"{abort} {len(result.aborted)} incomplete upload(s) that pushes left behind")
    if result.recent_uploads:
        say(
            f"kept {result.recent_uploads} incomplete upload(s) started in the last {hours:g} h "
            "(a push may still be running; --grace 0 aborts them)"
        )


def _utc(seconds: float | None) -> str | None:
    """A time as ISO 8601 in UTC, to the second."""
    if seconds is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
