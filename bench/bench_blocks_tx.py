"""Several proven blocks per transaction: on-chain gas per block of ``submitBlocks`` (each block
with its own single proof, one pairing check for all), against ``submitBlock`` measured in the
same run.

``python -m bench.bench_blocks_tx [--ks 2,4,8,16] [--json FILE]`` seals and proves a small
venue (``bench.bench_chain``'s: accounts, then one block per round of a resting ask and a
crossing bid; 1 + max(K) blocks, test-size circuit, 2 prover workers), publishes every block
alone on one deployment (the baseline), then for each K, on a fresh deployment, block 1 alone
and blocks 2 .. K + 1 in one ``submitBlocks``. Gas is exact: the figures do not depend on the
machine. No proof is made again for the groups, so the proving time is the baseline's.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from oracle.chain import open_chain
from oracle.deploy import deploy_venue
from oracle.publish import Publisher
from venue.proving import circuit_for

from .bench_batch import sweep_main
from .bench_chain import GENESIS, _venue

__all__ = ["run"]


def run(ks: list[int]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        blocks = _venue(Path(tmp) / "venue", 1 + max(ks))
        vk = circuit_for(GENESIS).verifying_key
        chain_kind = "anvil" if shutil.which("npm") is not None else "embedded"
        out: dict[str, Any] = {"chain": chain_kind, "blocks": len(blocks), "groups": []}
        with open_chain(chain_kind) as chain:
            pub = Publisher(chain, deploy_venue(chain, vk, start=blocks[0][0]))
            gas = [pub.publish(h, p).gas_used for h, p in blocks]
            # block 1 writes the first storage of a fresh deployment: leave it out
            single = int(statistics.median(gas[1:]))
            out["single_submit_gas_p50"] = single
            for k in ks:
                pub = Publisher(chain, deploy_venue(chain, vk, start=blocks[0][0]))
                pub.publish(*blocks[0])
                group = blocks[1 : k + 1]
                landed = pub.publish_blocks([h for h, _ in group], [p for _, p in group])
                out["groups"].append({
                    "k": k,
                    "submit_gas": landed.gas_used,
                    "gas_per_block": landed.gas_per_block,
                    "gas_per_block_vs_single": landed.gas_per_block / single,
                })  # fmt: skip
        return out


def main(argv: list[str]) -> int:
    return sweep_main(argv, __doc__, run, "2,4,8,16")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
