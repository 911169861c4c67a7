"""The prover pool with the real prover and a small real circuit (MerkleUpdate(4))."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from proofs.merkle import SparseMerkleTree
from venue.prover import ProofFailure, ProofResult, ProverPool

from .test_circuit_merkle import _step

CIRCUIT = Path(__file__).resolve().parent / "circuits" / "merkle_update4_test.circom"


def jobs(n: int) -> list[tuple[int, dict, list[int]]]:
    """n chained MerkleUpdate steps; height i proves step i (public: newRoot, oldRoot)."""
    tree = SparseMerkleTree(4)
    out = []
    for h in range(1, n + 1):
        inputs, old_root, new_root = _step(tree, (h * 7) % 16, 1000 + h)
        out.append((h, inputs, [new_root, old_root]))
    return out


def test_results_come_in_block_order() -> None:
    work = jobs(6)
    with ProverPool(CIRCUIT, workers=2) as pool:
        # submit out of order: results must still come 1, 2, 3, ...
        for h, inputs, public in reversed(work):
            pool.submit(h, inputs, public)
        got = list(pool.results())
    assert [r.height for r in got] == [1, 2, 3, 4, 5, 6]
    assert all(isinstance(r, ProofResult) for r in got)
    assert len({r.worker for r in got}) == 2  # both workers proved something
    from proofs.circom import compile_circuit

    circuit = compile_circuit(CIRCUIT)
    for r, (_, _, public) in zip(got, work, strict=True):
        assert circuit.verify(r.proof, public)
        assert not circuit.verify(r.proof, [public[0] + 1, public[1]])


def test_unprovable_block_is_a_failure_not_a_crash() -> None:
    work = jobs(3)
    _, inputs, public = work[1]
    inputs = {**inputs, "oldLeaf": 12345}  # the witness does not satisfy the circuit
    with ProverPool(CIRCUIT, workers=1) as pool:
        pool.submit(1, work[0][1], work[0][2])
        pool.submit(2, inputs, public)
        pool.submit(3, work[2][1], work[2][2])
        got = list(pool.results())
    assert [type(r) for r in got] == [ProofResult, ProofFailure, ProofResult]
    assert "unsatisfied" in got[1].error
    # the witness stops at the failing constraint and names it (proofs/wasmwitness.py)
    assert "assert failed" in got[1].error and "MerkleUpdate" in got[1].error


def test_killed_worker_block_is_proved_again() -> None:
    work = jobs(8)
    with ProverPool(CIRCUIT, workers=2) as pool:
        pool.worker_info()  # start the workers and load the keys
        for h, inputs, public in work:
            pool.submit(h, inputs, public)
        time.sleep(0.3)
        victim = pool.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        got = list(pool.results(timeout=120))
        assert pool.restarts >= 1
    assert [r.height for r in got] == list(range(1, 9))
    assert all(isinstance(r, ProofResult) for r in got)


def test_duplicate_submission_refused() -> None:
    ((h, inputs, public),) = jobs(1)
    with ProverPool(CIRCUIT, workers=1) as pool:
        pool.submit(h, inputs, public)
        with pytest.raises(ValueError):
            pool.submit(h, inputs, public)
        assert len(list(pool.results())) == 1


@pytest.mark.slow
def test_ray_backend_proves_in_order_and_survives_a_dead_actor() -> None:
    """The same workers as Ray actors (a local Ray instance stands in for a cluster)."""
    ray = pytest.importorskip("ray", reason="pip install provenbook[ray]")
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    work = jobs(6)
    try:
        with ProverPool(CIRCUIT, workers=2, backend="ray") as pool:
            for h, inputs, public in work:
                pool.submit(h, inputs, public)
            ray.kill(pool._actors[0])  # its in-flight jobs must be proved again
            got = list(pool.results(timeout=180))
            assert pool.restarts >= 1
    finally:
        ray.shutdown()
    assert [r.height for r in got] == list(range(1, 7))
    assert all(isinstance(r, ProofResult) for r in got)


def test_close_stops_the_workers_without_waiting_for_the_proofs_in_flight() -> None:
    """A venue asked to stop must not wait for a production proof (a minute): the workers
    are terminated, not sent home after their current job."""
    pool = ProverPool(CIRCUIT, workers=2)
    pool.worker_info()  # the workers run and hold their keys
    procs = list(pool._executor._processes.values())  # type: ignore[attr-defined]
    for h, inputs, public in jobs(40):
        pool.submit(h, inputs, public)
    pool.close()
    # the pool's own manager thread may reap a worker first; its exit code then shows a
    # moment later
    deadline = time.monotonic() + 30
    while any(p.exitcode is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p.exitcode for p in procs] == [-signal.SIGTERM] * 2
