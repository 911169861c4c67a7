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
from pathlib import Path

from proofs.state import AccountOpening, PoseidonState

from .node import Genesis, NodeError
from .replay import replay

__all__ = ["maintenance_rates", "open_account"]


def maintenance_rates(genesis: Genesis) -> list[int]:
    """Each market's maintenance margin rate (``mmf_bps``), in genesis order."""
    return [m.mmf_bps for m in genesis.markets]


def open_account(
    data: str | os.PathLike[str], account: int, *, height: int | None = None
) -> AccountOpening:
    """``account`` opened at ``height`` (default: the last stored block) of the venue in
    ``data``. Raises ``NodeError`` if the blocks do not replay to that height, and
    ``proofs.state.AccountNotFound`` if the account does not exist there."""
    root = Path(data)
    opened: list[tuple[int, AccountOpening | LookupError]] = []

    def grab(h: int, state: PoseidonState) -> None:
        if height is None or h == height:
            try:
                opened[:] = [(h, state.open_account(account))]
            except LookupError as exc:
                opened[:] = [(h, exc)]

    report = replay(root, until=height, on_block=grab)
    if not report.ok:
        raise NodeError(f"{root}: replay stopped at a mismatch: {report.mismatch}")
    if not opened or (height is not None and opened[0][0] != height):
        raise NodeError(f"{root}: no stored block at height {height} (last: {report.last_height})")
    found = opened[0][1]
    if isinstance(found, LookupError):
        raise found
    return found
