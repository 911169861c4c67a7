"""The demo's stage for a venue of several markets: two books over the gateway, each block
opening one market, every block proved and published, a price feed per market.

``several_markets(data, chain)`` opens ``TWO_MARKET_GENESIS`` in ``data`` behind the gateway:
two traders log on; one quotes in both markets and the other trades against both quotes
(immediate-or-cancel), then the first rests a bid in each market and cancels everything with
one OrderMassCancelRequest, which the gateway sends as one mass cancel per market (the
venue refuses one for every market: its blocks each open one market). The venue cuts its
blocks one market each (``Genesis.one_market_blocks``); they are proved with the two-market
block circuit (``BlockM``), verified from their headers, and published on ``chain`` with
``MarketCommitments``, where each market's ``ProvenPriceFeed`` answers that market's last
proven price.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from matching import AddAccount, Block, Deposit, MarketConfig, MassCancel
from matching.block import book_markets
from matching.encoding import decoder
from oracle.chain import Chain
from oracle.feed import PriceFeed
from proofs.eddsa import private_to_public

from .blockstore import BlockStore
from .client import FixClient
from .demo import PROVABLE_GENESIS, trader_key
from .fix import Tag
from .gateway import Gateway
from .node import VenueNode
from .onchain import publish_stored
from .proving import prove_blocks, verify_stored
from .workload import default_markets

__all__ = ["TWO_MARKET_GENESIS", "MarketsResult", "several_markets"]

#: The demo venue's sizes and limits, unsigned, with a second market whose price level and
#: margin rates differ from the first (so a mix-up of the two would show).
TWO_MARKET_GENESIS = msgspec.structs.replace(
    PROVABLE_GENESIS,
    markets=(
        default_markets(1)[0],
        MarketConfig(2, "PB2-PERP", 1, 1, 1, 10_000_000, 1_000_000, 40_000, 2_500, 1_200),
    ),
    signed=False,
)


@dataclass
class MarketsResult:
    """What the stage did and saw."""

    blocks: list[Block] = field(default_factory=list)
    #: the market each block's book events touch (None: no book changed; -1: more than one,
    #: which a venue cut one market per block never stores)
    touched: list[int | None] = field(default_factory=list)
    #: (account, market) of every MassCancel the venue sequenced
    mass_cancels: list[tuple[int, int]] = field(default_factory=list)
    proven: int = 0
    verified: int = 0
    on_chain: bool = False
    published: int = 0
    #: market id -> (last proven price on its feed, that block's header price)
    feeds: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        n = len(self.blocks)
        # every block changed at most one book, and both books changed in some block
        one_each = -1 not in self.touched and {1, 2} <= set(self.touched)
        chain_ok = not self.on_chain or (
            self.published == n
            and sorted(self.feeds) == [1, 2]
            and all(got == want for got, want in self.feeds.values())
        )
        return (
            n > 0
            and one_each
            and self.proven == self.verified == n
            and chain_ok
            and sorted(m for _, m in self.mass_cancels) == [1, 2]
        )


async def _trade(gw: Gateway) -> None:
    cmds = []
    for a in (1, 2):
        x, y = private_to_public(trader_key(a))
        cmds += [AddAccount(0, 0, a, x, y), Deposit(0, 0, a, 10**12)]
    await gw.submit_commands(cmds)
    async with (
        FixClient(gw.url, 1, trader_key(1)) as maker,
        FixClient(gw.url, 2, trader_key(2)) as taker,
    ):
        quotes = [("PB1-PERP", 100_010), ("PB2-PERP", 40_010)]
        for sym, px in quotes:
            await maker.report(await maker.place(sym, "2", 3, px), "0")
        for sym, px in quotes:
            await taker.report(await taker.place(sym, "1", 3, px, tif="3"))
        bids = [await maker.place(sym, "1", 1, px - 20) for sym, px in quotes]
        for cl in bids:
            await maker.report(cl, "0")
        q = await maker.mass_cancel()  # every market: one mass cancel per market goes in
        for cl in bids:
            await maker.report(cl, "4")
        assert (await maker.report(q)).get(Tag.MassCancelResponse) == "7"


def several_markets(
    data: str | Path,
    chain: Chain | None,
    *,
    workers: int = 2,
    progress: Callable[[str, int, int], None] | None = None,
) -> MarketsResult:
    """Run the stage in ``data`` (a new directory); publish on ``chain`` unless None."""
    data = Path(data)
    node = VenueNode(data, TWO_MARKET_GENESIS, fsync=False)

    async def main() -> None:
        async with Gateway(node) as gw:
            await asyncio.wait_for(_trade(gw), 60)

    try:
        asyncio.run(main())
        node.seal()
    finally:
        node.close()
    res = MarketsResult()
    store = BlockStore(data / "blocks", first_height=1, read_only=True)
    try:
        dec = decoder(Block)
        res.blocks = [dec.decode(p) for _, p in store.iter_from(1)]
    finally:
        store.close()
    for b in res.blocks:
        touched = sorted(book_markets(b.events))
        res.touched.append(touched[0] if len(touched) == 1 else None if not touched else -1)
        res.mass_cancels += [(c.account, c.market) for c in b.commands if isinstance(c, MassCancel)]
    report = prove_blocks(data, workers=workers, progress=progress)
    res.proven = len(report.proven)
    res.verified = sum(ok for _, ok in verify_stored(data))
    if chain is not None:
        res.on_chain = True
        pub = publish_stored(data, chain, deployment_file=data / "chain.json")
        res.published = len(pub.published)
        if pub.deployment is not None:
            last = res.blocks[-1].header
            for i, m in enumerate(pub.deployment.markets):
                got = PriceFeed(chain, m.feed).latest_round().answer
                res.feeds[m.market_id] = (got, last.markets[i].price)
    return res
