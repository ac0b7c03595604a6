"""How a remote is talked to: how many requests at once and how large each is
(`model.remote.NAME.jobs`, `.readSize`, `.multipartThreshold`, `.partSize`).

The defaults make few, large requests: a pack (~64 MiB) goes up in one PUT and comes down in
one ranged GET, packs in parallel. That is what a single-process test server serves fastest
and what keeps request counts low; real S3 serves many parallel ranged reads of one object
faster still, so a remote there may set a smaller `readSize` with more `jobs`
(docs/remotes.md, "Packs on object storage").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitmodel.errors import UsageError

KiB, MiB, GiB = 1024, 1024 * 1024, 1024 * 1024 * 1024
JOBS_OPTION = "jobs"
READ_SIZE_OPTION = "readsize"
MULTIPART_THRESHOLD_OPTION = "multipartthreshold"
PART_SIZE_OPTION = "partsize"
TUNING_KEYS = (JOBS_OPTION, READ_SIZE_OPTION, MULTIPART_THRESHOLD_OPTION, PART_SIZE_OPTION)
# The spelling `git config` shows in hints (keys are case-insensitive).
SPELLING = {
    JOBS_OPTION: "jobs",
    READ_SIZE_OPTION: "readSize",
    MULTIPART_THRESHOLD_OPTION: "multipartThreshold",
    PART_SIZE_OPTION: "partSize",
}
DEFAULT_READ_SIZE = 128 * MiB  # a whole pack: packs close at 64 MiB, plus one chunk
DEFAULT_MULTIPART_THRESHOLD = 128 * MiB  # every pack in one PUT
DEFAULT_PART_SIZE = 8 * MiB  # the AWS CLI's part size
MIN_PART_SIZE = 5 * MiB  # S3 refuses smaller parts (but the last)
MAX_PART_SIZE = 5 * GiB  # and larger ones
MAX_JOBS = 256
_SIZE = re.compile(r"(\d+)([kmg]?)", re.IGNORECASE)
_UNITS = {"": 1, "k": KiB, "m": MiB, "g": GiB}


@dataclass(frozen=True)
class Tuning:
    jobs: int | None = None  # None: the command's default (4 per core, at most 32)
    read_size: int = DEFAULT_READ_SIZE  # the most bytes one ranged read of a pack asks for
    multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD  # larger uploads go up in parts
    part_size: int = DEFAULT_PART_SIZE


def parse_size(text: str) -> int | None:
    """Bytes from `123`, `64k`, `16m`, `1g` (powers of 1024, as `git config --type=int`)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def tuning_of(name: str, options: dict[str, str]) -> Tuning:
    """The settings of remote `name` from its options (lowercased keys); UsageError for a
    value that is not a number or out of range."""
    jobs = None
    if JOBS_OPTION in options:
        value = options[JOBS_OPTION].strip()
        if not value.isdigit() or not 1 <= int(value) <= MAX_JOBS:
            raise _bad(name, JOBS_OPTION, options[JOBS_OPTION], f"a number from 1 to {MAX_JOBS}")
        jobs = int(value)
    read_size = _size(name, options, READ_SIZE_OPTION, DEFAULT_READ_SIZE, 64 * KiB, None)
    threshold = _size(
        name, options, MULTIPART_THRESHOLD_OPTION, DEFAULT_MULTIPART_THRESHOLD, MIN_PART_SIZE, None
    )
    part = _size(name, options, PART_SIZE_OPTION, DEFAULT_PART_SIZE, MIN_PART_SIZE, MAX_PART_SIZE)
    return Tuning(jobs, read_size, threshold, part)


def _size(
    name: str, options: dict[str, str], key: str, default: int, least: int, most: int | None
) -> int:
    if key not in options:
        return default
    value = parse_size(options[key])
    if value is None or value < least or (most is not None and value > most):
        span = f"at least {_human(least)}" + (f" and at most {_human(most)}" if most else "")
        raise _bad(name, key, options[key], f"a size {span}")
    return value


def _human(size: int) -> str:
    for unit, factor in (("g", GiB), ("m", MiB), ("k", KiB)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def _bad(name: str, key: str, value: str, wanted: str) -> UsageError:
    spelled = SPELLING[key]
    return UsageError(
        f"model.remote.{name}.{spelled} is {value!r}, not {wanted}",
        f"fix it: git config model.remote.{name}.{spelled} VALUE (sizes take k, m or g, "
        f"e.g. 16m), or remove it: git config --unset model.remote.{name}.{spelled}",
    )
