"""Deterministic tests of venue.journal: framing, group commit, segments, recovery."""

from __future__ import annotations

import errno
import os
import struct
import zlib
from pathlib import Path

import pytest

import venue.journal as journal_mod
import venue.storage_errors as errors_mod
from venue.journal import HEADER_SIZE, Journal
from venue.storage_errors import (
    CorruptRecordError,
    RecordMissingError,
    RecordTooLargeError,
    SequenceError,
    StorageError,
)


def payload(seq: int) -> bytes:
    """Deterministic, variable-length payload so offsets differ between records."""
    return (f"cmd-{seq}:".encode() * (1 + seq % 5))[: 10 + seq % 40]


def fill(path: Path, batches: list[int], **kw: object) -> Journal:
    """A journal holding seqs 1..sum(batches), one commit per batch; left open."""
    j = Journal(path, fsync="none", **kw)  # type: ignore[arg-type]
    seq = j.last_seq
    for size in batches:
        for _ in range(size):
            seq += 1
            j.append(seq, payload(seq))
        j.commit()
        j._check()
    return j


def reopen(path: Path, **kw: object) -> Journal:
    j = Journal(path, fsync="none", **kw)  # type: ignore[arg-type]
    j._check()
    return j


def contents(j: Journal) -> list[tuple[int, bytes]]:
    return list(j.iter_from(j.first_seq))


def record_offsets(seg: Path) -> list[int]:
    """Start offset of every record in a segment, parsed independently of the module."""
    data, pos, out = seg.read_bytes(), 0, []
    while pos + HEADER_SIZE <= len(data):
        out.append(pos)
        pos += HEADER_SIZE + struct.unpack_from("<I", data, pos + 4)[0]
    return out


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


# -- exports, framing -------------------------------------------------------------------


def test_exports_exist() -> None:
    for mod in (journal_mod, errors_mod):
        for name in mod.__all__:
            assert hasattr(mod, name), (mod.__name__, name)


def test_error_tree() -> None:
    for exc in (CorruptRecordError, SequenceError, RecordTooLargeError, RecordMissingError):
        assert issubclass(exc, StorageError)
    assert issubclass(SequenceError, ValueError)
    assert issubclass(RecordMissingError, LookupError)


def test_byte_layout_matches_docstring(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync="none", first_seq=7) as j:
        j.append(7, b"hello")
        j.append(8, b"")
        j.commit()
        seg = Path(j.segment_paths[0])
    assert seg.name == "00000000000000000007.wal"
    data = seg.read_bytes()
    assert len(data) == 2 * HEADER_SIZE + 5 and HEADER_SIZE == 28
    magic, version, flags, length, seq, batch_first, crc = struct.unpack_from("<2sBBIQQI", data)
    assert (magic, version, flags, length, seq, batch_first) == (b"PB", 1, 0, 5, 7, 7)
    assert crc == zlib.crc32(data[:24] + b"hello")
    assert data[28:33] == b"hello"
    second = struct.unpack_from("<2sBBIQQI", data, 33)
    assert second[3:6] == (0, 8, 7)  # same commit batch: batch_first is still 7


# -- append / commit / read -------------------------------------------------------------


def test_append_is_invisible_until_commit(tmp_path: Path) -> None:
    j = Journal(tmp_path, fsync="none")
    assert (j.last_seq, j.next_seq, j.first_seq) == (0, 1, 1)
    j.append(1, b"a")
    j.append(2, b"b")
    assert (j.last_seq, j.next_seq, j.pending) == (0, 3, 2)
    assert contents(j) == [] and j.get(1) is None
    assert j.commit() == 2
    assert j.commit() == 0  # empty commit is a no-op
    assert contents(j) == [(1, b"a"), (2, b"b")] and j.get(2) == b"b"
    j._check()
    j.close()
    j2 = reopen(tmp_path)
    assert contents(j2) == [(1, b"a"), (2, b"b")] and j2.recovery.clean
    assert j2.recovery.records == 2


def test_close_drops_uncommitted(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync="none") as j:
        j.append(1, b"a")
        j.commit()
        j.append(2, b"never acked")
    j2 = reopen(tmp_path)
    assert j2.last_seq == 1 and contents(j2) == [(1, b"a")]


@pytest.mark.parametrize("bad", [0, 2, 3, 5, -1])
def test_sequence_error_changes_nothing(tmp_path: Path, bad: int) -> None:
    j = fill(tmp_path, [2])
    j.append(3, b"x")
    size = os.path.getsize(j.segment_paths[-1])
    with pytest.raises(SequenceError) as info:
        j.append(bad, b"y")
    assert (info.value.expected, info.value.got) == (4, bad)
    assert j.pending == 1 and j.next_seq == 4
    assert os.path.getsize(j.segment_paths[-1]) == size
    j.commit()
    assert [s for s, _ in contents(j)] == [1, 2, 3]


def test_append_rejects_bad_payloads(tmp_path: Path) -> None:
    j = Journal(tmp_path, fsync="none", max_record_size=10)
    with pytest.raises(RecordTooLargeError):
        j.append(1, b"x" * 11)
    with pytest.raises(TypeError):
        j.append(1, "text")  # type: ignore[arg-type]
    j.append(1, bytearray(b"x" * 10))
    j.commit()
    assert j.get(1) == b"x" * 10 and j.pending == 0


def test_constructor_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Journal(tmp_path, fsync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Journal(tmp_path, segment_size=0)
    with pytest.raises(ValueError):
        Journal(tmp_path, first_seq=-1)


def test_second_writer_is_refused(tmp_path: Path) -> None:
    j = Journal(tmp_path, fsync="none")
    with pytest.raises(StorageError, match="already open"):
        Journal(tmp_path, fsync="none")
    j.close()
    Journal(tmp_path, fsync="none").close()  # lock released by close


def test_closed_journal_refuses_use(tmp_path: Path) -> None:
    j = Journal(tmp_path, fsync="none")
    j.close()
    j.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        j.append(1, b"x")
    with pytest.raises(StorageError, match="closed"):
        j.iter_from(1)


def test_fsync_always_smoke(tmp_path: Path) -> None:
    with Journal(tmp_path) as j:
        j.append(1, b"durable")
        j.commit()
    assert reopen(tmp_path).get(1) == b"durable"


def test_io_error_poisons_until_reopen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    j = Journal(tmp_path)
    j.append(1, b"a")
    j.commit()

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "simulated EIO")

    monkeypatch.setattr(journal_mod, "_fdatasync", failing_fsync)
    j.append(2, b"b")
    with pytest.raises(OSError, match="simulated EIO"):
        j.commit()
    with pytest.raises(StorageError, match="reopen"):
        j.append(2, b"b")
    monkeypatch.undo()
    j.close()
    j2 = reopen(tmp_path)
    assert j2.last_seq in (1, 2)  # the failed batch may or may not have reached the disk
    assert j2.get(1) == b"a"


# -- segments ---------------------------------------------------------------------------


def test_segments_roll_at_batch_boundaries(tmp_path: Path) -> None:
    batches = [1, 3, 2, 5, 1, 1, 4, 2]
    j = fill(tmp_path, batches, segment_size=200)
    assert len(j.segment_paths) > 3
    firsts = [int(Path(p).name[:20]) for p in j.segment_paths]
    boundaries, total = [1], 0
    for size in batches:
        total += size
        boundaries.append(total + 1)
    assert set(firsts) <= set(boundaries)  # every segment starts with a batch
    for path, first, nxt in zip(j.segment_paths, firsts, firsts[1:], strict=False):
        if os.path.getsize(path) > 200:  # over the limit only if one batch alone is
            assert nxt == boundaries[boundaries.index(first) + 1]
    assert [s for s, _ in contents(j)] == list(range(1, total + 1))
    j.close()
    assert [s for s, _ in contents(reopen(tmp_path, segment_size=200))] == list(range(1, total + 1))


def test_truncate_before_deletes_whole_segments_only(tmp_path: Path) -> None:
    j = fill(tmp_path, [2] * 10, segment_size=150)
    paths = j.segment_paths
    firsts = [int(Path(p).name[:20]) for p in paths]
    cut = firsts[2] + 1  # in the middle of the third segment
    assert j.truncate_before(cut) == 2
    assert j.first_seq == firsts[2] and j.segment_paths == paths[2:]
    assert not any(os.path.exists(p) for p in paths[:2])
    with pytest.raises(RecordMissingError):
        j.iter_from(firsts[2] - 1)
    assert next(j.iter_from(cut)) == (cut, payload(cut))
    assert j.truncate_before(10**9) == len(paths) - 3  # never the active segment
    assert j.segment_paths == paths[-1:]
    j._check()
    j.close()
    j2 = reopen(tmp_path)
    assert (j2.first_seq, j2.last_seq) == (firsts[-1], 20)


def test_first_seq_only_applies_to_new_journal(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync="none", first_seq=100) as j:
        assert j.last_seq == 99
        with pytest.raises(SequenceError):
            j.append(1, b"x")
        j.append(100, b"x")
        j.commit()
    assert reopen(tmp_path, first_seq=5).last_seq == 100


def test_iter_from_beyond_end_is_empty_and_sees_later_commits(tmp_path: Path) -> None:
    j = fill(tmp_path, [3])
    assert list(j.iter_from(4)) == [] and list(j.iter_from(50)) == []
    it = j.iter_from(3)
    assert next(it) == (3, payload(3))
    j.append(4, b"late")
    j.commit()
    assert next(it) == (4, b"late")


# -- recovery ---------------------------------------------------------------------------


def test_every_truncation_of_last_record_recovers_prefix(tmp_path: Path) -> None:
    j = fill(tmp_path, [1, 1, 1])
    seg = Path(j.segment_paths[-1])
    j.close()
    full = seg.read_bytes()
    last = record_offsets(seg)[-1]
    for cut in range(last, len(full)):
        seg.write_bytes(full[:cut])
        j = reopen(tmp_path)
        assert j.last_seq == 2 and contents(j)[-1] == (2, payload(2))
        assert j.recovery.dropped_bytes == cut - last
        assert (cut == last) == j.recovery.clean
        if cut > last:
            assert j.recovery.offset == last and j.recovery.path == str(seg)
            assert "partial" in (j.recovery.reason or "")
        j.close()
        assert os.path.getsize(seg) == last


def test_garbage_tail_is_truncated_and_log_continues(tmp_path: Path) -> None:
    j = fill(tmp_path, [2, 2])
    seg = Path(j.segment_paths[-1])
    j.close()
    good = seg.read_bytes()
    seg.write_bytes(good + b"\x00" * 4096)  # e.g. preallocated zeros after power loss
    j = reopen(tmp_path)
    assert j.recovery.dropped_bytes == 4096 and "magic" in (j.recovery.reason or "")
    assert seg.read_bytes() == good
    j.append(5, b"next")
    j.commit()
    j.close()
    j = reopen(tmp_path)
    assert j.recovery.clean and j.last_seq == 5


def test_bad_crc_in_last_record_is_tail(tmp_path: Path) -> None:
    j = fill(tmp_path, [1, 1, 1, 1])
    seg = Path(j.segment_paths[-1])
    j.close()
    flip(seg, record_offsets(seg)[-1] + HEADER_SIZE + 1)  # payload byte
    j = reopen(tmp_path)
    assert j.last_seq == 3 and j.recovery.reason == "crc32 mismatch"


def test_damage_inside_last_batch_is_tail(tmp_path: Path) -> None:
    """Pages of the in-flight batch may persist out of order: later records of it are
    intact but were never acknowledged, so truncating them is right."""
    j = fill(tmp_path, [2, 5])
    seg = Path(j.segment_paths[-1])
    j.close()
    offsets = record_offsets(seg)
    flip(seg, offsets[3] + HEADER_SIZE)  # seq 4: second record of the last batch
    j = reopen(tmp_path)
    assert j.last_seq == 3
    assert j.recovery.offset == offsets[3]
    assert j.recovery.dropped_bytes == sum(HEADER_SIZE + len(payload(s)) for s in range(4, 8))


def test_bad_record_followed_by_later_commit_raises(tmp_path: Path) -> None:
    j = fill(tmp_path, [1, 1, 1, 1, 1])
    seg = Path(j.segment_paths[-1])
    j.close()
    before = seg.read_bytes()
    bad = record_offsets(seg)[2]
    flip(seg, bad + HEADER_SIZE + 2)
    with pytest.raises(CorruptRecordError) as info:
        Journal(tmp_path, fsync="none")
    assert info.value.offset == bad and info.value.path == str(seg)
    assert "committed later" in info.value.reason
    assert len(seg.read_bytes()) == len(before)  # nothing was truncated
    with pytest.raises(CorruptRecordError):  # and it stays refused
        Journal(tmp_path, fsync="none")


def test_mangled_length_in_middle_still_raises(tmp_path: Path) -> None:
    j = fill(tmp_path, [1, 1, 1])
    seg = Path(j.segment_paths[-1])
    j.close()
    bad = record_offsets(seg)[1]
    data = bytearray(seg.read_bytes())
    data[bad + 4 : bad + 8] = (10**6).to_bytes(4, "little")  # runs past end of file
    seg.write_bytes(bytes(data))
    with pytest.raises(CorruptRecordError) as info:
        Journal(tmp_path, fsync="none")
    assert info.value.offset == bad


def test_damage_in_non_last_segment_raises(tmp_path: Path) -> None:
    j = fill(tmp_path, [3, 3, 3], segment_size=100)
    first = Path(j.segment_paths[0])
    assert len(j.segment_paths) == 3
    j.close()
    data = first.read_bytes()
    first.write_bytes(data[:-1])  # even a torn end is damage here: later segments exist
    with pytest.raises(CorruptRecordError) as info:
        Journal(tmp_path, fsync="none")
    assert info.value.path == str(first) and "not the last segment" in info.value.reason


def test_missing_segment_raises(tmp_path: Path) -> None:
    j = fill(tmp_path, [3, 3, 3], segment_size=100)
    middle = j.segment_paths[1]
    j.close()
    os.unlink(middle)
    with pytest.raises(CorruptRecordError, match="expected 4"):
        Journal(tmp_path, fsync="none")


def test_intact_record_with_wrong_seq_raises_even_at_tail(tmp_path: Path) -> None:
    j = fill(tmp_path, [2])
    seg = Path(j.segment_paths[-1])
    j.close()
    with open(seg, "ab") as f:
        f.write(journal_mod.encode_record(9, 9, b"from elsewhere"))
    with pytest.raises(CorruptRecordError, match="seq 9 where 3"):
        Journal(tmp_path, fsync="none")


def test_rot_after_open_is_caught_on_read(tmp_path: Path) -> None:
    j = fill(tmp_path, [4])
    seg = Path(j.segment_paths[-1])
    offsets = record_offsets(seg)
    with open(seg, "r+b") as f:
        f.seek(offsets[2] + HEADER_SIZE)
        f.write(b"\xff")
    assert j.get(2) == payload(2)
    with pytest.raises(CorruptRecordError, match="on read"):
        j.get(3)
    with pytest.raises(CorruptRecordError, match="on read"):
        contents(j)


def test_whole_first_batch_torn_leaves_empty_log(tmp_path: Path) -> None:
    j = fill(tmp_path, [3])
    seg = Path(j.segment_paths[-1])
    j.close()
    seg.write_bytes(seg.read_bytes()[:10])
    j = reopen(tmp_path)
    assert (j.last_seq, j.next_seq, j.recovery.dropped_bytes) == (0, 1, 10)
    j.append(1, b"again")
    j.commit()
    assert contents(j) == [(1, b"again")]
