"""Command journal: the venue's write-ahead log, and the record log it is built on.

The sequencer appends every command here and acknowledges it only after ``commit()``
returns, so after a ``kill -9`` (or power loss, with ``fsync="always"``) replaying the
journal rebuilds the same state. Payloads are opaque ``bytes`` (msgspec MessagePack made by
the caller); this module only frames, orders, checksums and fsyncs them.

Record framing (all integers little-endian, header 28 bytes)::

    offset size field
    0      2    magic         b"PB"
    2      1    version       1
    3      1    flags         0 (reserved; a valid record with other flags is refused)
    4      4    length        payload length in bytes (<= max_record_size)
    8      8    seq           record sequence number (journal seq, or block height)
    16     8    batch_first   seq of the first record of the same commit() batch
    24     4    crc32         zlib.crc32 over bytes 0..23 followed by the payload
    28     n    payload

Segments: a log is a directory of files ``<first_seq:020d><suffix>``, each holding records
``first_seq, first_seq+1, ...`` back to back with no file header. A commit batch never
spans two files: a new segment is started before a batch that would push the current one
past ``segment_size`` (so a segment exceeds the limit only when one batch alone does).
Whole old segments can then be deleted after a snapshot (``truncate_before``).

Recovery on open verifies every record of every segment:

* Damage in a non-last segment is always a ``CorruptRecordError``.
* In the last segment, the first bad record starts the *tail* when no intact record from a
  *later* commit batch follows it; the tail is then truncated (and fsynced) and described
  in ``recovery`` (bytes dropped, why, where). ``batch_first`` is what tells a later batch
  from the rest of the torn one: a crash can persist the pages of the in-flight batch in any
  order, so intact records of *that* batch after a hole are expected and unacknowledged,
  while an intact record of a later batch proves the bad one had been fsynced, i.e. the
  damage hit acknowledged data and must not be truncated away.
* A record whose checksum is right but whose seq, version or flags are wrong was not torn;
  it is a ``CorruptRecordError`` wherever it is.

The record log (``_RecordLog``) is shared with ``venue.blockstore``; ``Journal`` adds group
commit on top. One process at a time: the directory is locked with ``flock``.
"""

from __future__ import annotations

import bisect
import fcntl
import os
import struct
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Literal

from venue.storage_errors import (
    CorruptRecordError,
    RecordMissingError,
    RecordTooLargeError,
    SequenceError,
    StorageError,
)

__all__ = [
    "DEFAULT_MAX_RECORD_SIZE",
    "DEFAULT_SEGMENT_SIZE",
    "HEADER_SIZE",
    "FsyncPolicy",
    "Journal",
    "RecoveryReport",
]

FsyncPolicy = Literal["always", "none"]

MAGIC: Final = b"PB"
VERSION: Final = 1
_HEADER: Final = struct.Struct("<2sBBIQQI")
HEADER_SIZE: Final = _HEADER.size  # 28
_CRC_COVERED: Final = HEADER_SIZE - 4
_U64_MAX: Final = 2**64 - 1
DEFAULT_SEGMENT_SIZE: Final = 64 * 1024 * 1024
DEFAULT_MAX_RECORD_SIZE: Final = 16 * 1024 * 1024
_LOCK_NAME: Final = "LOCK"

_fdatasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync


def encode_record(seq: int, batch_first: int, payload: bytes) -> bytes:
    """Frame one record (layout in the module docstring)."""
    head = _HEADER.pack(MAGIC, VERSION, 0, len(payload), seq, batch_first, 0)[:_CRC_COVERED]
    crc = zlib.crc32(payload, zlib.crc32(head))
    return head + crc.to_bytes(4, "little") + payload


def fsync_dir(path: str) -> None:
    """fsync a directory so a created, renamed or deleted entry in it survives power loss."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked (signals, quotas); loop until all is out."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@dataclass(frozen=True, slots=True)
class _Frame:
    """A record that parsed and checksummed correctly (not yet checked for order)."""

    version: int
    flags: int
    seq: int
    batch_first: int
    payload_start: int
    end: int


def _parse(data: bytes | memoryview, pos: int, max_size: int) -> _Frame | str:
    """Parse the record at ``pos``: a ``_Frame`` if it is intact, else why it is not.

    Only damage a torn write can cause is reported as a string; semantic checks on an
    intact frame are the caller's (they are never truncated away).
    """
    avail = len(data) - pos
    if avail < HEADER_SIZE:
        return f"partial header ({avail} of {HEADER_SIZE} bytes)"
    magic, version, flags, length, seq, batch_first, crc = _HEADER.unpack_from(data, pos)
    if magic != MAGIC:
        return f"bad magic {bytes(magic)!r}"
    if length > max_size:
        return f"length {length} exceeds max_record_size {max_size}"
    end = pos + HEADER_SIZE + length
    if end > len(data):
        return f"partial record ({avail} of {HEADER_SIZE + length} bytes)"
    start = pos + HEADER_SIZE
    if zlib.crc32(data[start:end], zlib.crc32(data[pos : pos + _CRC_COVERED])) != crc:
        return "crc32 mismatch"
    return _Frame(version, flags, seq, batch_first, start, end)


def _semantic_error(frame: _Frame, expected_seq: int) -> str | None:
    """Why an intact frame cannot be the next record, or None if it can."""
    if frame.version != VERSION:
        return f"unsupported record version {frame.version}"
    if frame.flags != 0:
        return f"unknown flags {frame.flags:#x}"
    if frame.seq != expected_seq:
        return f"seq {frame.seq} where {expected_seq} was expected"
    if frame.batch_first > frame.seq:
        return f"batch_first {frame.batch_first} after seq {frame.seq}"
    return None


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What opening a log found; ``dropped_bytes > 0`` means a torn tail was truncated.

    ``reason``, ``path`` and ``offset`` say why and where the dropped tail began, so the
    operator log can show it (a torn tail after a crash is normal, a repeated one is not).
    """

    segments: int
    records: int
    bytes_scanned: int
    dropped_bytes: int = 0
    reason: str | None = None
    path: str | None = None
    offset: int | None = None

    @property
    def clean(self) -> bool:
        """True when nothing had to be truncated."""
        return self.dropped_bytes == 0


@dataclass(slots=True)
class _Segment:
    """One segment file; ``offsets[i]`` is where record ``first_seq + i`` starts."""

    first_seq: int
    path: str
    offsets: array[int] = field(default_factory=lambda: array("Q"))
    size: int = 0

    @property
    def end_seq(self) -> int:
        """One past the last seq stored in this segment."""
        return self.first_seq + len(self.offsets)


class _RecordLog:
    """Segmented, checksummed, seq-ordered record files with torn-tail recovery.

    The building block of ``Journal`` and ``venue.blockstore.BlockStore``. It writes whole
    batches of pre-framed records (``write_batch``) and keeps an in-memory offset index
    (8 bytes per record) so reads can seek straight to a seq.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        suffix: str,
        first_seq: int,
        segment_size: int,
        max_record_size: int,
        fsync: bool,
        read_only: bool = False,
    ) -> None:
        if first_seq < 0:
            raise ValueError(f"first_seq must be >= 0, got {first_seq}")
        if segment_size <= 0 or max_record_size <= 0:
            raise ValueError("segment_size and max_record_size must be positive")
        self.directory = os.path.abspath(os.fspath(directory))
        self.suffix = suffix
        self.segment_size = segment_size
        self.max_record_size = max_record_size
        self.fsync = fsync
        self.read_only = read_only
        self._segments: list[_Segment] = []
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._failed: str | None = None
        self._closed = False
        if read_only:
            # A reader takes no lock and changes nothing, so it can follow a live writer.
            if not os.path.isdir(self.directory):
                raise StorageError(f"{self.directory}: no such log")
        else:
            self._make_dir()
            self._lock()
        try:
            self.recovery = self._recover(first_seq)
            if not read_only:
                self._fd = os.open(self._segments[-1].path, os.O_WRONLY | os.O_APPEND)
        except BaseException:
            self.close()
            raise

    # -- open / recover ----------------------------------------------------------------

    def _make_dir(self) -> None:
        if os.path.isdir(self.directory):
            return
        os.makedirs(self.directory)
        if self.fsync:
            fsync_dir(os.path.dirname(self.directory))

    def _lock(self) -> None:
        """Refuse a second writer: two appenders would interleave and corrupt the log."""
        fd = os.open(os.path.join(self.directory, _LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StorageError(f"{self.directory} is already open by another writer") from None
        self._lock_fd = fd

    def _list_segments(self) -> list[_Segment]:
        found = []
        for name in os.listdir(self.directory):
            stem, suffix = name[: -len(self.suffix)], name[-len(self.suffix) :]
            if suffix == self.suffix and len(stem) == 20 and stem.isdigit():
                found.append(_Segment(int(stem), os.path.join(self.directory, name)))
        found.sort(key=lambda s: s.first_seq)
        return found

    def _recover(self, first_seq: int) -> RecoveryReport:
        segments = self._list_segments()
        if not segments:
            if self.read_only:  # a writer that has not made its first segment yet
                self._segments = [_Segment(first_seq, "")]
                return RecoveryReport(segments=0, records=0, bytes_scanned=0)
            self._segments = [self._create_segment(first_seq)]
            return RecoveryReport(segments=1, records=0, bytes_scanned=0)
        expected = segments[0].first_seq
        scanned = records = 0
        dropped = 0
        reason_at: tuple[str | None, str | None, int | None] = (None, None, None)
        for i, seg in enumerate(segments):
            if seg.first_seq != expected:
                raise CorruptRecordError(
                    seg.path, 0, f"segment starts at seq {seg.first_seq}, expected {expected}"
                )
            with open(seg.path, "rb") as f:
                data = f.read()
            scanned += len(data)
            bad_at, reason = self._scan(seg, data)
            if reason is not None:
                if i != len(segments) - 1:
                    raise CorruptRecordError(seg.path, bad_at, f"{reason} (not the last segment)")
                self._check_tail(seg, data, bad_at, reason)
                # A reader stops before the tail (a live writer's batch may be half on disk);
                # only the writer may cut it off.
                if not self.read_only:
                    self._truncate(seg.path, bad_at)
                dropped, reason_at = len(data) - bad_at, (reason, seg.path, bad_at)
            seg.size = bad_at
            records += len(seg.offsets)
            expected = seg.end_seq
        self._segments = segments
        return RecoveryReport(len(segments), records, scanned, dropped, *reason_at)

    def _scan(self, seg: _Segment, data: bytes) -> tuple[int, str | None]:
        """Index the valid prefix of one segment; return (end of it, why it ended or None)."""
        view = memoryview(data)
        pos, expected, offsets = 0, seg.first_seq, seg.offsets
        size, limit, unpack, crc32 = (
            len(data),
            self.max_record_size,
            _HEADER.unpack_from,
            zlib.crc32,
        )
        while pos < size:
            # Fast path for the common, intact record; anything else is diagnosed below.
            if size - pos >= HEADER_SIZE:
                magic, version, flags, length, seq, batch_first, crc = unpack(view, pos)
                end = pos + HEADER_SIZE + length
                if (
                    magic == MAGIC
                    and length <= limit
                    and end <= size
                    and (version, flags, seq) == (VERSION, 0, expected)
                    and batch_first <= seq
                    and crc32(view[pos + HEADER_SIZE : end], crc32(view[pos : pos + _CRC_COVERED]))
                    == crc
                ):
                    offsets.append(pos)
                    pos, expected = end, expected + 1
                    continue
            frame = _parse(view, pos, self.max_record_size)
            if isinstance(frame, str):
                return pos, frame
            problem = _semantic_error(frame, expected)
            if problem is not None:
                raise CorruptRecordError(seg.path, pos, problem)
            offsets.append(pos)
            pos, expected = frame.end, expected + 1
        return pos, None

    def _check_tail(self, seg: _Segment, data: bytes, bad_at: int, reason: str) -> None:
        """Raise unless everything from ``bad_at`` on belongs to the last, torn batch.

        The bad record would have seq ``seg.end_seq``; an intact frame further on whose
        ``batch_first`` is beyond that seq was committed by a later ``commit()``, so the
        bad record had been fsynced and acknowledged: that is mid-log damage.
        """
        bad_seq = seg.end_seq
        view = memoryview(data)
        pos = data.find(MAGIC, bad_at + 1)
        while pos != -1:
            frame = _parse(view, pos, self.max_record_size)
            if isinstance(frame, str):
                pos = data.find(MAGIC, pos + 1)
                continue
            if frame.batch_first > bad_seq:
                raise CorruptRecordError(
                    seg.path,
                    bad_at,
                    f"{reason}; an intact record (seq {frame.seq}) committed later follows "
                    f"at offset {pos}",
                )
            pos = data.find(MAGIC, frame.end)

    def _truncate(self, path: str, size: int) -> None:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)  # the truncation must be durable before new records go after it
        finally:
            os.close(fd)

    def _create_segment(self, first_seq: int) -> _Segment:
        path = os.path.join(self.directory, f"{first_seq:020d}{self.suffix}")
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        if self.fsync:
            fsync_dir(self.directory)
        return _Segment(first_seq, path)

    # -- state -------------------------------------------------------------------------

    @property
    def first_seq(self) -> int:
        """First seq still stored (the next seq to write, if the log is empty)."""
        return self._segments[0].first_seq

    @property
    def next_seq(self) -> int:
        """The seq the next written record must carry."""
        return self._segments[-1].end_seq

    @property
    def segment_paths(self) -> list[str]:
        """Segment files, oldest first."""
        return [s.path for s in self._segments if s.path]

    def _writable(self) -> int:
        if self.read_only:
            raise StorageError(f"{self.directory}: log is open read-only")
        if self._closed or self._fd is None:
            raise StorageError(f"{self.directory}: log is closed")
        if self._failed is not None:
            raise StorageError(
                f"{self.directory}: log unusable after an I/O error ({self._failed}); "
                "reopen it to recover"
            )
        return self._fd

    def _readable(self) -> None:
        if self._closed:
            raise StorageError(f"{self.directory}: log is closed")

    # -- write -------------------------------------------------------------------------

    def write_batch(self, frames: list[bytes]) -> None:
        """Write framed records ``next_seq, next_seq+1, ...`` in one write and one fsync.

        The caller framed them with consecutive seqs; after an ``OSError`` here the on-disk
        state is unknown (a failed fsync cannot be retried safely), so the log refuses
        further writes until reopened, which re-runs recovery.
        """
        fd = self._writable()
        if not frames:
            return
        data = b"".join(frames)
        try:
            seg = self._segments[-1]
            if seg.size > 0 and seg.size + len(data) > self.segment_size:
                seg = self._roll()
                fd = self._writable()
            _write_all(fd, data)
            if self.fsync:
                _fdatasync(fd)
        except OSError as exc:
            self._failed = f"{type(exc).__name__}: {exc}"
            raise
        pos = seg.size
        for frame in frames:
            seg.offsets.append(pos)
            pos += len(frame)
        seg.size = pos

    def _roll(self) -> _Segment:
        """Start a new segment at ``next_seq`` (the previous one was fsynced by its commits)."""
        seg = self._create_segment(self.next_seq)
        assert self._fd is not None
        os.close(self._fd)
        self._fd = None
        self._segments.append(seg)
        self._fd = os.open(seg.path, os.O_WRONLY | os.O_APPEND)
        return seg

    def truncate_before(self, seq: int) -> int:
        """Delete whole segments whose records are all below ``seq``; never the last one.

        Returns how many segment files were removed.
        """
        self._writable()
        removed = 0
        while len(self._segments) > 1 and self._segments[1].first_seq <= seq:
            os.unlink(self._segments.pop(0).path)
            removed += 1
        if removed and self.fsync:
            fsync_dir(self.directory)
        return removed

    # -- read --------------------------------------------------------------------------

    def _segment_for(self, seq: int) -> _Segment:
        i = bisect.bisect_right(self._segments, seq, key=lambda s: s.first_seq) - 1
        if i < 0:
            raise RecordMissingError(
                f"{self.directory}: seq {seq} is below the first stored seq {self.first_seq}"
            )
        return self._segments[i]

    def _read_frame(self, seg: _Segment, seq: int, raw: bytes) -> bytes:
        """Verify one record read back from disk (it may have rotted since recovery)."""
        pos = seg.offsets[seq - seg.first_seq]
        frame = _parse(raw, 0, self.max_record_size)
        if isinstance(frame, str):
            raise CorruptRecordError(seg.path, pos, f"on read: {frame}")
        problem = _semantic_error(frame, seq)
        if problem is not None:
            raise CorruptRecordError(seg.path, pos, f"on read: {problem}")
        return raw[HEADER_SIZE:]

    def get(self, seq: int) -> bytes | None:
        """Payload of record ``seq``, or None if it was never written."""
        self._readable()
        if seq >= self.next_seq:
            return None
        seg = self._segment_for(seq)
        i = seq - seg.first_seq
        end = seg.offsets[i + 1] if i + 1 < len(seg.offsets) else seg.size
        with open(seg.path, "rb") as f:
            f.seek(seg.offsets[i])
            raw = f.read(end - seg.offsets[i])
            return self._read_frame(seg, seq, raw)

    def iter_from(self, seq: int) -> Iterator[tuple[int, bytes]]:
        """Yield ``(seq, payload)`` for every written record from ``seq`` on.

        Raises ``RecordMissingError`` at once if ``seq`` is below the first stored seq
        (truncated away). Records written while iterating are yielded too.
        """
        self._readable()
        if seq < self.first_seq:
            raise RecordMissingError(
                f"{self.directory}: seq {seq} is below the first stored seq {self.first_seq}"
            )
        return self._iter(seq)

    def _iter(self, seq: int) -> Iterator[tuple[int, bytes]]:
        while seq < self.next_seq:
            seg = self._segment_for(seq)
            try:
                f = open(seg.path, "rb", buffering=1 << 20)
            except FileNotFoundError:
                raise RecordMissingError(f"{seg.path} was deleted while reading") from None
            with f:
                f.seek(seg.offsets[seq - seg.first_seq])
                while seq < seg.end_seq:
                    head = f.read(HEADER_SIZE)
                    length = int.from_bytes(head[4:8], "little") if len(head) >= 8 else 0
                    raw = head + f.read(min(length, self.max_record_size))
                    yield seq, self._read_frame(seg, seq, raw)
                    seq += 1

    def refresh(self) -> int:
        """Read-only logs: index what a live writer appended since the log was opened or last
        refreshed, and return how many records that is. Only the new bytes are read. A tail
        still being written is left for the next refresh; anything else wrong raises
        ``CorruptRecordError``, as at open."""
        if not self.read_only:
            raise StorageError(f"{self.directory}: only a read-only log is refreshed")
        self._readable()
        before = self.next_seq
        last = self._segments[-1]
        torn = False
        if last.path:  # the rest of the last segment
            with open(last.path, "rb") as f:
                f.seek(last.size)
                data = f.read()
            rest = _Segment(last.end_seq, last.path)
            end, reason = self._scan(rest, data)
            if reason is not None:
                self._check_tail(rest, data, end, reason)  # damage, or a write in progress
            last.offsets.extend(last.size + pos for pos in rest.offsets)
            last.size += end
            torn = reason is not None
        else:  # nothing was written when this log was opened
            self._segments = []
        for seg in self._list_segments():
            if self._segments and seg.first_seq <= self._segments[-1].first_seq:
                continue
            if torn:
                raise CorruptRecordError(
                    self._segments[-1].path, self._segments[-1].size,
                    "an unfinished record is followed by a newer segment",
                )  # fmt: skip
            expected = self._segments[-1].end_seq if self._segments else before
            if seg.first_seq != expected:
                raise CorruptRecordError(
                    seg.path, 0, f"segment starts at seq {seg.first_seq}, expected {expected}"
                )
            with open(seg.path, "rb") as f:
                data = f.read()
            seg.size, reason = self._scan(seg, data)
            if reason is not None:
                self._check_tail(seg, data, seg.size, reason)
            self._segments.append(seg)
            torn = reason is not None
        if not self._segments:
            self._segments = [_Segment(before, "")]
        return self.next_seq - before

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Release the file and the directory lock. Idempotent."""
        self._closed = True
        for attr in ("_fd", "_lock_fd"):
            fd = getattr(self, attr)
            if fd is not None:
                setattr(self, attr, None)
                os.close(fd)

    def _check(self) -> None:
        """Assert every in-memory invariant against the files (O(n); tests only)."""
        assert self._segments, "a log always has an active segment"
        for prev, seg in zip(self._segments, self._segments[1:], strict=False):
            assert prev.end_seq == seg.first_seq, (prev, seg)
        for seg in self._segments:
            assert os.path.getsize(seg.path) == seg.size, (seg, os.path.getsize(seg.path))
            assert list(seg.offsets) == sorted(set(seg.offsets)), seg
            assert not seg.offsets or seg.offsets[0] == 0, seg


class Journal:
    """The venue's command journal: append, ``commit()`` (one fsync), then acknowledge.

    ``append`` only buffers; nothing is durable or readable until ``commit()`` returns, and
    with ``fsync="always"`` (the default) that is the point where the sequencer may ack the
    batch. ``fsync="none"`` skips every fsync and is for benchmarks and tests only.

    Seqs start at ``first_seq`` (used only when the directory holds no journal yet) and go
    up by exactly one; anything else raises ``SequenceError`` and changes nothing.
    ``close()`` does not commit: pending, unacknowledged appends are dropped.

    Not thread-safe: like the book, the journal has one owner (the sequencer loop).
    """

    SUFFIX: Final = ".wal"

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy = "always",
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        max_record_size: int = DEFAULT_MAX_RECORD_SIZE,
        first_seq: int = 1,
    ) -> None:
        if fsync not in ("always", "none"):
            raise ValueError(f"fsync must be 'always' or 'none', got {fsync!r}")
        self._log = _RecordLog(
            directory,
            suffix=self.SUFFIX,
            first_seq=first_seq,
            segment_size=segment_size,
            max_record_size=max_record_size,
            fsync=fsync == "always",
        )
        self._pending: list[bytes] = []
        self._batch_first = self._log.next_seq

    @property
    def recovery(self) -> RecoveryReport:
        """What the open-time scan found and truncated."""
        return self._log.recovery

    @property
    def directory(self) -> str:
        """Absolute path of the journal directory."""
        return self._log.directory

    @property
    def last_seq(self) -> int:
        """Last committed seq (``first_seq - 1`` for an empty journal)."""
        return self._log.next_seq - 1

    @property
    def first_seq(self) -> int:
        """First seq still on disk (``last_seq + 1`` if none are)."""
        return self._log.first_seq

    @property
    def next_seq(self) -> int:
        """The seq ``append`` expects next (counts pending appends)."""
        return self._batch_first + len(self._pending)

    @property
    def pending(self) -> int:
        """Number of appended, not yet committed records."""
        return len(self._pending)

    @property
    def segment_paths(self) -> list[str]:
        """Segment files, oldest first."""
        return self._log.segment_paths

    def append(self, seq: int, payload: bytes) -> None:
        """Buffer record ``seq``; it must be ``next_seq``. Not durable until ``commit()``."""
        self._log._writable()
        expected = self.next_seq
        if seq != expected:
            raise SequenceError(expected, seq)
        if seq > _U64_MAX:
            raise ValueError("seq does not fit in 64 bits")
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TypeError(f"payload must be bytes, got {type(payload).__name__}")
        if len(payload) > self._log.max_record_size:
            raise RecordTooLargeError(
                f"payload of {len(payload)} bytes exceeds max_record_size "
                f"{self._log.max_record_size}"
            )
        self._pending.append(encode_record(seq, self._batch_first, bytes(payload)))

    def commit(self) -> int:
        """Write all pending records with one write and (policy permitting) one fsync.

        Returns the number of records committed. When this returns, they are durable and
        may be acknowledged. On ``OSError`` the pending batch is dropped and the journal
        must be reopened.
        """
        frames, self._pending = self._pending, []
        try:
            self._log.write_batch(frames)
        finally:
            self._batch_first = self._log.next_seq
        return len(frames)

    def iter_from(self, seq: int) -> Iterator[tuple[int, bytes]]:
        """Yield committed ``(seq, payload)`` from ``seq`` on, for replay and FIX resend."""
        return self._log.iter_from(seq)

    def get(self, seq: int) -> bytes | None:
        """Payload of committed record ``seq``, or None if not yet committed."""
        return self._log.get(seq)

    def truncate_before(self, seq: int) -> int:
        """Delete segments wholly below ``seq`` (after a snapshot covering them).

        Returns the number of segment files deleted; the active segment is always kept.
        """
        return self._log.truncate_before(seq)

    def close(self) -> None:
        """Close files and unlock; pending (uncommitted) appends are discarded."""
        self._pending.clear()
        self._log.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check(self) -> None:
        """Assert internal invariants (tests only)."""
        self._log._check()
        assert self._batch_first == self._log.next_seq
