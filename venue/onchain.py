"""The venue on chain: deploy its contracts, publish its proven blocks, read its price feed.

``live_publisher`` is what a running venue uses: it deploys the contracts when the first
proven block arrives (at that block's pre-state, which for a new venue is its genesis) and
then publishes every proven block in order from one thread. ``publish_stored`` does the same
for a venue's data directory after the fact (``provenbook publish``), resuming an earlier
deployment when given its file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from matching import Block
from matching.block import BlockHeader
from matching.encoding import decoder
from matching.types import MarketConfig
from oracle.chain import Chain
from oracle.deploy import Deployment, DeploymentError, deploy_venue, load_deployment
from oracle.publish import LivePublisher, PublishedBlock, Publisher
from proofs.circom import default_cache_dir
from proofs.verify import verify_block

from .blockstore import BlockStore
from .proving import circuit_for, stored_genesis

__all__ = ["PublishReport", "live_publisher", "publish_stored", "stored_proven_blocks"]

_block_decoder = decoder(Block)


def _deployer(
    chain: Chain, data: Path, market: MarketConfig
) -> Callable[[BlockHeader, bytes], Publisher]:
    """Deploy at a header's pre-state with the venue's verifying key, once that key is seen to
    verify the block's proof: keys live in a cache, and a verifier deployed with another
    setup's key would refuse every proof, which is far better said before deploying."""

    def make(header: BlockHeader, proof: bytes) -> Publisher:
        circuit = circuit_for(stored_genesis(data))
        vk = circuit.verifying_key
        if not verify_block(header, proof, vk):
            where = circuit.cache_dir or default_cache_dir()
            raise DeploymentError(
                f"the verifying key in {where} does not verify block {header.height}'s stored "
                "proof: the proofs were made with another key (another key cache, "
                "PROVENBOOK_CIRCUIT_CACHE?); nothing was deployed"
            )
        d = deploy_venue(chain, vk, start=header, description=f"{market.symbol} / ProvenBook")
        return Publisher(chain, d)

    return make


def live_publisher(
    chain: Chain,
    data: str | os.PathLike[str],
    *,
    on_published: Callable[[int, str], None] | None = None,
) -> LivePublisher:
    """Publish a running venue's proven blocks (feed it with ``LiveProver.on_proof``)."""
    root = Path(data)
    market = stored_genesis(root).markets[0]
    return LivePublisher(_deployer(chain, root, market), on_published=on_published)


def stored_proven_blocks(
    data: str | os.PathLike[str], *, after: int = 0
) -> Iterator[tuple[BlockHeader, bytes]]:
    """(header, proof) of a venue's stored blocks above ``after``, in height order, up to the
    first block without a proof (every later block builds on it)."""
    store = BlockStore(Path(data) / "blocks", first_height=1)
    try:
        for h in range(after + 1, store.last_height + 1):
            proof = store.get_proof(h)
            payload = store.get(h)
            if proof is None or payload is None:
                return
            yield _block_decoder.decode(payload).header, proof.payload
    finally:
        store.close()


class PublishReport(msgspec.Struct):
    deployment: Deployment | None = None
    published: list[PublishedBlock] = msgspec.field(default_factory=list)


def publish_stored(
    data: str | os.PathLike[str],
    chain: Chain,
    *,
    deployment_file: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PublishReport:
    """Publish a venue's stored proven blocks on ``chain``, in order.

    With ``deployment_file`` naming an existing file, publishing resumes on that deployment
    after the chain's latest height; otherwise the contracts are deployed at the first
    proven block's pre-state (and the deployment written to ``deployment_file`` if given).
    A block the chain refuses raises ``oracle.publish.BlockRejected``; blocks before it stay
    published.
    """
    root = Path(data)
    report = PublishReport()
    publisher: Publisher | None = None
    after = 0
    if deployment_file is not None and Path(deployment_file).exists():
        report.deployment = load_deployment(deployment_file)
        publisher = Publisher(chain, report.deployment)
        after = publisher.latest_height
    todo = list(stored_proven_blocks(root, after=after))
    make = _deployer(chain, root, stored_genesis(root).markets[0])
    for n, (header, proof) in enumerate(todo, 1):
        if publisher is None:
            publisher = make(header, proof)
            report.deployment = publisher.deployment
            if deployment_file is not None:
                report.deployment.save(deployment_file)
        report.published.append(publisher.publish(header, proof))
        if progress is not None:
            progress(n, len(todo))
    return report
