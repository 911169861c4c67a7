"""The operator's side of optimistic mode: propose every block, finalize it, prove it early.

Why: in validity mode a block's price reaches the chain when its proof does, so a price's
latency is the prover's. In optimistic mode (DESIGN §5, ``oracle.optimistic``) the operator
proposes each block's public inputs with no proof as soon as the block is stored; the price is
readable at once as pending and becomes final after the challenge window, unless a watcher
(``venue.watch``) refutes it with a validity proof first. The operator's standing bond pays for
a refuted block. Anyone may finalize a block whose window has passed; a proof on hand makes a
block final at once (``proveEarly``).

- ``propose_stored``: one pass over a venue's data directory (``provenbook publish
  --optimistic``): deploy (or resume a deployment file), post the bond, propose every stored
  block not yet proposed, prove early those with a stored proof if asked, finalize what is due.
  Several blocks go in one transaction (``proposeBlocks``, ``finalizeThrough``): the
  transaction's base cost is paid once.
- ``LiveProposer``: a running venue's blocks as they become durable (``provenbook serve
  --chain URL --optimistic``), from one thread, so the sequencer never waits for the chain.

Resuming checks that the chain's proposed chain is this venue's: the last proposed post-state
root must be the venue's own block's at that height. A bond lost to a challenge stops the
operator (``ProposerError``): one of the venue's proposals was not its block's outcome, which
someone must explain before a new bond is put at stake (``post_bond=True`` / ``--post-bond``).
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from matching import Block
from matching.block import BlockHeader
from oracle.chain import Chain, retry_unreachable
from oracle.client import Tx
from oracle.optimistic import (
    Optimistic,
    OptimisticDeployment,
    deploy_optimistic,
    load_optimistic_deployment,
)
from oracle.publish import BLOCKS_PER_TX
from oracle.reverts import ContractRevert

from .blockstore import BlockStore
from .node import VenueNode, stored_genesis, stored_header
from .proving import circuit_for

__all__ = [
    "DEFAULT_BOND",
    "DEFAULT_CHALLENGE_WINDOW",
    "OPTIMISTIC_DEPLOYMENT_FILE",
    "LiveProposer",
    "Operator",
    "ProposeReport",
    "ProposerError",
    "propose_follow",
    "propose_stored",
]

log = logging.getLogger(__name__)

OPTIMISTIC_DEPLOYMENT_FILE = "optimistic.json"
"""Where ``serve --optimistic`` keeps the deployment in the data directory (an RPC chain)."""
DEFAULT_BOND = 10**18
"""The operator's standing bond in wei unless told otherwise (1 ether)."""
DEFAULT_CHALLENGE_WINDOW = 3600
"""Seconds a proposal stays open to challenges unless told otherwise."""


class ProposerError(RuntimeError):
    """The optimistic deployment and the venue disagree, or the operator's bond is gone: no
    further block is proposed until someone has looked."""


class ProposeReport(msgspec.Struct):
    """What a pass did: the deployment (None: the venue has no block yet) and the heights it
    proposed, proved early and finalized."""

    deployment: OptimisticDeployment | None = None
    proposed: list[int] = msgspec.field(default_factory=list)
    proven_early: list[int] = msgspec.field(default_factory=list)
    finalized: list[int] = msgspec.field(default_factory=list)


class Operator:
    """An optimistic deployment as its operator uses it: propose in order, prove early,
    finalize what is due. ``sender`` (default: the chain's first account) must be the
    deployment's operator to propose; anyone may prove early or finalize."""

    def __init__(
        self, chain: Chain, deployment: OptimisticDeployment, *, sender: str | None = None
    ) -> None:
        if chain.w3.eth.chain_id != deployment.chain_id:
            raise ProposerError(
                f"the deployment is on chain id {deployment.chain_id}, this chain is "
                f"{chain.w3.eth.chain_id}"
            )
        self.chain = chain
        self.deployment = deployment
        self.sender = chain.sender(sender)
        self.opt = Optimistic.of(chain, deployment)
        self._pending = self.opt.latest_pending_height()

    @classmethod
    def deploy(
        cls,
        chain: Chain,
        data: str | os.PathLike[str],
        start: BlockHeader,
        *,
        bond: int = DEFAULT_BOND,
        challenge_window: int = DEFAULT_CHALLENGE_WINDOW,
        sender: str | None = None,
        deployment_file: str | os.PathLike[str] | None = None,
    ) -> Operator:
        """Deploy the optimistic contracts at ``start``'s pre-state, with the venue's verifying
        key (set up into the key cache if it is not there: a watcher's proof must verify on
        chain, or no challenge could ever succeed), and a feed per market."""
        genesis = stored_genesis(data)
        vk = circuit_for(genesis).verifying_key
        names = [f"{m.symbol} / ProvenBook" for m in genesis.markets]
        operator = chain.sender(sender)
        dep = deploy_optimistic(
            chain, vk, start=start, operator=operator, bond=bond,
            challenge_window=challenge_window, description=names[0], descriptions=names,
            sender=operator,
        )  # fmt: skip
        if deployment_file is not None:
            dep.save(deployment_file)
        return cls(chain, dep, sender=operator)

    @property
    def pending_height(self) -> int:
        """The last height proposed (as this operator last read or proposed it)."""
        return self._pending

    def ensure_bonded(self, *, after_slash: bool = False) -> bool:
        """Post the bond unless it stands (True if it was posted now). ProposerError if it
        was slashed, unless ``after_slash``."""
        if self.opt.bonded():
            return False
        slashed = self.opt.slash_count()
        if slashed and not after_slash:
            raise ProposerError(
                f"the operator's bond was slashed ({slashed} proposal(s) refuted): a proposal "
                "was not its block's outcome. Find out why (provenbook replay, provenbook "
                "watch) before putting a new bond at stake (--post-bond)"
            )
        self.opt.post_bond(sender=self.sender)
        return True

    def check_follows(self, store: BlockStore) -> None:
        """ProposerError unless the proposed chain is the venue's: the last proposed post-state
        root (or the starting root) is the venue's own at that height."""
        pending, start = self.opt.latest_pending_height(), self.opt.genesis_height()
        self._pending = pending
        if pending == start:
            first = stored_header(store, start + 1)
            want = None if first is None else first.pre_state_root
        else:
            at = stored_header(store, pending)
            want = None if at is None else at.post_state_root
        if want is None:
            raise ProposerError(
                f"the chain's optimistic contracts are at block {pending}; this venue's data "
                f"ends at block {store.last_height}: another venue's deployment, or lost data"
            )
        if want != self.opt.pending_state_root():
            raise ProposerError(
                f"the chain's proposed state at block {pending} is not this venue's: another "
                "venue's deployment"
            )

    def resync(self) -> None:
        """Read the proposed height again (after a failure to reach the chain: a proposal
        whose receipt was lost may have landed)."""
        self._pending = self.opt.latest_pending_height()

    def _revert(self, what: str, height: int, exc: ContractRevert) -> ProposerError:
        self.resync()  # a challenge may have cut it
        return ProposerError(f"{what} block {height}: {exc}")

    def propose(self, *headers: BlockHeader) -> Tx | None:
        """Propose the consecutive blocks of ``headers`` not proposed yet, in one transaction
        (``proposeBlocks`` for several); None if every one is proposed already. ProposerError
        for a gap (a block before them is not proposed) or a refusal (then none is)."""
        todo = [h for h in headers if h.height > self._pending]
        if not todo:
            return None
        want = list(range(self._pending + 1, self._pending + 1 + len(todo)))
        if [h.height for h in todo] != want:
            raise ProposerError(
                f"blocks {[h.height for h in todo]} cannot be proposed after block {self._pending}"
            )
        try:
            if len(todo) == 1:
                tx = self.opt.propose(todo[0], sender=self.sender)
            else:
                tx = self.opt.propose_blocks(todo, sender=self.sender)[1]
        except ContractRevert as exc:
            raise self._revert("proposing", todo[0].height, exc) from exc
        self._pending = todo[-1].height
        return tx

    def prove_early(self, header: BlockHeader, proof: bytes) -> bool:
        """Make the proposed ``header`` final as soon as the blocks before it are, with its
        proof (False if it is proven or final already). ProposerError if the chain refuses the
        proof: then the proposal is not what was proved, or the key is not the deployed one."""
        h = header.height
        if h > self._pending or h <= self.opt.latest_height():
            return False
        try:
            self.opt.prove_early(h, proof, sender=self.sender)
        except ContractRevert as exc:
            if exc.name in ("BlockAlreadyProven", "BlockAlreadyFinal"):
                return False
            raise self._revert("proving early", h, exc) from exc
        return True

    def finalize_ready(self) -> list[int]:
        """Finalize, in order and in one transaction, every pending block that is proven or
        whose challenge window has passed on the chain's clock; the heights finalized."""
        now = int(self.chain.w3.eth.get_block("latest")["timestamp"])
        first, top = self.opt.latest_height() + 1, self.opt.latest_pending_height()
        last = first - 1
        while last < top:
            p = self.opt.pending_block(last + 1)
            if not p.proven and now < p.challenge_deadline:
                break
            last += 1
        if last < first:
            return []
        try:
            if last == first:
                self.opt.finalize(first)
                return [first]
            return self.opt.finalize_through(last)[0]
        except ContractRevert as exc:
            if exc.name == "ChallengeWindowOpen":  # the next block's clock disagreed: later
                return []
            raise self._revert("finalizing", first, exc) from exc


def propose_stored(
    data: str | os.PathLike[str],
    chain: Chain,
    *,
    deployment_file: str | os.PathLike[str] | None = None,
    deployment: OptimisticDeployment | None = None,
    bond: int = DEFAULT_BOND,
    challenge_window: int = DEFAULT_CHALLENGE_WINDOW,
    prove_early: bool = False,
    post_bond: bool = False,
    sender: str | None = None,
    store: BlockStore | None = None,
    progress: Callable[[int, int], None] | None = None,
    per_tx: int = BLOCKS_PER_TX,
) -> ProposeReport:
    """One pass of the operator over a venue's stored blocks (module docstring).

    With ``deployment``, or ``deployment_file`` naming an existing file, the pass resumes that
    deployment (after checking that it is this venue's); otherwise the contracts are deployed
    at block 1's pre-state (``bond`` in wei and ``challenge_window`` in seconds are their
    terms) and the deployment is written to ``deployment_file`` if given. ``prove_early``:
    blocks pending with a stored proof are made final now. ``post_bond``: a new bond after a
    slash. ``store``: the running node's ``BlockStore``. ``per_tx``: blocks proposed per
    transaction at most (``proposeBlocks``).
    ``progress(done, total)`` counts proposals.
    """
    if per_tx < 1:
        raise ValueError(f"blocks per transaction must be at least 1, not {per_tx}")
    root = Path(data)
    stored_genesis(root)  # a venue's directory, or NodeError
    own = store is None
    blocks = BlockStore(root / "blocks", first_height=1, read_only=True) if own else store
    assert blocks is not None
    try:
        report = ProposeReport()
        if deployment is None and deployment_file is not None and Path(deployment_file).exists():
            deployment = load_optimistic_deployment(deployment_file)
        if deployment is not None:
            op = Operator(chain, deployment, sender=sender)
            op.check_follows(blocks)
        else:
            first = stored_header(blocks, 1)
            if first is None:
                return report  # nothing to propose yet: deploy at the first block
            op = Operator.deploy(
                chain, root, first, bond=bond, challenge_window=challenge_window,
                sender=sender, deployment_file=deployment_file,
            )  # fmt: skip
        report.deployment = op.deployment
        op.ensure_bonded(after_slash=post_bond)
        todo = range(op.pending_height + 1, blocks.last_height + 1)
        for i in range(0, len(todo), per_tx):
            group = [stored_header(blocks, h) for h in todo[i : i + per_tx]]
            op.propose(*group)  # type: ignore[arg-type]  # the store holds every height
            report.proposed += list(todo[i : i + per_tx])
            if progress is not None:
                progress(len(report.proposed), len(todo))
        if prove_early:
            for h in range(op.opt.latest_height() + 1, op.pending_height + 1):
                proof, header = blocks.get_proof(h), stored_header(blocks, h)
                if (
                    proof is not None
                    and header is not None
                    and op.prove_early(header, proof.payload)
                ):
                    report.proven_early.append(h)
        report.finalized = op.finalize_ready()
        return report
    finally:
        if own:
            blocks.close()


def propose_follow(
    data: str | os.PathLike[str],
    chain: Chain,
    stop: threading.Event,
    *,
    poll: float = 1.0,
    **kw: Any,
) -> ProposeReport:
    """``propose_stored`` every ``poll`` seconds until ``stop`` is set, on one deployment
    (``publish --optimistic --follow`` beside a venue that runs elsewhere); the passes' work
    together. ``kw``: ``propose_stored``'s options."""
    total = ProposeReport(deployment=kw.pop("deployment", None))
    while True:
        r = propose_stored(data, chain, deployment=total.deployment, **kw)
        total.deployment = r.deployment or total.deployment
        total.proposed += r.proposed
        total.proven_early += r.proven_early
        total.finalized += r.finalized
        kw["post_bond"] = False  # one new bond at most, not one per slash
        if stop.wait(poll):
            return total


class LiveProposer:
    """Proposes a running venue's blocks as they become durable (module docstring).

    Wiring: ``start()`` before the gateway, ``close()`` after (it chains ``node.on_block`` and
    restores what it found). ``start`` first proposes the blocks stored before it (resuming
    ``deployment_file`` if it exists; deploying at block 1 otherwise, or, for a venue with no
    block yet, at the first block sealed). ``submit_proof(block, proof)`` (e.g. as
    ``LiveProver.on_proof``) proves a proposed block early. Every ``finalize_every`` seconds
    the blocks whose window has passed are finalized. The blocks stored while a proposal was
    out go together in the next (``proposeBlocks``, at most ``max_blocks``).
    ``on_proposed(height, tx_hash)`` and ``on_final(height)`` (e.g. ``Gateway.on_proposed`` /
    ``on_final``, the traders' finality) are called from the proposer's thread.

    A refusal halts proposing (``halted``: the height and why), since every later block builds
    on the one refused; the venue goes on sequencing. A chain that cannot be reached only
    delays it (``oracle.chain.retry_unreachable``): the step is tried again, with a growing
    pause, after re-reading what the chain holds (a proposal whose receipt was lost may have
    landed), until it succeeds or the proposer is closed.
    """

    def __init__(
        self,
        node: VenueNode,
        chain: Chain,
        *,
        deployment_file: str | os.PathLike[str] | None = None,
        bond: int = DEFAULT_BOND,
        challenge_window: int = DEFAULT_CHALLENGE_WINDOW,
        post_bond: bool = False,
        finalize_every: float = 1.0,
        sender: str | None = None,
        on_proposed: Callable[[int, str], None] | None = None,
        on_final: Callable[[int], None] | None = None,
        max_blocks: int = BLOCKS_PER_TX,
    ) -> None:
        if finalize_every <= 0:
            raise ValueError(f"finalize_every must be positive, not {finalize_every}")
        if max_blocks < 1:
            raise ValueError(f"max_blocks must be at least 1, not {max_blocks}")
        self.max_blocks = max_blocks
        self.node, self.chain = node, chain
        self.deployment_file = deployment_file
        self.bond, self.challenge_window, self.post_bond = bond, challenge_window, post_bond
        self.finalize_every = finalize_every
        self.sender = sender
        self.on_proposed, self.on_final = on_proposed, on_final
        self.operator: Operator | None = None
        self.proposed_height = 0
        self.finalized_height = 0
        self.proven_early: list[int] = []
        self.halted: tuple[int, str] | None = None
        self._queue: queue.Queue[tuple[BlockHeader, bytes | None] | None] = queue.Queue()
        # the item read after a group of blocks, done next (a list: None is an item, the end)
        self._held: list[tuple[BlockHeader, bytes | None] | None] = []
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._previous: Callable[[Block], None] | None = None
        self._finalized_at = 0.0
        self._closing = threading.Event()
        self._bonded = False  # checked once, after this proposer deployed
        self._unsure = False  # the operator's view of the chain may be stale

    def start(self) -> ProposeReport:
        """Hook the node, propose what is stored, start the thread; the catch-up's report."""
        if self._thread is not None:
            raise RuntimeError("the live proposer is already started")
        # Hook first, then read the store: a block stored in between is seen twice (the
        # thread skips heights already proposed), never zero times.
        self._previous = self.node.on_block
        self.node.on_block = self._on_block
        try:
            rep = propose_stored(
                self.node.dir, self.chain, deployment_file=self.deployment_file,
                bond=self.bond, challenge_window=self.challenge_window,
                post_bond=self.post_bond, sender=self.sender, store=self.node.blocks,
            )  # fmt: skip
        except BaseException:
            self.node.on_block = self._previous
            raise
        if rep.deployment is not None:
            self.operator = Operator(self.chain, rep.deployment, sender=self.sender)
            self._record(self.operator.pending_height, self.operator.opt.latest_height())
        self._thread = threading.Thread(target=self._run, name="proposer", daemon=True)
        self._thread.start()
        return rep

    def submit_proof(self, block: Block, proof: bytes) -> None:
        """Prove ``block`` early once it is proposed (never blocks)."""
        self._queue.put((block.header, proof))

    def wait(self, height: int, timeout: float, *, final: bool = False) -> bool:
        """Wait until ``height`` is proposed (or ``final``); False on a halt or time-out."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._reached(height, final) or self.halted is not None, timeout
            )
            return self._reached(height, final)

    def close(self) -> None:
        """Unhook the node, propose what is queued, stop the thread (a chain still unreachable
        is not waited for: the next start proposes what did not land)."""
        if self.node.on_block == self._on_block:
            self.node.on_block = self._previous
        self._closing.set()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _reached(self, height: int, final: bool) -> bool:
        return (self.finalized_height if final else self.proposed_height) >= height

    def _on_block(self, block: Block) -> None:  # committer's thread: enqueue only
        if self._previous is not None:
            self._previous(block)
        self._queue.put((block.header, None))

    def _record(self, proposed: int, final: int | None) -> None:
        with self._changed:
            self.proposed_height = max(self.proposed_height, proposed)
            if final is not None and final > self.finalized_height:
                self.finalized_height = final
            else:
                final = None  # nothing new to tell
            self._changed.notify_all()
        if final is not None:
            self._hook(self.on_final, final)

    @staticmethod
    def _hook(fn: Callable[..., None] | None, *args: Any) -> None:
        if fn is not None:
            try:
                fn(*args)
            except Exception:  # a hook's failure must not stop proposing
                log.exception("optimistic operator hook %r failed", fn)

    def _next(self) -> tuple[list[BlockHeader], bytes | None] | None:
        """What to do next: blocks to propose (those queued meanwhile too, up to
        ``max_blocks``), or one block and its proof, or nothing but finalizing (a tick); None
        to stop."""
        if self._held:
            item = self._held.pop()
        else:
            try:
                item = self._queue.get(timeout=self.finalize_every)
            except queue.Empty:
                return [], None  # a tick: only finalize
        if item is None:
            return None
        header, proof = item
        if proof is not None:
            return [header], proof
        headers = [header]
        while len(headers) < self.max_blocks:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None or more[1] is not None:  # a proof, or the end: after this group
                self._held.append(more)
                break
            headers.append(more[0])
        return headers, None

    def _run(self) -> None:
        while (work := self._next()) is not None:
            if self.halted is not None:
                continue
            headers, proof = work
            h = headers[0].height if headers else self.proposed_height + 1
            try:
                retry_unreachable(
                    functools.partial(self._step, headers, proof), stop=self._closing,
                    on_retry=self._stale, what=f"optimistic operator, block {h}",
                )  # fmt: skip
            except Exception as exc:  # a refusal or a chain failure: stop here, say why
                log.error("optimistic operator halted at block %d: %s", h, exc)
                with self._changed:
                    self.halted = (h, str(exc))
                    self._changed.notify_all()

    def _stale(self) -> None:
        self._unsure = True

    def _step(self, headers: list[BlockHeader], proof: bytes | None) -> None:
        if headers and self.operator is None:
            self.operator = Operator.deploy(
                self.chain, self.node.dir, headers[0], bond=self.bond,
                challenge_window=self.challenge_window, sender=self.sender,
                deployment_file=self.deployment_file,
            )  # fmt: skip
        op = self.operator
        if op is None:
            return  # a tick before the first block
        if not self._bonded:
            op.ensure_bonded(after_slash=self.post_bond)
            self._bonded = True
        if self._unsure:
            op.resync()
            self._unsure = False
        final: int | None = None
        if proof is not None:
            if op.prove_early(headers[0], proof):
                self.proven_early.append(headers[0].height)
                final = op.opt.latest_height()  # final at once if the blocks before it are
        elif headers:
            before = op.pending_height
            tx = op.propose(*headers)
            if tx is not None:
                self._record(op.pending_height, None)
                for h in range(before + 1, op.pending_height + 1):
                    self._hook(self.on_proposed, h, tx.tx_hash)
        # a few reads per pass: at most every finalize_every seconds, however fast blocks come
        if time.monotonic() - self._finalized_at >= self.finalize_every:
            op.finalize_ready()
            self._finalized_at = time.monotonic()
            final = op.opt.latest_height()
        self._record(op.pending_height, final)
