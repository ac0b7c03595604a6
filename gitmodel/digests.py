"""Cryptographic digests beside xxh128 oids: which pointers must carry one, which to record,
and what each object's recorded digest is (docs/security.md, docs/pointer-format.md 3.7)."""

from __future__ import annotations

from collections.abc import Iterable

from gitmodel.cache.objects import digest_mismatch
from gitmodel.errors import PointerError, UsageError
from gitmodel.hashing import digest_of_data
from gitmodel.manifests import decode_dir_columns
from gitmodel.pointer import Pointer
from gitmodel.workspace import Workspace

ALGORITHMS = ("sha256", "none")


def requires_digest(ws: Workspace) -> bool:
    """`git config model.requireDigest`: refuse pointers without a digest."""
    return ws.bool_setting("model.requireDigest", False)


def records_digest(ws: Workspace, given: str | None, previous: Pointer | None) -> bool:
    """Whether `add` records a digest: `--digest`, else `git config model.digest`, else
    whether the previous pointer had one or the repository requires them."""
    required = requires_digest(ws)
    value = given if given is not None else ws.settings.get("model.digest")
    source = "--digest" if given is not None else "model.digest"
    if value is not None and value not in ALGORITHMS:
        raise UsageError(
            f"{source} {value!r} is not a digest git-model knows",
            "use sha256 (or none to record no digest)",
        )
    if value == "none":
        if required:
            raise UsageError(
                f"{source} is none, but model.requireDigest is set: a pointer without a "
                "digest would be refused",
                "use --digest sha256, or `git config model.requireDigest false`",
            )
        return False
    if value == "sha256":
        return True
    return (previous is not None and previous.digest is not None) or required


def refuse_without_digest(ws: Workspace, pointers: Iterable[tuple[str, Pointer]]) -> None:
    """With model.requireDigest, stop at the first pointer (shown name, pointer) that has no
    digest, before anything is fetched or placed."""
    if not requires_digest(ws):
        return
    for shown, pointer in pointers:
        if pointer.digest is None:
            raise PointerError(
                f"{shown}: pointer has no digest, and model.requireDigest is set",
                "if you trust its bytes, record one with `git model migrate` and commit; "
                "see docs/security.md",
            )


def expected_digests(
    ws: Workspace, pointers: Iterable[Pointer], *, strict: bool = True
) -> dict[str, str]:
    """Object id -> the SHA-256 its bytes must have, from every pointer that records one: a
    file's object, a folder's manifest, and (once the manifest is cached) the folder's files.

    Two pointers that record different digests for one oid cannot both be right: refused. A
    cached manifest that does not match its pointer's digest is refused, or with `strict`
    false (fsck, which reports that object itself) its files are left out.
    """
    wanted: dict[str, str] = {}

    def expect(oid: str, digest: str, where: str) -> None:
        if wanted.setdefault(oid, digest) != digest:
            raise PointerError(
                f"{where}: records digest {digest} for object {oid}, another pointer records "
                f"{wanted[oid]}",
                "one of them names bytes crafted to share an xxh128 oid; see docs/security.md",
            )

    for pointer in pointers:
        if pointer.digest is None:
            continue
        expect(pointer.oid, pointer.digest, pointer.path)
        if pointer.kind == "dir" and ws.store.has(pointer.oid):
            data = ws.store.read_bytes(pointer.oid)
            actual = digest_of_data(data)
            if actual != pointer.digest:  # small: checked each time its file digests are used
                if not strict:
                    continue
                where = str(ws.store.path(pointer.oid))
                raise digest_mismatch(pointer.oid, where, pointer.digest, actual)
            files = decode_dir_columns(data, pointer.oid)
            for path, oid, digest in zip(files.paths, files.oids, files.digests, strict=True):
                if digest is None:
                    if not strict:
                        break
                    raise PointerError(
                        f"{pointer.path}: its digest names a folder manifest without digests",
                        "re-add the folder with `git model add --digest sha256`",
                    )
                expect(oid, digest, f"{pointer.path}/{path}")
    return wanted


def work_tree_digests(ws: Workspace) -> dict[str, str]:
    """`expected_digests` of every readable pointer in the work tree (for fsck)."""
    from gitmodel.errors import GitModelError
    from gitmodel.pointer import read_pointer

    pointers = []
    for pointer_file in ws.pointer_files():
        try:
            pointers.append(read_pointer(pointer_file))
        except GitModelError:
            continue  # status reports it; fsck checks objects
    return expected_digests(ws, pointers, strict=False)
