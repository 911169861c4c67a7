"""Deterministic tests of venue.blockstore: blocks by height, proofs out of order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import venue.blockstore as blockstore_mod
from venue.blockstore import BlockStore, Proof
from venue.storage_errors import (
    CorruptRecordError,
    RecordMissingError,
    RecordTooLargeError,
    SequenceError,
    StorageError,
)


def block(height: int) -> bytes:
    return f"block-{height}".encode() * (1 + height % 3)


def test_exports_exist() -> None:
    for name in blockstore_mod.__all__:
        assert hasattr(blockstore_mod, name)


@pytest.mark.parametrize("genesis", [0, 1])
def test_put_get_iter_and_reopen(tmp_path: Path, genesis: int) -> None:
    with BlockStore(tmp_path, first_height=genesis, fsync=False) as bs:
        assert (bs.first_height, bs.last_height) == (genesis, genesis - 1)
        assert bs.get(genesis) is None
        for h in range(genesis, genesis + 5):
            bs.put(h, block(h))
            bs._check()
        assert bs.last_height == genesis + 4
        assert bs.get(genesis + 2) == block(genesis + 2)
        assert bs.get(genesis + 5) is None and bs.get(genesis - 1) is None
        assert list(bs.iter_from(genesis + 3)) == [
            (h, block(h)) for h in (genesis + 3, genesis + 4)
        ]
        assert [h for h, _ in bs.iter_from(-10)] == list(range(genesis, genesis + 5))
    with BlockStore(tmp_path, first_height=7, fsync=False) as bs:  # first_height: new dirs only
        assert (bs.first_height, bs.last_height) == (genesis, genesis + 4)
        assert all(r.clean for r in bs.recovery)
        bs._check()


def test_put_requires_next_height(tmp_path: Path) -> None:
    with BlockStore(tmp_path, first_height=1, fsync=False) as bs:
        with pytest.raises(SequenceError):
            bs.put(0, b"x")
        bs.put(1, b"a")
        for bad in (1, 3):
            with pytest.raises(SequenceError) as info:
                bs.put(bad, b"x")
            assert info.value.expected == 2
        assert bs.last_height == 1
        bs._check()


def test_size_limit(tmp_path: Path) -> None:
    with BlockStore(tmp_path, fsync=False, max_record_size=8) as bs:
        with pytest.raises(RecordTooLargeError):
            bs.put(0, b"x" * 9)
        bs.put(0, b"x" * 8)
        with pytest.raises(RecordTooLargeError):
            bs.put_proof(0, "groth16", b"p" * 9)


def test_proofs_out_of_order_replace_and_reopen(tmp_path: Path) -> None:
    with BlockStore(tmp_path, fsync=True) as bs:
        for h in range(6):
            bs.put(h, block(h))
        assert bs.get_proof(3) is None
        for h in (4, 0, 2):
            bs.put_proof(h, "groth16", f"proof-{h}".encode())
        bs.put_proof(2, "groth16-v2", b"better")
        assert bs.get_proof(4) == Proof("groth16", b"proof-4")
        assert bs.get_proof(2) == ("groth16-v2", b"better")
        assert bs.proven_heights() == [0, 2, 4]
        with pytest.raises(RecordMissingError):
            bs.put_proof(6, "groth16", b"no such block")
        bs._check()
    with BlockStore(tmp_path) as bs:
        assert bs.proven_heights() == [0, 2, 4]
        assert bs.get_proof(2) == Proof("groth16-v2", b"better")
        assert bs.get_proof(0) == Proof("groth16", b"proof-0")
        assert bs.get_proof(5) is None
        bs._check()


def test_torn_block_tail_recovers(tmp_path: Path) -> None:
    with BlockStore(tmp_path, fsync=False) as bs:
        for h in range(3):
            bs.put(h, block(h))
    seg = tmp_path / "blocks" / f"{0:020d}.blk"
    data = seg.read_bytes()
    seg.write_bytes(data[:-3])
    with BlockStore(tmp_path, fsync=False) as bs:
        blocks_report, proofs_report = bs.recovery
        assert blocks_report.dropped_bytes > 0 and proofs_report.clean
        assert bs.last_height == 1
        bs.put(2, b"rebuilt")
        assert bs.get(2) == b"rebuilt"
        bs._check()


def test_corrupt_middle_block_raises(tmp_path: Path) -> None:
    with BlockStore(tmp_path, fsync=False) as bs:
        for h in range(3):
            bs.put(h, block(h))
    seg = tmp_path / "blocks" / f"{0:020d}.blk"
    data = bytearray(seg.read_bytes())
    data[30] ^= 1  # payload of block 0; blocks 1 and 2 were committed later
    seg.write_bytes(bytes(data))
    with pytest.raises(CorruptRecordError):
        BlockStore(tmp_path, fsync=False)


def test_torn_proof_tail_recovers(tmp_path: Path) -> None:
    with BlockStore(tmp_path, fsync=False) as bs:
        bs.put(0, b"g")
        bs.put_proof(0, "a", b"first")
        bs.put_proof(0, "b", b"second")
    (seg,) = (tmp_path / "proofs").glob("*.prf")
    seg.write_bytes(seg.read_bytes()[:-1])
    with BlockStore(tmp_path, fsync=False) as bs:
        assert bs.get_proof(0) == Proof("a", b"first")
        assert not bs.recovery[1].clean


def test_second_opener_is_refused_and_nothing_leaks(tmp_path: Path) -> None:
    bs = BlockStore(tmp_path, fsync=False)
    with pytest.raises(StorageError, match="already open"):
        BlockStore(tmp_path, fsync=False)
    bs.close()
    BlockStore(tmp_path, fsync=False).close()
    assert sorted(os.listdir(tmp_path)) == ["blocks", "proofs"]
