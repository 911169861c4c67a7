"""The main job end to end: ``provenbook demo`` must succeed (it checks itself)."""

from __future__ import annotations

from pathlib import Path

from venue.cli import main


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    assert main(["demo", "--rounds", "8", "--traders", "4", "--data", str(tmp_path / "v")]) == 0
    # the venue it left behind replays cleanly from the command line too
    assert main(["replay", str(tmp_path / "v"), "--engine", "auto"]) == 0
