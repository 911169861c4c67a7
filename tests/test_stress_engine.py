"""Seeded random stress of the reference engine and the state commitment.

Weighted actions (``@actor(weight)``) produce valid and invalid commands of every kind; after
every command the engine's ``_check()`` runs, plus a conservation law: the sum over accounts of
``collateral - basis`` equals the net deposits (trades move value between accounts and
positions, they never create it). After every block the incremental state root must equal a
full rebuild. Run longer with ``python -m tests.test_stress_engine ITER SEED``.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable

import pytest

from matching import (
    AddAccount,
    BlockBuilder,
    CancelOrder,
    CollateralChanged,
    Command,
    Deposit,
    MarketConfig,
    MassCancel,
    OrderAccepted,
    PlaceOrder,
    ReferenceEngine,
    ReplaceOrder,
    Withdraw,
)
from proofs.state import PoseidonState

MARKETS = (
    MarketConfig(1, "A", 5, 1, 5, 100_000, 1_000, 1_000, 1_000, 500, band_bps=3_000),
    MarketConfig(2, "B", 1, 10, 1, 10_000, 10_000, 200, 2_000, 1_000),
)
ACTORS: list[tuple[int, Callable[[Stress], Command]]] = []


def actor(weight: int) -> Callable[[Callable[[Stress], Command]], Callable[[Stress], Command]]:
    def register(fn: Callable[[Stress], Command]) -> Callable[[Stress], Command]:
        ACTORS.append((weight, fn))
        return fn

    return register


class Stress:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.engine = ReferenceEngine(MARKETS)
        self.commitment = PoseidonState(MARKETS, account_depth=6, order_depth=9)
        self.builder = BlockBuilder(self.engine, self.commitment, max_commands=24)
        self.seq = 0
        self.ts = 0
        self.orders: list[tuple[int, int, int]] = []  # (order_id, account, market)
        self.net_deposits = 0

    def __repr__(self) -> str:
        return f"Stress(seed={self.seed})"

    def nxt(self) -> tuple[int, int]:
        self.seq += 1
        self.ts += self.rng.randrange(3_000_000)
        return self.seq, self.ts

    def account(self) -> int:
        return self.rng.randrange(12)  # some never exist: UNKNOWN_ACCOUNT

    def market(self) -> MarketConfig:
        return self.rng.choice(MARKETS)

    def price(self, m: MarketConfig) -> int:
        p = self.engine.market_state(m.market_id).mark
        p += self.rng.randint(-8, 8) * m.tick_size
        if self.rng.random() < 0.05:
            p += self.rng.randint(1, 3)  # off tick
        return max(p, 0)

    def step(self) -> None:
        weights = [w for w, _ in ACTORS]
        fn = self.rng.choices([f for _, f in ACTORS], weights)[0]
        cmd = fn(self)
        events, blocks = self.builder.submit(cmd)
        for e in events:
            if isinstance(e, OrderAccepted):
                self.orders.append((e.order_id, e.account, e.market))
            elif isinstance(e, CollateralChanged):
                self.net_deposits += e.delta
        self.engine._check()
        total = 0
        for aid in self.engine.account_ids():
            a = self.engine.account_view(aid)
            total += a.collateral - sum(p.basis for p in a.positions)
        assert total == self.net_deposits, (self, "value created or destroyed")
        for _ in blocks:
            self.check_roots()

    def check_roots(self) -> None:
        again = PoseidonState.restore(
            self.engine.snapshot(), self.commitment.snapshot(), account_depth=6, order_depth=9
        )
        assert again.root == self.commitment.root, self
        self.commitment._check()


@actor(3)
def add_account(s: Stress) -> Command:
    return AddAccount(*s.nxt(), s.account())


@actor(4)
def deposit(s: Stress) -> Command:
    return Deposit(*s.nxt(), s.account(), s.rng.choice([0, -5, 10**5, 10**7, 10**9]))


@actor(2)
def withdraw(s: Stress) -> Command:
    return Withdraw(*s.nxt(), s.account(), s.rng.choice([1, 10**4, 10**6, 10**10]))


@actor(40)
def place(s: Stress) -> Command:
    m = s.market()
    side = s.rng.choice((1, 2))
    otype = 2 if s.rng.random() < 0.1 else 1
    tif = s.rng.choice((1, 1, 1, 3, 4)) if otype == 1 else s.rng.choice((3, 4, 1))
    qty = s.rng.randint(0 if s.rng.random() < 0.03 else 1, 8) * m.lot_size
    if s.rng.random() < 0.03:
        qty += 1  # off lot in market 2
    return PlaceOrder(
        *s.nxt(),
        s.account(),
        m.market_id if s.rng.random() > 0.02 else 9,
        s.rng.choice((0, 0, s.rng.randrange(1, 6))),
        side,
        otype,
        tif,
        s.price(m),
        qty,
        post_only=s.rng.random() < 0.1,
        stp=s.rng.randrange(4),
    )


@actor(15)
def cancel(s: Stress) -> Command:
    if not s.orders or s.rng.random() < 0.1:
        return CancelOrder(*s.nxt(), s.account(), s.market().market_id, s.rng.randrange(10**6))
    oid, account, market = s.rng.choice(s.orders)
    if s.rng.random() < 0.1:
        account = s.account()  # maybe not the owner
    return CancelOrder(*s.nxt(), account, market, oid)


@actor(8)
def replace(s: Stress) -> Command:
    if not s.orders:
        return MassCancel(*s.nxt(), s.account())
    oid, account, market = s.rng.choice(s.orders)
    m = MARKETS[market - 1]
    return ReplaceOrder(
        *s.nxt(),
        account,
        market,
        oid,
        s.price(m),
        s.rng.randint(0, 8) * m.lot_size,
        s.rng.choice((0, 0, s.rng.randrange(1, 6))),
    )


@actor(1)
def mass_cancel(s: Stress) -> Command:
    return MassCancel(*s.nxt(), s.account(), s.rng.choice((0, 1, 2, 5)))


def run(iterations: int, seed: int) -> Stress:
    s = Stress(seed)
    for _ in range(iterations):
        s.step()
    s.builder.seal()
    s.check_roots()
    return s


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stress_reference_engine(seed: int) -> None:
    s = run(1_500, seed)
    # the mix must actually exercise trading, not only rejections
    assert s.engine.snapshot().orders or s.seq > 0
    assert any(
        p.position for a in s.engine.account_ids() for p in s.engine.account_view(a).positions
    ), s


if __name__ == "__main__":
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    run(iters, seed)
    print(f"ok: {iters} commands, seed {seed}")
