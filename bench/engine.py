"""Engine, block and replay benchmarks on the standard workload (``venue.workload``).

Benchmarks are hard and this one is synthetic: one seeded command mix, one machine, written by
the people who wrote the engine. Run it yourself: ``python -m bench engine [--commands N]``.

What is measured, all in one process and one run, so ratios compare like with like:
  * matching only (no journal, no hashing, no network): reference engine ``process`` per
    command; Cython engine ``process`` per command; Cython ``process_batch`` per 64-command
    block. Ops/s and the ratio to the reference.
  * block sealing: ``end_block`` + state diff + Poseidon root update, per 64-command block
    (p50/p95 ms), measured on a window of the same workload.
  * replay: re-executing stored blocks with roots, per engine (commands/s).
Commands are generated before timing; ``gc.collect()`` runs before each timed section.
"""

from __future__ import annotations

import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from matching import BlockBuilder, CEngine, Command, ReferenceEngine, replay_block
from proofs.state import PoseidonState
from venue.workload import Workload

__all__ = ["run"]

BLOCK = 64


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _matching(
    engine_cls: type, genesis: Sequence[Command], cmds: Sequence[Command], batch: bool
) -> tuple[float, int]:
    eng = engine_cls(Workload().markets)
    eng.process_batch(genesis)

    def go() -> int:
        n_events = 0
        if batch:
            for i in range(0, len(cmds), BLOCK):
                n_events += len(eng.process_batch(cmds[i : i + BLOCK]))
        else:
            process = eng.process
            for c in cmds:
                n_events += len(process(c))
        return n_events

    secs, n_events = _timed(go)
    resting = sum(len(eng.book(1, s)) for s in (1, 2))
    return secs, n_events if resting >= 0 else 0


def _sealing(
    genesis: Sequence[Command], cmds: Sequence[Command], blocks: int, depths: tuple[int, int]
) -> dict[str, float]:
    """Per-block seal time (end_block + diff + roots) with a warmed-up book."""
    w = Workload()
    eng = (CEngine or ReferenceEngine)(w.markets)
    com = PoseidonState(w.markets, account_depth=depths[0], order_depth=depths[1])
    bb = BlockBuilder(eng, com, max_commands=10**9, max_interval_ns=1 << 62)
    bb.submit_many(genesis)
    warm = len(cmds) - blocks * BLOCK
    for c in cmds[:warm]:
        eng.process(c)
    bb.seal(eng.last_ts)  # the warm-up prefix becomes one big block: the book holds its orders
    times = []
    for b in range(blocks):
        chunk = cmds[warm + b * BLOCK : warm + (b + 1) * BLOCK]
        for c in chunk:
            bb.submit(c)
        gc.collect()
        t0 = time.perf_counter()
        bb.seal()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(len(times) * 0.95) - 1],
        "max_ms": times[-1],
        "resting_orders": sum(len(eng.book(1, s)) for s in (1, 2)),
    }


def _replay(engine_cls: type, blocks: list, markets: tuple, depths: tuple[int, int]) -> float:
    eng = engine_cls(markets)
    com = PoseidonState(markets, account_depth=depths[0], order_depth=depths[1])

    def go() -> None:
        parent = 0
        for b in blocks:
            _, mismatch = replay_block(eng, com, b, parent)
            assert mismatch is None, mismatch
            parent = com.header_hash(b.header)

    return _timed(go)[0]


def run(
    commands: int = 1_000_000,
    seal_blocks: int = 200,
    replay_commands: int = 20_000,
    depths: tuple[int, int] = (16, 14),
) -> dict[str, Any]:
    w = Workload(42, accounts=1_000, target_resting=6_000)
    genesis = w.genesis()
    cmds = list(w.commands(commands))
    out: dict[str, Any] = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "msgspec": msgspec.__version__,
        },
        "commands": commands,
        "block_commands": BLOCK,
        "tree_depths": {"accounts": depths[0], "orders": depths[1]},
    }
    secs, n_ev = _matching(ReferenceEngine, genesis, cmds, batch=False)
    ref = commands / secs
    out["reference_ops"] = ref
    out["events"] = n_ev
    if CEngine is not None:
        secs, n_ev2 = _matching(CEngine, genesis, cmds, batch=False)
        out["cython_call_ops"] = commands / secs
        out["cython_call_ratio"] = out["cython_call_ops"] / ref
        secs, n_ev3 = _matching(CEngine, genesis, cmds, batch=True)
        out["cython_batch_ops"] = commands / secs
        out["cython_batch_ratio"] = out["cython_batch_ops"] / ref
        assert n_ev == n_ev2 == n_ev3, "engines disagree on the event count"
    out["seal_per_block"] = _sealing(genesis, cmds[: min(commands, 100_000)], seal_blocks, depths)

    # replay: build blocks for a prefix, then re-execute them with each engine
    rw = Workload(7, accounts=1_000, target_resting=6_000)
    eng = (CEngine or ReferenceEngine)(rw.markets)
    com = PoseidonState(rw.markets, account_depth=depths[0], order_depth=depths[1])
    bb = BlockBuilder(eng, com, max_commands=BLOCK)
    blocks = bb.submit_many(rw.genesis() + list(rw.commands(replay_commands)))
    n = sum(len(b.commands) for b in blocks)
    out["replay_reference_cmds"] = n / _replay(ReferenceEngine, blocks, rw.markets, depths)
    if CEngine is not None:
        out["replay_cython_cmds"] = n / _replay(CEngine, blocks, rw.markets, depths)
    return out


def main(argv: Sequence[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m bench engine")
    p.add_argument("--commands", type=int, default=1_000_000)
    p.add_argument("--seal-blocks", type=int, default=200)
    p.add_argument("--replay-commands", type=int, default=20_000)
    p.add_argument("--json", help="also write the raw results here")
    a = p.parse_args(argv)
    res = run(a.commands, a.seal_blocks, a.replay_commands)
    text = json.dumps(res, indent=2, default=float)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    return 0
