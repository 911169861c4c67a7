"""On-chain cost of margin against proven state: the Poseidon hashers and ``ProvenMargin``.

``python -m bench.bench_margin [--json FILE] [--chain embedded|anvil]`` seals the three-block
venue of ``tests/test_it_margin.py`` (an account under maintenance after the market moves)
at the test account depth (4) and at the production depth (16), makes its blocks final on
``OptimisticCommitments`` (no proof is needed for a margin check, only a final root), deploys
``ProvenMargin`` and measures, exactly (gas does not depend on the machine):

- each hasher's gas per call (a transaction: 21,000 of it is the intrinsic cost);
- ``marginOf`` (open + check + figures) and ``triggerLiquidation`` per account depth;
- wall time of the contract call against ``AccountOpening.state_root()`` in Python and
  against ``latestRoundData`` on the same chain (the baseline, measured in the same run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from matching import AddAccount, Block, Deposit, OrderType, PlaceOrder, Side, TimeInForce
from matching.encoding import decoder
from oracle.artifacts import load_artifact
from oracle.chain import Chain, open_chain
from oracle.feed import PriceFeed
from oracle.margin import HASHERS, deploy_margin
from oracle.optimistic import Optimistic, deploy_optimistic
from venue.blockstore import BlockStore
from venue.demo import PROVABLE_GENESIS
from venue.margin import maintenance_rates, open_account
from venue.node import Genesis, VenueNode
from venue.proving import circuit_for

UNSIGNED = msgspec.structs.replace(PROVABLE_GENESIS, signed=False)


def _place(account: int, side: Side, price: int, qty: int, tif: TimeInForce) -> PlaceOrder:
    return PlaceOrder(0, 0, account, 1, 0, side, OrderType.LIMIT, tif, price, qty)


BATCHES = [
    [AddAccount(0, 0, 1), Deposit(0, 0, 1, 100_000), AddAccount(0, 0, 2), Deposit(0, 0, 2, 10**9)],
    [AddAccount(0, 0, 3), Deposit(0, 0, 3, 10**9),
     _place(2, Side.SELL, 100_000, 10, TimeInForce.GTC),
     _place(1, Side.BUY, 100_000, 10, TimeInForce.IOC)],
    [_place(3, Side.SELL, 94_000, 1, TimeInForce.GTC),
     _place(2, Side.BUY, 94_000, 1, TimeInForce.IOC)],
]  # fmt: skip


class _Clock:
    def __init__(self) -> None:
        self.t = 4_000_000_000 * 10**9

    def __call__(self) -> int:
        self.t += 700_000_000
        return self.t


def _seal(data: Path, genesis: Genesis) -> list[Any]:
    node = VenueNode(data, genesis, engine="reference", fsync=False, clock=_Clock())
    for batch in BATCHES:
        node.submit(batch)
    node.seal()
    node.close()
    store = BlockStore(data / "blocks", first_height=1)
    try:
        return [decoder(Block).decode(store.get(h)).header for h in (1, 2, 3)]  # type: ignore[arg-type]
    finally:
        store.close()


def _wall(fn: Any, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _finalize(chain: Chain, headers: list[Any], vk: Any) -> tuple[str, str]:
    """Make ``headers`` final on a new optimistic venue: (commitments, feed) addresses."""
    dep = deploy_optimistic(
        chain, vk, start=headers[0], operator=chain.sender(), bond=10**18, challenge_window=60
    )
    opt = Optimistic(chain, dep.commitments)
    opt.post_bond()
    for h in headers:
        opt.propose(h)
    if chain.kind == "embedded":
        chain.w3.testing.timeTravel(int(chain.w3.eth.get_block("pending")["timestamp"]) + 61)
    else:
        chain.w3.provider.make_request("evm_increaseTime", [61])  # type: ignore[arg-type]
        chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    for h in headers:
        opt.finalize(h.height)
    return dep.commitments, dep.feed


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
                headers = _seal(data, genesis)
                commitments, feed_address = _finalize(chain, headers, vk)
                margin = deploy_margin(
                    chain,
                    commitments,
                    account_depth=depth,
                    maintenance_bps=maintenance_rates(genesis),
                )
                o = open_account(data, 1)
                feed = PriceFeed(chain, feed_address)
                out[f"depth{depth}"] = {
                    "gas_marginOf": margin.gas_of(o),
                    "gas_triggerLiquidation": margin.trigger_liquidation(o).gas_used,
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
    results = [run(kind) for kind in args.chain or ["embedded", "anvil"]]
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
