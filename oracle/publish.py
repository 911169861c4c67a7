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

``LivePublisher`` does the same for a running venue: proven blocks go into a queue and one
thread, the only user of the chain connection, publishes them and reports each landing
(``on_published(height, tx_hash)``, e.g. ``Gateway.on_published`` for the traders' on_chain
finality).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

import msgspec

from matching.block import BlockHeader
from proofs.batch import batch_public_signals
from proofs.witness import UnsupportedInCircuit, public_signals

from .chain import Chain
from .client import ContractClient
from .deploy import Deployment
from .reverts import ContractRevert

__all__ = [
    "BlockRejected",
    "LivePublisher",
    "PublishedBatch",
    "PublishedBlock",
    "Publisher",
]

log = logging.getLogger(__name__)


class BlockRejected(Exception):
    """The chain refused a block: ``revert`` is the contract's error (name and arguments)."""

    def __init__(self, height: int, revert: ContractRevert | str) -> None:
        self.height = height
        self.revert = revert
        super().__init__(f"block {height} rejected on chain: {revert}")


class PublishedBlock(msgspec.Struct, frozen=True):
    """A block accepted on chain: its transaction and the gas it used."""

    height: int
    tx_hash: str
    gas_used: int


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


class Publisher(ContractClient):
    """Submits proven blocks to a venue's ``StateCommitments`` (one chain connection)."""

    ARTIFACT = "StateCommitments"
    CALLEES = ("BlockVerifier", "BatchVerifier")  # their errors (InputOutOfField, ...) bubble up

    def __init__(self, chain: Chain, deployment: Deployment, *, sender: str | None = None) -> None:
        if chain.w3.eth.chain_id != deployment.chain_id:
            raise ValueError(
                f"the deployment is on chain {deployment.chain_id}, connected to "
                f"{chain.w3.eth.chain_id}"
            )
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
        try:
            receipt = self._transact(call, self.sender)
        except ContractRevert as exc:
            raise BlockRejected(header.height, exc) from exc
        return PublishedBlock(header.height, receipt["transactionHash"].to_0x_hex(),
                              int(receipt["gasUsed"]))  # fmt: skip

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
        try:
            receipt = self._transact(call, self.sender)
        except ContractRevert as exc:
            raise BlockRejected(first, exc) from exc
        return PublishedBatch(first, last, receipt["transactionHash"].to_0x_hex(),
                              int(receipt["gasUsed"]))  # fmt: skip


class LivePublisher:
    """Publishes a running venue's proven blocks from one thread, in the order given.

    :param publisher: a ``Publisher``, or a function that makes one from the first block's
        header and proof (e.g. deploying the contracts at that block's pre-state with the key
        that verifies that proof), called on the thread.
    :param on_published: ``(height, tx_hash)`` after each block lands (from this thread).
    A rejected block halts publishing (``halted`` says which and why): every later block's
    pre-state is its post-state.
    """

    def __init__(
        self,
        publisher: Publisher | Callable[[BlockHeader, bytes], Publisher],
        *,
        on_published: Callable[[int, str], None] | None = None,
    ) -> None:
        if isinstance(publisher, Publisher):
            self.publisher: Publisher | None = publisher
            self._make: Callable[[BlockHeader, bytes], Publisher] = lambda _h, _p: publisher
        else:
            self.publisher, self._make = None, publisher
        self.on_published = on_published
        self.published: list[PublishedBlock] = []
        self.halted: tuple[int, str] | None = None
        self._queue: queue.Queue[tuple[BlockHeader, bytes] | None] = queue.Queue()
        self._landed = threading.Condition()
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
        """Publish what is queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            header, proof = item
            if self.halted is not None:
                continue
            try:
                if self.publisher is None:
                    self.publisher = self._make(header, proof)
                done = self.publisher.publish(header, proof)
            except Exception as exc:  # a rejection or a chain failure: stop here, say why
                log.error("publishing block %d failed: %s", header.height, exc)
                with self._landed:
                    self.halted = (header.height, str(exc))
                    self._landed.notify_all()
                continue
            with self._landed:
                self.published.append(done)
                self._landed.notify_all()
            if self.on_published is not None:
                try:
                    self.on_published(done.height, done.tx_hash)
                except Exception:  # a hook's failure must not stop publishing
                    log.exception("on_published hook failed for block %d", done.height)
