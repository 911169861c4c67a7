"""A watcher of an optimistic venue: it refutes a wrong proposal with a validity proof.

Why: optimistic mode is only as safe as its watchers. A proposal that misstates its outcome
becomes final once its challenge window passes, unless someone proves the same block with the
right outcome first (``IOptimisticChain`` in ``contracts/src/interfaces/``). Anyone holding the
venue's blocks can be that someone: ``watch_once`` replays them (so it trusts none of the
venue's stored headers), compares every pending proposal on chain with the block the replay
recomputed, and challenges the first one whose post-state root, or any market's settlement or
TWAP accumulator, differs. The proof is the venue's stored proof of that block when it verifies
against the recomputed header, and otherwise one the watcher makes (``venue.proving``).

What it cannot refute is reported as an alarm, not hidden: a pending block that the venue's
data does not hold (withheld), or a proposal of other commands or another meta than the
venue's block (no proof of it can exist). Both are the data-availability attacks that
``IOptimisticChain`` says optimistic mode rests on; watchers should raise them with people.
A challenge discards the pending blocks after the refuted one, so a round stops there.

``provenbook watch DIR --chain URL --deployment FILE`` runs one round, or follows the chain
with ``--follow``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import msgspec

from matching import Block
from matching.block import BlockHeader
from matching.encoding import decoder
from oracle.chain import Chain
from oracle.optimistic import Optimistic, OptimisticDeployment
from oracle.reverts import ContractRevert
from proofs.circom import default_cache_dir
from proofs.verify import verify_block

from .blockstore import BlockStore
from .node import stored_genesis, stored_header
from .proving import circuit_for, prove_blocks
from .replay import replay

__all__ = ["WatchError", "WatchReport", "watch_follow", "watch_once"]

_block = decoder(Block)


class WatchError(RuntimeError):
    """The watcher's own copy of the venue does not replay: it cannot judge anything."""


class WatchReport(msgspec.Struct):
    """What a round of watching found, by height of the proposed chain."""

    #: pending proposals that are exactly the replayed blocks
    honest: list[int] = msgspec.field(default_factory=list)
    #: ``(height, reward in wei)`` of each proposal refuted here (the reward is credited on
    #: chain; ``Optimistic.withdraw`` sends it)
    challenged: list[tuple[int, int]] = msgspec.field(default_factory=list)
    #: ``(height, why)`` of each proposal the watcher cannot refute
    alarms: list[tuple[int, str]] = msgspec.field(default_factory=list)
    #: proofs the watcher made because its copy of the venue stored none
    proved: int = 0


def _outcome_differs(opt: Optimistic, height: int, header: BlockHeader) -> str | None:
    """None if the proposal at ``height`` is ``header``'s block; "outcome" if it is the same
    block (commands, close time, first sequence number and command count) with another
    outcome; otherwise why it is another block."""
    claimed = [opt.pending_block(height, market=i) for i in range(opt.markets)]
    first = claimed[0]
    if first.command_commitment != header.command_commitment:
        return "another command commitment than the venue's block"
    if (first.block.close_ts, first.block.first_seq) != (header.close_ts, header.first_seq):
        return "another close time or first sequence number than the venue's block"
    if height < opt.latest_pending_height():
        after = opt.pending_block(height + 1).block.first_seq
    else:
        after = opt.next_seq()
    if after != header.first_seq + header.command_count:
        return "another command count than the venue's block"
    if first.block.post_state_root != header.post_state_root:
        return "outcome"
    for c, s in zip(claimed, header.markets, strict=True):
        b = c.block
        if (b.price, b.carried, b.volume, b.trade_count, b.cum_price_time) != (
            s.price, s.carried, s.volume, s.trade_count, s.cum_price_time,
        ):  # fmt: skip
            return "outcome"
    return None


def _stored_proof(data: Path, height: int) -> bytes | None:
    with BlockStore(data / "blocks", first_height=1, read_only=True) as store:
        stored = store.get_proof(height)
    return None if stored is None else stored.payload


def _proof(data: Path, header: BlockHeader, report: WatchReport, workers: int) -> bytes:
    """The venue's stored proof of ``header``'s block, or one made now if none is stored;
    WatchError unless it verifies under the key the watcher holds, which must be the venue's
    (the chain's verifier was deployed with it)."""
    circuit = circuit_for(stored_genesis(data))
    proof = _stored_proof(data, header.height)
    if proof is None:
        # proves (and stores) the copy's unproven blocks up to this one
        report.proved += len(prove_blocks(data, last=header.height, workers=workers).proven)
        proof = _stored_proof(data, header.height)
    if proof is not None and verify_block(header, proof, circuit.verifying_key):
        return proof
    where = circuit.cache_dir or default_cache_dir()
    raise WatchError(
        f"the verifying key in {where} does not verify the proof of block {header.height}: "
        "the watcher needs the venue's keys (PROVENBOOK_CIRCUIT_CACHE)"
    )


def watch_once(
    data: str | os.PathLike[str],
    chain: Chain,
    deployment: OptimisticDeployment,
    *,
    sender: str | None = None,
    workers: int = 2,
) -> WatchReport:
    """One round: replay the venue at ``data``, then check every pending proposal of the
    optimistic ``deployment`` in height order and challenge the first wrong one (from
    ``sender``, who gets half the operator's bond). WatchError if the data does not replay."""
    root = Path(data)
    opt = Optimistic.of(chain, deployment)
    report = WatchReport()
    final, pending = opt.latest_height(), opt.latest_pending_height()
    if pending == final:
        return report
    rep = replay(root, until=pending)
    if not rep.ok:
        raise WatchError(f"{root} does not replay: {rep.mismatch}")
    with BlockStore(root / "blocks", first_height=1, read_only=True) as store:
        held = store.last_height
        headers = {h: stored_header(store, h) for h in range(final + 1, min(pending, held) + 1)}
    for h in range(final + 1, pending + 1):
        header = headers.get(h)
        if header is None:
            report.alarms.append((h, "the venue's data holds no such block (withheld?)"))
            break
        why = _outcome_differs(opt, h, header)
        if why is None:
            report.honest.append(h)
            continue
        if why != "outcome":
            report.alarms.append((h, f"unprovable proposal: {why}"))
            break  # the blocks after it build on a state no proof can reach
        proof = _proof(root, header, report, workers)
        try:
            tx = opt.challenge(h, header, proof, sender=sender)
        except ContractRevert as exc:
            report.alarms.append((h, f"challenge refused: {exc.name}"))
        else:
            report.challenged.append((h, tx.value))
        break  # a challenge discards the pending blocks after it
    return report


def watch_follow(
    data: str | os.PathLike[str],
    chain: Chain,
    deployment: OptimisticDeployment,
    stop: threading.Event,
    *,
    poll: float = 5.0,
    sender: str | None = None,
    workers: int = 2,
) -> WatchReport:
    """``watch_once`` every ``poll`` seconds until ``stop`` is set; the rounds' findings
    together (a height found honest twice is listed once)."""
    total = WatchReport()
    while True:
        r = watch_once(data, chain, deployment, sender=sender, workers=workers)
        total.honest += [h for h in r.honest if h not in total.honest]
        total.challenged += r.challenged
        total.alarms += [a for a in r.alarms if a not in total.alarms]
        total.proved += r.proved
        if stop.wait(poll):
            return total
