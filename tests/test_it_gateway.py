"""End-to-end tests of the FIX WebSocket gateway: real sockets on 127.0.0.1, a real
``VenueNode`` (fsync on) in ``tmp_path``, the real client and real EdDSA-Poseidon keys.

Each test runs its own event loop with ``asyncio.run`` (no pytest plugin needed).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import (
    AddAccount,
    Block,
    Deposit,
    MassCancel,
    PlaceOrder,
    ReplaceOrder,
    Side,
    encode,
)
from matching.encoding import decoder
from proofs.eddsa import private_to_public
from proofs.signing import command_signature_ok, sign_command
from venue import journal
from venue.blockstore import BlockStore
from venue.client import FixClient, LogonRejected
from venue.fix import Encoding, FixMessage, Tag
from venue.fix.codec import format_utc_timestamp
from venue.gateway import Gateway
from venue.marketdata import aggregate
from venue.node import Genesis, InvalidCommand, VenueNode
from venue.orders import cl_ord_int, place_command, replace_command
from venue.workload import default_markets

SYM = "PB1-PERP"


def key(account: int) -> bytes:
    return hashlib.sha256(f"test-key-{account}".encode()).digest()


_PUBS: dict[int, tuple[int, int]] = {}


def pub(account: int) -> tuple[int, int]:
    if account not in _PUBS:
        _PUBS[account] = private_to_public(key(account))
    return _PUBS[account]


def make_node(path: Path, **genesis: int) -> VenueNode:
    g = Genesis(default_markets(), account_depth=8, order_depth=10, **genesis)
    return VenueNode(path, g, fsync=True, engine="reference")


async def open_accounts(gw: Gateway, *accounts: int) -> None:
    cmds = []
    for a in accounts:
        x, y = pub(a)
        cmds += [AddAccount(0, 0, a, x, y), Deposit(0, 0, a, 10**15)]
    await gw.submit_commands(cmds)


def run(
    tmp_path: Path, body: Callable[[Gateway], Awaitable[None]], accounts: tuple[int, ...] = (1, 2),
    *, signed: bool = False, **gw_kw: object,
) -> None:  # fmt: skip
    async def main() -> None:
        node = make_node(tmp_path / "venue", signed=signed)
        try:
            async with Gateway(node, **gw_kw) as gw:  # type: ignore[arg-type]
                await open_accounts(gw, *accounts)
                await asyncio.wait_for(body(gw), 40)
        finally:
            node.close()

    asyncio.run(main())


def client(gw: Gateway, account: int, **kw: object) -> FixClient:
    return FixClient(gw.url, account, key(account), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "encoding", [Encoding.JSON, Encoding.TAGVALUE_SOH, Encoding.TAGVALUE_PIPE]
)
def test_fill_between_two_clients(tmp_path: Path, encoding: Encoding) -> None:
    async def body(gw: Gateway) -> None:
        async with client(gw, 1, encoding=encoding) as maker, client(gw, 2) as taker:
            sell = await maker.place(SYM, "2", 5, 100_010)
            new = await maker.report(sell, "0")
            assert new.get(Tag.OrdStatus) == "0" and new.get(Tag.FinalityState) == "sequenced"
            assert new.get(Tag.BlockHeight) is not None
            buy = await taker.place(SYM, "1", 3, 100_020)
            fill = await taker.report(buy, "F")
            assert (fill.get(Tag.OrdStatus), fill.get(Tag.LastPx), fill.get(Tag.LastQty)) == (
                "2", "100010", "3",
            )
            part = await maker.report(sell, "F")
            assert part.get(Tag.OrdStatus) == "1" and part.get(Tag.LeavesQty) == "2"
            assert part.get(Tag.CumQty) == "3" and part.get(Tag.AvgPx) == "100010"
            # replace: FIX OrderQty is the total; 6 total with 3 filled leaves 3
            rep = await maker.replace(sell, SYM, "2", 6, 100_015)
            replaced = await maker.report(rep, "5")
            assert replaced.get(Tag.LeavesQty) == "3" and replaced.get(Tag.OrigClOrdID) == sell
            cxl = await maker.cancel(rep, SYM, "2")
            done = await maker.report(cxl, "4")
            assert done.get(Tag.OrdStatus) == "4" and done.get(Tag.OrigClOrdID) == rep
            # each request's ack latency, as the client measured it (send -> first report)
            assert set(maker.ack_ns) == {sell, rep, cxl} and set(taker.ack_ns) == {buy}
            assert all(0 < ns < 10**10 for ns in maker.ack_ns.values())
            # engine reject -> ExecutionReport rejected with OrdRejReason and Text
            bad = await taker.place(SYM, "1", 10**9, 100_000)
            rej = await taker.report(bad, "8")
            assert rej.get(Tag.OrdRejReason) == "13" and "INVALID_QUANTITY" in (
                rej.get(Tag.Text) or ""
            )
            # IOC remainder expires
            ioc = await taker.place(SYM, "1", 4, 99_000, tif="3")
            assert (await taker.report(ioc, "C")).get(Tag.OrdStatus) == "C"

    run(tmp_path, body)


def test_idempotent_clordid_and_foreign_cancel(tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        async with client(gw, 1) as a, client(gw, 2) as b:
            cl = await a.place(SYM, "1", 2, 99_000, cl_ord_id="same")
            first = await a.report(cl, "0")
            await a.place(SYM, "1", 2, 99_000, cl_ord_id="same")
            await a.wait_for(lambda: len(a.reports["same"]) == 2)
            again = a.reports["same"][1]
            assert again.get(Tag.PossResend) == "Y"
            assert again.get(Tag.ExecID) == first.get(Tag.ExecID)
            def state(n: VenueNode) -> bytes:  # orders and accounts, not last_seq/last_ts
                snap = n.engine.snapshot()  # type: ignore[attr-defined]
                return encode((snap.orders, snap.accounts))

            before = await gw.call(state)
            assert len(await gw.call(lambda n: n.engine.book(1, Side.BUY))) == 1
            # b names a's order by OrderID: the engine refuses, nothing changes
            oid = first.get(Tag.OrderID)
            x = await b.cancel("not-mine", SYM, "1", order_id=oid)
            rej = await b.report(x)
            assert rej.msg_type == "9" and "NOT_ORDER_OWNER" in (rej.get(Tag.Text) or "")
            y = await b.cancel("same", SYM, "1")  # a's ClOrdID means nothing in b's session
            assert (await b.report(y)).get(Tag.CxlRejReason) == "1"
            # the refused commands are journalled (last_seq moves); nothing else changes
            assert await gw.call(state) == before

    run(tmp_path, body)


def test_a_live_orders_clordid_after_a_gateway_restart_is_refused_unsequenced(
    tmp_path: Path,
) -> None:
    """Rules 2 (``Genesis.rules``): the engine accepts a client id a live order carries, so
    the gateway refuses one before sequencing. The case a trader meets: a new gateway process,
    which has forgotten the ClOrdIDs, on the same venue. D and G alike, OrdRejReason /
    CxlRejReason 6, nothing journalled; free again once the old order is gone."""

    async def main() -> None:
        node = make_node(tmp_path / "venue")
        assert node.genesis.rules == 2 and not node.engine.unique_cl_ord_ids  # type: ignore[attr-defined]
        try:
            async with Gateway(node) as gw:
                await open_accounts(gw, 1)
                async with client(gw, 1, cancel_on_disconnect=False) as a:
                    kept = await a.report(await a.place(SYM, "1", 2, 99_000, cl_ord_id="keep"), "0")
            async with Gateway(node) as gw:  # a restart: no ClOrdID state
                async with client(gw, 1) as a:
                    seq = node.next_seq
                    await a.place(SYM, "1", 1, 98_000, cl_ord_id="keep")
                    rej = await a.report("keep", "8")
                    assert rej.get(Tag.OrdRejReason) == "6"
                    assert "live order" in str(rej.get(Tag.Text))
                    other = await a.place(SYM, "1", 1, 98_000, cl_ord_id="other")
                    await a.report(other, "0")
                    seq = node.next_seq
                    await a.replace(other, SYM, "1", 1, 97_000, cl_ord_id="keep")
                    await a.wait_for(lambda: len(a.reports["keep"]) == 2)
                    cxl = a.reports["keep"][1]
                    assert cxl.msg_type == "9" and cxl.get(Tag.CxlRejReason) == "6"
                    assert node.next_seq == seq  # neither was sequenced
                    gone = await a.cancel("c1", SYM, "1", order_id=kept.get(Tag.OrderID))
                    await a.report(gone, "4")
                    again = await a.place(SYM, "1", 1, 98_000, cl_ord_id="keep")
                    assert (await a.report(again, "0")).get(Tag.OrdStatus) == "0"
        finally:
            node.close()

    asyncio.run(main())


def test_cancel_on_disconnect_and_opt_out(tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        a = await client(gw, 1).connect()
        await a.report(await a.place(SYM, "1", 1, 99_000), "0")
        b = await client(gw, 2, cancel_on_disconnect=False).connect()
        await b.report(await b.place(SYM, "2", 1, 101_000), "0")
        await a.close(logout=False)
        await b.close(logout=False)
        for _ in range(100):
            bids = await gw.call(lambda n: n.engine.book(1, Side.BUY))
            if not bids:
                break
            await asyncio.sleep(0.05)
        assert bids == []
        asks = await gw.call(lambda n: n.engine.book(1, Side.SELL))
        assert [o.account for o in asks] == [2]

    run(tmp_path, body)


def test_dead_mans_switch(tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        async with client(gw, 1) as a:
            cl = await a.place(SYM, "1", 1, 99_000)
            await a.report(cl, "0")
            arm = await a.mass_cancel(dead_man_ms=300)
            assert "armed" in ((await a.report(arm)).get(Tag.Text) or "")
            cxl = await a.report(cl, "4")
            assert cxl.get(Tag.Text) == "dead man's switch fired"

    run(tmp_path, body, tick_interval=0.05)


def test_sequence_gaps_both_ways(tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        async with client(gw, 1) as a:
            # our side: skip a number; the server asks for a resend, we gap-fill
            a.skip_outbound_seq()
            cl = await a.place(SYM, "1", 1, 99_000)
            await a.report(cl, "0")
            # server side: lose a report; the client sees the gap and asks for it again
            a.drop_inbound = 1
            cl2 = await a.place(SYM, "1", 1, 99_001)
            cl3 = await a.place(SYM, "1", 1, 99_002)
            await a.report(cl3, "0")
            again = await a.report(cl2, "0")
            assert again.get(Tag.PossDupFlag) == "Y"
            assert not a.missing

    run(tmp_path, body)


def test_bad_logon_and_limits(tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        wrong = FixClient(gw.url, 1, key(2))
        with pytest.raises(LogonRejected, match="authentication failed"):
            await wrong.connect()
        await wrong.close(logout=False)
        async with client(gw, 1) as a:
            for i in range(3):
                await a.report(await a.place(SYM, "1", 1, 99_000 + i), "0")
            over = await a.place(SYM, "1", 1, 98_000)
            assert (await a.report(over, "8")).get(Tag.OrdRejReason) == "3"
            unknown = await a.place("NOPE", "1", 1, 98_000)
            assert (await a.report(unknown, "8")).get(Tag.OrdRejReason) == "1"
            await a.send_raw("x" * 20_000)  # over max_frame: a Reject, not a crash
            await a.wait_for(lambda: any("limit" in (r.get(Tag.Text) or "") for r in a.rejects))

    run(tmp_path, body, max_open_orders=3)


def test_market_data_matches_engine_and_finality(tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        async with client(gw, 1) as a, client(gw, 2) as b, client(gw, 3) as watcher:
            book = await watcher.subscribe(SYM)
            await watcher.wait_for(lambda: not book.stale)
            last = None
            for i in range(60):
                side, px = ("1", 99_990 + i % 15) if i % 2 else ("2", 100_000 + i % 13)
                last = await (a if i % 3 else b).place(SYM, side, 1 + i % 4, px)
                if i % 10 == 9:
                    await (a if i % 3 else b).place(SYM, "1", 3, 100_005, tif="3")
            assert last is not None
            await (a if 59 % 3 else b).report(last)
            bids = aggregate(await gw.call(lambda n: n.engine.book(1, Side.BUY)))
            asks = aggregate(await gw.call(lambda n: n.engine.book(1, Side.SELL)))
            await watcher.wait_for(lambda: book.bids == bids and book.asks == asks)
            assert book.trades and not book.stale
            # a forced gap: the client notices and resyncs from a snapshot
            resyncs = book.resyncs
            book.seq -= 1
            await a.place(SYM, "1", 1, 99_000)
            await watcher.wait_for(lambda: book.resyncs > resyncs and not book.stale)
            # finality: sequenced -> in_block (U1) -> proven -> on_chain (hooks)
            cl = await a.place(SYM, "1", 1, 98_000)
            await a.report(cl, "0")
            assert a.finality(cl) == "sequenced"
            block = await gw.seal()
            assert block is not None
            await a.wait_for(lambda: a.finality(cl) == "in_block")
            gw.on_proven(block.header.height)
            await a.wait_for(lambda: a.finality(cl) == "proven")
            gw.on_published(block.header.height, "0x" + "ab" * 32)
            await a.wait_for(lambda: a.finality(cl) == "on_chain")
            gw.on_proven_price(SYM, block.header.height, 100_000)
            await a.wait_for(lambda: any(m.msg_type == "U3" for m in a.received))
            # optimistic mode: in_block -> proposed (pending on chain) -> on_chain (final)
            cl2 = await a.place(SYM, "1", 1, 97_000)
            await a.report(cl2, "0")
            block2 = await gw.seal()
            assert block2 is not None
            await a.wait_for(lambda: a.finality(cl2) == "in_block")
            gw.on_proposed(block2.header.height, "0x" + "cd" * 32)
            await a.wait_for(lambda: a.finality(cl2) == "proposed")
            assert a.finality(cl) == "on_chain"  # a later state of an earlier block stays
            gw.on_final(block2.header.height)
            await a.wait_for(lambda: a.finality(cl2) == "on_chain")
            u2 = [m.get(Tag.ProofStatus) for m in a.received if m.msg_type == "U2"]
            assert u2[-2:] == ["proposed", "final"], u2

    run(tmp_path, body, accounts=(1, 2, 3))


_garbage = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.lists(
        st.tuples(st.integers(0, 6000), st.text(max_size=12)), max_size=12
    ).map(lambda kv: "8=FIX.4.4|" + "|".join(f"{k}={v}" for k, v in kv) + "|"),
    st.dictionaries(st.sampled_from(["Header", "Body", "MsgType", "x"]),
                    st.text(max_size=10), max_size=3).map(lambda d: str(d).replace("'", '"')),
)  # fmt: skip


def test_garbage_frames_never_crash(tmp_path: Path) -> None:
    frames: list[list[str]] = []

    @settings(max_examples=40, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(_garbage, min_size=1, max_size=5))
    def collect(batch: list[str]) -> None:
        frames.append(batch)

    collect()

    async def body(gw: Gateway) -> None:
        async with client(gw, 1, encoding=Encoding.TAGVALUE_PIPE) as a:
            await a.report(await a.place(SYM, "1", 1, 99_000), "0")
            before = await gw.call(lambda n: encode(n.engine.snapshot()))
            sent = 0
            for batch in frames:
                for frame in batch:
                    await a.send_raw(frame)
                    sent += 1
            await a.wait_for(lambda: len(a.rejects) >= sent or a.closed.is_set(), 20)
            assert not a.closed.is_set()
            assert len(a.rejects) >= sent
            after = await gw.call(lambda n: encode(n.engine.snapshot()))
            assert after == before
            # the session still works
            await a.report(await a.place(SYM, "1", 1, 99_001), "0")

    run(tmp_path, body, max_rate=10_000, burst=10_000)


@pytest.mark.parametrize("check_outbound", [False, True])
def test_pipelined_blocks_follow_reports_and_late_market_data(
    tmp_path: Path, check_outbound: bool
) -> None:
    """Blocks are hashed off the engine task: a U1 still never precedes the reports of the
    commands it holds, and a subscriber arriving after unwatched trades sees the real book.
    With ``check_outbound`` every message the venue builds is validated too."""

    async def main() -> None:
        node = make_node(tmp_path / "venue", block_commands=4)
        try:
            async with Gateway(node, check_outbound=check_outbound) as gw:
                await open_accounts(gw, 1, 2, 3)
                async with client(gw, 1) as a, client(gw, 2) as b:
                    last = None
                    for i in range(40):
                        side, px = ("1", 99_995 + i % 9) if i % 2 else ("2", 100_000 + i % 7)
                        last = await (a if i % 3 else b).place(SYM, side, 1 + i % 3, px)
                    assert last is not None
                    await (a if 39 % 3 else b).report(last)
                    await gw.call(lambda n: n.flush())  # every cut block is durable now
                    heights = await gw.call(lambda n: (n.committed_height, n.height))
                    assert heights[0] == heights[1] >= 10
                    for c in (a, b):
                        await c.wait_for(
                            lambda c=c: any(m.msg_type == "U1" and m.get(Tag.BlockHeight)
                                            == str(heights[0]) for m in c.received)
                        )  # fmt: skip
                        announced = None  # blocks before the logon were not announced here
                        for m in c.received:
                            h = int(m.get(Tag.BlockHeight) or 0)
                            if m.msg_type == "U1":
                                assert announced is None or h == announced + 1  # in order
                                announced = h
                            elif m.msg_type == "8" and m.get(Tag.FinalityState) == "sequenced":
                                assert announced is None or h > announced, "U1 overtook a report"
                    async with client(gw, 3) as watcher:
                        book = await watcher.subscribe(SYM)
                        await watcher.wait_for(lambda: not book.stale)
                        bids = aggregate(await gw.call(lambda n: n.engine.book(1, Side.BUY)))
                        asks = aggregate(await gw.call(lambda n: n.engine.book(1, Side.SELL)))
                        assert (book.bids, book.asks) == (bids, asks) and bids and asks
                        cl = await a.place(SYM, "1", 1, 99_001)
                        await a.report(cl, "0")
                        bids = aggregate(await gw.call(lambda n: n.engine.book(1, Side.BUY)))
                        await watcher.wait_for(lambda: book.bids == bids and not book.stale)
        finally:
            node.close()

    asyncio.run(main())


def test_a_mass_cancel_of_every_market_goes_one_per_market(tmp_path: Path) -> None:
    """A venue of two markets cut for the block circuit (``Genesis.one_market_blocks``)
    refuses a mass cancel of every market; the gateway sends one per market where the account
    rests orders, for q type 7, the dead-man's switch and cancel-on-disconnect, and answers a
    q with one report. With nothing resting the q is answered and nothing is sequenced."""
    two = default_markets(2)
    g = Genesis(two, account_depth=8, order_depth=10, block_steps=18, block_layout=2,
                max_matches=3, max_open_orders=3)  # fmt: skip
    assert g.one_market_blocks

    def mass_cancels(n: VenueNode) -> list[tuple[int, int]]:
        n.seal()
        out = []
        for _, payload in n.blocks.iter_from(1):
            for c in decoder(Block).decode(payload).commands:
                if isinstance(c, MassCancel):
                    out.append((c.account, c.market))
        return out

    async def rest_both(c: FixClient) -> list[str]:
        cls = [await c.place(SYM, "1", 1, 99_000), await c.place("PB2-PERP", "1", 1, 99_000)]
        for cl in cls:
            await c.report(cl, "0")
        return cls

    async def main() -> None:
        node = VenueNode(tmp_path / "venue", g, fsync=True, engine="reference")
        try:
            async with Gateway(node, tick_interval=0.05) as gw:
                await open_accounts(gw, 1, 2, 3)
                async with client(gw, 1) as a:
                    cls = await rest_both(a)
                    q = await a.mass_cancel()
                    assert (await a.report(q)).get(Tag.MassCancelResponse) == "7"
                    for cl in cls:
                        await a.report(cl, "4")
                    assert len(a.reports[q]) == 1  # one report for the two commands
                    assert await gw.call(mass_cancels) == [(1, 1), (1, 2)]
                    # nothing rests: answered at once, nothing sequenced
                    q = await a.mass_cancel()
                    assert (await a.report(q)).get(Tag.MassCancelResponse) == "7"
                    assert await gw.call(mass_cancels) == [(1, 1), (1, 2)]
                    # the dead-man's switch
                    cls = await rest_both(a)
                    await a.report(await a.mass_cancel(dead_man_ms=200))
                    for cl in cls:
                        assert (await a.report(cl, "4")).get(Tag.Text) == "dead man's switch fired"
                async with client(gw, 2) as b:
                    await rest_both(b)
                    await b.close(logout=False)  # cancel-on-disconnect
                for _ in range(100):
                    if await gw.call(lambda n: n.engine.open_orders(2, 0)) == 0:
                        break
                    await asyncio.sleep(0.05)
                assert await gw.call(mass_cancels) == [(1, 1), (1, 2)] * 2 + [(2, 1), (2, 2)]
                # what the gateway protects against: the venue itself refuses the other kind
                with pytest.raises(InvalidCommand, match="every market"):
                    await gw.submit_commands([MassCancel(0, 0, 3, 0)])
        finally:
            node.close()

    asyncio.run(main())


# ---------------------------------------------------------------- signed orders

MARKETS = default_markets()
MARKET = next(m for m in MARKETS if m.symbol == SYM)


def signer(gw: Gateway, account: int) -> FixClient:
    """A client that signs its D and G (OrderSignature) with its account's key."""
    return client(gw, account, markets=MARKETS)


async def send_d(
    c: FixClient, cl: str, price: int, qty: int, signature: str | None,
    nonce: int | str | None = None,
) -> None:  # fmt: skip
    """A limit GTC buy with whatever OrderSignature and Nonce the test wants (None: none)."""
    body = [(Tag.ClOrdID, cl), (Tag.Symbol, SYM), (Tag.Side, "1"),
            (Tag.TransactTime, format_utc_timestamp(0)), (Tag.OrderQty, str(qty)),
            (Tag.OrdType, "2"), (Tag.Price, str(price)), (Tag.TimeInForce, "1")]  # fmt: skip
    if signature is not None:
        body.append((Tag.OrderSignature, signature))
    if nonce is not None:
        body.append((Tag.Nonce, str(nonce)))
    await c.send("D", body)


def place_sig(
    account: int, cl: str, price: int, qty: int, *, nonce: int, by: int | None = None
) -> str:
    """OrderSignature of ``send_d``'s order with this nonce, by ``by``'s key (default: the
    account's)."""
    cmd = place_command(account, MARKET, cl, "1", "2", "1", price, qty, nonce=nonce)
    return sign_command(key(by or account), cmd).sig.hex()


def text(msg: FixMessage) -> str:
    return msg.get(Tag.Text) or ""


def test_signed_venue_sequences_only_orders_its_accounts_signed(tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        assert gw.node.genesis.signed
        async with signer(gw, 1) as a:
            seq = await gw.call(lambda n: n.next_seq)
            refused = [  # (ClOrdID, OrderSignature, what the reject must say)
                ("u", None, "missing"),
                ("m", "zz" * 64, "malformed"),
                ("short", "ab" * 63, "malformed"),
                ("k", place_sig(1, "k", 99_000, 2, nonce=5, by=2), "does not match"),  # key
                ("p", place_sig(1, "p", 98_000, 2, nonce=5), "does not match"),  # price
                ("n", place_sig(1, "n", 99_000, 2, nonce=4), "does not match"),  # nonce
            ]
            for cl, sig, why in refused:
                await send_d(a, cl, 99_000, 2, sig, nonce=5)
                rej = await a.report(cl)
                assert (rej.msg_type, rej.get(Tag.ExecType), rej.get(Tag.OrdStatus)) == (
                    "8", "8", "8",
                )
                assert rej.get(Tag.OrdRejReason) == "99" and why in text(rej), text(rej)
                assert "OrderSignature" in text(rej)
            # nothing was sequenced, no order counted against the account
            assert await gw.call(lambda n: n.next_seq) == seq
            assert gw.router.open_orders(1) == 0
            # the ClOrdID was not burnt: the same order, signed, is accepted
            await send_d(a, "u", 99_000, 2, place_sig(1, "u", 99_000, 2, nonce=5), nonce=5)
            await a.wait_for(lambda: any(r.get(Tag.ExecType) == "0" for r in a.reports["u"]))
            # the client signs by itself
            cl = await a.place(SYM, "2", 3, 100_010)
            assert (await a.report(cl)).get(Tag.ExecType) == "0"
            block = await gw.seal()
            assert isinstance(block, Block)
            orders = [c for c in block.commands if isinstance(c, PlaceOrder)]
            assert len(orders) == 2
            assert all(len(c.sig) == 64 and command_signature_ok(c, *pub(1)) for c in orders)

    run(tmp_path, body, signed=True)


def test_signed_replace_signs_new_total_minus_filled(tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        async with signer(gw, 1) as maker, signer(gw, 2) as taker:
            sell = await maker.place(SYM, "2", 5, 100_010)
            oid = (await maker.report(sell, "0")).get(Tag.OrderID) or ""
            buy = await taker.place(SYM, "1", 2, 100_010, tif="3")
            await taker.report(buy, "F")
            await maker.report(sell, "F")  # CumQty 2
            # a G signed as if nothing had filled: the gateway builds qty 6 - 2, not 6 - 0
            n = maker.next_nonce()
            stale = replace_command(1, MARKET.market_id, int(oid), "stale", 100_012, 6, 0,
                                    nonce=n)  # fmt: skip
            g = [(Tag.OrigClOrdID, sell), (Tag.ClOrdID, "stale"), (Tag.OrderID, oid),
                 (Tag.Symbol, SYM), (Tag.Side, "2"), (Tag.TransactTime, format_utc_timestamp(0)),
                 (Tag.OrderQty, "6"), (Tag.OrdType, "2"), (Tag.Price, "100012"),
                 (Tag.Nonce, str(n))]  # fmt: skip
            sig = sign_command(key(1), stale).sig.hex()
            await maker.send("G", [*g, (Tag.OrderSignature, sig)])
            rej = await maker.report("stale")
            assert rej.msg_type == "9" and rej.get(Tag.CxlRejResponseTo) == "2"
            assert "does not match" in text(rej) and "re-sign" in text(rej), text(rej)
            # unsigned: refused too
            await maker.send("G", [(t, "unsigned" if t == Tag.ClOrdID else v) for t, v in g])
            rej = await maker.report("unsigned")
            assert rej.msg_type == "9" and "OrderSignature(5017) missing" in text(rej)
            # signed right but without its Nonce: refused, the gateway cannot build the command
            right = replace_command(1, MARKET.market_id, int(oid), "nonce", 100_012, 6, 2,
                                    nonce=n)  # fmt: skip
            no_nonce = [(t, "nonce" if t == Tag.ClOrdID else v) for t, v in g if t != Tag.Nonce]
            await maker.send("G", [*no_nonce, (Tag.OrderSignature, sign_command(key(1), right)
                                                                  .sig.hex())])  # fmt: skip
            rej = await maker.report("nonce")
            assert rej.msg_type == "9" and "Nonce(5018) missing" in text(rej), text(rej)
            # the client signs with the OrderID and CumQty of its reports: accepted
            rep = await maker.replace(sell, SYM, "2", 6, 100_012)
            done = await maker.report(rep, "5")
            assert done.get(Tag.LeavesQty) == "4" and done.get(Tag.Price) == "100012"
            block = await gw.seal()
            assert block is not None
            (cmd,) = [c for c in block.commands if isinstance(c, ReplaceOrder)]
            assert (cmd.qty, cmd.price) == (4, 100_012) and command_signature_ok(cmd, *pub(1))
            assert cmd.cl_ord_id == maker.last_nonce > n  # the client's next nonce

    run(tmp_path, body, signed=True)


def test_signed_order_replay_is_refused_with_the_reason(tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        async with signer(gw, 1) as a:
            n = a.next_nonce()
            sig = place_sig(1, "r1", 99_000, 2, nonce=n)
            await send_d(a, "r1", 99_000, 2, sig, nonce=n)
            assert (await a.report("r1")).get(Tag.ExecType) == "0"
            # the very same signed D under a new ClOrdID (what a replay looks like): its
            # signature still verifies, the engine refuses the nonce
            await send_d(a, "r2", 99_000, 2, sig, nonce=n)
            rej = await a.report("r2")
            assert (rej.get(Tag.ExecType), rej.get(Tag.OrdStatus)) == ("8", "8")
            assert "STALE_NONCE" in text(rej) and "replayed" in text(rej), text(rej)
            # an older nonce, properly signed, is refused the same way
            await send_d(a, "r3", 99_100, 2, place_sig(1, "r3", 99_100, 2, nonce=n - 1),
                         nonce=n - 1)  # fmt: skip
            assert "STALE_NONCE" in text(await a.report("r3"))
            # no Nonce, or not a number in [1, 2**64): refused before sequencing
            seq = await gw.call(lambda node: node.next_seq)
            for cl, nonce, why in [
                ("x1", None, "Nonce(5018) missing"),
                ("x2", "12a", "whole number"),
                ("x3", "0", "whole number"),
                ("x4", str(1 << 64), "whole number"),
            ]:
                await send_d(a, cl, 99_000, 2, place_sig(1, cl, 99_000, 2, nonce=n + 1),
                             nonce=nonce)  # fmt: skip
                rej = await a.report(cl)
                assert rej.get(Tag.ExecType) == "8" and rej.get(Tag.OrdRejReason) == "99"
                assert why in text(rej), text(rej)
            assert await gw.call(lambda node: node.next_seq) == seq
            # a fresh nonce goes through, and the client's own ones keep rising
            cl = await a.place(SYM, "1", 1, 99_200)
            assert (await a.report(cl)).get(Tag.ExecType) == "0"
            await gw.seal()

            def placed(node: VenueNode) -> tuple[list[int], int]:
                node.flush()  # every cut block stored
                blocks = [decoder(Block).decode(b) for _, b in node.blocks.iter_from(1)]
                cls = [c.cl_ord_id for b in blocks for c in b.commands
                       if isinstance(c, PlaceOrder)]  # fmt: skip
                return cls, node.engine.account_view(1).nonce

            # the replays are in the blocks (sequenced, rejected); the nonce is the last one
            assert await gw.call(placed) == ([n, n, n - 1, a.last_nonce], a.last_nonce)

    run(tmp_path, body, signed=True)


def test_client_nonces_rise_and_follow_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import venue.client

    now = [5_000_000]  # ns
    monkeypatch.setattr(venue.client.time, "time_ns", lambda: now[0])
    c = FixClient("ws://127.0.0.1:1", 1, key(1))
    assert [c.next_nonce(), c.next_nonce()] == [5_000, 5_001]  # microseconds, then + 1
    now[0] = 1_000  # the clock steps back: still rising
    assert c.next_nonce() == 5_002
    now[0] = 10**9  # a restart later starts from the clock, above the old nonces
    assert c.next_nonce() == 10**6 == c.last_nonce


def test_unsigned_venue_takes_unsigned_orders_and_ignores_signatures(tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        assert not gw.node.genesis.signed
        async with client(gw, 1) as a, signer(gw, 2) as b:
            plain = await a.place(SYM, "2", 1, 100_010)
            assert (await a.report(plain)).get(Tag.ExecType) == "0"
            signed = await b.place(SYM, "2", 1, 100_011)  # carries a signature nobody checks
            assert (await b.report(signed)).get(Tag.ExecType) == "0"
            block = await gw.seal()
            assert block is not None
            places = [c for c in block.commands if isinstance(c, PlaceOrder)]
            assert [c.sig for c in places] == [b"", b""]
            # ... and a Nonce nobody uses: the engine ids stay the ClOrdID hashes
            assert [c.cl_ord_id for c in places] == [cl_ord_int(plain), cl_ord_int(signed)]

    run(tmp_path, body)


def test_small_group_commits_run_on_the_loop_until_the_disk_is_slow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lone order is committed on the loop thread (no thread hop); a batch over
    ``inline_batch`` and every commit after the disk turns slow go to the executor, and the
    acks are the same either way. The disk is simulated at the OS call (outside the system):
    fast (``fdatasync`` returns at once), then slow (it sleeps 3 ms). The real disk's latency
    follows the machine's load, and a clean-clone CI run once saw commits over 1 ms from the
    start, with the other test worker writing circuit keys."""
    monkeypatch.setattr(journal, "_fdatasync", lambda fd: None)

    async def body(gw: Gateway) -> None:
        loop_thread = threading.get_ident()
        threads: list[tuple[int, bool]] = []  # (batch size, ran on the loop thread)
        submit = gw.node.submit

        def traced(cmds):  # type: ignore[no-untyped-def]
            threads.append((len(cmds), threading.get_ident() == loop_thread))
            return submit(cmds)

        gw.node.submit = traced  # type: ignore[method-assign]
        async with client(gw, 1) as c:
            for i in range(3):
                cl = await c.place(SYM, "2", 1, 100_100 + i)
                assert (await c.report(cl, "0")).get(Tag.OrdStatus) == "0"
            assert threads and all(on_loop for _, on_loop in threads)
            threads.clear()
            # more than inline_batch commands in one group commit: offloaded
            await gw.submit_commands([Deposit(0, 0, 1, 1) for _ in range(gw.inline_batch + 1)])
            assert threads == [(gw.inline_batch + 1, False)]
            threads.clear()
            fast = journal._fdatasync

            def slow(fd: int) -> None:
                time.sleep(0.003)
                fast(fd)

            monkeypatch.setattr(journal, "_fdatasync", slow)
            for i in range(12):
                cl = await c.place(SYM, "2", 1, 100_200 + i)
                assert (await c.report(cl, "0")).get(Tag.OrdStatus) == "0"
            # the moving average crosses 1 ms after a few slow commits; from then on, off the loop
            assert [on_loop for _, on_loop in threads][-4:] == [False] * 4
            assert gw._commit_ns > gw.inline_max_commit_ns

    run(tmp_path, body)


def test_the_keeper_liquidates_an_account_under_maintenance(tmp_path: Path) -> None:
    """Account 3 buys 10 lots on exactly its initial margin; the market then trades 6% lower.
    Once that block moves the mark, the gateway's keeper sends account 3's liquidation
    order: its session sees it (ClOrdID LIQ-1) from New to filled, the bidder its fill, and
    a later block liquidates nothing more."""

    async def body(gw: Gateway) -> None:
        x, y = pub(3)
        await gw.submit_commands([AddAccount(0, 0, 3, x, y), Deposit(0, 0, 3, 100_000)])
        async with client(gw, 1) as deep, client(gw, 2) as other, client(gw, 3) as thin:
            ask = await deep.place(SYM, "2", 10, 100_000)
            await deep.report(ask, "0")
            buy = await thin.place(SYM, "1", 10, 100_000, tif="3")
            await thin.report(buy, "F")
            await gw.seal()
            low = await other.place(SYM, "2", 1, 94_000)
            await other.report(low, "0")
            hit = await deep.place(SYM, "1", 1, 94_000, tif="3")
            await deep.report(hit, "F")
            bid = await deep.place(SYM, "1", 10, 93_000)
            await deep.report(bid, "0")
            assert gw.stats["liquidations"] == 0  # the mark is still 100,000
            await gw.seal()  # the mark becomes 94,000: equity 40,000 < maintenance 47,000
            await thin.wait_for(lambda: any(m.get(Tag.ExecType) == "F"
                                            for m in thin.reports["LIQ-1"]))  # fmt: skip
            new, fill = thin.reports["LIQ-1"][0], thin.reports["LIQ-1"][-1]
            assert new.get(Tag.ExecType) == "0" and new.get(Tag.Side) == "2"
            assert (fill.get(Tag.LastPx), fill.get(Tag.LastQty), fill.get(Tag.OrdStatus)) == (
                "93000", "10", "2",
            )
            assert (await deep.report(bid, "F")).get(Tag.LastQty) == "10"
            view = await gw.call(lambda n: n.engine.account_view(3))
            assert view.positions[0].position == 0
            await other.place(SYM, "2", 1, 93_500)
            await gw.seal()
            await asyncio.sleep(0.3)  # a few more scans: nobody left to liquidate
            assert gw.stats["liquidations"] == 1

    run(tmp_path, body, liquidate_every=0.02, tick_interval=0.02)


def test_a_plain_http_get_is_answered_with_the_dashboard(tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    def get(url: str) -> tuple[int, str, str]:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.status, r.headers["Content-Type"], r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers["Content-Type"], e.read().decode()

    async def body(gw: Gateway) -> None:
        async with client(gw, 1) as a, client(gw, 2) as b:
            await a.report(await a.place(SYM, "2", 2, 100_010), "0")
            await b.report(await b.place(SYM, "1", 2, 100_010, tif="3"), "F")
            await gw.seal()
            http = gw.url.replace("ws://", "http://")
            loop = asyncio.get_running_loop()
            status, kind, page = await loop.run_in_executor(None, get, http + "/")
            assert status == 200 and kind == "text/html; charset=utf-8"
            assert SYM in page and "100,010" in page and page.count("<circle") == gw.node.height
            status, _, text = await loop.run_in_executor(None, get, http + "/nothing")
            assert status == 404 and "WebSocket" in text
            # the FIX session on the same port is unaffected
            assert (await a.report(await a.place(SYM, "2", 1, 100_020), "0")) is not None

    run(tmp_path, body)


def test_anyone_can_mirror_the_venue_over_http_and_replay_it(tmp_path: Path) -> None:
    """``venue.mirror`` copies genesis, blocks and proofs from the gateway's HTTP record into
    a directory of its own, continuing where it stopped; replaying the copy gives the venue's
    own state root. A directory of another venue is refused; unknown records are 404s."""
    import json
    import urllib.error
    import urllib.request

    from venue.mirror import MirrorError, mirror
    from venue.replay import replay

    copy = tmp_path / "copy"

    async def body(gw: Gateway) -> None:
        loop = asyncio.get_running_loop()
        http = gw.url.replace("ws://", "http://")
        async with client(gw, 1) as a, client(gw, 2) as b:
            for price in (100_010, 100_020):
                await a.report(await a.place(SYM, "2", 2, price), "0")
                await b.report(await b.place(SYM, "1", 2, price, tif="3"), "F")
                await gw.seal()
        first = await loop.run_in_executor(None, lambda: mirror(gw.url, copy))
        assert (first.blocks, first.proofs, first.height) == (gw.node.height, 0, gw.node.height)
        assert first.deployments == [] and not (copy / "optimistic.json").exists()  # no chain
        # the venue keeps an optimistic deployment: a mirror copies it, once, and again when
        # it changes (what the watcher reads: ``provenbook watch DIR --chain URL``)
        deployment = gw.node.dir / "optimistic.json"
        deployment.write_text('{"commitments": "0x01"}')
        # a proof arrives for block 2, and one more block: the next pass takes only those
        await gw.call(lambda n: n.blocks.put_proof(2, "groth16", b"proof of 2"))
        await gw.submit_commands([Deposit(0, 0, 1, 5)])
        await gw.seal()
        again = await loop.run_in_executor(None, lambda: mirror(http + "/", copy))
        assert (again.blocks, again.proofs, again.height) == (1, 1, gw.node.height)
        assert again.deployments == ["optimistic.json"]
        assert (copy / "optimistic.json").read_bytes() == deployment.read_bytes()
        same = await loop.run_in_executor(None, lambda: mirror(gw.url, copy))
        assert same.deployments == [] and same.blocks == 0
        deployment.write_text("[1, 2]")  # not a deployment: refused, the copy kept
        with pytest.raises(MirrorError, match="not a deployment record"):
            await loop.run_in_executor(None, lambda: mirror(gw.url, copy))
        assert (copy / "optimistic.json").read_text() == '{"commitments": "0x01"}'
        deployment.unlink()
        root = await gw.call(lambda n: n.commitment.root)
        report = replay(copy)
        assert report.ok and report.last_height == gw.node.height and report.last_root == root
        with BlockStore(copy / "blocks", first_height=1, read_only=True) as store:
            assert store.get_proof(2) is not None and store.get_proof(2).payload == b"proof of 2"

        def get(path: str) -> tuple[int, bytes]:
            try:
                with urllib.request.urlopen(http + path, timeout=10) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()

        status, head = await loop.run_in_executor(None, get, "/head?proofs_after=1")
        assert status == 200 and json.loads(head) == {"height": gw.node.height, "proven": [2]}
        for path in ("/blocks/999", "/proofs/1", "/blocks/x", "/proofs/-1", "/chain.json",
                     "/optimistic.json", "/genesis.msgpack", "/../genesis.msgpack"):  # fmt: skip
            assert (await loop.run_in_executor(None, get, path))[0] == 404
        other = tmp_path / "other"
        other.mkdir()
        (other / "genesis.msgpack").write_bytes(b"\x90")
        with pytest.raises(MirrorError, match="another venue"):
            await loop.run_in_executor(None, lambda: mirror(gw.url, other))
        with pytest.raises(MirrorError, match="not an http"):
            mirror("ftp://example", other)
        # the command line: a copy, then nothing to reach
        from venue.cli import main

        cli = [str(tmp_path / "cli-copy")]
        assert await loop.run_in_executor(None, lambda: main(["mirror", gw.url, *cli])) == 0
        assert replay(tmp_path / "cli-copy").last_root == root
        assert main(["mirror", "http://127.0.0.1:9", str(tmp_path / "none")]) == 2
        assert main(["mirror", gw.url, str(tmp_path / "none"), "--poll", "0"]) == 2

    run(tmp_path, body)
