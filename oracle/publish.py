"""Publish proven blocks on chain, in height order, and read them back.

``Publisher.publish(header, proof)`` sends ``StateCommitments.submitBlock`` with the block
circuit's public inputs computed from the header alone (``proofs.witness.public_signals``,
the same function the Python verifier uses), so what the chain checks is exactly what
``proofs.verify.verify_block`` checks. A block the contract refuses (wrong pre-state root,
height or sequence, a proof that does not verify) raises ``BlockRejected`` with the contract's
custom error, and nothing changes on chain.

``Publisher.publish_batch(headers, proof)`` sends ``StateCommitments.submitBatch``: K
consecutive blocks with one proof of the batch circuit (``proofs.batch``), whose public inputs
come from the headers alone (``proofs.batch.batch_public_signals``).

``Publisher.publish_blocks(headers, proofs)`` sends ``StateCommitments.submitBlocks``: K
consecutive blocks, each with its own single proof, in one transaction whose one pairing
check covers every proof (``Groth16Verifier._verifyMany``). Nothing is proved again: it is
``publish`` for blocks that are already proven, at a lower gas cost per block.

``LivePublisher`` does the same for a running venue: proven blocks go into a queue and one
thread, the only user of the chain connection, publishes them and reports each landing
(``on_published(height, tx_hash)``, e.g. ``Gateway.on_published`` for the traders' on_chain
finality). The blocks that are queued when it is free go out together (``max_blocks``), so a
chain slower than the prover costs fewer transactions instead of a growing queue.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import msgspec

from matching.block import BlockHeader
from proofs.batch import batch_public_signals
from proofs.witness import UnsupportedInCircuit, public_signals

from .chain import Chain, retry_unreachable
from .client import ContractClient
from .deploy import Deployment
from .reverts import ContractRevert

__all__ = [
    "BLOCKS_PER_TX",
    "BlockRejected",
    "LivePublisher",
    "PublishedBatch",
    "PublishedBlock",
    "Publisher",
    "publish_group",
]

log = logging.getLogger(__name__)

#: How many proven blocks a running venue puts in one transaction at most, when that many
#: are waiting (``LivePublisher``'s ``max_blocks`` in ``serve`` and the demo): bench/RESULTS.md,
#: "Several proven blocks per transaction".
BLOCKS_PER_TX = 8


class BlockRejected(Exception):
    """The chain refused a block: ``revert`` is the contract's error (name and arguments).
    ``landed``: blocks of the same call that did land before it (``publish_group``)."""

    def __init__(self, height: int, revert: ContractRevert | str) -> None:
        self.height = height
        self.revert = revert
        self.landed: list[PublishedBlock] = []
        super().__init__(f"block {height} rejected on chain: {revert}")


class PublishedBlock(msgspec.Struct, frozen=True):
    """A block accepted on chain: its transaction and the gas it used. When the transaction
    carried ``tx_blocks`` > 1 blocks (``Publisher.publish_blocks``), ``gas_used`` is this
    block's share of it, rounded down."""

    height: int
    tx_hash: str
    gas_used: int
    tx_blocks: int = 1


class PublishedBatch(msgspec.Struct, frozen=True):
    """Blocks ``first .. last`` accepted on chain with one batch proof, in one transaction."""

    first: int
    last: int
    tx_hash: str
    gas_used: int

    @property
    def gas_per_block(self) -> int:
        """The transaction's gas over its blocks, rounded down."""
        return self.gas_used // (self.last - self.first + 1)

    def blocks(self) -> list[PublishedBlock]:
        """One ``PublishedBlock`` per block, each with its share of the gas."""
        n = self.last - self.first + 1
        share = self.gas_per_block
        return [PublishedBlock(h, self.tx_hash, share, n) for h in range(self.first, self.last + 1)]


class Publisher(ContractClient):
    """Submits proven blocks to a venue's ``StateCommitments``, or for a venue of several
    markets its ``MarketCommitments`` (the same calls, with 4 + 2M public inputs per block),
    over one chain connection."""

    ARTIFACT = "StateCommitments"
    CALLEES = ("BlockVerifier", "BatchVerifier")  # their errors (InputOutOfField, ...) bubble up

    def __init__(self, chain: Chain, deployment: Deployment, *, sender: str | None = None) -> None:
        if chain.w3.eth.chain_id != deployment.chain_id:
            raise ValueError(
                f"the deployment is on chain {deployment.chain_id}, connected to "
                f"{chain.w3.eth.chain_id}"
            )
        if deployment.markets:
            super().__init__(
                chain, deployment.commitments, artifact="MarketCommitments",
                callees=("BlockVerifierM", "BatchVerifier"),
            )  # fmt: skip
        else:
            super().__init__(chain, deployment.commitments)
        self.deployment = deployment
        self.sender = sender

    @property
    def latest_height(self) -> int:
        """Height of the last block accepted on chain."""
        return int(self._call(self.contract.functions.latestHeight()))

    def publish(self, header: BlockHeader, proof: bytes) -> PublishedBlock:
        """Submit ``header`` with its ``proof``; BlockRejected if the contract refuses it."""
        try:
            inputs = public_signals(header)
        except UnsupportedInCircuit as exc:
            raise BlockRejected(header.height, str(exc)) from exc
        call = self.contract.functions.submitBlock(inputs, bytes(proof))
        return PublishedBlock(header.height, *self._send(call, header.height))

    def publish_batch(self, headers: list[BlockHeader], proof: bytes) -> PublishedBatch:
        """Submit consecutive ``headers`` with one batch ``proof``; BlockRejected (at the first
        block's height) if the contract refuses the batch, and then no block of it lands."""
        if not headers:
            raise ValueError("a batch holds at least one block")
        first, last = headers[0].height, headers[-1].height
        try:
            inputs = batch_public_signals(headers)
        except (UnsupportedInCircuit, ValueError) as exc:
            raise BlockRejected(first, str(exc)) from exc
        call = self.contract.functions.submitBatch(inputs, bytes(proof))
        return PublishedBatch(first, last, *self._send(call, first))

    def publish_blocks(self, headers: list[BlockHeader], proofs: list[bytes]) -> PublishedBatch:
        """Submit consecutive ``headers``, each with its own block proof, in one transaction
        (``submitBlocks``); BlockRejected (at the first block's height) if the contract refuses
        any of them, and then none lands."""
        if not headers or len(headers) != len(proofs):
            raise ValueError(f"{len(headers)} headers, {len(proofs)} proofs: one per block, 1+")
        first, last = headers[0].height, headers[-1].height
        try:
            inputs = [x for h in headers for x in public_signals(h)]
        except UnsupportedInCircuit as exc:
            raise BlockRejected(first, str(exc)) from exc
        call = self.contract.functions.submitBlocks(inputs, b"".join(bytes(p) for p in proofs))
        return PublishedBatch(first, last, *self._send(call, first))

    def _send(self, call: Any, height: int) -> tuple[str, int]:
        """Transact ``call``: its hash and gas used; a revert is BlockRejected at ``height``
        (the first block of the call)."""
        try:
            receipt = self._transact(call, self.sender)
        except ContractRevert as exc:
            raise BlockRejected(height, exc) from exc
        return receipt["transactionHash"].to_0x_hex(), int(receipt["gasUsed"])


def publish_group(
    publisher: Publisher, group: list[tuple[BlockHeader, bytes]]
) -> list[PublishedBlock]:
    """Land consecutive proven blocks: one alone with ``submitBlock``, several in one
    ``submitBlocks`` transaction. If the chain refuses a group, its blocks are sent again one
    at a time, so those before the refused block land and the BlockRejected names it."""
    if len(group) == 1:
        return [publisher.publish(*group[0])]
    try:
        return publisher.publish_blocks([h for h, _ in group], [p for _, p in group]).blocks()
    except BlockRejected:
        pass
    done: list[PublishedBlock] = []
    for header, proof in group:
        try:
            done.append(publisher.publish(header, proof))
        except BlockRejected as exc:
            exc.landed = done
            raise
    return done  # refused together (e.g. out of gas), taken one by one


class LivePublisher:
    """Publishes a running venue's proven blocks from one thread, in the order given.

    :param publisher: a ``Publisher``, or a function that makes one from the first block's
        header and proof (e.g. deploying the contracts at that block's pre-state with the key
        that verifies that proof), called on the thread.
    :param on_published: ``(height, tx_hash)`` after each block lands (from this thread).
    :param max_blocks: at most this many queued blocks go out in one transaction
        (``publish_group``); 1 sends every block alone.
    A rejected block halts publishing (``halted`` says which and why): every later block's
    pre-state is its post-state. A chain that cannot be reached (``oracle.chain.unreachable``:
    a node restarting, a dropped network) only delays it: the group is sent again, with a
    growing pause, until it lands or the publisher is closed; blocks that landed meanwhile
    without their receipt being seen are not sent twice.
    """

    def __init__(
        self,
        publisher: Publisher | Callable[[BlockHeader, bytes], Publisher],
        *,
        on_published: Callable[[int, str], None] | None = None,
        max_blocks: int = 1,
    ) -> None:
        if max_blocks < 1:
            raise ValueError(f"max_blocks must be at least 1, not {max_blocks}")
        if isinstance(publisher, Publisher):
            self.publisher: Publisher | None = publisher
            self._make: Callable[[BlockHeader, bytes], Publisher] = lambda _h, _p: publisher
        else:
            self.publisher, self._make = None, publisher
        self.on_published = on_published
        self.max_blocks = max_blocks
        self.published: list[PublishedBlock] = []
        self.halted: tuple[int, str] | None = None
        self._queue: queue.Queue[tuple[BlockHeader, bytes] | None] = queue.Queue()
        self._landed = threading.Condition()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)
        self._thread.start()

    def submit(self, header: BlockHeader, proof: bytes) -> None:
        """Queue a proven block (call in height order; never blocks)."""
        self._queue.put((header, proof))

    @property
    def published_height(self) -> int:
        """Height of the last block this publisher landed (0: none yet)."""
        return self.published[-1].height if self.published else 0

    def wait(self, height: int, timeout: float) -> bool:
        """Wait until ``height`` is published (True) or publishing halted / timed out."""
        with self._landed:
            self._landed.wait_for(
                lambda: self.published_height >= height or self.halted is not None, timeout
            )
            return self.published_height >= height

    def close(self) -> None:
        """Publish what is queued, then stop the thread (a chain still unreachable is not
        waited for: what did not land is published on the next start)."""
        self._closing.set()
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        closing = False
        while not closing and (item := self._queue.get()) is not None:
            group = [item]
            while len(group) < self.max_blocks:  # what else is proven by now goes along
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    closing = True
                    break
                group.append(more)
            if self.halted is None:
                self._publish(group)

    def _publish(self, group: list[tuple[BlockHeader, bytes]]) -> None:
        pending = list(group)
        unsure = False  # a transaction whose receipt was lost may have landed

        def attempt() -> list[PublishedBlock]:
            nonlocal pending, unsure
            if self.publisher is None:
                self.publisher = self._make(*group[0])
            if unsure:
                landed = self.publisher.latest_height
                unsure = False
                self._record([PublishedBlock(h.height, "", 0) for h, _ in pending
                              if h.height <= landed])  # fmt: skip
                pending = [(h, p) for h, p in pending if h.height > landed]
            return publish_group(self.publisher, pending) if pending else []

        def stale() -> None:
            nonlocal unsure
            unsure = True

        try:
            done = retry_unreachable(
                attempt, stop=self._closing, on_retry=stale,
                what=f"publishing block {group[0][0].height}",
            )  # fmt: skip
        except Exception as exc:  # a rejection or a chain failure: stop here, say why
            first = pending[0][0].height if pending else group[0][0].height
            height = exc.height if isinstance(exc, BlockRejected) else first
            self._record(exc.landed if isinstance(exc, BlockRejected) else [])
            log.error("publishing block %d failed: %s", height, exc)
            with self._landed:
                self.halted = (height, str(exc))
                self._landed.notify_all()
            return
        self._record(done)

    def _record(self, done: list[PublishedBlock]) -> None:
        for block in done:
            with self._landed:
                self.published.append(block)
                self._landed.notify_all()
            if self.on_published is not None:
                try:
                    self.on_published(block.height, block.tx_hash)
                except Exception:  # a hook's failure must not stop publishing
                    log.exception("on_published hook failed for block %d", block.height)
