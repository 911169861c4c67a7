"""Batch proofs of a venue's blocks, and publishing K blocks per on-chain verification.

``provenbook publish --batch K`` is ``BatchPublisher(data, chain, k).run_once()``: from the
chain's head (or block 1, deploying the contracts with a ``BatchVerifier`` beside the block
verifier), it proves each group of K stored blocks with the batch circuit (``proofs.batch``)
and lands it with ``submitBatch`` (``StateCommitments``, or ``MarketCommitments`` for a venue
of several markets), one pairing for K blocks. A group that is
not yet complete waits for more blocks; ``provenbook publish`` without ``--batch`` sends blocks
one by one with their stored single proofs, and both extend the same chain. The publisher
keeps the witness builder's state and its prover pool between rounds, so ``publish --batch K
--follow`` lands a running venue's blocks K at a time as they are stored (the store is read
without a lock, beside the ``serve`` that writes it).

Batch proofs are kept in ``DIR/batches/FIRST-LAST.proof`` (written atomically, so a crash
leaves the whole proof or none), so a publication that fails after proving does not prove
again. A batch proof is made from the blocks themselves (the witness builder replays them
from genesis), not from their single proofs, so blocks need not be proven one by one first.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import msgspec

from matching import Block
from matching.block import BlockHeader
from matching.encoding import decoder
from oracle.chain import Chain
from oracle.deploy import Deployment, DeploymentError, deploy_venue, load_deployment
from oracle.publish import PublishedBatch, Publisher
from proofs.batch import BatchCircuit, verify_batch
from proofs.witness import BlockProverState, BlockWitness

from .blockstore import BlockStore
from .node import stored_genesis
from .prover import ProofFailure, ProverPool
from .proving import circuit_for, ensure_keys

__all__ = [
    "BATCH_DIR",
    "BatchPublishReport",
    "BatchPublisher",
    "batch_circuit_for",
    "batch_path",
    "stored_batches",
]

#: Where a venue's batch proofs are kept, inside its data directory.
BATCH_DIR = "batches"

_block_decoder = decoder(Block)


class BatchPublishReport(msgspec.Struct):
    """What a ``BatchPublisher`` did: the deployment used, the batches it landed (each proved
    here or read from ``DIR/batches``), and how many stored blocks wait for a full batch."""

    deployment: Deployment | None = None
    published: list[PublishedBatch] = msgspec.field(default_factory=list)
    proved: int = 0
    waiting: int = 0


def batch_circuit_for(data: str | os.PathLike[str], k: int) -> BatchCircuit:
    """The batch circuit of ``k`` blocks of the venue at ``data`` (its block circuit's size);
    ValueError when the venue has no block circuit or ``k`` is out of range."""
    return BatchCircuit(circuit_for(stored_genesis(Path(data))), k)


def batch_path(data: str | os.PathLike[str], first: int, last: int) -> Path:
    """The file of the batch proof of blocks ``first .. last``."""
    return Path(data) / BATCH_DIR / f"{first:010d}-{last:010d}.proof"


def stored_batches(data: str | os.PathLike[str]) -> list[tuple[int, int, Path]]:
    """``(first, last, file)`` of the venue's stored batch proofs, by first height (files not
    named as ``batch_path`` names them are not batch proofs and are left out)."""
    out = []
    for path in (Path(data) / BATCH_DIR).glob("*.proof"):
        first, _, last = path.stem.partition("-")
        if first.isdigit() and last.isdigit() and int(first) < int(last):
            out.append((int(first), int(last), path))
    return sorted(out)


def _save(path: Path, proof: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(proof)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class BatchPublisher:
    """Proves and lands a venue's stored blocks K at a time, from the chain's head on.

    It keeps the witness builder's state between rounds, so each ``run_once`` (or each round
    of ``follow``) only witnesses the blocks stored since the last one, and its prover pool
    loads the batch circuit's keys once. The store is opened read-only: this runs beside the
    ``serve`` that writes the blocks. ``close`` ends the pool.
    """

    def __init__(
        self,
        data: str | os.PathLike[str],
        chain: Chain,
        k: int,
        *,
        deployment_file: str | os.PathLike[str] | None = None,
        workers: int = 2,
        backend: str = "local",
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        """Publishes the venue's stored blocks after the chain's head in batches of ``k``.

        With ``deployment_file`` naming an existing file, publishing resumes on that deployment
        (which must take batches of ``k``); otherwise the contracts are deployed at block 1's
        pre-state with both verifiers (and the deployment written to ``deployment_file`` if
        given). Batches are proved in parallel by a ``ProverPool`` of ``workers`` (``backend``:
        local processes or ``ray://host:port``) and published in order as their proofs arrive.
        ``progress(what, done, total)``: "keys" (compile + setup once, then cached), "batches". A
        batch the chain refuses raises ``oracle.publish.BlockRejected`` and one that cannot be
        proved ``ValueError``; the batches before it stay published. ``run_once`` is
        ``provenbook publish --batch K``, ``follow`` adds ``--follow``.
        """
        self.root = Path(data)
        self.chain = chain
        self.circuit = batch_circuit_for(self.root, k)
        self.deployment_file = deployment_file
        self.workers, self.backend = workers, backend
        self.progress = progress
        self.report = BatchPublishReport()
        self._publisher: Publisher | None = None
        self._after = 0  # the chain's head: blocks after it are published here
        if deployment_file is not None and Path(deployment_file).exists():
            d = load_deployment(deployment_file)
            if d.batch_blocks != k:
                raise DeploymentError(
                    f"the deployment in {deployment_file} takes batches of {d.batch_blocks} "
                    f"blocks (0: none), not {k}"
                )
            self.report.deployment, self._publisher = d, Publisher(chain, d)
            self._after = self._publisher.latest_height
        if progress:
            progress("keys", 0, 1)
        ensure_keys(self.circuit.block)
        ensure_keys(self.circuit)  # the workers only load cached keys
        if progress:
            progress("keys", 1, 1)
        block = self.circuit.block
        self._state = BlockProverState(
            block.markets, order_depth=block.size.order_depth,
            account_depth=block.size.account_depth,
        )  # fmt: skip
        self._store = BlockStore(self.root / "blocks", first_height=1, read_only=True)
        self._witnessed = 0
        #: witnessed blocks after the chain's head, not yet in a landed batch
        self._open: list[tuple[BlockHeader, BlockWitness]] = []
        self._pool: ProverPool | None = None
        self._jobs = 0  # batches sent to the pool: its job numbers, in order
        self._round = 0  # batches to land this round (progress)

    def run_once(self) -> BatchPublishReport:
        """Witness the blocks stored since the last round and land every full batch."""
        self._store.refresh()
        k = self.circuit.k
        for h, payload in self._store.iter_from(self._witnessed + 1):
            b = _block_decoder.decode(payload)
            w = self._state.advance(b, self.circuit.block.params)
            self._witnessed = h
            if h > self._after:
                self._open.append((b.header, w))
        full = len(self._open) // k
        groups = [self._open[i * k : (i + 1) * k] for i in range(full)]
        self._open = self._open[full * k :]
        self.report.waiting = len(self._open)
        proofs: list[bytes | None] = []
        for group in groups:
            headers = [hd for hd, _ in group]
            path = batch_path(self.root, headers[0].height, headers[-1].height)
            proof = path.read_bytes() if path.is_file() else None
            if proof is not None and not verify_batch(headers, proof, self.circuit.verifying_key):
                proof = None  # another key's, or damaged: prove again
            if proof is None:
                if self._pool is None:
                    self._pool = ProverPool(
                        self.circuit.wrapper, workers=self.workers, backend=self.backend,
                        first_height=self._jobs,
                    )  # fmt: skip
                self._pool.submit(self._jobs, *self.circuit.inputs([w for _, w in group]))
                self._jobs += 1  # the pool's results come in job order
            proofs.append(proof)
        self._round = len(self.report.published) + len(groups)
        results = self._pool.results() if self._pool is not None else iter(())
        for group, proof in zip(groups, proofs, strict=True):
            headers = [hd for hd, _ in group]
            if proof is None:
                res = next(results)
                first, last = headers[0].height, headers[-1].height
                if isinstance(res, ProofFailure):
                    raise ValueError(f"blocks {first}..{last}: {res.error}")
                proof = res.proof
                _save(batch_path(self.root, first, last), proof)
                self.report.proved += 1
            self._land(headers, proof)
        return self.report

    def _land(self, headers: list[BlockHeader], proof: bytes) -> None:
        if self._publisher is None:
            block = self.circuit.block
            names = [f"{m.symbol} / ProvenBook" for m in block.markets]
            d = deploy_venue(
                self.chain, block.verifying_key, start=headers[0],
                batch_vk=self.circuit.verifying_key, description=names[0], descriptions=names,
            )  # fmt: skip
            if self.deployment_file is not None:
                d.save(self.deployment_file)
            self.report.deployment, self._publisher = d, Publisher(self.chain, d)
        self.report.published.append(self._publisher.publish_batch(headers, proof))
        if self.progress:
            self.progress("batches", len(self.report.published), self._round)

    def follow(self, stop: threading.Event, poll: float = 1.0) -> BatchPublishReport:
        """``run_once`` every ``poll`` seconds until ``stop`` is set (a running venue's
        blocks land K at a time as it stores them)."""
        while True:
            self.run_once()
            if stop.wait(poll):
                return self.report

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self._store.close()

    def __enter__(self) -> BatchPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
