"""Cutting blocks by the proof's size: ``proofs.steps.command_steps`` bounds what the witness
builder emits, ``command_steps_before`` bounds ``command_steps`` before a command executes,
and a builder with a step budget seals blocks the test-size circuit can take."""

from __future__ import annotations

import functools
import statistics

import msgspec
import pytest

from matching import BlockBuilder, ReferenceEngine
from proofs.state import PoseidonState
from proofs.steps import command_steps, command_steps_before, worst_command_steps
from proofs.verify import TEST_SIZE
from proofs.witness import BlockParams, BlockProverState
from venue.demo import PROVABLE_GENESIS
from venue.workload import Workload

G = PROVABLE_GENESIS
MARKET = G.markets[0]
D, A = G.order_depth, G.account_depth
# Witnesses are built with room to spare, so a block over the budget would show, not raise.
WIDE = BlockParams(TEST_SIZE.n, 64, D, A, MARKET)
#: the demo venue's limits, and the reserve a builder without the bound needs under them
LIMITS = {"max_matches": G.max_matches, "max_open_orders": G.max_open_orders}
RESERVE = worst_command_steps(G.max_matches, G.max_open_orders)


def _blocks(
    seed: int,
    commands: int,
    engine_limits: dict[str, int] | None = None,
    *,
    bound: bool = False,
    bounds: dict[int, int] | None = None,
    **budget: int,
):
    """Workload blocks and their witnesses. ``bound``: the builder cuts by the pre-execution
    step bound; ``bounds``: filled with each command's bound (by seq), read just before it
    executes."""
    engine = ReferenceEngine(
        (MARKET,), max_accounts=1 << A, max_resting_per_side=(1 << D) - 4, **(engine_limits or {})
    )
    com = PoseidonState((MARKET,), account_depth=A, order_depth=D)
    step_bound = functools.partial(command_steps_before, engine=engine) if bound else None
    builder = BlockBuilder(
        engine, com, max_commands=TEST_SIZE.n, max_interval_ns=1 << 62, step_bound=step_bound,
        **budget,
    )  # type: ignore[arg-type]  # fmt: skip
    w = Workload(seed, accounts=8, target_resting=10)
    blocks = []
    for cmd in [*w.genesis(), *w.commands(commands)]:
        if bounds is not None:
            bounds[cmd.seq] = command_steps_before(cmd, engine)
        blocks += builder.submit(cmd)[1]
    blocks.append(builder.seal())
    state = BlockProverState(MARKET, order_depth=D, account_depth=A)
    return [(b, state.advance(b, WIDE)) for b in blocks]


def _costs(block) -> list[int]:
    return [command_steps(c, events) for c, events in block.command_events()]


@pytest.mark.parametrize("limits", [None, LIMITS], ids=["no-limits", "limits"])
@pytest.mark.parametrize("seed", [5, 11])
def test_step_bounds_bound_the_witness_builder(seed: int, limits: dict[str, int] | None) -> None:
    # before >= after >= real for every command of the standard mix
    bounds: dict[int, int] = {}
    exact = exact_before = total = 0
    for block, w in _blocks(seed, 400, limits, bounds=bounds):
        for (cmd, _), cost, real, kinds in zip(
            block.command_events(), _costs(block), w.steps_per_command, w.command_kinds,
            strict=True,
        ):  # fmt: skip
            before = bounds[cmd.seq]
            assert before >= cost >= real, (kinds, cmd, before, cost, real)
            exact += cost == real
            exact_before += before == real
            total += 1
    # bounds, but tight ones: blocks cut by them are not much emptier than they could be
    assert exact / total > 0.6
    assert exact_before / total > 0.5


def test_a_step_budget_seals_blocks_that_fit_the_circuit() -> None:
    # without a budget, 4-command blocks of the standard mix now and then overflow the
    # 12-step circuit (2 of 255 blocks with this seed)
    unbudgeted = _blocks(11, 1000)
    assert max(sum(w.steps_per_command) for _, w in unbudgeted) > TEST_SIZE.s
    budgeted = _blocks(
        11, 1000, max_steps=TEST_SIZE.s, step_cost=command_steps, step_reserve=RESERVE
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
    with pytest.raises(ValueError, match="max_steps"):
        BlockBuilder(engine, com, step_bound=lambda cmd: 1)  # type: ignore[arg-type]
    # the bound's match cap may not be below the engine's (it would undercount a taker)
    limited = ReferenceEngine((MARKET,), max_matches=3)
    cmd = Workload(1).genesis()[0]
    assert command_steps_before(cmd, limited, 3) == command_steps_before(cmd, limited, 5) == 1
    for cap in (2, 0, -1):
        with pytest.raises(ValueError, match="max_matches"):
            command_steps_before(cmd, limited, cap)
    with pytest.raises(ValueError, match="max_matches"):
        command_steps_before(cmd, engine, 3)  # the engine has no limit


def test_engine_limits_bound_every_command_and_genesis_checks_they_fit_a_block() -> None:
    from venue.node import Genesis
    from venue.workload import default_markets

    assert worst_command_steps(3, 3) == 8  # a replace that trades 3 times; a mass cancel of 3
    assert worst_command_steps(1, 10) == 22
    with pytest.raises(ValueError, match="positive"):
        worst_command_steps(0, 3)
    ok = Genesis(default_markets(1), account_depth=4, order_depth=4, block_commands=4,
                 block_steps=12, step_reserve=0, max_matches=3, max_open_orders=3)  # fmt: skip
    assert ok.worst_command_steps == 8 and ok.uses_step_bound
    # the pre-execution bound needs no reserve, and any reserve within the budget is kept
    for reserve in (0, 7, 8, 12):
        assert msgspec.structs.replace(ok, step_reserve=reserve).step_reserve == reserve
    with pytest.raises(ValueError, match="step_reserve"):
        msgspec.structs.replace(ok, step_reserve=13)
    # but the largest command must fit an empty block
    assert msgspec.structs.replace(ok, block_steps=8).uses_step_bound
    with pytest.raises(ValueError, match="block_steps 7 < 8"):
        msgspec.structs.replace(ok, block_steps=7, step_reserve=0)
    with pytest.raises(ValueError, match="block_steps 9 < 10"):
        msgspec.structs.replace(ok, max_open_orders=4, block_steps=9)
    # without both limits nothing is bounded: no bound, no check
    for unbounded in ({"max_matches": 0}, {"max_open_orders": 0}, {"block_steps": 0}):
        g = msgspec.structs.replace(ok, **unbounded)
        assert not g.uses_step_bound
    assert msgspec.structs.replace(ok, max_matches=0, block_steps=4).worst_command_steps is None
    # the demo venue: bounded, and no reserve (its blocks fill up to the 12 steps)
    assert PROVABLE_GENESIS.uses_step_bound and PROVABLE_GENESIS.step_reserve == 0


def test_limits_make_every_block_fit_by_construction() -> None:
    # the same workload with small limits: the bound holds for every block, with no exception
    blocks = _blocks(
        11, 1000, LIMITS, max_steps=TEST_SIZE.s, step_cost=command_steps, step_reserve=RESERVE
    )
    assert all(sum(_costs(b)) <= TEST_SIZE.s for b, _ in blocks)
    assert all(sum(w.steps_per_command) <= TEST_SIZE.s for _, w in blocks)


def test_the_pre_execution_bound_fills_blocks_that_still_fit() -> None:
    # the demo venue's rule: limits, the bound, no reserve
    budget = {"max_steps": TEST_SIZE.s, "step_cost": command_steps}
    reserved = _blocks(11, 1000, LIMITS, step_reserve=RESERVE, **budget)  # type: ignore[arg-type]
    bounded = _blocks(11, 1000, LIMITS, bound=True, **budget)  # type: ignore[arg-type]
    for blocks in (reserved, bounded):
        assert all(sum(_costs(b)) <= TEST_SIZE.s for b, _ in blocks)
        assert all(sum(w.steps_per_command) <= TEST_SIZE.s for _, w in blocks)
    assert sum(len(b.commands) for b, _ in reserved) == sum(len(b.commands) for b, _ in bounded)
    mean_r = statistics.fmean(len(b.commands) for b, _ in reserved)
    mean_b = statistics.fmean(len(b.commands) for b, _ in bounded)
    # 2.85 -> 3.98 commands per 4-command block with this seed: nearly every block is full
    assert mean_b > 1.3 * mean_r and mean_b > 3.8, (mean_r, mean_b)
    # a reserve of the worst case leaves the bound nothing to cut: the cut points of venues
    # created before the bound are kept
    both = _blocks(11, 1000, LIMITS, step_reserve=RESERVE, bound=True, **budget)  # type: ignore[arg-type]
    assert [len(b.commands) for b, _ in both] == [len(b.commands) for b, _ in reserved]
