"""How soon a block's price is on chain: optimistic mode against validity mode, the same blocks
of one running venue, in the same run.

``python -m bench.bench_price_latency [--blocks 10] [--interval 8] [--workers 2]
[--chain anvil] [--json FILE]`` runs a venue (``bench.bench_chain``'s unsigned test-size
genesis) with both operators at once on one chain:

- validity: ``LiveProver`` (``--workers`` prover processes) and the live publisher
  (``StateCommitments``): a price is on chain, and final, once its block's proof has landed;
- optimistic: ``venue.proposer.LiveProposer`` (``OptimisticCommitments``, another sender): a
  price is on chain, pending, once the block is proposed; it is final after the challenge
  window (a deployment parameter, one hour by default), or once a proof lands with
  ``--prove-early``, which is then the validity figure again.

Every ``--interval`` seconds the venue seals a block holding a resting ask and a crossing IOC
bid (a price). For each block: from durable (the committer's ``on_block``) to pending on chain
(optimistic), to its proof stored, and to on chain and final (validity). Block 1 deploys both
sets of contracts while the provers load their key; it is waited for before the timed blocks
and left out of the figures. With blocks sealed faster than they are proved, validity's
latency grows with the provers' queue and optimistic's does not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import emit
from matching import AddAccount, Deposit, OrderType, PlaceOrder, Side, TimeInForce
from oracle.chain import open_chain
from venue.liveprover import LiveProver
from venue.node import VenueNode
from venue.onchain import live_publisher
from venue.proposer import LiveProposer

from .bench_chain import GENESIS

__all__ = ["run"]


def _pcts(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 3),
        "max": round(ordered[-1], 3),
    }


def run(blocks: int, interval: float, workers: int, chain_spec: str) -> dict[str, Any]:
    stored: dict[int, float] = {}
    proposed: dict[int, float] = {}
    proven: dict[int, float] = {}
    landed: dict[int, float] = {}
    lock = threading.Lock()

    def at(table: dict[int, float], height: int) -> None:
        with lock:
            table.setdefault(height, time.monotonic())

    def place(a: int, side: Side, price: int, tif: TimeInForce) -> PlaceOrder:
        return PlaceOrder(0, 0, a, 1, 0, side, OrderType.LIMIT, tif, price, 2)

    with tempfile.TemporaryDirectory() as tmp, open_chain(chain_spec) as chain:
        node = VenueNode(Path(tmp) / "venue", GENESIS, engine="reference", fsync=False)
        node.on_block = lambda b: at(stored, b.header.height)  # first: the others chain it
        prover = LiveProver(node, workers=workers)
        publisher = live_publisher(chain, node.dir, max_blocks=1)
        prover.on_proof = lambda b, p: publisher.submit(b.header, p)
        prover.on_proven = lambda h, _b: at(proven, h)
        publisher.on_published = lambda h, _tx: at(landed, h)
        proposer = LiveProposer(
            node, chain, sender=chain.accounts[1], on_proposed=lambda h, _tx: at(proposed, h)
        )
        prover.start()
        proposer.start()
        try:
            node.submit([AddAccount(0, 0, 1), Deposit(0, 0, 1, 10**9), AddAccount(0, 0, 2),
                         Deposit(0, 0, 2, 10**9)])  # fmt: skip
            node.seal()
            # block 1 deploys both sets of contracts and waits for the provers' key load
            assert proposer.wait(1, 300) and publisher.wait(1, 600), "block 1 did not land"
            for i in range(blocks - 1):
                time.sleep(interval)
                p = 100_000 + i % 5
                node.submit([place(1, Side.SELL, p, TimeInForce.GTC),
                             place(2, Side.BUY, p, TimeInForce.IOC)])  # fmt: skip
                node.seal()
                print(f"block {node.height} sealed", file=sys.stderr, flush=True)
            node.flush()
            last = node.height
            ok = proposer.wait(last, 120) and publisher.wait(last, 600)
            assert ok, (proposer.halted, publisher.halted, prover.halted)
        finally:
            prover.close()
            publisher.close()
            proposer.close()
            node.close()
        gas = [b.gas_used for b in publisher.published[1:]]

    heights = range(2, last + 1)
    optimistic = [proposed[h] - stored[h] for h in heights]
    proof = [proven[h] - stored[h] for h in heights]
    validity = [landed[h] - stored[h] for h in heights]
    return {
        "chain": chain_spec,
        "blocks": last,
        "interval_s": interval,
        "workers": workers,
        "optimistic_pending_s": _pcts(optimistic),
        "proof_stored_s": _pcts(proof),
        "validity_final_s": _pcts(validity),
        "validity_over_optimistic_p50": round(
            statistics.median(validity) / statistics.median(optimistic), 1
        ),
        "validity_submit_gas_p50": int(statistics.median(gas)) if gas else 0,
        "per_block_s": {
            h: [round(proposed[h] - stored[h], 3), round(landed[h] - stored[h], 3)]
            for h in heights
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=10)
    ap.add_argument("--interval", type=float, default=8.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chain", default="anvil")
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args(argv)
    emit(run(args.blocks, args.interval, args.workers, args.chain), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
