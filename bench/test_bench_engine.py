"""pytest-benchmark micro-benchmarks (not part of the default test run).

Run: ``.venv/bin/python -m pytest bench/test_bench_engine.py --benchmark-only``.
They share the workload generator with the tests and with ``python -m bench engine``; each
benchmark processes the same pre-generated commands on a freshly warmed engine per round.
"""

from __future__ import annotations

import pytest

from matching import BlockBuilder, CEngine, ReferenceEngine
from proofs.poseidon import hash2
from proofs.state import PoseidonState
from venue.workload import Workload

ENGINES = [ReferenceEngine] + ([CEngine] if CEngine is not None else [])
N = 20_000


@pytest.fixture(scope="module")
def workload() -> tuple[list, list]:
    w = Workload(42, accounts=1_000, target_resting=6_000)
    return w.genesis(), list(w.commands(N + 10_000))


def _warm(engine_cls: type, workload: tuple[list, list]) -> tuple[object, list]:
    genesis, cmds = workload
    eng = engine_cls(Workload().markets)
    eng.process_batch(genesis)
    eng.process_batch(cmds[:10_000])
    return eng, cmds[10_000:]


@pytest.mark.parametrize("engine_cls", ENGINES, ids=lambda c: c.__name__)
def test_process_per_call(benchmark, engine_cls: type, workload: tuple[list, list]) -> None:
    def setup():
        eng, cmds = _warm(engine_cls, workload)
        return (eng, cmds), {}

    def run(eng, cmds):
        for c in cmds:
            eng.process(c)

    benchmark.pedantic(run, setup=setup, rounds=3)


@pytest.mark.skipif(CEngine is None, reason="Cython engine not built")
def test_process_batch_cython(benchmark, workload: tuple[list, list]) -> None:
    def setup():
        eng, cmds = _warm(CEngine, workload)
        return (eng, cmds), {}

    def run(eng, cmds):
        for i in range(0, len(cmds), 64):
            eng.process_batch(cmds[i : i + 64])

    benchmark.pedantic(run, setup=setup, rounds=3)


def test_seal_64_command_block(benchmark, workload: tuple[list, list]) -> None:
    genesis, cmds = workload
    w = Workload()
    eng = (CEngine or ReferenceEngine)(w.markets)
    com = PoseidonState(w.markets, account_depth=16, order_depth=14)
    bb = BlockBuilder(eng, com, max_commands=1 << 30, max_interval_ns=1 << 62)
    bb.submit_many(genesis + cmds[:10_000])
    bb.seal()
    it = iter(range(10_000, len(cmds), 64))

    def setup():
        i = next(it)
        for c in cmds[i : i + 64]:
            bb.submit(c)
        return (), {}

    benchmark.pedantic(bb.seal, setup=setup, rounds=50)


def test_poseidon_hash2(benchmark) -> None:
    benchmark(hash2, 123456789, 987654321)


@pytest.mark.parametrize("engine_cls", ENGINES, ids=lambda c: c.__name__)
def test_keeper_scan(benchmark, engine_cls: type, workload: tuple[list, list]) -> None:
    """The gateway keeper's pass over 1,000 accounts, none under maintenance (the common case),
    on the engine task once per block at most: the engine's ``under_maintenance`` query, then
    ``liquidation_orders`` for the accounts it names; compare with ``test_one_block_batch``
    in the same run."""
    from venue.liquidation import liquidation_orders

    eng, _ = _warm(engine_cls, workload)
    assert len(eng.account_ids()) == 1_000

    def scan() -> int:
        return sum(len(liquidation_orders(eng, a)) for a in eng.under_maintenance())

    assert benchmark(scan) == 0


@pytest.mark.skipif(CEngine is None, reason="Cython engine not built")
def test_one_block_batch(benchmark, workload: tuple[list, list]) -> None:
    """The baseline for the keeper scan: one 64-command block through ``process_batch``."""

    def setup():
        eng, cmds = _warm(CEngine, workload)
        return (eng, cmds[:64]), {}

    benchmark.pedantic(lambda eng, cmds: eng.process_batch(cmds), setup=setup, rounds=20)
