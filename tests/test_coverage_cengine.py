"""Deterministic tests of the Cython engine's edges, each checked against the reference."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from matching import (
    AddAccount,
    CancelOrder,
    CEngine,
    Deposit,
    EngineError,
    MarketConfig,
    MassCancel,
    PlaceOrder,
    ReferenceEngine,
    ReplaceOrder,
    Withdraw,
    encode,
)
from venue.workload import Workload

pytestmark = pytest.mark.skipif(CEngine is None, reason="Cython engine not built")

WIDE = MarketConfig(1, "WIDE", 1, 1, 1, (1 << 40) - 1, (1 << 48) - 1, 1 << 39, 0, 0, 0)
SMALL = MarketConfig(2, "SMALL", 5, 2, 5, 5_000, 1_000, 1_000, 1_000, 500, 2_000)
MAXQ = (1 << 48) - 1


def canon(obj: object) -> object:
    try:
        return encode(obj)
    except OverflowError:
        return msgspec.to_builtins(obj, enc_hook=int)


class Both:
    def __init__(self, markets: tuple[MarketConfig, ...] = (WIDE, SMALL)) -> None:
        self.engines = [ReferenceEngine(markets), CEngine(markets)]  # type: ignore[misc]
        self.seq = 0
        self.ts = 1_000

    def call(self, fn: Any) -> Any:
        results = []
        for eng in self.engines:
            try:
                results.append(("ok", canon(fn(eng))))
            except (EngineError, KeyError) as exc:
                results.append((type(exc).__name__, str(exc)))
        assert results[0] == results[1]
        return results[0]

    def run(self, make: Any, **kw: Any) -> Any:
        self.seq += 1
        self.ts += 1_000_000
        cmd = make(self.seq, self.ts, **kw) if kw else make(self.seq, self.ts)
        out = self.call(lambda e: e.process(cmd))
        for eng in self.engines:
            eng._check()
        self.call(lambda e: e.snapshot())
        return out

    def fund(self, acct: int, amount: int = 10**15) -> None:
        self.run(lambda s, t: AddAccount(s, t, acct))
        self.run(lambda s, t: Deposit(s, t, acct, amount))


def test_engine_errors_match() -> None:
    b = Both()
    b.fund(1)
    b.call(lambda e: e.process(Deposit(b.seq + 2, b.ts, 1, 5)))  # seq gap
    b.call(lambda e: e.process(Deposit(b.seq + 1, b.ts - 1, 1, 5)))  # ts backwards
    b.call(lambda e: e.process(Deposit(1 << 48, b.ts, 1, 5)))
    b.call(lambda e: e.process(Deposit(b.seq + 1, 1 << 64, 1, 5)))
    b.call(lambda e: e.end_block(b.ts - 1))
    b.call(lambda e: e.end_block(b.ts + 10**9))
    b.call(lambda e: e.end_block(b.ts))  # close time went backwards
    b.call(lambda e: e.market_state(9))
    b.call(lambda e: e.book(9, 1))
    b.call(lambda e: (e.last_seq, e.last_ts, e.account_ids(), e.market_configs()))


def test_unknown_command_advances_seq_then_raises() -> None:
    class Bogus(msgspec.Struct):
        seq: int
        ts: int

    b = Both()
    b.call(lambda e: e.process(Bogus(1, 5)))
    b.call(lambda e: (e.last_seq, e.last_ts))


@pytest.mark.parametrize(
    "markets",
    [
        (),
        (SMALL, WIDE),
        (msgspec.structs.replace(SMALL, market_id=0),),
        (msgspec.structs.replace(SMALL, tick_size=0),),
        (msgspec.structs.replace(SMALL, imf_bps=100, mmf_bps=200),),
        (msgspec.structs.replace(SMALL, band_bps=-1),),
    ],
)
def test_bad_market_configs_match(markets: tuple[MarketConfig, ...]) -> None:
    msgs = []
    for cls in (ReferenceEngine, CEngine):
        with pytest.raises(EngineError) as info:
            cls(markets)  # type: ignore[operator]
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def test_huge_band_never_binds() -> None:
    b = Both((msgspec.structs.replace(SMALL, band_bps=1 << 80),))
    b.fund(1)
    b.run(lambda s, t: PlaceOrder(s, t, 1, 2, 0, 1, 1, 1, 4_995, 2))


def test_out_of_range_fields_reject_alike() -> None:
    b = Both()
    b.fund(1)
    big = 1 << 70
    for price, qty in [(big, 2), (big + 1, 2), (-big, 2), (1_000, big), (1_000, -big)]:
        b.run(lambda s, t, p=price, q=qty: PlaceOrder(s, t, 1, 2, 0, 1, 1, 1, p, q))
    for acct, mkt in [(big, 2), (1, big), (-1, 2)]:
        b.run(lambda s, t, a=acct, m=mkt: PlaceOrder(s, t, a, m, 0, 1, 1, 1, 1_000, 2))
    for side, otype, tif, stp in [(big, 1, 1, 0), (1, big, 1, 0), (1, 1, big, 0), (1, 1, 1, big)]:
        b.run(lambda s, t, x=(side, otype, tif, stp): PlaceOrder(
            s, t, 1, 2, 0, x[0], x[1], x[2], 1_000, 2, stp=x[3]
        ))  # fmt: skip
    for cl in [(1 << 64) - 1, 1 << 64, -1, (1 << 63) + 1]:
        b.run(lambda s, t, c=cl: PlaceOrder(s, t, 1, 2, c, 1, 1, 1, 1_000, 2))
    b.run(lambda s, t: ReplaceOrder(s, t, 1, 2, b.seq - 4, big, 2))
    b.run(lambda s, t: ReplaceOrder(s, t, 1, 2, big, 1_000, 2))
    b.run(lambda s, t: CancelOrder(s, t, 1, big, 5))
    b.run(lambda s, t: MassCancel(s, t, 1, big))
    b.run(lambda s, t: AddAccount(s, t, big))
    b.run(lambda s, t: Deposit(s, t, 1, big))
    b.run(lambda s, t: Withdraw(s, t, 1, -big))


def test_128_bit_paths() -> None:
    """Notional, basis and released-basis products beyond 64 (and 128) bits."""
    b = Both()
    for acct in (1, 2, 3):
        b.fund(acct, (1 << 96) - 1)
        b.fund(acct + 10, 10**6)
    hi = (1 << 40) - 1
    b.run(lambda s, t: PlaceOrder(s, t, 1, 1, 0, 2, 1, 1, hi, MAXQ))
    b.run(lambda s, t: PlaceOrder(s, t, 2, 1, 0, 1, 1, 1, hi, MAXQ))  # basis ~2**88
    b.run(lambda s, t: PlaceOrder(s, t, 2, 1, 0, 2, 1, 1, 1 << 39, (1 << 47) + 3))
    b.run(lambda s, t: PlaceOrder(s, t, 3, 1, 0, 1, 2, 3, hi, (1 << 47) + 3))  # partial close
    b.call(lambda e: e.end_block(b.ts))
    b.run(lambda s, t: Withdraw(s, t, 2, (1 << 96) - 1))
    b.run(lambda s, t: Withdraw(s, t, 1, 10**20))
    b.run(lambda s, t: PlaceOrder(s, t, 11, 1, 0, 1, 1, 1, hi, MAXQ))  # margin refused
    b.call(lambda e: e.drain_touched())


def test_command_subclasses_are_read_by_name() -> None:
    class MyPlace(PlaceOrder, frozen=True, array_like=True, tag=101):
        note: int = 0

    b = Both()
    b.fund(1)
    b.fund(2)
    b.run(lambda s, t: MyPlace(s, t, 1, 2, 7, 2, 1, 1, 1_000, 4))
    b.run(lambda s, t: MyPlace(s, t, 2, 2, 7, 1, 1, 1, 1_000, 2))


def test_snapshot_round_trip_and_views() -> None:
    b = Both()
    b.fund(1)
    b.fund(2)
    b.run(lambda s, t: PlaceOrder(s, t, 1, 2, 3, 1, 1, 1, 990, 4))
    b.run(lambda s, t: PlaceOrder(s, t, 2, 2, 4, 2, 1, 1, 1_010, 6))
    b.run(lambda s, t: PlaceOrder(s, t, 2, 2, 5, 1, 1, 3, 1_010, 2))
    snap = b.engines[0].snapshot()
    ref, fast = ReferenceEngine.from_snapshot(snap), CEngine.from_snapshot(snap)  # type: ignore[union-attr]
    assert encode(fast.snapshot()) == encode(snap) == encode(ref.snapshot())
    assert fast.drain_touched() == ref.drain_touched() == ([], [])
    fast._check()
    for oid in (4, 5, 7, 99):
        assert canon(fast.order_view(oid)) == canon(ref.order_view(oid))
    for acct in (1, 2, 3, -1):
        assert canon(fast.account_view(acct)) == canon(ref.account_view(acct))
    bad = msgspec.structs.replace(snap, accounts=snap.accounts[:1])
    for cls in (ReferenceEngine, CEngine):
        with pytest.raises((EngineError, KeyError)):
            cls.from_snapshot(bad)  # type: ignore[union-attr]


def test_batch_accepts_any_iterable_and_equals_per_call() -> None:
    w = Workload(3)
    cmds = w.genesis() + list(w.commands(3_000))
    one, two, three = (CEngine(w.markets) for _ in range(3))  # type: ignore[misc]
    per_call = [e for c in cmds for e in one.process(c)]
    assert encode(two.process_batch(iter(cmds))) == encode(per_call)
    assert encode(three.process_batch(tuple(cmds))) == encode(per_call)
    assert encode(one.snapshot()) == encode(two.snapshot()) == encode(three.snapshot())
    assert one.drain_touched() == two.drain_touched() == three.drain_touched()


def test_capacity_limits_match_on_workload() -> None:
    w = Workload(5, accounts=70)
    cmds = w.genesis() + list(w.commands(4_000))
    limits = {"max_accounts": 60, "max_resting_per_side": 40}
    ref = ReferenceEngine(w.markets, **limits)
    fast = CEngine(w.markets, **limits)  # type: ignore[misc]
    assert encode([e for c in cmds for e in ref.process(c)]) == encode(fast.process_batch(cmds))
    assert encode(ref.snapshot()) == encode(fast.snapshot())
    fast._check()
    again = CEngine.from_snapshot(fast.snapshot(), **limits)  # type: ignore[union-attr]
    assert (again.max_accounts, again.max_resting_per_side) == (60, 40)
    for cls in (ReferenceEngine, CEngine):
        with pytest.raises(EngineError, match="invalid engine limits"):
            cls(w.markets, max_accounts=0)  # type: ignore[operator]
