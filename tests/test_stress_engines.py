"""Differential stress tests: the Cython engine against the reference engine (the spec).

Random command streams (hypothesis) and the seeded venue workload are fed to both engines;
events, block summaries, touched sets and snapshots must encode to the same bytes, and both
engines' ``_check()`` must pass. Streams run with and without ``signed_nonces`` (the replay
guard of signed commands); their client ids are then mostly rising nonces, sometimes a step
back or a repeat (a replay), sometimes raw values. Long runs::

    python -m tests.test_stress_engines 1000000 1        # N commands, seed
    python -m tests.test_stress_engines bench 1000000 1  # ops/s of both engines
"""

from __future__ import annotations

import gc
import random
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import (
    AddAccount,
    BlockBuilder,
    CancelOrder,
    CancelReason,
    CEngine,
    Deposit,
    EngineError,
    MarketConfig,
    MassCancel,
    OrderAccepted,
    PlaceOrder,
    ReferenceEngine,
    Rejected,
    ReplaceOrder,
    ResultCode,
    Withdraw,
    encode,
)
from proofs.state import PoseidonState
from proofs.steps import command_steps, command_steps_before, worst_command_steps
from venue.workload import Workload

pytestmark = pytest.mark.skipif(CEngine is None, reason="Cython engine not built")

#: A small market with a tick, a lot and a dynamic band, and one at the range limits, where
#: notional, basis and margin products leave 64 bits (the 128-bit and Python-int paths).
MARKETS = (
    MarketConfig(1, "SMALL", 5, 2, 5, 5_000, 1_000, 1_000, 1_000, 500, 2_000),
    MarketConfig(3, "WIDE", 1, 1, 1, (1 << 40) - 1, (1 << 48) - 1, 1 << 39, 200, 100, 0),
)
BIG = 1 << 70


def _price() -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(180, 220).map(lambda x: x * 5),  # around the SMALL mark, on tick
        st.integers(1, 5_000),  # anything in range (often off tick)
        st.sampled_from([0, -5, 5_005, BIG, BIG + 1, -BIG, (1 << 40) - 1, 1 << 40]),
        st.integers((1 << 39) - 3, (1 << 39) + 3),  # around the WIDE mark
    )


def _qty() -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(1, 12).map(lambda x: x * 2),
        st.integers(-2, 30),
        st.sampled_from([1_000, 1_002, BIG, -BIG, (1 << 48) - 1, 1 << 47, 1 << 46]),
    )


_account = st.sampled_from([0, 1, 2, 3] * 4 + [-1, 1 << 20, 1 << 64, 4, 7])
_market = st.sampled_from([1, 3] * 4 + [0, 2, 1 << 16, BIG])
#: an order id: ("ref", k) names the k-th order placed so far (mod count), or a raw number
_order_ref = st.one_of(
    st.tuples(st.just("ref"), st.integers(0, 1_000)),
    st.tuples(st.just("raw"), st.sampled_from([0, 999_999, BIG, -1])),
)
#: a client id: a raw value, or ("next", d) the nonce counter raised by d (0: a repeat),
#: ("back", d) d below it (``_materialize`` resolves both)
_cl = st.one_of(
    st.integers(0, 6),
    st.sampled_from([-1, (1 << 64) - 1, 1 << 64, (1 << 63) + 5]),
    st.tuples(st.just("next"), st.integers(0, 3)),
    st.tuples(st.just("next"), st.integers(1, 3)),
    st.tuples(st.just("back"), st.integers(1, 3)),
)
_amount = st.one_of(
    st.sampled_from([10**9, 10**12, 10**15, (1 << 96) - 1, 1 << 96, 0, -5, 1 << 70]),
    st.integers(1, 10**13),
)

_any_place = st.tuples(
    st.just("place"), _account, _market, _cl,
    st.sampled_from([1, 2, 1, 2, 0, 3]),  # side
    st.sampled_from([1, 1, 2, 0, 3]),  # order type (3: liquidation)
    st.sampled_from([1, 1, 3, 4, 2]),  # tif
    _price(), _qty(),
    st.booleans(),  # post only
    st.sampled_from([0, 1, 2, 3, 4]),  # stp
)  # fmt: skip
_good_small = st.tuples(
    st.just("place"), st.integers(0, 3), st.just(1), st.integers(0, 8),
    st.sampled_from([1, 2]), st.sampled_from([1, 1, 1, 2]), st.sampled_from([1, 1, 3, 4]),
    st.integers(190, 210).map(lambda x: x * 5), st.integers(1, 12).map(lambda x: x * 2),
    st.sampled_from([False, False, False, True]), st.sampled_from([0, 1, 2, 3]),
)  # fmt: skip
_good_wide = st.tuples(
    st.just("place"), st.integers(0, 3), st.just(3), st.integers(0, 8),
    st.sampled_from([1, 2]), st.sampled_from([1, 1, 1, 2]), st.sampled_from([1, 1, 3, 4]),
    st.integers((1 << 39) - 4, (1 << 39) + 4),
    st.one_of(st.integers(1, 10), st.sampled_from([1 << 46, 3 << 44, (1 << 47) - 1])),
    st.sampled_from([False, False, False, True]), st.sampled_from([0, 1, 2, 3]),
)  # fmt: skip
_place = st.one_of(_good_small, _good_small, _good_wide, _any_place)
_cancel = st.tuples(st.just("cancel"), _account, _market, _order_ref)
_replace = st.tuples(
    st.just("replace"), _account, _market, _order_ref, _price(), _qty(), _cl,
    st.sampled_from(["same_price", "same_price_less", "any"]),
)  # fmt: skip
_mass = st.tuples(st.just("mass"), _account, st.sampled_from([0, 1, 3, 2]))
_deposit = st.tuples(st.just("deposit"), _account, _amount)
_withdraw = st.tuples(st.just("withdraw"), _account, _amount, _cl)
_add = st.tuples(st.just("add"), _account)
_end = st.tuples(st.just("end"), st.integers(0, 3_000_000_000))
_op = st.one_of(
    _place, _place, _place, _place, _cancel, _cancel, _replace, _replace, _mass, _deposit,
    _withdraw, _add, _end,
)  # fmt: skip


def canon(obj: object) -> object:
    """Canonical bytes, or the builtin form where a value is too big for MessagePack.

    The reference echoes out-of-range command values (and collateral above 2**64) into plain
    ``int`` event fields, which ``encode`` refuses; such events are compared field by field.
    """
    try:
        return encode(obj)
    except OverflowError:
        return ("unencodable", repr(type(obj)), msgspec.to_builtins(obj, enc_hook=int))


class Pair:
    """Both engines side by side; every step compares their output byte for byte."""

    def __init__(self, markets: Sequence[MarketConfig], seed: object = None, **limits: int) -> None:
        self.seed = seed
        self.ref = ReferenceEngine(markets, **limits)
        self.fast = CEngine(markets, **limits)  # type: ignore[misc]
        self.step = 0

    def fail(self, what: str, a: object, b: object) -> None:
        raise AssertionError(
            f"{what} differs at step {self.step} (seed {self.seed!r}): {a!r} != {b!r}"
        )

    def both(self, fn: Callable[[Any], Any]) -> Any:
        self.step += 1
        outcome = []
        for eng in (self.ref, self.fast):
            try:
                outcome.append(("ok", fn(eng)))
            except EngineError as exc:
                outcome.append(("EngineError", str(exc)))
        (ka, va), (kb, vb) = outcome
        if ka != kb or (ka != "ok" and va != vb) or (ka == "ok" and canon(va) != canon(vb)):
            self.fail("result", outcome[0], outcome[1])
        return va if ka == "ok" else None

    limited = 0  # MATCH_LIMIT cancellations seen
    underwater = 0  # blocks compared with some account under maintenance
    stale = 0  # STALE_NONCE rejections seen

    def process(self, cmd: Any) -> None:
        # the block builder's step bound, read from the state the command then executes on
        self.both(lambda e: command_steps_before(cmd, e))
        events = self.both(lambda e: e.process(cmd)) or ()
        self.limited += sum(
            getattr(ev, "reason", None) == CancelReason.MATCH_LIMIT for ev in events
        )
        self.stale += sum(
            isinstance(ev, Rejected) and ev.code == ResultCode.STALE_NONCE for ev in events
        )

    def end_block(self, close_ts: int) -> None:
        self.both(lambda e: e.end_block(close_ts))
        self.compare()

    def compare(self) -> None:
        ta, tb = self.ref.drain_touched(), self.fast.drain_touched()
        if ta != tb:
            self.fail("touched", ta, tb)
        sa, sb = canon(self.ref.snapshot()), canon(self.fast.snapshot())
        if sa != sb:
            self.fail("snapshot", self.ref.snapshot(), self.fast.snapshot())
        for mc in self.ref.market_configs():
            for side in (1, 2):
                if canon(self.ref.book(mc.market_id, side)) != canon(
                    self.fast.book(mc.market_id, side)
                ):
                    self.fail("book", mc.market_id, side)
        if (self.ref.last_seq, self.ref.last_ts) != (self.fast.last_seq, self.fast.last_ts):
            self.fail("seq/ts", self.ref.last_seq, self.fast.last_seq)
        self.compare_queries()
        self.ref._check()
        self.fast._check()

    def compare_queries(self) -> None:
        """The step bound's read-only queries agree: takers at every resting price (and one
        tick either side, and beyond the book) under several caps, and every account's open
        orders in every market; asking them changes no touched set."""
        prices = {0, 1, BIG, -BIG}
        for mc in self.ref.market_configs():
            for side in (1, 2):
                prices.update(p + d for o in self.ref.book(mc.market_id, side)
                              for p in (o.price,) for d in (-1, 0, 1))  # fmt: skip
        for market in (*(mc.market_id for mc in self.ref.market_configs()), 0, 2, BIG):
            for side in (1, 2, 0):
                for price in sorted(prices):
                    for cap in (0, 1, 3, 1 << 48):
                        for qty, acct in ((0, -1), (1, 0), (7, 1), (1 << 40, 2), (BIG, BIG)):
                            x = (market, side, price, cap, qty, acct)
                            a = self.ref.crossing_count(*x)
                            b = self.fast.crossing_count(*x)
                            if a != b:
                                self.fail("crossing_count", (*x, a), b)
        under = self.ref.under_maintenance()
        if under != self.fast.under_maintenance():
            self.fail("under_maintenance", under, self.fast.under_maintenance())
        self.underwater += bool(under)
        for account in (*range(-1, 6), 1 << 20, BIG):
            for market in (0, 1, 2, 3, BIG):
                a, b = self.ref.open_orders(account, market), self.fast.open_orders(account, market)
                if a != b:
                    self.fail("open_orders", (account, market, a), b)
        ta, tb = self.ref.drain_touched(), self.fast.drain_touched()
        if ta != ([], []) or tb != ([], []):
            self.fail("touched by a query", ta, tb)


def _materialize(ops: list[tuple], start_seq: int = 0, start_ts: int = 10**9) -> list[Any]:
    """Turn generated ops into commands (and ("end", close_ts) markers) with valid seq/ts."""
    out: list[Any] = []
    seq, ts = start_seq, start_ts
    placed: list[tuple[int, int, Any, Any]] = []  # (order id, price, account, market)
    counter = 100  # one rising nonce counter for every account

    def cl_of(v: Any) -> Any:
        nonlocal counter
        if not isinstance(v, tuple):
            return v
        if v[0] == "next":
            counter += v[1]
            return counter
        return counter - v[1]

    for op in ops:
        kind = op[0]
        if kind == "end":
            ts += op[1]  # the next command comes after the close (the engines refuse earlier)
            out.append(("end", ts))
            continue
        seq += 1
        ts += 1_000_000
        if kind == "place":
            _, acct, mkt, cl, side, otype, tif, price, qty, post, stp = op
            placed.append((seq, price, acct, mkt))
            cl = cl_of(cl)
            out.append(PlaceOrder(seq, ts, acct, mkt, cl, side, otype, tif, price, qty, post, stp))
        elif kind in ("cancel", "replace"):
            ref, acct, mkt = op[3], op[1], op[2]
            oid, oprice = ref[1], 0
            if ref[0] == "ref" and placed:
                # mostly a recent order of the right owner and market, sometimes anyone's
                oid, oprice, own_acct, own_mkt = placed[-1 - ref[1] % min(len(placed), 40)]
                if ref[1] % 5:
                    acct, mkt = own_acct, own_mkt
            if kind == "cancel":
                out.append(CancelOrder(seq, ts, acct, mkt, oid))
            else:
                price = oprice if op[7].startswith("same_price") and oprice else op[4]
                qty = 1 if op[7] == "same_price_less" else op[5]
                out.append(ReplaceOrder(seq, ts, acct, mkt, oid, price, qty, cl_of(op[6])))
        elif kind == "mass":
            out.append(MassCancel(seq, ts, op[1], op[2]))
        elif kind == "deposit":
            out.append(Deposit(seq, ts, op[1], op[2]))
        elif kind == "withdraw":
            out.append(Withdraw(seq, ts, op[1], op[2], cl_of(op[3])))
        elif kind == "add":
            out.append(AddAccount(seq, ts, op[1], abs(op[1]) * 7, abs(op[1]) * 11))
    return out


def _genesis(pair: Pair) -> tuple[int, int]:
    seq, ts = 0, 10**9
    for acct in range(4):
        for cmd in (AddAccount(seq + 1, ts, acct), Deposit(seq + 2, ts, acct, 10**15)):
            pair.process(cmd)
        seq += 2
    for acct in (2, 3, 3):  # whales for the WIDE market (balances above 2**64)
        seq += 1
        pair.process(Deposit(seq, ts, acct, (1 << 96) - 1))
    return seq, ts


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ops=st.lists(_op, min_size=10, max_size=100), signed=st.booleans())
def test_random_streams_match_reference(ops: list[tuple], signed: bool) -> None:
    pair = Pair(MARKETS, seed="hypothesis", signed_nonces=signed)
    seq, ts = _genesis(pair)
    for item in _materialize(ops, seq, ts):
        if isinstance(item, tuple):
            pair.end_block(item[1])
        else:
            pair.process(item)
    pair.end_block(pair.ref.last_ts)
    # the restored engines agree too, and keep agreeing
    snap = pair.ref.snapshot()
    again = Pair.__new__(Pair)
    again.seed, again.step = "hypothesis/restored", 0
    again.ref = ReferenceEngine.from_snapshot(snap, signed_nonces=signed)
    again.fast = CEngine.from_snapshot(snap, signed_nonces=signed)  # type: ignore[union-attr]
    again.compare()


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(_op, min_size=1, max_size=60), signed=st.booleans())
def test_batch_equals_per_call_on_random_streams(ops: list[tuple], signed: bool) -> None:
    genesis = [AddAccount(i + 1, 1, i) for i in range(5)]
    genesis += [Deposit(6 + i, 1, i, 10**15) for i in range(5)]
    cmds = [c for c in _materialize(ops, start_seq=10) if not isinstance(c, tuple)]
    one = CEngine(MARKETS, signed_nonces=signed)  # type: ignore[misc]
    two = CEngine(MARKETS, signed_nonces=signed)  # type: ignore[misc]
    per_call = [ev for c in genesis + cmds for ev in one.process(c)]
    batch = two.process_batch(genesis + cmds)
    assert canon(per_call) == canon(batch)
    assert canon(one.snapshot()) == canon(two.snapshot())
    assert one.drain_touched() == two.drain_touched()


def random_ops(rng: random.Random, n: int) -> list[tuple]:
    """A dense stream (mostly valid orders around both marks, so many trades) plus misuse."""
    ops: list[tuple] = []

    def cl(*raw: int) -> Any:
        """Mostly the next nonce, sometimes a repeat (a replay) or a step back, else raw."""
        r = rng.random()
        if r < 0.6:
            return ("next", rng.randint(1, 3))
        if r < 0.7:
            return ("next", 0)
        if r < 0.8:
            return ("back", rng.randint(1, 3))
        return rng.choice(raw)

    for _ in range(n):
        r = rng.random()
        acct = rng.choice([0, 1, 2, 3] * 5 + [-1, 4, 1 << 20])
        mkt = rng.choice([1, 3] * 6 + [0, 2])
        ref = ("ref", rng.randrange(1_000)) if rng.random() < 0.9 else ("raw", rng.randrange(99))
        if r < 0.55:
            if mkt == 3 and rng.random() < 0.9:
                price = (1 << 39) + rng.randint(-6, 6)
                qty = rng.choice([1, 2, 5, 1 << 46, 3 << 44, (1 << 47) - 1])
            else:
                price = rng.choice([rng.randint(185, 215) * 5, rng.randint(-5, 1_300), BIG])
                qty = rng.choice([rng.randint(1, 15) * 2, rng.randint(-1, 31), 1_000, BIG])
            ops.append((
                "place", acct, mkt, cl(0, 0, *range(1, 9), -1, (1 << 64) - 1),
                rng.choice([1, 2] * 8 + [0, 3]), rng.choice([1] * 6 + [2, 2, 0, 3]),
                rng.choice([1, 1, 1, 3, 3, 4, 2]), price, qty, rng.random() < 0.15,
                rng.choice([0, 1, 2, 3] * 4 + [4]),
            ))  # fmt: skip
        elif r < 0.75:
            ops.append(("cancel", acct, mkt, ref))
        elif r < 0.88:
            price = rng.randint(185, 215) * 5 if mkt == 1 else (1 << 39) + rng.randint(-6, 6)
            mode = rng.choice(["same_price", "same_price_less", "any", "any"])
            qty = rng.choice([2, 4, 10, 30, 1 << 46, -2])
            ops.append(("replace", acct, mkt, ref, price, qty, cl(0, 0, 1, 5, 9), mode))
        elif r < 0.91:
            ops.append(("mass", acct, rng.choice([0, 1, 3, 2])))
        elif r < 0.94:
            ops.append(("deposit", acct, rng.choice([10**6, 10**12, (1 << 96) - 1, 0, -1])))
        elif r < 0.97:
            amount = rng.choice([10**6, 10**12, 10**15, (1 << 96) - 1])
            ops.append(("withdraw", acct, amount, cl(0, 3, 1 << 64)))
        elif r < 0.98:
            ops.append(("add", rng.choice([3, 4, 5, -1, 1 << 20])))
        else:
            ops.append(("end", rng.randrange(3_000_000_000)))
    return ops


def run_random(seed: int, n: int = 400, **limits: int) -> Pair:
    pair = Pair(MARKETS, seed=seed, **limits)
    seq, ts = _genesis(pair)
    for item in _materialize(random_ops(random.Random(seed), n), seq, ts):
        if isinstance(item, tuple):
            pair.end_block(item[1])
        else:
            pair.process(item)
    pair.end_block(pair.ref.last_ts)
    return pair


@pytest.mark.parametrize("seed", range(150))
def test_dense_random_streams_match_reference(seed: int) -> None:
    # odd seeds run with the replay guard of signed commands
    pair = run_random(seed, signed_nonces=seed % 2 == 1)
    assert pair.stale == 0 or seed % 2


def test_dense_random_streams_with_signed_nonces_reject_stale_ones() -> None:
    stale = accepted = 0
    for seed in range(1, 40, 2):
        pair = run_random(seed, signed_nonces=True)
        stale += pair.stale
        accepted += sum(a.nonce > 0 for a in pair.ref.snapshot().accounts)
    # both sides of the rule are exercised, not just compiled
    assert stale >= 50 and accepted >= 40, (stale, accepted)


def test_dense_random_streams_with_a_match_limit_match_reference() -> None:
    # max_matches cuts sweeps short (MATCH_LIMIT) and refuses FOKs that need more makers;
    # max_open_orders refuses resting orders beyond an account's cap (TOO_MANY_ORDERS)
    limited = 0
    for seed in range(40):
        pair = run_random(
            seed, max_matches=1 + seed % 3, max_open_orders=1 + seed % 4,
            signed_nonces=seed % 3 == 0,
        )  # fmt: skip
        limited += pair.limited
    assert limited >= 5  # the path is exercised, not just compiled


def run_liquidations(seed: int, n: int = 400) -> tuple[Pair, int, int]:
    """Two thin accounts (0, 1) and two deep ones trade a swinging SMALL market, and the venue
    sends liquidation orders: mostly the one the rule wants (opposite side, the whole position
    or part of it, at the band's edge), sometimes a wrong side, size, flag or a healthy
    account. Returns the pair, and how many liquidations were accepted and refused as
    NOT_LIQUIDATABLE."""
    rng = random.Random(seed)
    market = MARKETS[0]
    pair = Pair([market], seed=("liquidations", seed))
    seq, ts = 0, 10**9
    accepted = refused = 0

    def send(kind: Callable[..., Any], *fields: Any) -> tuple[Any, ...]:
        nonlocal seq, ts
        seq, ts = seq + 1, ts + 1_000_000
        cmd = kind(seq, ts, *fields)
        pair.both(lambda e: command_steps_before(cmd, e))
        return tuple(pair.both(lambda e: e.process(cmd)) or ())

    for acct, amount in ((0, 600), (1, 600), (2, 10**12), (3, 10**12)):
        send(AddAccount, acct)
        send(Deposit, acct, amount)
    trend = rng.choice([-1, 1])
    for _ in range(n):
        r = rng.random()
        mark = pair.ref.market_state(1).mark
        acct = rng.choice([0, 0, 1, 1, 2, 3])
        if r < 0.45:
            side, qty = rng.choice([1, 2]), rng.randint(1, 10) * 2
            if r < 0.2:  # deep quotes one percent off the mark
                price = mark * (99 if side == 1 else 101) // 100 // 5 * 5
                send(PlaceOrder, rng.choice([2, 3]), 1, 0, side, 1, 1, price, qty)
            elif r < 0.3:  # the deep accounts trade with each other where the price drifts
                if rng.random() < 0.05:
                    trend = -trend
                price = mark * (100 + trend * rng.randint(2, 8)) // 100 // 5 * 5
                qty *= 5
                send(PlaceOrder, 2, 1, 0, side, 1, 1, price, qty)
                send(PlaceOrder, 3, 1, 0, 3 - side, 1, 3, price, qty)
            else:  # thin accounts take, mostly against the drift
                side = (1 if trend < 0 else 2) if rng.random() < 0.8 else side
                price = mark * (102 if side == 1 else 98) // 100 // 5 * 5
                qty = rng.randint(1, 3) * 2
                send(PlaceOrder, acct % 2, 1, 0, side, 1, 3, price, qty)
        elif r < 0.55:
            pair.end_block(ts)
        elif r < 0.65:
            send(MassCancel, acct, 1)
        elif r < 0.98:
            if rng.random() < 0.7:  # what the venue's keeper does first
                send(MassCancel, acct, 1)
            view = pair.ref.account_view(acct)
            pos = view.positions[0].position if view is not None else 0
            side = 1 if pos < 0 else 2
            if rng.random() < 0.15:
                side = 3 - side
            whole = abs(pos) or 2
            qty = rng.choice([whole] * 3 + [max(2, whole // 4 * 2), whole + 2, rng.randint(1, 20)])
            # the band's edge on the order's side, on tick
            if side == 1:
                price = mark * (10_000 + market.band_bps) // 10_000 // 5 * 5
            else:
                price = -(-mark * (10_000 - market.band_bps) // 50_000) * 5
            tif, post = rng.choice([3] * 8 + [1, 4]), rng.random() < 0.05
            cl = 0 if rng.random() < 0.95 else 7  # the venue's orders carry no client id
            events = send(PlaceOrder, acct, 1, cl, side, 3, tif, price, qty, post)
            for ev in events:
                if isinstance(ev, Rejected) and ev.code == ResultCode.NOT_LIQUIDATABLE:
                    refused += 1
                elif isinstance(ev, OrderAccepted):
                    accepted += 1
        else:
            send(Deposit, acct % 2, 300)  # the thin accounts come back
    pair.end_block(ts)
    return pair, accepted, refused


def test_liquidation_orders_match_reference() -> None:
    # both engines agree at every step; across the seeds the rule accepts some liquidations
    # and refuses many (healthy accounts, resting orders, wrong side, size or flags)
    runs = [run_liquidations(seed)[1:] for seed in range(8)]
    assert sum(a for a, _ in runs) >= 10 and all(r > 50 for _, r in runs)
    # the keeper's query agreed at every block (``Pair.compare_queries``), some of them with
    # accounts under maintenance
    assert sum(run_liquidations(seed)[0].underwater for seed in range(8)) > 0


def run_workload(
    n: int, seed: int, block: int = 64, snapshot_every: int = 100, *, signed: bool = False
) -> Pair:
    """Feed ``n`` workload commands to both engines, in blocks; compare everything.

    ``signed``: the engines guard signed nonces and the workload's replaces carry fresh ones.
    """
    w = Workload(seed, nonces=signed)
    pair = Pair(w.markets, seed=seed, signed_nonces=signed)
    cmds = w.genesis() + list(w.commands(n))
    for i in range(0, len(cmds), block):
        chunk = cmds[i : i + block]
        a = [pair.ref.process(c) for c in chunk]
        # alternate the fast engine's entry points: per call and batch
        if (i // block) % 2:
            b = [pair.fast.process(c) for c in chunk]
            same = all(encode(x) == encode(y) for x, y in zip(a, b, strict=True))
        else:
            same = encode([e for x in a for e in x]) == encode(pair.fast.process_batch(chunk))
        if not same:
            pair.fail(f"events of block starting at command {i}", chunk[0], chunk[-1])
        pair.step = i
        sa = pair.ref.end_block(chunk[-1].ts)
        sb = pair.fast.end_block(chunk[-1].ts)
        if canon(sa) != canon(sb):
            pair.fail("summaries", sa, sb)
        if (i // block) % snapshot_every == 0:
            pair.compare()
        else:
            ta, tb = pair.ref.drain_touched(), pair.fast.drain_touched()
            if ta != tb:
                pair.fail("touched", ta, tb)
    pair.compare()
    return pair


@pytest.mark.parametrize("seed", [1, 2])
def test_seeded_workload_matches_reference(seed: int) -> None:
    run_workload(25_000, seed)


def test_seeded_workload_with_signed_nonces_matches_reference() -> None:
    # every workload client id is a fresh nonce: the guard refuses nothing, and it raised
    # the nonces of the accounts that traded
    pair = run_workload(8_000, 3, signed=True)
    assert pair.stale == 0
    assert sum(a.nonce > 0 for a in pair.ref.snapshot().accounts) >= 90


@pytest.mark.parametrize("seed", [4, 5])
def test_the_step_bound_cuts_identical_blocks_in_both_engines(seed: int) -> None:
    # the bound is read from each builder's own engine: the same cut points, byte-identical
    # blocks and headers, and every block within its steps (with limits, by construction)
    budget, limits = 24, {"max_matches": 4, "max_open_orders": 3}
    assert worst_command_steps(4, 3) <= budget
    w = Workload(seed, accounts=20, target_resting=200)
    cmds = w.genesis() + list(w.commands(1_200))
    chains = []
    for cls in (ReferenceEngine, CEngine):
        eng = cls(w.markets, **limits)  # type: ignore[misc]
        com = PoseidonState(w.markets, account_depth=8, order_depth=9)
        bb = BlockBuilder(
            eng, com, max_commands=16, max_interval_ns=1 << 62, max_steps=budget,
            step_cost=command_steps, step_bound=lambda c, e=eng: command_steps_before(c, e),
        )  # fmt: skip
        blocks = bb.submit_many(cmds)
        blocks.append(bb.seal())
        chains.append(blocks)
    ref, fast = chains
    assert [encode(b.header) for b in ref] == [encode(b.header) for b in fast]
    assert [encode(b) for b in ref] == [encode(b) for b in fast]
    steps = [sum(command_steps(c, ev) for c, ev in b.command_events()) for b in ref]
    assert max(steps) <= budget
    # cut by steps, not only by count: some blocks close early, and most of those fill up
    # (rejected commands take no step, so many blocks reach the 16-command cap first)
    by_steps = [s for b, s in zip(ref[:-1], steps, strict=False) if len(b.commands) < 16]
    assert by_steps
    assert sum(s > budget - 4 for s in by_steps) > len(by_steps) // 2


def bench(n: int, seed: int) -> dict[str, float]:
    """ops/s of the reference (per call) and the Cython engine (per call and one batch)."""
    w = Workload(seed)
    genesis = w.genesis()
    cmds = list(w.commands(n))
    out: dict[str, float] = {}
    runs: list[tuple[str, Callable[[Any], Any], int]] = [
        ("reference per-call", ReferenceEngine, 1),
        ("CEngine per-call", CEngine, 3),  # type: ignore[list-item]
        ("CEngine batch", CEngine, 3),  # type: ignore[list-item]
    ]
    for name, cls, reps in runs:
        best = float("inf")
        for _ in range(reps):
            eng = cls(w.markets)
            eng.process_batch(genesis)
            gc.collect()
            t0 = time.perf_counter()
            if name.endswith("batch"):
                eng.process_batch(cmds)
            else:
                process = eng.process
                for c in cmds:
                    process(c)
            best = min(best, time.perf_counter() - t0)
            del eng
        out[name] = n / best
        print(f"{name:>20}: {n / best:>12,.0f} ops/s  (best of {reps}: {best:.3f} s)", flush=True)
    ref = out["reference per-call"]
    print(
        f"speed-up: per-call {out['CEngine per-call'] / ref:.1f}x, "
        f"batch {out['CEngine batch'] / ref:.1f}x"
    )
    return out


def main(argv: list[str]) -> None:
    if argv and argv[0] == "bench":
        n = int(argv[1]) if len(argv) > 1 else 1_000_000
        seed = int(argv[2]) if len(argv) > 2 else 1
        bench(n, seed)
        return
    n = int(argv[0]) if argv else 100_000
    seed = int(argv[1]) if len(argv) > 1 else random.randrange(1 << 32)
    print(f"differential run: {n} workload commands, seed {seed}", flush=True)
    t0 = time.perf_counter()
    run_workload(n, seed)
    print(f"identical (seed {seed}) in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
