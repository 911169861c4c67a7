"""Live proving: the running venue's blocks are proved as soon as they are durable.

::

    node.on_block (committer thread)  ->  queue  ->  prover thread:
        witness (BlockProverState.advance, strictly in height order, in a process of its
                 own so that it never holds the gateway's GIL: venue.witnessproc)
        -> ProverPool (worker processes forked from one key load, or Ray actors)
        -> results in height order -> BlockStore.put_proof -> on_proven(height, block)

The sequencer never waits for a proof: ``on_block`` only enqueues. Witnesses are built in
order because each block's witness needs the state after the previous block; proofs are
made concurrently by the pool and published in order, which is what a verifier contract
(pre-state root = last accepted post-state root) and the traders' finality need.

Restart: blocks stored without a proof (the venue stopped before they were proved) are
proved first. The witness state starts from the venue's newest snapshot at or below the last
proven height (``BlockProverState.from_snapshots``), or from genesis when there is none, and
is advanced over the stored blocks from there.

Halt: a block the circuit cannot describe (``UnsupportedInCircuit``, more steps than the
circuit size has) or whose witness does not satisfy the circuit stops live proving at that
height, because its post-state is the next proof's pre-state. ``halted`` says where and why;
blocks keep being sequenced and stored, traders' finality stops at ``in_block``.

Wiring: start the prover before the gateway and close it after (both chain ``node.on_block``
and restore what they found).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from matching import Block
from matching.encoding import decoder, encode
from proofs.verify import CircuitSize
from proofs.witness import UnsupportedInCircuit

from .node import VenueNode
from .prover import ProofFailure, ProofResult, ProverPool
from .proving import PROOF_KIND, circuit_for, ensure_keys, key_load_progress
from .witnessproc import WitnessProcess

__all__ = ["LiveProver"]

log = logging.getLogger(__name__)
_block_decoder = decoder(Block)


class LiveProver:
    """Proves a ``VenueNode``'s blocks as they become durable (see module docstring).

    :param on_proven: called with ``(height, block)`` from the prover thread once the proof
        of ``block`` is stored, in height order (e.g. ``Gateway.on_block_proven``).
    :param on_proof: called with ``(block, proof)`` just before ``on_proven``, in height order
        (e.g. ``oracle.publish.LivePublisher.submit`` with the header).
    :param progress: ``(stage, done, total)`` for the key set-up and the catch-up.
    """

    def __init__(
        self,
        node: VenueNode,
        *,
        size: CircuitSize | None = None,
        workers: int = 1,
        backend: str = "local",
        on_proven: Callable[[int, Block], None] | None = None,
        on_proof: Callable[[Block, bytes], None] | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.node = node
        # ValueError when the venue does not fit; None: the test size, signed iff the venue is
        self.circuit = circuit_for(node.genesis, size)
        self.size = self.circuit.size
        self.workers = workers
        self.backend = backend
        self.on_proven = on_proven
        self.on_proof = on_proof
        self.progress = progress
        #: (height, reason) of the block where proving stopped for good, else None
        self.halted: tuple[int, str] | None = None
        #: prove seconds of every proof made by this prover (worker wall time)
        self.prove_seconds: list[float] = []
        #: height of the state live proving started from (a snapshot's, or 0: genesis)
        self.started_from = 0
        #: per proof, seconds from the block reaching the prover to its proof being stored
        #: (queueing behind earlier blocks included: what a trader waits for "proven")
        self.lag_seconds: list[float] = []
        self._since: dict[int, float] = {}
        self._proven = 0
        self._advanced = 0
        self._witness: WitnessProcess | None = None
        self._queue: queue.Queue[Block] = queue.Queue()
        self._blocks: dict[int, Block] = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: Callable[[Block], None] | None = None
        self._pool: ProverPool | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Set up keys (compile + setup the first time: minutes; then a cache load), hook the
        node, catch up with the stored blocks and start proving. Blocks until keys are ready."""
        if self._thread is not None:
            raise RuntimeError("the live prover is already started")
        if self.progress:
            self.progress("keys", 0, 1)
        ensure_keys(self.circuit)  # here once, so the workers only load the cached keys
        if self.progress:
            self.progress("keys", 1, 1)
        # Hook first, then scan the store: a block stored in between is seen twice (the
        # thread skips heights it already has), never zero times.
        self._previous = self.node.on_block
        self.node.on_block = self._on_block
        try:
            self._catch_up()
        except BaseException:
            self.close()  # unhook the node, stop the workers: nothing half-started is left
            raise
        self._thread = threading.Thread(target=self._run, name="live-prover", daemon=True)
        self._thread.start()

    def _catch_up(self) -> None:
        """Rebuild the witness state and hand the stored blocks without a proof to the pool."""
        stored = self.node.blocks
        done = set(stored.proven_heights())
        first_unproven = next(h for h in range(1, stored.last_height + 2) if h not in done)
        depths = {"order_depth": self.size.order_depth, "account_depth": self.size.account_depth}
        self._witness = WitnessProcess(
            self.node.dir, self.node.genesis.markets, depths, self.circuit.params,
            proven=first_unproven - 1,
        )  # fmt: skip
        self._advanced = self.started_from = self._witness.height
        self._pool = ProverPool(
            self.circuit.wrapper, workers=self.workers, backend=self.backend,
            cache_dir=self.circuit.cache_dir, first_height=first_unproven,
            on_key_loaded=key_load_progress(self.progress),
        )  # fmt: skip
        self._proven = first_unproven - 1
        top = stored.last_height
        for h, payload in stored.iter_from(self._advanced + 1):
            if h > top:
                break
            self._take(_block_decoder.decode(payload), payload, submit=h >= first_unproven)
            if self.progress:
                self.progress("catch-up", h, top)

    def close(self) -> None:
        """Stop proving (proofs in flight are abandoned; they are made again on restart)."""
        if self.node.on_block == self._on_block:
            self.node.on_block = self._previous
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._witness is not None:
            self._witness.close()
            self._witness = None

    def __enter__(self) -> LiveProver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- state ----------------------------------------------------------------------------

    @property
    def proven_height(self) -> int:
        """Every block up to this height has a stored, verified proof."""
        return self._proven

    def wait(self, height: int, timeout: float) -> bool:
        """Wait until block ``height`` is proven; False on timeout, or once proving has halted
        at or below ``height`` and every block before the halt is proven."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._proven < height and not self._stuck():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return self._proven >= height

    def _stuck(self) -> bool:
        return self.halted is not None and self._proven >= self.halted[0] - 1

    # --- the pipeline ---------------------------------------------------------------------

    def _on_block(self, block: Block) -> None:  # committer's thread: enqueue only
        if self._previous is not None:
            self._previous(block)
        self._queue.put(block)

    def _take(self, block: Block, payload: bytes | None = None, *, submit: bool = True) -> None:
        """Advance the witness state past ``block`` (encoded: ``payload``) and hand its proof
        to the pool."""
        h = block.header.height
        if h <= self._advanced or self.halted is not None:
            return  # seen in the store scan and again from the hook, or past a halt
        if h != self._advanced + 1:
            self._halt(h, f"block {h} arrived after {self._advanced}: a block is missing")
            return
        assert self._witness is not None and self._pool is not None
        try:
            w = self._witness.advance(encode(block) if payload is None else payload, want=submit)
        except (UnsupportedInCircuit, ValueError) as exc:
            self._halt(h, f"not provable with this circuit: {exc}")
            return
        self._advanced = h
        if w is not None:
            self._blocks[h] = block
            self._since[h] = time.monotonic()
            self._pool.submit(h, *w)

    def _halt(self, height: int, reason: str) -> None:
        """Nothing from ``height`` on is proved; proofs of earlier blocks still publish."""
        log.error("live proving halted at block %d: %s", height, reason)
        with self._cond:
            if self.halted is None or height < self.halted[0]:
                self.halted = (height, reason)
            self._cond.notify_all()

    def _run(self) -> None:
        pool = self._pool
        assert pool is not None
        try:
            while not self._stop.is_set():
                try:
                    block = self._queue.get(timeout=0.05 if pool.pending else 0.2)
                    self._take(block)
                    while True:  # drain what else arrived, then look at results
                        self._take(self._queue.get_nowait())
                except queue.Empty:
                    pass
                for res in pool.results(timeout=0.05):
                    self._publish(res)
        except Exception as exc:  # a bug here must not pass silently
            log.exception("live prover failed")
            self._halt(self._proven + 1, f"{type(exc).__name__}: {exc}")

    def _publish(self, res: ProofResult | ProofFailure) -> None:
        if self.halted is not None and res.height >= self.halted[0]:
            return
        if isinstance(res, ProofFailure):
            self._halt(res.height, f"proof failed: {res.error}")
            return
        h = res.height
        self.node.blocks.put_proof(h, PROOF_KIND, res.proof)
        self.prove_seconds.append(res.prove_seconds)
        self.lag_seconds.append(time.monotonic() - self._since.pop(h))
        block = self._blocks.pop(h)
        with self._cond:
            self._proven = h
            self._cond.notify_all()
        if self.on_proof is not None:
            try:
                self.on_proof(block, res.proof)
            except Exception:  # the proof is stored; a listener's bug must not stop proving
                log.exception("on_proof hook failed for block %d", h)
        hook = self.on_proven
        if hook is not None:
            try:
                hook(h, block)
            except Exception:  # the proof is stored; a listener's bug must not stop proving
                log.exception("on_proven hook failed for block %d", h)
