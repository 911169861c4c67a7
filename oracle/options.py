"""Options that settle on the venue's proven prices: a typed client for ``ProvenOptions``.

Why: DESIGN §7's cash-settled calls and puts need no external oracle, because the price they
settle on is the proven settlement price of ``ProvenPriceFeed``. The model, in the contract's
NatSpec (``contracts/src/interfaces/IProvenOptions.sol``), in short:

- Units: prices (strike, cap, feed prices) are integers in the feed's price unit; the contract
  size ``multiplier`` is collateral base units per price unit. One option pays
  ``(min(price, cap) - strike) * multiplier`` (call) or ``(strike - price) * multiplier`` (put)
  when in the money, and its writer locks that payout's maximum up front:
  ``(cap - strike) * multiplier`` for a call (a cash-settled call is unbounded, so a call
  series carries a ``cap``), ``strike * multiplier`` for a put.
- Time: a series is expired once the chain's ``block.timestamp`` reaches ``expiry``; its
  settlement price is the feed's expiry price, final once a block closing after the expiry
  second is proven. American options may be exercised before expiry at the latest proven
  price, if it is at most ``max_price_age`` seconds old.
- Collateral is pooled per series: early exercise is paid from the pool; after settlement each
  long is paid exactly ``payout_per_contract`` and writers share the rest pro rata to their
  shorts (rounded down, the last writer takes the remainder).

Every transaction returns a ``Tx``: the value the contract returned (read from its event), the
transaction hash and the gas used. Reverts come back as ``ContractRevert`` with the custom
error's name, whichever contract raised it (the options, the collateral token, or the feed).
"""

from __future__ import annotations

import msgspec

from .artifacts import load_artifact
from .chain import Chain
from .client import ContractClient, Tx
from .token import TEST_COLLATERAL

__all__ = ["OPTIONS", "Options", "Series", "Tx"]

OPTIONS = "ProvenOptions"
"""The options contract's artifact name."""


class Series(msgspec.Struct, frozen=True, kw_only=True):
    """A series' terms and pooled accounting, as ``getSeries`` returns them.

    ``longs``: options outstanding (written, less exercised early and redeemed); ``shorts``:
    short contracts not yet withdrawn; ``collateral``: what the contract holds for the series.
    ``settlement_price`` and ``payout_per_contract`` are 0 until ``settled``.
    """

    series_id: int
    is_call: bool
    american: bool
    strike: int
    expiry: int
    cap: int
    collateral_per_contract: int
    longs: int
    shorts: int
    collateral: int
    settled: bool
    settlement_price: int
    payout_per_contract: int
    writing_closed: bool


class Options(ContractClient):
    """A deployed ``ProvenOptions`` at ``address``, used through ``chain``.

    ``sender`` on every transaction defaults to the chain's first account. A writer must
    ``approve`` the contract for the collateral (``oracle.token.Token``) before ``write``.
    """

    ARTIFACT = OPTIONS
    # A revert can come from a callee: the token (SafeERC20 bubbles its error) or the feed and
    # its commitments (settle's NoRoundBefore).
    CALLEES = (TEST_COLLATERAL, "StateCommitments", "BlockVerifier", "ProvenPriceFeed")

    @classmethod
    def deploy(
        cls,
        chain: Chain,
        feed: str,
        collateral: str,
        *,
        multiplier: int,
        max_price_age: int,
        sender: str | None = None,
    ) -> Options:
        """Deploy ``ProvenOptions`` on ``feed`` (a ``ProvenPriceFeed``) with ``collateral`` (a
        plain ERC-20: no transfer fee, no rebasing).

        ``multiplier``: contract size in collateral base units per price unit (> 0; with prices
        in cents and a 6-decimal dollar token, ``10_000`` makes one option one unit of the
        asset). ``max_price_age``: the oldest latest proven price early exercise accepts, in
        seconds. A refused constructor raises ``ChainError`` with the revert as its cause.
        """
        contract = chain.deploy(
            load_artifact(OPTIONS),
            chain.w3.to_checksum_address(feed),
            chain.w3.to_checksum_address(collateral),
            multiplier,
            max_price_age,
            sender=sender,
        )
        return cls(chain, contract.address)

    # ----------------------------------------------------------------------------------------
    # Reads

    def feed(self) -> str:
        return str(self._call(self.contract.functions.feed()))

    def collateral_token(self) -> str:
        return str(self._call(self.contract.functions.collateralToken()))

    def multiplier(self) -> int:
        return int(self._call(self.contract.functions.multiplier()))

    def max_price_age(self) -> int:
        return int(self._call(self.contract.functions.maxPriceAge()))

    def series_count(self) -> int:
        """Series created so far; ids run from 1 to this."""
        return int(self._call(self.contract.functions.seriesCount()))

    def series(self, series_id: int) -> Series:
        """The series' terms and accounting; ``ContractRevert`` ``UnknownSeries`` if none."""
        s = self._call(self.contract.functions.getSeries(series_id))
        (strike, cap, per_contract, longs, shorts, collateral, price, payout, expiry, is_call,
         american, settled, closed) = s  # fmt: skip
        return Series(
            series_id=series_id,
            is_call=bool(is_call),
            american=bool(american),
            strike=int(strike),
            expiry=int(expiry),
            cap=int(cap),
            collateral_per_contract=int(per_contract),
            longs=int(longs),
            shorts=int(shorts),
            collateral=int(collateral),
            settled=bool(settled),
            settlement_price=int(price),
            payout_per_contract=int(payout),
            writing_closed=bool(closed),
        )

    def payoff(self, series_id: int, price: int) -> int:
        """What one option of the series pays at ``price`` (collateral base units)."""
        return int(self._call(self.contract.functions.payoff(series_id, price)))

    def short_balance(self, series_id: int, writer: str) -> int:
        """Open short contracts ``writer`` holds in the series."""
        return int(self._call(self.contract.functions.shortBalance(series_id, writer)))

    def long_balance(self, series_id: int, holder: str) -> int:
        """Longs (ERC-1155, token id = series id) ``holder`` holds."""
        return int(self._call(self.contract.functions.balanceOf(holder, series_id)))

    # ----------------------------------------------------------------------------------------
    # Transactions

    def create_series(
        self,
        *,
        is_call: bool,
        american: bool,
        strike: int,
        expiry: int,
        cap: int = 0,
        sender: str | None = None,
    ) -> Tx:
        """Create a series (value: its id). ``cap``: for a call, the price above which the
        payout stops growing (``> strike``); 0 for a put. ``expiry``: unix seconds, after the
        chain's current block (else ``ExpiryInPast``)."""
        fn = self.contract.functions.createSeries(is_call, american, strike, expiry, cap)
        return self._send(fn, sender, "SeriesCreated", "seriesId")

    def write(self, series_id: int, amount: int, *, sender: str | None = None) -> Tx:
        """Write ``amount`` options (value: the collateral locked); the longs go to ``sender``,
        who must have approved the collateral."""
        fn = self.contract.functions.write(series_id, amount)
        return self._send(fn, sender, "Written", "collateral")

    def exercise_early(self, series_id: int, amount: int, *, sender: str | None = None) -> Tx:
        """Exercise ``amount`` American longs before expiry at the latest proven price (value:
        the payout). Refusals: ``NotAmerican``, ``SeriesExpired``, ``StalePrice``,
        ``OutOfTheMoney``, ``ERC1155InsufficientBalance``."""
        fn = self.contract.functions.exerciseEarly(series_id, amount)
        return self._send(fn, sender, "ExercisedEarly", "payout")

    def settle(self, series_id: int, *, sender: str | None = None) -> Tx:
        """Fix the settlement price (value: the price). Refusals: ``NotExpired``,
        ``PriceNotFinal``, ``AlreadySettled``."""
        fn = self.contract.functions.settle(series_id)
        return self._send(fn, sender, "Settled", "price")

    def redeem(self, series_id: int, amount: int, *, sender: str | None = None) -> Tx:
        """Burn ``amount`` longs of a settled series for their payout (value: the payout, 0
        out of the money)."""
        fn = self.contract.functions.redeem(series_id, amount)
        return self._send(fn, sender, "Redeemed", "payout")

    def withdraw(self, series_id: int, *, sender: str | None = None) -> Tx:
        """Close ``sender``'s shorts of a settled series for their share of the writers'
        collateral (value: the amount paid)."""
        fn = self.contract.functions.withdraw(series_id)
        return self._send(fn, sender, "Withdrawn", "amount")

    def transfer_longs(
        self, series_id: int, to: str, amount: int, *, sender: str | None = None
    ) -> Tx:
        """Move ``amount`` longs from ``sender`` to ``to`` (ERC-1155 ``safeTransferFrom``;
        value: the amount)."""
        frm = self.chain.sender(sender)
        fn = self.contract.functions.safeTransferFrom(frm, to, series_id, amount, b"")
        return self._send(fn, frm, "TransferSingle", "value")
