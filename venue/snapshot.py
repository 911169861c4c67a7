"""Snapshots: the venue state at a block height, so restart need not replay from genesis.

A snapshot is one file, written atomically (temp file, fsync, rename, fsync directory), so
a crash leaves either the old set of snapshots or the old set plus a complete new one,
never a half-written file under a snapshot name. Each file carries its own checksum
because disks and operators can still damage it later; ``latest_snapshot`` then skips
it, says why, and falls back to the next older one instead of crashing the restart.

File ``snapshot-<height:020d>.pbsnap``, integers little-endian::

    offset size field
    0      6    magic     b"PBSNAP"
    6      2    version   1
    8      8    height    block height the state is taken at (must match the file name)
    16     8    length    payload length
    24     32   sha256    over bytes 0..23 followed by the payload
    56     n    payload   opaque bytes (msgspec MessagePack made by the caller)

Unfinished writes are ``.snapshot-<height:020d>.<pid>.tmp`` and are never read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import struct
from dataclasses import dataclass
from typing import Final, NamedTuple

from venue.journal import fsync_dir

__all__ = [
    "Snapshot",
    "SnapshotLookup",
    "SnapshotSkipped",
    "latest_snapshot",
    "prune",
    "write_snapshot",
]

logger = logging.getLogger(__name__)

_MAGIC: Final = b"PBSNAP"
_VERSION: Final = 1
_HEAD: Final = struct.Struct("<6sHQQ")
_DIGEST_SIZE: Final = 32
_PREFIX_SIZE: Final = _HEAD.size + _DIGEST_SIZE  # 56
_NAME: Final = re.compile(r"snapshot-(\d{20})\.pbsnap")
_TEMP: Final = re.compile(r"\.snapshot-(\d{20})\.\d+\.tmp")


class Snapshot(NamedTuple):
    """A verified snapshot: the height it was taken at and its payload."""

    height: int
    payload: bytes


class SnapshotSkipped(NamedTuple):
    """A snapshot file that was not used, and why (worth a warning in the operator log)."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class SnapshotLookup:
    """Result of ``latest_snapshot``: the newest valid snapshot, if any, and what was skipped.

    ``skipped`` lists newer files that failed verification (and unfinished temp files), so
    the caller can warn even when a usable snapshot was found, and knows why when none was.
    """

    snapshot: Snapshot | None
    skipped: tuple[SnapshotSkipped, ...] = ()

    def __bool__(self) -> bool:
        return self.snapshot is not None


def _file_name(height: int) -> str:
    return f"snapshot-{height:020d}.pbsnap"


def write_snapshot(directory: str | os.PathLike[str], height: int, payload: bytes) -> str:
    """Write the snapshot of ``height`` atomically and durably; return its path.

    When this returns the snapshot survives power loss, so journal segments below it may
    be deleted. Writing the same height again replaces the file atomically.
    """
    if not 0 <= height < 2**64:
        raise ValueError(f"height out of range: {height}")
    root = os.path.abspath(os.fspath(directory))
    if not os.path.isdir(root):
        os.makedirs(root)
        fsync_dir(os.path.dirname(root))
    head = _HEAD.pack(_MAGIC, _VERSION, height, len(payload))
    digest = hashlib.sha256(head)
    digest.update(payload)
    final = os.path.join(root, _file_name(height))
    temp = os.path.join(root, f".snapshot-{height:020d}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            for part in (head, digest.digest(), payload):
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, final)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(root)
    return final


def _verify(path: str, height: int) -> Snapshot | str:
    """Read and check one snapshot file: the snapshot, or why it is unusable."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return f"unreadable: {exc}"
    if len(data) < _PREFIX_SIZE:
        return f"truncated: {len(data)} bytes, header needs {_PREFIX_SIZE}"
    magic, version, stored_height, length = _HEAD.unpack_from(data)
    if magic != _MAGIC:
        return f"bad magic {magic!r}"
    if version != _VERSION:
        return f"unsupported version {version}"
    if stored_height != height:
        return f"header height {stored_height} does not match file name height {height}"
    if len(data) != _PREFIX_SIZE + length:
        return f"length mismatch: header says {length}, file has {len(data) - _PREFIX_SIZE}"
    digest = hashlib.sha256(data[: _HEAD.size])
    digest.update(memoryview(data)[_PREFIX_SIZE:])
    if digest.digest() != data[_HEAD.size : _PREFIX_SIZE]:
        return "sha256 mismatch"
    return Snapshot(height, data[_PREFIX_SIZE:])


def _listing(root: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(snapshots, temp files) in ``root`` as (height, path), newest first."""
    snaps, temps = [], []
    for name in os.listdir(root):
        if m := _NAME.fullmatch(name):
            snaps.append((int(m.group(1)), os.path.join(root, name)))
        elif m := _TEMP.fullmatch(name):
            temps.append((int(m.group(1)), os.path.join(root, name)))
    snaps.sort(reverse=True)
    temps.sort(reverse=True)
    return snaps, temps


def latest_snapshot(
    directory: str | os.PathLike[str], at_most: int | None = None
) -> SnapshotLookup:
    """The newest snapshot that verifies, skipping (and reporting) damaged newer ones;
    with ``at_most``, the newest at or below that height (newer ones are simply not read).

    Never raises for a bad snapshot file: each one skipped is logged at WARNING and listed
    in ``SnapshotLookup.skipped``. A missing directory means no snapshot.
    """
    root = os.fspath(directory)
    if not os.path.isdir(root):
        return SnapshotLookup(None)
    snaps, temps = _listing(root)
    if at_most is not None:
        snaps = [(h, p) for h, p in snaps if h <= at_most]
        temps = [(h, p) for h, p in temps if h <= at_most]
    skipped = [SnapshotSkipped(path, "unfinished write (temp file)") for _, path in temps]
    found = None
    for height, path in snaps:
        result = _verify(path, height)
        if isinstance(result, Snapshot):
            found = result
            break
        skipped.append(SnapshotSkipped(path, result))
    for item in skipped:
        logger.warning("skipping snapshot %s: %s", item.path, item.reason)
    return SnapshotLookup(found, tuple(skipped))


def prune(directory: str | os.PathLike[str], keep: int = 2) -> list[str]:
    """Delete snapshots older than the ``keep`` newest *valid* ones; return deleted paths.

    Only valid snapshots count towards ``keep``, so a damaged newest file can never cause
    the last good one to be deleted. Damaged or unfinished files newer than the kept ones
    are left for inspection; ``latest_snapshot`` keeps reporting them.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1: pruning every snapshot loses the state")
    root = os.path.abspath(os.fspath(directory))
    if not os.path.isdir(root):
        return []
    snaps, temps = _listing(root)
    valid = 0
    cutoff = None
    for height, path in snaps:
        if isinstance(_verify(path, height), Snapshot):
            valid += 1
            if valid == keep:
                cutoff = height
                break
    if cutoff is None:
        return []
    doomed = [path for height, path in snaps + temps if height < cutoff]
    for path in doomed:
        os.unlink(path)
    if doomed:
        fsync_dir(root)
    return doomed
