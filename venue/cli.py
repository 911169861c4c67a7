"""``provenbook``: the command line of the venue.

provenbook demo [--commands N] [--data DIR]   run everything that exists end to end
provenbook replay DIR [--engine E] [--from-snapshot]
                                             re-execute and check a venue's blocks
provenbook run DIR [--commands N] [--seed S] feed a seeded workload into a venue
provenbook publish DIR [--chain C] [--deployment F]
                                             publish proven blocks on chain, read the feed
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from matching import CEngine

from .node import Genesis, NodeError, VenueNode, stored_genesis
from .replay import ReplayReport, replay
from .workload import Workload

if TYPE_CHECKING:
    from oracle.chain import Chain

    from .batches import BatchPublishReport
    from .demo import DemoResult
    from .margin import LiquidationReport

__all__ = ["main"]

# soft_wrap: messages are not broken at the console's width, so a path in an error stays whole
# (copyable, and greppable in a log); tables still fit the width.
console = Console(soft_wrap=True)
T = TypeVar("T")


# Labels of the proving stages that ``trade_over_gateway`` and ``prove_blocks`` report.
_STAGES = {
    "keys": "circuit keys (compile + setup once, then cached)",
    "prover key": "proving key loaded by the prover pool (once per pool)",
    "proving": "blocks proved",
}


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


def _replay_with_progress(
    data: Path, engine: str, from_snapshot: bool, proofs: bool = False
) -> ReplayReport:
    with _progress() as p:
        task = p.add_task(f"replay ({engine})", total=None)

        def tick(done: int, total: int) -> None:
            p.update(task, completed=done, total=total)

        return replay(
            data, engine=engine, from_snapshot=from_snapshot, proofs=proofs, progress=tick
        )


def _report_table(reports: Sequence[ReplayReport]) -> Table:
    t = Table(title="replay")
    cols = ("engine", "from", "blocks", "commands", "trades", "proofs ok", "cmds/s", "last root")
    for col in (*cols, "result"):
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
            str(r.proofs_verified)
            + (f" + {r.batches_verified} batch" if r.batches_verified else ""),
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
    from oracle.chain import open_chain

    from .demo import trade_over_gateway

    tmp = None
    data = Path(args.data) if args.data else Path(tmp := tempfile.mkdtemp(prefix="provenbook-"))
    if args.data and data.exists():
        shutil.rmtree(data)
    chain = None
    try:
        console.rule("[bold]ProvenBook demo")
        console.print(f"venue data directory: {data}")
        engine = "cython" if CEngine is not None else "reference"
        if args.chain != "none" and args.prove != 0:
            chain = open_chain(args.chain)
            where = chain.url or "the in-process EVM (eth-tester on py-evm)"
            console.print(f"chain: {chain.kind}, {where}")

        console.rule("1. traders send signed orders to the FIX gateway; every block proved live")
        with _progress() as p:
            task = p.add_task("trading rounds", total=args.rounds)
            stages: dict[str, object] = {}

            def stage(what: str, done: int, total: int) -> None:
                label = _STAGES.get(what, what)
                if what not in stages:
                    stages[what] = p.add_task(label, total=total)
                p.update(stages[what], completed=done, total=total)  # type: ignore[arg-type]

            res = trade_over_gateway(
                data,
                traders=args.traders,
                rounds=args.rounds,
                seed=args.seed,
                tick=lambda: p.advance(task),
                prove=args.prove,
                workers=args.workers,
                progress=stage,
                chain=chain,
            )
        console.print(
            f"{args.traders} traders (FIX JSON and tag=value, EdDSA-Poseidon logon) sent "
            f"{res.orders} orders, cancels and replaces: {res.fills} fill reports, "
            f"{res.rejects} rejects"
        )
        if res.ack_ms:
            a = res.ack_ms
            console.print(
                f"ack latency seen by the traders, request sent -> first report over "
                f"{len(a)} requests: p50 {a[len(a) // 2]:.2f} ms, "
                f"p99 {a[min(len(a) - 1, len(a) * 99 // 100)]:.2f} ms, max {a[-1]:.2f} ms "
                "(here the traders share one event loop with the gateway and sign each order "
                "in Python, ~1 ms, so it counts their own work; the gateway's own figures are "
                "in bench/RESULTS.md)"
            )
        console.print(f"finality of their orders as the traders see it: {res.finality}")
        if res.proven_prices:
            console.print(f"proven prices (U3) each trader received: {res.proven_prices}")

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

        console.rule("3. validity proofs, made live by the prover pool (Groth16, BN254)")
        proven: list[tuple[int, bool]] = []
        if args.prove != 0:
            from .proving import verify_stored

            _print_live(res, args.workers)
            proven = verify_stored(data)
            good = sum(ok for _, ok in proven)
            console.print(
                f"{good}/{len(proven)} stored proofs verify against their block headers "
                "(public: pre/post state root, command commitment, settlement price, TWAP)"
            )

        console.rule("4. restart from disk (snapshot + blocks + journal)")
        again = VenueNode(data, engine=engine)
        same = again.height == res.height and again.commitment.root == res.root
        console.print(
            f"restarted at block {again.height}: "
            + ("[green]same state root[/]" if same else "[red]DIFFERENT state root[/]")
        )
        again.close()

        console.rule("5. independent replay of every block, checking every stored proof")
        reports = [_replay_with_progress(data, "reference", False, args.prove != 0)]
        if CEngine is not None:
            reports.append(_replay_with_progress(data, "cython", False, args.prove != 0))
        console.print(_report_table(reports))
        wanted = res.height if args.prove is None else min(args.prove, res.height)
        proofs_ok = all(ok for _, ok in proven) and len(proven) >= wanted and not res.halted
        chain_ok = True
        if chain is not None:
            console.rule("6. on chain: proven blocks published, the price feed read back")
            chain_ok = _print_chain(res, chain)
            console.rule("7. margin against proven state: a margin call, then the liquidation")
            chain_ok = _print_margin(res, chain, data) and chain_ok
        markets_ok = True
        if args.prove != 0:
            console.rule("8. two markets: a block per market's book, proved, a price feed each")
            markets_ok = _print_markets(data / "two-markets", chain, args.workers)
        optimistic_ok = True
        if chain is not None and res.option is not None:  # every block proven and on chain
            console.rule("9. optimistic mode: proposed without proofs, a wrong one refuted")
            optimistic_ok = _print_optimistic(data, chain, res.proven)
        ok = (
            same
            and proofs_ok
            and chain_ok
            and markets_ok
            and optimistic_ok
            and all(r.ok and r.last_root == res.root for r in reports)
            and res.fills > 0
        )
        on_chain = res.chain.published_height if res.chain is not None else 0
        page = data / "dashboard.html"
        shown = write_dashboard(data, page, on_chain_height=on_chain)
        where = str(page) if args.data else "kept with --data DIR"
        console.print(f"the last {shown} blocks as a page (prices, finality): {where}")
        if res.fills == 0:
            console.print("[red]no order traded: run more --rounds or --traders[/]")
        console.print("[bold green]demo OK[/]" if ok else "[bold red]demo FAILED[/]")
        return 0 if ok else 1
    finally:
        if chain is not None:
            chain.close()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _print_markets(data: Path, chain: Chain | None, workers: int) -> bool:
    """The demo's stage for a venue of several markets (``venue.demo_markets``)."""
    from .demo_markets import several_markets

    with _progress() as p:
        tasks: dict[str, object] = {}

        def stage(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = p.add_task(_STAGES.get(what, what), total=total)
            p.update(tasks[what], completed=done, total=total)  # type: ignore[arg-type]

        r = several_markets(data, chain, workers=workers, progress=stage)
    t = Table()
    for col in ("height", "book changed", "commands", "PB1-PERP", "PB2-PERP"):
        t.add_column(col)
    for b, touched in zip(r.blocks, r.touched, strict=True):
        prices = [f"{m.price}{'' if m.carried else ' traded'}" for m in b.header.markets]
        market = "none" if touched is None else f"market {touched}"
        t.add_row(str(b.header.height), market, str(b.header.command_count), *prices)
    console.print(t)
    cancels = ", ".join(f"market {m}" for _, m in r.mass_cancels)
    console.print(
        f"each block changed at most one market's book; one OrderMassCancelRequest went in as one "
        f"mass cancel per market ({cancels}); {r.proven}/{len(r.blocks)} blocks proved with the "
        f"two-market circuit, {r.verified} verify from their headers"
    )
    if r.on_chain:
        answers = ", ".join(f"market {m}: {got}" for m, (got, _) in sorted(r.feeds.items()))
        console.print(
            f"{r.published} blocks published (MarketCommitments); each market's feed answers "
            f"its own last proven price: {answers}"
        )
    return r.ok


def _print_optimistic(data: Path, chain: Chain, last: int) -> bool:
    """The demo's stage for optimistic mode (``venue.demo_optimistic``)."""
    import statistics

    from .demo_optimistic import optimistic_stage

    with console.status("proposing, watching, finalizing"):
        r = optimistic_stage(data, chain, last)
    gas = statistics.median(r.propose_gas) if r.propose_gas else 0
    console.print(
        f"OptimisticCommitments {r.commitments}, operator bond {r.bond} wei, challenge window "
        f"{r.window} s: blocks 1..{r.forged - 1} proposed without proofs (gas p50 {gas:,.0f} "
        f"per block, pending at once), block {r.forged} proposed at {r.forged_price}, one tick "
        f"above its settlement price {r.price}"
    )
    for h, reward in r.watch.challenged:
        console.print(
            f"a watcher replayed the venue: {len(r.watch.honest)} proposals are its blocks, "
            f"block {h} is not; refuted with the block's stored proof, the proven block put in "
            f"its place, the watcher credited {reward} wei of the operator's bond"
        )
    for h, why in r.watch.alarms:
        console.print(f"[red]ALARM block {h}[/]: {why}")
    console.print(
        f"after the window (the chain's clock moved on): blocks "
        f"{r.finalized[0] if r.finalized else '-'}..{r.finalized[-1] if r.finalized else '-'} "
        f"final; the optimistic feed's latestRoundData(): round {r.feed[0]}, answer {r.feed[1]}"
        + ("" if r.ok else "  [red](not what was expected)[/]")
    )
    return r.ok


def _print_chain(res: DemoResult, chain: Chain) -> bool:
    """What the chain holds after the demo; True iff every proven block landed and the feed
    answers with the last one's proven price."""
    import statistics

    from oracle.feed import PriceFeed

    pub = res.chain
    if pub is None or pub.publisher is None:
        console.print("[red]nothing was published[/]")
        return False
    d = pub.publisher.deployment
    console.print(
        f"contracts: BlockVerifier {d.verifier}, StateCommitments {d.commitments}, "
        f"ProvenPriceFeed {d.feed}"
    )
    gas = [b.gas_used for b in pub.published]
    if gas:
        txs = len({b.tx_hash for b in pub.published})
        console.print(
            f"{len(gas)} blocks published in order in {txs} transactions (each block: pre-state "
            "root = last post-state root, its Groth16 proof verified on chain; the blocks proven "
            f"while one transaction was out go in the next), gas per block p50 "
            f"{statistics.median(gas):,.0f}"
        )
    if pub.halted is not None:
        console.print(f"[red]publishing halted at block {pub.halted[0]}: {pub.halted[1]}[/]")
    feed = PriceFeed(chain, d.feed)
    last = feed.latest_round()
    want = next(b for b in res.blocks if b.header.height == last.round_id).header
    console.print(
        f"{feed.description()}: latestRoundData() = (roundId {last.round_id}, answer "
        f"{last.answer}, startedAt {last.started_at}, updatedAt {last.updated_at}, "
        f"answeredInRound {last.answered_in_round}); block {want.height}'s proven price is "
        f"{want.markets[0].price}"
    )
    ok = (
        pub.halted is None
        and pub.published_height == res.proven
        and last.round_id == res.proven
        and last.answer == want.markets[0].price
    )
    o = res.option
    if o is not None:
        at = next(b for b in res.blocks if b.header.height == o.height).header.markets[0].price
        per = max(0, min(o.price, o.cap) - o.strike) * o.multiplier
        console.print(
            f"European call (series {o.series_id}, strike {o.strike}, cap {o.cap}, expiry "
            f"{o.expiry}): {o.written} written for {o.collateral:,} tUSD units of collateral, "
            f"{o.held} held by a second account; settled on chain at {o.price}, block "
            f"{o.height}'s proven price (final once a later block was proven); holder paid "
            f"{o.holder_paid:,}, writer paid back {o.writer_paid:,}"
        )
        ok = ok and (
            o.price == at
            and o.holder_paid == o.held * per
            and o.holder_paid + o.writer_paid == o.collateral
        )
    return ok


def _liquidation_table(rep: LiquidationReport) -> Table:
    """Every account the keeper checked: equity, maintenance, what it did."""
    t = Table("account", "equity", "maintenance", "liquidation")
    for account, f in rep.figures.items():
        what = "healthy"
        if account in rep.triggered:
            what = "[red]triggered[/]"
        elif account in rep.overdue:
            what = "[red]overdue: reported[/]"
        elif account in rep.cleared:
            what = "cleared"
        elif account in rep.already:
            what = "already triggered"
        t.add_row(str(account), f"{f.equity:,}", f"{f.maintenance:,}", what)
    return t


def _print_margin(res: DemoResult, chain: Chain, data: Path) -> bool:
    """The margin call's outcome: every account's margin at the latest proven block, the
    liquidation the keeper triggered, and a tampered opening refused; True iff exactly the
    account under maintenance was triggered and the chain agrees with Python on it."""
    import msgspec

    from oracle.margin import Margin
    from oracle.reverts import ContractRevert

    from .margin import open_account

    rep, who = res.liquidation, res.margin_account
    if rep is None:  # like the option, it runs only when every block is proved
        console.print("no margin call: it needs every block proven (--prove without a count)")
        return res.option is None
    console.print(
        f"account {who} bought 10 lots on exactly its initial margin, then the market traded "
        f"6% lower; the keeper opened every account against block {rep.height}'s proven state "
        f"root and ProvenMargin {rep.margin} checked each one with Poseidon on chain:"
    )
    console.print(_liquidation_table(rep))
    margin = Margin(chain, rep.margin)
    opening = open_account(data, who, height=rep.height)
    figures = margin.margin_of(opening)
    ok = list(rep.triggered) == [who] and figures == rep.figures[who] and figures.liquidatable
    console.print(
        f"liquidation of account {who} recorded on chain in {rep.triggered.get(who)}; "
        f"{margin.gas_of(opening):,} gas per check"
    )
    try:
        margin.verify(msgspec.structs.replace(opening, collateral=opening.collateral + 10**6))
        ok = False
        console.print("[red]a tampered opening was accepted[/]")
    except ContractRevert as exc:
        console.print(f"the same account claiming 1,000,000 more collateral: refused ({exc.name})")
    h = res.liquidated_height
    if not h:
        console.print("[red]the venue did not liquidate the account[/]")
        return False
    after = open_account(data, who, height=h)
    now = margin.margin_of(after)  # checked on chain against block h's proven root
    position = after.positions[0][0]
    console.print(
        f"the venue then liquidated account {who}: its liquidation order (unsigned, accepted "
        f"only under maintenance margin, a rule the block proof checks) sold "
        f"{res.liquidated_qty} lots in block {h}, proven and on chain; ProvenMargin at block "
        f"{h}: position {position}, equity {now.equity:,}, maintenance {now.maintenance:,}"
    )
    again = res.after_liquidation
    cleared = again is not None and who in again.cleared and margin.liquidation_height(who) == 0
    console.print(
        f"the keeper at block {h}: account {who}'s trigger "
        + ("cleared on chain (proven above maintenance)" if cleared else "[red]not cleared[/]")
        + f"; liquidations reported overdue: {margin.overdue_count()}"
    )
    return ok and cleared and position == 0 and res.liquidated_qty == 10 and not now.liquidatable


def _until_interrupted(run: Callable[[threading.Event], T], name: str) -> T:
    """``run(stop)`` in a thread until it returns; Ctrl-C sets ``stop`` and waits for it, so
    the interrupt only ends the loop and its result is still returned (or its error raised).
    """
    stop = threading.Event()
    out: list[T | BaseException] = []
    done = threading.Event()

    def worker() -> None:
        try:
            out.append(run(stop))
        except BaseException as exc:  # handed to the main thread
            out.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=worker, name=name)
    # The thread starts inside the try: a Ctrl-C that lands while start() is still returning
    # (the worker may print, and be interrupted for it, before this thread runs again) must
    # stop the worker too, or the interpreter waits for it at exit forever. (An Event, not
    # Thread.join: on 3.11 a join interrupted by Ctrl-C can return at once later, before the
    # thread has finished.)
    try:
        thread.start()
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        if thread.ident is None:  # interrupted before the thread existed: nothing to stop
            raise
        stop.set()
        done.wait()
    thread.join()
    (result,) = out
    if isinstance(result, BaseException):
        raise result
    return result


def _follow(data: Path, args: argparse.Namespace) -> ReplayReport:
    """``replay --follow``: a live verifier until Ctrl-C."""

    def seen(height: int, state: object) -> None:
        root = f"{state.root:#x}"[:14]  # type: ignore[attr-defined]
        console.print(f"block {height}: re-executed, identical (state root {root}…)")

    console.print(f"following {data} (Ctrl-C to stop)")
    return _until_interrupted(
        lambda stop: replay(
            data, engine=args.engine, from_snapshot=args.from_snapshot, proofs=args.proofs,
            follow=True, poll=args.poll, stop=stop, on_block=seen,
        ),
        "replay-follow",
    )  # fmt: skip


def cmd_replay(args: argparse.Namespace) -> int:
    if args.poll <= 0:
        console.print("[red]error:[/] --poll must be a positive number of seconds")
        return 2
    try:
        if args.follow:
            report = _follow(Path(args.data), args)
        else:
            report = _replay_with_progress(
                Path(args.data), args.engine, args.from_snapshot, args.proofs
            )
    except (NodeError, ValueError) as exc:  # ValueError: --proofs on a venue no circuit fits
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


def write_dashboard(data: Path, out: Path, *, last: int = 200, on_chain_height: int = 0) -> int:
    """Write ``venue.dashboard``'s page of the venue in ``data`` to ``out``; the blocks shown."""
    from .blockstore import BlockStore
    from .dashboard import dashboard_rows, render

    symbols = {m.market_id: m.symbol for m in stored_genesis(data).markets}
    with BlockStore(data / "blocks", first_height=1, read_only=True) as store:
        rows = dashboard_rows(store, last=last, on_chain_height=on_chain_height)
    out.write_text(render(rows, symbols, title=f"ProvenBook: {data.name}"), encoding="utf-8")
    return len({r.height for r in rows})


def cmd_mirror(args: argparse.Namespace) -> int:
    """Copy a running venue's record (genesis, blocks, proofs) over HTTP into DIR, to replay."""
    from .mirror import MirrorError, MirrorReport, mirror

    if args.poll <= 0:
        console.print("[red]error:[/] --poll must be a positive number of seconds")
        return 2

    def say(r: MirrorReport) -> None:
        console.print(f"{r.blocks} blocks and {r.proofs} proofs copied; at height {r.height}")

    try:
        report = mirror(args.url, args.data, follow=args.follow, poll=args.poll, progress=say)
    except MirrorError as exc:
        console.print(f"[red]provenbook mirror:[/] {exc}")
        return 2
    except KeyboardInterrupt:  # --follow: what was copied is durable
        console.print("stopped")
        return 0
    console.print(
        f"{args.data}: height {report.height} ({report.blocks} blocks, {report.proofs} proofs "
        f"new); check it with: provenbook replay {args.data} --proofs"
    )
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """The venue's last blocks as an HTML page (prices plotted, each block's finality)."""
    data = Path(args.data)
    out = Path(args.out) if args.out else data / "dashboard.html"
    try:
        shown = write_dashboard(data, out, last=args.last)  # reads the genesis first
    except NodeError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    except OSError as exc:
        console.print(f"[red]error:[/] cannot write the page: {exc}")
        return 2
    console.print(f"{shown} blocks: {out}")
    return 0


def cmd_margin(args: argparse.Namespace) -> int:
    """An account's margin at a stored block, and its opening for ``ProvenMargin``."""
    import msgspec

    from oracle.margin import margin_of
    from proofs.state import AccountNotFound

    from .margin import maintenance_rates, open_accounts

    try:
        with _progress() as p:
            task = p.add_task("replaying the blocks", total=None)
            opening = open_accounts(
                Path(args.data), [args.account], height=args.height,
                progress=lambda done, total: p.update(task, completed=done, total=total),
            )[args.account]  # fmt: skip
    except (NodeError, AccountNotFound) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    figures = margin_of(opening, maintenance_rates(stored_genesis(Path(args.data))))
    state = "[red]under maintenance: liquidatable[/]" if figures.liquidatable else "healthy"
    console.print(
        f"account {opening.account} at block {opening.height}: equity {figures.equity}, "
        f"maintenance {figures.maintenance}: {state}"
    )
    if args.json:
        Path(args.json).write_bytes(msgspec.json.encode(opening))
        console.print(f"opening written to {args.json} (ProvenMargin's AccountProof)")
    return 0


_RPC_SCHEMES = ("http://", "https://", "ws://", "wss://")


def _not_rpc(chain: str, does: str) -> bool:
    """True, after saying why, unless ``chain`` is an RPC URL: a chain that outlives this
    command, on which the venue ``does`` ("publishes", "proposes")."""
    if chain.startswith(_RPC_SCHEMES):
        return False
    console.print(
        f"[red]error:[/] --chain must be the RPC URL of the chain the venue {does} on "
        f"(got {chain!r})"
    )
    return True


def cmd_liquidate(args: argparse.Namespace) -> int:
    """The keeper: trigger the liquidation of every account under maintenance margin."""
    from oracle.chain import ChainError, open_chain
    from oracle.deploy import DEPLOYMENT_FILE, DeploymentError, load_deployment
    from oracle.reverts import ContractRevert

    from .margin import MARGIN_FILE, liquidate_stored

    data = Path(args.data)
    if _not_rpc(args.chain, "publishes"):
        return 2
    try:
        deployment = load_deployment(args.deployment or data / DEPLOYMENT_FILE)
        chain = open_chain(args.chain)
    except (DeploymentError, ChainError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    with chain, _progress() as p:
        task = p.add_task("replaying the blocks to open every account", total=None)
        try:
            rep = liquidate_stored(
                data, chain, deployment, margin_file=data / MARGIN_FILE,
                progress=lambda done, total: p.update(task, completed=done, total=total),
            )  # fmt: skip
        except (NodeError, DeploymentError, ValueError, OSError, ContractRevert) as exc:
            console.print(f"[red]error:[/] {exc}")
            return 2
    console.print(f"ProvenMargin {rep.margin}: accounts at block {rep.height}, the latest on chain")
    console.print(_liquidation_table(rep))
    done = (("liquidation triggered", rep.triggered), ("venue reported overdue", rep.overdue),
            ("episode cleared", rep.cleared))  # fmt: skip
    for what, txs in done:
        for account, tx in txs.items():
            console.print(f"account {account}: {what} in transaction {tx}")
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    """Watch an optimistic venue's proposals and refute a wrong one (``venue.watch``)."""
    from oracle.chain import ChainError, open_chain
    from oracle.deploy import DeploymentError
    from oracle.optimistic import load_optimistic_deployment

    from .proposer import OPTIMISTIC_DEPLOYMENT_FILE
    from .watch import WatchError, WatchReport, watch_follow, watch_once

    if _not_rpc(args.chain, "proposes"):
        return 2
    try:
        deployment = load_optimistic_deployment(
            args.deployment or Path(args.data) / OPTIMISTIC_DEPLOYMENT_FILE
        )
        chain = open_chain(args.chain)
    except (DeploymentError, ChainError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    with chain:
        try:
            if args.follow:
                console.print(f"watching {deployment.commitments} (Ctrl-C to stop)")
                rep: WatchReport = _until_interrupted(
                    lambda stop: watch_follow(
                        args.data, chain, deployment, stop, poll=args.poll, workers=args.workers
                    ),
                    "watch-follow",
                )
            else:
                rep = watch_once(args.data, chain, deployment, workers=args.workers)
        except (WatchError, NodeError, DeploymentError, ValueError, OSError) as exc:
            console.print(f"[red]error:[/] {exc}")
            return 2
    console.print(f"proposals that are the venue's blocks: {rep.honest or 'none pending'}")
    for height, reward in rep.challenged:
        console.print(f"[red]block {height} refuted[/]: challenged with its proof, {reward} wei")
    for height, why in rep.alarms:
        console.print(f"[red]ALARM block {height}[/]: {why}")
    return 1 if rep.alarms else 0


def _prove_with_progress(data: Path, last: int | None, workers: int, backend: str) -> object:
    from .proving import prove_blocks

    with _progress() as p:
        tasks: dict[str, object] = {}

        def tick(what: str, done: int, total: int) -> None:
            label = _STAGES.get(what, what)
            if what not in tasks:
                tasks[what] = p.add_task(label, total=total)
            p.update(tasks[what], completed=done, total=total)  # type: ignore[arg-type]

        return prove_blocks(data, last=last, workers=workers, backend=backend, progress=tick)


def cmd_prove(args: argparse.Namespace) -> int:
    try:
        rep = _prove_with_progress(Path(args.data), args.last, args.workers, args.prover)
    except (NodeError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    _print_proving(rep)
    return 1 if rep.failed else 0  # type: ignore[attr-defined]


def _publishing(run: Callable[[], T]) -> T | int:
    """``run()``, or the exit code of ``publish`` for what it raised: 2 for a venue, key or
    deployment that cannot be used, 1 for a block the chain refused (said on the console)."""
    from oracle.deploy import DeploymentError
    from oracle.publish import BlockRejected

    try:
        return run()
    except (NodeError, DeploymentError, ValueError, OSError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    except BlockRejected as exc:
        console.print(f"[red]{exc}[/]")
        return 1


def _publish_batches(args: argparse.Namespace, chain: Chain) -> int:
    """``publish --batch K``: prove and land K blocks per verification (``venue.batches``)."""
    import statistics

    from oracle.feed import PriceFeed

    with _progress() as p:
        tasks: dict[str, object] = {}

        def tick(what: str, done: int, total: int) -> None:
            label = {
                "keys": "batch circuit keys (compile + setup once, then cached)",
                "batches": f"proving and publishing batches of {args.batch} on {chain.kind}",
            }[what]
            if what not in tasks:
                tasks[what] = p.add_task(label, total=total)
            p.update(tasks[what], completed=done, total=total)  # type: ignore[arg-type]

        rep = _publishing(lambda: _batches(args, chain, tick))
        if isinstance(rep, int):
            return rep
    if rep.published:
        first, last = rep.published[0].first, rep.published[-1].last
        gas = statistics.median(b.gas_per_block for b in rep.published)
        console.print(
            f"published blocks {first}..{last} in {len(rep.published)} batches of {args.batch} "
            f"({rep.proved} proved now), gas per block p50 {gas:,.0f}"
        )
    if rep.waiting:
        console.print(
            f"{rep.waiting} block(s) wait for a full batch (`provenbook publish` without "
            "--batch sends them one by one)"
        )
    if rep.deployment is not None:
        d = rep.deployment
        kind = "MarketCommitments" if d.markets else "StateCommitments"
        console.print(f"{kind} {d.commitments}, BatchVerifier {d.batch_verifier}")
        last_round = PriceFeed(chain, d.feed).latest_round()
        console.print(f"latestRoundData(): round {last_round.round_id}, answer {last_round.answer}")
    return 0


def _batches(
    args: argparse.Namespace, chain: Chain, tick: Callable[[str, int, int], None]
) -> BatchPublishReport:
    """``publish --batch K``; with ``--follow``, land each full batch as the venue stores it,
    until Ctrl-C (a running venue's prices reach the chain K blocks at a time)."""
    from .batches import BatchPublisher

    def landed(what: str, done: int, total: int) -> None:
        tick(what, done, total)
        if what == "batches" and done:
            b = bp.report.published[-1]
            console.print(
                f"blocks {b.first}..{b.last} on chain ({b.gas_per_block:,} gas per block)"
            )

    bp = BatchPublisher(
        Path(args.data), chain, args.batch, deployment_file=args.deployment,
        workers=args.workers, backend=args.prover, progress=landed,
    )  # fmt: skip
    with bp:
        if not args.follow:
            return bp.run_once()
        console.print(f"following {args.data} (Ctrl-C to stop)")
        return _until_interrupted(lambda stop: bp.follow(stop, args.poll), "publish-follow")


def cmd_publish(args: argparse.Namespace) -> int:
    import statistics

    from oracle.chain import ChainError, open_chain
    from oracle.feed import PriceFeed

    from .onchain import publish_stored

    if args.follow and (not (args.batch or args.optimistic) or args.poll <= 0):
        console.print(
            "[red]error:[/] --follow needs --batch K or --optimistic, and a positive --poll"
        )
        return 2
    if (args.prove_early or args.post_bond) and not args.optimistic:
        console.print("[red]error:[/] --prove-early and --post-bond are for --optimistic")
        return 2
    if args.optimistic and args.batch:
        console.print("[red]error:[/] --optimistic proposes blocks without proofs: not --batch")
        return 2
    if args.batch and args.blocks_per_tx != 1:
        console.print(
            "[red]error:[/] --blocks-per-tx sends single proofs: --batch K proves K blocks in "
            "one proof instead"
        )
        return 2
    persistent = args.chain.startswith(_RPC_SCHEMES)
    if args.deployment and not persistent:
        console.print(
            "[red]error:[/] --deployment needs a chain that outlives this command (an RPC URL); "
            f"{args.chain!r} is started here and gone when it ends"
        )
        return 2
    try:
        chain = open_chain(args.chain)
    except (ChainError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    if args.batch:
        with chain:
            return _publish_batches(args, chain)
    if args.optimistic:
        with chain:
            return _publish_optimistic(args, chain)
    with chain, _progress() as p:
        task = p.add_task(f"publishing on {chain.kind}", total=None)
        rep = _publishing(
            lambda: publish_stored(
                Path(args.data),
                chain,
                deployment_file=args.deployment,
                progress=lambda done, total: p.update(task, completed=done, total=total),
                per_tx=args.blocks_per_tx,
            )
        )
        if isinstance(rep, int):
            return rep
        if rep.deployment is None:
            console.print("no proven block to publish (run `provenbook prove` first)")
            return 0
        d = rep.deployment
        feeds = [(m.market_id, m.feed) for m in d.markets] or [(d.market_id, d.feed)]
        kind = "MarketCommitments" if d.markets else "StateCommitments"
        names = ", ".join(f"market {m} {f}" for m, f in feeds)
        console.print(f"{kind} {d.commitments}, ProvenPriceFeed {names}")
        if rep.published:
            gas = [b.gas_used for b in rep.published]
            txs = len({b.tx_hash for b in rep.published})
            console.print(
                f"published blocks {rep.published[0].height}..{rep.published[-1].height} in "
                f"{txs} transaction(s), gas per block p50 {statistics.median(gas):,.0f}"
            )
        for market, feed in feeds:
            last = PriceFeed(chain, feed).latest_round()
            console.print(
                f"market {market} latestRoundData(): round {last.round_id}, answer "
                f"{last.answer}, updatedAt {last.updated_at}"
            )
    return 0


def _publish_optimistic(args: argparse.Namespace, chain: Chain) -> int:
    """``publish --optimistic``: propose the stored blocks, finalize what is due
    (``venue.proposer``); exit 2 for what cannot be used, 1 when the operator must stop."""
    from oracle.chain import ChainError
    from oracle.deploy import DeploymentError
    from oracle.feed import PriceFeed
    from oracle.reverts import ContractRevert

    from .proposer import ProposeReport, ProposerError, propose_follow, propose_stored

    with _progress() as p:
        task = p.add_task(f"proposing on {chain.kind}", total=None)
        kw: dict[str, Any] = {
            "deployment_file": args.deployment, "bond": args.bond,
            "challenge_window": args.challenge_window, "prove_early": args.prove_early,
            "post_bond": args.post_bond, "per_tx": args.blocks_per_tx,
            "progress": lambda done, total: p.update(task, completed=done, total=total),
        }  # fmt: skip
        try:
            if args.follow:
                console.print(f"following {args.data} (Ctrl-C to stop)")
                rep: ProposeReport = _until_interrupted(
                    lambda stop: propose_follow(args.data, chain, stop, poll=args.poll, **kw),
                    "propose-follow",
                )
            else:
                rep = propose_stored(args.data, chain, **kw)
        except (NodeError, DeploymentError, ValueError, OSError) as exc:
            console.print(f"[red]error:[/] {exc}")
            return 2
        except (ProposerError, ContractRevert, ChainError) as exc:  # a transaction failed
            console.print(f"[red]{exc}[/]")
            return 1
    d = rep.deployment
    if d is None:
        console.print("no stored block to propose yet")
        return 0
    feeds = [(m.market_id, m.feed) for m in d.markets] or [(d.market_id, d.feed)]
    kind = "OptimisticMarketCommitments" if d.markets else "OptimisticCommitments"
    names = ", ".join(f"market {m} {f}" for m, f in feeds)
    console.print(
        f"{kind} {d.commitments} (operator {d.operator}, bond {d.bond} wei, challenge window "
        f"{d.challenge_window} s), ProvenPriceFeed {names}"
    )

    def heights(hs: list[int]) -> str:
        return f"{hs[0]}..{hs[-1]}" if hs else "none"

    console.print(
        f"proposed: {heights(rep.proposed)}; proven early: {heights(rep.proven_early)}; "
        f"final: {heights(rep.finalized)}"
    )
    for market, feed in feeds:
        try:
            last = PriceFeed(chain, feed).latest_round()
        except ContractRevert:  # NoProvenRound: the feed serves final blocks only
            console.print(f"market {market}: no final block yet (the feed has no round)")
            continue
        console.print(
            f"market {market} latestRoundData() (final blocks only): round {last.round_id}, "
            f"answer {last.answer}"
        )
    return 0


def _print_live(res: object, workers: int) -> None:
    import statistics

    secs = res.prove_seconds  # type: ignore[attr-defined]
    if secs:
        console.print(
            f"blocks 1..{res.proven} proven ({res.proven_live} of them while the traders "  # type: ignore[attr-defined]
            f"were connected), p50 {statistics.median(secs):.1f} s per proof, {workers} "
            "prover processes forked from one key load; the sequencer never waited for a proof"
        )
        lags = res.lag_seconds  # type: ignore[attr-defined]
        console.print(
            f"from a block's durability to its stored proof: p50 {statistics.median(lags):.1f} s,"
            f" max {max(lags):.1f} s (blocks queue behind each other when trading outpaces "
            "the provers)"
        )
    if res.halted:  # type: ignore[attr-defined]
        h, why = res.halted  # type: ignore[attr-defined]
        console.print(f"[red]live proving halted at block {h}:[/] {why[:300]}")


def _print_proving(rep: object) -> None:
    import statistics

    proven, failed = rep.proven, rep.failed  # type: ignore[attr-defined]
    secs = rep.prove_seconds  # type: ignore[attr-defined]
    if proven:
        console.print(
            f"proved blocks {proven[0]}..{proven[-1]} ({len(proven)} proofs, "
            f"p50 {statistics.median(secs):.1f} s per proof on one core)"
        )
    for h, err in failed:
        console.print(f"[red]block {h} could not be proven:[/] {err[:300]}")
    if rep.unsupported:  # type: ignore[attr-defined]
        h, why = rep.unsupported  # type: ignore[attr-defined]
        console.print(
            f"[yellow]block {h} is outside the v1 circuit ({why}); it and later "
            "blocks stay unproven[/]"
        )


def cmd_serve(args: argparse.Namespace) -> int:
    from oracle.chain import ChainError
    from oracle.deploy import DeploymentError

    from .proposer import ProposerError
    from .serve import ServeError, dev_accounts, load_accounts, load_genesis, serve

    try:
        genesis = load_genesis(args.genesis) if args.genesis else None
        accounts = load_accounts(args.accounts) if args.accounts else []
        accounts += dev_accounts(args.dev_accounts)
        height, root = serve(
            args.data, genesis=genesis, host=args.host, port=args.port, accounts=accounts,
            prove=args.prove, workers=args.workers, committer_priority=args.committer_priority,
            committer_shards=args.committer_shards, chain=args.chain,
            blocks_per_tx=args.blocks_per_tx, liquidate_every=args.liquidate_every,
            optimistic=args.optimistic, bond=args.bond, challenge_window=args.challenge_window,
            prove_early=args.prove_early, post_bond=args.post_bond,
            say=lambda line: print(line, flush=True),
        )  # fmt: skip
    except (ServeError, NodeError, ChainError, DeploymentError, ProposerError) as exc:
        console.print(f"[red]provenbook serve: {exc}[/]")
        return 2
    except OSError as exc:  # the port is taken, the data directory is not writable, ...
        console.print(f"[red]provenbook serve: {exc}[/]")
        return 1
    print(f"stopped at height {height}, state root {root:#x}", flush=True)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    try:
        node = run_workload(Path(args.data), args.commands, args.seed)
    except NodeError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    console.print(f"{node.height} blocks, state root {node.commitment.root:#x}")
    node.close()
    return 0


def _optimistic_args(p: argparse.ArgumentParser, what: str) -> None:
    """The options of optimistic mode that ``publish`` and ``serve`` share."""
    from .proposer import DEFAULT_BOND, DEFAULT_CHALLENGE_WINDOW

    p.add_argument("--optimistic", action="store_true", help=what)
    p.add_argument(
        "--bond", type=_at_least(1), default=DEFAULT_BOND, metavar="WEI",
        help=f"with --optimistic, a new deployment: the operator's standing bond ({DEFAULT_BOND})",
    )  # fmt: skip
    p.add_argument(
        "--challenge-window", type=_at_least(1), default=DEFAULT_CHALLENGE_WINDOW,
        metavar="SECONDS",
        help="with --optimistic, a new deployment: how long a proposal can be challenged "
        f"({DEFAULT_CHALLENGE_WINDOW})",
    )  # fmt: skip
    p.add_argument(
        "--post-bond", action="store_true",
        help="with --optimistic: put up a new bond after one was slashed (find out why first)",
    )  # fmt: skip


def _at_least(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``low`` (argparse reports anything else as
    a usage error, exit code 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="provenbook", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="run the end-to-end demo")
    d.add_argument("--traders", type=_at_least(2), default=6)
    d.add_argument("--rounds", type=_at_least(2), default=12)
    d.add_argument(
        "--prove", type=_at_least(0), default=None,
        help="prove every block live (default), wait only for the first N, or 0: none",
    )  # fmt: skip
    d.add_argument("--workers", type=_at_least(1), default=2, help="prover worker processes")
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--data", help="keep the venue's data here (default: a temporary dir)")
    d.add_argument(
        "--chain", default="auto",
        help="auto (anvil if Node is present, else the embedded EVM), embedded, anvil, an RPC "
        "URL, or none",
    )  # fmt: skip
    d.set_defaults(func=cmd_demo)
    r = sub.add_parser("replay", help="re-execute and check a venue's blocks")
    r.add_argument("data")
    r.add_argument("--engine", choices=("reference", "cython", "auto"), default="reference")
    r.add_argument("--from-snapshot", action="store_true")
    r.add_argument("--proofs", action="store_true", help="also verify every stored proof")
    r.add_argument(
        "--follow",
        action="store_true",
        help="then keep verifying the venue's new blocks (and proofs) as they land, until Ctrl-C",
    )
    r.add_argument("--poll", type=float, default=1.0, help="with --follow: seconds between looks")
    r.set_defaults(func=cmd_replay)
    pr = sub.add_parser("prove", help="prove a venue's stored blocks (v1 block circuit)")
    pr.add_argument("data")
    pr.add_argument("--last", type=_at_least(1), help="prove up to this height")
    pr.add_argument("--workers", type=_at_least(1), default=2)
    pr.add_argument("--prover", default="local", help="local, or ray://host:port")
    pr.set_defaults(func=cmd_prove)
    pb = sub.add_parser("publish", help="publish a venue's proven blocks on chain")
    pb.add_argument("data")
    pb.add_argument(
        "--chain", default="auto",
        help="auto (anvil if Node is present, else the embedded EVM), embedded, anvil, or an "
        "RPC URL",
    )  # fmt: skip
    pb.add_argument(
        "--deployment",
        help="deployment JSON (RPC chains): resumed after the chain's latest block if it "
        "exists, else written after deploying",
    )
    pb.add_argument(
        "--blocks-per-tx", type=_at_least(1), default=1, metavar="N",
        help="send up to N proven blocks per transaction, each with its own proof, checked by "
        "one pairing (cheaper per block; a refused transaction is sent again block by block); "
        "with --optimistic, N proposals per transaction",
    )  # fmt: skip
    pb.add_argument(
        "--batch", type=int, default=0, metavar="K",
        help="prove K blocks per proof with the batch circuit and verify them on chain at once "
        "(2..64; full batches only)",
    )  # fmt: skip
    pb.add_argument(
        "--follow", action="store_true",
        help="with --batch: keep landing full batches as the venue stores blocks, until Ctrl-C",
    )  # fmt: skip
    pb.add_argument("--poll", type=float, default=1.0, help="with --follow: seconds")
    pb.add_argument("--workers", type=_at_least(1), default=2, help="batch provers (with --batch)")
    pb.add_argument("--prover", default="local", help="local, or ray://host:port (with --batch)")
    _optimistic_args(
        pb,
        "propose the stored blocks without proofs (optimistic mode) instead of publishing "
        "proven ones; --deployment: the optimistic deployment",
    )
    pb.add_argument(
        "--prove-early", action="store_true",
        help="with --optimistic: pending blocks with a stored proof are made final now",
    )  # fmt: skip
    pb.set_defaults(func=cmd_publish)
    mi = sub.add_parser(
        "mirror", help="copy a running venue's blocks and proofs over HTTP, to replay them"
    )
    mi.add_argument("url", help="the venue's address, e.g. http://host:8765 (or its ws:// URL)")
    mi.add_argument("data", help="the directory to copy into (created, then continued)")
    mi.add_argument("--follow", action="store_true", help="keep copying until Ctrl-C")
    mi.add_argument("--poll", type=float, default=1.0, help="with --follow: seconds")
    mi.set_defaults(func=cmd_mirror)
    db = sub.add_parser("dashboard", help="write the venue's last blocks as an HTML page")
    db.add_argument("data")
    db.add_argument("--out", help="default: DIR/dashboard.html")
    db.add_argument("--last", type=_at_least(1), default=200, help="how many blocks (default 200)")
    db.set_defaults(func=cmd_dashboard)
    mg = sub.add_parser(
        "margin", help="an account's margin at a stored block, opened against its state root"
    )
    mg.add_argument("data")
    mg.add_argument("account", type=_at_least(1))
    mg.add_argument("--height", type=_at_least(1), help="default: the last stored block")
    mg.add_argument("--json", help="write the opening (ProvenMargin's AccountProof) here")
    mg.set_defaults(func=cmd_margin)
    lq = sub.add_parser(
        "liquidate",
        help="trigger on chain the liquidation of every account under maintenance margin",
    )
    lq.add_argument("data")
    lq.add_argument("--chain", required=True, help="RPC URL of the chain the venue publishes on")
    lq.add_argument("--deployment", help="the venue's deployment JSON (default: DIR/chain.json)")
    lq.set_defaults(func=cmd_liquidate)
    wa = sub.add_parser(
        "watch",
        help="check an optimistic venue's pending proposals against its replayed blocks and "
        "refute a wrong one with a validity proof",
    )
    wa.add_argument("data", help="your copy of the venue's blocks (e.g. `provenbook mirror`)")
    wa.add_argument("--chain", required=True, help="RPC URL of the chain the venue proposes on")
    wa.add_argument(
        "--deployment",
        help="the optimistic deployment's JSON (default: DIR/optimistic.json, which `provenbook "
        "mirror` copies from the venue)",
    )
    wa.add_argument("--follow", action="store_true", help="keep watching until Ctrl-C")
    wa.add_argument("--poll", type=float, default=5.0, help="with --follow: seconds")
    wa.add_argument("--workers", type=_at_least(1), default=2, help="provers, when one is needed")
    wa.set_defaults(func=cmd_watch)
    sv = sub.add_parser("serve", help="run a venue behind the FIX gateway until SIGINT/SIGTERM")
    sv.add_argument("data", help="the venue's data directory (created if new)")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8765, help="0: any free port")
    sv.add_argument(
        "--genesis",
        help="a new venue's genesis: a JSON file, or 'demo' (the default: test-size circuit) or "
        "'production' (production-size circuit, keys set up on the first --prove: minutes)",
    )
    sv.add_argument("--accounts", help="JSON file of accounts to open (venue/serve.py)")
    sv.add_argument(
        "--dev-accounts",
        type=_at_least(0),
        default=0,
        metavar="N",
        help="open accounts 1..N with the demo's public test keys (development)",
    )
    sv.add_argument("--prove", action="store_true", help="prove every block live")
    sv.add_argument(
        "--chain",
        help="with --prove, publish every proven block on this chain: an RPC URL (deployment "
        "kept in DIR/chain.json, resumed on restart), or embedded / anvil / auto for a chain "
        "that lives as long as this run",
    )
    _optimistic_args(
        sv,
        "with --chain: propose every block as soon as it is stored, without a proof "
        "(optimistic mode; deployment kept in DIR/optimistic.json on an RPC chain), instead of "
        "publishing proven blocks",
    )
    sv.add_argument(
        "--prove-early", action="store_true",
        help="with --optimistic and --prove: send each live proof to make its block final at "
        "once",
    )  # fmt: skip
    sv.add_argument("--workers", type=_at_least(1), default=2, help="prover worker processes")
    sv.add_argument(
        "--blocks-per-tx", type=_at_least(1), default=None, metavar="N",
        help="with --chain: proven blocks waiting to be published go out up to N per "
        "transaction, one pairing for all (default: oracle.publish.BLOCKS_PER_TX, 8; 1: each "
        "block alone); with --optimistic, blocks waiting to be proposed",
    )  # fmt: skip
    sv.add_argument(
        "--committer-priority",
        choices=("background", "normal"),
        default="background",
        help="CPU priority of the committer (venue/priority.py)",
    )
    sv.add_argument(
        "--committer-shards",
        type=int,
        choices=(1, 2),
        default=1,
        help="committer worker processes (2: accounts | books, on spare cores)",
    )
    sv.add_argument(
        "--liquidate-every",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="the keeper: after a new block, at most this often, liquidate every account under "
        "maintenance margin (0: off)",
    )
    sv.set_defaults(func=cmd_serve)
    w = sub.add_parser("run", help="feed a seeded workload into a venue data directory")
    w.add_argument("data")
    w.add_argument("--commands", type=_at_least(0), default=10_000)
    w.add_argument("--seed", type=int, default=1)
    w.set_defaults(func=cmd_run)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (said on stderr) or --help: its exit code
        return int(exc.code or 0)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
