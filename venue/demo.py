"""``provenbook demo``: everything that exists, end to end, on this machine.

1. A venue (journal, Cython engine, blocks, Poseidon roots) behind the FIX-over-WebSocket
   gateway on 127.0.0.1; accounts are opened with EdDSA-Poseidon keys.
2. Traders connect as real FIX clients (FIX JSON and tag=value), log on by signing the
   gateway's challenge, and trade: market makers quote around a drifting mid, takers send
   IOC and market orders, makers cancel and replace. Every report is awaited. The venue is
   signed (``Genesis.signed``): every order and replace carries the trader's EdDSA-Poseidon
   signature of the exact engine command (OrderSignature) and a rising Nonce (its engine
   client id: the engine refuses a replayed signed order), the gateway refuses any other,
   and the signatures travel in the blocks.
3. Blocks are sealed; each carries its settlement price (VWAP of the block's fills) and the
   traders see their orders' finality move from "sequenced" to "in block".
4. Every block is proved live while the traders trade (``venue.liveprover``: the v1 block
   circuit compiled signed, so each proof also checks every order's signature against the
   key its account registered; Groth16, development keys, a pool of prover processes). The
   first run compiles and sets up that circuit (a minute or two; cached in
   ``~/.cache/provenbook/circuits``, or ``$PROVENBOOK_CIRCUIT_CACHE``). Proofs are stored beside
   the blocks, and the traders see their orders become "proven" and each block's settlement
   price arrive as a proven price.
5. The venue is closed and restarted from disk: it must land on the same state root.
6. Anyone can check the blocks: they are replayed from genesis with both engines, every root,
   price and event recomputed, and every stored proof verified against the recomputed header.
7. On chain (``oracle``): when the first proof lands, the venue's contracts are deployed (the
   block verifier with the circuit's verifying key, the state commitments, the Chainlink-style
   price feed) on anvil when Node is present, else on the embedded in-process EVM; every
   proven block is published in order while the traders trade, so they see their orders
   become "on_chain", and the feed answers ``latestRoundData()`` with the proven price.
8. An option settled on the proven price (``venue.onchain.settle_option_on_proven_price``): a
   European call is written in a test collateral token, expires a few seconds later, the
   venue seals a block after the expiry, and once that block is proven and published the
   call settles at the proven price at expiry; holder and writer are paid from the
   collateral, to the unit.
9. Margin against proven state (``_margin_call``): a new account buys 10 lots on exactly its
   initial margin, then the market trades 6% lower; once those blocks are proven and on
   chain, the keeper (``venue.margin.liquidate_stored``) opens every account against the
   latest proven state root, and ``ProvenMargin`` checks each one with Poseidon on chain and
   records the liquidation of the account under maintenance margin. The venue then acts on
   it: trader 2 bids for the lots, and the venue's liquidation order
   (``venue.margin.liquidation_orders``) sells the account's position into that bid; the block
   is proven (the circuit checks the liquidation rule) and published like any other.
10. Two markets (``venue.demo_markets``): a second venue of two markets behind the gateway;
   each block changes one market's book, a mass cancel of every market goes in as one per
   market, every block is proved with the two-market circuit and published, and each market's
   price feed answers its own proven price.
11. Optimistic mode (``venue.demo_optimistic``): the venue's blocks proposed without proofs,
   the last a tick off; a watcher refutes it with its stored proof, and after the challenge
   window every block is final at its proven price.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from matching import (
    AddAccount,
    Block,
    CEngine,
    Deposit,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
    Trade,
)
from matching.encoding import decoder
from oracle.chain import Chain
from oracle.publish import LivePublisher
from proofs.eddsa import private_to_public
from proofs.signing import sign_command
from proofs.verify import PRODUCTION_SIZE

from .client import FixClient
from .fix import Encoding, Tag
from .gateway import Gateway
from .liveprover import LiveProver
from .margin import MARGIN_FILE, LiquidationReport, liquidate_stored, liquidation_orders
from .node import Genesis, VenueNode
from .onchain import OptionResult, live_publisher, settle_option_on_proven_price
from .workload import default_markets

__all__ = ["PRODUCTION_GENESIS", "PROVABLE_GENESIS", "DemoResult", "trade_over_gateway"]

SYMBOL = "PB1-PERP"
_ENCODINGS = (Encoding.JSON, Encoding.TAGVALUE_SOH, Encoding.TAGVALUE_PIPE)


def trader_key(account: int) -> bytes:
    """Deterministic demo keys (never use such keys for real accounts)."""
    return hashlib.sha256(f"provenbook-demo-trader-{account}".encode()).digest()


@dataclass
class DemoResult:
    orders: int = 0
    fills: int = 0
    rejects: int = 0
    blocks: list[Block] = field(default_factory=list)
    finality: dict[str, int] = field(default_factory=dict)
    root: int = 0
    height: int = 0
    #: proven height when the traders disconnected, and at the end
    proven_live: int = 0
    proven: int = 0
    proven_prices: int = 0
    halted: tuple[int, str] | None = None
    prove_seconds: list[float] = field(default_factory=list)
    lag_seconds: list[float] = field(default_factory=list)
    #: ms from each request sent to its first report, as the traders measured it
    ack_ms: list[float] = field(default_factory=list)
    #: the on-chain publisher (None without a chain): deployment, published blocks, halt
    chain: LivePublisher | None = None
    #: the European call settled on the proven price (a chain and every block proven)
    option: OptionResult | None = None
    #: the keeper's run after the margin call (same conditions), and the account it was for
    liquidation: LiquidationReport | None = None
    margin_account: int = 0
    #: the block holding the venue's liquidation of that account (proven and on chain), and
    #: the lots it sold; the keeper's run after it (which clears the trigger)
    liquidated_height: int = 0
    liquidated_qty: int = 0
    after_liquidation: LiquidationReport | None = None


async def _trade(
    gw: Gateway,
    accounts: list[int],
    rounds: int,
    seed: int,
    tick: Callable[[], None],
    replaces: bool,
    prover: LiveProver | None,
    prove: int | None,
    publisher: LivePublisher | None,
) -> DemoResult:
    rng = random.Random(seed)
    res = DemoResult()
    cmds = []
    for a in accounts:
        x, y = private_to_public(trader_key(a))
        cmds += [AddAccount(0, 0, a, x, y), Deposit(0, 0, a, 10**13)]
    await gw.submit_commands(cmds)
    # a signed venue: the clients sign their orders (they know the markets to build the
    # engine command they sign, exactly as the gateway will)
    markets = gw.node.genesis.markets if gw.node.genesis.signed else None
    clients = [
        FixClient(
            gw.url, a, trader_key(a), encoding=_ENCODINGS[i % len(_ENCODINGS)], markets=markets
        )
        for i, a in enumerate(accounts)
    ]
    for c in clients:
        await c.connect()
    makers, takers = clients[: len(clients) // 2], clients[len(clients) // 2 :]
    mid = 100_000
    quotes: dict[tuple[int, str], str] = {}  # (maker, side) -> ClOrdID of its live quote
    try:
        for _ in range(rounds):
            mid += rng.choice((-3, -1, 0, 1, 3))
            sent: list[tuple[FixClient, str]] = []
            for m in makers:
                for side, off in (("1", -rng.randint(1, 6)), ("2", rng.randint(1, 6))):
                    old = quotes.get((m.account, side))
                    if old is not None and replaces and rng.random() < 0.3:
                        cl = await m.replace(old, SYMBOL, side, rng.randint(1, 8), mid + off)
                    else:
                        if old is not None:  # requote: cancel the previous quote first
                            sent.append((m, await m.cancel(old, SYMBOL, side)))
                        cl = await m.place(SYMBOL, side, rng.randint(1, 8), mid + off)
                    quotes[(m.account, side)] = cl
                    sent.append((m, cl))
            t = rng.choice(takers)
            side = rng.choice(("1", "2"))
            if rng.random() < 0.7:
                price = mid + (4 if side == "1" else -4)
                cl = await t.place(SYMBOL, side, rng.randint(1, 12), price, tif="3")
            else:
                cl = await t.place(SYMBOL, side, rng.randint(1, 6))  # market, protected
            sent.append((t, cl))
            for c, cl in sent:
                await c.report(cl)
            res.orders += len(sent)
            tick()
        await gw.seal()
        if prover is not None:
            # Wait (off the loop) for the proofs, so the traders see "proven" finality.
            top = gw.node.height if prove is None else min(prove, gw.node.height)
            await asyncio.get_running_loop().run_in_executor(None, prover.wait, top, 600.0)
            res.proven_live = prover.proven_height
            if publisher is not None:  # and for them on chain, for "on_chain" finality
                await asyncio.get_running_loop().run_in_executor(
                    None, publisher.wait, res.proven_live, 300.0
                )
        for c in clients:
            for reports in c.reports.values():
                for r in reports:
                    if r.get(Tag.ExecType) == "F":
                        res.fills += 1
                    elif r.get(Tag.ExecType) == "8":
                        res.rejects += 1
        res.ack_ms = sorted(ns / 1e6 for c in clients for ns in c.ack_ns.values())
        # finality as the traders see it
        await asyncio.sleep(0.2)
        for c in clients:
            for cl in c.reports:
                state = c.finality(cl) or "unknown"
                res.finality[state] = res.finality.get(state, 0) + 1
            res.proven_prices = max(res.proven_prices, len(c.proven_prices))
    finally:
        for c in clients:
            await c.close()
    return res


def _option(node: VenueNode, prover: LiveProver, publisher: LivePublisher, chain: Chain,
            feed: str) -> OptionResult:  # fmt: skip
    """A European call on the feed, settled once a block closing after its expiry is proven."""

    def seal_after(t: int) -> int:
        while time.time() < t + 1:  # the block must close in a later second than the expiry
            time.sleep(0.1)
        node.submit([Deposit(0, 0, 1, 1)])
        node.seal()
        node.flush()
        return node.height

    def published(height: int) -> bool:
        return prover.wait(height, 300.0) and publisher.wait(height, 300.0)

    return settle_option_on_proven_price(chain, feed, seal_after, published)


def _margin_call(node: VenueNode, prover: LiveProver, publisher: LivePublisher, chain: Chain,
                 traders: int, res: DemoResult) -> None:  # fmt: skip
    """An account under maintenance margin at a proven price, its liquidation triggered on
    chain, then carried out by the venue (results in ``res``).

    Account ``traders + 1`` deposits exactly the initial margin for 10 lots at the mark and
    buys them from trader 1; traders 2 and 1 then trade one lot 6% lower, which becomes the
    mark. Its equity is then 4% of its notional against a 5% maintenance margin. Every order
    is signed by its account's key with a nonce above the ones the traders used (their
    clients' nonces are microseconds of the wall clock)."""
    g = node.genesis
    m = g.markets[0]
    (last,) = node.blocks.iter_from(node.height)
    mark = decoder(Block).decode(last[1]).header.markets[0].price
    low = mark * 94 // 100
    who = traders + 1
    x, y = private_to_public(trader_key(who))
    nonces = itertools.count(time.time_ns() // 1000 + 10**6)  # rising: account 1 signs twice

    def order(account: int, side: Side, price: int, qty: int, tif: TimeInForce) -> PlaceOrder:
        cmd = PlaceOrder(
            0, 0, account, m.market_id, next(nonces), side, OrderType.LIMIT, tif, price, qty
        )
        return sign_command(trader_key(account), cmd)

    margin = -(-m.imf_bps * mark * 10 // 10_000)
    # one block: the account, its deposit, the ask and its purchase; the next: the lower trade
    node.submit([AddAccount(0, 0, who, x, y), Deposit(0, 0, who, margin),
                 order(1, Side.SELL, mark, 10, TimeInForce.GTC),
                 order(who, Side.BUY, mark, 10, TimeInForce.IOC)])  # fmt: skip
    # sealed here, so that the lower trade is alone in the next block and its price is the
    # mark (in one block with the purchase, the VWAP would stay near the old price)
    node.seal()
    node.submit([order(2, Side.SELL, low, 1, TimeInForce.GTC),
                 order(1, Side.BUY, low, 1, TimeInForce.IOC)])  # fmt: skip

    def proven_and_published() -> None:
        node.seal()
        node.flush()
        if not (prover.wait(node.height, 300.0) and publisher.wait(node.height, 300.0)):
            raise RuntimeError(f"block {node.height} was not proven and published in time")

    proven_and_published()
    deployed = publisher.publisher
    assert deployed is not None
    res.margin_account = who
    keeper = node.dir / MARGIN_FILE  # both keeper runs use the same ProvenMargin
    res.liquidation = liquidate_stored(
        node.dir, chain, deployed.deployment, store=node.blocks, margin_file=keeper
    )
    if who not in res.liquidation.triggered:
        return
    # the venue acts on it: trader 2 bids 1% under the mark, the liquidation sells into it
    orders = liquidation_orders(node.engine, who)
    node.submit([order(2, Side.BUY, low * 99 // 100, 10, TimeInForce.GTC)])
    events = node.submit(orders)
    proven_and_published()
    res.liquidated_height = node.height
    res.liquidated_qty = sum(e.qty for ev in events for e in ev if isinstance(e, Trade))
    res.after_liquidation = liquidate_stored(
        node.dir, chain, deployed.deployment, store=node.blocks,
        margin_file=keeper,
    )  # fmt: skip


#: A venue sized like the test block circuit (``proofs.verify.TEST_SIZE``: 4 commands and 18
#: positions of layout R = 2 per block, 16 accounts, 16 order slots per side) whose every
#: block fits it by construction: a taker touches at most 3 makers, an account rests at most
#: 3 orders, so no command takes more than 12 <= 18 positions (a replace that trades 3 times;
#: ``proofs.steps.worst_command_steps``), and the node bounds each command's positions before
#: it runs (``Genesis.uses_step_bound``), closing a block first when the command might not
#: fit; no reserve is kept, so blocks fill (3.98 commands per 4-command block on the standard
#: mix against 3.60 with a reserve of 12, ``tests/test_coverage_steps.py``). Signed: orders
#: carry the traders' signatures and the blocks are proved with
#: ``proofs.verify.TEST_SIZE_SIGNED``.
PROVABLE_GENESIS = Genesis(
    default_markets(1), account_depth=4, order_depth=4, block_commands=4, block_steps=18,
    block_layout=2, step_reserve=0, max_matches=3, max_open_orders=3, signed=True,
)  # fmt: skip

#: A venue sized like the production block circuit (``proofs.verify.PRODUCTION_SIZE``: 20
#: commands and 44 positions per block, 65,536 accounts, 4,096 order slots per side, signed),
#: with the engine limits the production figures were measured under: a taker touches at most
#: 12 makers and an account rests at most 8 orders per market (``bench/RESULTS.md``,
#: "Production size"). ``provenbook serve DIR --genesis production --prove`` runs it; its
#: keys are compiled and set up into the cache on the first start (minutes, about 4 GB).
PRODUCTION_GENESIS = Genesis(
    default_markets(1), account_depth=PRODUCTION_SIZE.account_depth,
    order_depth=PRODUCTION_SIZE.order_depth, block_commands=PRODUCTION_SIZE.n,
    block_steps=PRODUCTION_SIZE.s, block_layout=PRODUCTION_SIZE.ratio, step_reserve=0,
    max_matches=12, max_open_orders=8, signed=PRODUCTION_SIZE.signed,
)  # fmt: skip


def trade_over_gateway(
    data: Path, *, traders: int = 6, rounds: int = 60, seed: int = 1,
    genesis: Genesis = PROVABLE_GENESIS, tick: Callable[[], None] = lambda: None,
    replaces: bool = True, prove: int | None = 0, workers: int = 2,
    progress: Callable[[str, int, int], None] | None = None, chain: Chain | None = None,
) -> DemoResult:  # fmt: skip
    """Run the trading session of the demo against a fresh venue in ``data``.

    With ``replaces`` makers sometimes amend a quote with OrderCancelReplaceRequest instead
    of cancelling it and sending a new one. ``prove``: 0 proves nothing, None proves every
    block live and waits for all of them, N waits only for the first N (later proofs in
    flight at the end are abandoned; ``provenbook prove`` finishes them). With ``chain`` (and
    proving) every proven block is also published there (``venue.onchain.live_publisher``)."""
    g = genesis
    node = VenueNode(data, g, engine="cython" if CEngine is not None else "reference")
    prover = publisher = None
    if prove != 0:
        prover = LiveProver(node, workers=workers, progress=progress)
        if chain is not None:
            publisher = live_publisher(chain, data)
            prover.on_proof = lambda block, proof: publisher.submit(block.header, proof)
        prover.start()

    async def main() -> DemoResult:
        async with Gateway(node, seal_interval=None) as gw:
            if prover is not None:
                prover.on_proven = gw.on_block_proven
            if publisher is not None:
                publisher.on_published = gw.on_published
            try:
                return await _trade(
                    gw, list(range(1, traders + 1)), rounds, seed, tick, replaces, prover, prove,
                    publisher,
                )  # fmt: skip
            finally:
                if publisher is not None:
                    publisher.on_published = None  # the gateway is closing

    try:
        res = asyncio.run(main())
        # Cancel-on-disconnect ran after the last seal: close that block too, and wait until
        # the committer has stored every cut block before reading the venue's final state.
        node.seal()
        node.flush()
        assert node.committed_height == node.height
        if prover is not None:
            prover.on_proven = None
            prover.wait(node.height if prove is None else min(prove, node.height), 600.0)
            res.proven, res.halted = prover.proven_height, prover.halted
            res.prove_seconds = list(prover.prove_seconds)
            res.lag_seconds = list(prover.lag_seconds)
        if publisher is not None:
            publisher.wait(res.proven, 300.0)
            res.chain = publisher
            deployed = publisher.publisher
            if prove is None and deployed is not None and prover is not None and chain:
                res.option = _option(node, prover, publisher, chain, deployed.deployment.feed)
                _margin_call(node, prover, publisher, chain, traders, res)
                res.proven = prover.proven_height  # the last block proven and published
        dec = decoder(Block)
        res.blocks = [dec.decode(p) for _, p in node.blocks.iter_from(1)]
        res.root, res.height = node.commitment.root, node.height
        return res
    finally:
        if prover is not None:
            prover.close()
        if publisher is not None:
            publisher.close()  # publishes what is queued first
        node.close()
