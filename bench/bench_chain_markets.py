"""On-chain gas of a venue of two markets (``MarketCommitments`` + ``BlockVerifierM``) against
one market (``StateCommitments`` + ``BlockVerifier``), the same blocks, the same run.

``python -m bench.bench_chain_markets [--blocks 6] [--json FILE]`` seals and proves two small
venues with ``bench.bench_chain``'s workload (accounts, then a block per round of a resting
ask and a crossing bid in market 1; test-size circuits, 2 prover workers): one of one market,
one of two (``default_markets(2)``: market 2 is untouched, its price carried each block). It
publishes every block alone on a fresh deployment of each (the median leaves out block 1,
which writes a fresh deployment's first storage), then blocks 2 .. N in one ``submitBlocks``.
In optimistic mode (``OptimisticCommitments`` against ``OptimisticMarketCommitments``) it
proposes every block, proves block 2 early, finalizes the rest after the window, and
refutes, on a second deployment, a proposal of block 1 whose last market's TWAP accumulator
is one off (medians over blocks 3 .. N for ``propose`` and ``finalize``); on a third
deployment, blocks 2 .. N proposed in one ``proposeBlocks`` and all N final in one
``finalizeThrough`` (gas per block).
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
from oracle.optimistic import Optimistic, advance_time, deploy_optimistic
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
        **_optimistic_gas(chain, vk, blocks),
    }


def _optimistic_gas(chain: Any, vk: Any, blocks: list[tuple[Any, bytes]]) -> dict[str, int]:
    """Gas of optimistic mode on the same blocks: propose each, prove block 2 early, finalize
    the rest after the window; then, on a fresh deployment, a challenge of block 1."""
    op = chain.accounts[1]

    def venue() -> Optimistic:
        d = deploy_optimistic(
            chain, vk, start=blocks[0][0], operator=op, bond=10**18, challenge_window=60
        )
        opt = Optimistic.of(chain, d)
        opt.post_bond(sender=op)
        return opt

    opt = venue()
    propose = [opt.propose(h, sender=op).gas_used for h, _ in blocks]
    prove = opt.prove_early(2, blocks[1][1]).gas_used  # block 1 is pending: final later
    advance_time(chain, 61)
    final = [opt.finalize(h.height).gas_used for h, _ in blocks]
    # the same blocks in groups: block 1 alone (a fresh deployment's first storage), the rest
    # in one proposeBlocks, and all of them final in one finalizeThrough
    grouped = venue()
    grouped.propose(blocks[0][0], sender=op)
    rest = [h for h, _ in blocks[1:]]
    group_gas = grouped.propose_blocks(rest, sender=op)[1].gas_used
    advance_time(chain, 61)
    through = grouped.finalize_through(len(blocks))[1].gas_used
    (h1, p1), fraud = blocks[0], venue()
    last = h1.markets[-1]
    bad = msgspec.structs.replace(last, cum_price_time=last.cum_price_time + 1)
    fraud.propose(msgspec.structs.replace(h1, markets=(*h1.markets[:-1], bad)), sender=op)
    return {
        "optimistic_propose_gas_p50": int(statistics.median(propose[2:])),
        "optimistic_prove_early_gas": prove,
        "optimistic_finalize_gas_p50": int(statistics.median(final[2:])),
        "optimistic_challenge_gas": fraud.challenge(1, h1, p1).gas_used,
        "optimistic_propose_blocks": len(rest),
        "optimistic_propose_blocks_gas_per_block": group_gas // len(rest),
        "optimistic_finalize_through_blocks": len(blocks),
        "optimistic_finalize_through_gas_per_block": through // len(blocks),
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
    for key in (
        "single_submit_gas_p50", "group_gas_per_block", "optimistic_propose_gas_p50",
        "optimistic_prove_early_gas", "optimistic_finalize_gas_p50", "optimistic_challenge_gas",
        "optimistic_propose_blocks_gas_per_block", "optimistic_finalize_through_gas_per_block",
    ):  # fmt: skip
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
