"""Plain-text tables for listing commands: left-aligned columns, two spaces apart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from gitmodel.printable import printable
from gitmodel.tomlfmt import Scalar


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns of cells, each cell escaped (`printable`): pointer text may hold anything."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = []
    for row in [list(headers), *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_metrics(metrics: Mapping[str, Scalar], limit: int = 4) -> str:
    items = [f"{k}={format_value(v)}" for k, v in sorted(metrics.items())]
    if len(items) > limit:
        items = [*items[:limit], f"(+{len(items) - limit})"]
    return " ".join(items) or "-"


def format_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_time(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m-%d %H:%M")


def iso_time(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).isoformat()


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
