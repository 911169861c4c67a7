"""Proving a venue's blocks: witness builder → prover pool → proofs stored beside the blocks.

The venue's genesis must match the compiled block circuit (its markets, the circuit's tree
depths, at most N commands per block, signed iff ``Genesis.signed``; a venue of several
markets must cut its blocks one market each, ``Genesis.one_market_blocks``):
``circuit_for(genesis)`` says which size fits or why none does. Witnesses are built in block
order from genesis (each block's witness needs the state after the previous one); proofs are
made in parallel by ``venue.prover.ProverPool`` and stored in block order with
``BlockStore.put_proof``. A block the v1 circuit cannot describe (``UnsupportedInCircuit``, or
more steps than the circuit size has) is reported and left unproven; nothing after it can be
proven either, because its post-state is what the next block's proof starts from.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import msgspec

from matching import Block
from matching.encoding import decoder
from proofs.circom import circuit_stats
from proofs.verify import (
    TEST_SIZE,
    TEST_SIZE_SIGNED,
    BlockCircuit,
    CircuitSize,
    WrappedCircuit,
    verify_block,
)
from proofs.witness import BlockProverState, UnsupportedInCircuit

from .blockstore import BlockStore
from .node import Genesis, stored_genesis
from .prover import ProofFailure, ProverPool

__all__ = [
    "PROOF_KIND",
    "ProvingReport",
    "circuit_for",
    "ensure_keys",
    "genesis_size",
    "key_load_progress",
    "prove_blocks",
    "stored_genesis",
    "verify_stored",
]

#: ``BlockStore.put_proof`` kind of the v1 block proofs (Groth16 on BN254, development keys).
PROOF_KIND = "groth16-block-v1"
WRAPPER_DIR = Path("~/.cache/provenbook/wrappers").expanduser()

_block_decoder = decoder(Block)


class ProvingReport(msgspec.Struct):
    proven: list[int] = msgspec.field(default_factory=list)
    failed: list[tuple[int, str]] = msgspec.field(default_factory=list)
    unsupported: tuple[int, str] | None = None
    prove_seconds: list[float] = msgspec.field(default_factory=list)


def circuit_for(genesis: Genesis, size: CircuitSize | None = None) -> BlockCircuit:
    """The block circuit for ``genesis``; ValueError when the venue does not fit ``size``.

    ``size`` defaults to the test size, signed (``TEST_SIZE_SIGNED``) for a signed venue,
    when the venue fits it, and otherwise to the size the venue's genesis declares
    (``genesis_size``: its depths, block commands, positions and layout), so a venue created
    for a production-size circuit (``proofs.verify.PRODUCTION_SIZE``) is proved with it; its
    keys are compiled and set up into the cache the first time (minutes). A signed venue
    needs a signed circuit and an unsigned venue an unsigned one: an unsigned circuit would
    prove blocks whose orders nobody authorised, and a signed one cannot prove the unsigned
    commands of a venue that never asked traders to sign."""
    if size is None:
        size = TEST_SIZE_SIGNED if genesis.signed else TEST_SIZE
        own = genesis_size(genesis)
        if _misfit(genesis, size) is not None and own is not None:
            size = own
    why = _misfit(genesis, size)
    if why is not None:
        raise ValueError(why)
    return BlockCircuit(
        genesis.markets, size, wrapper_dir=WRAPPER_DIR, max_matches=genesis.max_matches
    )


def genesis_size(genesis: Genesis) -> CircuitSize | None:
    """The circuit size whose blocks are exactly the venue's (commands and positions per
    block, tree depths, layout, signatures), or None when the venue does not cut its blocks
    by positions (``Genesis.block_steps`` = 0), which no circuit size can promise to fit."""
    if not genesis.block_steps:
        return None
    return CircuitSize(
        genesis.block_commands, genesis.block_steps, genesis.order_depth,
        genesis.account_depth, signed=genesis.signed, ratio=genesis.block_layout,
    )  # fmt: skip


def _misfit(genesis: Genesis, size: CircuitSize) -> str | None:
    """Why ``genesis``'s blocks may not fit circuit ``size``, or None if they do."""
    if size.signed != genesis.signed:
        want = "signed" if genesis.signed else "unsigned"
        return (
            f"the venue is {want} (Genesis.signed={genesis.signed}) but circuit size "
            f"{size.name} is {'signed' if size.signed else 'unsigned'}: use a {want} size"
        )
    if len(genesis.markets) > 1 and not genesis.one_market_blocks:
        # BlockM opens one market per block; only the step bound's venues are cut that way
        return (
            "the block circuit proves a venue of several markets only in blocks that each "
            "change one market's book, and this venue does not cut its blocks that way: it "
            "needs block_steps, max_matches and max_open_orders (Genesis.one_market_blocks)"
        )
    if (genesis.order_depth, genesis.account_depth) != (size.order_depth, size.account_depth):
        return (
            f"venue tree depths (orders {genesis.order_depth}, accounts {genesis.account_depth})"
            f" differ from the circuit's ({size.order_depth}, {size.account_depth})"
        )
    if genesis.block_commands > size.n:
        return f"blocks of {genesis.block_commands} commands exceed the circuit's {size.n}"
    if genesis.block_steps > size.s:
        return f"blocks of {genesis.block_steps} steps exceed the circuit's {size.s}"
    if genesis.block_steps and genesis.block_layout != size.ratio:
        # blocks are cut by positions of the venue's layout; another layout's may not fit
        return (
            f"the venue cuts blocks for layout {genesis.block_layout} but circuit {size.name} "
            f"has layout {size.ratio}"
        )
    if genesis.max_matches >= size.s:
        return f"a match limit of {genesis.max_matches} needs more than {size.s} steps"
    return None


def ensure_keys(circuit: WrappedCircuit) -> None:
    """Compile + set up ``circuit`` into the key cache unless it is there already; unlike
    ``circuit.compile()`` a cache hit loads nothing (the prover workers load the keys)."""
    circuit_stats(circuit.write_wrapper(), cache_dir=circuit.cache_dir)


def prove_blocks(
    data: str | os.PathLike[str],
    *,
    last: int | None = None,
    workers: int = 2,
    backend: str = "local",
    size: CircuitSize | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ProvingReport:
    """Prove the stored blocks of the venue at ``data`` that have no proof yet, up to ``last``."""
    root = Path(data)
    genesis = stored_genesis(root)
    circuit = circuit_for(genesis, size)
    size = circuit.size
    if progress:
        progress("keys", 0, 1)
    ensure_keys(circuit)  # compile + set up once here, so the workers only load cached keys
    if progress:
        progress("keys", 1, 1)
    store = BlockStore(root / "blocks", first_height=1)
    report = ProvingReport()
    try:
        top = store.last_height if last is None else min(last, store.last_height)
        done = set(store.proven_heights())
        state = BlockProverState(
            genesis.markets, order_depth=size.order_depth, account_depth=size.account_depth
        )
        todo = []
        for h, payload in store.iter_from(1):
            if h > top:
                break
            block = _block_decoder.decode(payload)
            try:
                w = state.advance(block, circuit.params)
            except (UnsupportedInCircuit, ValueError) as exc:
                # outside the v1 rules, or more steps than this circuit size has
                report.unsupported = (h, str(exc))
                break
            if h not in done:
                todo.append((h, w))
        if not todo:
            return report
        with ProverPool(circuit.wrapper, workers=workers, backend=backend,
                        first_height=todo[0][0],
                        on_key_loaded=key_load_progress(progress)) as pool:  # fmt: skip
            for h, w in todo:
                pool.submit(h, w.inputs, w.public_signals)
            for n, res in enumerate(pool.results(), 1):
                if isinstance(res, ProofFailure):
                    report.failed.append((res.height, res.error))
                    break  # later blocks build on this one: stop publishing here
                store.put_proof(res.height, PROOF_KIND, res.proof)
                report.proven.append(res.height)
                report.prove_seconds.append(res.prove_seconds)
                if progress:
                    progress("proving", n, len(todo))
        return report
    finally:
        store.close()


def key_load_progress(
    progress: Callable[[str, int, int], None] | None,
) -> Callable[[float], None] | None:
    """Start the "prover key" stage of ``progress``; returns the pool's ``on_key_loaded``,
    which ends it. Call it just before making the pool."""
    if progress is None:
        return None
    progress("prover key", 0, 1)
    return lambda seconds: progress("prover key", 1, 1)


def verify_stored(
    data: str | os.PathLike[str], *, size: CircuitSize | None = None
) -> list[tuple[int, bool]]:
    """Check every stored proof against its stored block header: (height, ok) in height order."""
    root = Path(data)
    circuit = circuit_for(stored_genesis(root), size)
    vk = circuit.verifying_key
    store = BlockStore(root / "blocks", first_height=1, read_only=True)
    try:
        out = []
        for h in store.proven_heights():
            proof = store.get_proof(h)
            payload = store.get(h)
            ok = (
                proof is not None
                and payload is not None
                and proof.kind == PROOF_KIND
                and verify_block(_block_decoder.decode(payload).header, proof.payload, vk)
            )
            out.append((h, ok))
        return out
    finally:
        store.close()
