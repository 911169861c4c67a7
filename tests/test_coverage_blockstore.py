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


def three_blocks(root: Path) -> Path:
    """A store in ``root`` holding blocks 0..2; its first block segment."""
    with BlockStore(root, fsync=False) as bs:
        for h in range(3):
            bs.put(h, block(h))
    return root / "blocks" / f"{0:020d}.blk"


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
    seg = three_blocks(tmp_path)
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
    seg = three_blocks(tmp_path)
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


def test_reader_follows_a_live_writer_and_changes_nothing(tmp_path: Path) -> None:
    writer = BlockStore(tmp_path, first_height=1, fsync=False)
    writer.put(1, block(1))
    writer.put(2, block(2))
    writer.put_proof(2, "groth16", b"p2")
    with BlockStore(tmp_path, first_height=1, read_only=True) as reader:
        assert (reader.first_height, reader.last_height) == (1, 2)
        assert list(reader.iter_from(1)) == [(1, block(1)), (2, block(2))]
        assert reader.get_proof(2) == Proof("groth16", b"p2") and reader.proven_heights() == [2]
        files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
        with pytest.raises(StorageError, match="read-only"):
            reader.put(3, block(3))
        with pytest.raises(StorageError, match="read-only"):
            reader.put_proof(1, "groth16", b"p1")
        assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == files
        writer.put(3, block(3))  # the writer goes on; this reader saw the store as opened
        assert reader.last_height == 2 and reader.get(3) is None
    with BlockStore(tmp_path, first_height=1, read_only=True) as reader:
        assert reader.get(3) == block(3)
    writer.close()


def test_reader_never_cuts_a_torn_tail(tmp_path: Path) -> None:
    seg = three_blocks(tmp_path)
    torn = seg.read_bytes()[:-3]  # what a reader sees while a batch is half written
    seg.write_bytes(torn)
    with BlockStore(tmp_path, read_only=True) as reader:
        assert reader.last_height == 1 and reader.recovery[0].dropped_bytes > 0
    assert seg.read_bytes() == torn
    with BlockStore(tmp_path, fsync=False) as writer:  # the writer's recovery cuts it
        assert writer.last_height == 1
    assert len(seg.read_bytes()) < len(torn)


def test_reader_refuses_mid_log_damage(tmp_path: Path) -> None:
    seg = three_blocks(tmp_path)
    data = bytearray(seg.read_bytes())
    data[30] ^= 1
    seg.write_bytes(bytes(data))
    with pytest.raises(CorruptRecordError):
        BlockStore(tmp_path, read_only=True)


def test_reader_of_a_missing_or_empty_store(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such log"):
        BlockStore(tmp_path / "nothing", read_only=True)
    assert not (tmp_path / "nothing").exists()
    (tmp_path / "empty" / "blocks").mkdir(parents=True)
    (tmp_path / "empty" / "proofs").mkdir()
    with BlockStore(tmp_path / "empty", first_height=1, read_only=True) as reader:
        assert reader.last_height == 0 and list(reader.iter_from(1)) == []
        assert reader.get(1) is None and reader.get_proof(1) is None
    assert sorted(os.listdir(tmp_path / "empty" / "blocks")) == []


def test_reader_refreshes_as_the_writer_goes_on(tmp_path: Path) -> None:
    # small segments, so that the writer rolls while the reader follows
    writer = BlockStore(tmp_path, first_height=1, fsync=False, segment_size=64)
    reader = BlockStore(tmp_path, first_height=1, read_only=True)  # nothing written yet
    assert reader.last_height == 0 and reader.refresh() == 0
    for h in range(1, 4):
        writer.put(h, block(h))
    assert reader.refresh() == 3 and reader.refresh() == 0
    writer.put_proof(2, "groth16", b"p2")
    for h in range(4, 9):
        writer.put(h, block(h))
    assert len(list((tmp_path / "blocks").glob("*.blk"))) > 2  # it rolled
    assert reader.refresh() == 5 and reader.get_proof(2) == Proof("groth16", b"p2")
    assert list(reader.iter_from(1)) == [(h, block(h)) for h in range(1, 9)]
    with pytest.raises(StorageError, match="read-only"):
        writer.refresh()
    writer.close()
    reader.close()


def test_refresh_waits_for_a_record_being_written(tmp_path: Path) -> None:
    with BlockStore(tmp_path, fsync=False) as bs:
        bs.put(0, block(0))
    seg = tmp_path / "blocks" / f"{0:020d}.blk"
    whole = seg.read_bytes()
    with BlockStore(tmp_path, fsync=False) as bs:
        bs.put(1, block(1))
    record = seg.read_bytes()[len(whole) :]
    seg.write_bytes(whole)
    with BlockStore(tmp_path, read_only=True) as reader:
        with seg.open("ab") as f:  # the writer's batch, half on disk
            f.write(record[:10])
        assert reader.refresh() == 0 and reader.last_height == 0
        with seg.open("ab") as f:
            f.write(record[10:])
        assert reader.refresh() == 1 and reader.get(1) == block(1)
        seg.write_bytes(seg.read_bytes()[:30] + b"X" + seg.read_bytes()[31:])  # rot inside 0
        assert reader.refresh() == 0  # only new bytes are read; a get re-checks
        with pytest.raises(CorruptRecordError):
            reader.get(0)
