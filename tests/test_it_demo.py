"""The main job end to end: ``provenbook demo`` must succeed (it checks itself): gateway
trading, blocks, validity proofs of every block, restart, replay with proofs, the proven
blocks published on the embedded chain (the default where Node is absent; anvil is
``tests/test_it_chain.py``'s) with the feed answering the last proven price, and a European
call settled on the proven price at its expiry."""

from __future__ import annotations

from pathlib import Path

import pytest

from venue.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Share the block circuit's keys with tests/test_circuit_block.py (same cache entry).
    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(ROOT / ".cache" / "circuits"))
    data = tmp_path / "v"
    # every block proved (so the demo's option settles on the proven price), few rounds
    argv = ["demo", "--rounds", "3", "--traders", "4", "--data", str(data)]
    assert main([*argv, "--chain", "embedded"]) == 0
    # the venue it left behind replays cleanly, proofs included, from the command line too
    assert main(["replay", str(data), "--engine", "auto", "--proofs"]) == 0
