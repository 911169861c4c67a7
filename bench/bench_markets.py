"""What a venue of several markets costs the block circuit (``BlockM``, one market per block).

A block of a venue of M markets opens the one market its commands change. M enters only in:

* every **full position** (``BlockStep(D, A, 1, 1, M)``): its account write sees all M markets
  (``AccountStepOpsM``: a longer leaf, every market's requirement and PnL in the margin);
  order-only positions do not change;
* every **block**, twice (pre- and post-state): ``BlockStateRootM(M)``, each market's root in
  the chain; and one ``Settle`` per market (the untouched ones carry their price).

The templates are compiled at the production depths (D = 12, A = 16) for M = 1..4, and the
model "Block(M) = Block(1) + full positions x step delta + 2 x state-root delta + (M - 1)
Settle" is checked against the compiled test-size ``BlockM(4, 18, 4, 4, 2)``. Per-command
figures use the standard mix's positions per command and commands per block from
``bench/results_constraints.json`` (``bench.bench_constraints``). Run::

    PYTHONPATH=. python -m bench.bench_markets [--json bench/results_markets.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import emit
from bench.bench_constraints import CACHE, template_count
from proofs.circom import circuit_stats
from proofs.verify import PRODUCTION_SIZE, TEST_SIZE

ROOT = Path(__file__).resolve().parents[1]
P, T = PRODUCTION_SIZE, TEST_SIZE
MARKETS = (1, 2, 3, 4)
#: the test-size two-market block of tests/test_circuit_block_markets.py
TEST_BLOCK_M2 = ROOT / "tests" / "circuits" / "block_4x18r2_m3_mk2_test.circom"
TEST_BLOCK_M1 = ROOT / "tests" / "circuits" / "block_4x18r2_test.circom"


def _step(d: int, a: int, signed: int, m: int) -> int:
    """A full ``BlockStep`` of M markets."""
    main = f"BlockStep({d}, {a}, {signed}, 1, {m})"
    public = "{public [cfg, mark, r]}"
    return template_count(f"step{d}x{a}s{signed}m{m}", "block.circom", public, main)


def measure(mix: dict) -> dict:
    step = {m: _step(P.order_depth, P.account_depth, 1, m) for m in MARKETS}
    root = {
        m: template_count(f"state_root_m{m}", "block.circom", "", f"BlockStateRootM({m})")
        for m in MARKETS
    }
    settle = template_count("settle", "settle.circom", "", "Settle()")
    test_step = {m: _step(T.order_depth, T.account_depth, 0, m) for m in (1, 2)}
    # the additive model against the compiled two-market test block
    test1 = circuit_stats(TEST_BLOCK_M1, cache_dir=CACHE).constraints
    test2 = circuit_stats(TEST_BLOCK_M2, cache_dir=CACHE).constraints
    full_test = T.s // T.ratio
    model2 = test1 + full_test * (test_step[2] - test_step[1]) + 2 * (root[2] - root[1]) + settle

    full_positions = P.s // P.ratio
    per_command_full_positions = mix["positions_per_command"] / P.ratio
    cmds_cut = mix["commands_per_block_cut"]
    by_m = {}
    for m in MARKETS:
        per_position = step[m] - step[1]
        per_block = 2 * (root[m] - root[1]) + (m - 1) * settle
        block_delta = full_positions * per_position + per_block
        by_m[m] = {
            "full_step": step[m],
            "full_step_delta": per_position,
            "per_block_delta": per_block,
            "production_block": {
                sig: mix["production_block"][sig] + block_delta for sig in ("unsigned", "signed")
            },
            "per_command_full_use": {
                sig: mix["per_command_full_use"][sig]
                + per_command_full_positions * per_position
                + per_block / mix["commands_per_block"]
                for sig in ("unsigned", "signed")
            },
            "per_command_as_proved": {
                sig: (mix["production_block"][sig] + block_delta) / cmds_cut
                for sig in ("unsigned", "signed")
            },
        }
    return {
        "templates": {"state_root": root, "settle": settle, "test_step": test_step},
        "test_block": {"m1": test1, "m2": test2, "m2_model": model2},
        "production_size": [P.n, P.s, P.order_depth, P.account_depth],
        "markets": by_m,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mix", type=Path, default=ROOT / "bench" / "results_constraints.json")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    emit(measure(json.loads(args.mix.read_text())), args.json)


if __name__ == "__main__":
    main()
