"""What rules 2 (``venue.node.Genesis.rules``) costs on the order path, as pytest-benchmark
micro-benchmarks (not part of the default test run).

Run: ``.venv/bin/python -m pytest bench/test_bench_rules2.py --benchmark-only``. The shared
machine makes single runs noisy, so the committed figure comes from alternating both variants
40 times in one process and comparing medians:
``PYTHONPATH=. .venv/bin/python -m bench.test_bench_rules2 --json bench/results_rules2.json``.

- ``test_prepare``: ``OrderRouter.prepare`` of 5,000 NewOrderSingle requests, without the
  live-ClOrdID check (rules 1: the engine refuses repeats) and with it (rules 2: the router
  asks the Cython engine, which holds ~6,000 live orders of 1,000 accounts);
- ``test_engine``: the Cython engine processing 20,000 workload commands with the engine's
  uniqueness rule and without it (client ids counted instead of mapped to their order).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import pytest

from matching import CEngine
from venue.fix import FixMessage, NewOrderRequest
from venue.orders import OrderRouter
from venue.workload import Workload

N = 20_000
REQUESTS = 5_000

pytestmark = pytest.mark.skipif(CEngine is None, reason="Cython engine not built")


def _engine(unique: bool) -> tuple[object, list]:
    w = Workload(42, accounts=1_000, target_resting=6_000)
    eng = CEngine(w.markets, unique_cl_ord_ids=unique)  # type: ignore[misc]
    eng.process_batch(w.genesis())
    cmds = list(w.commands(N + 10_000))
    eng.process_batch(cmds[:10_000])
    return eng, cmds[10_000:]


def _request(i: int, symbol: str) -> NewOrderRequest:
    return NewOrderRequest(
        cl_ord_id=f"bench-{i}", symbol=symbol, side="1", order_qty="1", ord_type="2",
        price="100000", time_in_force="1", post_only=False, seq_num=i + 1, poss_dup=False,
        account=str(1 + i % 1_000), message=FixMessage("D"),
    )  # fmt: skip


def _requests() -> list[NewOrderRequest]:
    symbol = Workload().markets[0].symbol
    return [_request(i, symbol) for i in range(REQUESTS)]


@pytest.mark.parametrize("check", [False, True], ids=["rules1", "rules2"])
def test_prepare(benchmark, check: bool) -> None:
    eng, _ = _engine(unique=not check)
    markets = Workload().markets
    reqs = _requests()

    def setup():
        live = eng.has_live_cl_ord_id if check else None  # type: ignore[attr-defined]
        router = OrderRouter(markets, live_cl_ord_id=live)
        return (router,), {}

    def run(router: OrderRouter) -> None:
        for r in reqs:
            router.prepare(1 + r.seq_num % 1_000, r)

    benchmark.pedantic(run, setup=setup, rounds=7)


@pytest.mark.parametrize("unique", [True, False], ids=["rules1", "rules2"])
def test_engine(benchmark, unique: bool) -> None:
    def setup():
        return _engine(unique), {}

    def run(eng, cmds) -> None:
        for i in range(0, len(cmds), 64):
            eng.process_batch(cmds[i : i + 64])

    benchmark.pedantic(run, setup=setup, rounds=9)


def alternate(rounds: int = 40) -> dict[str, float]:
    """Both variants of ``test_prepare`` alternated ``rounds`` times: medians per request."""
    eng, _ = _engine(unique=False)
    markets = Workload().markets
    reqs = _requests()
    ns: dict[bool, list[int]] = {False: [], True: []}
    for _ in range(rounds):
        for check in (False, True):
            live = eng.has_live_cl_ord_id if check else None  # type: ignore[attr-defined]
            router = OrderRouter(markets, live_cl_ord_id=live)
            t0 = time.perf_counter_ns()
            for r in reqs:
                router.prepare(1 + r.seq_num % 1_000, r)
            ns[check].append(time.perf_counter_ns() - t0)
    without, with_ = (statistics.median(ns[c]) / len(reqs) / 1e3 for c in (False, True))
    return {
        "requests": len(reqs),
        "rounds": rounds,
        "prepare_us_rules1": round(without, 3),
        "prepare_us_rules2": round(with_, 3),
        "ratio": round(with_ / without, 4),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args()
    got = alternate(args.rounds)
    print(json.dumps(got))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(got, f, indent=2)
            f.write("\n")
