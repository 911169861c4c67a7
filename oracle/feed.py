"""Read proven prices from a venue's ``ProvenPriceFeed`` as any Chainlink consumer would.

A round is a proven block: ``round_id`` its height, ``answer`` its settlement price (in the
venue's price unit, ``decimals`` places), ``updated_at`` its close time in seconds. Reverts
(a round not proven yet, no round before a time) come back as ``ContractRevert`` with the
feed's error name.
"""

from __future__ import annotations

import msgspec

from .artifacts import load_artifact, venue_abi
from .chain import Chain
from .reverts import raising_reverts

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


class PriceFeed:
    """A deployed ``ProvenPriceFeed``, read through ``chain``."""

    def __init__(self, chain: Chain, address: str) -> None:
        self._abi = venue_abi()  # the callee's (StateCommitments') errors decode too
        self.contract = chain.w3.eth.contract(
            address=address, abi=load_artifact("ProvenPriceFeed").abi
        )

    def _call(self, name: str, *args: object) -> object:
        fn = getattr(self.contract.functions, name)(*args)
        return raising_reverts(self._abi, fn.call)

    def decimals(self) -> int:
        return int(self._call("decimals"))  # type: ignore[call-overload]

    def description(self) -> str:
        return str(self._call("description"))

    def latest_round(self) -> Round:
        """``latestRoundData()``; ContractRevert ``NoProvenRound`` before the first proof."""
        return Round(*self._call("latestRoundData"))  # type: ignore[misc]

    def round(self, round_id: int) -> Round:
        """``getRoundData(round_id)``; ContractRevert ``RoundNotProven`` if it is not proven."""
        return Round(*self._call("getRoundData", round_id))  # type: ignore[misc]

    def details(self, round_id: int) -> RoundDetails:
        """The round's block: price, carried flag, volume, trades, close time (ns)."""
        return RoundDetails(*self._call("getRoundDetails", round_id))  # type: ignore[misc]

    def round_at(self, timestamp: int) -> int:
        """The last proven round closed at or before ``timestamp`` (s); ContractRevert
        ``NoRoundBefore`` if none."""
        return int(self._call("roundAt", timestamp))  # type: ignore[call-overload]

    def twap(self, from_round: int, to_round: int) -> int:
        """Time-weighted average price between two proven rounds' closes."""
        return int(self._call("twap", from_round, to_round))  # type: ignore[call-overload]

    def settlement_price(self, expiry: int) -> tuple[bool, int]:
        """Derive-style ``getSettlementPrice(expiry)``: (settled, price) at ``expiry`` (s)."""
        settled, price = self._call("getSettlementPrice", expiry)  # type: ignore[misc]
        return bool(settled), int(price)
