"""Open a venue's account at a stored block, for margin checks against proven state.

``open_account`` re-executes the stored blocks up to a height (``venue.replay``, so what it
opens is recomputed, not read from the store) and opens the account's leaf against that
height's state root (``proofs.state.AccountOpening``). The opening is what contract
``ProvenMargin`` checks against the proven post-state root of the same block
(``oracle.margin.Margin``); ``maintenance_rates`` gives the venue's own maintenance rates to
deploy it with.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from proofs.state import AccountOpening, PoseidonState

from .node import Genesis, NodeError
from .replay import replay

__all__ = ["maintenance_rates", "open_account", "open_accounts"]


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
    data: str | os.PathLike[str], accounts: Iterable[int], *, height: int | None = None
) -> dict[int, AccountOpening]:
    """``open_account`` for several accounts at once (one replay)."""
    root = Path(data)
    last: dict[int, PoseidonState] = {}

    def keep(h: int, state: PoseidonState) -> None:
        last.clear()
        last[h] = state

    # replay stops after ``until``, so the state it leaves is the one at the height wanted
    report = replay(root, until=height, on_block=keep)
    if not report.ok:
        raise NodeError(f"{root}: replay stopped at a mismatch: {report.mismatch}")
    if not last or (height is not None and height not in last):
        raise NodeError(f"{root}: no stored block at height {height} (last: {report.last_height})")
    (state,) = last.values()
    return {a: state.open_account(a) for a in accounts}
