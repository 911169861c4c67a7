"""Three proven blocks of a real venue, made once per test session for the on-chain tests.

A venue (the demo's genesis, unsigned, test-size circuit) seals three blocks: accounts;
trades with fills (a settlement price); a deposit (no fills: the price carried). Its clock
moves 0.7 s per reading, so the blocks close in different seconds, which expiry queries need,
from a start far in the future (2096), so that a chain's own clock, which follows the wall
clock, is always before them (options tests create series expiring at these close times).
The prover pool proves them with the cached test-size keys. Treat ``data`` as read-only: it
is shared by every test of the session.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import groth16py
import msgspec
import pytest

from matching import Block, Deposit, PlaceOrder, Side, TimeInForce
from matching.block import BlockHeader
from matching.encoding import decoder
from oracle.publish import Publisher
from oracle.reverts import ContractRevert
from proofs.batch import BatchCircuit
from proofs.witness import BlockProverState, BlockWitness
from venue.blockstore import BlockStore
from venue.node import VenueNode
from venue.proving import circuit_for, prove_blocks

from .test_coverage_proving import ACCOUNTS, TRADES, UNSIGNED

__all__ = [
    "CIRCUIT_CACHE",
    "Batch",
    "Proven",
    "SlowClock",
    "make_batch",
    "make_proven",
    "refused",
]

CIRCUIT_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "circuits"
_block = decoder(Block)


class SlowClock:
    """0.7 s per reading, so the blocks close in different seconds (expiry queries).

    The default start (4e9 s, October 2096) must stay ahead of the wall clock: a local chain's
    ``block.timestamp`` starts at the wall clock and can only move forward, and the options
    tests need it before the blocks' close times.
    """

    def __init__(self, start_s: int = 4_000_000_000) -> None:
        self.t = start_s * 10**9

    def __call__(self) -> int:
        self.t += 700_000_000
        return self.t


@dataclasses.dataclass(frozen=True)
class Proven:
    data: Path
    headers: list[BlockHeader]
    proofs: list[bytes]
    vk: groth16py.VerifyingKey


def make_proven(data: Path) -> Proven:
    """Seal and prove the three blocks in ``data`` (keys from ``CIRCUIT_CACHE``)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))
    try:
        node = VenueNode(data, UNSIGNED, engine="reference", fsync=False, clock=SlowClock())
        for batch in (ACCOUNTS, TRADES, [Deposit(0, 0, 1, 5)]):
            node.submit(batch)
        node.seal()
        node.close()
        stages: list[tuple[str, int, int]] = []
        report = prove_blocks(data, workers=2, progress=lambda *s: stages.append(s))
        assert report.proven == [1, 2, 3] and not report.failed and report.unsupported is None
        # the key load is a stage of its own, over before the first proof comes back
        key, proving = stages.index(("prover key", 1, 1)), stages.index(("proving", 1, 3))
        assert stages.index(("prover key", 0, 1)) < key < proving
        store = BlockStore(data / "blocks", first_height=1)
        try:
            headers = [_block.decode(store.get(h)).header for h in (1, 2, 3)]
            proofs = [store.get_proof(h).payload for h in (1, 2, 3)]  # type: ignore[union-attr]
        finally:
            store.close()
        return Proven(data, headers, proofs, circuit_for(UNSIGNED).verifying_key)
    finally:
        mp.undo()


@dataclasses.dataclass(frozen=True)
class Batch:
    """Blocks 1 and 2 of ``Proven`` in one proof of the batch circuit (K = 2, test size)."""

    circuit: BatchCircuit
    witnesses: list[BlockWitness]
    headers: list[BlockHeader]
    proof: bytes


def make_batch(p: Proven, k: int = 2) -> Batch:
    """Prove ``p``'s first ``k`` blocks as one batch (keys from ``CIRCUIT_CACHE``)."""
    block = circuit_for(UNSIGNED)
    block.cache_dir = CIRCUIT_CACHE
    state = BlockProverState(
        block.params.market, order_depth=block.size.order_depth,
        account_depth=block.size.account_depth,
    )  # fmt: skip
    store = BlockStore(p.data / "blocks", first_height=1, read_only=True)
    try:
        blocks = [_block.decode(store.get(h)) for h in range(1, k + 1)]  # type: ignore[arg-type]
    finally:
        store.close()
    witnesses = [state.advance(b, block.params) for b in blocks]
    circuit = BatchCircuit(block, k)
    return Batch(circuit, witnesses, [b.header for b in blocks], circuit.prove(witnesses))


def refused(pub: Publisher, call: Any) -> str:
    """Send the contract function ``call`` through ``pub`` as is: the contract's error name
    (fails unless it reverts, or if the chain's head moved: a refusal changes nothing)."""
    before = pub.latest_height
    with pytest.raises(ContractRevert) as info:
        pub._transact(call, None)
    assert pub.latest_height == before
    return info.value.name


def two_market_venue(data: Path) -> int:
    """``venue.demo_markets.TWO_MARKET_GENESIS`` in ``data``, with trades in both markets
    (100,010 in market 1, 40,010 in market 2) over blocks that each open one market; returns
    its height (at least 4). Not proved."""
    from venue.demo_markets import TWO_MARKET_GENESIS

    from .test_coverage_proving import Clock, place

    def at(market: int, cmd: PlaceOrder) -> PlaceOrder:
        return msgspec.structs.replace(cmd, market=market)

    node = VenueNode(data, TWO_MARKET_GENESIS, engine="reference", fsync=False, clock=Clock())
    node.submit(ACCOUNTS)
    node.submit([at(1, TRADES[0]), at(2, place(1, Side.SELL, 40_010, 2)), at(1, TRADES[2])])
    node.submit([at(2, place(2, Side.BUY, 40_010, 1, TimeInForce.IOC))])
    node.seal()
    node.close()
    assert node.height >= 4, node.height
    return node.height
