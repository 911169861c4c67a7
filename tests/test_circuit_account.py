"""The account half of the block circuit (proofs/circuits/account.circom) against the engine.

Honest steps come from real blocks (``proofs.accounttrace`` derives them from the events and
is cross-checked against ``PoseidonState`` in test_coverage_accounttrace.py) and must prove and
verify. ``ApplyFill`` is checked case by case against ``ReferenceEngine._fill``. Tampered
witnesses must fail: groth16py 0.2.0 does not check constraints while proving, so every
must-fail case goes through ``CompiledCircuit.prove(inputs, public_signals)``, which verifies
its own proof and raises ``UnsatisfiedWitnessError``. Each tamper test also proves the honest
witness it was derived from, so a failure is due to the tampering alone. Every tampered
witness must also fail ``check_step`` (the Python mirror of the constraints).
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from matching import BlockBuilder, ReferenceEngine
from matching.types import AddAccount, MarketConfig, Side
from proofs.accounttrace import (
    AccountFields,
    AccountOp,
    AccountTrace,
    MarketParams,
    OrderLedger,
    StepConstraintError,
    StepParams,
    StepRejected,
    StepWitness,
    apply_fill,
    block_ops,
    check_step,
    felt,
)
from proofs.circom import CompiledCircuit, UnsatisfiedWitnessError, circuit_stats, compile_circuit
from proofs.state import PoseidonState
from venue.workload import Workload

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "tests" / "circuits"
CACHE = ROOT / ".cache" / "circuits"
DEPTH = 8
IMF = 1_000

# Measured with `python -m proofs.circom tests/circuits/<name>_test.circom` (README section
# "Account circuit"); pinned so a template change that moves a count is noticed.
EXPECTED = {
    "account_leaf": 757,
    "account_fill": 530,
    "account_margin": 968,
    "account_step8": 4941,
    "account_step12": 6155,
    "account_step16": 7369,
}


def _compile(name: str) -> CompiledCircuit:
    return compile_circuit(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def step8() -> CompiledCircuit:
    return _compile("account_step8")


@pytest.fixture(scope="module")
def fill() -> CompiledCircuit:
    return _compile("account_fill")


@pytest.fixture(scope="module")
def leaf() -> CompiledCircuit:
    return _compile("account_leaf")


@pytest.fixture(scope="module")
def margin() -> CompiledCircuit:
    return _compile("account_margin")


def _prove_step(c: CompiledCircuit, w: StepWitness) -> None:
    check_step(w, DEPTH)
    proof = c.prove(w.inputs(), w.public_signals())
    assert c.verify(proof, w.public_signals())


def _must_fail(c: CompiledCircuit, w: StepWitness) -> None:
    with pytest.raises(StepConstraintError):
        check_step(w, DEPTH)
    with pytest.raises(UnsatisfiedWitnessError):
        c.prove(w.inputs(), w.public_signals())


# --- witnesses from real blocks ----------------------------------------------------------------


@pytest.fixture(scope="module")
def block_witnesses() -> list[StepWitness]:
    """Every account step of a short run of real blocks (6 accounts, tight collateral)."""
    w = Workload(4, accounts=6, target_resting=30, collateral=800_000)
    eng = ReferenceEngine(w.markets)
    com = PoseidonState(w.markets, account_depth=DEPTH, order_depth=8)
    blocks = BlockBuilder(eng, com, max_commands=32).submit_many(
        w.genesis() + list(w.commands(300))
    )
    trace, ledger, mark = AccountTrace(DEPTH), OrderLedger(), w.markets[0].initial_price
    out: list[StepWitness] = []
    for b in blocks:
        out += trace.run(block_ops(b, ledger), MarketParams(mark, w.markets[0].imf_bps))
        mark = b.header.markets[0].price
    assert trace.root == com.accounts.root
    return out


def _is_reducing(w: StepWitness) -> bool:
    return w.op == AccountOp.FILL and w.old.position != 0 and (w.old.position > 0) != w.is_buy


def _sample(ws: list[StepWitness]) -> list[StepWitness]:
    """Two of each op, and the fills that reduce, flip, close exactly and round."""
    picked: list[StepWitness] = []
    for op in AccountOp:
        picked += [w for w in ws if w.op == op][:2]
    reducing = [w for w in ws if _is_reducing(w)]
    for pred in (
        lambda w: w.qty < abs(w.old.position),  # partial reduce
        lambda w: w.qty == abs(w.old.position),  # close exactly
        lambda w: w.qty > abs(w.old.position),  # flip through zero
        lambda w: w.div_rem != 0,  # released rounded down
    ):
        found = [w for w in reducing if pred(w)]
        assert found, "the run has no fill of this kind"
        picked.append(found[0])
    return picked


def test_honest_block_steps_prove(step8: CompiledCircuit, block_witnesses: list) -> None:
    sample = _sample(block_witnesses)
    ops = {w.op for w in sample}
    assert ops >= set(AccountOp) - {AccountOp.NOP, AccountOp.WITHDRAW}
    for w in sample:
        _prove_step(step8, w)


def test_honest_manual_steps_prove(step8: CompiledCircuit) -> None:
    # NOP (all-zero padding), WITHDRAW at the exact margin boundary, a risk-reducing order
    # accepted although equity is below the requirement.
    t, m = _funded_long()
    _prove_step(step8, t.preview(StepParams(AccountOp.NOP), m))
    wd = t.preview(StepParams(AccountOp.WITHDRAW, 0, amount=10_000), LOSS_MARK)
    _prove_step(step8, wd)
    t.step(StepParams(AccountOp.WITHDRAW, 0, amount=10_000), LOSS_MARK)
    crash = MarketParams(50_000, IMF)  # equity 0 + 10 * 50k - 1M < 0
    reduce = t.preview(StepParams(AccountOp.OPEN_ORDER, 0, Side.SELL, 50_000, 10), crash)
    assert reduce.req_after <= reduce.req_before
    _prove_step(step8, reduce)


# --- AccountLeaf and ApplyFill against the reference ---------------------------------------------


def test_account_leaf_matches_state(leaf: CompiledCircuit) -> None:
    for f, pk in (
        (AccountFields(), 1),
        (AccountFields(-5, -(1 << 63), (1 << 56) - 1, 7, -(1 << 127)), 2**250),
        (AccountFields((1 << 127) - 1, (1 << 63) - 1, 0, (1 << 56) - 1, (1 << 127) - 1), 3),
        (AccountFields(1, 2, 3, 4, 5, (1 << 64) - 1), 4),
    ):
        enc = f.encoded()
        inputs = {
            "pubkeyHash": pk,
            "collateral": enc[0],
            "position": enc[1],
            "openBuy": enc[2],
            "openSell": enc[3],
            "basis": enc[4],
            "nonce": enc[5],
        }
        leaf.prove(inputs, [f.leaf(pk)])
    with pytest.raises(UnsatisfiedWitnessError):  # open_buy one bit too wide
        leaf.prove({**inputs, "openBuy": 1 << 56}, [f.leaf(pk)])
    with pytest.raises(UnsatisfiedWitnessError):  # the nonce one bit too wide
        leaf.prove({**inputs, "nonce": 1 << 64}, [f.leaf(pk)])


def _engine_fill(f: AccountFields, side: int, price: int, q: int) -> AccountFields:
    """ReferenceEngine._fill itself (the spec) on an account holding ``f``."""
    cfg = MarketConfig(1, "T", 1, 1, 1, (1 << 40) - 1, (1 << 48) - 1, 100, IMF, 500)
    eng = ReferenceEngine([cfg])
    eng.process(AddAccount(1, 1, 0))
    a = eng._accounts[0]
    a.collateral = f.collateral
    p = a.positions[1]
    p.position, p.basis = f.position, f.basis
    eng._fill(a, 1, side, price, q)
    return AccountFields(a.collateral, p.position, 0, 0, p.basis)


FILL_CASES = [
    # (name, position, basis, side, price, qty)
    ("open long", 0, 0, Side.BUY, 100_000, 5),
    ("open short", 0, 0, Side.SELL, 100_000, 5),
    ("add long", 5, 500_000, Side.BUY, 100_007, 3),
    ("add short", -5, -500_000, Side.SELL, 99_993, 3),
    ("reduce long", 10, 1_000_003, Side.SELL, 101_000, 4),
    ("reduce short", -10, -1_000_003, Side.BUY, 99_000, 4),
    ("close long exactly", 3, 300_002, Side.SELL, 90_000, 3),
    ("close short exactly", -3, -300_002, Side.BUY, 110_000, 3),
    ("flip long to short", 4, 400_001, Side.SELL, 100_500, 9),
    ("flip short to long", -4, -400_001, Side.BUY, 99_500, 9),
    ("rounding", 7, 700_006, Side.SELL, 100_000, 3),  # 700006 * 3 % 7 != 0
    ("wide values", -(1 << 50), -(1 << 90) - 1, Side.BUY, (1 << 40) - 1, (1 << 48) - 1),
]


@pytest.mark.parametrize("case", FILL_CASES, ids=[c[0] for c in FILL_CASES])
def test_apply_fill_matches_engine(fill: CompiledCircuit, case: tuple) -> None:
    _, pos, basis, side, price, q = case
    f = AccountFields(collateral=1_000_000, position=pos, basis=basis)
    expected = _engine_fill(f, side, price, q)
    new, released, rem = apply_fill(f, side == Side.BUY, price, q)
    assert new == expected
    inputs = {
        "position": felt(pos),
        "basis": felt(basis),
        "collateral": felt(f.collateral),
        "isBuy": int(side == Side.BUY),
        "price": price,
        "qty": q,
        "released": released,
        "divRem": rem,
    }
    same = pos == 0 or (pos > 0) == (side == Side.BUY)
    close = 0 if same else min(q, abs(pos))  # what a liquidation must close: all of q
    outputs = [felt(new.position), felt(new.basis), felt(new.collateral), close]
    fill.prove(inputs, outputs)
    if released or rem:  # the quotient is pinned: off by one either way fails
        size = abs(pos)
        for r2, m2 in ((released + 1, rem - size), (released - 1, rem + size)):
            if r2 >= 0:
                with pytest.raises(UnsatisfiedWitnessError):
                    fill.prove({**inputs, "released": r2, "divRem": felt(m2)}, outputs)


def test_margin_ok_output(margin: CompiledCircuit) -> None:
    # ok and equity as MarginOk computes them, for an accepted and a rejected order.
    t, m = _funded_long()
    acc = t.fields[0]
    for qty, ok in ((9, 1), (12, 0)):
        w = t.preview(StepParams(AccountOp.OPEN_ORDER, 0, Side.BUY, 101_000, qty), m, enforce=False)
        inputs = {
            "mark": m.mark,
            "imf": m.imf_bps,
            "position": felt(acc.position),
            "openBuy": acc.open_buy,
            "openSell": acc.open_sell,
            "collateral": felt(acc.collateral),
            "basis": felt(acc.basis),
            "isBuy": 1,
            "price": 101_000,
            "qty": qty,
            "reqBefore": w.req_before,
            "remBefore": w.rem_before,
            "reqAfter": w.req_after,
            "remAfter": w.rem_after,
            "liquidate": 0,
        }
        margin.prove(inputs, [ok, felt(200_000)])


def test_margin_ok_liquidation_mode(margin: CompiledCircuit) -> None:
    # long 10 at 100k on 200k: at mark 85k equity is 50k against maintenance 42.5k (5%), at
    # 80k 0 against 40k; at 84.3k 43k against 42.15k, at 84.2k 42k against 42.1k. With
    # liquidate, ok = under maintenance, whatever the order's price
    t, _ = _funded_long()
    acc = t.fields[0]
    for mark, under in ((85_000, 0), (80_000, 1), (84_300, 0), (84_200, 1)):
        m = MarketParams(mark, IMF, 500)
        w = t.preview(
            StepParams(AccountOp.OPEN_ORDER, 0, Side.SELL, 1, 10, liquidate=True), m, enforce=False
        )
        assert (w.req_before, w.rem_before) == (-(-500 * mark * 10 // 10_000), w.rem_before)
        equity = 200_000 + 10 * mark - 1_000_000
        inputs = {
            "mark": mark,
            "imf": 500,
            "position": felt(acc.position),
            "openBuy": 0,
            "openSell": 0,
            "collateral": felt(acc.collateral),
            "basis": felt(acc.basis),
            "isBuy": 0,
            "price": 1,
            "qty": 10,
            "reqBefore": w.req_before,
            "remBefore": w.rem_before,
            "reqAfter": w.req_after,
            "remAfter": w.rem_after,
            "liquidate": 1,
        }
        margin.prove(inputs, [under, felt(equity)])
        with pytest.raises(UnsatisfiedWitnessError):
            margin.prove(inputs, [1 - under, felt(equity)])


# --- tampering -----------------------------------------------------------------------------------

LOSS_MARK = MarketParams(90_000, IMF)


def _funded_long() -> tuple[AccountTrace, MarketParams]:
    """Account 0: collateral 200k, long 10 at 100k (basis 1M), no open orders; mark 100k."""
    t, m = AccountTrace(DEPTH), MarketParams(100_000, IMF)
    t.step(StepParams(AccountOp.ADD, 5, pubkey_hash=55), m)  # a neighbour in the tree
    t.step(StepParams(AccountOp.ADD, 0, pubkey_hash=77), m)
    t.step(StepParams(AccountOp.DEPOSIT, 0, amount=200_000), m)
    t.step(StepParams(AccountOp.OPEN_ORDER, 0, Side.BUY, 100_000, 10), m)
    t.step(StepParams(AccountOp.FILL, 0, Side.BUY, 100_000, 10), m)
    assert t.fields[0] == AccountFields(200_000, 10, 0, 0, 1_000_000)
    return t, m


def _rounded_reduce() -> StepWitness:
    """A realising fill whose released basis is rounded (honest): sell 3 of long 7."""
    t, m = AccountTrace(DEPTH), MarketParams(100_000, IMF)
    t.step(StepParams(AccountOp.ADD, 2, pubkey_hash=9), m)
    t.step(StepParams(AccountOp.DEPOSIT, 2, amount=10**9), m)
    for price, q in ((100_000, 4), (100_002, 3)):  # basis 700006
        t.step(StepParams(AccountOp.OPEN_ORDER, 2, Side.BUY, price, q), m)
        t.step(StepParams(AccountOp.FILL, 2, Side.BUY, price, q), m)
    t.step(StepParams(AccountOp.OPEN_ORDER, 2, Side.SELL, 101_000, 3), m)
    w = t.preview(StepParams(AccountOp.FILL, 2, Side.SELL, 101_000, 3), m)
    assert (w.released, w.div_rem) == (300_002, 4)
    return w


def test_tampered_fill_fails(step8: CompiledCircuit) -> None:
    w = _rounded_reduce()
    _prove_step(step8, w)
    n = w.new
    # wrong realised PnL (collateral), wrong position, wrong basis
    _must_fail(step8, w.with_new(dataclasses.replace(n, collateral=n.collateral + 1)))
    _must_fail(step8, w.with_new(dataclasses.replace(n, position=n.position - 1)))
    _must_fail(step8, w.with_new(dataclasses.replace(n, basis=n.basis + 1)))
    # open quantity not consumed by the fill
    _must_fail(step8, w.with_new(dataclasses.replace(n, open_sell=n.open_sell + 3)))


def test_released_off_by_one_fails(step8: CompiledCircuit) -> None:
    w = _rounded_reduce()
    size = abs(w.old.position)
    # (a) released + 1 with everything downstream consistent with it: only the division
    #     equation catches it; (b) released - 1 with the remainder grown to keep the equation:
    #     the remainder is no longer below the divisor.
    for delta, rem in ((1, w.div_rem), (-1, w.div_rem + size)):
        released = w.released + delta
        new = dataclasses.replace(
            w.new, collateral=w.new.collateral - delta, basis=w.new.basis - delta
        )
        bad = dataclasses.replace(w.with_new(new), released=released, div_rem=rem)
        _must_fail(step8, bad)


def test_every_hint_is_pinned(step8: CompiledCircuit) -> None:
    # Each private hint moved by one, everything else honest: the circuit rejects it.
    w = _rounded_reduce()
    for hint in ("released", "div_rem", "req_before", "rem_before", "req_after", "rem_after"):
        for d in (-1, 1):
            bad = dataclasses.replace(w, **{hint: getattr(w, hint) + d})
            with pytest.raises(StepConstraintError):
                check_step(bad, DEPTH)
            inputs = bad.inputs()
            name = {"div_rem": "divRem"}.get(hint, hint.replace("_b", "B").replace("_a", "A"))
            inputs[name] = felt(getattr(bad, hint))
            with pytest.raises(UnsatisfiedWitnessError):
                step8.prove(inputs, w.public_signals())


def test_open_order_failing_margin_fails(step8: CompiledCircuit) -> None:
    t, m = _funded_long()
    # equity 200k; requirement with 9 more lots is 190k (accepted), with 11 it is 210k
    ok = t.preview(StepParams(AccountOp.OPEN_ORDER, 0, Side.BUY, 100_000, 9), m)
    _prove_step(step8, ok)
    bad = t.preview(StepParams(AccountOp.OPEN_ORDER, 0, Side.BUY, 100_000, 11), m, enforce=False)
    _must_fail(step8, bad)
    # 10 lots need 200k: covered at the mark, but a limit 1 above the mark locks in 10
    edge = t.preview(StepParams(AccountOp.OPEN_ORDER, 0, Side.BUY, 100_001, 10), m, enforce=False)
    _must_fail(step8, edge)
    # an understated requirement (so "not increased") does not help: its remainder goes
    # negative, i.e. a huge field element that fails the range check
    x = bad.req_after * 10_000 - bad.rem_after  # imf * mark * risk
    lie = dataclasses.replace(bad, req_after=bad.req_before, rem_after=bad.req_before * 10_000 - x)
    assert lie.rem_after < 0
    with pytest.raises(StepConstraintError):
        check_step(lie, DEPTH)
    inputs = {**lie.inputs(), "remAfter": felt(lie.rem_after)}
    with pytest.raises(UnsatisfiedWitnessError):
        step8.prove(inputs, lie.public_signals())


def test_withdrawal_beyond_equity_fails(step8: CompiledCircuit) -> None:
    t, _ = _funded_long()
    # mark 90k: equity 200k + 900k - 1M = 100k, requirement 90k: 10k may go, 10,001 not
    _prove_step(step8, t.preview(StepParams(AccountOp.WITHDRAW, 0, amount=10_000), LOSS_MARK))
    _must_fail(
        step8,
        t.preview(StepParams(AccountOp.WITHDRAW, 0, amount=10_001), LOSS_MARK, enforce=False),
    )
    # beyond collateral although equity would cover it (mark 130k: equity 500k)
    rich = MarketParams(130_000, IMF)
    _must_fail(
        step8, t.preview(StepParams(AccountOp.WITHDRAW, 0, amount=200_001), rich, enforce=False)
    )


def test_replay_mark(step8: CompiledCircuit) -> None:
    # A signed command raises the account's nonce to its client id, which must be above it;
    # every other op keeps the nonce (a DEPOSIT claiming a new one fails).
    t, m = _funded_long()
    bumped = StepParams(AccountOp.OPEN_ORDER, 0, Side.BUY, 100_000, 1, bump=True, nonce=40)
    _prove_step(step8, t.preview(bumped, m))
    t.step(bumped, m)
    assert t.fields[0].nonce == 40
    w = t.preview(StepParams(AccountOp.WITHDRAW, 0, amount=5, bump=True, nonce=41), m)
    _prove_step(step8, w)
    for replay in (40, 39):  # the same intent again, an older one
        stale = StepParams(AccountOp.OPEN_ORDER, 0, Side.BUY, 100_000, 1, bump=True, nonce=replay)
        with pytest.raises(StepRejected, match="replay"):
            t.preview(stale, m)
        _must_fail(step8, t.preview(stale, m, enforce=False))
    dep = t.preview(StepParams(AccountOp.DEPOSIT, 0, amount=5), m)
    _prove_step(step8, dep)
    _must_fail(step8, dep.with_new(dataclasses.replace(dep.new, nonce=41)))
    # the mark cannot be raised by an ADD (or a NOP)
    add = AccountTrace(DEPTH).preview(
        StepParams(AccountOp.ADD, 3, pubkey_hash=5, bump=True, nonce=1), m
    )
    _must_fail(step8, add)


def test_wrong_old_leaf_fails(step8: CompiledCircuit) -> None:
    t, m = _funded_long()
    w = t.preview(StepParams(AccountOp.DEPOSIT, 0, amount=5), m)
    _prove_step(step8, w)
    # claim more collateral than committed; the new fields follow the claim consistently
    old = dataclasses.replace(w.old, collateral=w.old.collateral + 1_000_000)
    forged = dataclasses.replace(w, old=old).with_new(
        dataclasses.replace(old, collateral=old.collateral + 5)
    )
    _must_fail(step8, forged)
    # ADD over an existing account: the old leaf is not empty
    add = t.preview(StepParams(AccountOp.ADD, 0, pubkey_hash=1), m, enforce=False)
    _must_fail(step8, add)


def test_release_beyond_open_fails(step8: CompiledCircuit) -> None:
    t, m = _funded_long()
    t.step(StepParams(AccountOp.OPEN_ORDER, 0, Side.SELL, 100_000, 4), m)
    ok = t.preview(StepParams(AccountOp.RELEASE, 0, Side.SELL, qty=4), m)
    _prove_step(step8, ok)
    bad = t.preview(StepParams(AccountOp.RELEASE, 0, Side.SELL, qty=5), m, enforce=False)
    assert bad.new.open_sell == -1
    with pytest.raises(StepConstraintError):
        check_step(bad, DEPTH)
    inputs = {**bad.inputs(), "newOpenSell": felt(-1)}
    with pytest.raises(UnsatisfiedWitnessError):
        step8.prove(inputs, [*ok.new_tier, *bad.old_tier])


def test_random_field_tampering_fails(step8: CompiledCircuit) -> None:
    # Any single new field moved by a small amount on a real fill fails.
    w = _rounded_reduce()
    rng = random.Random(7)
    names = [f.name for f in dataclasses.fields(AccountFields)]
    for name in rng.sample(names, 3):
        bumped = dataclasses.replace(w.new, **{name: getattr(w.new, name) + rng.randint(1, 3)})
        _must_fail(step8, w.with_new(bumped))


# --- constraint counts ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_constraint_count(name: str) -> None:
    assert (
        circuit_stats(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE).constraints
        == (EXPECTED[name])
    )


def test_wrappers_are_three_lines() -> None:
    for name in EXPECTED:
        lines = (CIRCUITS / f"{name}_test.circom").read_text().splitlines()
        assert len(lines) == 3 and lines[0] == "pragma circom 2.0.0;", name
        assert lines[2].startswith("component main"), name


def test_account_templates_follow_house_rules() -> None:
    text = (ROOT / "proofs" / "circuits" / "account.circom").read_text()
    assert text.startswith("pragma circom 2.0.0;\n") and "component main" not in text
    for line in text.splitlines():
        if line.strip().startswith("include"):
            assert '"/' not in line and '"..' not in line, line
    for template in text.split("template ")[1:]:
        assert "assert(" in template.split("}")[0], template.split("(")[0]
    # every hint assignment is constrained on the next line
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "<--" in line and not line.strip().startswith("//"):
            assert lines[i + 1].strip().startswith(line.split("<--")[0].strip()), line
