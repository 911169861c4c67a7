"""The venue on chain: deploy its contracts, publish its proven blocks, read its price feed.

``live_publisher`` is what a running venue uses: it deploys the contracts when the first
proven block arrives (at that block's pre-state, which for a new venue is its genesis) and
then publishes every proven block in order from one thread. ``publish_stored`` does the same
for a venue's data directory after the fact (``provenbook publish``), resuming an earlier
deployment when given its file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from matching import Block
from matching.block import BlockHeader
from matching.encoding import decoder
from oracle.chain import Chain
from oracle.deploy import Deployment, DeploymentError, deploy_venue, load_deployment
from oracle.publish import (
    BLOCKS_PER_TX,
    LivePublisher,
    PublishedBlock,
    Publisher,
    publish_group,
)
from proofs.circom import default_cache_dir
from proofs.verify import verify_block

from .blockstore import BlockStore
from .node import stored_genesis
from .proving import circuit_for

__all__ = [
    "OptionResult",
    "PublishReport",
    "live_publisher",
    "publish_stored",
    "settle_option_on_proven_price",
    "stored_proven_blocks",
]

_block_decoder = decoder(Block)


def _deployer(
    chain: Chain,
    data: Path,
    deployment_file: str | os.PathLike[str] | None = None,
) -> Callable[[BlockHeader, bytes], Publisher]:
    """Deploy at a header's pre-state with the venue's verifying key, once that key is seen to
    verify the block's proof: keys live in a cache, and a verifier deployed with another
    setup's key would refuse every proof, which is far better said before deploying. The
    deployment is written to ``deployment_file`` if given."""

    markets = stored_genesis(data).markets  # a venue's directory, or NodeError

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
        names = [f"{m.symbol} / ProvenBook" for m in markets]
        # one market: one feed; several: one feed per market (MarketCommitments)
        d = deploy_venue(chain, vk, start=header, description=names[0], descriptions=names)
        if deployment_file is not None:
            d.save(deployment_file)
        return Publisher(chain, d)

    return make


def live_publisher(
    chain: Chain,
    data: str | os.PathLike[str],
    *,
    on_published: Callable[[int, str], None] | None = None,
    deployment_file: str | os.PathLike[str] | None = None,
    store: BlockStore | None = None,
    max_blocks: int = BLOCKS_PER_TX,
) -> LivePublisher:
    """Publish a running venue's proven blocks (feed it with ``LiveProver.on_proof``).

    With ``deployment_file``, blocks already proven are published first, synchronously
    (resuming that deployment if the file exists, else deploying and writing it), so that a
    restarted venue's chain sees every block once and in order; call it before the live
    prover starts (``store``: the running node's ``BlockStore``). Without it the contracts are
    deployed when the first proof arrives. ``max_blocks``: at most this many proven blocks
    per transaction (those queued when the publisher is free; 1: each block alone)."""
    root = Path(data)
    if deployment_file is not None:
        done = publish_stored(
            root, chain, deployment_file=deployment_file, store=store, per_tx=max_blocks
        )
        if done.deployment is not None:
            return LivePublisher(
                Publisher(chain, done.deployment), on_published=on_published, max_blocks=max_blocks
            )
    make = _deployer(chain, root, deployment_file)
    return LivePublisher(make, on_published=on_published, max_blocks=max_blocks)


def stored_proven_blocks(
    data: str | os.PathLike[str] | BlockStore, *, after: int = 0
) -> Iterator[tuple[BlockHeader, bytes]]:
    """(header, proof) of a venue's stored blocks above ``after``, in height order, up to the
    first block without a proof (every later block builds on it). ``data``: the venue's
    directory (opened read-only, so a running venue's works too), or the open ``BlockStore``
    of a node running in this process."""
    own = not isinstance(data, BlockStore)
    store = (
        BlockStore(Path(data) / "blocks", first_height=1, read_only=True) if own else data  # type: ignore[arg-type]
    )
    try:
        for h in range(after + 1, store.last_height + 1):
            proof = store.get_proof(h)
            payload = store.get(h)
            if proof is None or payload is None:
                return
            yield _block_decoder.decode(payload).header, proof.payload
    finally:
        if own:
            store.close()


class PublishReport(msgspec.Struct):
    """What ``publish_stored`` did: the deployment used (None: nothing proven to publish)
    and the blocks it landed."""

    deployment: Deployment | None = None
    published: list[PublishedBlock] = msgspec.field(default_factory=list)


def publish_stored(
    data: str | os.PathLike[str],
    chain: Chain,
    *,
    deployment_file: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    store: BlockStore | None = None,
    per_tx: int = 1,
) -> PublishReport:
    """Publish a venue's stored proven blocks on ``chain``, in order, ``per_tx`` blocks per
    transaction (``oracle.publish.publish_group``: each with its own proof, one pairing).

    With ``deployment_file`` naming an existing file, publishing resumes on that deployment
    after the chain's latest height; otherwise the contracts are deployed at the first
    proven block's pre-state (and the deployment written to ``deployment_file`` if given).
    A block the chain refuses raises ``oracle.publish.BlockRejected``; blocks before it stay
    published. ``store``: the running node's ``BlockStore``, when there is one.
    ``progress(done, total)`` counts blocks.
    """
    if per_tx < 1:
        raise ValueError(f"blocks per transaction must be at least 1, not {per_tx}")
    root = Path(data)
    make = _deployer(chain, root, deployment_file)  # reads the genesis: a venue's, or NodeError
    report = PublishReport()
    publisher: Publisher | None = None
    after = 0
    if deployment_file is not None and Path(deployment_file).exists():
        report.deployment = load_deployment(deployment_file)
        publisher = Publisher(chain, report.deployment)
        after = publisher.latest_height
    todo = list(stored_proven_blocks(store if store is not None else root, after=after))
    for i in range(0, len(todo), per_tx):
        group = todo[i : i + per_tx]
        if publisher is None:
            publisher = make(*group[0])
            report.deployment = publisher.deployment
        report.published += publish_group(publisher, group)
        if progress is not None:
            progress(len(report.published), len(todo))
    return report


class OptionResult(msgspec.Struct):
    """A European call written, held and settled on the venue's proven price (the demo's)."""

    options: str
    series_id: int
    strike: int
    cap: int
    expiry: int
    #: the block whose proven price was the price at expiry, and that price
    height: int
    price: int
    written: int
    held: int
    #: collateral units per price unit and option (the contract size)
    multiplier: int
    holder_paid: int
    writer_paid: int
    collateral: int


def settle_option_on_proven_price(
    chain: Chain,
    feed: str,
    seal_after: Callable[[int], int],
    wait_published: Callable[[int], bool],
    *,
    written: int = 10,
    held: int = 4,
    multiplier: int = 10_000,
) -> OptionResult:
    """Write a European call on the venue's feed, let it expire, and settle it on the proven
    price; the money moves in a test collateral token.

    The call is struck 3 price units under the latest proven price (cap 7 above it) and expires
    a few seconds from now on the chain's clock. ``seal_after(t)`` makes the venue seal a block
    that closes after unix second ``t`` and returns its height; ``wait_published(h)`` waits
    until that block is proven and on chain. That block is what makes the expiry price final:
    no block can any more close at or before the expiry.
    """
    from oracle.feed import PriceFeed
    from oracle.options import Options
    from oracle.token import Token

    writer, holder = chain.accounts[1], chain.accounts[2]
    last = PriceFeed(chain, feed).latest_round()
    token = Token.deploy_test_collateral(chain)
    options = Options.deploy(chain, feed, token.address, multiplier=multiplier, max_price_age=3600)
    strike, cap = last.answer - 3, last.answer + 7
    now = int(chain.w3.eth.get_block("latest")["timestamp"])
    expiry = max(now, int(time.time())) + 8  # room for the writes before it
    series = options.create_series(
        is_call=True, american=False, strike=strike, expiry=expiry, cap=cap
    ).value
    need = written * (cap - strike) * multiplier
    token.mint(writer, need)
    token.approve(options.address, need, sender=writer)
    collateral = options.write(series, written, sender=writer).value
    options.transfer_longs(series, holder, held, sender=writer)

    height = seal_after(expiry)
    if not wait_published(height):
        raise RuntimeError(f"block {height} was not proven and published in time")
    while int(chain.w3.eth.get_block("latest")["timestamp"]) < expiry:
        time.sleep(0.2)  # the chain's own clock must pass the expiry too
        if chain.kind == "embedded":
            chain.w3.testing.mine()  # eth-tester mines only on demand
    price = options.settle(series).value
    holder_paid = options.redeem(series, held, sender=holder).value
    writer_paid = options.redeem(series, written - held, sender=writer).value
    writer_paid += options.withdraw(series, sender=writer).value
    at_expiry = PriceFeed(chain, feed).round_at(expiry)
    return OptionResult(
        options.address, series, strike, cap, expiry, at_expiry, price, written, held,
        multiplier, holder_paid, writer_paid, collateral,
    )  # fmt: skip
