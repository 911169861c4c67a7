"""Batches of K blocks per proof: on-chain gas per block and proving time per block, against
single blocks measured in the same run.

``python -m bench.bench_batch [--ks 2,4,8] [--json FILE]`` seals a small venue (accounts, then
one block per round of a resting ask and a crossing bid: ``bench.bench_chain``'s venue, 1 +
max(K) blocks), proves every block with the test-size block circuit (the baseline), then for
each K compiles the batch circuit (keys cached), proves blocks 2 .. K + 1 as one batch and, on
a fresh deployment, publishes block 1 alone and the batch with ``submitBatch``. Gas is exact;
times are wall clock on a shared machine, so compare them only within one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import emit
from matching import Block
from matching.encoding import decoder
from oracle.chain import open_chain
from oracle.deploy import deploy_venue
from oracle.publish import Publisher
from proofs.batch import BatchCircuit, verify_batch
from proofs.circom import circuit_stats
from proofs.witness import BlockProverState
from venue.blockstore import BlockStore
from venue.proving import circuit_for

from .bench_chain import GENESIS, _venue

__all__ = ["run"]


def run(ks: list[int]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "venue"
        blocks = _venue(data, 1 + max(ks))
        block = circuit_for(GENESIS)
        dec = decoder(Block)
        with BlockStore(data / "blocks", first_height=1, read_only=True) as store:
            raw = [dec.decode(p) for _, p in store.iter_from(1)]
        state = BlockProverState(
            block.params.market, order_depth=block.size.order_depth,
            account_depth=block.size.account_depth,
        )  # fmt: skip
        witnesses = [state.advance(b, block.params) for b in raw]
        single_s = []
        for w in witnesses[1:]:
            t0 = time.perf_counter()
            block.prove(w)
            single_s.append(time.perf_counter() - t0)
        chain_kind = "anvil" if _has_anvil() else "embedded"
        out: dict[str, Any] = {
            "block_size": block.size.name,
            "block_constraints": circuit_stats(block.write_wrapper()).constraints,
            "chain": chain_kind,
            "single_prove_s_per_block_p50": statistics.median(single_s),
            "batches": [],
        }
        with open_chain(chain_kind) as chain:
            d = deploy_venue(chain, block.verifying_key, start=blocks[0][0])
            pub = Publisher(chain, d)
            gas = [pub.publish(h, p).gas_used for h, p in blocks]
            out["single_submit_gas_p50"] = int(statistics.median(gas[1:]))
            for k in ks:
                circuit = BatchCircuit(block, k)
                t0 = time.perf_counter()
                circuit.compile()
                setup_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                proof = circuit.prove(witnesses[1 : k + 1])
                prove_s = time.perf_counter() - t0
                headers = [b.header for b in raw[1 : k + 1]]
                assert verify_batch(headers, proof, circuit.verifying_key)
                d = deploy_venue(
                    chain, block.verifying_key, start=blocks[0][0], batch_vk=circuit.verifying_key
                )
                pub = Publisher(chain, d)
                pub.publish(*blocks[0])
                landed = pub.publish_batch(headers, proof)
                out["batches"].append({
                    "k": k,
                    "constraints": circuit.compile().stats.constraints,
                    "setup_s_cold_or_cached": setup_s,
                    "prove_s": prove_s,
                    "prove_s_per_block": prove_s / k,
                    "submit_gas": landed.gas_used,
                    "gas_per_block": landed.gas_per_block,
                    "gas_per_block_vs_single": landed.gas_per_block / out["single_submit_gas_p50"],
                })  # fmt: skip
        return out


def _has_anvil() -> bool:
    import shutil

    return shutil.which("npm") is not None


def sweep_main(
    argv: list[str], doc: str, run: Callable[[list[int]], dict[str, Any]], ks: str
) -> int:
    """The command line of a bench that sweeps K (``--ks``, ``--json``): prints the figures."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--ks", default=ks, help="values of K, comma-separated")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    emit(run([int(k) for k in args.ks.split(",")]), args.json, indent=1)
    return 0


def main(argv: list[str]) -> int:
    return sweep_main(argv, __doc__, run, "2,4,8")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
