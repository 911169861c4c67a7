"""``provenbook``: the command line of the venue.

provenbook demo [--commands N] [--data DIR]   run everything that exists end to end
provenbook replay DIR [--engine E] [--from-snapshot]
                                             re-execute and check a venue's blocks
provenbook run DIR [--commands N] [--seed S] feed a seeded workload into a venue
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from matching import CEngine

from .node import Genesis, NodeError, VenueNode
from .replay import ReplayReport, replay
from .workload import Workload

__all__ = ["main"]

console = Console()


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def run_workload(
    data: Path, commands: int, seed: int, batch: int = 32, engine: str = "auto"
) -> VenueNode:
    """Feed a seeded workload into the venue at ``data`` in group-committed batches."""
    w = Workload(seed, accounts=200, target_resting=2_000)
    genesis = Genesis(w.markets, account_depth=10, order_depth=12)
    node = VenueNode(data, genesis, engine=engine, snapshot_every=50, clock=_SimClock(w))
    cmds = w.genesis() + list(w.commands(commands))
    with _progress() as p:
        task = p.add_task("sequencing", total=len(cmds))
        for i in range(0, len(cmds), batch):
            node.submit(cmds[i : i + batch])
            p.advance(task, min(batch, len(cmds) - i))
    node.seal()
    return node


class _SimClock:
    """The workload's own timestamps stand in for the wall clock, so demo runs repeat."""

    def __init__(self, w: Workload) -> None:
        self.w = w
        self.t = w.ts

    def __call__(self) -> int:
        self.t += 5_000_000
        return self.t


def _replay_with_progress(data: Path, engine: str, from_snapshot: bool) -> ReplayReport:
    with _progress() as p:
        task = p.add_task(f"replay ({engine})", total=None)

        def tick(done: int, total: int) -> None:
            p.update(task, completed=done, total=total)

        return replay(data, engine=engine, from_snapshot=from_snapshot, progress=tick)


def _report_table(reports: Sequence[ReplayReport]) -> Table:
    t = Table(title="replay")
    for col in ("engine", "from", "blocks", "commands", "trades", "cmds/s", "last root", "result"):
        t.add_column(col)
    for r in reports:
        rate = r.commands / r.seconds if r.seconds else 0
        result = (
            "[green]identical[/]"
            if r.ok
            else f"[red]differs at block {r.mismatch.height}: {r.mismatch.field}[/]"
        )
        t.add_row(
            r.engine,
            str(r.start_height),
            str(r.blocks),
            str(r.commands),
            str(r.trades),
            f"{rate:,.0f}",
            f"{r.last_root:#x}"[:18] + "…",
            result,
        )
    return t


def _sparkline(values: Sequence[int], width: int = 60) -> str:
    if not values:
        return ""
    step = max(1, len(values) // width)
    pts = values[::step][:width]
    lo, hi = min(pts), max(pts)
    bars = "▁▂▃▄▅▆▇█"
    return "".join(bars[(v - lo) * 7 // (hi - lo) if hi > lo else 3] for v in pts)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import trade_over_gateway

    tmp = None
    data = Path(args.data) if args.data else Path(tmp := tempfile.mkdtemp(prefix="provenbook-"))
    if args.data and data.exists():
        shutil.rmtree(data)
    try:
        console.rule("[bold]ProvenBook demo")
        console.print(f"venue data directory: {data}")
        engine = "cython" if CEngine is not None else "reference"

        console.rule("1. traders on the FIX-over-WebSocket gateway (127.0.0.1)")
        with _progress() as p:
            task = p.add_task("trading rounds", total=args.rounds)
            res = trade_over_gateway(
                data,
                traders=args.traders,
                rounds=args.rounds,
                seed=args.seed,
                tick=lambda: p.advance(task),
            )
        console.print(
            f"{args.traders} traders (FIX JSON and tag=value, EdDSA-Poseidon logon) sent "
            f"{res.orders} orders, cancels and replaces: {res.fills} fill reports, "
            f"{res.rejects} rejects"
        )
        console.print(f"finality of their orders as the traders see it: {res.finality}")

        console.rule("2. blocks: settlement price = VWAP of each block's fills")
        t = Table()
        for col in ("height", "commands", "trades", "volume", "price", "carried", "post root"):
            t.add_column(col)
        for b in res.blocks[-8:]:
            s = b.header.markets[0]
            t.add_row(
                str(b.header.height),
                str(b.header.command_count),
                str(s.trade_count),
                str(s.volume),
                str(s.price),
                "yes" if s.carried else "",
                f"{b.header.post_state_root:#x}"[:14] + "…",
            )
        console.print(f"{res.height} blocks sealed; the last ones:")
        console.print(t)
        prices = [b.header.markets[0].price for b in res.blocks]
        console.print(
            f"settlement price per block {min(prices)}…{max(prices)}  {_sparkline(prices)}"
        )

        console.rule("3. restart from disk (snapshot + blocks + journal)")
        again = VenueNode(data, engine=engine)
        same = again.height == res.height and again.commitment.root == res.root
        console.print(
            f"restarted at block {again.height}: "
            + ("[green]same state root[/]" if same else "[red]DIFFERENT state root[/]")
        )
        again.close()

        console.rule("4. independent replay of every block")
        reports = [_replay_with_progress(data, "reference", False)]
        if CEngine is not None:
            reports.append(_replay_with_progress(data, "cython", False))
        console.print(_report_table(reports))
        ok = same and all(r.ok and r.last_root == res.root for r in reports) and res.fills > 0
        console.print("[bold green]demo OK[/]" if ok else "[bold red]demo FAILED[/]")
        return 0 if ok else 1
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def cmd_replay(args: argparse.Namespace) -> int:
    try:
        report = _replay_with_progress(Path(args.data), args.engine, args.from_snapshot)
    except NodeError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    console.print(_report_table([report]))
    if report.mismatch is not None:
        m = report.mismatch
        console.print(
            f"[red]block {m.height}: {m.field}[/]\n  stored:     {m.expected}\n"
            f"  recomputed: {m.actual}"
        )
        return 1
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    node = run_workload(Path(args.data), args.commands, args.seed)
    console.print(f"{node.height} blocks, state root {node.commitment.root:#x}")
    node.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="provenbook", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="run the end-to-end demo")
    d.add_argument("--traders", type=int, default=6)
    d.add_argument("--rounds", type=int, default=60)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--data", help="keep the venue's data here (default: a temporary dir)")
    d.set_defaults(func=cmd_demo)
    r = sub.add_parser("replay", help="re-execute and check a venue's blocks")
    r.add_argument("data")
    r.add_argument("--engine", choices=("reference", "cython", "auto"), default="reference")
    r.add_argument("--from-snapshot", action="store_true")
    r.set_defaults(func=cmd_replay)
    w = sub.add_parser("run", help="feed a seeded workload into a venue data directory")
    w.add_argument("data")
    w.add_argument("--commands", type=int, default=10_000)
    w.add_argument("--seed", type=int, default=1)
    w.set_defaults(func=cmd_run)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
