"""The packed layout of a remote (docs/pack-format.md, section 10): the format marker, packs and
their indexes, recipes, and the keep files of pushes in flight.

    gitmodel-format            "3\\n": the layout version (absent: loose objects only)
    objects/<2>/<30>           loose objects, as before packs
    packs/pack-<hex>.pack      packs, and beside each its index, pack-<hex>.idx
    recipes/<2>/<30>           the recipe of a file of several chunks (the commit point)
    keeps/<time>-<random>      packs a running push relies on (gc --remote leaves them alone)

A file that is one chunk has no recipe from version 3 on: its chunk id is its oid, so it is on
the remote once an index lists that chunk (the index upload is its commit point).

Indexes never change once written (their name is their pack's checksum), so each is
downloaded once into `<cache>/remote-indexes/<xxh3-64 of the URL>/`; a listing of `packs/`
per command says which of them are still there.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from weakref import WeakKeyDictionary

import xxhash

from gitmodel.errors import CorruptObjectError, GitModelError, UsageError
from gitmodel.fsutil import atomic_write_bytes
from gitmodel.hashing import OID_PREFIX, oid_hex
from gitmodel.packs.packfile import TRAILER, PackIndex, Record, decode_index
from gitmodel.packs.recipe import Recipe, chunk_of, decode_recipe, single_chunk_recipe
from gitmodel.remotes.base import KeyInfo, Remote

FORMAT_KEY = "gitmodel-format"
# 1: loose objects only, and no marker; 2: a recipe for every packed file; 3: a file of one
# chunk has none (its chunk id is its oid)
FORMAT_VERSION = 3
PACKS = "packs/"
RECIPES = "recipes/"
KEEPS = "keeps/"
INDEX_LIMIT = 256 * 1024 * 1024  # 4 million chunks: far more than a 64 MiB pack holds
RECIPE_LIMIT = 64 * 1024 * 1024
MARKER_LIMIT = 1024
LAYOUT_OPTION = "layout"  # git config model.remote.NAME.layout: packs (default) or loose


def recipe_key(oid: str) -> str:
    digits = oid_hex(oid)
    return f"{RECIPES}{digits[:2]}/{digits[2:]}"


def oid_of_recipe_key(key: str) -> str | None:
    parts = key.split("/")
    if len(parts) == 3 and len(parts[1]) == 2 and len(parts[2]) == 30:
        oid = OID_PREFIX + parts[1] + parts[2]
        if all(c in "0123456789abcdef" for c in oid[len(OID_PREFIX) :]):
            return oid
    return None


def damage_hint(remote: Remote) -> str:
    return (
        f"run `git model fsck --remote {remote.name}`; push the damaged objects again from a "
        "clone that has them"
    )


def read_format(remote: Remote) -> int | None:
    """The remote's layout version, None when it has no marker (loose objects only). A
    version this release does not know is refused: reading it as loose would report
    objects as missing that are there."""
    data = remote.call(partial(read_if_there, remote, FORMAT_KEY, MARKER_LIMIT))
    if data is None:
        return None
    text = data.decode("ascii", "replace").strip()
    if not text.isdigit():
        raise CorruptObjectError(
            f"remote {remote.label}: its format marker {FORMAT_KEY} holds {text[:40]!r}, "
            "not a version number",
            damage_hint(remote),
        )
    version = int(text)
    if version > FORMAT_VERSION:
        raise UsageError(
            f"remote {remote.label} is in layout version {version}; this git-model reads "
            f"versions up to {FORMAT_VERSION}",
            "upgrade git-model: pip install -U git-model",
        )
    return version


def read_if_there(remote: Remote, key: str, limit: int) -> bytes | None:
    try:
        return remote.read_key(key, limit)
    except FileNotFoundError as exc:
        # s3fs keeps the error it raised; with its traceback it would keep our callers'
        # frames alive, and what they hold (an object store's temp folder owner file)
        exc.__traceback__ = None
        return None


def write_format(remote: Remote, version: int = FORMAT_VERSION) -> None:
    remote.call(partial(remote.put_bytes, FORMAT_KEY, f"{version}\n".encode()))


def packs_wanted(remote: Remote, options: dict[str, str]) -> bool:
    """Whether a push writes packs: unless `layout = loose`, when the packs extra is there."""
    layout = options.get(LAYOUT_OPTION, "packs").lower()
    if layout not in ("packs", "loose"):
        raise UsageError(
            f"the layout of remote {remote.name} is {layout!r}, neither packs nor loose",
            f"set it: git config model.remote.{remote.name}.layout packs (or the default "
            "for every remote: git config model.remoteLayout packs)",
        )
    if layout == "loose":
        return False
    return _installed("numpy", "pyfastcdc", "zstandard")


def _installed(*modules: str) -> bool:
    """Whether every one of `modules` can be imported, without importing it (numpy alone
    takes 0.1 s to import; a push of small files never needs it)."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in modules)


def url_digest(url: str) -> str:
    return xxhash.xxh3_64_hexdigest(url.encode())


@dataclass
class RemotePacks:
    """What a remote holds in packs: its indexes (cached locally), the chunks they list,
    and the oids that have recipes."""

    remote: Remote
    cache_root: Path
    version: int | None = None
    packs: dict[str, KeyInfo] = field(default_factory=dict)  # pack name -> its .pack key
    indexes: dict[str, PackIndex] = field(default_factory=dict)
    chunks: dict[bytes, tuple[str, Record]] = field(default_factory=dict)
    recipes: dict[str, KeyInfo] = field(default_factory=dict)  # oid -> its recipe key
    index_keys: dict[str, KeyInfo] = field(default_factory=dict)  # pack name -> .idx key

    @property
    def index_dir(self) -> Path:
        return self.cache_root / "remote-indexes" / url_digest(self.remote.url)

    @classmethod
    def open(cls, remote: Remote, cache_root: Path, jobs: int = 8) -> RemotePacks:
        """Read the marker; when the remote has packs, list them and their recipes and load
        every index (from the local copy, else downloaded once and checked)."""
        view = cls(remote, cache_root, read_format(remote))
        if view.version is not None:
            view.refresh(jobs)
        return view

    @classmethod
    def shared(cls, remote: Remote, cache_root: Path, jobs: int = 8) -> RemotePacks:
        """`open`, once per remote object: a fetch downloads in rounds (folder manifests
        first, then the files they list), and the remote's listings and indexes are read
        once for all of them."""
        view = _SHARED.get(remote)
        if view is None or view.cache_root != cache_root:
            view = _SHARED[remote] = cls.open(remote, cache_root, jobs)
        return view

    def refresh(self, jobs: int = 8) -> None:
        keys = self.remote.call(partial(self.remote.list_keys, PACKS))
        packs = {k.key[len(PACKS) :].removesuffix(".pack"): k for k in keys if _is(k, ".pack")}
        index_keys = {k.key[len(PACKS) :].removesuffix(".idx"): k for k in keys if _is(k, ".idx")}
        # A pack without its index is what a killed push left (garbage for gc --remote); an
        # index without its pack is damage (or a gc deleting it right now): neither counts.
        self.packs = {n: k for n, k in packs.items() if n in index_keys}
        self.index_keys = index_keys
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            loaded = list(pool.map(self._load_index, sorted(self.packs)))
        self.indexes = dict(zip(sorted(self.packs), loaded, strict=True))
        self.chunks = {}
        for name, index in self.indexes.items():
            for record in index.records:
                self._offer(name, record)
        self._forget_gone_indexes()
        listed = self.remote.call(partial(self.remote.list_keys, RECIPES))
        self.recipes = {oid: k for k in listed if (oid := oid_of_recipe_key(k.key)) is not None}

    def _load_index(self, name: str) -> PackIndex:
        cached = self.index_dir / f"{name}.idx"
        what = f"index {name}.idx on remote {self.remote.label}"
        try:
            return decode_index(cached.read_bytes(), Path(f"{name}.pack"), what)
        except (FileNotFoundError, CorruptObjectError):
            pass  # a damaged local copy is fetched again
        key = f"{PACKS}{name}.idx"
        data = self.remote.call(partial(self.remote.read_key, key, INDEX_LIMIT))
        try:
            index = decode_index(data, Path(f"{name}.pack"), what)
            if index.checksum.hex() != name.removeprefix("pack-"):
                raise CorruptObjectError(f"{what} is corrupt: it names another pack", "")
            pack = self.packs[name]
            trailer = self.remote.call(
                partial(self.remote.read_range, pack.key, pack.size - TRAILER, TRAILER)
            )
            if pack.size < TRAILER or trailer != index.checksum:
                raise CorruptObjectError(
                    f"pack {name}.pack on remote {self.remote.label} is corrupt: its "
                    "checksum does not match its index",
                    "",
                )
        except CorruptObjectError as exc:
            raise CorruptObjectError(exc.message, damage_hint(self.remote)) from None
        self.index_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cached, data, 0o444)
        return index

    def _forget_gone_indexes(self) -> None:
        """Local copies of indexes whose pack left the remote (gc --remote) are deleted."""
        if self.index_dir.is_dir():
            for path in self.index_dir.glob("pack-*.idx"):
                if path.stem not in self.packs:
                    path.unlink(missing_ok=True)

    def add_index(self, name: str, index_file: Path, pack: KeyInfo, index_key: KeyInfo) -> None:
        """Record a pack this process just uploaded (its index is known good: we wrote it)."""
        data = index_file.read_bytes()
        index = decode_index(data, Path(f"{name}.pack"), f"index {name}.idx")
        self.index_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.index_dir / f"{name}.idx", data, 0o444)
        self.packs[name] = pack
        self.index_keys[name] = index_key
        self.indexes[name] = index
        for record in index.records:
            self._offer(name, record)

    def _offer(self, pack: str, record: Record) -> None:
        """A chunk in several packs (a repack killed before it deleted the old ones) is read
        from the copy of least depth: each base then has a lower depth than the chunk built
        on it, in whichever pack, so chains always end."""
        known = self.chunks.get(record.id)
        if known is None or record.depth < known[1].depth:
            self.chunks[record.id] = (pack, record)

    def has(self, oid: str) -> bool:
        """Whether the file `oid` is in the remote's packs: through its recipe, or as the one
        chunk of a file of one chunk (its id is the file's oid)."""
        return oid in self.recipes or self.single_chunk(oid) is not None

    def single_chunk(self, oid: str) -> Record | None:
        """The index record of the chunk whose id is `oid`: the whole file when it is one
        chunk (no recipe needed: its size is the record's)."""
        found = self.chunks.get(chunk_of(oid))
        return found[1] if found is not None else None

    def in_packs(self, oids: Iterable[str]) -> set[str]:
        """Which of `oids` are in the remote's packs (`has`)."""
        return {oid for oid in oids if self.has(oid)}

    def single_recipe(self, oid: str) -> Recipe | None:
        """The recipe a file of one chunk has without one stored: its chunk, of no tensor."""
        found = self.chunks.get(chunk_of(oid))
        return None if found is None else single_chunk_recipe(oid, found[1].size, found[1].id)

    def read_recipe(self, oid: str) -> Recipe:
        key = recipe_key(oid)
        data = self.remote.call(partial(self.remote.read_key, key, RECIPE_LIMIT))
        try:
            return decode_recipe(data, f"recipe {key} on remote {self.remote.label}", oid)
        except CorruptObjectError as exc:
            raise CorruptObjectError(exc.message, damage_hint(self.remote)) from None


_SHARED: WeakKeyDictionary[Remote, RemotePacks] = WeakKeyDictionary()


def _is(info: KeyInfo, suffix: str) -> bool:
    name = info.key[len(PACKS) :]
    return "/" not in name and name.startswith("pack-") and name.endswith(suffix)


def missing_on(remote: Remote, oids: Iterable[str], cache_root: Path, jobs: int = 8) -> set[str]:
    """Which of `oids` the remote has neither as a loose object nor in its packs (a recipe,
    or the one chunk of a file of one chunk)."""
    wanted = set(oids)
    view = RemotePacks.open(remote, cache_root, jobs)  # refuses a layout newer than ours
    wanted -= view.in_packs(wanted)
    return remote.missing(wanted, jobs) if wanted else set()


def require_packs_support() -> None:
    """Reading a remote's packs needs the packs extra."""
    if not _installed("numpy", "zstandard"):
        raise GitModelError(
            "this remote holds packs, which need the Python packages of the packs extra",
            "install them: pip install 'git-model[packs]'",
        )
