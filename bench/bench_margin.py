"""On-chain cost of margin against proven state: the Poseidon hashers and ``ProvenMargin``.

``python -m bench.bench_margin [--json FILE] [--chain embedded|anvil]`` (from the repository
root, ``PYTHONPATH=.``) seals the three-block venue of ``tests/test_it_margin.py`` (an account
under maintenance after the market moves) at the test account depth (4) and at the
production depth (16), makes its blocks final on ``OptimisticCommitments`` (no proof is
needed for a margin check, only a final root), deploys ``ProvenMargin`` and measures,
exactly (gas does not depend on the machine):

- each hasher's gas per call (a transaction: 21,000 of it is the intrinsic cost);
- ``marginOf`` (open + check + figures) and ``triggerLiquidation`` per account depth, and
  the rest of a liquidation episode on the venue of ``seal_liquidated_venue`` (blocks 4 and
  5 leave the account under maintenance, block 6 liquidates it): ``reportOverdue`` at block 5
  (a grace of 2) and ``clearLiquidation`` at block 6;
- wall time of the contract call against ``AccountOpening.state_root()`` in Python and
  against ``latestRoundData`` on the same chain (the baseline, measured in the same run).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from bench import emit
from oracle.artifacts import load_artifact
from oracle.chain import open_chain
from oracle.feed import PriceFeed
from oracle.margin import HASHERS, deploy_margin
from oracle.optimistic import Optimistic, advance_time, finalize_unproven
from tests.test_coverage_proving import UNSIGNED
from tests.test_it_margin import seal_liquidated_venue
from venue.margin import maintenance_rates, open_account
from venue.proving import circuit_for


def _wall(fn: Any, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(chain_kind: str) -> dict[str, Any]:
    vk = circuit_for(UNSIGNED).verifying_key  # no proof is verified: any v1 key will do
    out: dict[str, Any] = {"chain": chain_kind}
    with open_chain(chain_kind) as chain:
        for name in HASHERS:
            c = chain.deploy(load_artifact(name))
            n = int(name[-1]) - 1
            receipt = chain.transact(c.functions.poseidon(list(range(1, n + 1))))
            out[f"gas_{name}"] = int(receipt["gasUsed"])
        for depth in (4, 16):
            genesis = msgspec.structs.replace(UNSIGNED, account_depth=depth)
            with tempfile.TemporaryDirectory() as tmp:
                data = Path(tmp)
                headers = seal_liquidated_venue(data, genesis)
                dep = finalize_unproven(chain, vk, headers[:3])
                commitments, feed_address = dep.commitments, dep.feed
                margin = deploy_margin(
                    chain,
                    commitments,
                    account_depth=depth,
                    maintenance_bps=maintenance_rates(genesis),
                    liquidation_grace=2,
                )
                o = open_account(data, 1, height=3)
                feed = PriceFeed(chain, feed_address)
                trigger = margin.trigger_liquidation(o).gas_used
                opt = Optimistic(chain, commitments)
                for h in headers[3:]:
                    opt.propose(h)
                advance_time(chain, dep.challenge_window + 1)
                for h in headers[3:]:
                    opt.finalize(h.height)
                overdue = margin.report_overdue(open_account(data, 1, height=5)).gas_used
                clear = margin.clear_liquidation(open_account(data, 1, height=6)).gas_used
                out[f"depth{depth}"] = {
                    "gas_marginOf": margin.gas_of(o),
                    "gas_triggerLiquidation": trigger,
                    "gas_reportOverdue": overdue,
                    "gas_clearLiquidation": clear,
                    "python_state_root_ms": 1e3 * _wall(o.state_root),
                    "chain_marginOf_ms": 1e3 * _wall(lambda: margin.margin_of(o)),  # noqa: B023
                    "chain_latestRoundData_ms": 1e3 * _wall(feed.latest_round),
                    "gas_latestRoundData": int(
                        feed.contract.functions.latestRoundData().estimate_gas()
                    ),
                }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chain", action="append", help="embedded, anvil (default: both)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    emit([run(kind) for kind in args.chain or ["embedded", "anvil"]], args.json)


if __name__ == "__main__":
    main()
