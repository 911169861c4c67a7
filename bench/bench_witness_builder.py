"""CPU time of the Python witness builder (``BlockProverState.advance``) per block.

The standard mix (seed 7, 100 accounts, 500 resting, 1,500 commands after genesis) in blocks of
20 commands, one market, at the production depths (D = 12, A = 16); the builder's step budget is
wide (400) so that no block is refused. Best of ``--reps`` passes over all blocks, each from
genesis. Built to compare two revisions of the builder in one run, alternated, e.g.::

    git worktree add /tmp/oldtree <rev>; cp matching/*.so proofs/*.so to the same places there
    (cd /tmp/oldtree && PYTHONPATH=. python -m bench.bench_witness_builder --label before)
    PYTHONPATH=. python -m bench.bench_witness_builder --label after

(the old revision needs this file copied into its ``bench/`` too).
"""

from __future__ import annotations

import argparse
import time

from matching import BlockBuilder, ReferenceEngine
from proofs.state import PoseidonState
from proofs.witness import BlockParams, BlockProverState
from venue.workload import Workload


def measure(reps: int = 3) -> dict[str, object]:
    w = Workload(7, accounts=100, target_resting=500)
    m = w.markets[0]
    eng = ReferenceEngine(w.markets, max_accounts=1 << 16, max_resting_per_side=(1 << 12) - 64)
    com = PoseidonState(w.markets, account_depth=16, order_depth=12)
    builder = BlockBuilder(eng, com, max_commands=20, max_interval_ns=1 << 62)
    blocks = builder.submit_many(w.genesis() + list(w.commands(1500)))
    params = BlockParams(20, 400, 12, 16, m, ratio=2)
    passes = []
    for _ in range(reps):
        st = BlockProverState(m, order_depth=12, account_depth=16)
        t0 = time.process_time()
        for b in blocks:
            st.advance(b, params)
        passes.append((time.process_time() - t0) / len(blocks) * 1000)
    return {"blocks": len(blocks), "cpu_ms_per_block": passes, "best_ms": min(passes)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--label", default="")
    args = ap.parse_args(argv)
    r = measure(args.reps)
    print(args.label, r)


if __name__ == "__main__":
    main()
