"""Margin against proven state, on chain: open a venue account at a proven block, read its
equity and maintenance requirement, trigger its liquidation (``ProvenMargin``).

An account is opened by ``proofs.state.PoseidonState.open_account`` (for a venue's stored
blocks: ``venue.margin.open_account``); ``Margin.verify`` / ``margin_of`` /
``trigger_liquidation`` send that opening to the contract, which recomputes the state root
with the on-chain Poseidon hashers (``PoseidonT3/T4/T5``) and compares it with the post-state
root of the proven block. ``margin_of`` is the same arithmetic in Python, for a caller who wants
the figures without a chain. Reverts come back as ``ContractRevert`` with ProvenMargin's
errors (``StateRootMismatch``, ``NotLatestBlock``, ``AccountHealthy``...).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from proofs.state import AccountOpening

from .artifacts import load_artifact
from .chain import Chain
from .client import ContractClient, Tx
from .deploy import DeploymentError

__all__ = [
    "BPS",
    "HASHERS",
    "LIQUIDATION_GRACE",
    "Margin",
    "MarginFigures",
    "deploy_margin",
    "margin_of",
]

#: the generated hashers, in ProvenMargin's constructor order
HASHERS: tuple[str, ...] = ("PoseidonT3", "PoseidonT4", "PoseidonT5")
BPS = 10_000
#: default final blocks a venue has to act on a liquidation trigger (``ProvenMargin``)
LIQUIDATION_GRACE = 10


class MarginFigures(msgspec.Struct, frozen=True):
    """An account's equity and maintenance requirement at its block's proven marks."""

    equity: int
    maintenance: int

    @property
    def liquidatable(self) -> bool:
        """Under maintenance margin: equity below the requirement."""
        return self.equity < self.maintenance


def margin_of(opening: AccountOpening, maintenance_bps: Sequence[int]) -> MarginFigures:
    """``ProvenMargin.marginOf`` in Python (no check of the opening: ``state_root()`` is)."""
    if len(maintenance_bps) != len(opening.positions):
        raise ValueError(f"{len(maintenance_bps)} rates for {len(opening.positions)} markets")
    equity = opening.collateral
    maintenance = 0
    for (position, _, _, basis), market, bps in zip(
        opening.positions, opening.markets, maintenance_bps, strict=True
    ):
        mark = market[2]
        equity += position * mark - basis
        maintenance += -(-bps * mark * abs(position) // BPS)
    return MarginFigures(equity, maintenance)


def _proof_arg(o: AccountOpening) -> tuple[object, ...]:
    """The ``AccountProof`` tuple the contract takes."""
    return (
        o.height,
        o.account,
        o.pubkey_hash,
        o.collateral,
        [tuple(p) for p in o.positions],
        o.nonce,
        list(o.siblings),
        [tuple(m) for m in o.markets],
    )


class Margin(ContractClient):
    """A deployed ``ProvenMargin``."""

    ARTIFACT = "ProvenMargin"
    # Their errors surface through it: the commitments' UnknownBlock, the hashers'
    # InputOutOfField.
    CALLEES = ("StateCommitments", "OptimisticCommitments", *HASHERS)

    def maintenance_bps(self) -> list[int]:
        count = int(self._call(self.contract.functions.marketCount()))
        return [int(self._call(self.contract.functions.maintenanceBps(i))) for i in range(count)]

    def state_root_of(self, opening: AccountOpening) -> int:
        """The state root the contract computes from ``opening`` (no comparison)."""
        return int(self._call(self.contract.functions.stateRootOf(_proof_arg(opening))))

    def verify(self, opening: AccountOpening) -> None:
        """Revert (``ContractRevert``) unless ``opening`` opens its proven block's root."""
        self._call(self.contract.functions.verify(_proof_arg(opening)))

    def margin_of(self, opening: AccountOpening) -> MarginFigures:
        """The contract's equity and maintenance requirement, after it checked ``opening``."""
        equity, maintenance = self._call(self.contract.functions.marginOf(_proof_arg(opening)))
        return MarginFigures(int(equity), int(maintenance))

    def liquidation_height(self, account: int) -> int:
        """Trigger height of the account's open liquidation episode (0: none open)."""
        return int(self._call(self.contract.functions.liquidationHeight(account)))

    def liquidation_grace(self) -> int:
        """Final blocks the venue has after a trigger before it can be reported overdue."""
        return int(self._call(self.contract.functions.liquidationGrace()))

    def overdue_trigger(self, account: int) -> int:
        """Trigger height of the account's last episode reported overdue (0: none)."""
        return int(self._call(self.contract.functions.overdueTrigger(account)))

    def overdue_count(self) -> int:
        """Liquidations reported overdue so far."""
        return int(self._call(self.contract.functions.overdueCount()))

    def trigger_liquidation(self, opening: AccountOpening, sender: str | None = None) -> Tx:
        """Trigger the liquidation of an account under maintenance at the latest proven block;
        ``Tx.value`` is the equity the contract recorded."""
        fn = self.contract.functions.triggerLiquidation(_proof_arg(opening))
        return self._send(fn, sender, "LiquidationTriggered", "equity")

    def clear_liquidation(self, opening: AccountOpening, sender: str | None = None) -> Tx:
        """Close the account's open episode with ``opening``, at or above maintenance at a
        final block after the trigger."""
        fn = self.contract.functions.clearLiquidation(_proof_arg(opening))
        return self._send(fn, sender, "LiquidationCleared", "height")

    def report_overdue(self, opening: AccountOpening, sender: str | None = None) -> Tx:
        """Report the venue overdue on the account's trigger: ``opening`` shows the account
        still under maintenance ``liquidation_grace`` final blocks or more after it; ``Tx.value``
        is the equity recorded."""
        fn = self.contract.functions.reportOverdue(_proof_arg(opening))
        return self._send(fn, sender, "LiquidationOverdue", "equity")

    def gas_of(self, opening: AccountOpening) -> int:
        """Gas of ``marginOf`` for ``opening`` (what a contract pays to check an account)."""
        return int(self.contract.functions.marginOf(_proof_arg(opening)).estimate_gas())


def deploy_margin(
    chain: Chain,
    commitments: str,
    *,
    account_depth: int,
    maintenance_bps: Sequence[int],
    liquidation_grace: int = LIQUIDATION_GRACE,
    sender: str | None = None,
) -> Margin:
    """Deploy the three Poseidon hashers and a ``ProvenMargin`` reading ``commitments``.

    ``maintenance_bps``: one rate per market in genesis order, in (0, 10000]; set it below
    the venue's initial margin rate (``MarketConfig.imf_bps``). ``liquidation_grace``: final
    blocks the venue has to act on a trigger before anyone can report it overdue.
    """
    if not 1 <= account_depth <= 32:
        raise DeploymentError(f"account_depth must be in 1..32, got {account_depth}")
    if not maintenance_bps or not all(0 < b <= BPS for b in maintenance_bps):
        raise DeploymentError(
            f"maintenance rates must be in (0, {BPS}] bps, one per market: {list(maintenance_bps)}"
        )
    if not 1 <= liquidation_grace < 2**32:
        raise DeploymentError(f"liquidation_grace must be in 1..2**32-1, got {liquidation_grace}")
    hashers = [chain.deploy(load_artifact(name), sender=sender).address for name in HASHERS]
    margin = chain.deploy(
        load_artifact("ProvenMargin"),
        commitments,
        hashers,
        account_depth,
        list(maintenance_bps),
        liquidation_grace,
        sender=sender,
    )
    return Margin(chain, margin.address)
