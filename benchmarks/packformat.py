#!/usr/bin/env python3
"""Storage benchmark of the pack format layer (gitmodel/packs, docs/pack-format.md).

Not part of the test suite. Writes a ~256 MiB F16 safetensors checkpoint (24 layers plus
embeddings and head, 195 tensors, Gaussian weights with sigma 0.02, fixed seeds) with the real
`safetensors` library, then 9 successive versions per scenario:

- S1 partial fine-tune: the last 2 layers, the head and the final norm get N(0, 1e-3);
- S2 full fine-tune: every tensor gets N(0, 1e-3).

Each version is chunked, encoded and packed with gitmodel.packs directly (no CLI yet): a chunk
already stored is not stored again, a new tensor chunk is stored as the difference from the same
chunk of the version before when that is smaller (as a push would send it). The script prints
the bytes stored as a ratio of one raw copy, the pack throughput, and the reassembly
throughput of the newest and the oldest version (each checked against its oid).

    python benchmarks/packformat.py               # both scenarios, 10 versions each
    python benchmarks/packformat.py --versions 3 --layers 4   # quick look

Everything goes under benchmarks/.work/packformat/ (git-ignored) and is deleted at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import checkpoints
from checkpoints import DEFAULT_WIDTH

from gitmodel.packs.chunking import Chunk, TensorSlot, chunk_file
from gitmodel.packs.encoding import plane_width
from gitmodel.packs.packfile import PackStore, PackWriter
from gitmodel.packs.recipe import Recipe, encode_recipe, reassemble, recipe_of

HERE = Path(__file__).resolve().parent
MiB = 1024 * 1024


@dataclass
class Result:
    label: str
    raw: int  # bytes of one version
    total_raw: int  # bytes of all versions
    stored: int = 0  # bytes of all packs and recipes
    pack: tuple[float, float] = (0.0, 0.0)  # wall and CPU seconds
    newest: tuple[float, float] = (0.0, 0.0)
    oldest: tuple[float, float] = (0.0, 0.0)
    max_depth: int = 0


Previous = dict[tuple[TensorSlot, int], tuple[bytes, bytes, int]]  # slot, part -> id, data, depth


def pack_version(path: Path, writer: PackWriter, previous: Previous) -> tuple[Recipe, Previous]:
    """Chunk one version into `writer`; new tensor chunks may delta against `previous`."""
    current: Previous = {}

    def sink(chunk: Chunk) -> None:
        width = plane_width(chunk.tensor.dtype if chunk.tensor else None, len(chunk.data))
        key = (chunk.tensor, chunk.part) if chunk.tensor else None
        if chunk.id not in writer.depths:
            base = previous.get(key) if key else None
            writer.add(chunk.id, chunk.data, width, base if base and base[0] != chunk.id else None)
        if key:
            current[key] = (chunk.id, chunk.data, writer.depths[chunk.id])

    return recipe_of(chunk_file(path, sink)), current


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of `action` (the CPU time counts when other jobs share the box)."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def write_versions(scenario: str, versions: int, layers: int, work: Path) -> list[Path]:
    """The versions of storage.py's scenario (checkpoints.py), one file each, oldest first."""
    written = checkpoints.write_versions(scenario, versions, DEFAULT_WIDTH, work, layers)
    return [files[0] for files in written]


def pack_all(label: str, paths: list[Path], work: Path) -> Result:
    """Pack the versions in the order given (each new chunk a delta against the one before
    when smaller), then reassemble the newest and the oldest version."""
    packs, recipes_dir = work / "packs", work / "recipes"
    shutil.rmtree(packs, ignore_errors=True)
    shutil.rmtree(recipes_dir, ignore_errors=True)
    recipes_dir.mkdir(parents=True)
    sizes = [p.stat().st_size for p in paths]
    result = Result(label, max(sizes), sum(sizes))
    writer = PackWriter(packs)
    recipes: dict[Path, Recipe] = {}

    def pack() -> None:
        previous: Previous = {}
        for path in paths:
            recipes[path], previous = pack_version(path, writer, previous)
            (recipes_dir / recipes[path].oid[7:]).write_bytes(encode_recipe(recipes[path]))
        writer.close()

    result.pack = timed(pack)
    result.stored = sum(p.stat().st_size for p in [*packs.iterdir(), *recipes_dir.iterdir()])
    store = PackStore(packs)
    result.max_depth = max(r.depth for index in store.indexes for r in index.records)
    out = work / "out.safetensors"
    for path in (max(paths), min(paths)):  # newest, oldest: the names sort by version
        seconds = timed(lambda path=path: reassemble(recipes[path], store.read_chunk, out))
        if path == max(paths):
            result.newest = seconds
        else:
            result.oldest = seconds
        out.unlink()
    print(f"  {label}: done", file=sys.stderr)
    return result


def rate(size: int, seconds: tuple[float, float]) -> str:
    return f"{size / MiB / seconds[0]:.0f} ({size / MiB / seconds[1]:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--scenario", choices=["S1", "S2"], action="append")
    args = parser.parse_args()
    work = HERE / ".work" / "packformat"
    results = []
    for scenario in args.scenario or ["S1", "S2"]:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        paths = write_versions(scenario, args.versions, args.layers, work)
        results.append(pack_all(f"{scenario}, oldest whole (push order)", paths, work))
        results.append(pack_all(f"{scenario}, newest whole (gc order)", paths[::-1], work))
        shutil.rmtree(work)
    print(f"one version: {results[0].raw / MiB:.1f} MiB, {args.versions} versions per scenario")
    print("MiB/s of raw model bytes, wall (CPU) time")
    print("| scenario | stored / one raw copy | pack | reassemble newest | oldest | chain depth |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.label} | {r.stored / r.raw:.2f}x | {rate(r.total_raw, r.pack)} "
            f"| {rate(r.raw, r.newest)} | {rate(r.raw, r.oldest)} | {r.max_depth} |"
        )


if __name__ == "__main__":
    main()
