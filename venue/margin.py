"""Open a venue's accounts at a stored block, for margin checks against proven state, and
trigger the liquidations that are due.

``open_account`` re-executes the stored blocks up to a height (``venue.replay``, so what it
opens is recomputed, not read from the store) and opens the account's leaf against that
height's state root (``proofs.state.AccountOpening``). The opening is what contract
``ProvenMargin`` checks against the proven post-state root of the same block
(``oracle.margin.Margin``); ``maintenance_rates`` gives the venue's own maintenance rates to
deploy it with. ``liquidate_stored`` is the keeper anyone can run: every account of the
latest block on chain is checked, and each one under maintenance margin is triggered.
``liquidation_orders`` is what the venue then sends to close such an account's positions:
its resting orders cancelled, and a liquidation order per position, which the engine accepts
and the block proof checks only while the account is under maintenance margin.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import msgspec

from oracle.chain import Chain
from oracle.deploy import Deployment, DeploymentFile
from oracle.margin import Margin, MarginFigures, deploy_margin, margin_of
from oracle.publish import Publisher
from proofs.state import AccountOpening, PoseidonState

from .blockstore import BlockStore
from .liquidation import LIQUIDATION_BAND_BPS, liquidation_limit, liquidation_orders
from .node import Genesis, NodeError, stored_genesis
from .replay import replay

__all__ = [
    "LIQUIDATION_BAND_BPS",
    "MARGIN_FILE",
    "LiquidationReport",
    "MarginDeployment",
    "liquidate_stored",
    "liquidation_limit",
    "liquidation_orders",
    "maintenance_rates",
    "open_account",
    "open_accounts",
]

#: where ``provenbook liquidate`` keeps the ProvenMargin address, in the venue's directory
MARGIN_FILE = "margin.json"


def maintenance_rates(genesis: Genesis) -> list[int]:
    """Each market's maintenance margin rate (``mmf_bps``), in genesis order."""
    return [m.mmf_bps for m in genesis.markets]


def open_account(
    data: str | os.PathLike[str], account: int, *, height: int | None = None
) -> AccountOpening:
    """``account`` opened at ``height`` (default: the last stored block) of the venue in
    ``data``. Raises ``NodeError`` if the blocks do not replay to that height, and
    ``proofs.state.AccountNotFound`` if the account does not exist there."""
    return open_accounts(data, [account], height=height)[account]


def open_accounts(
    data: str | os.PathLike[str],
    accounts: Iterable[int] | None,
    *,
    height: int | None = None,
    store: BlockStore | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, AccountOpening]:
    """``open_account`` for several accounts at once (one replay); None: every account.
    ``store``: the running node's ``BlockStore``, when there is one; ``progress(done, total)``
    follows the replay.

    The replay starts from the venue's newest snapshot below ``height`` (or genesis), so a
    long history is not re-executed each time; a snapshot cannot make an opening wrong
    unnoticed: the contract checks it against the proven root."""
    root = Path(data)
    stored_genesis(root)  # a venue's directory, before a BlockStore would create blocks/
    if height is None:  # the last stored block, named, so that replay starts below it
        own = store is None
        blocks = BlockStore(root / "blocks", first_height=1, read_only=True) if own else store
        try:
            height = blocks.last_height  # type: ignore[union-attr]
        finally:
            if own:
                blocks.close()  # type: ignore[union-attr]
    last: dict[int, PoseidonState] = {}

    def keep(h: int, state: PoseidonState) -> None:
        last.clear()
        last[h] = state

    # replay stops after ``until``, so the state it leaves is the one at the height wanted
    report = replay(
        root, until=height, on_block=keep, store=store, from_snapshot=True, progress=progress
    )
    if not report.ok:
        raise NodeError(f"{root}: replay stopped at a mismatch: {report.mismatch}")
    if height not in last:
        raise NodeError(f"{root}: no stored block at height {height} (last: {report.last_height})")
    (state,) = last.values()
    wanted = state.account_ids() if accounts is None else accounts
    return {a: state.open_account(a) for a in wanted}


class MarginDeployment(DeploymentFile, frozen=True, kw_only=True):
    """Where a venue's ``ProvenMargin`` is (``DIR/margin.json`` beside ``chain.json``)."""

    chain_id: int
    commitments: str
    margin: str


class LiquidationReport(msgspec.Struct):
    """What ``liquidate_stored`` did at the latest height on chain: every account's figures;
    the liquidations it triggered, the episodes it reported overdue and those it cleared
    (account -> transaction); the accounts under maintenance whose trigger is still open
    within its grace."""

    height: int
    margin: str
    figures: dict[int, MarginFigures]
    triggered: dict[int, str] = msgspec.field(default_factory=dict)
    already: list[int] = msgspec.field(default_factory=list)
    overdue: dict[int, str] = msgspec.field(default_factory=dict)
    cleared: dict[int, str] = msgspec.field(default_factory=dict)


def liquidate_stored(
    data: str | os.PathLike[str],
    chain: Chain,
    deployment: Deployment,
    *,
    margin_file: str | os.PathLike[str] | None = None,
    store: BlockStore | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LiquidationReport:
    """Check every account of the venue in ``data`` at the latest height final on chain: trigger
    the liquidation of each one under maintenance margin without an open episode, report the
    venue overdue on each one still under maintenance ``liquidation_grace`` blocks after its
    trigger (once), and clear the episode of each one back above maintenance.

    The ``ProvenMargin`` is read from ``margin_file`` when it names one for this chain and these
    commitments; otherwise it is deployed with the venue's maintenance rates (and written to
    ``margin_file`` if given). Raises ``NodeError`` if the stored blocks do not reach the height
    on chain. ``store`` and ``progress``: as ``open_accounts``'s."""
    root = Path(data)
    genesis = stored_genesis(root)
    rates = maintenance_rates(genesis)
    chain_id = chain.w3.eth.chain_id
    margin: Margin | None = None
    if margin_file is not None and Path(margin_file).exists():
        known = MarginDeployment.load(margin_file)
        if known.chain_id == chain_id and known.commitments == deployment.commitments:
            margin = Margin(chain, known.margin)
    if margin is None:
        margin = deploy_margin(
            chain, deployment.commitments, account_depth=genesis.account_depth,
            maintenance_bps=rates,
        )  # fmt: skip
        if margin_file is not None:
            MarginDeployment(
                chain_id=chain_id, commitments=deployment.commitments, margin=margin.address
            ).save(margin_file)
    height = Publisher(chain, deployment).latest_height
    if height <= deployment.genesis_height:
        return LiquidationReport(height, margin.address, {})
    openings = open_accounts(root, None, height=height, store=store, progress=progress)
    report = LiquidationReport(height, margin.address, {})
    grace = margin.liquidation_grace()
    for account, opening in openings.items():
        figures = report.figures[account] = margin_of(opening, rates)
        triggered_at = margin.liquidation_height(account)
        if not figures.liquidatable:
            if triggered_at and triggered_at < height:
                report.cleared[account] = margin.clear_liquidation(opening).tx_hash
            continue
        if not triggered_at:
            report.triggered[account] = margin.trigger_liquidation(opening).tx_hash
        elif height >= triggered_at + grace and margin.overdue_trigger(account) != triggered_at:
            report.overdue[account] = margin.report_overdue(opening).tx_hash
        else:
            report.already.append(account)
    return report
