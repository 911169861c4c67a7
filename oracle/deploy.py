"""Deploy a venue's contracts: the block verifier (with the circuit's verifying key), the state
commitments that accept proven blocks in order, and the market's Chainlink-style price feed;
optionally a batch verifier (``proofs.batch``: K blocks per proof, ``submitBatch``). A venue
of several markets gets ``BlockVerifierM``, ``MarketCommitments`` and one ``MarketView`` and
``ProvenPriceFeed`` per market (``deploy_venue``).

The verifier contract is one committed artifact whose constructor takes the verifying key
(``contracts/src/BlockVerifier.sol`` says why), so deploying needs no Solidity compiler. A
deployment is written as JSON beside the venue's data so that publishing can resume after a
restart and readers know where the feed is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Self

import groth16py
import msgspec

from matching.block import BlockHeader

from .artifacts import load_artifact
from .chain import Chain

__all__ = [
    "DEPLOYMENT_FILE",
    "PUBLIC_INPUTS",
    "Deployment",
    "DeploymentError",
    "DeploymentFile",
    "MarketFeed",
    "batch_verifier_args",
    "deploy_markets",
    "deploy_stack",
    "deploy_venue",
    "load_deployment",
    "verifier_args",
    "verifier_m_args",
]

#: Public inputs of the v1 block circuit (``proofs.witness.public_signals``).
PUBLIC_INPUTS = 6
#: Where ``provenbook`` keeps a venue's deployment, inside its data directory.
DEPLOYMENT_FILE = "chain.json"
_ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class DeploymentError(ValueError):
    """A verifying key, starting point or deployment file that cannot be used."""


class DeploymentFile(msgspec.Struct, frozen=True, kw_only=True):
    """A deployment record kept as JSON beside a venue's data (base of the kinds below)."""

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write as JSON (atomically: a crash leaves the old file or the new one)."""
        p = Path(path)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_bytes(msgspec.json.format(msgspec.json.encode(self), indent=1) + b"\n")
        os.replace(tmp, p)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a file written by ``save``; DeploymentError if it is not one of this kind."""
        try:
            return msgspec.json.decode(Path(path).read_bytes(), type=cls)
        except (OSError, msgspec.DecodeError) as exc:
            raise DeploymentError(f"{path}: not a {cls.__name__} file ({exc})") from exc


class MarketFeed(msgspec.Struct, frozen=True):
    """One market of a venue of several markets: its ``MarketView`` (the market's
    ICommitments) and the ``ProvenPriceFeed`` on it."""

    market_id: int
    view: str
    feed: str


class Deployment(DeploymentFile, frozen=True, kw_only=True):
    """Where a venue's contracts are, and the state they started from. A venue of several
    markets (``markets``, in genesis order) has ``MarketCommitments`` and ``BlockVerifierM``;
    ``feed`` and ``market_id`` are then its first market's."""

    chain_id: int
    verifier: str
    commitments: str
    feed: str
    market_id: int
    genesis_height: int
    genesis_state_root: int
    first_seq: int
    #: the batch circuit's verifier ("" when the venue takes single blocks only) and its K
    batch_verifier: str = ""
    batch_blocks: int = 0
    markets: tuple[MarketFeed, ...] = ()


def load_deployment(path: str | os.PathLike[str]) -> Deployment:
    """Read a deployment written by ``Deployment.save``; DeploymentError if it is not one."""
    return Deployment.load(path)


def _g2(point: list[list[str]]) -> list[int]:
    # snarkjs JSON holds (c0, c1) pairs; the EVM precompile reads c1 first.
    (x0, x1), (y0, y1) = point[0], point[1]
    return [int(x1), int(x0), int(y1), int(y0)]


def _key_args(
    vk: groth16py.VerifyingKey, publics: Callable[[int], bool], circuit: str
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """A verifier contract's constructor arguments (alpha, beta, gamma, delta, IC) for ``vk``;
    DeploymentError unless its number of public inputs is one that ``publics`` accepts, which
    is all a contract can check: any other circuit's key would verify other proofs."""
    key = json.loads(vk.to_json())
    if key.get("protocol") != "groth16" or key.get("curve") != "bn128":
        raise DeploymentError("not a Groth16 BN254 verifying key")
    n = int(key["nPublic"])
    if not publics(n) or len(key["IC"]) != n + 1:
        raise DeploymentError(f"the verifying key has {n} public inputs; not {circuit}")
    alpha = [int(c) for c in key["vk_alpha_1"][:2]]
    ic = [int(c) for point in key["IC"] for c in point[:2]]
    return alpha, _g2(key["vk_beta_2"]), _g2(key["vk_gamma_2"]), _g2(key["vk_delta_2"]), ic


def verifier_args(
    vk: groth16py.VerifyingKey,
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """``BlockVerifier``'s constructor arguments (alpha, beta, gamma, delta, IC) for ``vk``;
    DeploymentError unless ``vk`` is a key of the v1 block circuit's shape (six public
    inputs)."""
    return _key_args(vk, lambda n: n == PUBLIC_INPUTS, "the v1 block circuit (6)")


def verifier_m_args(
    vk: groth16py.VerifyingKey, markets: int
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """``BlockVerifierM``'s constructor arguments for ``vk``; DeploymentError unless ``vk`` is
    a key of the block circuit of ``markets`` (2..64) markets (4 + 2M public inputs)."""
    if not 2 <= markets <= 64:
        raise DeploymentError(f"BlockVerifierM takes 2..64 markets, not {markets}")
    n = 4 + 2 * markets
    return _key_args(vk, lambda k: k == n, f"the block circuit of {markets} markets ({n})")


def batch_verifier_args(
    vk: groth16py.VerifyingKey, markets: int = 1
) -> tuple[list[int], list[int], list[int], list[int], list[int], int]:
    """``BatchVerifier``'s constructor arguments for ``vk`` (the key's, then ``markets``);
    DeploymentError unless ``vk`` is a key of the batch circuit's shape for blocks of
    ``markets`` markets: K(3 + 2M) + 1 public inputs, 2 <= K <= 64 (``5K + 1`` for one market;
    a key with K = 1 would be the block circuit's)."""
    if not 1 <= markets <= 64:
        raise DeploymentError(f"BatchVerifier takes 1..64 markets, not {markets}")
    w = 3 + 2 * markets
    key = _key_args(
        vk, lambda n: (n - 1) % w == 0 and 2 <= (n - 1) // w <= 64,
        f"a batch circuit of {markets} market{'s' if markets > 1 else ''} ({w}K + 1)",
    )  # fmt: skip
    return (*key, markets)


def deploy_venue(
    chain: Chain,
    vk: groth16py.VerifyingKey,
    *,
    start: BlockHeader,
    asset: str = _ZERO_ADDRESS,
    decimals: int = 0,
    description: str = "",
    sender: str | None = None,
    batch_vk: groth16py.VerifyingKey | None = None,
    descriptions: Sequence[str] = (),
) -> Deployment:
    """Deploy verifier, state commitments and price feed, starting from ``start``'s pre-state.

    ``start`` is the first block to publish: the contracts begin at its parent's state (its
    ``pre_state_root``, ``height - 1``, ``first_seq``), which the deployer vouches for, as any
    validity rollup's deployer vouches for its genesis. ``asset`` is the priced asset's token
    (for Opyn-style expiry queries), ``decimals`` the decimals of the venue's price unit.
    ``batch_vk``: the batch circuit's key (``proofs.batch.BatchCircuit``), to accept K blocks
    per proof as well (``submitBatch``).

    A venue of several markets (``start`` settles M >= 2) gets ``BlockVerifierM``,
    ``MarketCommitments``, and per market a ``MarketView`` with a ``ProvenPriceFeed`` on it
    (``descriptions``: one per market, default "market <id>").
    """
    m = len(start.markets)
    batch, k = _ZERO_ADDRESS, 0
    if batch_vk is not None:
        args = batch_verifier_args(batch_vk, m)
        k = (len(args[4]) // 2 - 2) // (3 + 2 * m)
        batch = chain.deploy(load_artifact("BatchVerifier"), *args, sender=sender).address
    if m > 1:
        d = deploy_markets(
            chain, vk, start=start, commitments="MarketCommitments", extra=(batch,),
            asset=asset, decimals=decimals, descriptions=descriptions, sender=sender,
        )  # fmt: skip
    else:
        d = deploy_stack(
            chain, vk, start=start, commitments="StateCommitments", extra=(batch,), asset=asset,
            decimals=decimals, description=description, sender=sender,
        )  # fmt: skip
    if batch_vk is None:
        return d
    return msgspec.structs.replace(d, batch_verifier=batch, batch_blocks=k)


def deploy_markets(
    chain: Chain,
    vk: groth16py.VerifyingKey,
    *,
    start: BlockHeader,
    commitments: str,
    extra: tuple[object, ...] = (),
    asset: str = _ZERO_ADDRESS,
    decimals: int = 0,
    descriptions: Sequence[str] = (),
    sender: str | None = None,
) -> Deployment:
    """``deploy_stack`` for a venue of several markets: ``BlockVerifierM``, a commitments
    contract of either mode (artifact ``commitments``: ``MarketCommitments`` or
    ``OptimisticMarketCommitments``, whose constructor takes the verifier, the market ids,
    start height, start root and first sequence number, then ``extra``), and per market a
    ``MarketView`` with a ``ProvenPriceFeed`` on it."""
    ids = [s.market for s in start.markets]
    if descriptions and len(descriptions) != len(ids):
        raise DeploymentError(f"{len(descriptions)} descriptions for {len(ids)} markets")
    if not 0 <= decimals <= 255:
        raise DeploymentError(f"decimals must fit a uint8, got {decimals}")
    args = verifier_m_args(vk, len(ids))
    verifier = chain.deploy(load_artifact("BlockVerifierM"), *args, sender=sender)
    chained = chain.deploy(
        load_artifact(commitments), verifier.address, ids, start.height - 1,
        int(start.pre_state_root), start.first_seq, *extra, sender=sender,
    )  # fmt: skip
    feeds = []
    for i, market in enumerate(ids):
        view = chain.deploy(load_artifact("MarketView"), chained.address, i, sender=sender)
        feed = chain.deploy(
            load_artifact("ProvenPriceFeed"), view.address, chain.w3.to_checksum_address(asset),
            decimals, descriptions[i] if descriptions else f"market {market}", sender=sender,
        )  # fmt: skip
        feeds.append(MarketFeed(market, view.address, feed.address))
    return Deployment(
        chain_id=chain.w3.eth.chain_id,
        verifier=verifier.address,
        commitments=chained.address,
        feed=feeds[0].feed,
        market_id=ids[0],
        genesis_height=start.height - 1,
        genesis_state_root=int(start.pre_state_root),
        first_seq=start.first_seq,
        markets=tuple(feeds),
    )


def deploy_stack(
    chain: Chain,
    vk: groth16py.VerifyingKey,
    *,
    start: BlockHeader,
    commitments: str,
    extra: tuple[object, ...] = (),
    asset: str = _ZERO_ADDRESS,
    decimals: int = 0,
    description: str = "",
    sender: str | None = None,
) -> Deployment:
    """The verifier, a commitments contract of either mode (artifact ``commitments``, whose
    constructor takes the verifier, market, start height, start root and first sequence
    number, then ``extra``) and a price feed on it; ``deploy_venue``'s arguments."""
    if len(start.markets) != 1:
        raise DeploymentError("the v1 block circuit proves exactly one market")
    if not 0 <= decimals <= 255:
        raise DeploymentError(f"decimals must fit a uint8, got {decimals}")
    market = start.markets[0].market
    verifier = chain.deploy(load_artifact("BlockVerifier"), *verifier_args(vk), sender=sender)
    chained = chain.deploy(
        load_artifact(commitments),
        verifier.address,
        market,
        start.height - 1,
        int(start.pre_state_root),
        start.first_seq,
        *extra,
        sender=sender,
    )
    feed = chain.deploy(
        load_artifact("ProvenPriceFeed"),
        chained.address,
        chain.w3.to_checksum_address(asset),
        decimals,
        description,
        sender=sender,
    )
    return Deployment(
        chain_id=chain.w3.eth.chain_id,
        verifier=verifier.address,
        commitments=chained.address,
        feed=feed.address,
        market_id=market,
        genesis_height=start.height - 1,
        genesis_state_root=int(start.pre_state_root),
        first_seq=start.first_seq,
    )
