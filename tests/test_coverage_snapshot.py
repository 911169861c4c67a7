"""Deterministic tests of venue.snapshot: atomic writes, verification, pruning."""

from __future__ import annotations

import hashlib
import logging
import os
import struct
from pathlib import Path

import pytest

import venue.snapshot as snapshot_mod
from venue.snapshot import Snapshot, latest_snapshot, prune, write_snapshot


def names(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def test_exports_exist() -> None:
    for name in snapshot_mod.__all__:
        assert hasattr(snapshot_mod, name)


def test_missing_or_empty_directory_has_no_snapshot(tmp_path: Path) -> None:
    assert latest_snapshot(tmp_path / "nope").snapshot is None
    lookup = latest_snapshot(tmp_path)
    assert not lookup and lookup.skipped == ()


def test_roundtrip_and_layout(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path / "snaps", 42, b"state")
    assert os.path.basename(path) == f"snapshot-{42:020d}.pbsnap"
    data = Path(path).read_bytes()
    assert struct.unpack_from("<6sHQQ", data) == (b"PBSNAP", 1, 42, 5)
    assert data[24:56] == hashlib.sha256(data[:24] + b"state").digest()
    assert data[56:] == b"state"
    lookup = latest_snapshot(tmp_path / "snaps")
    assert lookup and lookup.snapshot == Snapshot(42, b"state") and lookup.skipped == ()
    assert names(tmp_path / "snaps") == [f"snapshot-{42:020d}.pbsnap"]  # no temp left


def test_newest_valid_wins(tmp_path: Path) -> None:
    for h in (5, 30, 12):
        write_snapshot(tmp_path, h, f"s{h}".encode())
    assert latest_snapshot(tmp_path).snapshot == Snapshot(30, b"s30")
    write_snapshot(tmp_path, 30, b"rewritten")
    assert latest_snapshot(tmp_path).snapshot == Snapshot(30, b"rewritten")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: d[:-1], "length mismatch"),
        (lambda d: d[:20], "truncated"),
        (lambda d: d[:60] + bytes([d[60] ^ 1]) + d[61:], "sha256 mismatch"),
        (lambda d: b"XXXXXX" + d[6:], "bad magic"),
        (lambda d: d[:6] + b"\x09\x00" + d[8:], "unsupported version"),
        (lambda d: b"", "truncated"),
    ],
)
def test_damaged_newest_is_skipped_with_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: object, reason: str
) -> None:
    write_snapshot(tmp_path, 1, b"older state")
    newest = Path(write_snapshot(tmp_path, 2, b"newer state" * 3))
    newest.write_bytes(damage(newest.read_bytes()))  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="venue.snapshot"):
        lookup = latest_snapshot(tmp_path)
    assert lookup.snapshot == Snapshot(1, b"older state")
    assert len(lookup.skipped) == 1
    assert lookup.skipped[0].path == str(newest) and reason in lookup.skipped[0].reason
    assert reason in caplog.text


def test_renamed_file_height_mismatch_is_skipped(tmp_path: Path) -> None:
    path = Path(write_snapshot(tmp_path, 3, b"s3"))
    path.rename(tmp_path / f"snapshot-{9:020d}.pbsnap")
    lookup = latest_snapshot(tmp_path)
    assert lookup.snapshot is None and "does not match" in lookup.skipped[0].reason


def test_unfinished_temp_file_is_ignored_and_reported(tmp_path: Path) -> None:
    write_snapshot(tmp_path, 1, b"s1")
    (tmp_path / f".snapshot-{2:020d}.999.tmp").write_bytes(b"half")
    lookup = latest_snapshot(tmp_path)
    assert lookup.snapshot == Snapshot(1, b"s1")
    assert "temp" in lookup.skipped[0].reason


def test_failed_write_leaves_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_snapshot(tmp_path, 1, b"s1")

    def boom(fd: int) -> None:
        raise OSError("simulated fsync failure")

    monkeypatch.setattr(snapshot_mod.os, "fsync", boom)
    with pytest.raises(OSError, match="simulated"):
        write_snapshot(tmp_path, 2, b"s2")
    monkeypatch.undo()
    assert names(tmp_path) == [f"snapshot-{1:020d}.pbsnap"]


def test_prune_keeps_newest_valid(tmp_path: Path) -> None:
    for h in range(1, 6):
        write_snapshot(tmp_path, h, f"s{h}".encode())
    newest = tmp_path / f"snapshot-{5:020d}.pbsnap"
    newest.write_bytes(b"garbage")
    (tmp_path / f".snapshot-{1:020d}.7.tmp").write_bytes(b"stale")
    deleted = prune(tmp_path, keep=2)
    # 5 is damaged so it does not count: 4 and 3 are kept, 5 is left for inspection.
    assert sorted(os.path.basename(p) for p in deleted) == [
        f".snapshot-{1:020d}.7.tmp",
        f"snapshot-{1:020d}.pbsnap",
        f"snapshot-{2:020d}.pbsnap",
    ]
    assert names(tmp_path) == [f"snapshot-{h:020d}.pbsnap" for h in (3, 4, 5)]
    assert latest_snapshot(tmp_path).snapshot == Snapshot(4, b"s4")
    assert prune(tmp_path, keep=5) == []  # fewer valid than keep: delete nothing
    with pytest.raises(ValueError):
        prune(tmp_path, keep=0)
    assert prune(tmp_path / "missing") == []
