"""Live proving in the running venue: real node, real prover pool with the test-size block
circuit (signed for the demo venue, whose traders sign their orders), real gateway and client
on 127.0.0.1; proofs are checked from the store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from matching import AddAccount, Block, Deposit, MassCancel, PlaceOrder, Side, TimeInForce
from matching.encoding import decoder
from oracle.chain import open_chain
from oracle.feed import PriceFeed
from proofs.eddsa import private_to_public
from proofs.signing import command_signature_ok
from venue.client import FixClient
from venue.demo import PROVABLE_GENESIS, trader_key
from venue.fix import Tag
from venue.gateway import Gateway
from venue.liveprover import LiveProver
from venue.node import VenueNode
from venue.onchain import live_publisher
from venue.proving import verify_stored

from .test_coverage_proving import ACCOUNTS, TRADES, UNBOUNDED, UNSIGNED, Clock, place

ROOT = Path(__file__).resolve().parent.parent
SYM = "PB1-PERP"


@pytest.fixture(autouse=True)
def shared_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # the same cache entry as tests/test_circuit_block.py and the demo test
    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(ROOT / ".cache" / "circuits"))


def test_traders_see_their_signed_orders_proven_on_chain_and_the_proven_price(
    tmp_path: Path,
) -> None:
    """Gateway, live prover and live publisher on the embedded chain: a trader's fill goes
    from in_block to proven to on_chain, and the U2 on_chain message names the transaction."""
    assert PROVABLE_GENESIS.signed  # the signed circuit checks every order's signature
    node = VenueNode(tmp_path, PROVABLE_GENESIS, engine="reference", fsync=False)
    chain = open_chain("embedded")
    publisher = live_publisher(chain, tmp_path)
    prover = LiveProver(node, workers=1, on_proof=lambda b, p: publisher.submit(b.header, p))
    assert prover.size.signed
    prover.start()

    async def main() -> tuple[str | None, list, int]:
        async with Gateway(node, seal_interval=None) as gw:
            prover.on_proven = gw.on_block_proven
            publisher.on_published = gw.on_published
            cmds = []
            for a in (1, 2):
                x, y = private_to_public(trader_key(a))
                cmds += [AddAccount(0, 0, a, x, y), Deposit(0, 0, a, 10**13)]
            await gw.submit_commands(cmds)  # block 1 (4 commands)
            markets = PROVABLE_GENESIS.markets  # the clients sign their orders
            maker = FixClient(gw.url, 1, trader_key(1), markets=markets)
            taker = FixClient(gw.url, 2, trader_key(2), markets=markets)
            await maker.connect()
            await taker.connect()
            try:
                ask = await maker.place(SYM, "2", 5, 100_010)
                await maker.report(ask)
                bid = await taker.place(SYM, "1", 3, 100_015, tif="3")  # IOC, fills 3 @ 100010
                rep = await taker.report(bid, "F")
                height = int(rep.get(Tag.BlockHeight) or 0)
                await gw.seal()
                await taker.wait_for(lambda: taker.finality(bid) == "on_chain", 180)
                await taker.wait_for(lambda: any(p[1] == height for p in taker.proven_prices), 10)
                tx = [m.get(Tag.ChainTxHash) for m in taker.received
                      if m.get(Tag.FinalityState) == "on_chain"
                      and m.get(Tag.BlockHeight) == str(height)]  # fmt: skip
                assert tx and tx[0] == publisher.published[height - 1].tx_hash
                return taker.finality(bid), list(taker.proven_prices), height
            finally:
                publisher.on_published = None
                await maker.close()
                await taker.close()

    try:
        finality, prices, height = asyncio.run(main())
        node.seal()  # cancel-on-disconnect, if it ran before the gateway stopped
        node.flush()
        top = node.height
        assert prover.wait(top, 120), prover.halted
        block = decoder(Block).decode(node.blocks.get(height))
        assert publisher.wait(top, 120), publisher.halted
        feed = PriceFeed(chain, publisher.publisher.deployment.feed)  # type: ignore[union-attr]
        assert feed.round(height).answer == 100_010  # the fill's price, proven, on chain
    finally:
        prover.close()
        publisher.close()
        chain.close()
        node.close()
    assert finality == "on_chain" and height == 2
    # the proven block holds both orders with the signatures their traders made
    orders = [c for c in block.commands if isinstance(c, PlaceOrder)]
    assert [c.account for c in orders] == [1, 2]
    for c in orders:
        assert command_signature_ok(c, *private_to_public(trader_key(c.account)))
    # the trade's block publishes the fill price, proven, to every session
    assert (SYM, 2, 100_010, "block") in prices
    assert prover.halted is None and prover.proven_height == top >= 2
    assert len(prover.lag_seconds) == top and min(prover.lag_seconds) > 0
    assert verify_stored(tmp_path) == [(h, True) for h in range(1, top + 1)]


def test_restart_proves_what_was_left_and_an_unprovable_block_halts(tmp_path: Path) -> None:
    proven: list[int] = []

    def on_proven(height: int, block: Block) -> None:
        assert block.header.height == height
        proven.append(height)

    node = VenueNode(tmp_path, UNBOUNDED, engine="reference", fsync=False, clock=Clock())
    with LiveProver(node, workers=1, on_proven=on_proven) as prover:
        node.submit(ACCOUNTS)  # block 1
        assert prover.wait(1, 120), prover.halted
    # the venue goes on without a prover: blocks 2 and 3 are stored unproven
    node.submit(TRADES)
    node.submit([place(1, Side.SELL, 100_030, 1)])
    node.seal()
    node.close()
    assert verify_stored(tmp_path) == [(1, True)]

    node = VenueNode(tmp_path, engine="reference", fsync=False, clock=Clock())
    try:
        with LiveProver(node, workers=1, on_proven=on_proven) as prover:
            assert prover.wait(3, 120), prover.halted
            assert len(prover.prove_seconds) == 2  # block 1 was not proved again
            # Ten resting bids, then a block whose mass cancel needs more steps than the
            # test-size circuit has (12): proving halts there, the venue goes on.
            node.submit([place(1, Side.BUY, 99_000 + i, 1) for i in range(10)])
            node.submit([MassCancel(0, 0, 1, 1), Deposit(0, 0, 2, 5), Deposit(0, 0, 2, 5)])
            node.submit([place(2, Side.BUY, 99_000, 1, TimeInForce.GTC)])
            node.seal()
            node.flush()
            assert not prover.wait(node.height, 60)
            assert prover.halted is not None
            h, why = prover.halted
            assert h == 6 and "step" in why.lower()
            assert prover.proven_height == 5
    finally:
        node.close()
    assert proven == [1, 2, 3, 4, 5]
    assert verify_stored(tmp_path) == [(h, True) for h in range(1, 6)]


#: (market, price level) the orders of the snapshot test go to in turn: one market, or the two
#: of ``venue.demo_markets.TWO_MARKET_GENESIS`` (each block then opens one market)
ONE_MARKET = ((1, 100_030),)
TWO_MARKETS = ((1, 100_030), (2, 40_030))


@pytest.mark.parametrize("markets", [ONE_MARKET, TWO_MARKETS], ids=["one market", "two markets"])
def test_restart_starts_from_the_newest_snapshot_below_the_unproven_blocks(
    tmp_path: Path, markets: tuple[tuple[int, int], ...]
) -> None:
    """The live prover's witness process starts from the newest snapshot below the unproven
    blocks (for two markets: a snapshot of both markets' books) and proves the blocks left
    (for two markets: with the two-market circuit)."""
    from venue.blockstore import BlockStore
    from venue.demo_markets import TWO_MARKET_GENESIS
    from venue.proving import PROOF_KIND

    genesis = UNSIGNED if len(markets) == 1 else TWO_MARKET_GENESIS
    node = VenueNode(tmp_path, genesis, engine="reference", fsync=False, clock=Clock(),
                     snapshot_every=2)  # fmt: skip
    node.submit(ACCOUNTS)  # block 1
    for i in range(4):  # blocks 2..5, one order each, the markets in turn
        market, price = markets[i % len(markets)]
        order = place(1, Side.SELL, price + 10 * i, 1)
        node.submit([msgspec.structs.replace(order, market=market)])
        node.seal()
    top = node.height
    node.close()
    assert top == 5
    # pretend blocks 1..3 were proven before (placeholders: they are not checked again)
    store = BlockStore(tmp_path / "blocks", first_height=1)
    for h in range(1, 4):
        store.put_proof(h, PROOF_KIND, b"placeholder")
    store.close()
    node = VenueNode(tmp_path, engine="reference", fsync=False, clock=Clock())
    try:
        with LiveProver(node, workers=1) as prover:
            assert prover.wait(top, 120), prover.halted
            assert prover.started_from == 2  # snapshots at 2 and 4; 4 is past the proven 3
            assert len(prover.prove_seconds) == top - 3
    finally:
        node.close()
    assert verify_stored(tmp_path)[3:] == [(h, True) for h in range(4, top + 1)]


def test_a_failed_start_leaves_the_node_as_it_was(tmp_path: Path) -> None:
    node = VenueNode(tmp_path, PROVABLE_GENESIS, engine="reference", fsync=False)
    try:
        prover = LiveProver(node, backend="smoke-signals")
        with pytest.raises(ValueError, match="backend"):
            prover.start()
        assert node.on_block is None  # unhooked again
        node.seal()  # and the venue goes on
    finally:
        node.close()
