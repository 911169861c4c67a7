"""Batch proofs of a venue's blocks, and publishing K blocks per on-chain verification.

``publish_batches(data, chain, k)`` is ``provenbook publish --batch K``: from the chain's head
(or block 1, deploying the contracts with a ``BatchVerifier`` beside the block verifier), it
proves each group of K stored blocks with the batch circuit (``proofs.batch``) and lands it
with ``StateCommitments.submitBatch``, one pairing for K blocks. A group that is not yet
complete waits for more blocks; ``provenbook publish`` without ``--batch`` sends blocks one
by one with their stored single proofs, and both extend the same chain.

Batch proofs are kept in ``DIR/batches/FIRST-LAST.proof`` (written atomically, so a crash
leaves the whole proof or none), so a publication that fails after proving does not prove
again. A batch proof is made from the blocks themselves (the witness builder replays them
from genesis), not from their single proofs, so blocks need not be proven one by one first.
"""

from __future__ import annotations

import os
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
from .prover import ProofFailure, ProverPool
from .proving import circuit_for, ensure_keys, stored_genesis

__all__ = [
    "BATCH_DIR",
    "BatchPublishReport",
    "batch_circuit_for",
    "batch_path",
    "publish_batches",
    "stored_batches",
]

#: Where a venue's batch proofs are kept, inside its data directory.
BATCH_DIR = "batches"

_block_decoder = decoder(Block)


class BatchPublishReport(msgspec.Struct):
    """What ``publish_batches`` did: the deployment used, the batches it landed (each proved
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


def publish_batches(
    data: str | os.PathLike[str],
    chain: Chain,
    k: int,
    *,
    deployment_file: str | os.PathLike[str] | None = None,
    workers: int = 2,
    backend: str = "local",
    progress: Callable[[str, int, int], None] | None = None,
) -> BatchPublishReport:
    """Prove and publish the venue's stored blocks after the chain's head in batches of ``k``.

    With ``deployment_file`` naming an existing file, publishing resumes on that deployment
    (which must take batches of ``k``); otherwise the contracts are deployed at block 1's
    pre-state with both verifiers (and the deployment written to ``deployment_file`` if
    given). Batches are proved in parallel by a ``ProverPool`` of ``workers`` (``backend``:
    local processes or ``ray://host:port``) and published in order as their proofs arrive.
    ``progress(what, done, total)``: "keys" (compile + setup once, then cached), "batches". A
    batch the chain refuses raises ``oracle.publish.BlockRejected`` and one that cannot be
    proved ``ValueError``; the batches before it stay published.
    """
    root = Path(data)
    circuit = batch_circuit_for(root, k)
    report = BatchPublishReport()
    publisher: Publisher | None = None
    after = 0
    if deployment_file is not None and Path(deployment_file).exists():
        report.deployment = load_deployment(deployment_file)
        if report.deployment.batch_blocks != k:
            raise DeploymentError(
                f"the deployment in {deployment_file} takes batches of "
                f"{report.deployment.batch_blocks} blocks (0: none), not {k}"
            )
        publisher = Publisher(chain, report.deployment)
        after = publisher.latest_height
    if progress:
        progress("keys", 0, 1)
    ensure_keys(circuit.block)
    ensure_keys(circuit)  # the workers only load cached keys
    if progress:
        progress("keys", 1, 1)
    groups = _groups(root, circuit, after)
    report.waiting = groups.waiting
    if not groups.headers:
        return report
    todo = [i for i, proof in enumerate(groups.proofs) if proof is None]
    pool = None
    if todo:
        pool = ProverPool(circuit.wrapper, workers=workers, backend=backend, first_height=0)
        for n, i in enumerate(todo):  # the pool's results come in job order: 0, 1, ...
            inputs, public = groups.inputs[i]
            pool.submit(n, inputs, public)
    try:
        results = iter(pool.results()) if pool is not None else iter(())
        for i, headers in enumerate(groups.headers):
            proof = groups.proofs[i]
            if proof is None:
                res = next(results)
                if isinstance(res, ProofFailure):
                    raise ValueError(
                        f"blocks {headers[0].height}..{headers[-1].height}: {res.error}"
                    )
                proof = res.proof
                _save(batch_path(root, headers[0].height, headers[-1].height), proof)
                report.proved += 1
            if publisher is None:
                block = circuit.block
                d = deploy_venue(
                    chain, block.verifying_key, start=headers[0], batch_vk=circuit.verifying_key,
                    description=f"{block.params.market.symbol} / ProvenBook",
                )  # fmt: skip
                if deployment_file is not None:
                    d.save(deployment_file)
                report.deployment, publisher = d, Publisher(chain, d)
            report.published.append(publisher.publish_batch(headers, proof))
            if progress:
                progress("batches", len(report.published), len(groups.headers))
    finally:
        if pool is not None:
            pool.close()
    return report


class _Groups(msgspec.Struct):
    """The full batches after a height: their headers, a stored proof that verifies (or
    None), the batch circuit's inputs and public signals when there is none."""

    headers: list[list[BlockHeader]] = msgspec.field(default_factory=list)
    proofs: list[bytes | None] = msgspec.field(default_factory=list)
    inputs: dict[int, tuple[dict[str, object], list[int]]] = msgspec.field(default_factory=dict)
    waiting: int = 0


def _groups(root: Path, circuit: BatchCircuit, after: int) -> _Groups:
    """Replay the witnesses of the venue's stored blocks and cut those after ``after`` into
    full batches of ``circuit.k``."""
    k, block = circuit.k, circuit.block
    out = _Groups()
    with BlockStore(root / "blocks", first_height=1, read_only=True) as store:
        full = (store.last_height - after) // k
        out.waiting = (store.last_height - after) % k
        state = BlockProverState(
            block.params.market, order_depth=block.size.order_depth,
            account_depth=block.size.account_depth,
        )  # fmt: skip
        group: list[tuple[BlockHeader, BlockWitness]] = []
        for h, payload in store.iter_from(1):
            if h > after + full * k:
                break
            b = _block_decoder.decode(payload)
            w = state.advance(b, block.params)
            if h > after:
                group.append((b.header, w))
            if len(group) < k:
                continue
            headers = [hd for hd, _ in group]
            path = batch_path(root, headers[0].height, headers[-1].height)
            proof = path.read_bytes() if path.is_file() else None
            if proof is not None and not verify_batch(headers, proof, circuit.verifying_key):
                proof = None  # another key's, or damaged: prove again
            if proof is None:
                out.inputs[len(out.headers)] = circuit.inputs([w for _, w in group])
            out.headers.append(headers)
            out.proofs.append(proof)
            group = []
    return out
