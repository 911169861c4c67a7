"""A small driver that numbers commands for tests: ``h.buy(1, 100, 5)`` instead of structs."""

from __future__ import annotations

from typing import Any

from matching import (
    AddAccount,
    CancelOrder,
    Deposit,
    Event,
    MarketConfig,
    MassCancel,
    OrderType,
    PlaceOrder,
    ReplaceOrder,
    Side,
    TimeInForce,
    Withdraw,
    encode,
)

MARKET = MarketConfig(
    market_id=1,
    symbol="TEST",
    tick_size=5,
    lot_size=1,
    min_price=5,
    max_price=1_000_000,
    max_qty=10_000,
    initial_price=1_000,
    imf_bps=1_000,
    mmf_bps=500,
)
MARKET2 = MarketConfig(2, "TEST2", 1, 10, 1, 100_000, 100_000, 500, 2_000, 1_000, 500)


class Harness:
    def __init__(
        self,
        engine_cls: Any,
        markets: tuple[MarketConfig, ...] = (MARKET, MARKET2),
        **limits: int,
    ) -> None:
        self.engine = engine_cls(markets, **limits)
        self.seq = 0
        self.ts = 1_000_000_000

    def _n(self) -> tuple[int, int]:
        self.seq += 1
        self.ts += 1_000_000
        return self.seq, self.ts

    def run(self, cmd: Any) -> list[Event]:
        events = self.engine.process(cmd)
        self.engine._check()
        return events

    def fund(self, account: int, amount: int = 10**12) -> None:
        self.run(AddAccount(*self._n(), account))
        self.run(Deposit(*self._n(), account, amount))

    def place(
        self,
        account: int,
        side: Side,
        price: int,
        qty: int,
        *,
        market: int = 1,
        tif: TimeInForce = TimeInForce.GTC,
        order_type: OrderType = OrderType.LIMIT,
        cl: int = 0,
        **kw: Any,
    ) -> list[Event]:
        seq, ts = self._n()
        return self.run(
            PlaceOrder(seq, ts, account, market, cl, side, order_type, tif, price, qty, **kw)
        )

    def buy(self, account: int, price: int, qty: int, **kw: Any) -> list[Event]:
        return self.place(account, Side.BUY, price, qty, **kw)

    def sell(self, account: int, price: int, qty: int, **kw: Any) -> list[Event]:
        return self.place(account, Side.SELL, price, qty, **kw)

    def cancel(self, account: int, order_id: int, market: int = 1) -> list[Event]:
        return self.run(CancelOrder(*self._n(), account, market, order_id))

    def replace(
        self, account: int, order_id: int, price: int, qty: int, market: int = 1, cl: int = 0
    ) -> list[Event]:
        return self.run(ReplaceOrder(*self._n(), account, market, order_id, price, qty, cl))

    def mass_cancel(self, account: int, market: int = 0) -> list[Event]:
        return self.run(MassCancel(*self._n(), account, market))

    def deposit(self, account: int, amount: int) -> list[Event]:
        return self.run(Deposit(*self._n(), account, amount))

    def withdraw(self, account: int, amount: int, cl: int = 0) -> list[Event]:
        return self.run(Withdraw(*self._n(), account, amount, cl))

    def state(self) -> bytes:
        """Canonical bytes of the whole state, to show a command changed nothing."""
        snap = self.engine.snapshot()
        return encode(
            snap.__class__(*[getattr(snap, f) for f in snap.__struct_fields__[:-2]], 0, 0)
        )
