"""Proving benchmark: the v1 block circuit at test size on real venue blocks.

``python -m bench.bench_prover [--blocks N]`` builds a venue the way the demo does (FIX clients
trading through the gateway, 4-command blocks), then proves its first N blocks twice: with one
prover worker and with two. It reports per-block proving time (p50/p95, one core, witness
generation included), proved commands per core-second, the wall time of each run, the scaling
efficiency ``T1 / (2 · T2)``, the key load time of a worker, and Python verification time.
Witness building (Python) is measured separately. Results are printed as JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from matching import Block
from matching.encoding import decoder
from proofs.verify import verify_block
from proofs.witness import BlockProverState
from venue.blockstore import BlockStore
from venue.demo import PROVABLE_GENESIS, trade_over_gateway
from venue.prover import ProofResult, ProverPool
from venue.proving import circuit_for

__all__ = ["run"]


def _blocks(data: Path, n: int) -> list[Block]:
    store = BlockStore(data / "blocks", first_height=1)
    try:
        dec = decoder(Block)
        return [dec.decode(p) for h, p in store.iter_from(1) if h <= n]
    finally:
        store.close()


def _prove(circuit_wrapper: Path, jobs: list, workers: int) -> tuple[float, float, list]:
    with ProverPool(circuit_wrapper, workers=workers) as pool:
        t0 = time.perf_counter()
        info = pool.worker_info()  # start workers: key loading, measured separately
        load = max(w.key_load_s for w in info)
        t1 = time.perf_counter()
        for h, w in jobs:
            pool.submit(h, w.inputs, w.public_signals)
        results = list(pool.results())
        wall = time.perf_counter() - t1
        assert all(isinstance(r, ProofResult) for r in results), results
        del t0
    return wall, load, results


def run(blocks: int = 12) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="pb-bench-prover-") as tmp:
        data = Path(tmp) / "venue"
        trade_over_gateway(data, traders=6, rounds=max(2, blocks // 2), seed=7)
        chain = _blocks(data, blocks)
    circuit = circuit_for(PROVABLE_GENESIS)  # the test size, signed like the demo venue
    circuit.compile()
    state = BlockProverState(
        PROVABLE_GENESIS.markets[0],
        order_depth=circuit.size.order_depth,
        account_depth=circuit.size.account_depth,
    )
    t0 = time.perf_counter()
    jobs = [(b.header.height, state.advance(b, circuit.params)) for b in chain]
    witness_s = (time.perf_counter() - t0) / len(jobs)
    commands = sum(len(b.commands) for b in chain)
    wall1, load1, res1 = _prove(circuit.wrapper, jobs, 1)
    wall2, load2, res2 = _prove(circuit.wrapper, jobs, 2)
    secs = sorted(r.prove_seconds for r in res1 + res2)
    vk = circuit.verifying_key
    t0 = time.perf_counter()
    for b, r in zip(chain, res2, strict=True):
        assert verify_block(b.header, r.proof, vk)
    verify_ms = (time.perf_counter() - t0) * 1e3 / len(chain)
    return {
        "circuit": f"Block{circuit.size.name}",
        "constraints": circuit.compile().constraints,
        "blocks": len(chain),
        "commands": commands,
        "witness_build_s_per_block": round(witness_s, 4),
        "prove_s_p50": round(statistics.median(secs), 2),
        "prove_s_p95": round(secs[max(0, int(len(secs) * 0.95) - 1)], 2),
        # apart: whether two proofs side by side each take longer on the shared cores
        "prove_s_p50_1_worker": round(statistics.median(r.prove_seconds for r in res1), 2),
        "prove_s_p50_2_workers": round(statistics.median(r.prove_seconds for r in res2), 2),
        "commands_per_core_second": round(commands / sum(r.prove_seconds for r in res1), 3),
        "wall_1_worker_s": round(wall1, 1),
        "wall_2_workers_s": round(wall2, 1),
        "scaling_efficiency_1_to_2": round(wall1 / (2 * wall2), 3),
        "key_load_s": round(max(load1, load2), 1),
        "python_verify_ms": round(verify_ms, 2),
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m bench.bench_prover")
    p.add_argument("--blocks", type=int, default=12)
    a = p.parse_args(argv)
    print(json.dumps(run(a.blocks), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
