"""Cutting blocks by the proof's size: ``proofs.steps.command_steps`` bounds what the witness
builder emits, and a builder with a step budget seals blocks the test-size circuit can take."""

from __future__ import annotations

import msgspec
import pytest

from matching import BlockBuilder, ReferenceEngine
from proofs.state import PoseidonState
from proofs.steps import command_steps, worst_command_steps
from proofs.verify import TEST_SIZE
from proofs.witness import BlockParams, BlockProverState
from venue.demo import PROVABLE_GENESIS
from venue.workload import Workload

G = PROVABLE_GENESIS
MARKET = G.markets[0]
D, A = G.order_depth, G.account_depth
# Witnesses are built with room to spare, so a block over the budget would show, not raise.
WIDE = BlockParams(TEST_SIZE.n, 64, D, A, MARKET)


def _blocks(seed: int, commands: int, engine_limits: dict[str, int] | None = None, **budget: int):
    engine = ReferenceEngine(
        (MARKET,), max_accounts=1 << A, max_resting_per_side=(1 << D) - 4, **(engine_limits or {})
    )
    com = PoseidonState((MARKET,), account_depth=A, order_depth=D)
    builder = BlockBuilder(
        engine, com, max_commands=TEST_SIZE.n, max_interval_ns=1 << 62, **budget
    )  # type: ignore[arg-type]
    w = Workload(seed, accounts=8, target_resting=10)
    blocks = []
    for cmd in [*w.genesis(), *w.commands(commands)]:
        blocks += builder.submit(cmd)[1]
    blocks.append(builder.seal())
    state = BlockProverState(MARKET, order_depth=D, account_depth=A)
    return [(b, state.advance(b, WIDE)) for b in blocks]


def _costs(block) -> list[int]:
    return [command_steps(c, events) for c, events in block.command_events()]


@pytest.mark.parametrize("seed", [5, 11])
def test_command_steps_bounds_the_witness_builder(seed: int) -> None:
    exact = total = 0
    for block, w in _blocks(seed, 400):
        for cost, real, kinds in zip(
            _costs(block), w.steps_per_command, w.command_kinds, strict=True
        ):
            assert cost >= real, (kinds, cost)
            exact += cost == real
            total += 1
    # a bound, but a tight one: blocks cut by it are not much emptier than they could be
    assert exact / total > 0.6


def test_a_step_budget_seals_blocks_that_fit_the_circuit() -> None:
    # without a budget, 4-command blocks of the standard mix now and then overflow the
    # 12-step circuit (2 of 255 blocks with this seed)
    unbudgeted = _blocks(11, 1000)
    assert max(sum(w.steps_per_command) for _, w in unbudgeted) > TEST_SIZE.s
    budgeted = _blocks(
        11, 1000, max_steps=TEST_SIZE.s, step_cost=command_steps, step_reserve=G.step_reserve
    )
    assert all(sum(w.steps_per_command) <= TEST_SIZE.s for _, w in budgeted)
    # the same commands, in about a third more blocks
    n0, n1 = len(unbudgeted), len(budgeted)
    assert sum(len(b.commands) for b, _ in budgeted) == sum(len(b.commands) for b, _ in unbudgeted)
    assert n0 < n1 < 2 * n0


def test_step_budget_arguments_are_checked() -> None:
    engine = ReferenceEngine((MARKET,))
    com = PoseidonState((MARKET,), account_depth=A, order_depth=D)
    with pytest.raises(ValueError, match="step_cost"):
        BlockBuilder(engine, com, max_steps=12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        BlockBuilder(engine, com, max_steps=12, step_cost=command_steps, step_reserve=-1)  # type: ignore[arg-type]


def test_engine_limits_bound_every_command_and_genesis_checks_the_reserve() -> None:
    from venue.node import Genesis
    from venue.workload import default_markets

    assert worst_command_steps(3, 3) == 8  # a replace that trades 3 times; a mass cancel of 3
    assert worst_command_steps(1, 10) == 22
    with pytest.raises(ValueError, match="positive"):
        worst_command_steps(0, 3)
    ok = Genesis(default_markets(1), account_depth=4, order_depth=4, block_commands=4,
                 block_steps=12, step_reserve=8, max_matches=3, max_open_orders=3)  # fmt: skip
    assert ok.worst_command_steps == 8
    with pytest.raises(ValueError, match="step_reserve"):
        msgspec.structs.replace(ok, step_reserve=7)
    assert msgspec.structs.replace(ok, max_matches=0).worst_command_steps is None


def test_limits_make_every_block_fit_by_construction() -> None:
    # the same workload with small limits: the bound holds for every block, with no exception
    limits = {"max_matches": 3, "max_open_orders": 3}
    blocks = _blocks(
        11, 1000, limits, max_steps=TEST_SIZE.s, step_cost=command_steps,
        step_reserve=worst_command_steps(3, 3),
    )  # fmt: skip
    assert all(sum(_costs(b)) <= TEST_SIZE.s for b, _ in blocks)
    assert all(sum(w.steps_per_command) <= TEST_SIZE.s for _, w in blocks)
