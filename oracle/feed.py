"""Read proven prices from a venue's ``ProvenPriceFeed`` as any Chainlink consumer would.

A round is a proven block: ``round_id`` its height, ``answer`` its settlement price (in the
venue's price unit, ``decimals`` places), ``updated_at`` its close time in seconds. Reverts
(a round not proven yet, no round before a time) come back as ``ContractRevert`` with the
feed's error name.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .client import ContractClient

__all__ = ["PriceFeed", "Round", "RoundDetails"]


class Round(msgspec.Struct, frozen=True):
    """``latestRoundData`` / ``getRoundData``: AggregatorV3Interface's five values."""

    round_id: int
    answer: int
    started_at: int
    updated_at: int
    answered_in_round: int


class RoundDetails(msgspec.Struct, frozen=True):
    """What the block behind a round says beyond its price."""

    price: int
    carried: bool
    volume: int
    trade_count: int
    close_ts: int


class PriceFeed(ContractClient):
    """A deployed ``ProvenPriceFeed``, read through ``chain``."""

    ARTIFACT = "ProvenPriceFeed"
    CALLEES = ("StateCommitments", "OptimisticCommitments", "MarketCommitments")  # theirs bubble up

    def _read(self, name: str, *args: object) -> Any:
        return self._call(getattr(self.contract.functions, name)(*args))

    def decimals(self) -> int:
        return int(self._read("decimals"))

    def description(self) -> str:
        return str(self._read("description"))

    def latest_round(self) -> Round:
        """``latestRoundData()``; ContractRevert ``NoProvenRound`` before the first proof."""
        return Round(*self._read("latestRoundData"))

    def round(self, round_id: int) -> Round:
        """``getRoundData(round_id)``; ContractRevert ``RoundNotProven`` if it is not proven."""
        return Round(*self._read("getRoundData", round_id))

    def details(self, round_id: int) -> RoundDetails:
        """The round's block: price, carried flag, volume, trades, close time (ns)."""
        return RoundDetails(*self._read("getRoundDetails", round_id))

    def round_at(self, timestamp: int) -> int:
        """The last proven round closed at or before ``timestamp`` (s); ContractRevert
        ``NoRoundBefore`` if none."""
        return int(self._read("roundAt", timestamp))

    def twap(self, from_round: int, to_round: int) -> int:
        """Time-weighted average price between two proven rounds' closes."""
        return int(self._read("twap", from_round, to_round))

    def settlement_price(self, expiry: int) -> tuple[bool, int]:
        """Derive-style ``getSettlementPrice(expiry)``: (settled, price) at ``expiry`` (s)."""
        settled, price = self._read("getSettlementPrice", expiry)
        return bool(settled), int(price)
