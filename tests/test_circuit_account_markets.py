"""The account templates for several markets (``AccountLeafM``, ``MarginOkM``,
``AccountStepOpsM`` in proofs/circuits/account.circom) against the Python model.

The model (``proofs.accounttrace`` with ``AccountTrace(markets=M)``) is checked against the
engine and the commitment on two-market blocks in test_coverage_accounttrace.py. Here its
witnesses must prove, and the cases where another market decides must fail in-circuit exactly
as in ``check_step``: an order whose margin only the other market's requirement breaks, a
liquidation only the other market's maintenance allows, an ADD over a market that is not flat,
and any change to the markets the step does not trade. One market is the M = 1 case of the same
templates, pinned to the old counts in test_circuit_account.py.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from matching.types import Side
from proofs.accounttrace import (
    AccountFields,
    AccountOp,
    AccountState,
    AccountTrace,
    MarketParams,
    PositionFields,
    StepConstraintError,
    StepParams,
    StepWitness,
    check_step,
)
from proofs.circom import CompiledCircuit, UnsatisfiedWitnessError, compile_circuit

from .test_circuit_account import _must_fail, _prove_step
from .test_coverage_accounttrace import TWO, _cross_check

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "tests" / "circuits"
CACHE = ROOT / ".cache" / "circuits"
DEPTH = 8

# Measured with `python -m proofs.circom tests/circuits/<name>_test.circom`; pinned so a
# template change that moves a count is noticed (README, "Account circuit").
EXPECTED = {
    "account_leaf_m2": 1337,
    "account_leaf_m3": 1662,
    "account_step8_m2": 6241,
    "account_step8_m3": 7002,
}

#: The markets of TWO at their initial marks.
PARAMS = tuple(MarketParams(c.initial_price, c.imf_bps, c.mmf_bps) for c in TWO)


def _compile(name: str) -> CompiledCircuit:
    return compile_circuit(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def step2() -> CompiledCircuit:
    return _compile("account_step8_m2")


def test_constraint_counts() -> None:
    for name, n in EXPECTED.items():
        assert _compile(name).stats.constraints == n, name


@pytest.mark.parametrize("markets", [2, 3])
def test_leaf_matches_state(markets: int) -> None:
    leaf = _compile(f"account_leaf_m{markets}")
    rng = random.Random(markets)
    lo = PositionFields(-(1 << 63), 0, 0, -(1 << 127))
    hi = PositionFields((1 << 63) - 1, (1 << 56) - 1, (1 << 56) - 1, (1 << 127) - 1)
    for st in (
        AccountState(0, (PositionFields(),) * markets, 0),
        AccountState(-(1 << 127), (lo, hi, lo)[:markets], (1 << 64) - 1),
        AccountState(
            rng.randrange(1 << 100),
            tuple(
                PositionFields(
                    rng.randrange(-(10**9), 10**9),
                    rng.randrange(10**9),
                    rng.randrange(10**9),
                    rng.randrange(-(10**20), 10**20),
                )
                for _ in range(markets)
            ),
            rng.randrange(1 << 64),
        ),
    ):
        enc = [x.encoded() for x in st.markets]
        inputs = {
            "pubkeyHash": 12345,
            "collateral": st.collateral + (1 << 127),
            "position": [e[0] for e in enc],
            "openBuy": [e[1] for e in enc],
            "openSell": [e[2] for e in enc],
            "basis": [e[3] for e in enc],
            "nonce": st.nonce,
        }
        leaf.prove(inputs, [st.leaf(12345)])
    with pytest.raises(UnsatisfiedWitnessError):  # the last market's open_sell one bit too wide
        leaf.prove({**inputs, "openSell": [*inputs["openSell"][:-1], 1 << 56]}, [st.leaf(12345)])


def test_honest_steps_of_two_market_blocks_prove_step(step2: CompiledCircuit) -> None:
    _, ws = _cross_check(3, 800_000, n=300, markets=TWO)
    picked: list[StepWitness] = []
    for op in AccountOp:
        for market in (0, 1):
            picked += [w for w in ws if w.op == op and w.market == market][:1]
    # orders and fills with a position open in the other market
    picked += [w for w in ws if w.op in (AccountOp.OPEN_ORDER, AccountOp.FILL)
               and w.others[1 - w.market].position][:3]  # fmt: skip
    assert {(w.op, w.market) for w in picked} >= {
        (op, k) for op in (AccountOp.OPEN_ORDER, AccountOp.FILL, AccountOp.RELEASE) for k in (0, 1)
    }
    for w in picked:
        _prove_step(step2, w)


def _two_positions() -> AccountTrace:
    """Account 1 with 200,000 of collateral, long 10 at 100,000 in market 0 and long 10 at
    40,000 in market 1: exactly at its initial margin (100,000 per market)."""
    t = AccountTrace(DEPTH, markets=2)
    t.step(StepParams(AccountOp.ADD, 1, pubkey_hash=99), PARAMS)
    t.step(StepParams(AccountOp.DEPOSIT, 1, amount=200_000), PARAMS)
    for k in (0, 1):
        price = PARAMS[k].mark
        t.step(StepParams(AccountOp.OPEN_ORDER, 1, Side.BUY, price, 10, market=k), PARAMS)
        t.step(StepParams(AccountOp.FILL, 1, Side.BUY, price, 10, market=k), PARAMS)
    assert t.states[1].markets == (PositionFields(10, 0, 0, 1_000_000),
                                   PositionFields(10, 0, 0, 400_000))  # fmt: skip
    return t


def test_the_other_markets_requirement_counts(step2: CompiledCircuit) -> None:
    t = _two_positions()
    # Buying one more in market 1 raises its requirement to 110,000: covered by the equity
    # alone (200,000), not with market 0's 100,000 added.
    more = StepParams(AccountOp.OPEN_ORDER, 1, Side.BUY, 40_000, 1, market=1)
    f = t.states[1].view(1)
    assert f.collateral == 200_000
    bad = t.preview(more, PARAMS, enforce=False)
    _must_fail(step2, bad)
    # Selling one does not raise it: allowed at any equity.
    sell = StepParams(AccountOp.OPEN_ORDER, 1, Side.SELL, 40_000, 1, market=1)
    _prove_step(step2, t.preview(sell, PARAMS))
    # Withdrawing is allowed only above both markets' requirement: none left here.
    _must_fail(step2, t.preview(StepParams(AccountOp.WITHDRAW, 1, amount=1), PARAMS, enforce=False))
    t.step(StepParams(AccountOp.DEPOSIT, 1, amount=10_000), PARAMS)
    _prove_step(step2, t.preview(more, PARAMS))
    _prove_step(step2, t.preview(StepParams(AccountOp.WITHDRAW, 1, amount=10_000), PARAMS))


def test_the_other_markets_maintenance_counts(step2: CompiledCircuit) -> None:
    t = _two_positions()
    sell = StepParams(AccountOp.OPEN_ORDER, 1, Side.SELL, 40_000, 10, liquidate=True, market=1)
    # Market 0's mark at 85,000: equity 200,000 - 150,000 = 50,000, above market 1's
    # maintenance (48,000) alone but under both markets' (42,500 + 48,000).
    crash = (dataclasses.replace(PARAMS[0], mark=85_000), PARAMS[1])
    w = t.preview(sell, crash)
    assert w.reqs_before == ((42_500, 0), (48_000, 0))
    _prove_step(step2, w)
    # At 90,000 the account is healthy (100,000 against 45,000 + 48,000): no liquidation.
    dip = (dataclasses.replace(PARAMS[0], mark=90_000), PARAMS[1])
    _must_fail(step2, t.preview(sell, dip, enforce=False))


def test_tampered_other_markets_fail(step2: CompiledCircuit) -> None:
    t = _two_positions()
    w = t.preview(StepParams(AccountOp.OPEN_ORDER, 1, Side.SELL, 40_000, 1, market=1), PARAMS)
    _prove_step(step2, w)
    # the untraded market's fields are the committed ones (the old leaf binds them)
    moved = PositionFields(11, 0, 0, 1_000_000)
    _must_fail(step2, dataclasses.replace(w, others=(moved, w.others[1])))
    # the traded market is the one the fields came from
    _must_fail(step2, dataclasses.replace(w, market=0))
    # its requirement hint is pinned
    reqs = ((w.reqs_before[0][0] + 1, w.reqs_before[0][1]), w.reqs_before[1])
    _must_fail(step2, dataclasses.replace(w, reqs_before=reqs))
    # the untraded market's new fields are its old ones: claiming a change moves the new root
    bad = dataclasses.replace(w, others=(moved, w.others[1]))
    bad = dataclasses.replace(bad.with_new(bad.new), old_root=w.old_root, old_tier=w.old_tier)
    _must_fail(step2, bad)


def test_add_starts_every_market_flat(step2: CompiledCircuit) -> None:
    t = AccountTrace(DEPTH, markets=2)
    w = t.preview(StepParams(AccountOp.ADD, 4, pubkey_hash=7), PARAMS)
    _prove_step(step2, w)
    for name in ("position", "open_buy", "open_sell", "basis"):  # each field on its own
        rich = (PositionFields(), dataclasses.replace(PositionFields(), **{name: 5}))
        # with hints that fit the claimed fields, so that only ADD's rule is broken
        hints = AccountTrace._multi(AccountState(0, rich), 0, PARAMS, False)
        bad = dataclasses.replace(w, **hints)  # type: ignore[arg-type]
        _must_fail(step2, bad.with_new(bad.new))


def test_nop_and_out_of_range_market() -> None:
    t = AccountTrace(DEPTH, markets=2)
    nop = t.preview(StepParams(AccountOp.NOP), PARAMS)
    assert nop.inputs()["marks"] == [c.initial_price for c in TWO]
    check_step(nop, DEPTH)
    bad = dataclasses.replace(nop, market=2)
    with pytest.raises(StepConstraintError, match="market shape"):
        check_step(bad, DEPTH)
    assert AccountFields().leaf(1) != AccountState(0, (PositionFields(),) * 2).leaf(1)
