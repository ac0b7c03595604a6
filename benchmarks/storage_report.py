"""The tables of storage.py, with PASS/FAIL against the targets of issue 15."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness import NA, MiB, Tools
from storage_gm import GitModelFigures

MB = 1_000_000
# scenario -> most the remote may hold after `gc --remote`, in raw copies
REMOTE_TARGET = {"S1": 1.6, "S2": 7.5, "S2b": 4.0, "S3": 0.95, "S4": 1.40}


@dataclass
class OtherFigures:
    """DVC or Git LFS: add + commit of every version, one push, bytes stored."""

    add: float = 0.0
    push: float = 0.0
    cache: int = 0
    remote: int = 0
    note: str = ""


def verdict(ok: bool | None) -> str:
    return NA if ok is None else "PASS" if ok else "FAIL"


def x(value: int | None, unit: int, digits: int = 2) -> str:
    return NA if value is None or not unit else f"{value / unit:.{digits}f}x"


def s(value: float | None) -> str:
    return NA if value is None else f"{value:.1f}"


def rate(nbytes: int, seconds: float | None) -> str:
    return NA if not seconds else f"{nbytes / MB / seconds:.0f}"


def table(head: Sequence[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    print()


def print_report(
    tools: Tools,
    width: int,
    gm: dict[str, GitModelFigures],
    dvc: dict[str, OtherFigures],
    lfs: dict[str, OtherFigures],
) -> None:
    first = next(iter(gm.values()))
    print(f"one raw copy: {first.raw / MiB:.1f} MiB ({first.raw / MB:.0f} MB), width {width}")
    for tool, why in tools.missing.items():
        print(f"{tool}: n/a, {why}")
    print()
    print("Stored bytes as a ratio of one raw copy (git-model: remote after `gc --remote`, cache")
    print("after `gc`; in brackets before gc)")
    rows = []
    for name, f in gm.items():
        other = [dvc.get(name), lfs.get(name)]
        target = REMOTE_TARGET[name]
        rows.append(
            [
                name,
                f"{x(f.remote, f.raw)} ({x(f.remote_pushed, f.raw)})",
                f"{x(f.cache, f.raw)} ({x(f.cache_before_gc, f.raw)})",
                *[x(o.remote if o else None, f.raw) for o in other],
                *[x(o.cache if o else None, f.raw) for o in other],
                f"≤ {target:.2f}x",
                verdict(f.remote <= target * f.raw),
                verdict(f.cache <= f.remote + f.raw),
            ]
        )
    head = ["scenario", "git-model remote", "git-model cache", "DVC remote", "LFS remote"]
    head += ["DVC cache", "LFS cache", "target (remote)", "remote", "cache ≤ remote + 1x"]
    table(head, rows)

    print("git-model transfers: bytes read from / written to the folder remote (strace); pull of")
    print("the newest as a ratio of that version's raw bytes (every file of it); the rest before")
    print("gc, right after the push of the last version. The issue's order is push, then gc on")
    print("both sides: the pull target holds after gc --remote (before it, the newest is at the")
    print("end of the pushes' delta chain, shown for information)")
    rows = [transfer_row(name, f) for name, f in gm.items()]
    head = ["scenario", "pull newest, empty clone, before gc", "after gc --remote (≤ 1.0x)"]
    head += ["push of last: upload"]
    head += ["last adds to remote", "upload / adds (≤ 1.1x)"]
    head += ["pull last into clone with the one before", "pull / adds (≤ 1.1x)"]
    table(head, rows)

    print("git-model throughput, MB/s of raw model bytes (wall time; 'loose': gc left it unpacked)")
    rows = []
    for name, f in gm.items():
        cells = [name]
        for seconds, limit in ((f.speed_push, 200), (f.speed_pull, 200)):
            cells.append(speed(f.total_raw, seconds, limit))
        for result, limit in ((f.checkout_newest, 400), (f.checkout_oldest, 150)):
            cells.append(
                NA
                if result is None
                else speed(result[1], result[0], limit) + ("" if result[2] else " (loose)")
            )
        rows.append(cells)
    head = ["scenario", "push, all versions (≥ 200)", "fetch all + checkout (≥ 200)"]
    head += ["checkout newest after gc (≥ 400)", "checkout oldest after gc (≥ 150)"]
    table(head, rows)

    print("Wall times, seconds (add: add + commit of every version; push: every version, the")
    print("git-model push of the last one under strace)")
    rows = []
    for name, f in gm.items():
        d, lf = dvc.get(name), lfs.get(name)
        rows.append(
            [
                name,
                s(f.add),
                s(f.push),
                s(f.gc),
                s(f.gc_remote),
                s(d.add if d else None),
                s(d.push if d else None),
                s(lf.add if lf else None),
                s(lf.push if lf else None),
            ]
        )
    head = ["scenario", "git-model add", "push", "gc", "gc --remote", "DVC add", "DVC push"]
    head += ["LFS add", "LFS push"]
    table(head, rows)
    for name, f in gm.items():
        for note in f.notes:
            print(f"note, {name}: {note}")
    for tool, figures in (("DVC", dvc), ("Git LFS", lfs)):
        for note in sorted({o.note for o in figures.values() if o.note}):
            print(f"note, {tool}: {note}")


def transfer_row(name: str, f: GitModelFigures) -> list[str]:
    def at_most(value: int | None, limit: float) -> str:
        return verdict(None if value is None else value <= limit)

    return [
        name,
        x(f.pull_newest, f.version_bytes, 4),
        f"{x(f.pull_newest_gc, f.version_bytes, 4)} {at_most(f.pull_newest_gc, f.version_bytes)}",
        mib(f.last_upload),
        mib(f.last_adds),
        f"{x(f.last_upload, f.last_adds, 4)} {at_most(f.last_upload, 1.1 * f.last_adds)}",
        mib(f.pull_last),
        f"{x(f.pull_last, f.last_adds, 4)} {at_most(f.pull_last, 1.1 * f.last_adds)}",
    ]


def mib(value: int | None) -> str:
    return NA if value is None else f"{value / MiB:.1f} MiB"


def speed(nbytes: int, seconds: float | None, limit: float) -> str:
    if not seconds:
        return NA
    return f"{rate(nbytes, seconds)} {verdict(nbytes / MB / seconds >= limit)}"
