"""The demo's stage for optimistic mode: the demo venue's blocks proposed without proofs, one
of them wrong, refuted by a watcher, and final after the challenge window.

``optimistic_stage(data, chain)`` deploys ``OptimisticCommitments`` with the venue's key
(``venue.proposer.Operator``), posts the operator's bond and proposes the venue's stored blocks
up to the last proven one, the way ``serve --optimistic`` does, except the last: it goes in
with a settlement price one tick above the block's, the fraud a watcher exists to catch. A
watcher (``venue.watch.watch_once``) replays the venue, finds the honest proposals to be its
blocks and refutes the wrong one with the block's stored proof, which puts the proven block in
its place and pays the watcher half the bond. The chain's clock is then moved past the window
(a development chain), every block is finalized, and the optimistic feed answers the proven
price, not the one proposed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from oracle.chain import Chain
from oracle.feed import PriceFeed
from oracle.optimistic import advance_time

from .blockstore import BlockStore
from .node import stored_genesis, stored_header
from .proposer import Operator
from .watch import WatchReport, watch_once

__all__ = ["OptimisticDemo", "optimistic_stage"]


@dataclass
class OptimisticDemo:
    commitments: str = ""
    bond: int = 0
    window: int = 0
    #: heights proposed honestly, and gas per proposal
    honest: list[int] = field(default_factory=list)
    propose_gas: list[int] = field(default_factory=list)
    #: the block proposed one tick off: its height, the price proposed and the block's own
    forged: int = 0
    forged_price: int = 0
    price: int = 0
    watch: WatchReport = field(default_factory=WatchReport)
    finalized: list[int] = field(default_factory=list)
    #: the optimistic feed's latest round after finalizing: (round id, answer)
    feed: tuple[int, int] = (0, 0)

    @property
    def ok(self) -> bool:
        n = self.forged
        return (
            n > 1
            and self.watch.honest == self.honest == list(range(1, n))
            and [h for h, _ in self.watch.challenged] == [n]
            and self.watch.challenged[0][1] == self.bond // 2
            and not self.watch.alarms
            and self.finalized == list(range(1, n + 1))
            and self.feed == (n, self.price)
        )


def optimistic_stage(
    data: Path, chain: Chain, last: int, *, window: int = 60, bond: int = 10**18
) -> OptimisticDemo:
    """Blocks 1..``last`` of the venue in ``data`` (``last`` must have a stored proof) through
    optimistic mode, as the module docstring says."""
    with BlockStore(data / "blocks", first_height=1, read_only=True) as store:
        headers = []
        for h in range(1, last + 1):
            header = stored_header(store, h)
            if header is None:
                raise ValueError(f"{data} holds no block {h}")
            headers.append(header)
    op = Operator.deploy(chain, data, headers[0], bond=bond, challenge_window=window)
    op.ensure_bonded()
    out = OptimisticDemo(op.deployment.commitments, bond, window)
    for h in headers[:-1]:
        tx = op.propose(h)
        assert tx is not None  # a fresh deployment: every height is new
        out.propose_gas.append(tx.gas_used)
        out.honest.append(h.height)
    real = headers[-1]
    s = real.markets[0]
    tick = stored_genesis(data).markets[0].tick_size
    wrong = msgspec.structs.replace(
        real, markets=(msgspec.structs.replace(s, price=s.price + tick),)
    )
    op.propose(wrong)
    out.forged, out.forged_price, out.price = real.height, s.price + tick, s.price
    watcher = chain.accounts[min(5, len(chain.accounts) - 1)]
    out.watch = watch_once(data, chain, op.deployment, sender=watcher)
    advance_time(chain, window + 1)
    out.finalized = op.finalize_ready()
    latest = PriceFeed(chain, op.deployment.feed).latest_round()
    out.feed = (latest.round_id, latest.answer)
    return out
