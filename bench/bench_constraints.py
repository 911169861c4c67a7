"""Constraints per command of the block circuit on the standard workload mix.

Two figures, because a fixed-size circuit is paid in full whatever a block holds:

* **per command, at full use**: ``positions/command x mean position + CmdSlot + its link in
  the command chain``, where a position is a full ``BlockStep(D, A, 1, 1, 1)`` with its
  ``CmdLink`` or an order-only ``BlockStep(D, A, 1, 0, 1)`` in the production layout (R = 2:
  they alternate), from
  the compiled templates at the production depths (D = 12, A = 16, N = 20) and the witness
  builder's positions (fillers included) on the standard mix (seed 7, 100 accounts, 2,000
  resting, 6,000 commands after genesis, blocks of 64, no venue limits): the cost a perfectly
  filled circuit would have, and the figure earlier sessions reported. The same commands in
  the uniform layout (every step full, R = 1) are printed beside it.
* **per command, as proved**: the production ``Block(N, S, 12, 16, ·, 1, R)`` (N = 20 command
  slots by default and S = 44 positions, ``proofs.verify.PRODUCTION_SIZE``;
  ``--commands-per-block``; total derived from the same templates plus the per-block part
  measured on the test size) divided by the commands a block really holds when the venue
  cuts blocks by the circuit's positions (S, match limit 12, open-order cap 8; 400 accounts
  so the cap rarely binds). Two cuts of the same commands: the venue's, by the pre-execution
  bound (``proofs.steps.command_steps_before``: a block closes before a command that might
  not fit), and the earlier one by a reserve of ``worst_command_steps`` positions kept after
  every command, for comparison.

Templates are compiled once into ``.cache/circuits`` (a few seconds each). Run::

    PYTHONPATH=. python -m bench.bench_constraints [--commands 6000]
        [--commands-per-block 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
from collections import Counter
from pathlib import Path

from matching import BlockBuilder, ReferenceEngine
from proofs.circom import circuit_stats
from proofs.merkle import tier_levels
from proofs.state import PoseidonState
from proofs.steps import command_steps, command_steps_before, worst_command_steps
from proofs.verify import PRODUCTION_SIZE, TEST_SIZE
from proofs.witness import BlockParams, BlockProverState
from venue.workload import Workload

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "circuits"
WRAPPERS = CACHE / "bench_wrappers"
P = PRODUCTION_SIZE
D, A, N, S, RATIO = P.order_depth, P.account_depth, P.n, P.s, P.ratio
MATCHES, OPEN_ORDERS = 12, 8
#: CmdLink's fields: rank, accepted flag, the command's view (CV_COUNT = 8)
LINK_FIELDS = 10
#: the unsigned test size, whose compiled wrapper (tests/circuits) gives the per-block part
T = TEST_SIZE
TEST_BLOCK = f"block_{T.n}x{T.s}r{T.ratio}"

_TEMPLATES = {
    "step": ("block.circom", "{public [cfg, mark, r]}", f"BlockStep({D}, {A}, 1, 1, 1)"),
    "step_order": ("block.circom", "{public [cfg, mark, r]}", f"BlockStep({D}, {A}, 1, 0, 1)"),
    "slot_unsigned": (
        "cmdslot.circom",
        "{public [cfg, mark, firstSeq, index, prevTs]}",
        "CmdSlot(0)",
    ),
    "slot_signed": (
        "cmdslot.circom",
        "{public [cfg, mark, firstSeq, index, prevTs]}",
        "CmdSlot(1)",
    ),
    "test_step": (
        "block.circom", "{public [cfg, mark, r]}",
        f"BlockStep({T.order_depth}, {T.account_depth}, 0, 1, 1)",
    ),
    "test_step_order": (
        "block.circom", "{public [cfg, mark, r]}",
        f"BlockStep({T.order_depth}, {T.account_depth}, 0, 0, 1)",
    ),
    "test_link": ("cmdlink.circom", "{public [begin]}", f"CmdLink({T.n}, {LINK_FIELDS})"),
    # the trees' tiers hashed to their roots (twice per block and tree): the only part of the
    # per-block work that depends on the depths (merkle.circom "Tiers")
    **{
        f"{size}tier_root_{tree}": (
            "merkle.circom", "{public [tier]}", f"TierRoot({tier_levels(d)})"
        )
        for size, dd, aa in (("", D, A), ("test_", T.order_depth, T.account_depth))
        for tree, d in (("d", dd), ("a", aa))
    },
}


def template_count(name: str, file: str, public: str, main: str) -> int:
    """Constraints of ``component main {public} = {main}`` over ``proofs/circuits/{file}``,
    through a wrapper named ``name`` in the cache (compiled once)."""
    WRAPPERS.mkdir(parents=True, exist_ok=True)
    inc = ROOT / "proofs" / "circuits" / file
    path = WRAPPERS / f"{name}.circom"
    text = f'pragma circom 2.0.0;\ninclude "{inc}";\ncomponent main {public} = {main};\n'
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    print(f"  compiling {main} ...", file=sys.stderr, flush=True)
    return circuit_stats(path, cache_dir=CACHE).constraints


def template_counts(n: int = N) -> dict[str, int]:
    """Constraints of each template above, and of ``CmdLink(n, 10)`` as ``link`` (compiled
    once, cached; each n under its own name, so sizes do not recompile each other)."""
    out = {}
    link = {f"link{n}": ("cmdlink.circom", "{public [begin]}", f"CmdLink({n}, {LINK_FIELDS})")}
    for name, (file, public, main) in {**_TEMPLATES, **link}.items():
        out[name] = template_count(name, file, public, main)
    for name in (TEST_BLOCK, "command_chain16"):
        wrapper = ROOT / "tests" / "circuits" / f"{name}_test.circom"
        out[name] = circuit_stats(wrapper, cache_dir=CACHE).constraints
    out["link"] = out.pop(f"link{n}")
    # a slot's link in the command chain (one Poseidon(2) and its flags), from CommandChain(16)
    out["chain"] = round(out["command_chain16"] / 16)
    return out


def _run(
    workload: Workload,
    commands: int,
    engine_limits: dict[str, int],
    *,
    bound: bool = False,
    **budget: int,
):
    """Workload blocks and their witnesses; ``bound``: cut by the pre-execution step bound
    of this run's own engine (as ``venue.node`` does)."""
    market = workload.markets[0]
    engine = ReferenceEngine(
        workload.markets, max_accounts=1 << A, max_resting_per_side=(1 << D) - 64,
        **engine_limits,
    )  # fmt: skip
    com = PoseidonState(workload.markets, account_depth=A, order_depth=D)
    step_bound = (
        functools.partial(command_steps_before, engine=engine, ratio=RATIO) if bound else None
    )
    builder = BlockBuilder(
        engine, com, max_interval_ns=1 << 62, step_bound=step_bound, **budget
    )  # type: ignore[arg-type]
    genesis = workload.genesis()
    blocks = builder.submit_many(genesis)
    blocks.append(builder.seal())
    state = BlockProverState(market, order_depth=D, account_depth=A)
    wide = BlockParams(64, 64 * 8, D, A, market, ratio=RATIO)
    for b in blocks:  # genesis: accounts and deposits, not part of the mix
        state.advance(b, wide)
    out = []
    cmds = list(workload.commands(commands))
    for i in range(0, len(cmds), 500):
        new = builder.submit_many(cmds[i : i + 500])
        for b in new:
            out.append((b, state.advance(b, wide)))
        print(f"  {min(i + 500, len(cmds))}/{len(cmds)} commands", file=sys.stderr, flush=True)
    last = builder.seal()
    if last is not None:
        out.append((last, state.advance(last, wide)))
    return out


def measure(commands: int, slots: int = N) -> dict[str, object]:
    """All figures for ``commands`` workload commands and blocks of ``slots`` command slots."""
    t = template_counts(slots)
    link_cost = t["link"]
    # a position's mean cost in the layout (1 full in RATIO; only full steps begin commands,
    # so only they link to a slot), and a full step's
    full_cost = t["step"] + link_cost
    position_cost = (full_cost + (RATIO - 1) * t["step_order"]) / RATIO
    # per-block part (tier roots, state roots, Settle, BlockMeta, chain links, last-ts check),
    # measured on the test size (proofs.verify.TEST_SIZE): what is left of its Block without
    # steps, links and slots
    slot = {sig: t[f"slot_{sig}"] + t["chain"] for sig in ("unsigned", "signed")}
    full_steps = T.s // T.ratio
    test_steps = full_steps * (t["test_step"] + t["test_link"]) + (
        (T.s - full_steps) * t["test_step_order"]
    )
    # its tiers' hashing at the test depths replaced by the production depths'
    tiers = {
        size: 2 * (2 * t[f"{size}tier_root_d"] + t[f"{size}tier_root_a"]) for size in ("", "test_")
    }
    per_block = t[TEST_BLOCK] - test_steps - T.n * slot["unsigned"] - tiers["test_"] + tiers[""]

    # 1. full use: steps per command on the standard mix, no venue limits
    mix = _run(Workload(7, accounts=100, target_resting=2_000), commands, {}, max_commands=64)
    kinds: Counter[str] = Counter()
    steps = cmds = uniform = 0
    for _, w in mix:
        for k, used in zip(w.command_kinds, w.steps_per_command, strict=True):
            kinds["+".join(k)] += 1
            steps += used
            uniform += len(k)  # the same command's steps without fillers: R = 1
            cmds += 1
    spc = steps / cmds
    full = {sig: spc * position_cost + slot[sig] for sig in slot}
    full_uniform = {sig: uniform / cmds * full_cost + slot[sig] for sig in slot}

    # 2. as proved: blocks cut by the production circuit's step budget and venue limits,
    # by the pre-execution bound (the venue's rule) and, for comparison, by the reserve of
    # the worst command kept after each one (the rule before it)
    block_total = {
        sig: round(S * position_cost) + slots * slot[sig] + per_block
        for sig in ("unsigned", "signed")
    }
    limits = {"max_matches": MATCHES, "max_open_orders": OPEN_ORDERS}
    reserve = worst_command_steps(MATCHES, OPEN_ORDERS, ratio=RATIO)
    cost = functools.partial(command_steps, ratio=RATIO)
    cut_by = {}
    for rule, rule_budget in (
        ("bound", {"bound": True}),
        ("reserve", {"step_reserve": reserve}),
    ):
        cut = _run(
            Workload(7, accounts=400, target_resting=2_000), commands, limits,
            max_commands=slots, max_steps=S, step_cost=cost, **rule_budget,
        )  # type: ignore[arg-type]  # fmt: skip
        used_steps = [sum(w.steps_per_command) for _, w in cut if w.steps_per_command]
        assert max(used_steps) <= S, "a block outgrew the circuit"
        mean_cmds = statistics.fmean(len(b.commands) for b, _ in cut if b.commands)
        cut_by[rule] = {
            "commands_per_block_cut": mean_cmds,
            "steps_used_per_block_cut": statistics.fmean(used_steps),
            "per_command_as_proved": {sig: block_total[sig] / mean_cmds for sig in block_total},
        }
    return {
        "templates": t,
        "per_block_part": per_block,
        "layout_ratio": RATIO,
        "positions_per_command": spc,
        "steps_per_command_uniform": uniform / cmds,
        "commands": cmds,
        "kinds": dict(kinds.most_common()),
        "per_command_full_use": full,
        "per_command_full_use_uniform": full_uniform,
        "commands_per_block": slots,
        "production_block": block_total,
        # the venue's cut (the pre-execution bound) ...
        **cut_by["bound"],
        # ... and the reserve-based cut it replaced
        "step_reserve": reserve,
        "reserve_cut": cut_by["reserve"],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--commands", type=int, default=6_000)
    ap.add_argument(
        "--commands-per-block", type=int, default=N, metavar="N",
        help=f"command slots of the production block circuit (default {N})",
    )  # fmt: skip
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    n = args.commands_per_block
    if not 1 <= n <= S:
        ap.error(f"--commands-per-block must be in 1..{S} (a step per command at least)")
    r = measure(args.commands, n)
    t = r["templates"]
    print(f"BlockStep({D}, {A}) full / order-only {t['step']:>7,} / {t['step_order']:,}")
    print(f"CmdLink({n}, {LINK_FIELDS})             {t['link']:>9,}")
    print(f"CmdSlot unsigned / signed    {t['slot_unsigned']:>9,} / {t['slot_signed']:,}"
          f"  (+ {t['chain']} chain link)")  # fmt: skip
    print(f"per-block part               {r['per_block_part']:>9,}")
    print(f"positions per command (R={RATIO})  {r['positions_per_command']:>6.3f}"
          f"  ({r['commands']} cmds; {r['steps_per_command_uniform']:.3f} steps at R=1)")
    for sig in ("unsigned", "signed"):
        print(f"per command, full use, {sig:8} {r['per_command_full_use'][sig]:>9,.0f}"
              f"  (R=1: {r['per_command_full_use_uniform'][sig]:,.0f})")
    for sig in ("unsigned", "signed"):
        print(f"Block({n}, {S}, {D}, {A}) {sig:8}  {r['production_block'][sig]:>9,}")
    for label, c in (
        ("cut by the step bound", r),
        (f"cut by a reserve of {r['step_reserve']} (before)", r["reserve_cut"]),
    ):
        print(f"{label}:")
        print(f"  commands per block (cut)   {c['commands_per_block_cut']:>9.2f}"
              f"  (steps used {c['steps_used_per_block_cut']:.1f} of {S})")  # fmt: skip
        for sig in ("unsigned", "signed"):
            print(f"  per command, as proved, {sig:8} {c['per_command_as_proved'][sig]:>6,.0f}")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
