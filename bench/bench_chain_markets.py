"""On-chain gas of a venue of two markets (``MarketCommitments`` + ``BlockVerifierM``) against
one market (``StateCommitments`` + ``BlockVerifier``), the same blocks, the same run.

``python -m bench.bench_chain_markets [--blocks 6] [--json FILE]`` seals and proves two small
venues with ``bench.bench_chain``'s workload (accounts, then a block per round of a resting
ask and a crossing bid in market 1; test-size circuits, 2 prover workers): one of one market,
one of two (``default_markets(2)``: market 2 is untouched, its price carried each block). It
publishes every block alone on a fresh deployment of each (the median leaves out block 1,
which writes a fresh deployment's first storage), then blocks 2 .. N in one ``submitBlocks``.
Gas is exact: the figures do not depend on the machine, so one run is the measurement.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from bench import emit
from oracle.chain import open_chain
from oracle.deploy import deploy_venue
from oracle.publish import Publisher
from venue.proving import circuit_for
from venue.workload import default_markets

from .bench_chain import GENESIS, _venue

__all__ = ["run"]


def _gas(chain: Any, genesis: Any, blocks: list[tuple[Any, bytes]]) -> dict[str, Any]:
    vk = circuit_for(genesis).verifying_key
    pub = Publisher(chain, deploy_venue(chain, vk, start=blocks[0][0]))
    gas = [pub.publish(h, p).gas_used for h, p in blocks]
    pub = Publisher(chain, deploy_venue(chain, vk, start=blocks[0][0]))
    pub.publish(*blocks[0])
    rest = blocks[1:]
    group = pub.publish_blocks([h for h, _ in rest], [p for _, p in rest])
    return {
        "single_submit_gas_p50": int(statistics.median(gas[1:])),
        "group_blocks": len(rest),
        "group_gas_per_block": group.gas_per_block,
    }


def run(n: int) -> dict[str, Any]:
    two = msgspec.structs.replace(GENESIS, markets=default_markets(2))
    chain_kind = "anvil" if shutil.which("npm") is not None else "embedded"
    out: dict[str, Any] = {"chain": chain_kind, "blocks": n}
    with tempfile.TemporaryDirectory() as tmp:
        one_blocks = _venue(Path(tmp) / "one", n)
        two_blocks = _venue(Path(tmp) / "two", n, two)
        with open_chain(chain_kind) as chain:
            out["markets_1"] = _gas(chain, GENESIS, one_blocks)
            out["markets_2"] = _gas(chain, two, two_blocks)
    for key in ("single_submit_gas_p50", "group_gas_per_block"):
        out[f"{key}_ratio_2_to_1"] = out["markets_2"][key] / out["markets_1"][key]
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=6, help="blocks per venue (>= 3)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    emit(run(max(args.blocks, 3)), args.json, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
