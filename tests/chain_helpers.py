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

import groth16py
import pytest

from matching import Block, Deposit
from matching.block import BlockHeader
from matching.encoding import decoder
from venue.blockstore import BlockStore
from venue.node import VenueNode
from venue.proving import circuit_for, prove_blocks

from .test_coverage_proving import ACCOUNTS, TRADES, UNSIGNED

__all__ = ["CIRCUIT_CACHE", "Proven", "SlowClock", "make_proven"]

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
        report = prove_blocks(data, workers=2)
        assert report.proven == [1, 2, 3] and not report.failed
        store = BlockStore(data / "blocks", first_height=1)
        try:
            headers = [_block.decode(store.get(h)).header for h in (1, 2, 3)]
            proofs = [store.get_proof(h).payload for h in (1, 2, 3)]  # type: ignore[union-attr]
        finally:
            store.close()
        return Proven(data, headers, proofs, circuit_for(UNSIGNED).verifying_key)
    finally:
        mp.undo()
