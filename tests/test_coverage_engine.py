"""Deterministic rule-by-rule tests; one body runs against both engines (reference, Cython)."""

from __future__ import annotations

from typing import Any

import pytest

from matching import (
    AddAccount,
    CEngine,
    EngineError,
    MarketConfig,
    OrderAccepted,
    OrderCancelled,
    OrderReduced,
    OrderReplaced,
    OrderType,
    PlaceOrder,
    ReferenceEngine,
    Rejected,
    ResultCode,
    Side,
    StpMode,
    TimeInForce,
    Trade,
)
from matching.types import CancelReason, MassCancelled

from .harness import MARKET, Harness

A, B, C = 1, 2, 3


def trades(events: list) -> list[tuple[int, int, int]]:
    return [(e.maker_order_id, e.price, e.qty) for e in events if isinstance(e, Trade)]


def codes(events: list) -> list[int]:
    return [e.code for e in events if isinstance(e, Rejected)]


class EngineRules:
    engine_cls: type

    @pytest.fixture
    def h(self) -> Harness:
        h = Harness(self.engine_cls)
        for acct in (A, B, C):
            h.fund(acct)
        return h

    # --- priority and fills ---------------------------------------------------------------

    def test_price_then_time_priority(self, h: Harness) -> None:
        first = h.sell(A, 1010, 5)[0].order_id
        second = h.sell(B, 1010, 5)[0].order_id
        better = h.sell(C, 1005, 5)[0].order_id
        ev = h.buy(C, 1010, 12, stp=StpMode.CANCEL_MAKER)
        # C's own ask at 1005 is removed by STP (cancel maker), then A before B at 1010.
        assert trades(ev) == [(first, 1010, 5), (second, 1010, 5)]
        assert any(isinstance(e, OrderCancelled) and e.order_id == better for e in ev)
        # The 2 lots left rest as the new best bid.
        assert [(o.price, o.qty) for o in h.engine.book(1, Side.BUY)] == [(1010, 2)]

    def test_partial_fill_keeps_maker_priority(self, h: Harness) -> None:
        m1 = h.sell(A, 1000, 10)[0].order_id
        h.sell(B, 1000, 10)
        ev = h.buy(C, 1000, 4, tif=TimeInForce.IOC)
        assert trades(ev) == [(m1, 1000, 4)]
        t = next(e for e in ev if isinstance(e, Trade))
        assert (t.taker_remaining, t.maker_remaining) == (0, 6)
        book = h.engine.book(1, Side.SELL)
        assert (book[0].order_id, book[0].qty) == (m1, 6)

    def test_trade_at_maker_price(self, h: Harness) -> None:
        h.sell(A, 1000, 1)
        ev = h.buy(B, 1050, 1)
        assert trades(ev)[0][1] == 1000

    def test_ioc_remainder_cancelled(self, h: Harness) -> None:
        h.sell(A, 1000, 3)
        ev = h.buy(B, 1000, 5, tif=TimeInForce.IOC)
        last = ev[-1]
        assert isinstance(last, OrderCancelled)
        assert (last.remaining, last.reason) == (2, CancelReason.IOC_REMAINDER)
        assert h.engine.book(1, Side.BUY) == []

    def test_fok_not_fillable_changes_nothing(self, h: Harness) -> None:
        h.sell(A, 1000, 3)
        h.sell(A, 1010, 3)
        before = h.state()
        ev = h.buy(B, 1005, 4, tif=TimeInForce.FOK)
        assert codes(ev) == [ResultCode.FOK_NOT_FILLABLE]
        assert h.state() == before

    def test_fok_fills_completely_across_levels(self, h: Harness) -> None:
        h.sell(A, 1000, 3)
        h.sell(A, 1010, 3)
        ev = h.buy(B, 1010, 5, tif=TimeInForce.FOK)
        assert [q for _, _, q in trades(ev)] == [3, 2]

    def test_fok_counts_no_self_liquidity(self, h: Harness) -> None:
        h.sell(B, 1000, 5)
        ev = h.buy(B, 1000, 5, tif=TimeInForce.FOK, stp=StpMode.DECREMENT)
        assert codes(ev) == [ResultCode.FOK_NOT_FILLABLE]

    def test_post_only(self, h: Harness) -> None:
        h.sell(A, 1000, 1)
        before = h.state()
        assert codes(h.buy(B, 1000, 1, post_only=True)) == [ResultCode.POST_ONLY_WOULD_CROSS]
        assert h.state() == before
        ev = h.buy(B, 995, 1, post_only=True)
        assert isinstance(ev[0], OrderAccepted) and len(ev) == 1

    def test_market_order_stops_at_protection(self, h: Harness) -> None:
        h.sell(A, 1000, 2)
        h.sell(A, 1100, 2)
        ev = h.buy(B, 1050, 5, order_type=OrderType.MARKET, tif=TimeInForce.IOC)
        assert [p for _, p, _ in trades(ev)] == [1000]
        assert isinstance(ev[-1], OrderCancelled) and ev[-1].remaining == 3

    def test_market_order_must_not_rest(self, h: Harness) -> None:
        ev = h.buy(B, 1050, 5, order_type=OrderType.MARKET, tif=TimeInForce.GTC)
        assert codes(ev) == [ResultCode.INVALID_ORDER_FLAGS]

    def test_book_never_crossed(self, h: Harness) -> None:
        h.sell(A, 1000, 5)
        h.buy(B, 1020, 10)
        bids, asks = h.engine.book(1, Side.BUY), h.engine.book(1, Side.SELL)
        assert asks == [] and bids[0].price == 1020 and bids[0].qty == 5

    # --- cancels and replaces -------------------------------------------------------------

    def test_cancel_rules(self, h: Harness) -> None:
        oid = h.buy(A, 990, 5)[0].order_id
        before = h.state()
        assert codes(h.cancel(B, oid)) == [ResultCode.NOT_ORDER_OWNER]
        assert codes(h.cancel(A, oid + 100)) == [ResultCode.UNKNOWN_ORDER]
        assert codes(h.cancel(A, oid, market=2)) == [ResultCode.UNKNOWN_ORDER]
        assert codes(h.cancel(A, oid, market=9)) == [ResultCode.UNKNOWN_MARKET]
        assert h.state() == before
        ev = h.cancel(A, oid)
        assert isinstance(ev[0], OrderCancelled) and ev[0].reason == CancelReason.USER
        assert h.engine.book(1, Side.BUY) == []

    def test_replace_quantity_down_keeps_priority(self, h: Harness) -> None:
        first = h.sell(A, 1000, 10)[0].order_id
        h.sell(B, 1000, 10)
        ev = h.replace(A, first, 1000, 4)
        assert isinstance(ev[0], OrderReplaced) and ev[0].priority_kept
        assert h.engine.book(1, Side.SELL)[0].order_id == first

    def test_replace_quantity_up_loses_priority(self, h: Harness) -> None:
        first = h.sell(A, 1000, 10)[0].order_id
        second = h.sell(B, 1000, 10)[0].order_id
        ev = h.replace(A, first, 1000, 11)
        assert not ev[0].priority_kept
        assert [o.order_id for o in h.engine.book(1, Side.SELL)] == [second, first]

    def test_replace_price_change_can_trade(self, h: Harness) -> None:
        bid = h.buy(A, 990, 5)[0].order_id
        ask = h.sell(B, 1000, 3)[0].order_id
        ev = h.replace(A, bid, 1000, 5)
        assert trades(ev) == [(ask, 1000, 3)]
        assert [(o.order_id, o.qty) for o in h.engine.book(1, Side.BUY)] == [(bid, 2)]

    def test_replace_validation(self, h: Harness) -> None:
        oid = h.buy(A, 990, 5, cl=7)[0].order_id
        h.buy(A, 985, 5, cl=8)
        before = h.state()
        assert codes(h.replace(A, oid, 991, 5)) == [ResultCode.PRICE_OFF_TICK]
        assert codes(h.replace(A, oid, 990, 0)) == [ResultCode.INVALID_QUANTITY]
        assert codes(h.replace(A, oid, 990, 4, cl=8)) == [ResultCode.DUPLICATE_CLIENT_ORDER_ID]
        assert codes(h.replace(B, oid, 990, 4)) == [ResultCode.NOT_ORDER_OWNER]
        assert h.state() == before

    def test_mass_cancel(self, h: Harness) -> None:
        h.buy(A, 990, 1)
        h.sell(A, 1100, 1)
        h.place(A, Side.BUY, 480, 10, market=2)
        keep = h.buy(B, 980, 1)[0].order_id
        ev = h.mass_cancel(A, market=1)
        assert [e.reason for e in ev if isinstance(e, OrderCancelled)] == [
            CancelReason.MASS_CANCEL
        ] * 2
        assert isinstance(ev[-1], MassCancelled) and ev[-1].count == 2
        assert len(h.engine.book(2, Side.BUY)) == 1
        ev = h.mass_cancel(A)
        assert ev[-1].count == 1
        assert [o.order_id for o in h.engine.book(1, Side.BUY)] == [keep]
        assert h.mass_cancel(C)[-1].count == 0

    # --- self-trade prevention ------------------------------------------------------------

    def test_stp_cancel_taker(self, h: Harness) -> None:
        maker = h.sell(A, 1000, 5)[0].order_id
        ev = h.buy(A, 1000, 3, stp=StpMode.CANCEL_TAKER)
        assert trades(ev) == []
        assert isinstance(ev[-1], OrderCancelled) and ev[-1].reason == CancelReason.SELF_TRADE
        assert h.engine.book(1, Side.SELL)[0].order_id == maker

    def test_stp_cancel_maker_then_trade(self, h: Harness) -> None:
        own = h.sell(A, 1000, 5)[0].order_id
        other = h.sell(B, 1000, 5)[0].order_id
        ev = h.buy(A, 1000, 3, stp=StpMode.CANCEL_MAKER)
        assert any(isinstance(e, OrderCancelled) and e.order_id == own for e in ev)
        assert trades(ev) == [(other, 1000, 3)]

    def test_stp_cancel_both(self, h: Harness) -> None:
        h.sell(A, 1000, 5)
        ev = h.buy(A, 1000, 3, stp=StpMode.CANCEL_BOTH)
        cancelled = [e for e in ev if isinstance(e, OrderCancelled)]
        assert len(cancelled) == 2 and h.engine.book(1, Side.SELL) == []
        assert h.engine.book(1, Side.BUY) == []

    def test_stp_decrement(self, h: Harness) -> None:
        maker = h.sell(A, 1000, 5)[0].order_id
        ev = h.buy(A, 1000, 3, stp=StpMode.DECREMENT)
        reduced = [
            (e.order_id, e.reduced_by, e.remaining) for e in ev if isinstance(e, OrderReduced)
        ]
        assert reduced[1] == (maker, 3, 2) and reduced[0][1:] == (3, 0)
        assert trades(ev) == []
        assert h.engine.book(1, Side.SELL)[0].qty == 2

    # --- positions, PnL, margin -----------------------------------------------------------

    def test_positions_and_realised_pnl(self, h: Harness) -> None:
        h.sell(B, 1000, 10)
        h.buy(A, 1000, 10)
        h.sell(C, 1100, 4)  # resting ask; A sells into B's bid below
        h.buy(B, 1100, 4)  # B buys back 4 from C at 1100
        h.buy(C, 1200, 4)  # resting bid for A to hit
        col_before = h.engine.account_view(A).collateral
        h.sell(A, 1200, 4)  # A closes 4 of 10 at 1200: +4 * 200
        a = h.engine.account_view(A)
        pos = a.positions[0]
        assert pos.position == 6 and pos.basis == 6_000
        assert a.collateral - col_before == 800
        b = h.engine.account_view(B).positions[0]
        assert b.position == -6 and b.basis == -6_000

    def test_flip_position_through_zero(self, h: Harness) -> None:
        h.sell(B, 1000, 3)
        h.buy(A, 1000, 3)
        h.buy(C, 900, 5)
        col = h.engine.account_view(A).collateral
        h.sell(A, 900, 5)  # close 3 at a loss of 100 each, then short 2 at 900
        a = h.engine.account_view(A)
        assert a.collateral - col == -300
        assert (a.positions[0].position, a.positions[0].basis) == (-2, -1_800)

    def test_insufficient_margin_rejected_and_risk_reduction_allowed(self, h: Harness) -> None:
        h.run(AddAccount(*h._n(), 9))
        h.deposit(9, 1_000)  # 10% of 1000 per lot: 1,000 covers 10 lots at the mark
        before = h.state()
        assert codes(h.buy(9, 1000, 11)) == [ResultCode.INSUFFICIENT_MARGIN]
        assert h.state() == before
        assert not codes(h.buy(9, 1000, 10))
        # buying above the mark locks in a loss: 5 lots at 1100 lose 500 at the mark
        h.cancel(9, h.seq - 0)
        assert codes(h.buy(9, 1100, 6)) == [ResultCode.INSUFFICIENT_MARGIN]
        # a sell that reduces nothing on a flat account with no orders still needs margin
        h.sell(B, 1000, 10)
        h.buy(9, 1000, 10, tif=TimeInForce.IOC)
        assert h.engine.account_view(9).positions[0].position == 10
        assert not codes(h.sell(9, 1000, 10))  # risk-reducing: allowed

    def test_withdraw(self, h: Harness) -> None:
        h.run(AddAccount(*h._n(), 9))
        h.deposit(9, 1_000)
        h.buy(9, 1000, 5)  # needs 500 of initial margin
        before = h.state()
        assert codes(h.withdraw(9, 501)) == [ResultCode.INSUFFICIENT_COLLATERAL]
        assert codes(h.withdraw(9, 0)) == [ResultCode.INVALID_AMOUNT]
        assert h.state() == before
        ev = h.withdraw(9, 500)
        assert ev[0].balance == 500

    # --- validation ------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("kw", "code"),
        [
            ({"market": 7}, ResultCode.UNKNOWN_MARKET),
            ({"qty": 0}, ResultCode.INVALID_QUANTITY),
            ({"qty": -3}, ResultCode.INVALID_QUANTITY),
            ({"qty": 10_001}, ResultCode.INVALID_QUANTITY),
            ({"price": 1003}, ResultCode.PRICE_OFF_TICK),
            ({"price": 0}, ResultCode.INVALID_PRICE),
            ({"price": 1_000_005}, ResultCode.PRICE_OUT_OF_BAND),
            ({"tif": 9}, ResultCode.INVALID_ORDER_FLAGS),
            ({"stp": 7}, ResultCode.INVALID_ORDER_FLAGS),
            ({"post_only": True, "tif": TimeInForce.IOC}, ResultCode.INVALID_ORDER_FLAGS),
            ({"account": 77}, ResultCode.UNKNOWN_ACCOUNT),
            ({"cl": 1 << 64}, ResultCode.INVALID_ORDER_FLAGS),
        ],
    )
    def test_bad_orders_rejected_without_change(self, h: Harness, kw: dict, code: int) -> None:
        args = {"account": A, "price": 1000, "qty": 1, **kw}
        before = h.state()
        ev = h.buy(args.pop("account"), args.pop("price"), args.pop("qty"), **args)
        assert codes(ev) == [code]
        assert h.state() == before

    def test_quantity_off_lot(self, h: Harness) -> None:
        assert codes(h.place(A, Side.BUY, 500, 15, market=2)) == [ResultCode.QUANTITY_OFF_LOT]

    def test_duplicate_client_order_id(self, h: Harness) -> None:
        h.buy(A, 990, 1, cl=42)
        before = h.state()
        assert codes(h.buy(A, 985, 1, cl=42)) == [ResultCode.DUPLICATE_CLIENT_ORDER_ID]
        assert h.state() == before
        assert not codes(h.buy(B, 985, 1, cl=42))  # ids are per account
        assert h.engine.has_live_cl_ord_id(A, 42) and h.engine.has_live_cl_ord_id(B, 42)
        assert not h.engine.has_live_cl_ord_id(A, 43)
        assert not h.engine.has_live_cl_ord_id(C, 42)  # no such account
        assert not h.engine.has_live_cl_ord_id(A, 0) and not h.engine.has_live_cl_ord_id(A, -1)
        assert not h.engine.has_live_cl_ord_id(A, 1 << 70)

    def test_client_ids_may_repeat_without_the_uniqueness_rule(self) -> None:
        """Rules 2 (``unique_cl_ord_ids=False``): an id carried by live orders is counted, not
        refused, and stays live until its last order goes, through cancels, fills, replaces
        and a snapshot round trip (``_check`` compares the count after every command)."""
        h = Harness(self.engine_cls, unique_cl_ord_ids=False)
        assert h.engine.unique_cl_ord_ids is False
        h.fund(A)
        h.fund(B)
        first = h.buy(A, 990, 1, cl=42)[0].order_id
        second = h.buy(A, 985, 1, cl=42)[0].order_id
        third = h.buy(A, 980, 1, cl=7)[0].order_id
        assert h.engine.has_live_cl_ord_id(A, 42)
        # a replace may take an id another live order carries, and give its own up
        assert not codes(h.replace(A, third, 980, 1, cl=42))
        assert not h.engine.has_live_cl_ord_id(A, 7)
        h.cancel(A, first)
        assert h.engine.has_live_cl_ord_id(A, 42)
        snap = h.engine.snapshot()
        again = self.engine_cls.from_snapshot(snap, unique_cl_ord_ids=False)
        again._check()
        h.engine = again
        assert trades(h.sell(B, 985, 1, tif=TimeInForce.IOC))  # fills `second`
        assert h.engine.has_live_cl_ord_id(A, 42)  # `third` still carries it
        h.cancel(A, third)
        assert not h.engine.has_live_cl_ord_id(A, 42)
        assert h.engine.order_view(second) is None

    def test_price_band_around_mark(self) -> None:
        banded = MarketConfig(1, "B", 1, 1, 1, 10_000, 100, 1_000, 1_000, 500, band_bps=500)
        h = Harness(self.engine_cls, (banded,))
        h.fund(A)
        assert codes(h.buy(A, 1_051, 1)) == [ResultCode.PRICE_OUT_OF_BAND]
        assert not codes(h.buy(A, 1_050, 1))
        assert codes(h.buy(A, 949, 1)) == [ResultCode.PRICE_OUT_OF_BAND]

    def test_capacity_limits(self) -> None:
        h = Harness(self.engine_cls, max_accounts=4, max_resting_per_side=2)
        for acct in (A, B, C):
            h.fund(acct)
        assert codes(h.run(AddAccount(*h._n(), 4))) == [ResultCode.INVALID_ACCOUNT_ID]
        h.buy(A, 990, 1)
        h.buy(A, 985, 1)
        before = h.state()
        assert codes(h.buy(B, 980, 1)) == [ResultCode.BOOK_FULL]
        assert h.state() == before
        assert not codes(h.sell(B, 1100, 1))  # the other side has room
        # an IOC order never rests, so a full side does not stop it
        assert not codes(h.buy(B, 1100, 1, tif=TimeInForce.IOC))

    def test_account_rules(self, h: Harness) -> None:
        assert codes(h.run(AddAccount(*h._n(), A))) == [ResultCode.ACCOUNT_EXISTS]
        assert codes(h.run(AddAccount(*h._n(), 1 << 20))) == [ResultCode.INVALID_ACCOUNT_ID]
        assert codes(h.deposit(55, 10)) == [ResultCode.UNKNOWN_ACCOUNT]

    def test_sequencer_contract(self, h: Harness) -> None:
        cmd = PlaceOrder(h.seq + 2, h.ts, A, 1, 0, Side.BUY, 1, 1, 1000, 1)
        with pytest.raises(EngineError):
            h.engine.process(cmd)
        cmd = PlaceOrder(h.seq + 1, h.ts - 1, A, 1, 0, Side.BUY, 1, 1, 1000, 1)
        with pytest.raises(EngineError):
            h.engine.process(cmd)

    # --- blocks ----------------------------------------------------------------------------

    def test_vwap_rounding_and_carry(self, h: Harness) -> None:
        h.engine.end_block(h.ts)
        h.sell(A, 1000, 1)
        h.sell(A, 1005, 2)
        h.buy(B, 1005, 3)  # notional 3010 over 3 lots = 1003.33 -> 1003
        s = h.engine.end_block(h.ts + 1_000_000_000)[0]
        assert (s.price, s.volume, s.notional, s.trade_count) == (1003, 3, 3010, 2)
        assert not s.carried
        close = h.ts + 3_000_000_000
        s2 = h.engine.end_block(close)[0]
        assert (s2.price, s2.carried, s2.volume) == (1003, True, 0)
        assert s2.cum_price_time - s.cum_price_time == 1003 * 2_000
        # no command is timed before the close of the block it follows (the block proof
        # checks it against the close in the pre-state)
        assert h.engine.last_ts == close
        before = h.state()
        with pytest.raises(EngineError, match="before the previous"):
            h.sell(A, 1000, 1)
        assert h.state() == before and h.engine.last_seq == h.seq - 1
        h.seq, h.ts = h.seq - 1, close
        h.sell(A, 1000, 1)
        h.sell(A, 1005, 1)
        h.buy(B, 1005, 2)  # 1002.5 rounds half up to 1003
        assert h.engine.end_block(h.ts + 4_000_000_000)[0].price == 1003

    def test_snapshot_round_trip(self, h: Harness) -> None:
        h.buy(A, 990, 5)
        h.sell(B, 1000, 5)
        h.buy(C, 1000, 2)
        snap = h.engine.snapshot()
        again = self.engine_cls.from_snapshot(snap)
        from matching import encode

        assert encode(again.snapshot()) == encode(snap)
        again._check()

    # --- the per-command match limit (max_matches) -------------------------------------------

    def test_match_limit_cuts_a_sweep_and_its_rest_never_rests(self) -> None:
        h = Harness(self.engine_cls, max_matches=2)
        for acct in (A, B, C):
            h.fund(acct)
        asks = [h.sell(A, 1010 + 5 * i, 1)[0].order_id for i in range(4)]
        own = h.sell(C, 1005, 1)[0].order_id
        ev = h.buy(C, 1030, 5, stp=StpMode.CANCEL_MAKER)
        # the self-trade cancel of C's own ask is one of the two matches, then one fill; the
        # rest still crosses (1015), so it is cancelled, not rested
        assert any(isinstance(e, OrderCancelled) and e.order_id == own for e in ev)
        assert trades(ev) == [(asks[0], 1010, 1)]
        last = ev[-1]
        assert isinstance(last, OrderCancelled) and last.reason == CancelReason.MATCH_LIMIT
        assert last.remaining == 4 and h.engine.book(1, Side.BUY) == []
        # a FOK that needs 3 makers is not fillable; one that needs 2 is
        assert codes(h.buy(B, 1030, 3, tif=TimeInForce.FOK)) == [ResultCode.FOK_NOT_FILLABLE]
        ev = h.buy(B, 1030, 2, tif=TimeInForce.FOK)
        assert trades(ev) == [(asks[1], 1015, 1), (asks[2], 1020, 1)]
        # a taker that stops crossing within the limit rests as usual
        ev = h.buy(B, 1025, 3)
        assert trades(ev) == [(asks[3], 1025, 1)]
        assert [(o.price, o.qty) for o in h.engine.book(1, Side.BUY)] == [(1025, 2)]
        with pytest.raises(EngineError):
            self.engine_cls((MARKET,), max_matches=-1)

    def test_open_order_cap_refuses_resting_orders_only(self) -> None:
        h = Harness(self.engine_cls, max_open_orders=2)
        for acct in (A, B):
            h.fund(acct)
        h.sell(A, 1010, 1)
        bid = h.buy(A, 990, 1)[0].order_id
        assert codes(h.sell(A, 1020, 1)) == [ResultCode.TOO_MANY_ORDERS]
        # an IOC never rests, so the cap does not apply; nor does A's cap bind B
        assert codes(h.buy(A, 1000, 1, tif=TimeInForce.IOC)) == []
        assert codes(h.sell(B, 1020, 1)) == []
        # a cancel frees a place
        h.cancel(A, bid)
        assert codes(h.sell(A, 1020, 1)) == []
        with pytest.raises(EngineError):
            self.engine_cls((MARKET,), max_open_orders=-1)

    # --- read-only queries of the step bound (crossing_count, open_orders) -------------------

    def test_crossing_count_and_open_orders_on_a_hand_built_book(self, h: Harness) -> None:
        # asks 1010 (A, B), 1020 (C), 1030 (A); bids 990 (B), 980 (C, A)
        for acct, price in ((A, 1010), (B, 1010), (C, 1020), (A, 1030)):
            h.sell(acct, price, 1)
        for acct, price in ((B, 990), (C, 980), (A, 980)):
            h.buy(acct, price, 1)
        h.buy(A, 490, 10, market=2)
        before = h.state()
        h.engine.drain_touched()
        count = h.engine.crossing_count
        # a buy crosses asks at or below its limit, best level first, counted up to the cap
        assert [count(1, Side.BUY, p, 10) for p in (1005, 1010, 1020, 1025, 10**6)] == [
            0, 2, 3, 3, 4,
        ]  # fmt: skip
        assert [count(1, Side.BUY, 10**6, cap) for cap in (0, 1, 2, 3, 4, 5)] == [
            0, 1, 2, 3, 4, 4,
        ]  # fmt: skip
        # a sell crosses bids at or above its limit; a side other than BUY counts as a sell
        assert [count(1, Side.SELL, p, 10) for p in (995, 990, 985, 980, 5)] == [0, 1, 1, 3, 3]
        assert count(1, Side.SELL, 980, 2) == 2 and count(1, 0, 980, 10) == 3
        assert count(2, Side.BUY, 10**6, 10) == 0  # an empty side
        assert count(2, Side.SELL, 1, 10) == 1
        assert count(7, Side.BUY, 10**6, 10) == 0  # an unknown market
        with pytest.raises(ValueError, match="cap"):
            count(1, Side.BUY, 1010, -1)
        # with a quantity (every order above holds 1): counting stops once the orders of
        # other accounts hold it; the taker's own orders count without holding any
        assert [count(1, Side.BUY, 10**6, 10, q, C) for q in (1, 2, 3, 4)] == [1, 2, 4, 4]
        assert [count(1, Side.BUY, 10**6, 10, q, A) for q in (1, 2, 3)] == [2, 3, 4]
        assert count(1, Side.BUY, 10**6, 2, 3, C) == 2  # the cap still binds
        assert count(1, Side.BUY, 10**6, 10, 0, A) == 4  # qty 0: no quantity limit
        assert count(1, Side.SELL, 980, 10, 1, B) == 2  # B's own bid, then C's
        with pytest.raises(ValueError, match="qty"):
            count(1, Side.BUY, 1010, 1, -1)
        opens = h.engine.open_orders
        assert [opens(A, 1), opens(A, 2), opens(A, 0), opens(B, 1), opens(B, 2)] == [3, 1, 4, 2, 0]
        assert opens(77, 0) == 0 and opens(A, 7) == 0  # unknown account, unknown market
        # queries change nothing, not even the touched sets
        assert h.state() == before and h.engine.drain_touched() == ([], [])
        # what they count is what the commands then do: a market order's limit is its
        # protection price (two makers at 1010, none at 1020), a mass cancel removes them all
        crossing = count(1, Side.BUY, 1015, 12)
        ev = h.buy(B, 1015, 3, order_type=OrderType.MARKET, tif=TimeInForce.IOC,
                   stp=StpMode.CANCEL_MAKER)  # fmt: skip
        own = [e for e in ev if getattr(e, "reason", None) == CancelReason.SELF_TRADE]
        assert crossing == 2 and len(trades(ev)) == len(own) == 1  # A's ask filled, B's removed
        n = opens(A, 1)
        ev = h.mass_cancel(A, 1)
        assert isinstance(ev[-1], MassCancelled) and ev[-1].count == n == 2
        assert opens(A, 1) == 0 and opens(A, 0) == 1

    # --- signed nonces (replay of a signed intent) ------------------------------------------

    def signed(self) -> Harness:
        h = Harness(self.engine_cls, signed_nonces=True)
        for acct in (A, B):
            h.fund(acct)
        return h

    def test_stale_or_equal_nonce_rejected_without_change(self) -> None:
        h = self.signed()
        h.buy(A, 990, 1, cl=5)
        assert h.engine.account_view(A).nonce == 5
        before = h.state()
        h.engine.drain_touched()
        for cl in (5, 4, 0):  # the replay itself, an older one, "no id"
            ev = h.buy(A, 985, 1, cl=cl)
            assert codes(ev) == [ResultCode.STALE_NONCE] and ev[0].ref == cl
        # checked right after the account: it wins over the duplicate live client id 5 and
        # over an unknown market; an unknown account is still UNKNOWN_ACCOUNT
        assert codes(h.buy(A, 985, 1, cl=5, market=7)) == [ResultCode.STALE_NONCE]
        assert codes(h.buy(77, 985, 1, cl=1)) == [ResultCode.UNKNOWN_ACCOUNT]
        assert h.state() == before and h.engine.drain_touched() == ([], [])
        # nonces are per account
        assert not codes(h.buy(B, 985, 1, cl=3))
        assert h.engine.account_view(B).nonce == 3

    def test_accepted_command_raises_the_nonce(self) -> None:
        h = self.signed()
        # an IOC that finds nothing is accepted, then cancelled: the nonce moves, the account
        # is touched (its view changed) although no order rested
        h.engine.drain_touched()
        ev = h.buy(A, 1000, 1, tif=TimeInForce.IOC, cl=10)
        assert isinstance(ev[0], OrderAccepted) and isinstance(ev[-1], OrderCancelled)
        assert h.engine.account_view(A).nonce == 10
        assert h.engine.drain_touched() == ([], [A])
        # rejected for another reason: a fresh nonce is not used up
        assert codes(h.buy(A, 1000, 1, tif=TimeInForce.FOK, cl=11)) == [ResultCode.FOK_NOT_FILLABLE]
        assert codes(h.buy(A, 1000, 10**6, cl=12, market=2)) == [ResultCode.INVALID_QUANTITY]
        assert h.engine.account_view(A).nonce == 10
        assert not codes(h.buy(A, 990, 1, cl=11))  # so 11 is still good
        assert h.engine.account_view(A).nonce == 11
        # gaps are fine: only "above the last one" counts
        assert not codes(h.sell(A, 1100, 1, cl=1_000))
        assert h.engine.account_view(A).nonce == 1_000

    def test_replace_needs_a_fresh_nonce_and_keep_id_is_refused(self) -> None:
        h = self.signed()
        oid = h.buy(A, 990, 5, cl=1)[0].order_id
        before = h.state()
        ev = h.replace(A, oid, 990, 3)  # cl 0: "keep the client id"
        assert codes(ev) == [ResultCode.STALE_NONCE] and ev[0].ref == 0
        assert codes(h.replace(A, oid, 990, 3, cl=1)) == [ResultCode.STALE_NONCE]
        # before the order lookup: a replay is a replay even once the order is gone
        assert codes(h.replace(A, 999_999, 990, 3, cl=1)) == [ResultCode.STALE_NONCE]
        assert codes(h.replace(A, 999_999, 990, 3, cl=2)) == [ResultCode.UNKNOWN_ORDER]
        assert h.state() == before
        ev = h.replace(A, oid, 995, 3, cl=2)
        assert isinstance(ev[0], OrderReplaced) and ev[0].cl_ord_id == 2
        assert h.engine.account_view(A).nonce == 2
        assert h.engine.order_view(oid).cl_ord_id == 2

    def test_withdraw_nonce(self) -> None:
        h = self.signed()
        before = h.state()
        assert codes(h.withdraw(A, 10)) == [ResultCode.STALE_NONCE]  # no nonce
        assert codes(h.withdraw(A, 10**15, cl=3)) == [ResultCode.INSUFFICIENT_COLLATERAL]
        assert codes(h.withdraw(A, 10, cl=1 << 64)) == [ResultCode.INVALID_ORDER_FLAGS]
        assert h.state() == before
        ev = h.withdraw(A, 10, cl=3)
        assert ev[0].delta == -10 and h.engine.account_view(A).nonce == 3
        before = h.state()
        assert codes(h.withdraw(A, 10, cl=3)) == [ResultCode.STALE_NONCE]  # the replay
        assert h.state() == before
        # one counter for orders and withdrawals
        assert codes(h.buy(A, 990, 1, cl=2)) == [ResultCode.STALE_NONCE]

    def test_nonces_off_is_the_old_behaviour(self, h: Harness) -> None:
        assert not h.engine.signed_nonces
        oid = h.buy(A, 990, 5, cl=5)[0].order_id
        assert not codes(h.buy(A, 985, 1, cl=3))
        assert not codes(h.buy(A, 985, 1))
        assert isinstance(h.replace(A, oid, 990, 3)[0], OrderReplaced)  # keeps cl 5
        assert h.engine.order_view(oid).cl_ord_id == 5
        assert h.withdraw(A, 10, cl=1 << 70)[0].delta == -10  # the field is ignored
        assert h.engine.account_view(A).nonce == 0

    def test_snapshot_round_trip_keeps_nonces(self) -> None:
        from matching import AccountView, encode

        h = self.signed()
        h.buy(A, 990, 5, cl=7)
        h.withdraw(B, 5, cl=9)
        snap = h.engine.snapshot()
        assert [(a.account, a.nonce) for a in snap.accounts] == [(A, 7), (B, 9)]
        again = self.engine_cls.from_snapshot(snap, signed_nonces=True)
        assert again.signed_nonces and encode(again.snapshot()) == encode(snap)
        again._check()
        h.engine = again
        assert codes(h.buy(A, 985, 1, cl=7)) == [ResultCode.STALE_NONCE]
        assert not codes(h.buy(B, 985, 1, cl=10))
        # a view built without a nonce (older callers) is a nonce of 0
        assert AccountView(1, 0, 0, 0, ()).nonce == 0

    # --- liquidation ----------------------------------------------------------------------

    def under_water(self, **limits: int) -> Harness:
        """A (collateral 1,000) buys 10 at 1,000 on exactly its initial margin, then the market
        trades at 940: equity 400 against maintenance ceil(5% * 940 * 10) = 470. B and C bid
        5 at 900 and 5 at 850."""
        h = Harness(self.engine_cls, **limits)
        h.fund(A, 1_000)
        h.fund(B)
        h.fund(C)
        signed = limits.get("signed_nonces", False)
        cl = iter(range(1, 100)) if signed else iter([0] * 100)
        h.sell(B, 1_000, 10, cl=next(cl))
        assert trades(h.buy(A, 1_000, 10, tif=TimeInForce.IOC, cl=next(cl)))
        h.engine.end_block(h.ts)
        h.sell(C, 940, 1, cl=next(cl))
        assert trades(h.buy(B, 940, 1, tif=TimeInForce.IOC, cl=next(cl)))
        h.engine.end_block(h.ts)
        h.buy(B, 900, 5, cl=next(cl))
        h.buy(C, 850, 5, cl=next(cl))
        return h

    @staticmethod
    def liquidate(h: Harness, account: int, side: Side, qty: int, **kw: Any) -> list:
        kw.setdefault("tif", TimeInForce.IOC)
        return h.place(account, side, 800, qty, order_type=OrderType.LIQUIDATION, **kw)

    def test_liquidation_closes_a_position_under_maintenance(self) -> None:
        h = self.under_water()
        assert h.engine.under_maintenance() == [A]  # the keeper's query (B, C: deep)
        ev = self.liquidate(h, A, Side.SELL, 10)
        accepted = [e for e in ev if isinstance(e, OrderAccepted)]
        assert len(accepted) == 1 and accepted[0].qty == 10 and accepted[0].cl_ord_id == 0
        assert [(p, q) for _, p, q in trades(ev)] == [(900, 5), (850, 5)]
        view = h.engine.account_view(A)
        assert view.positions[0].position == 0 and view.positions[0].open_sell == 0
        # realised: 5 * (900 - 1000) + 5 * (850 - 1000) = -1,250 on a collateral of 1,000
        assert view.collateral == -250
        assert codes(self.liquidate(h, A, Side.SELL, 1)) == [ResultCode.NOT_LIQUIDATABLE]
        assert h.engine.under_maintenance() == []  # flat: nothing left to liquidate

    def test_liquidation_may_close_part_and_leaves_an_unfilled_rest(self) -> None:
        h = self.under_water()
        ev = self.liquidate(h, A, Side.SELL, 4)
        assert [(p, q) for _, p, q in trades(ev)] == [(900, 4)]
        assert h.engine.account_view(A).positions[0].position == 6
        h.cancel(B, next(o.order_id for o in h.engine.book(1, Side.BUY) if o.account == B))
        h.cancel(C, next(o.order_id for o in h.engine.book(1, Side.BUY) if o.account == C))
        ev = self.liquidate(h, A, Side.SELL, 6)  # no bid left: accepted, expires unfilled
        assert not trades(ev) and any(isinstance(e, OrderCancelled) for e in ev)
        assert h.engine.account_view(A).positions[0].position == 6

    def test_liquidation_refused_unless_the_rule_holds(self) -> None:
        h = self.under_water()
        before = h.state()
        refused = [
            (A, Side.BUY, 10, {}),  # would grow the position
            (A, Side.SELL, 11, {}),  # beyond the position
            (B, Side.BUY, 9, {}),  # B is short 9 and healthy
            (C, Side.BUY, 1, {}),  # C is short 1 and healthy
        ]
        for account, side, qty, kw in refused:
            assert codes(self.liquidate(h, account, side, qty, **kw)) == [
                ResultCode.NOT_LIQUIDATABLE
            ], (account, side, qty)
        flags = ({"tif": TimeInForce.GTC}, {"tif": TimeInForce.FOK}, {"post_only": True}, {"cl": 5})
        for kw in flags:
            assert codes(self.liquidate(h, A, Side.SELL, 10, **kw)) == [
                ResultCode.INVALID_ORDER_FLAGS
            ]
        assert h.state() == before
        # a resting order of the account in the market: the keeper mass-cancels it first
        h.sell(A, 2_000, 1)
        assert codes(self.liquidate(h, A, Side.SELL, 10)) == [ResultCode.NOT_LIQUIDATABLE]
        h.mass_cancel(A, 1)
        assert trades(self.liquidate(h, A, Side.SELL, 10))

    def test_liquidation_is_unsigned_and_leaves_the_replay_mark(self) -> None:
        h = self.under_water(signed_nonces=True)
        nonce = h.engine.account_view(A).nonce
        assert nonce > 0
        assert trades(self.liquidate(h, A, Side.SELL, 10, cl=0))  # not a stale intent
        assert h.engine.account_view(A).nonce == nonce


class TestReferenceEngine(EngineRules):
    engine_cls = ReferenceEngine


@pytest.mark.skipif(CEngine is None, reason="Cython engine not built")
class TestCEngine(EngineRules):
    engine_cls = CEngine  # type: ignore[assignment]
