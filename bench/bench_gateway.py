"""Load benchmark of the FIX WebSocket gateway: orders/s and ack latency, fsync on.

Disclaimer: synthetic, loopback only, written by the gateway's author; run your own.
The server (gateway + VenueNode with journal fsync on, uvloop when installed) runs in
this process; ``--clients`` separate processes (multiprocessing, spawn) each log on with
their own account key and keep ``--window`` orders in flight for ``--seconds`` (or until
``--orders`` per client). An *ack* is the first ExecutionReport for a ClOrdID, which the
gateway sends only after the batch holding the order was journalled and fsynced, so the
latency includes group commit, matching and both WebSocket hops, and block sealing
(Poseidon state commitment) only where the sequencer waits for it (``--committer inline``,
or backpressure when the committer lags ``max_lag`` blocks); it excludes logon. Client and
server share the machine's cores. ``server_cpu_s``/``committer_cpu_s`` are CPU seconds of
the server process (all threads) and of the committer process over the run: on a shared
machine they say what an order costs when wall-clock rates do not.

``--node-only N`` skips the gateway: N workload commands go straight through
``VenueNode.submit`` in ``--batch``-sized group commits (fsync on); it reports the rate at
which commands are acknowledged (journalled and executed) and the rate at which they are
durable in blocks with roots (after ``flush``).

Run: ``python -m bench.bench_gateway [--clients 2] [--seconds 5] [--window 256]
[--block-commands 64] [--committer process|thread|inline] [--json]``; ``--versions``
prints the versions used; ``--profile FILE`` writes a cProfile of the server's event-loop
thread (read it with ``python -m pstats FILE``; for all threads, sample the process with
``py-spy record --gil``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import sys
import tempfile
import time
from typing import Any

__all__ = ["main"]

SYM = "PB1-PERP"


def _key(account: int) -> bytes:
    return hashlib.sha256(f"bench-key-{account}".encode()).digest()


def _client_proc(url: str, account: int, seconds: float, orders: int, window: int,
                 out: Any) -> None:  # fmt: skip
    """One trader process: pipelined NewOrderSingles (and cancels), latencies in ns."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    out.put(asyncio.run(_client(url, account, seconds, orders, window)))


async def _client(url: str, account: int, seconds: float, orders: int, window: int) -> dict:
    from websockets.asyncio.client import connect

    from proofs.eddsa import sign_poseidon
    from venue.fix import Codec, Encoding, FixMessage
    from venue.fix.codec import format_utc_timestamp
    from venue.gateway import logon_message

    codec = Codec(Encoding.TAGVALUE_PIPE, 1 << 22)
    json_codec = Codec(Encoding.JSON, 1 << 16)
    rng = random.Random(account)
    ws = await connect(url, compression=None, max_size=1 << 22, ping_interval=None)
    greeting = json_codec.decode(await ws.recv())  # type: ignore[arg-type]
    challenge = bytes.fromhex(greeting.get(5011) or "")
    sig = sign_poseidon(_key(account), logon_message(challenge)).to_bytes().hex()
    seq = 0
    comp = f"B{account}"

    def frame(msg_type: str, body: tuple[tuple[int, str], ...]) -> str:
        nonlocal seq
        seq += 1
        head = ((49, comp), (56, "PROVENBOOK"), (34, str(seq)),
                (52, format_utc_timestamp(time.time_ns())))  # fmt: skip
        return codec.encode(FixMessage(msg_type, (*head, *body)))

    await ws.send(frame("A", ((98, "0"), (108, "30"), (553, str(account)), (5012, sig))))
    reply = codec.decode(await ws.recv())  # type: ignore[arg-type]
    assert reply.msg_type == "A", reply
    sent: dict[str, int] = {}
    lat: list[int] = []
    resting: list[tuple[str, str]] = []
    in_flight = 0
    n_sent = 0
    done = asyncio.Event()
    can_send = asyncio.Event()
    can_send.set()
    start = time.perf_counter()
    deadline = start + seconds

    async def reader() -> None:
        nonlocal in_flight
        async for data in ws:
            text = data if isinstance(data, str) else data.decode()
            head = text[:40]
            if "|35=8|" not in head and "|35=9|" not in head:
                continue
            i = text.index("|11=") + 4
            cl = text[i : text.index("|", i)]
            t0 = sent.pop(cl, None)
            if t0 is not None:
                lat.append(time.perf_counter_ns() - t0)
                in_flight -= 1
                if "|150=0|" in text:
                    resting.append((cl, "1" if "|54=1|" in text else "2"))
                can_send.set()
                if n_sent >= orders or time.perf_counter() >= deadline:
                    if in_flight == 0:
                        done.set()
                        return

    task = asyncio.get_running_loop().create_task(reader())
    k = 0
    while n_sent < orders and time.perf_counter() < deadline:
        if in_flight >= window:
            can_send.clear()
            await can_send.wait()
            continue
        k += 1
        cl = f"{account}-{k}"
        now = format_utc_timestamp(time.time_ns())
        if len(resting) > 200 and rng.random() < 0.45:
            orig, side = resting.pop(rng.randrange(len(resting)))
            body: tuple[tuple[int, str], ...] = (
                (41, orig), (11, cl), (55, SYM), (54, side), (60, now))
            msg_type = "F"
        else:
            side = rng.choice(("1", "2"))
            px = 100_000 + (-1 if side == "1" else 1) * rng.randint(0, 40)
            body = ((11, cl), (55, SYM), (54, side), (60, now), (38, str(rng.randint(1, 5))),
                    (40, "2"), (44, str(px)), (59, "1"))  # fmt: skip
            msg_type = "D"
        sent[cl] = time.perf_counter_ns()
        in_flight += 1
        n_sent += 1
        await ws.send(frame(msg_type, body))
    if in_flight:
        try:
            await asyncio.wait_for(done.wait(), 30)
        except TimeoutError:
            pass
    elapsed = time.perf_counter() - start
    task.cancel()
    await ws.close()
    return {"account": account, "sent": n_sent, "acked": len(lat), "seconds": elapsed,
            "lat_ns": lat}  # fmt: skip


def _time_commits(node: Any) -> list[int]:
    """Wrap ``node.journal.commit`` to record each group commit's duration (ns): the fsync
    latency the acks actually saw, which varies run to run on a shared disk."""
    durations: list[int] = []
    commit = node.journal.commit

    def timed() -> int:
        t0 = time.perf_counter_ns()
        try:
            return commit()
        finally:
            durations.append(time.perf_counter_ns() - t0)

    node.journal.commit = timed
    return durations


def _pct(sorted_ns: list[int], p: float) -> float:
    if not sorted_ns:
        return float("nan")
    i = min(len(sorted_ns) - 1, int(p / 100 * len(sorted_ns)))
    return sorted_ns[i] / 1e6


async def _serve_and_measure(args: argparse.Namespace) -> dict:
    from matching import AddAccount, Deposit
    from proofs.eddsa import private_to_public
    from venue.gateway import Gateway
    from venue.node import Genesis, VenueNode
    from venue.workload import default_markets

    tmp = tempfile.mkdtemp(prefix="bench-gateway-")
    genesis = Genesis(default_markets(), account_depth=8, order_depth=14,
                      block_commands=args.block_commands)  # fmt: skip
    node = VenueNode(tmp, genesis, fsync=True, engine=args.engine, **_node_kwargs(args))
    commits = _time_commits(node)
    extra = {"check_outbound": True} if args.check_outbound else {}
    if args.inline_batch is not None:
        extra["inline_batch"] = args.inline_batch
    gw = Gateway(node, max_rate=1e9, burst=10**9, max_open_orders=10**6,
                 max_send_queue=10**6, offload=not args.no_offload, **extra)  # fmt: skip
    await gw.start()
    accounts = list(range(1, args.clients + 1))
    cmds: list[Any] = []
    for a in accounts:
        x, y = private_to_public(_key(a))
        cmds += [AddAccount(0, 0, a, x, y), Deposit(0, 0, a, 10**15)]
    await gw.submit_commands(cmds)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_client_proc,
                         args=(gw.url, a, args.seconds, args.orders, args.window, q))
             for a in accounts]  # fmt: skip
    cpu0 = time.process_time()
    for p in procs:
        p.start()
    loop = asyncio.get_running_loop()
    results = []
    for _ in procs:
        results.append(await loop.run_in_executor(None, q.get, True, args.seconds + 120))
    for p in procs:
        await loop.run_in_executor(None, p.join, 10)
    server_cpu = time.process_time() - cpu0
    stats = dict(gw.stats)
    height = node.height
    await gw.stop()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    node.close()  # waits for the committer; its process is reaped here
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    committer_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    lat = sorted(x for r in results for x in r["lat_ns"])
    wall = max(r["seconds"] for r in results)
    acked = sum(r["acked"] for r in results)
    return {
        "clients": args.clients, "window": args.window, "block_commands": args.block_commands,
        "engine": type(node.engine).__name__, "offload": not args.no_offload,
        "inline_batch": gw.inline_batch,
        "orders_sent": sum(r["sent"] for r in results), "orders_acked": acked,
        "seconds": round(wall, 3), "orders_per_s": round(acked / wall, 1),
        "ack_ms": {"p50": _pct(lat, 50), "p99": _pct(lat, 99), "p99.9": _pct(lat, 99.9),
                   "max": lat[-1] / 1e6 if lat else float("nan")},
        "batches": stats.get("batches", 0),
        "mean_batch": round(stats.get("commands", 0) / max(1, stats.get("batches", 1)), 1),
        "blocks": height, "committer": getattr(node, "committer_mode", "inline (legacy)"),
        "committer_priority": args.committer_priority,
        "committer_shards": args.committer_shards,
        "server_cpu_s": round(server_cpu, 2), "committer_cpu_s": round(committer_cpu, 2),
        "server_cpu_us_per_order": round(server_cpu / max(1, acked) * 1e6, 1),
        "journal_commit_ms": _commit_pcts(commits),
    }  # fmt: skip


def _commit_pcts(durations: list[int]) -> dict[str, float]:
    s = sorted(durations)
    return {"p50": round(_pct(s, 50), 3), "p99": round(_pct(s, 99), 3)}


def _node_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {"committer": args.committer} if args.committer else {}
    kw["committer_priority"] = args.committer_priority
    kw["committer_shards"] = args.committer_shards
    if args.max_lag:
        kw["max_lag"] = args.max_lag
    return kw


def _node_only(args: argparse.Namespace) -> dict:
    """Workload commands straight into ``VenueNode.submit`` (no gateway, no clients)."""
    from venue.node import Genesis, VenueNode
    from venue.workload import Workload

    w = Workload(3, accounts=200, target_resting=2_000)
    genesis = Genesis(w.markets, account_depth=10, order_depth=14,
                      block_commands=args.block_commands)  # fmt: skip
    node = VenueNode(tempfile.mkdtemp(prefix="bench-node-"), genesis, fsync=True,
                     engine=args.engine, **_node_kwargs(args))  # fmt: skip
    node.submit(w.genesis())
    commits = _time_commits(node)
    cmds = list(w.commands(args.node_only))
    t0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(0, len(cmds), args.batch):
        node.submit(cmds[i : i + args.batch])
    acked = time.perf_counter() - t0
    if hasattr(node, "flush"):
        node.flush()
    durable = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    height = node.height
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    node.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"node_only": len(cmds), "batch": args.batch, "block_commands": args.block_commands,
            "engine": type(node.engine).__name__,
            "committer": getattr(node, "committer_mode", "inline (legacy)"),
            "committer_priority": args.committer_priority,
            "committer_shards": args.committer_shards,
            "acked_per_s": round(len(cmds) / acked, 1),
            "durable_per_s": round(len(cmds) / durable, 1), "blocks": height,
            "sequencer_cpu_s": round(cpu, 2), "journal_commit_ms": _commit_pcts(commits),
            "committer_cpu_s": round(after.ru_utime + after.ru_stime
                                     - before.ru_utime - before.ru_stime, 2)}  # fmt: skip


def _versions() -> dict[str, str]:
    import msgspec
    import websockets

    out = {"python": sys.version.split()[0], "platform": platform.platform(),
           "cpus": str(os.cpu_count()), "websockets": websockets.__version__,
           "msgspec": msgspec.__version__}  # fmt: skip
    try:
        import uvloop

        out["uvloop"] = uvloop.__version__
    except ImportError:  # pragma: no cover
        out["uvloop"] = "absent"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_gateway", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--orders", type=int, default=200_000, help="cap per client")
    parser.add_argument("--window", type=int, default=256, help="orders in flight per client")
    parser.add_argument("--block-commands", type=int, default=64)
    parser.add_argument("--engine", default="auto", choices=("auto", "reference", "cython"))
    parser.add_argument("--no-offload", action="store_true",
                        help="run node.submit on the loop instead of the default executor")
    parser.add_argument("--committer", choices=("process", "thread", "inline"),
                        help="VenueNode committer mode (default: the node's own default)")
    parser.add_argument("--inline-batch", type=int, default=None,
                        help="Gateway inline_batch (default: the gateway's; 0: always offload)")
    parser.add_argument("--committer-shards", type=int, choices=(1, 2), default=1,
                        help="committer worker processes (2: accounts | books)")
    parser.add_argument("--committer-priority", choices=("background", "normal"),
                        default="background",
                        help="CPU priority of the committer process (venue.priority)")
    parser.add_argument("--max-lag", type=int,
                        help="blocks the committer may lag before submit waits (node default)")
    parser.add_argument("--check-outbound", action="store_true",
                        help="validate every outbound FIX message too (Gateway option)")
    parser.add_argument("--node-only", type=int, metavar="N",
                        help="no gateway: N commands straight into VenueNode.submit")
    parser.add_argument("--batch", type=int, default=256, help="group commit size, --node-only")
    parser.add_argument("--profile", metavar="FILE",
                        help="cProfile the server's event-loop thread (gateway, FIX, router; "
                        "not node.submit in the executor) into FILE (pstats format)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--versions", action="store_true")
    args = parser.parse_args(argv)
    if args.versions:
        print(json.dumps(_versions(), indent=2))
        return 0
    if args.node_only:
        result = _node_only(args)
        result["versions"] = _versions()
        if args.json:
            print(json.dumps(result))
        else:
            print(f"node only, {result['node_only']} commands in batches of {args.batch}, "
                  f"committer {result['committer']}: acked {result['acked_per_s']:,.0f}/s, "
                  f"durable in blocks {result['durable_per_s']:,.0f}/s; CPU s sequencer "
                  f"{result['sequencer_cpu_s']}, committer {result['committer_cpu_s']}; "
                  f"journal commit ms {result['journal_commit_ms']}")
        return 0
    from venue.gateway import new_event_loop

    loop = new_event_loop()
    profiler = None
    if args.profile:
        import cProfile

        # Deterministic profiling slows the loop (more so the small functions), so the run's
        # figures are not comparable with unprofiled ones; use it for where, not how much.
        profiler = cProfile.Profile()
        profiler.enable()
    try:
        result = loop.run_until_complete(_serve_and_measure(args))
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        loop.close()
    result["versions"] = _versions()
    if args.json:
        print(json.dumps(result))
    else:
        a = result["ack_ms"]
        print(f"{result['orders_acked']} orders acked in {result['seconds']} s by "
              f"{result['clients']} client process(es), window {result['window']}: "
              f"{result['orders_per_s']:,.0f} orders/s")
        print(f"ack latency ms: p50 {a['p50']:.2f}  p99 {a['p99']:.2f}  p99.9 {a['p99.9']:.2f}  "
              f"max {a['max']:.2f}")
        print(f"group commits: {result['batches']} (mean {result['mean_batch']} commands), "
              f"blocks sealed: {result['blocks']}, engine {result['engine']}, fsync on")
        print(f"committer {result['committer']}; CPU s: server {result['server_cpu_s']} "
              f"({result['server_cpu_us_per_order']} us/order), committer "
              f"{result['committer_cpu_s']}; journal commit ms {result['journal_commit_ms']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
