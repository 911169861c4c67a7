"""The prover pool's fixed costs: starting its workers, and replacing one that dies.

Two designs, measured in the same run on the same blocks, one after the other:

* **before** (sessions 1-13): a ``ProcessPoolExecutor`` of spawned workers, each loading the
  proving key itself (``venue.prover._init_worker``); a dead worker breaks the executor, so a
  new one is made and every unfinished job goes to it (what ``ProverPool`` did until now);
* **after**: ``ProverPool``, whose workers are forked from one process that loaded the key
  (``venue/prover.py``, "the local backend").

For each, with two workers: the seconds until both can prove, the CPU seconds that took (all
the pool's processes, read from ``/proc``), the memory of the pool's processes (proportional
set size, which splits a page shared by several processes among them), the p50 of a proof,
and the recovery: two blocks are submitted, one worker is killed ``--kill-after`` seconds into
its proof, and the time from the kill until both proofs are back, less one proof's p50, is the
time the death cost. Every proof is verified. Run::

    PYTHONPATH=. python -m bench.bench_prover_pool [--size test|production] [--json FILE]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import os
import signal
import statistics
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from bench import emit
from venue.prover import ProofResult, ProverPool, _init_worker, _Job, _prove

__all__ = ["run"]

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def _pss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total / 1024


def _pid_after(delay: float) -> int:
    time.sleep(delay)  # holds this worker so that the next call starts the other one
    return os.getpid()


class _Before:
    """Session 13's local pool: spawned workers that each load the key; a death breaks the
    executor, and its unfinished jobs go to a new one."""

    def __init__(self, source: str, cache_dir: str | None, workers: int) -> None:
        self.args = (source, cache_dir, "background")
        self.workers = workers
        self.executor = self._new()

    def _new(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=self.args,
        )

    def start(self) -> list[int]:
        pids: set[int] = set()
        while len(pids) < self.workers:  # until every worker has loaded and answered
            futs = [self.executor.submit(_pid_after, 0.5) for _ in range(self.workers)]
            pids |= {f.result() for f in futs}
        return sorted(pids)

    def pids(self) -> list[int]:
        return sorted(self.executor._processes)  # type: ignore[attr-defined]

    def prove_all(self, jobs: list[_Job], kill_after: float | None = None) -> list[Any]:
        futs = {self.executor.submit(_prove, j): j for j in jobs}
        if kill_after is not None:
            time.sleep(kill_after)
            os.kill(self.pids()[0], signal.SIGKILL)
        done: list[Any] = []
        while futs:
            finished, _ = cf.wait(futs, return_when=cf.FIRST_COMPLETED)
            broken = False
            for f in finished:
                job = futs.pop(f)
                try:
                    done.append(f.result())
                except BrokenProcessPool:
                    futs[f] = job
                    broken = True
            if broken:
                self.executor.shutdown(wait=False, cancel_futures=True)
                self.executor = self._new()
                futs = {self.executor.submit(_prove, j): j for j in futs.values()}
        return done

    def close(self) -> None:
        for p in list(self.executor._processes.values()):  # type: ignore[attr-defined]
            p.terminate()
        self.executor.shutdown(wait=True, cancel_futures=True)


class _After:
    def __init__(self, source: str, cache_dir: str | None, workers: int) -> None:
        self.pool = ProverPool(source, workers=workers, cache_dir=cache_dir)
        self.height = 0

    def start(self) -> list[int]:
        return [w.pid for w in self.pool.worker_info()]

    def pids(self) -> list[int]:
        z = self.pool.zygote_pid
        return [*([] if z is None else [z]), *self.pool.worker_pids()]

    def prove_all(self, jobs: list[_Job], kill_after: float | None = None) -> list[Any]:
        for j in jobs:
            self.height += 1  # the pool wants consecutive heights
            self.pool.submit(self.height, j.inputs, j.public_signals)
        if kill_after is not None:
            time.sleep(kill_after)
            os.kill(self.pool.worker_pids()[0], signal.SIGKILL)
        return list(self.pool.results())

    def close(self) -> None:
        self.pool.close()


def _measure(kind: type, source: str, cache_dir: str | None, jobs: list[_Job],
             kill_after: float) -> dict[str, float]:  # fmt: skip
    pool = kind(source, cache_dir, 2)
    try:
        t0 = time.perf_counter()
        pool.start()
        ready = time.perf_counter() - t0
        cpu = _cpu_s(pool.pids())
        pss_idle = _pss_mb(pool.pids())
        results = pool.prove_all(jobs)
        assert all(isinstance(r, ProofResult) for r in results), results
        proof = statistics.median(r.prove_seconds for r in results)
        pss_busy = _pss_mb(pool.pids())
        t0 = time.perf_counter()
        again = pool.prove_all(jobs[:2], kill_after=kill_after)
        recovery = time.perf_counter() - t0 - kill_after - proof
        assert all(isinstance(r, ProofResult) for r in again), again
    finally:
        pool.close()
    return {
        "ready_s": round(ready, 1),
        "startup_cpu_s": round(cpu, 1),
        "pss_mb_started": round(pss_idle),
        "pss_mb_after_proofs": round(pss_busy),
        "prove_s_p50": round(proof, 2),
        "death_cost_s": round(recovery, 1),
    }


def run(size: str = "test", blocks: int = 4, kill_after: float = 1.0) -> dict[str, object]:
    from bench.bench_witness import _production_jobs, _test_jobs

    circuit, witnesses = (_test_jobs if size == "test" else _production_jobs)(blocks)
    circuit.compile()  # keys set up and cached before anything is timed
    jobs = [_Job(i + 1, dict(w.inputs), tuple(w.public_signals)) for i, w in enumerate(witnesses)]
    source, cache = str(circuit.wrapper), circuit.cache_dir
    cache_dir = None if cache is None else str(cache)
    out: dict[str, object] = {"circuit": f"Block{circuit.size.name}", "blocks": len(jobs)}
    for name, kind in (("before", _Before), ("after", _After)):
        print(f"  {name} ...", file=sys.stderr, flush=True)
        out[name] = _measure(kind, source, cache_dir, jobs, kill_after)
        print(f"  {name}: {out[name]}", file=sys.stderr, flush=True)
    b, a = out["before"], out["after"]
    assert isinstance(b, dict) and isinstance(a, dict)
    out["after_over_before"] = {k: round(a[k] / b[k], 3) for k in b if b[k]}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_prover_pool")
    p.add_argument("--size", choices=("test", "production"), default="test")
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--kill-after", type=float, default=1.0)
    p.add_argument("--json", type=Path, help="also write the result to this file")
    a = p.parse_args(argv)
    emit(run(a.size, a.blocks, a.kill_after), a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
