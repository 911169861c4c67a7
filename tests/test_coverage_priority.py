"""Background CPU priority of the committer and prover workers (``venue.priority``).

The point is latency (bench/RESULTS.md, "Background priority"); these tests check the
mechanism: which processes run as ``SCHED_IDLE``, that ``"normal"`` leaves them alone,
that bad values are refused before anything starts, and that a background committer still
commits every block byte-identically when a normal-priority process keeps the CPU busy.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from venue.node import NodeError, VenueNode
from venue.priority import apply_priority, check_priority, policy_of
from venue.prover import ProverPool
from venue.workload import Workload

from .test_coverage_committer import Clock, drive, genesis, stored
from .test_coverage_prover import CIRCUIT, jobs

pytestmark = pytest.mark.skipif(
    not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux-only (elsewhere: nice 19)"
)


def _node(path: Path, w: Workload, **kw: object) -> VenueNode:
    return VenueNode(path, genesis(w), engine="reference", fsync=False, clock=Clock(13),
                     committer="process", **kw)  # fmt: skip


def test_committer_worker_runs_in_the_background_by_default(tmp_path: Path) -> None:
    w = Workload(5, accounts=10, target_resting=50)
    node = _node(tmp_path / "bg", w)
    try:
        assert node.committer is not None and node.committer.pid is not None
        assert policy_of(node.committer.pid) == "SCHED_IDLE"
        assert policy_of(os.getpid()) == "normal"  # the sequencer's process is untouched
    finally:
        node.close()
    node = _node(tmp_path / "normal", w, committer_priority="normal")
    try:
        assert node.committer is not None and node.committer.pid is not None
        assert policy_of(node.committer.pid) == "normal"
    finally:
        node.close()
    node = _node(tmp_path / "sharded", w, committer_shards=2)
    try:
        assert node.committer is not None
        assert [policy_of(p) for p in node.committer.pids] == ["SCHED_IDLE"] * 2
    finally:
        node.close()


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_background_committer_commits_identically_under_cpu_load(tmp_path: Path) -> None:
    """Normal-priority processes busy on every core for 2 s: the background committer gets
    (almost) nothing meanwhile, the sequencer waits at ``max_lag``, and once the load ends
    every block is committed, byte-identical to a normal-priority committer's."""
    spinners = [multiprocessing.get_context("spawn").Process(target=_spin, args=(2.0,))
                for _ in range(os.cpu_count() or 1)]  # fmt: skip
    for p in spinners:
        p.start()
    try:
        w = Workload(21, accounts=25, target_resting=200)
        node = _node(tmp_path / "bg", w, max_lag=2)
        drive(node, w, 300)
        height = node.height
        node.close()
    finally:
        for p in spinners:
            p.terminate()
            p.join()
    w = Workload(21, accounts=25, target_resting=200)
    node = _node(tmp_path / "normal", w, committer_priority="normal")
    drive(node, w, 300)
    assert node.height == height > 10
    node.close()
    assert stored(tmp_path / "bg") == stored(tmp_path / "normal")


def test_bad_priorities_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="priority must be one of"):
        check_priority("realtime")
    with pytest.raises(ValueError, match="priority must be one of"):
        apply_priority("high")
    assert policy_of(os.getpid()) == "normal"  # nothing was applied
    with pytest.raises(NodeError, match="unknown committer priority"):
        _node(tmp_path, Workload(1), committer_priority="idle")  # type: ignore[arg-type]
    assert not (tmp_path / "journal").exists()  # refused before anything was created
    with pytest.raises(ValueError, match="priority must be one of"):
        ProverPool(CIRCUIT, workers=1, priority="low")  # type: ignore[arg-type]


@pytest.mark.parametrize("priority", ["background", "normal"])
def test_prover_workers_priority(priority: str) -> None:
    ((h, inputs, public),) = jobs(1)
    with ProverPool(CIRCUIT, workers=1, priority=priority) as pool:  # type: ignore[arg-type]
        pool.worker_info()  # start the worker: its initializer sets the priority
        (pid,) = pool.worker_pids()
        want = "SCHED_IDLE" if priority == "background" else "normal"
        # the worker, and the process that loads the key and forks it
        assert policy_of(pid) == policy_of(pool.zygote_pid) == want
        pool.submit(h, inputs, public)
        (result,) = list(pool.results(timeout=120))
    assert result.height == h and hasattr(result, "proof")
