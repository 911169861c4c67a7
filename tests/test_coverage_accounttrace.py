"""proofs.accounttrace against the reference engine and the state commitment (no circuits).

The account ops derived from real blocks' events, applied one ``AccountStep`` at a time, must
land on ``PoseidonState.accounts.root`` after every block, with every touched account's fields
equal to the engine's view; every order the engine rejects for margin (and every withdrawal it
refuses) must fail the model's check too. The rules (``apply_fill``, ``margin_ok``) are compared
with the engine's own methods on random states, and ``check_step`` must reject every
single-field tampering of honest witnesses (it mirrors the circuit's constraints).
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import BlockBuilder, ReferenceEngine
from matching.block import Block
from matching.engine import AccountView, PositionView
from matching.types import (
    AddAccount,
    Command,
    Deposit,
    MarketConfig,
    MassCancel,
    OrderType,
    PlaceOrder,
    Rejected,
    ReplaceOrder,
    ResultCode,
    Side,
    TimeInForce,
    Withdraw,
)
from proofs.accounttrace import (
    AccountFields,
    AccountOp,
    AccountState,
    AccountTrace,
    MarketParams,
    OrderLedger,
    PositionFields,
    StepConstraintError,
    StepParams,
    StepRejected,
    StepWitness,
    apply_fill,
    check_step,
    command_ops,
    felt,
    liquidatable,
    margin_ok,
    requirement,
    withdraw_ok,
)
from proofs.poseidon import FIELD_MODULUS
from proofs.state import PoseidonState
from venue.workload import Workload

DEPTH = 8


def _stream(
    seed: int,
    accounts: int,
    n: int,
    collateral: int,
    markets: tuple[MarketConfig, ...] | None = None,
) -> tuple[Workload, list[Command]]:
    """The standard workload mix plus withdrawals, deposits and mass cancels (~10%)."""
    w = Workload(seed, markets=markets, accounts=accounts, target_resting=30, collateral=collateral)
    rng = random.Random(seed)
    out = w.genesis()
    for _ in range(n):
        out.append(w.command())
        r = rng.random()
        if r < 0.1:
            w.seq += 1
            a = rng.randrange(accounts)
            if r < 0.06:
                out.append(Withdraw(w.seq, w.ts, a, rng.randint(1, collateral)))
            elif r < 0.09:
                out.append(Deposit(w.seq, w.ts, a, rng.randint(1, collateral // 4)))
            else:
                out.append(MassCancel(w.seq, w.ts, a))
    return w, out


def _check_rejections(
    trace: AccountTrace,
    b: Block,
    i: int,
    params: tuple[MarketParams, ...],
    index: dict[int, int],
) -> int:
    """The model agrees with the engine's margin/collateral rejections of command ``i``."""
    cmd, events = b.command_events()[i]
    n = 0
    for ev in events:
        if not isinstance(ev, Rejected):
            continue
        if ev.code == ResultCode.INSUFFICIENT_MARGIN and isinstance(cmd, PlaceOrder):
            k = index[cmd.market]
            state = trace.states[cmd.account]
            others = [(x, params[j]) for j, x in enumerate(state.markets) if j != k]
            f = state.view(k)
            assert not margin_ok(f, cmd.side == Side.BUY, cmd.price, cmd.qty, params[k], others)
            with pytest.raises(StepRejected):
                trace.preview(
                    StepParams(
                        AccountOp.OPEN_ORDER, cmd.account, cmd.side, cmd.price, cmd.qty, market=k
                    ),
                    params,
                )
            n += 1
        elif ev.code == ResultCode.INSUFFICIENT_COLLATERAL:
            assert isinstance(cmd, Withdraw)
            state = trace.states[cmd.account]
            others = [(x, params[j]) for j, x in enumerate(state.markets) if j]
            assert not withdraw_ok(state.view(0), cmd.amount, params[0], others)
            n += 1
    return n


def _cross_check(
    seed: int,
    collateral: int,
    n: int = 500,
    markets: tuple[MarketConfig, ...] | None = None,
) -> tuple[Counter, list[StepWitness]]:
    """Blocks of ``markets`` (default: one) through the model, checked against the engine and
    the commitment after every block."""
    w, cmds = _stream(seed, 6, n, collateral, markets)
    index = {m.market_id: i for i, m in enumerate(w.markets)}
    eng = ReferenceEngine(w.markets)
    com = PoseidonState(w.markets, account_depth=DEPTH, order_depth=8)
    bb = BlockBuilder(eng, com, max_commands=32)
    trace, ledger = AccountTrace(DEPTH, markets=len(w.markets)), OrderLedger()
    marks = {m.market_id: m.initial_price for m in w.markets}
    stats: Counter = Counter()
    witnesses: list[StepWitness] = []
    blocks: list[Block] = []
    for cmd in cmds:
        blocks += bb.submit(cmd)[1]
    blocks.append(bb.seal())
    # Replay the sealed blocks against a second commitment to compare roots block by block.
    com2 = PoseidonState(w.markets, account_depth=DEPTH, order_depth=8)
    eng2 = ReferenceEngine(w.markets)
    for b in blocks:
        params = tuple(MarketParams(marks[m.market_id], m.imf_bps, m.mmf_bps) for m in w.markets)
        bounds = [*b.event_offsets, len(b.events)]
        for i, cmd in enumerate(b.commands):
            stats["rejections checked"] += _check_rejections(trace, b, i, params, index)
            events = b.events[bounds[i] : bounds[i + 1]]
            ops = command_ops(cmd, events, ledger, index if len(index) > 1 else None)
            witnesses += trace.run(ops, params)
            eng2.process(cmd)
        summaries = eng2.end_block(b.header.close_ts)
        com2.apply(b.header.height, b.diff, [eng2.market_state(s.market) for s in summaries])
        assert trace.root == com2.accounts.root, b.header.height
        for aid, view in b.diff.accounts:
            assert view is not None
            assert trace.states[aid] == AccountState.from_view(view)
            assert trace.pubkey_hash[aid] == com2._pk_hash[aid]
        marks = {s.market: s.price for s in b.header.markets}
    assert trace.root == com.accounts.root
    for aid in eng.account_ids():
        assert trace.states[aid] == AccountState.from_view(eng.account_view(aid))  # type: ignore[arg-type]
        if len(w.markets) == 1:
            assert trace.fields[aid] == AccountFields.from_view(eng.account_view(aid))  # type: ignore[arg-type]
    stats.update(x.op.name for x in witnesses)
    return stats, witnesses


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_blocks_cross_check(seed: int) -> None:
    stats, ws = _cross_check(seed, 800_000)
    for op in ("ADD", "DEPOSIT", "WITHDRAW", "OPEN_ORDER", "RELEASE", "FILL"):
        assert stats[op] > 0, (op, stats)
    assert stats["rejections checked"] > 0
    fills = [w for w in ws if w.op == AccountOp.FILL and w.old.position]
    reducing = [w for w in fills if (w.old.position > 0) != w.is_buy]
    assert any(w.qty > abs(w.old.position) for w in reducing)  # flips
    assert any(w.div_rem for w in reducing)  # rounded releases


def test_blocks_cross_check_rich_accounts() -> None:
    # Plenty of collateral: no margin rejections, deeper books and more fills.
    stats, _ = _cross_check(9, 10**15, n=400)
    assert stats["FILL"] > 20


def test_replaces_are_modelled() -> None:
    # The workload's replaces exercise both RELEASE-only and RELEASE + OPEN_ORDER.
    w, cmds = _stream(5, 6, 500, 10**12)
    assert any(isinstance(c, ReplaceOrder) for c in cmds)
    eng = ReferenceEngine(w.markets)
    ledger, kinds = OrderLedger(), Counter()
    for cmd in cmds:
        events = eng.process(cmd)
        ops = command_ops(cmd, events, ledger)
        if isinstance(cmd, ReplaceOrder) and ops:
            kinds[tuple(p.op for p in ops[:2])] += 1
    assert kinds[(AccountOp.RELEASE, AccountOp.OPEN_ORDER)] > 0


def test_trace_from_views_matches_commitment() -> None:
    # A trace can start mid-stream from the engine's accounts (e.g. a snapshot).
    w, cmds = _stream(2, 6, 200, 10**12)
    eng = ReferenceEngine(w.markets)
    com = PoseidonState(w.markets, account_depth=DEPTH, order_depth=8)
    bb = BlockBuilder(eng, com, max_commands=32)
    bb.submit_many(cmds)
    bb.seal()
    views = [eng.account_view(a) for a in eng.account_ids()]
    trace = AccountTrace.from_views(DEPTH, [v for v in views if v is not None])
    assert trace.root == com.accounts.root


# --- the rules against the engine's own methods ------------------------------------------------

CFG = MarketConfig(1, "T", 1, 1, 1, (1 << 40) - 1, (1 << 48) - 1, 100_000, 1_000, 500)


def _engine_with(f: AccountFields, mark: int) -> ReferenceEngine:
    eng = ReferenceEngine([CFG])
    eng.process(AddAccount(1, 1, 0))
    eng._markets[1].mark = mark
    a = eng._accounts[0]
    a.collateral = f.collateral
    p = a.positions[1]
    p.position, p.basis, p.open_buy, p.open_sell = f.position, f.basis, f.open_buy, f.open_sell
    return eng


positions = st.integers(-(10**6), 10**6)
prices = st.integers(1, 10**7)
qtys = st.integers(1, 10**6)


@st.composite
def accounts(draw: st.DrawFn) -> AccountFields:
    pos = draw(positions)
    basis = 0 if pos == 0 else draw(st.integers(-(10**13), 10**13))
    return AccountFields(
        draw(st.integers(-(10**12), 10**14)),
        pos,
        draw(st.integers(0, 10**6)),
        draw(st.integers(0, 10**6)),
        basis,
    )


@settings(max_examples=300, deadline=None)
@given(accounts(), st.booleans(), prices, qtys)
def test_apply_fill_matches_engine(f: AccountFields, is_buy: bool, price: int, q: int) -> None:
    eng = _engine_with(f, 100_000)
    eng._fill(eng._accounts[0], 1, Side.BUY if is_buy else Side.SELL, price, q)
    new, released, rem = apply_fill(f, is_buy, price, q)
    assert AccountFields.from_view(eng.account_view(0)) == new  # type: ignore[arg-type]
    div = abs(f.position) or 1
    assert 0 <= rem < div and released >= 0


@settings(max_examples=300, deadline=None)
@given(accounts(), st.booleans(), prices, qtys, prices)
def test_margin_matches_engine(
    f: AccountFields, is_buy: bool, price: int, q: int, mark: int
) -> None:
    eng = _engine_with(f, mark)
    a = eng._accounts[0]
    m = MarketParams(mark, CFG.imf_bps)
    side = Side.BUY if is_buy else Side.SELL
    assert margin_ok(f, is_buy, price, q, m) == eng._margin_ok(a, 1, side, price, q)
    assert requirement(f.position, f.open_buy, f.open_sell, m)[0] == eng._requirement(a)
    amount = q * 1_000
    expected = amount <= a.collateral and eng._equity(a) - amount >= eng._requirement(a)
    assert withdraw_ok(f, amount, m) == expected


# --- check_step mirrors the constraints ----------------------------------------------------------

_HINTS = ("released", "div_rem", "req_before", "rem_before", "req_after", "rem_after")


@pytest.fixture(scope="module")
def honest() -> list[StepWitness]:
    return _cross_check(4, 800_000, n=200)[1]


def test_check_step_rejects_single_field_tampering(honest: list[StepWitness]) -> None:
    rng = random.Random(1)
    sample = [w for w in honest if w.op == AccountOp.FILL][:20] + rng.sample(honest, 40)
    names = [f.name for f in dataclasses.fields(AccountFields)]
    for w in sample:
        check_step(w, DEPTH)
        for name in names:  # any new field moved (root kept consistent with it)
            bumped = dataclasses.replace(w.new, **{name: getattr(w.new, name) + 1})
            with pytest.raises(StepConstraintError):
                check_step(w.with_new(bumped), DEPTH)
        for hint in _HINTS:  # any hint moved
            for d in (-1, 1):
                bad = dataclasses.replace(w, **{hint: getattr(w, hint) + d})
                with pytest.raises(StepConstraintError):
                    check_step(bad, DEPTH)
        with pytest.raises(StepConstraintError):  # the old leaf is not in the tree
            check_step(dataclasses.replace(w, old_root=w.old_root ^ 1), DEPTH)


def test_rules_reject_forbidden_ops() -> None:
    t, m = AccountTrace(DEPTH), MarketParams(100_000, 1_000)
    with pytest.raises(StepRejected):
        t.step(StepParams(AccountOp.DEPOSIT, 3, amount=5), m)  # no such account
    t.step(StepParams(AccountOp.ADD, 3, pubkey_hash=1), m)
    with pytest.raises(StepRejected):
        t.step(StepParams(AccountOp.ADD, 3, pubkey_hash=1), m)  # exists
    with pytest.raises(StepRejected):
        t.step(StepParams(AccountOp.OPEN_ORDER, 3, Side.BUY, 100_000, 1), m)  # no collateral
    with pytest.raises(StepRejected):
        t.step(StepParams(AccountOp.WITHDRAW, 3, amount=1), m)
    with pytest.raises(StepConstraintError):  # a zero deposit is not a deposit
        t.step(StepParams(AccountOp.DEPOSIT, 3, amount=0), m)
    nop = t.step(StepParams(AccountOp.NOP), m)
    assert nop.new_root == nop.old_root == t.root
    tier = t.tree.tier()
    assert nop.inputs()["oldCollateral"] == 0 and nop.public_signals() == [*tier, *tier]


def test_felt_and_fields() -> None:
    assert felt(-1) == FIELD_MODULUS - 1 and felt(5) == 5
    assert AccountFields(-(1 << 127), -(1 << 63), 0, 0, -(1 << 127)).encoded() == (0,) * 6
    assert not AccountFields(open_buy=1 << 56).in_range()
    assert AccountFields(nonce=(1 << 64) - 1).in_range()
    assert not AccountFields(nonce=1 << 64).in_range()
    two = AccountView(0, 0, 0, 0, (PositionView(1, 0, 0, 0, 0), PositionView(2, 0, 0, 0, 0)))
    with pytest.raises(ValueError):
        AccountFields.from_view(two)


# --- several markets ----------------------------------------------------------------------------

#: Two markets whose marks and rates differ, so a model that mixed them up would disagree.
TWO = (
    MarketConfig(1, "PB1-PERP", 1, 1, 1, 10_000_000, 1_000_000, 100_000, 1_000, 500),
    MarketConfig(2, "PB2-PERP", 1, 1, 1, 10_000_000, 1_000_000, 40_000, 2_500, 1_200),
)


@pytest.fixture(scope="module")
def two_markets() -> tuple[Counter, list[StepWitness]]:
    return _cross_check(3, 800_000, n=400, markets=TWO)


def test_blocks_cross_check_two_markets(two_markets: tuple[Counter, list[StepWitness]]) -> None:
    stats, ws = two_markets
    for op in ("ADD", "DEPOSIT", "WITHDRAW", "OPEN_ORDER", "RELEASE", "FILL"):
        assert stats[op] > 0, (op, stats)
    assert stats["rejections checked"] > 0
    assert {w.market for w in ws if w.op == AccountOp.FILL} == {0, 1}
    # orders checked with a position open in the other market: its terms were in the sums
    assert any(w.op == AccountOp.OPEN_ORDER and w.others[1 - w.market].position for w in ws)
    assert all(len(w.others) == len(w.params) == len(w.reqs_before) == 2 for w in ws)


def test_several_markets_need_every_market_from_the_caller() -> None:
    t = AccountTrace(DEPTH, markets=2)
    m = MarketParams(100_000, 1_000)
    with pytest.raises(ValueError, match="1 markets' params for a venue of 2"):
        t.step(StepParams(AccountOp.ADD, 1, pubkey_hash=7), m)
    with pytest.raises(ValueError, match="market index 2"):
        t.step(StepParams(AccountOp.ADD, 1, pubkey_hash=7, market=2), (m, m))
    with pytest.raises(ValueError, match="at least one market"):
        AccountTrace(DEPTH, markets=0)
    view = AccountView(0, 5, 1, 2, (PositionView(1, 0, 0, 0, 0),))
    with pytest.raises(ValueError, match="has 1 markets, not 2"):
        AccountTrace.from_views(DEPTH, [view], markets=2)


def _engine_two(f: AccountFields, k: int, other: PositionFields, marks: tuple[int, int]):
    """A two-market engine whose account 0 holds ``f`` in market ``k`` and ``other`` in the
    other market, at ``marks``."""
    eng = ReferenceEngine(list(TWO))
    eng.process(AddAccount(1, 1, 0))
    for mid, mark in zip((1, 2), marks, strict=True):
        eng._markets[mid].mark = mark
    a = eng._accounts[0]
    a.collateral = f.collateral
    for j, (pos, basis, ob, os_) in enumerate(
        ((f.position, f.basis, f.open_buy, f.open_sell),
         (other.position, other.basis, other.open_buy, other.open_sell))
    ):  # fmt: skip
        p = a.positions[TWO[k if j == 0 else 1 - k].market_id]
        p.position, p.basis, p.open_buy, p.open_sell = pos, basis, ob, os_
    return eng


@st.composite
def other_markets(draw: st.DrawFn) -> PositionFields:
    pos = draw(positions)
    basis = 0 if pos == 0 else draw(st.integers(-(10**13), 10**13))
    return PositionFields(pos, draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)), basis)


@settings(max_examples=300, deadline=None)
@given(
    accounts(),
    other_markets(),
    st.sampled_from([0, 1]),
    st.booleans(),
    prices,
    qtys,
    prices,
    prices,
)
def test_rules_with_another_market_match_engine(
    f: AccountFields,
    other: PositionFields,
    k: int,
    is_buy: bool,
    price: int,
    q: int,
    mark0: int,
    mark1: int,
) -> None:
    marks = (mark0, mark1)
    eng = _engine_two(f, k, other, marks)
    a = eng._accounts[0]
    params = [MarketParams(marks[j], c.imf_bps, c.mmf_bps) for j, c in enumerate(TWO)]
    others = [(other, params[1 - k])]
    mid = TWO[k].market_id
    side = Side.BUY if is_buy else Side.SELL
    assert margin_ok(f, is_buy, price, q, params[k], others) == eng._margin_ok(
        a, mid, side, price, q
    )
    amount = q * 1_000
    expected = amount <= a.collateral and eng._equity(a) - amount >= eng._requirement(a)
    assert withdraw_ok(f, amount, params[k], others) == expected
    order = PlaceOrder(1, 1, 0, mid, 1, side, OrderType.LIQUIDATION, TimeInForce.IOC, price, q)
    assert liquidatable(f, is_buy, q, params[k], others) == eng._liquidatable(a, order)


def test_check_step_rejects_tampering_of_the_other_markets(
    two_markets: tuple[Counter, list[StepWitness]],
) -> None:
    ws = [w for w in two_markets[1] if w.op != AccountOp.NOP]
    rng = random.Random(2)
    for w in rng.sample(ws, 40):
        check_step(w, DEPTH)
        j = 1 - w.market
        for name in ("position", "open_buy", "open_sell", "basis"):  # the other market moved
            x = w.others[j]
            others = list(w.others)
            others[j] = dataclasses.replace(x, **{name: getattr(x, name) + 1})
            with pytest.raises(StepConstraintError):
                check_step(dataclasses.replace(w, others=tuple(others)), DEPTH)
        for d in (-1, 1):  # the other market's requirement hint moved
            reqs = list(w.reqs_before)
            reqs[j] = (reqs[j][0] + d, reqs[j][1])
            with pytest.raises(StepConstraintError):
                check_step(dataclasses.replace(w, reqs_before=tuple(reqs)), DEPTH)
        with pytest.raises(StepConstraintError):  # another market's mark
            params = list(w.params)
            params[j] = dataclasses.replace(params[j], mark=params[j].mark + 1)
            bad = dataclasses.replace(w, params=tuple(params))
            if w.others[j].position or w.reqs_before[j][0]:
                check_step(bad, DEPTH)
            else:  # a flat market's mark moves nothing: the traded market's does
                check_step(dataclasses.replace(w, market=j), DEPTH)


def test_the_other_market_decides_some_margin_and_liquidation_checks() -> None:
    # Seeded states near the margin boundary: the rules must agree with the engine both where
    # the other market's terms change the answer and where they do not.
    rng = random.Random(7)
    decided = Counter()
    for _ in range(3_000):
        k = rng.randrange(2)
        marks = (rng.randint(50_000, 150_000), rng.randint(20_000, 60_000))
        size = rng.randint(1, 2_000)
        long = rng.random() < 0.5
        pos = size if long else -size
        f = AccountFields(
            rng.randint(-(10**7), 3 * 10**7), pos, 0, 0, pos * rng.randint(30_000, 150_000)
        )
        opos = rng.randint(-2_000, 2_000)
        other = PositionFields(
            opos, rng.randint(0, 500), rng.randint(0, 500), opos * rng.randint(20_000, 60_000)
        )
        eng = _engine_two(f, k, other, marks)
        a = eng._accounts[0]
        params = [MarketParams(marks[j], c.imf_bps, c.mmf_bps) for j, c in enumerate(TWO)]
        others = [(other, params[1 - k])]
        mid, q = TWO[k].market_id, rng.randint(1, size)
        is_buy = rng.random() < 0.5 if rng.random() < 0.3 else not long
        side = Side.BUY if is_buy else Side.SELL
        price = marks[k] + rng.randint(-5_000, 5_000)
        ok = margin_ok(f, is_buy, price, q, params[k], others)
        assert ok == eng._margin_ok(a, mid, side, price, q)
        decided["margin", ok, ok != margin_ok(f, is_buy, price, q, params[k])] += 1
        order = PlaceOrder(1, 1, 0, mid, 1, side, OrderType.LIQUIDATION, TimeInForce.IOC, price, q)
        liq = liquidatable(f, is_buy, q, params[k], others)
        assert liq == eng._liquidatable(a, order)
        decided["liquidation", liq, liq != liquidatable(f, is_buy, q, params[k])] += 1
    for rule in ("margin", "liquidation"):
        for answer in (False, True):
            assert decided[rule, answer, True] > 0, (rule, answer, decided)
