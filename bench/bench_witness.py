"""Witness generation: groth16py's interpreter against the circuit's .wasm under wasmtime.

For each block, in one process with the proving key loaded once, alternately:

* **before**: ``groth16py.prove(pk, inputs)``, which runs the circuit's ``.wasm`` under wasmi
  (an interpreter) and then proves;
* **after**: ``CompiledCircuit.prove``, which computes the witness with wasmtime
  (``proofs.wasmwitness``) and proves it with ``groth16py.prove_wtns``; its two parts are timed
  apart.

Every proof is verified against the block's public signals. Sizes: ``test`` is the signed
test-size circuit on demo venue blocks (``bench.bench_prover``'s blocks); ``production`` the
signed production circuit on workload blocks (``bench.bench_prover_production``'s, whose first
run sets the circuit up, minutes). Run::

    PYTHONPATH=. python -m bench.bench_witness [--size test|production] [--blocks 6]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import groth16py

from bench import emit
from proofs.circom import CompiledCircuit
from proofs.verify import BlockCircuit
from proofs.wasmwitness import write_wtns

__all__ = ["run"]


def _test_jobs(blocks: int) -> tuple[BlockCircuit, list]:
    from bench.bench_prover import _blocks
    from proofs.witness import BlockProverState
    from venue.demo import PROVABLE_GENESIS, trade_over_gateway
    from venue.proving import circuit_for

    with tempfile.TemporaryDirectory(prefix="pb-bench-witness-") as tmp:
        data = Path(tmp) / "venue"
        trade_over_gateway(data, traders=6, rounds=max(2, blocks // 2), seed=7)
        chain = _blocks(data, blocks)
    circuit = circuit_for(PROVABLE_GENESIS)
    state = BlockProverState(
        PROVABLE_GENESIS.markets[0],
        order_depth=circuit.size.order_depth,
        account_depth=circuit.size.account_depth,
    )
    return circuit, [state.advance(b, circuit.params) for b in chain]


def _production_jobs(blocks: int) -> tuple[BlockCircuit, list]:
    from bench.bench_prover_production import MATCHES, production_blocks
    from proofs.verify import PRODUCTION_SIZE
    from venue.proving import WRAPPER_DIR, ensure_keys

    chain, state = production_blocks(250, blocks, PRODUCTION_SIZE)
    circuit = BlockCircuit(
        state.config, PRODUCTION_SIZE, max_matches=MATCHES, wrapper_dir=WRAPPER_DIR,
        cache_dir=None,
    )  # fmt: skip
    ensure_keys(circuit)
    return circuit, [state.advance(b, circuit.params) for b in chain]


def _timed_wasm(c: CompiledCircuit, inputs: dict, public: list[int]) -> tuple[float, float, bool]:
    calc = c.witness_calculator()
    assert calc is not None, "the circuit has no cached .wasm"
    t0 = time.perf_counter()
    witness = calc.compute(inputs)
    t1 = time.perf_counter()
    with tempfile.NamedTemporaryFile(suffix=".wtns") as f:
        write_wtns(f.name, witness)
        proof = groth16py.prove_wtns(c.proving_key, f.name)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, c.verify(proof, public)


def run(size: str = "test", blocks: int = 6) -> dict[str, object]:
    circuit, jobs = (_test_jobs if size == "test" else _production_jobs)(blocks)
    t0 = time.perf_counter()
    c = circuit.compile()
    key_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    c.witness_calculator()
    wasm_compile = time.perf_counter() - t0
    before, witness, prove_wtns = [], [], []
    for i, w in enumerate(jobs):
        t0 = time.perf_counter()
        proof = groth16py.prove(c.proving_key, dict(w.inputs))
        before.append(time.perf_counter() - t0)
        assert c.verify(proof, w.public_signals), "groth16py's proof does not verify"
        ws, ps, ok = _timed_wasm(c, w.inputs, w.public_signals)
        assert ok, "the wasmtime witness's proof does not verify"
        witness.append(ws)
        prove_wtns.append(ps)
        line = f"groth16py.prove {before[-1]:.2f} s, wasmtime {ws:.2f} s + prove_wtns {ps:.2f} s"
        print(f"  block {i + 1}/{len(jobs)}: {line}", file=sys.stderr, flush=True)
    after = [a + b for a, b in zip(witness, prove_wtns, strict=True)]
    p50 = statistics.median
    return {
        "circuit": f"Block{circuit.size.name}",
        "constraints": c.constraints,
        "wires": c.stats.wires,
        "blocks": len(jobs),
        "key_load_s": round(key_load, 1),
        "wasm_compile_s": round(wasm_compile, 2),
        "groth16py_prove_s_p50": round(p50(before), 2),
        "wasmtime_witness_s_p50": round(p50(witness), 3),
        "prove_wtns_s_p50": round(p50(prove_wtns), 2),
        "wasmtime_total_s_p50": round(p50(after), 2),
        "interpreted_witness_s_p50_estimate": round(p50(before) - p50(prove_wtns), 2),
        "after_over_before": round(p50(after) / p50(before), 3),
        "per_block_ratios": [round(a / b, 3) for a, b in zip(after, before, strict=True)],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_witness")
    p.add_argument("--size", choices=("test", "production"), default="test")
    p.add_argument("--blocks", type=int, default=6)
    p.add_argument("--json", type=Path, help="also write the result to this file")
    a = p.parse_args(argv)
    emit(run(a.size, a.blocks), a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
