"""Constraints per command of the block circuit on the standard workload mix.

Two figures, because a fixed-size circuit is paid in full whatever a block holds:

* **per command, at full use**: ``steps/command x (BlockStep + CmdLink) + CmdSlot + its link
  in the command chain``, from the
  compiled templates at the production depths (D = 12, A = 16, N = 16) and the witness
  builder's step counts on the standard mix (seed 7, 100 accounts, 2,000 resting, 6,000
  commands after genesis, blocks of 64, no venue limits): the cost a perfectly filled circuit
  would have, and the figure earlier sessions reported.
* **per command, as proved**: the production ``Block(16, 48, 12, 16)`` (total derived from
  the same templates plus the per-block part measured on the test size) divided by the
  commands a block really holds when the venue cuts blocks by the circuit's step budget
  (48 steps, reserve 18, match limit 12, open-order cap 8; 400 accounts so the cap rarely
  binds).

Templates are compiled once into ``.cache/circuits`` (a few seconds each). Run::

    PYTHONPATH=. python -m bench.bench_constraints [--commands 6000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from pathlib import Path

from matching import BlockBuilder, ReferenceEngine
from proofs.circom import circuit_stats
from proofs.state import PoseidonState
from proofs.steps import command_steps, worst_command_steps
from proofs.witness import BlockParams, BlockProverState
from venue.workload import Workload

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "circuits"
WRAPPERS = CACHE / "bench_wrappers"
D, A, N, S = 12, 16, 16, 48
MATCHES, OPEN_ORDERS = 12, 8

_TEMPLATES = {
    "step": ("block.circom", "{public [cfg, mark, firstSeq, r]}", f"BlockStep({D}, {A}, 1)"),
    "link": ("cmdlink.circom", "{public [index, begin]}", f"CmdLink({N}, 7)"),
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
    "test_step": ("block.circom", "{public [cfg, mark, firstSeq, r]}", "BlockStep(4, 4, 1)"),
    "test_link": ("cmdlink.circom", "{public [index, begin]}", "CmdLink(4, 7)"),
}


def template_counts() -> dict[str, int]:
    """Constraints of each template above (compiled once, cached)."""
    WRAPPERS.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (file, public, main) in _TEMPLATES.items():
        inc = ROOT / "proofs" / "circuits" / file
        path = WRAPPERS / f"{name}.circom"
        text = f'pragma circom 2.0.0;\ninclude "{inc}";\ncomponent main {public} = {main};\n'
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        print(f"  compiling {main} ...", file=sys.stderr, flush=True)
        out[name] = circuit_stats(path, cache_dir=CACHE).constraints
    for name in ("block_4x12", "command_chain16"):
        wrapper = ROOT / "tests" / "circuits" / f"{name}_test.circom"
        out[name] = circuit_stats(wrapper, cache_dir=CACHE).constraints
    # a slot's link in the command chain (one Poseidon(2) and its flags), from CommandChain(16)
    out["chain"] = round(out["command_chain16"] / 16)
    return out


def _run(workload: Workload, commands: int, engine_limits: dict[str, int], **budget: int):
    market = workload.markets[0]
    engine = ReferenceEngine(
        workload.markets, max_accounts=1 << A, max_resting_per_side=(1 << D) - 64,
        **engine_limits,
    )  # fmt: skip
    com = PoseidonState(workload.markets, account_depth=A, order_depth=D)
    builder = BlockBuilder(engine, com, max_interval_ns=1 << 62, **budget)  # type: ignore[arg-type]
    genesis = workload.genesis()
    blocks = builder.submit_many(genesis)
    blocks.append(builder.seal())
    state = BlockProverState(market, order_depth=D, account_depth=A)
    for b in blocks:  # genesis: accounts and deposits, not part of the mix
        state.advance(b, BlockParams(64, 64 * 8, D, A, market))
    out = []
    cmds = list(workload.commands(commands))
    for i in range(0, len(cmds), 500):
        new = builder.submit_many(cmds[i : i + 500])
        for b in new:
            out.append((b, state.advance(b, BlockParams(64, 64 * 8, D, A, market))))
        print(f"  {min(i + 500, len(cmds))}/{len(cmds)} commands", file=sys.stderr, flush=True)
    last = builder.seal()
    if last is not None:
        out.append((last, state.advance(last, BlockParams(64, 64 * 8, D, A, market))))
    return out


def measure(commands: int) -> dict[str, object]:
    t = template_counts()
    link_cost = t["link"]
    step_cost = t["step"] + link_cost
    # per-block part (state roots, Settle, BlockMeta, chain links, last-ts check), measured on
    # the test size: what is left of Block(4, 12, 4, 4) without its steps, links and slots
    slot = {sig: t[f"slot_{sig}"] + t["chain"] for sig in ("unsigned", "signed")}
    per_block = t["block_4x12"] - 12 * (t["test_step"] + t["test_link"]) - 4 * slot["unsigned"]

    # 1. full use: steps per command on the standard mix, no venue limits
    mix = _run(Workload(7, accounts=100, target_resting=2_000), commands, {}, max_commands=64)
    kinds: Counter[str] = Counter()
    steps = cmds = 0
    for _, w in mix:
        for k, n in zip(w.command_kinds, w.steps_per_command, strict=True):
            kinds["+".join(k)] += 1
            steps += n
            cmds += 1
    spc = steps / cmds
    full = {sig: spc * step_cost + slot[sig] for sig in slot}

    # 2. as proved: blocks cut by the production circuit's step budget and venue limits
    reserve = worst_command_steps(MATCHES, OPEN_ORDERS)
    cut = _run(
        Workload(7, accounts=400, target_resting=2_000), commands,
        {"max_matches": MATCHES, "max_open_orders": OPEN_ORDERS},
        max_commands=N, max_steps=S, step_cost=command_steps, step_reserve=reserve,
    )  # fmt: skip
    per_block_cmds = [len(b.commands) for b, _ in cut if b.commands]
    used_steps = [sum(w.steps_per_command) for _, w in cut if w.steps_per_command]
    block_total = {
        sig: S * step_cost + N * slot[sig] + per_block for sig in ("unsigned", "signed")
    }
    mean_cmds = statistics.fmean(per_block_cmds)
    proved = {sig: block_total[sig] / mean_cmds for sig in block_total}
    return {
        "templates": t,
        "per_block_part": per_block,
        "steps_per_command": spc,
        "commands": cmds,
        "kinds": dict(kinds.most_common()),
        "per_command_full_use": full,
        "production_block": block_total,
        "commands_per_block_cut": mean_cmds,
        "steps_used_per_block_cut": statistics.fmean(used_steps),
        "per_command_as_proved": proved,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--commands", type=int, default=6_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    r = measure(args.commands)
    t = r["templates"]
    print(f"BlockStep({D}, {A})            {t['step']:>9,}")
    print(f"CmdLink({N}, 7)              {t['link']:>9,}")
    print(f"CmdSlot unsigned / signed    {t['slot_unsigned']:>9,} / {t['slot_signed']:,}"
          f"  (+ {t['chain']} chain link)")  # fmt: skip
    print(f"per-block part               {r['per_block_part']:>9,}")
    print(f"steps per command (mix)      {r['steps_per_command']:>9.3f}  ({r['commands']} cmds)")
    for sig in ("unsigned", "signed"):
        print(f"per command, full use, {sig:8} {r['per_command_full_use'][sig]:>9,.0f}")
    for sig in ("unsigned", "signed"):
        print(f"Block({N}, {S}, {D}, {A}) {sig:8}  {r['production_block'][sig]:>9,}")
    print(f"commands per block (cut)     {r['commands_per_block_cut']:>9.2f}"
          f"  (steps used {r['steps_used_per_block_cut']:.1f} of {S})")  # fmt: skip
    for sig in ("unsigned", "signed"):
        print(f"per command, as proved, {sig:8} {r['per_command_as_proved'][sig]:>8,.0f}")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
