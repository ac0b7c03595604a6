"""Storage commands of the CLI: du.

Part of the CLI package, the only place that imports typer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gitmodel.cli.app import JsonOption, app
from gitmodel.cli.common import handle_errors, print_json, say
from gitmodel.table import human_size

if TYPE_CHECKING:
    from gitmodel.packs.usage import Usage


@app.command()
@handle_errors
def du(
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote", "-r", help="Measure this model remote instead of the local cache."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show how much the local cache (or a remote) stores: raw size, stored size, ratio."""
    from gitmodel.commands.du import du as usage_of

    usage = usage_of(remote=remote)
    if as_json:
        print_json(usage_json(usage))
        return
    say_usage(usage)


def usage_json(usage: Usage) -> dict[str, object]:
    return {
        "where": usage.where,
        "objects": usage.objects,
        "raw": usage.raw,
        "stored": usage.stored,
        "ratio": round(usage.ratio, 4),
        "loose": {"files": usage.loose, "bytes": usage.loose_bytes},
        "packs": {"packs": usage.packs, "bytes": usage.pack_bytes},
        "recipes": {"files": usage.recipes, "bytes": usage.recipe_bytes},
    }


def say_usage(usage: Usage) -> None:
    say(
        f"{usage.where}: {usage.objects} object(s), {human_size(usage.raw)} raw, "
        f"{human_size(usage.stored)} stored ({usage.ratio:.2f}x)"
    )
    say(f"  loose objects  {usage.loose} file(s), {human_size(usage.loose_bytes)}")
    say(f"  packs          {usage.packs} pack(s), {human_size(usage.pack_bytes)} with indexes")
    say(f"  recipes        {usage.recipes} file(s), {human_size(usage.recipe_bytes)}")
