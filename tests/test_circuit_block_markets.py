"""The block circuit's parts for a venue of several markets (proofs/circuits/block.circom).

``BlockStateRootM(M)``: the state root of M markets of which a block opens one, the touched
market's side roots from its trees and heads, the others' kept as they are. It must equal
``PoseidonState.root`` on real two-market states for either market touched, and a changed
untouched market, a touched index naming the wrong market, or a mark outside its width must
fail. ``BlockStateRoot()`` is its M = 1 case (the block circuit's count is pinned in
test_circuit_block.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from matching import BlockBuilder, ReferenceEngine
from matching.types import Side
from proofs.circom import CompiledCircuit, UnsatisfiedWitnessError, compile_circuit
from proofs.state import PoseidonState
from venue.workload import Workload

from .test_coverage_accounttrace import TWO

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "tests" / "circuits"
CACHE = ROOT / ".cache" / "circuits"

# `python -m proofs.circom tests/circuits/block_state_root_m2_test.circom`
EXPECTED = {"block_state_root_m2": 3091}


@pytest.fixture(scope="module")
def root2() -> CompiledCircuit:
    return compile_circuit(CIRCUITS / "block_state_root_m2_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def venue() -> PoseidonState:
    """A two-market venue after a few blocks of the standard mix on both markets."""
    w = Workload(5, markets=TWO, accounts=6, target_resting=30, collateral=10**12)
    com = PoseidonState(TWO, account_depth=8, order_depth=8)
    BlockBuilder(ReferenceEngine(TWO), com, max_commands=16).submit_many(
        w.genesis() + list(w.commands(200))
    )
    return com


def _inputs(com: PoseidonState, touched: int) -> dict[str, object]:
    mid = TWO[touched].market_id
    sides = com.side_roots()
    states = com.market_states
    bids, asks = com._sides[(mid, Side.BUY)], com._sides[(mid, Side.SELL)]
    return {
        "touched": touched,
        "accRoot": com.accounts.root,
        "bidTree": bids.tree.root,
        "bidHead": list(bids.head()),
        "askTree": asks.tree.root,
        "askHead": list(asks.head()),
        # the touched market's slot is not read: a zero there proves it
        "bidSide": [0 if i == touched else sides[m.market_id][0] for i, m in enumerate(TWO)],
        "askSide": [0 if i == touched else sides[m.market_id][1] for i, m in enumerate(TWO)],
        "marks": [s.mark for s in states],
        "closeTs": [s.last_close_ts for s in states],
        "cumPriceTime": [int(s.cum_price_time) for s in states],
        "height": com.height,
    }


def test_constraint_count(root2: CompiledCircuit) -> None:
    assert root2.stats.constraints == EXPECTED["block_state_root_m2"]


def test_state_root_of_two_markets(root2: CompiledCircuit, venue: PoseidonState) -> None:
    assert all(s.mark != m.initial_price for s, m in zip(venue.market_states, TWO, strict=True))
    assert all(any(venue.side_roots()[m.market_id]) for m in TWO)
    for touched in (0, 1):
        inputs = _inputs(venue, touched)
        root2.prove(inputs, [venue.root])
        other = 1 - touched
        for name in ("bidSide", "askSide", "marks", "cumPriceTime"):  # an untouched market moved
            bad = list(inputs[name])  # type: ignore[call-overload]
            bad[other] += 1
            with pytest.raises(UnsatisfiedWitnessError):
                root2.prove({**inputs, name: bad}, [venue.root])
        with pytest.raises(UnsatisfiedWitnessError):  # the touched index names the other market
            root2.prove({**inputs, "touched": other}, [venue.root])
        with pytest.raises(UnsatisfiedWitnessError):  # not a market index
            root2.prove({**inputs, "touched": 2}, [venue.root])
    # the same packed element from a mark one bit too wide: only the range check stops it
    marks, close = list(inputs["marks"]), list(inputs["closeTs"])  # type: ignore[call-overload]
    marks[0] += 1 << 40
    close[0] -= 1
    with pytest.raises(UnsatisfiedWitnessError):
        root2.prove({**inputs, "marks": marks, "closeTs": close}, [venue.root])
