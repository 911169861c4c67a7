"""Independent re-execution of a venue's blocks: anyone with the block store can run it.

Starts from genesis (or the newest valid snapshot), re-executes every stored block with the
chosen engine, recomputes every root, price and event, and stops at the first block whose
stored content differs from the recomputation.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from matching import Block, BlockMismatch, replay_block
from matching.block import BlockHeader
from matching.encoding import decoder
from proofs.state import PoseidonState

from .blockstore import BlockStore
from .node import (
    engine_from_snapshot,
    make_engine,
    snapshot_decoder,
    stored_genesis,
)
from .snapshot import latest_snapshot

__all__ = ["ReplayReport", "replay"]

_block_decoder = decoder(Block)


class ReplayReport(msgspec.Struct):
    engine: str
    start_height: int
    blocks: int
    commands: int
    trades: int
    seconds: float
    last_height: int
    last_root: int
    mismatch: BlockMismatch | None = None
    #: blocks whose stored proof was checked against the recomputed header
    proofs_verified: int = 0
    #: batch proofs (``DIR/batches``, ``venue.batches``) checked against recomputed headers
    batches_verified: int = 0

    @property
    def ok(self) -> bool:
        return self.mismatch is None


def replay(
    data_dir: str | os.PathLike[str],
    *,
    engine: str = "reference",
    from_snapshot: bool = False,
    proofs: bool = False,
    progress: Callable[[int, int], None] | None = None,
    until: int | None = None,
    on_block: Callable[[int, PoseidonState], None] | None = None,
    store: BlockStore | None = None,
    follow: bool = False,
    poll: float = 1.0,
    stop: threading.Event | None = None,
) -> ReplayReport:
    """Re-execute the stored blocks; ``progress(done, total)`` is called after each block.

    ``until`` stops after that height; ``on_block(height, state)`` sees the recomputed
    commitment after each block that matched (e.g. to open an account at a height).
    ``store``: the ``BlockStore`` of a node running in this process, when there is one, so the
    replay sees blocks as they are written; otherwise the store is opened read-only (no lock),
    which works beside a venue that is running and sees the blocks durable at that moment.

    With ``proofs``, every stored validity proof is verified against the header this replay
    recomputed (not the stored one), and a proof that does not verify is reported like a root
    mismatch (field ``"proof"``); so is every batch proof in ``DIR/batches`` once all its blocks
    are replayed (field ``"batch proof"``, at the batch's first height).

    ``follow``: after the stored blocks, keep following the venue (a live verifier): every
    ``poll`` seconds the store is refreshed, new blocks are re-executed and proofs that arrived
    since are checked against the headers recomputed earlier, until ``stop`` is set, ``until``
    is reached or something does not match.
    """
    root = Path(data_dir)
    g = stored_genesis(root)
    start = 0
    parent = 0
    eng = None
    com = None
    if from_snapshot:
        # with ``until``, a snapshot below it: the block at ``until`` is still re-executed
        found = latest_snapshot(root / "snapshots", at_most=None if until is None else until - 1)
        if found.snapshot is not None:
            snap = snapshot_decoder.decode(found.snapshot.payload)
            eng = engine_from_snapshot(engine, snap.engine, g)
            com = PoseidonState.restore(
                snap.engine,
                snap.commitment,
                account_depth=g.account_depth,
                order_depth=g.order_depth,
            )
            start, parent = snap.height, int.from_bytes(snap.parent_hash, "big")
    if eng is None or com is None:
        eng = make_engine(engine, g)
        com = PoseidonState(g.markets, account_depth=g.account_depth, order_depth=g.order_depth)
    vk = None
    if proofs:
        from proofs.batch import BatchCircuit, verify_batch
        from proofs.verify import verify_block

        from .batches import stored_batches
        from .proving import PROOF_KIND, circuit_for

        vk = circuit_for(g).verifying_key
    if follow and store is not None:
        raise ValueError("follow reads a venue from its directory (store must be None)")
    own = store is None
    if store is None:
        store = BlockStore(root / "blocks", first_height=1, read_only=True)
    try:
        last = store.last_height if until is None else min(until, store.last_height)
        total = last - start
        report = ReplayReport(engine, start, 0, 0, 0, 0.0, start, com.root)
        t0 = time.perf_counter()
        #: recomputed headers of replayed blocks whose proof has not arrived (follow mode)
        unproven: dict[int, BlockHeader] = {}
        #: recomputed headers, for the batch proofs; the batches already checked
        recomputed: dict[int, BlockHeader] = {}
        batches_done: set[tuple[int, int]] = set()
        batch_keys: dict[int, Any] = {}  # K -> the batch circuit's verifying key

        def check_batches() -> bool:
            """Verify each stored batch proof whose blocks are all replayed: False on a bad
            one (``report.mismatch`` set)."""
            for first, last, path in stored_batches(root):
                replayed = all(h in recomputed for h in range(first, last + 1))
                if (first, last) in batches_done or not replayed:
                    continue
                headers = [recomputed[h] for h in range(first, last + 1)]
                k = last - first + 1
                if k not in batch_keys:
                    batch_keys[k] = BatchCircuit(circuit_for(g), k).verifying_key
                if not verify_batch(headers, path.read_bytes(), batch_keys[k]):
                    report.mismatch = BlockMismatch(
                        first, "batch proof", f"a valid proof of blocks {first}..{last}",
                        f"{path.name}: invalid",
                    )  # fmt: skip
                    return False
                batches_done.add((first, last))
                report.batches_verified += 1
            return True

        def check_proof(height: int, header: BlockHeader) -> bool:
            """Verify the stored proof of ``height`` against ``header``: False on a bad one
            (``report.mismatch`` set); a missing proof is remembered when following."""
            proof = store.get_proof(height)
            if proof is None:
                if follow:
                    unproven[height] = header
                return True
            if proof.kind != PROOF_KIND or not verify_block(header, proof.payload, vk):
                report.mismatch = BlockMismatch(
                    height, "proof", "a valid proof of this header", f"{proof.kind}: invalid"
                )
                return False
            report.proofs_verified += 1
            return True

        while True:
            for height, payload in store.iter_from(report.last_height + 1):
                if height > last:
                    break
                block = _block_decoder.decode(payload)
                again, mismatch = replay_block(eng, com, block, parent)  # type: ignore[arg-type]
                if mismatch is not None:
                    report.mismatch = mismatch
                    break
                if vk is not None and not check_proof(height, again.header):
                    break
                if vk is not None:
                    recomputed[height] = again.header
                parent = com.header_hash(block.header)
                report.blocks += 1
                report.commands += len(block.commands)
                report.trades += sum(s.trade_count for s in again.header.markets)
                report.last_height = height
                report.last_root = com.root
                if on_block is not None:
                    on_block(height, com)
                if progress is not None:
                    progress(report.blocks, total)
            if vk is not None and report.mismatch is None and not check_batches():
                break
            done = until is not None and report.last_height >= until
            if not follow or done or report.mismatch is not None or (stop and stop.is_set()):
                break
            # follow: wait for the venue, then take in its new blocks and proofs
            if stop is not None:
                stop.wait(poll)
            else:
                time.sleep(poll)
            store.refresh()
            for height in sorted(unproven):
                if store.get_proof(height) is not None:
                    header = unproven.pop(height)
                    if not check_proof(height, header):
                        break
            if report.mismatch is not None:
                break
            last = store.last_height if until is None else min(until, store.last_height)
            total = last - start
        report.seconds = time.perf_counter() - t0
        return report
    finally:
        if own:
            store.close()
