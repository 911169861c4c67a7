"""Block store: blocks by height, plus the proofs that arrive for them later.

Blocks are written in height order by the block builder, each durable before ``put``
returns; proofs come back from the prover pool later and in any order. Both live on the
journal's record log (``venue.journal._RecordLog``), so they share its framing, checksums,
segmenting and torn-tail recovery::

    <directory>/blocks/<first_height:020d>.blk   record seq = block height
    <directory>/proofs/<first_seq:020d>.prf      record seq = arrival number (1, 2, ...)

A proof record's payload is ``height: u64 LE | kind_len: u16 LE | kind (UTF-8) | proof``.
Proofs are indexed in memory by height when the store opens; a later proof for the same
height replaces the earlier one for ``get_proof`` (both stay on disk, for audit).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from types import TracebackType
from typing import Final, NamedTuple

from venue.journal import (
    DEFAULT_MAX_RECORD_SIZE,
    DEFAULT_SEGMENT_SIZE,
    RecoveryReport,
    _RecordLog,
    encode_record,
)
from venue.storage_errors import (
    CorruptRecordError,
    RecordMissingError,
    RecordTooLargeError,
    SequenceError,
    StorageError,
)

__all__ = ["BlockStore", "Proof"]

_PROOF_HEAD: Final = struct.Struct("<QH")


class Proof(NamedTuple):
    """A stored proof: which system produced it (e.g. ``"groth16"``) and its bytes."""

    kind: str
    payload: bytes


class BlockStore:
    """Durable, append-only blocks by height, with a side store for their proofs.

    ``first_height`` (0 or 1 by convention, the genesis block) is used only when the
    directory is new; afterwards the store continues from what is on disk. Every ``put``
    and ``put_proof`` is fsynced before it returns (``fsync=False`` is for tests).

    ``read_only=True`` opens an existing store without its writer lock, so replay, keepers
    and publishers can read a venue that is running: they see the blocks and proofs durable
    when they opened it, never cut a torn tail, and ``put``/``put_proof`` raise
    ``StorageError``. A directory that is not a block store raises ``StorageError``.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        first_height: int = 0,
        fsync: bool = True,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        max_record_size: int = DEFAULT_MAX_RECORD_SIZE,
        read_only: bool = False,
    ) -> None:
        root = os.fspath(directory)
        self.read_only = read_only
        self._blocks = _RecordLog(
            os.path.join(root, "blocks"),
            suffix=".blk",
            first_seq=first_height,
            segment_size=segment_size,
            max_record_size=max_record_size,
            fsync=fsync,
            read_only=read_only,
        )
        try:
            self._proofs = _RecordLog(
                os.path.join(root, "proofs"),
                suffix=".prf",
                first_seq=1,
                segment_size=segment_size,
                max_record_size=max_record_size + _PROOF_HEAD.size + 2**16,
                fsync=fsync,
                read_only=read_only,
            )
        except BaseException:
            self._blocks.close()
            raise
        self._max_record_size = max_record_size
        self._proof_index: dict[int, int] = {}
        try:
            for seq, raw in self._proofs.iter_from(self._proofs.first_seq):
                height, _, _ = self._decode_proof(seq, raw)
                self._proof_index[height] = seq
        except BaseException:
            self.close()
            raise

    # -- blocks ------------------------------------------------------------------------

    @property
    def first_height(self) -> int:
        """Height of the first stored block (or of the next one, if none is stored)."""
        return self._blocks.first_seq

    @property
    def last_height(self) -> int:
        """Height of the last stored block; ``first_height - 1`` when empty."""
        return self._blocks.next_seq - 1

    @property
    def recovery(self) -> tuple[RecoveryReport, RecoveryReport]:
        """Open-time recovery reports of the block log and of the proof log."""
        return self._blocks.recovery, self._proofs.recovery

    def _check_writable(self) -> None:
        if self.read_only:
            raise StorageError(f"{self._blocks.directory}: block store is open read-only")

    def _check_size(self, payload: bytes) -> None:
        if len(payload) > self._max_record_size:
            raise RecordTooLargeError(
                f"payload of {len(payload)} bytes exceeds max_record_size {self._max_record_size}"
            )

    def put(self, height: int, payload: bytes) -> None:
        """Store block ``height`` (must be ``last_height + 1``) durably."""
        self._check_writable()
        expected = self.last_height + 1
        if height != expected:
            raise SequenceError(expected, height)
        self._check_size(payload)
        self._blocks.write_batch([encode_record(height, height, bytes(payload))])

    def get(self, height: int) -> bytes | None:
        """Block ``height``, or None if it is not stored yet."""
        if height < self.first_height:
            return None
        return self._blocks.get(height)

    def iter_from(self, height: int) -> Iterator[tuple[int, bytes]]:
        """Yield ``(height, block)`` from ``height`` on, in order (for replay and sync)."""
        return self._blocks.iter_from(max(height, self.first_height))

    # -- proofs ------------------------------------------------------------------------

    def put_proof(self, height: int, kind: str, payload: bytes) -> None:
        """Store the proof of block ``height`` durably; any arrival order is fine.

        The block must already be stored: a proof of an unknown block is a caller bug.
        """
        self._check_writable()
        if not self.first_height <= height <= self.last_height:
            raise RecordMissingError(
                f"no block at height {height} (stored: {self.first_height}..{self.last_height})"
            )
        kind_bytes = kind.encode()
        if len(kind_bytes) >= 2**16:
            raise ValueError("proof kind is too long")
        self._check_size(payload)
        body = _PROOF_HEAD.pack(height, len(kind_bytes)) + kind_bytes + bytes(payload)
        seq = self._proofs.next_seq
        self._proofs.write_batch([encode_record(seq, seq, body)])
        self._proof_index[height] = seq

    def get_proof(self, height: int) -> Proof | None:
        """The latest proof stored for block ``height``, or None if none arrived yet."""
        seq = self._proof_index.get(height)
        if seq is None:
            return None
        raw = self._proofs.get(seq)
        assert raw is not None
        stored_height, kind, payload = self._decode_proof(seq, raw)
        if stored_height != height:
            raise CorruptRecordError(self._proofs.directory, 0, f"proof {seq} moved height")
        return Proof(kind, payload)

    def proven_heights(self) -> list[int]:
        """Heights that have a proof, ascending (e.g. to find what still needs proving)."""
        return sorted(self._proof_index)

    def _decode_proof(self, seq: int, raw: bytes) -> tuple[int, str, bytes]:
        if len(raw) < _PROOF_HEAD.size:
            raise CorruptRecordError(self._proofs.directory, 0, f"proof record {seq} too short")
        height, kind_len = _PROOF_HEAD.unpack_from(raw)
        start = _PROOF_HEAD.size
        try:
            kind = raw[start : start + kind_len].decode()
        except UnicodeDecodeError:
            raise CorruptRecordError(
                self._proofs.directory, 0, f"proof record {seq}: kind is not UTF-8"
            ) from None
        return height, kind, raw[start + kind_len :]

    def refresh(self) -> int:
        """Read-only stores: take in the blocks and proofs a running venue stored since this
        store was opened or last refreshed; returns how many new blocks. See
        ``venue.journal._RecordLog.refresh``."""
        if not self.read_only:
            raise StorageError(f"{self._blocks.directory}: only a read-only store is refreshed")
        first_new_proof = self._proofs.next_seq
        added = self._blocks.refresh()
        if self._proofs.refresh():
            for seq, raw in self._proofs.iter_from(first_new_proof):
                height, _, _ = self._decode_proof(seq, raw)
                self._proof_index[height] = seq
        return added

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Close both logs and release their locks. Idempotent."""
        self._blocks.close()
        self._proofs.close()

    def __enter__(self) -> BlockStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check(self) -> None:
        """Assert internal invariants against the files (tests only)."""
        self._blocks._check()
        self._proofs._check()
        for height, seq in self._proof_index.items():
            assert self.first_height <= height <= self.last_height, (height, seq)
            assert self._proofs.first_seq <= seq < self._proofs.next_seq, (height, seq)
