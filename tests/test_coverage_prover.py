"""The prover pool with the real prover and a small real circuit (MerkleUpdate(4))."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proofs.merkle import SparseMerkleTree
from venue.prover import ProofFailure, ProofResult, ProverPool, ProverStartError

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


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def _wait_dead(pids: list[int], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_workers_are_forked_from_one_key_load() -> None:
    loads: list[float] = []
    with ProverPool(CIRCUIT, workers=2, on_key_loaded=loads.append) as pool:
        info = pool.worker_info()
        assert loads == [info[0].key_load_s]  # told once, for the progress display
        zygote = pool.zygote_pid
        assert zygote is not None and zygote not in [w.pid for w in info]
        assert len({w.pid for w in info}) == 2
        # both are children of the one process that loaded the key, and report its load
        assert [_parent(w.pid) for w in info] == [zygote, zygote]
        assert info[0].key_load_s == info[1].key_load_s > 0
        assert all(w.start_s > 0 for w in info)


def test_killed_worker_block_is_proved_again() -> None:
    work = jobs(8)
    with ProverPool(CIRCUIT, workers=2) as pool:
        pool.worker_info()  # start the workers and load the keys
        zygote = pool.zygote_pid
        for h, inputs, public in work:
            pool.submit(h, inputs, public)
        time.sleep(0.3)
        victim, survivor = pool.worker_pids()
        os.kill(victim, signal.SIGKILL)
        got = list(pool.results(timeout=120))
        assert pool.restarts == 1
        # the replacement was forked from the same key; the other worker went on
        assert pool.zygote_pid == zygote
        pids = pool.worker_pids()
        assert survivor in pids and victim not in pids and len(pids) == 2
    assert [r.height for r in got] == list(range(1, 9))
    assert all(isinstance(r, ProofResult) for r in got)


def test_killed_key_holder_is_started_again() -> None:
    """The process that holds the key dies (say, the OOM killer picks it): workers already
    forked go on, and a new one loads the key for any worker that is missing."""
    work = jobs(6)
    loads: list[float] = []
    with ProverPool(CIRCUIT, workers=2, on_key_loaded=loads.append) as pool:
        first = pool.worker_info()
        zygote = pool.zygote_pid
        assert zygote is not None
        for h, inputs, public in work:
            pool.submit(h, inputs, public)
        os.kill(zygote, signal.SIGKILL)
        os.kill(first[0].pid, signal.SIGKILL)
        got = list(pool.results(timeout=120))
        assert pool.zygote_pid not in (None, zygote)
        assert pool.restarts >= 2  # the key holder and the worker
        assert first[1].pid in pool.worker_pids()
        pool.worker_info()  # the new key holder's load is reported too
        assert len(loads) == 2
    assert [r.height for r in got] == list(range(1, 7))
    assert all(isinstance(r, ProofResult) for r in got)


def test_close_during_the_key_load_does_not_wait_for_it(tmp_path: Path) -> None:
    # an empty cache: the key holder compiles and sets the circuit up (seconds) first
    pool = ProverPool(CIRCUIT, workers=2, cache_dir=tmp_path / "cache")
    zygote = pool.zygote_pid
    assert zygote is not None
    time.sleep(0.5)
    t0 = time.monotonic()
    pool.close()
    assert time.monotonic() - t0 < 3
    _wait_dead([zygote], 5)
    assert not _alive(zygote)


def test_an_owner_that_exits_without_closing_leaves_no_prover_behind() -> None:
    script = (
        "import sys; from venue.prover import ProverPool\n"
        f"pool = ProverPool({str(CIRCUIT)!r}, workers=2)\n"
        "print(pool.zygote_pid, *(w.pid for w in pool.worker_info()), flush=True)\n"
    )  # and it exits: multiprocessing terminates the key holder, which takes its workers
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True, cwd=CIRCUIT.parents[2])  # fmt: skip
    pids = [int(x) for x in out.stdout.split()]
    assert len(pids) == 3
    _wait_dead(pids, 10)
    assert not any(_alive(p) for p in pids)


def test_a_key_that_cannot_load_is_a_typed_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.circom"
    broken.write_text("pragma circom 2.0.0;\ntemplate T() { signal input a; a === ; }\n")
    with ProverPool(broken, workers=1, cache_dir=tmp_path / "cache") as pool:
        with pytest.raises(ProverStartError, match="could not load its key"):
            pool.worker_info()


def test_a_damaged_wasm_in_the_cache_is_a_typed_error(tmp_path: Path) -> None:
    from proofs.circom import compile_circuit

    cache = tmp_path / "cache"
    compile_circuit(CIRCUIT, cache_dir=cache)
    (wasm,) = cache.glob("*/circuit.wasm")
    wasm.write_bytes(b"\0asm\x01\0\0\0 not a module")
    with ProverPool(CIRCUIT, workers=1, cache_dir=cache) as pool:
        with pytest.raises(ProverStartError, match="worker could not start"):
            pool.worker_info()


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
    are stopped, not sent home after their current job, and the key holder goes too."""
    pool = ProverPool(CIRCUIT, workers=2)
    pids = [w.pid for w in pool.worker_info()]  # the workers run and hold their keys
    zygote = pool.zygote_pid
    assert zygote is not None
    for h, inputs, public in jobs(40):
        pool.submit(h, inputs, public)
    t0 = time.monotonic()
    pool.close()
    _wait_dead([*pids, zygote])
    assert time.monotonic() - t0 < 10
    assert not any(_alive(p) for p in [*pids, zygote])
