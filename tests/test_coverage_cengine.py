"""Deterministic tests of the Cython engine's edges, each checked against the reference."""

from __future__ import annotations

import gc
import random
from enum import IntEnum
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
from matching.types import BigInt, Rejected, Side
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
    def __init__(self, markets: tuple[MarketConfig, ...] = (WIDE, SMALL), **limits: Any) -> None:
        self.engines = [ReferenceEngine(markets, **limits), CEngine(markets, **limits)]
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


def test_step_bound_queries_match_at_the_edges() -> None:
    # crossing_count / open_orders with values beyond 64 bits, unknown markets and accounts,
    # odd sides: the Cython engine clamps what the reference compares as Python ints
    from proofs.steps import command_steps_before

    b = Both()
    for acct in (1, 2, 3):
        b.fund(acct, (1 << 96) - 1)
    hi = (1 << 40) - 1
    for acct, side, price in ((1, 2, hi), (2, 2, hi - 1), (3, 2, hi), (1, 1, 5), (2, 1, 1)):
        b.run(lambda s, t, x=(acct, side, price): PlaceOrder(s, t, x[0], 1, 0, x[1], 1, 1, x[2], 1))
    for acct, side, price in ((1, 2, 1_010), (2, 1, 990), (3, 1, 990), (3, 1, 985)):
        b.run(lambda s, t, x=(acct, side, price): PlaceOrder(s, t, x[0], 2, 0, x[1], 1, 1, x[2], 2))
    big = 1 << 70
    for market in (1, 2, 0, 3, -1, big):
        for side in (1, 2, 0, 3, big):
            for price in (big, -big, 0, 1, 5, 990, 1_010, hi - 1, hi, 1 << 40, 1 << 64):
                for cap in (0, 1, 2, 5, 1 << 48, big):
                    b.call(lambda e, x=(market, side, price, cap): e.crossing_count(*x))
                    for qa in ((1, 1), (2, 2), (3, 3), (big, big), (1, -big)):
                        x = (market, side, price, cap, *qa)
                        b.call(lambda e, x=x: e.crossing_count(*x))
    for acct in (1, 2, 3, 4, -1, 1 << 20, big):
        for market in (0, 1, 2, 3, -1, big):
            b.call(lambda e, x=(acct, market): e.open_orders(*x))
    for eng in b.engines:
        with pytest.raises(ValueError):
            eng.crossing_count(1, 1, 5, -1)
        with pytest.raises(ValueError):
            eng.crossing_count(1, 1, 5, 1, -1)
    cmds = [
        PlaceOrder(0, 0, 1, 1, 0, 1, 2, 3, big, 1), PlaceOrder(0, 0, 1, big, 0, 1, 1, 1, 5, 1),
        PlaceOrder(0, 0, big, 1, 0, 2, 1, 1, -big, 1), ReplaceOrder(0, 0, 1, 1, 5, big, 1),
        ReplaceOrder(0, 0, 1, 1, big, 5, 1), CancelOrder(0, 0, 1, 1, big),
        MassCancel(0, 0, big, 0), MassCancel(0, 0, 3, big), MassCancel(0, 0, 3, 0),
    ]  # fmt: skip
    for cmd in cmds:
        for m in (None, 0):
            for r in (1, 2):
                b.call(lambda e, c=cmd, m=m, r=r: command_steps_before(c, e, m, ratio=r))
    assert b.call(lambda e: e.drain_touched())[0] == "ok"


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


def _shape(ev: object) -> tuple[Any, ...]:
    """An event's type, field types and GC tracking. IntEnum members count as plain ints: the
    Cython engine emits plain ints for enum-valued fields (equal, and encoded the same, but
    not GC-tracked), so GC tracking is only compared for events without such fields."""
    values = [getattr(ev, f) for f in ev.__struct_fields__]  # type: ignore[attr-defined]
    enums = any(isinstance(v, IntEnum) for v in values)
    fields = tuple(int if isinstance(v, IntEnum) else type(v) for v in values)
    return type(ev), fields, None if enums else gc.is_tracked(ev)


def _same_shapes(ref_events: list[Any], fast_events: list[Any]) -> bool:
    pairs = zip(map(_shape, ref_events), map(_shape, fast_events), strict=True)
    return all(a[:2] == b[:2] and a[2] in (None, b[2]) for a, b in pairs)


def test_rejected_events_match_the_reference_exactly() -> None:
    """``Rejected`` is built without its Python ``__post_init__`` on the fast path: same values,
    same ``BigInt`` ref, same (untracked) GC state as the reference's, for any ref."""
    b = Both()
    b.fund(1)
    b.run(lambda s, t: PlaceOrder(s, t, 1, 2, 3, 1, 1, 1, 990, 4))  # order id 3, cl 3
    oid = b.seq
    refs: list[Any] = [
        0,
        7,
        255,
        1_000_001,
        -3,
        (1 << 62) + 1,
        1 << 63,
        (1 << 64) - 1,
        1 << 70,
        -(1 << 70),
        BigInt(9),
        BigInt(1 << 80),
        True,
        Side.SELL,
        5.5,
        float(oid) + 0.5,
    ]
    for ref in refs:
        # an unknown order id, and a client order id of an unknown account: ref is echoed
        for make in (
            lambda s, t, r=ref: CancelOrder(s, t, 1, 2, r),
            lambda s, t, r=ref: PlaceOrder(s, t, 99, 2, r, 1, 1, 1, 990, 4),
            lambda s, t, r=ref: PlaceOrder(s, t, 1, 2, r, 1, 1, 1, 993, 4),
        ):
            b.seq += 1
            b.ts += 1
            cmd = make(b.seq, b.ts)
            out = [eng.process(cmd) for eng in b.engines]
            assert [_shape(e) for e in out[0]] == [_shape(e) for e in out[1]], (ref, out)
            assert _same_shapes(out[0], out[1])
            assert canon(out[0]) == canon(out[1]), (ref, out)
            assert [type(e.ref) for e in out[1] if isinstance(e, Rejected)] in ([], [BigInt])
    for eng in b.engines:
        eng._check()
    b.call(lambda e: e.snapshot())


def test_event_shapes_match_on_workload() -> None:
    w = Workload(11, accounts=200, target_resting=600)
    cmds = w.genesis() + list(w.commands(6_000))
    ref = ReferenceEngine(w.markets)
    fast = CEngine(w.markets)  # type: ignore[misc]
    ea = [e for c in cmds for e in ref.process(c)]
    eb = [e for i in range(0, len(cmds), 64) for e in fast.process_batch(cmds[i : i + 64])]
    assert encode(ea) == encode(eb)
    assert _same_shapes(ea, eb)
    assert any(isinstance(e, Rejected) for e in eb)


def test_order_lookup_keys_like_a_dict() -> None:
    """Order ids are found by value, as by ``dict.get`` on the reference's order index."""
    b = Both()
    b.fund(1)
    b.run(lambda s, t: PlaceOrder(s, t, 1, 2, 0, 1, 1, 1, 990, 4))
    oid = b.seq
    b.run(lambda s, t: PlaceOrder(s, t, 1, 2, 0, 1, 1, 1, 985, 4))
    for key in (oid, float(oid), BigInt(oid), oid + 0.5, 1 << 70, -(1 << 70), -1, 0, "x", None):
        b.call(lambda e, k=key: e.order_view(k))
    for eng in b.engines:
        with pytest.raises(TypeError):
            eng.order_view([oid])
    b.run(lambda s, t: ReplaceOrder(s, t, 1, 2, BigInt(oid + 1), 980, 2, 0))
    b.run(lambda s, t: CancelOrder(s, t, 1, 2, float(oid)))
    b.run(lambda s, t: CancelOrder(s, t, 1, 2, oid))


@pytest.mark.parametrize("unique", [True, False])
def test_order_and_client_id_indexes_under_churn(unique: bool) -> None:
    """Thousands of resting orders (the C hash maps grow several times), cancelled and
    replaced in random order; client order ids reused across accounts and after a cancel,
    and, without the uniqueness rule (rules 2), within an account while live."""
    rng = random.Random(5)
    b = Both(unique_cl_ord_ids=unique)
    for acct in (1, 2):
        b.fund(acct, 10**18)
    live: list[tuple[int, int]] = []  # (order id, account)
    cl_top = (1 << 64) - 1
    for i in range(3_000):
        acct = 1 + i % 2
        cl = cl_top - i // 2 if i % 3 else i // 2 + 1  # the same cl in both accounts
        side, price = (1, 100_000 - i) if i % 4 < 2 else (2, 200_000 + i)
        b.seq += 1
        b.ts += 1
        cmd = PlaceOrder(b.seq, b.ts, acct, 1, cl, side, 1, 1, price, 1)
        out = [eng.process(cmd) for eng in b.engines]
        assert canon(out[0]) == canon(out[1])
        live.append((b.seq, acct))
    # a duplicate client order id is refused in its account only (with the rule)
    b.run(lambda s, t: PlaceOrder(s, t, 1, 1, cl_top, 1, 1, 1, 50_000, 1))  # account 2's
    assert all(eng.order_view(b.seq) is not None for eng in b.engines)
    b.run(lambda s, t: PlaceOrder(s, t, 1, 1, cl_top - 1, 1, 1, 1, 50_000, 1))  # its own
    assert all((eng.order_view(b.seq) is None) == unique for eng in b.engines)
    live += [(b.seq - 1, 1)] if unique else [(b.seq - 1, 1), (b.seq, 1)]
    rng.shuffle(live)
    for n, (oid, acct) in enumerate(live):
        b.seq += 1
        b.ts += 1
        if n % 7 == 0:
            cmd: Any = ReplaceOrder(b.seq, b.ts, acct, 1, oid, 1_000 + n, 1, n + 1)
        elif n % 11 == 0:
            cmd = ReplaceOrder(b.seq, b.ts, acct, 1, oid, 1_000 + n, 1, cl_top - 3 * n)
        else:
            cmd = CancelOrder(b.seq, b.ts, acct, 1, oid)
        out = [eng.process(cmd) for eng in b.engines]
        assert canon(out[0]) == canon(out[1]), (n, cmd)
        probe = (acct, cl_top - n // 3)
        assert len({eng.has_live_cl_ord_id(*probe) for eng in b.engines}) == 1, probe
        if n % 500 == 0:
            for eng in b.engines:
                eng._check()
            b.call(lambda e: e.drain_touched())
    for eng in b.engines:
        eng._check()
    b.call(lambda e: e.snapshot())
    b.run(lambda s, t: MassCancel(s, t, 1, 0))
    b.run(lambda s, t: MassCancel(s, t, 2, 1))
    b.run(lambda s, t: PlaceOrder(s, t, 1, 1, cl_top, 1, 1, 1, 50_000, 1))  # free again


def test_batch_of_commands_that_read_fields_by_name() -> None:
    """Prefetching in the batch loop looks at exact command types only."""

    class MyCancel(CancelOrder, frozen=True, array_like=True, tag=102):
        pass

    w = Workload(4, accounts=50, target_resting=100)
    cmds: list[Any] = w.genesis() + list(w.commands(1_500))
    mixed = [
        MyCancel(*msgspec.structs.astuple(c)) if isinstance(c, CancelOrder) and i % 2 else c
        for i, c in enumerate(cmds)
    ]
    ref = ReferenceEngine(w.markets)
    fast = CEngine(w.markets)  # type: ignore[misc]
    assert encode([e for c in mixed for e in ref.process(c)]) == encode(fast.process_batch(mixed))
    fast._check()
