"""Proving at the production size: signed ``Block(20, 48, 12, 16, R = 2)`` on signed workload
blocks.

``bench.bench_prover`` measures the test size on demo venue blocks; this measures the size a
real venue would run. The blocks come from the standard workload (seed 7, 400 accounts, 2,000
resting orders) made signed: every account registers a key, every PlaceOrder, ReplaceOrder and
Withdraw is signed by it and carries a rising client id (its nonce), and the engine runs the
production limits (12 makers per taker, 8 open orders per account, the replay mark). Blocks are
cut by the circuit's 48 positions the way the venue cuts them (each command's positions bounded
before it runs, ``proofs.steps.command_steps_before``, in the circuit's layout). The first
``--skip`` blocks (accounts, deposits, the book filling up) only advance the prover state; the
next ``--blocks`` are proved by one prover worker (the key loaded once), and verified in Python
from their headers.

The first run compiles and sets up the circuit into ``~/.cache/provenbook/circuits`` (about
four minutes and 4-5 GB of memory); later runs load the cached keys. Run::

    PYTHONPATH=. python -m bench.bench_prover_production [--blocks 4] [--skip 250]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import statistics
import sys
import time
from collections.abc import Iterator

import msgspec

from bench import emit
from matching import AddAccount, Block, BlockBuilder, Command, ReferenceEngine
from proofs.circom import circuit_stats
from proofs.eddsa import private_to_public
from proofs.signing import is_signed_type, sign_command
from proofs.state import PoseidonState
from proofs.steps import command_steps, command_steps_before
from proofs.verify import PRODUCTION_SIZE, BlockCircuit, CircuitSize, verify_block
from proofs.witness import BlockParams, BlockProverState
from venue.prover import ProofResult, ProverPool
from venue.proving import WRAPPER_DIR, ensure_keys
from venue.workload import Workload

__all__ = ["run"]

MATCHES, OPEN_ORDERS = 12, 8


def _key(account: int) -> bytes:
    return hashlib.sha256(b"provenbook-bench-key-%d" % account).digest()


def signed_stream(w: Workload, commands: int) -> Iterator[Command]:
    """The workload's genesis and commands, keyed and signed (module docstring)."""
    keys: dict[int, bytes] = {}
    for cmd in [*w.genesis(), *w.commands(commands)]:
        if isinstance(cmd, AddAccount):
            keys[cmd.account] = _key(cmd.account)
            x, y = private_to_public(keys[cmd.account])
            cmd = msgspec.structs.replace(cmd, pubkey_x=x, pubkey_y=y)
        elif is_signed_type(cmd):
            cmd = sign_command(keys[cmd.account], cmd)  # type: ignore[type-var]
        yield cmd


def production_blocks(
    skip: int, count: int, size: CircuitSize = PRODUCTION_SIZE
) -> tuple[list[Block], BlockProverState]:
    """``count`` signed blocks after the first ``skip`` cut for ``size``, and the prover state
    before them."""
    N, S, D, A, RATIO = size.n, size.s, size.order_depth, size.account_depth, size.ratio
    w = Workload(7, accounts=400, target_resting=2_000, nonces=True)
    market = w.markets[0]
    w.markets = (market,)
    engine = ReferenceEngine(
        (market,), max_accounts=1 << A, max_resting_per_side=(1 << D) - N,
        max_matches=MATCHES, max_open_orders=OPEN_ORDERS, signed_nonces=True,
    )  # fmt: skip
    com = PoseidonState((market,), account_depth=A, order_depth=D)
    builder = BlockBuilder(
        engine, com, max_commands=N, max_interval_ns=1 << 62, max_steps=S,
        step_cost=lambda cmd, events: command_steps(cmd, events, ratio=RATIO),
        step_bound=lambda cmd: command_steps_before(cmd, engine, ratio=RATIO),
    )  # fmt: skip
    state = BlockProverState(market, order_depth=D, account_depth=A)
    wide = BlockParams(N, S, D, A, market, signed=True, max_matches=MATCHES, ratio=RATIO)
    blocks: list[Block] = []
    for cmd in signed_stream(w, 40 * (skip + count)):
        for b in builder.submit(cmd)[1]:
            if len(blocks) < skip:
                state.advance(b, wide)
            blocks.append(b)
        if len(blocks) >= skip + count:
            break
    print(f"  {len(blocks)} blocks built, {count} to prove", file=sys.stderr, flush=True)
    return blocks[skip : skip + count], state


def run(blocks: int = 4, skip: int = 250, size: CircuitSize = PRODUCTION_SIZE) -> dict[str, object]:
    chain, state = production_blocks(skip, blocks, size)
    market = state.config
    circuit = BlockCircuit(
        market, size, max_matches=MATCHES, wrapper_dir=WRAPPER_DIR, cache_dir=None
    )
    t0 = time.perf_counter()
    print("  compiling / setting up (cached after the first run) ...", file=sys.stderr, flush=True)
    ensure_keys(circuit)
    setup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    jobs = [(b.header.height, state.advance(b, circuit.params)) for b in chain]
    witness_s = (time.perf_counter() - t0) / len(jobs)
    first = chain[0].header.height  # the pool hands proofs out in height order from here
    pool = ProverPool(circuit.wrapper, workers=1, cache_dir=circuit.cache_dir, first_height=first)
    with pool:
        load = max(w.key_load_s for w in pool.worker_info())
        for h, wit in jobs:
            pool.submit(h, wit.inputs, wit.public_signals)
        results = list(pool.results())
    assert all(isinstance(r, ProofResult) for r in results), results
    secs = sorted(r.prove_seconds for r in results)
    vk = circuit.verifying_key
    t0 = time.perf_counter()
    for b, r in zip(chain, results, strict=True):
        assert verify_block(b.header, r.proof, vk)
    verify_ms = (time.perf_counter() - t0) * 1e3 / len(chain)
    commands = sum(len(b.commands) for b in chain)
    return {
        "circuit": f"Block{circuit.size.name}_m{MATCHES}",
        "constraints": circuit_stats(circuit.wrapper, cache_dir=None).constraints,
        "setup_or_cache_load_s": round(setup_s, 1),
        "blocks": len(chain),
        "commands": commands,
        "commands_per_block": round(commands / len(chain), 2),
        "steps_used_per_block": round(
            statistics.fmean(sum(j[1].steps_per_command) for j in jobs), 1
        ),
        "witness_build_s_per_block": round(witness_s, 3),
        "prove_s_p50": round(statistics.median(secs), 1),
        "prove_s_p95": round(secs[max(0, int(len(secs) * 0.95) - 1)], 1),
        "commands_per_core_second": round(commands / sum(secs), 3),
        "key_load_s": round(load, 1),
        "python_verify_ms": round(verify_ms, 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_prover_production")
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--skip", type=int, default=250)
    p.add_argument(
        "--size", metavar="N,S",
        help=f"command slots and positions (default {PRODUCTION_SIZE.n},{PRODUCTION_SIZE.s}: "
        "proofs.verify.PRODUCTION_SIZE); the depths and signatures stay",
    )  # fmt: skip
    p.add_argument("--json", help="also write the figures here")
    a = p.parse_args(argv)
    size = PRODUCTION_SIZE
    if a.size:
        n, s = (int(v) for v in a.size.split(","))
        size = dataclasses.replace(PRODUCTION_SIZE, n=n, s=s)
    emit(run(a.blocks, a.skip, size), a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
