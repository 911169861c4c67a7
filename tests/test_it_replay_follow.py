"""``replay(follow=True)`` / ``provenbook replay --follow``: a live verifier beside a venue.

The venue here is a writer appending the real proven blocks of ``tests/chain_helpers.py``
(``proven``) one by one, then their proofs: the follower re-executes each block once it is
durable, checks each proof once it lands against the header it recomputed, and stops by
itself at a proof that does not verify.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from venue.blockstore import BlockStore
from venue.proving import PROOF_KIND
from venue.replay import ReplayReport, replay

from .chain_helpers import CIRCUIT_CACHE, Proven
from .process_helpers import interrupt_when, interruptible


def _until(cond: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_a_follower_checks_blocks_and_proofs_as_they_land(
    proven: Proven, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))
    data = tmp_path / "live"
    data.mkdir()
    shutil.copy(proven.data / "genesis.msgpack", data)
    src = BlockStore(proven.data / "blocks", first_height=1, read_only=True)
    writer = BlockStore(data / "blocks", first_height=1, fsync=False)
    writer.put(1, src.get(1))  # type: ignore[arg-type]
    seen: list[int] = []
    out: list[ReplayReport] = []
    stop = threading.Event()

    def follow() -> None:
        out.append(replay(data, proofs=True, follow=True, poll=0.02, stop=stop,
                          on_block=lambda h, _: seen.append(h)))  # fmt: skip

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        _until(lambda: seen == [1], "block 1")
        for h in (2, 3):
            writer.put(h, src.get(h))  # type: ignore[arg-type]
        _until(lambda: seen == [1, 2, 3], "blocks 2 and 3")
        writer.put_proof(2, PROOF_KIND, proven.proofs[1])
        writer.put_proof(1, PROOF_KIND, proven.proofs[0])
        # block 3's slot gets block 1's proof: the follower stops there by itself
        time.sleep(0.2)
        writer.put_proof(3, PROOF_KIND, proven.proofs[0])
        follower.join(30)
        assert not follower.is_alive()
    finally:
        stop.set()
        writer.close()
        src.close()
    (report,) = out
    assert report.last_height == 3 and report.proofs_verified == 2
    assert report.mismatch is not None and (report.mismatch.height, report.mismatch.field) == (
        3, "proof",
    )  # fmt: skip


def test_provenbook_replay_follow_runs_until_interrupted(proven: Proven, tmp_path: Path) -> None:
    data = tmp_path / "copy"
    shutil.copytree(proven.data, data)
    cmd = [sys.executable, "-m", "venue.cli", "replay", str(data), "--follow", "--poll", "0.05"]
    code, before, rest = interrupt_when(
        cmd, lambda lines: len([x for x in lines if "re-executed, identical" in x]) >= 3
    )
    assert code == 0, before + rest
    assert "replay" in rest and "ident" in rest  # the report table, after Ctrl-C
    bad = subprocess.run([*cmd[:5], "--follow", "--poll", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--poll" in bad.stdout


_EARLY_INTERRUPT = """
import os, signal, threading
from venue.cli import _until_interrupted

def run(stop: threading.Event) -> str:
    # Ctrl-C at once, as a follower that prints before the main thread is back from start()
    os.kill(os.getpid(), signal.SIGINT)
    return "stopped" if stop.wait(30) else "not stopped"

for _ in range(20):
    assert _until_interrupted(run, "follower") == "stopped"
print("ok")
"""


def test_a_ctrl_c_as_soon_as_the_follower_starts_still_stops_it() -> None:
    """The followers' Ctrl-C helper, where a clean CI run once hung: an interrupt that lands
    while ``Thread.start`` returns must stop the worker, not leave the process waiting for it
    at exit."""
    done = subprocess.run(
        [sys.executable, "-c", _EARLY_INTERRUPT], capture_output=True, text=True, timeout=120,
        check=False, preexec_fn=interruptible,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr
