"""Three proven blocks of a real venue, made once per test session for the on-chain tests.

A venue (the demo's genesis, unsigned, test-size circuit) seals three blocks: accounts;
trades with fills (a settlement price); a deposit (no fills: the price carried). Its clock
moves 0.7 s per reading, so the blocks close in different seconds, which expiry queries need.
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
    """0.7 s per reading, so the blocks close in different seconds (expiry queries)."""

    def __init__(self, start_s: int = 1_800_000_000) -> None:
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
