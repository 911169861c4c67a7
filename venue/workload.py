"""Seeded command workloads: the one generator shared by tests, benchmarks and the demo.

The standard mix (per command): 60% passive limit adds near a random-walk mid, 25% cancels of
random resting orders, 10% aggressive orders (60% marketable limits, 40% market orders with a
protection limit), 5% replaces. Once ``target_resting`` orders are believed to rest, further
adds become cancels so the book stays near that size. The generator does not look at the
engine: it tracks the orders it placed and forgets them when it cancels them, so some cancels
name orders that already filled (a realistic UNKNOWN_ORDER rejection). Timestamps advance by a
seeded 0–2 ms per command.

Client order ids come from one counter that only rises, so they are valid nonces for every
account (``ReferenceEngine(signed_nonces=True)``); with ``nonces`` the replaces take the next
one too (by default they keep the order's client id, ``cl_ord_id`` 0, which a venue with
signed nonces refuses). The switch draws nothing from the generator: the stream is otherwise
the same.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from matching.types import (
    AddAccount,
    CancelOrder,
    Command,
    Deposit,
    MarketConfig,
    OrderType,
    PlaceOrder,
    ReplaceOrder,
    Side,
    StpMode,
    TimeInForce,
)

__all__ = ["Workload", "default_markets"]


def default_markets(n: int = 1) -> tuple[MarketConfig, ...]:
    """``n`` markets priced around 100,000 units with 1-unit ticks and 1-lot lots."""
    return tuple(
        MarketConfig(
            market_id=i + 1,
            symbol=f"PB{i + 1}-PERP",
            tick_size=1,
            lot_size=1,
            min_price=1,
            max_price=10_000_000,
            max_qty=1_000_000,
            initial_price=100_000,
            imf_bps=1_000,
            mmf_bps=500,
            band_bps=0,
        )
        for i in range(n)
    )


class Workload:
    """Deterministic command stream for a seed (see module docstring)."""

    def __init__(
        self,
        seed: int = 1,
        *,
        markets: tuple[MarketConfig, ...] | None = None,
        accounts: int = 100,
        target_resting: int = 6_000,
        collateral: int = 10**15,
        spread_ticks: int = 40,
        nonces: bool = False,
    ) -> None:
        self.rng = random.Random(seed)
        self.markets = markets or default_markets()
        self.accounts = accounts
        self.target = target_resting
        self.collateral = collateral
        self.spread = spread_ticks
        self.nonces = nonces
        self.seq = 0
        self.ts = 1_700_000_000_000_000_000
        self.mid = {m.market_id: m.initial_price for m in self.markets}
        self.live: list[tuple[int, int, int, int]] = []  # (order_id, account, market, side)
        self.cl = 0

    def _next(self) -> tuple[int, int]:
        self.seq += 1
        self.ts += self.rng.randrange(2_000_000)
        return self.seq, self.ts

    def genesis(self) -> list[Command]:
        """Open and fund every account."""
        out: list[Command] = []
        for a in range(self.accounts):
            seq, ts = self._next()
            out.append(AddAccount(seq, ts, a))
            seq, ts = self._next()
            out.append(Deposit(seq, ts, a, self.collateral))
        return out

    def commands(self, n: int) -> Iterator[Command]:
        for _ in range(n):
            yield self.command()

    def command(self) -> Command:
        r = self.rng.random()
        kind = "add" if r < 0.60 else "cancel" if r < 0.85 else "aggr" if r < 0.95 else "replace"
        if kind == "add" and len(self.live) >= self.target:
            kind = "cancel"
        if kind in ("cancel", "replace") and not self.live:
            kind = "add"
        if kind == "add":
            return self._passive()
        if kind == "cancel":
            return self._cancel()
        if kind == "aggr":
            return self._aggressive()
        return self._replace()

    def _market(self) -> MarketConfig:
        return self.markets[self.rng.randrange(len(self.markets))]

    def _walk(self, m: MarketConfig) -> int:
        mid = self.mid[m.market_id] + self.rng.choice((-1, 0, 0, 1)) * m.tick_size
        mid = max(m.min_price + 100 * m.tick_size, min(m.max_price - 100 * m.tick_size, mid))
        self.mid[m.market_id] = mid
        return mid

    def _passive(self) -> Command:
        m = self._market()
        mid = self._walk(m)
        side = self.rng.choice((Side.BUY, Side.SELL))
        off = self.rng.randint(1, self.spread) * m.tick_size
        price = mid - off if side == Side.BUY else mid + off
        seq, ts = self._next()
        account = self.rng.randrange(self.accounts)
        self.cl += 1
        self.live.append((seq, account, m.market_id, side))
        return PlaceOrder(
            seq,
            ts,
            account,
            m.market_id,
            self.cl,
            side,
            OrderType.LIMIT,
            TimeInForce.GTC,
            price,
            self.rng.randint(1, 10) * m.lot_size,
            post_only=self.rng.random() < 0.1,
            stp=self.rng.choice(list(StpMode)),
        )

    def _pop_live(self) -> tuple[int, int, int, int]:
        i = self.rng.randrange(len(self.live))
        self.live[i], self.live[-1] = self.live[-1], self.live[i]
        return self.live.pop()

    def _cancel(self) -> Command:
        oid, account, market, _ = self._pop_live()
        seq, ts = self._next()
        return CancelOrder(seq, ts, account, market, oid)

    def _replace(self) -> Command:
        i = self.rng.randrange(len(self.live))
        oid, account, market, side = self.live[i]
        m = next(x for x in self.markets if x.market_id == market)
        mid = self.mid[market]
        off = self.rng.randint(1, self.spread) * m.tick_size
        price = mid - off if side == Side.BUY else mid + off
        seq, ts = self._next()
        qty = self.rng.randint(1, 10)
        cl = 0
        if self.nonces:
            self.cl += 1
            cl = self.cl
        return ReplaceOrder(seq, ts, account, market, oid, price, qty, cl)

    def _aggressive(self) -> Command:
        m = self._market()
        mid = self._walk(m)
        side = self.rng.choice((Side.BUY, Side.SELL))
        sign = 1 if side == Side.BUY else -1
        seq, ts = self._next()
        account = self.rng.randrange(self.accounts)
        qty = self.rng.randint(1, 20) * m.lot_size
        self.cl += 1
        if self.rng.random() < 0.6:
            price = mid + sign * self.rng.randint(1, 5) * m.tick_size
            return PlaceOrder(
                seq,
                ts,
                account,
                m.market_id,
                self.cl,
                side,
                OrderType.LIMIT,
                self.rng.choice((TimeInForce.IOC, TimeInForce.GTC, TimeInForce.FOK)),
                price,
                qty,
                stp=self.rng.choice(list(StpMode)),
            )
        price = mid + sign * 20 * m.tick_size
        return PlaceOrder(
            seq,
            ts,
            account,
            m.market_id,
            self.cl,
            side,
            OrderType.MARKET,
            TimeInForce.IOC,
            price,
            qty,
            stp=self.rng.choice(list(StpMode)),
        )
