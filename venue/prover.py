"""The prover pool: blocks are proved in parallel, away from the sequencer.

Proving is the expensive step (seconds per block against microseconds per command), so the
sequencer never waits for it: sealed blocks become jobs, workers prove them concurrently,
and results come back **in block order** for the publisher, whatever order they finish in.

* Each worker loads the proving key once (``proofs.circom.compile_circuit``, cached keys) and
  keeps it for every job: key loading costs seconds, a proof of a small block less.
* A worker that dies (killed, out of memory) breaks nothing: its unfinished jobs are
  submitted again to a fresh pool and proved there.
* A job whose witness does not satisfy the circuit is a ``ProofFailure`` in the result
  stream: the block is not provable, which the publisher must treat as a halt, not a retry.
* Workers run at background CPU priority by default (``priority="background"``,
  ``SCHED_IDLE``: ``venue.priority``), so a proof never delays an order's ack on a shared
  machine; ``priority="normal"`` on a host whose cores are the provers' own.
* Backends: ``local`` (a process pool on this machine, the default) and ``ray://host:port``
  (the same worker as Ray actors on an existing Ray cluster; ``pip install ray``).

Job inputs are plain dicts of ints / nested lists, and the expected public signals: the
worker's proof is verified against them before it is returned (groth16py does not check
constraints while proving, see ``proofs.circom``).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import msgspec

from .priority import Priority, apply_priority, check_priority

__all__ = ["ProofFailure", "ProofResult", "ProverPool"]


class ProofResult(msgspec.Struct, frozen=True):
    height: int
    proof: bytes
    public_signals: tuple[int, ...]
    prove_seconds: float
    worker: str


class ProofFailure(msgspec.Struct, frozen=True):
    height: int
    error: str


class _Job(msgspec.Struct, frozen=True):
    height: int
    inputs: dict[str, Any]
    public_signals: tuple[int, ...]


# --- the worker (runs in each pool process or Ray actor) ---------------------------------

_circuit = None
_load_seconds = 0.0


def _init_worker(source: str, cache_dir: str | None, priority: str = "background") -> None:
    global _circuit, _load_seconds
    from proofs.circom import compile_circuit

    apply_priority(priority)  # before the prover starts threads: they inherit it
    t0 = time.perf_counter()
    _circuit = compile_circuit(source, cache_dir=cache_dir)
    _circuit.witness_calculator()  # compile the witness .wasm now, not in the first proof
    _load_seconds = time.perf_counter() - t0


def _prove(job: _Job) -> ProofResult | ProofFailure:
    from proofs.circom import UnsatisfiedWitnessError

    assert _circuit is not None, "worker not initialised"
    t0 = time.perf_counter()
    try:
        proof = _circuit.prove(job.inputs, job.public_signals)
    except UnsatisfiedWitnessError as exc:
        return ProofFailure(job.height, f"unsatisfied: {exc}")
    except Exception as exc:  # malformed inputs: the witness builder's bug, report it
        return ProofFailure(job.height, f"{type(exc).__name__}: {exc}")
    return ProofResult(
        job.height, proof, job.public_signals, time.perf_counter() - t0, f"pid {os.getpid()}"
    )


def _worker_info() -> tuple[int, float]:
    return os.getpid(), _load_seconds


class _RayActor:
    """The same worker as a Ray actor (wrapped with ``ray.remote`` at pool start)."""

    def __init__(self, source: str, cache_dir: str | None, priority: str) -> None:
        _init_worker(source, cache_dir, priority)

    def prove(self, job: _Job) -> ProofResult | ProofFailure:
        return _prove(job)


# --- the pool ---------------------------------------------------------------------------


class ProverPool:
    """Proves jobs concurrently; ``results()`` yields them in height order."""

    def __init__(
        self,
        circuit: str | os.PathLike[str],
        *,
        workers: int = 2,
        cache_dir: str | os.PathLike[str] | None = None,
        backend: str = "local",
        first_height: int = 1,
        priority: Priority = "background",
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.priority = check_priority(priority)
        self.source = str(Path(circuit).resolve())
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.workers = workers
        self.backend = backend
        self._next = first_height
        self._jobs: dict[int, _Job] = {}
        self._done: dict[int, ProofResult | ProofFailure] = {}
        self.restarts = 0
        if backend == "local":
            self._executor = self._new_executor()
            self._futures: dict[cf.Future, int] = {}
        elif backend.startswith("ray://") or backend == "ray":
            self._start_ray(backend)
        else:
            raise ValueError(f"unknown prover backend {backend!r} (local, ray://host:port)")

    # local -----------------------------------------------------------------------------

    def _new_executor(self) -> cf.ProcessPoolExecutor:
        # spawn: the venue process runs threads (event loop, executors); forking it is unsafe
        return cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.source, self.cache_dir, self.priority),
        )

    def worker_info(self) -> list[tuple[int, float]]:
        """(pid, key load seconds) of the local workers (starts them if idle)."""
        futs = [self._executor.submit(_worker_info) for _ in range(self.workers)]
        return sorted({f.result() for f in futs})

    def worker_pids(self) -> list[int]:
        procs = getattr(self._executor, "_processes", None) or {}
        return sorted(procs)

    # ray -------------------------------------------------------------------------------

    @property
    def _actor_args(self) -> tuple[str, str | None, str]:
        return (self.source, self.cache_dir, self.priority)

    def _start_ray(self, backend: str) -> None:
        import ray  # optional dependency

        address = None if backend == "ray" else backend
        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True)
        self._ray = ray
        actor = ray.remote(_RayActor)
        self._actor_cls = actor
        self._actors = [actor.remote(*self._actor_args) for _ in range(self.workers)]
        self._refs: dict[Any, tuple[int, int]] = {}  # object ref -> (height, actor index)
        self._rr = 0

    # common ----------------------------------------------------------------------------

    def submit(self, height: int, inputs: Mapping[str, Any], public_signals: Sequence[int]) -> None:
        """Queue a block's proof; returns at once."""
        if height in self._jobs or height in self._done or height < self._next:
            raise ValueError(f"block {height} was already submitted")
        job = _Job(height, dict(inputs), tuple(int(x) for x in public_signals))
        self._jobs[height] = job
        self._dispatch(job)

    def _dispatch(self, job: _Job) -> None:
        if self.backend == "local":
            self._futures[self._executor.submit(_prove, job)] = job.height
        else:
            i = self._rr % len(self._actors)
            self._rr += 1
            self._refs[self._actors[i].prove.remote(job)] = (job.height, i)

    @property
    def pending(self) -> int:
        return len(self._jobs)

    def _collect(self, timeout: float | None) -> None:
        if self.backend == "local":
            self._collect_local(timeout)
        else:
            self._collect_ray(timeout)

    def _collect_local(self, timeout: float | None) -> None:
        if not self._futures:
            return
        done, _ = cf.wait(self._futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        broken = False
        for fut in done:
            height = self._futures.pop(fut)
            try:
                res = fut.result()
            except BrokenProcessPool:
                broken = True
                continue
            self._finish(height, res)
        if broken:
            # A worker died: every unfinished job goes to a fresh pool.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            self._futures.clear()
            self.restarts += 1
            for job in sorted(self._jobs.values(), key=lambda j: j.height):
                self._dispatch(job)

    def _collect_ray(self, timeout: float | None) -> None:
        ray = self._ray
        if not self._refs:
            return
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        for ref in ready:
            height, i = self._refs.pop(ref)
            try:
                res = ray.get(ref)
            except ray.exceptions.RayActorError:
                self._actors[i] = self._actor_cls.remote(*self._actor_args)
                self.restarts += 1
                self._dispatch(self._jobs[height])
                continue
            self._finish(height, res)

    def _finish(self, height: int, res: ProofResult | ProofFailure) -> None:
        self._jobs.pop(height, None)
        self._done[height] = res

    def results(self, timeout: float | None = None) -> Iterator[ProofResult | ProofFailure]:
        """Yield finished proofs in height order, waiting for the next one while jobs remain.

        Stops when nothing is pending, or when ``timeout`` seconds pass without the next
        height becoming available.
        """
        while True:
            while self._next in self._done:
                yield self._done.pop(self._next)
                self._next += 1
            if not self._jobs:
                return
            t0 = time.monotonic()
            self._collect(timeout)
            if self._next not in self._done and timeout is not None:
                if time.monotonic() - t0 >= timeout:
                    return

    def close(self) -> None:
        """Stop the workers now: proofs in flight are abandoned, not waited for (a production
        proof takes a minute, and a venue asked to stop should not wait for it; whoever
        submits the block next proves it again)."""
        if self.backend == "local":
            # ProcessPoolExecutor has no public way to stop a running task before 3.14
            # (terminate_workers), so its workers are terminated by hand.
            procs = list((getattr(self._executor, "_processes", None) or {}).values())
            self._executor.shutdown(wait=False, cancel_futures=True)
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.join()
            self._executor.shutdown(wait=True)
        else:
            for a in self._actors:
                self._ray.kill(a)

    def __enter__(self) -> ProverPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
