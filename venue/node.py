"""The sequencer: one owner of the engine, the journal and the block store.

Pipeline: G → J → ME → B1 ‖ (H → B2)
  G  commands arrive without sequence numbers (gateway, demo, tests)
  J  the node numbers and timestamps them, appends them to the journal and fsyncs once per
     batch (group commit): nothing is acknowledged before this returns
  ME the engine executes them on the caller's thread (the sequencer)
  B1 the block builder *cuts* blocks (``BlockBuilder.submit_cut``): end-of-block summaries,
     the state diff and market states are read from the engine here, on the sequencer
  H  the committer (``venue.committer``, a worker process by default) hashes them: state
     root, command commitment, header hash. The sequencer does not wait for it.
  B2 each sealed block is written (fsynced) to the block store in height order, then
     ``on_block`` fires (on the committer's writer thread); every ``snapshot_every`` blocks
     a snapshot of engine + commitment lets restart and replay skip the prefix
``committer="inline"`` runs B1+H+B2 on the sequencer as before (one thread for all).

What "acknowledged" means is unchanged: ``submit`` returns once the batch is in the journal.
A block becomes durable later; ``height`` is the last *cut* block (the block a command
executed now lands in is ``height + 1`` unless cut), ``committed_height`` the last durable one.

Restart: load the newest valid snapshot, re-execute the stored blocks after it (checking each
against its stored header, so a damaged store is reported, never trusted), then re-submit the
journalled commands that no stored block contains yet, which re-cuts the blocks that were cut
but not yet stored when the node stopped. Those cuts are reproduced exactly because every
automatic cut point is a function of the journalled commands (``block_commands``, the
commands' own timestamps, and the step budget: the steps of the commands so far and the
bound of the next one, read from the engine state those commands produced). An explicit
``seal()`` is not in the journal, so it is made a barrier instead: it returns only once its
block (and all before it) is durable, and no command is sequenced while it waits, so an
explicit cut is either on disk or was never observed by anyone (no later block was cut, no
later command acknowledged). The result is the state, roots and pending block the node had
when it stopped, kill -9 included; ``__init__`` returns only once the re-cut blocks are
durable.

The data directory holds ``genesis.msgpack`` (markets and commitment parameters),
``journal/``, ``blocks/`` and ``snapshots/``.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from matching import (
    ALL_MARKETS,
    AddAccount,
    Block,
    BlockBuilder,
    CEngine,
    Command,
    EngineError,
    Event,
    MarketConfig,
    MassCancel,
    ReferenceEngine,
    check_markets,
    encode,
    replay_block,
)
from matching.block import BlockHeader, UnsealedBlock
from matching.encoding import DecodeError, decode_command, decoder
from matching.engine import EngineSnapshot
from proofs.signing import SigningError, command_signature_ok, is_signed_type
from proofs.state import CommitmentSnapshot, PoseidonState
from proofs.steps import (
    command_markets_before,
    command_steps,
    command_steps_before,
    worst_command_steps,
)

from .blockstore import BlockStore
from .committer import Committer, CommitterError
from .journal import Journal
from .priority import PRIORITIES, Priority
from .snapshot import latest_snapshot, prune, write_snapshot

__all__ = [
    "RULES",
    "CommittedState",
    "CommitterError",
    "Genesis",
    "InvalidCommand",
    "NodeError",
    "VenueNode",
    "decode_genesis",
    "engine_from_snapshot",
    "engine_limits",
    "make_engine",
    "snapshot_decoder",
    "stored_genesis",
    "stored_header",
]


class NodeError(RuntimeError):
    """The data directory is unusable (inconsistent with itself or with the genesis)."""


class InvalidCommand(ValueError):
    """A submitted command is outside the wire schema, or not one this venue sequences (an
    unsigned order on a signed venue, a mass cancel of every market where blocks open one
    market); nothing of its batch was sequenced."""


#: the rules version of venues created now (``Genesis.rules``)
RULES = 2


class Genesis(msgspec.Struct, frozen=True):
    """Parameters fixed for the life of a venue: changing any of them changes every root.

    Blocks that must fit a block circuit of S positions in layout R: set ``block_steps`` =
    S, ``block_layout`` = R and both ``max_matches`` and ``max_open_orders``
    (``uses_step_bound``). The builder then bounds each command's positions before it
    executes (``proofs.steps.command_steps_before``) and closes the block first when they
    might not fit, so every block fits by construction; the check left here is that the
    largest command (``worst_command_steps``) fits an empty block. ``step_reserve`` is then
    not needed, and kept for compatibility: 0 fills blocks to S, while a reserve of at least
    ``worst_command_steps`` (which venues created before the bound had to set) leaves the
    bound nothing to cut, so their cut points are kept. Without both limits only
    ``step_reserve`` cuts by positions, with no guarantee.
    """

    markets: tuple[MarketConfig, ...]
    account_depth: int = 16
    order_depth: int = 14
    block_commands: int = 64
    block_interval_ns: int = 1_000_000_000
    #: > 0: blocks are also cut so that they fit a block circuit of this many positions
    #: (``proofs.steps``, class docstring); ``step_reserve`` is the room kept after each
    #: command for the next one (not needed with the pre-execution bound, still honoured)
    block_steps: int = 0
    step_reserve: int = 0
    #: > 0: makers one taker command may touch (``ReferenceEngine(max_matches=)``), which
    #: bounds a placement's steps in the block proof (3 + max_matches with R = 1)
    max_matches: int = 0
    #: > 0: resting orders one account may hold, which bounds a mass cancel's steps
    max_open_orders: int = 0
    #: PlaceOrder / ReplaceOrder / Withdraw must carry the account's signature
    #: (``proofs.signing``): the gateway refuses unsigned ones and the blocks are proved with
    #: the signed block circuit (``venue.proving.circuit_for``); their ``cl_ord_id`` is a
    #: rising per-account nonce (``engine_limits``: the engine's ``signed_nonces``)
    signed: bool = False
    #: the block circuit's layout ratio R: every R-th position is a full step (order and
    #: account slot), the others order-only (``proofs.steps.positions``); 1 is the uniform
    #: layout, and what genesis files written before this field decode to
    block_layout: int = 1
    #: the venue's rules version (``RULES``, what new venues get). 2: a client order id equal
    #: to one a live order of the account carries is refused before sequencing (the gateway,
    #: ``has_live_cl_ord_id``), not by the engine, whose rule the unsigned block proof could
    #: not see. 1, what genesis files written before this field decode to
    #: (``stored_genesis``): the engine refuses it (``DUPLICATE_CLIENT_ORDER_ID``), a rule
    #: the unsigned block proof does not check. Signed venues behave alike under both.
    rules: int = RULES

    def __post_init__(self) -> None:
        try:
            check_markets(self.markets)
        except EngineError as exc:  # a ValueError here is how msgspec reports a bad field
            raise ValueError(str(exc)) from None
        if self.block_commands < 1 or self.block_interval_ns < 1:
            raise ValueError("block_commands and block_interval_ns must be at least 1")
        if not 1 <= self.account_depth <= 20 or not 1 <= self.order_depth <= 24:
            raise ValueError("tree depths out of range (accounts 1..20, orders 1..24)")
        if self.block_commands >= 1 << self.order_depth:
            raise ValueError("a block may not hold more commands than a book side has slots")
        if self.block_steps < 0 or not 0 <= self.step_reserve <= self.block_steps:
            raise ValueError("need block_steps >= 0 and 0 <= step_reserve <= block_steps")
        if self.rules not in (1, 2):
            raise ValueError(f"rules {self.rules}: this venue knows rules 1 and 2")
        if self.block_layout < 1:
            raise ValueError(f"block_layout {self.block_layout} < 1")
        if self.block_steps % self.block_layout:
            # the circuit's positions come in groups of R, each starting with a full step
            raise ValueError(
                f"block_steps {self.block_steps} is not a multiple of block_layout "
                f"{self.block_layout}"
            )
        if self.max_matches < 0 or self.max_open_orders < 0:
            raise ValueError("max_matches and max_open_orders must be >= 0 (0: no limit)")
        worst = self.worst_command_steps
        if self.uses_step_bound and worst is not None and worst > self.block_steps:
            # the bound cuts before a command that might not fit, but a command still goes
            # into an empty block whatever its size: it must fit one
            raise ValueError(
                f"block_steps {self.block_steps} < {worst}, the most positions one command "
                "can take under these limits: such a command could never fit a block"
            )

    @property
    def uses_step_bound(self) -> bool:
        """True when blocks are cut by the pre-execution step bound: ``block_steps`` and both
        limits set, so every command's steps are bounded and ``Genesis`` has checked that
        the largest fits an empty block. Every block then fits by construction (with any
        ``step_reserve``). Without both limits a block cut by steps can still outgrow the
        budget on one very large command; the builder then cuts by ``step_reserve`` alone."""
        return bool(self.block_steps and self.max_matches and self.max_open_orders)

    @property
    def one_market_blocks(self) -> bool:
        """True when each block changes one market's book: a venue of several markets whose
        blocks are cut for the block circuit (``uses_step_bound``), which opens one market
        per block (``proofs/circuits/BLOCK.md``, "Several markets per circuit"). The builder
        then closes a block before a command for another market
        (``proofs.steps.command_markets_before``), and the venue refuses a mass cancel of
        every market (``InvalidCommand``; the gateway sends one per market)."""
        return self.uses_step_bound and len(self.markets) > 1

    @property
    def worst_command_steps(self) -> int | None:
        """Most block-proof positions one command can take in the ``block_layout``
        (``proofs.steps``), or None when the limits leave it unbounded (``max_matches`` or
        ``max_open_orders`` is 0): then a block cut by steps can still outgrow the budget on
        one very large command."""
        if not (self.max_matches and self.max_open_orders):
            return None
        return worst_command_steps(self.max_matches, self.max_open_orders, self.block_layout)


def stored_genesis(data: str | os.PathLike[str]) -> Genesis:
    """The genesis a venue's data directory was created with; ``NodeError`` when ``data`` is
    not a venue's data directory (no genesis, or one that does not decode)."""
    path = Path(data) / "genesis.msgpack"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NodeError(f"{data} is not a venue data directory (no genesis.msgpack)") from None
    try:
        return decode_genesis(raw)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise NodeError(f"{path} is not a venue genesis: {exc}") from None


def decode_genesis(raw: bytes) -> Genesis:
    """A stored genesis (msgpack). One written before ``Genesis.rules`` existed has rules 1,
    the rules it was created under, not today's default. Raises ``msgspec.DecodeError``."""
    genesis = msgspec.msgpack.decode(raw, type=Genesis)
    fields = msgspec.msgpack.decode(raw)
    if isinstance(fields, dict) and "rules" not in fields:
        genesis = msgspec.structs.replace(genesis, rules=1)
    return genesis


class _Snapshot(msgspec.Struct, frozen=True, array_like=True):
    height: int
    parent_hash: bytes
    engine: EngineSnapshot
    commitment: CommitmentSnapshot


snapshot_decoder = decoder(_Snapshot)
_block_decoder = decoder(Block)


def stored_header(store: BlockStore, height: int) -> BlockHeader | None:
    """The header of the block ``store`` holds at ``height`` (None: it holds none)."""
    payload = store.get(height)
    return None if payload is None else _block_decoder.decode(payload).header


def engine_limits(genesis: Genesis) -> dict[str, int]:
    """Engine capacity that keeps every committed tree within its depth, and its rules.

    Slots freed in a block are reusable only from the next block, so a side may use up to
    ``resting + block_commands`` slots within a block: the headroom is one block's commands.
    A signed venue also guards its signed commands against replay (``signed_nonces``: a
    signature cannot cover the sequencer's seq, so without it one signed order or withdrawal
    could be sequenced twice). From rules 2 the engine leaves client order id uniqueness to
    the gateway (``unique_cl_ord_ids``, ``Genesis.rules``).
    """
    return {
        "max_accounts": 1 << genesis.account_depth,
        "max_resting_per_side": (1 << genesis.order_depth) - genesis.block_commands,
        "max_matches": genesis.max_matches,
        "max_open_orders": genesis.max_open_orders,
        "signed_nonces": genesis.signed,
        "unique_cl_ord_ids": genesis.rules < 2,
    }


def _engine_class(kind: str) -> type:
    if kind == "reference" or (kind == "auto" and CEngine is None):
        return ReferenceEngine
    if kind not in ("cython", "auto"):
        raise NodeError(f"unknown engine {kind!r}")
    if CEngine is None:
        raise NodeError("the Cython engine is not built here (python setup.py build_ext)")
    return CEngine


def make_engine(kind: str, genesis: Genesis) -> object:
    """``reference``, ``cython`` or ``auto`` (Cython when built), sized for ``genesis``."""
    return _engine_class(kind)(genesis.markets, **engine_limits(genesis))


def engine_from_snapshot(kind: str, snap: EngineSnapshot, genesis: Genesis) -> object:
    return _engine_class(kind).from_snapshot(snap, **engine_limits(genesis))  # type: ignore[attr-defined]


class CommittedState:
    """``node.commitment`` when the commitment lives in the committer (pipelined modes).

    Why: callers read ``node.commitment.root`` and ``header_hash``; the live trees are owned
    by the committer (another thread or process), so this gives the root of the last
    durable block and a pure header hash, and nothing that could race with it.
    """

    def __init__(self, committer: Committer, hasher: PoseidonState) -> None:
        self._committer = committer
        self._hasher = hasher

    @property
    def root(self) -> int:
        """State root after the last durable block (call ``node.flush()`` first for "now")."""
        return self._committer.root

    def header_hash(self, header: BlockHeader) -> int:
        """The header's hash (from the committer's cache when recent; pure either way)."""
        known = self._committer.block_hash(header.height)
        return known if known is not None else self._hasher.header_hash(header)


class VenueNode:
    """Sequencer + journal + block store (see module docstring).

    :param committer: ``"process"`` (default: hashing in a worker process, the only mode
        with real parallelism), ``"thread"`` or ``"inline"`` (seal on the sequencer).
    :param max_lag: blocks that may be cut but not yet durable before ``submit`` waits.
    :param committer_shards: ``2`` hashes each block in two worker processes, one for the
        accounts tree and the command commitment, one for the books, joined by the committer
        (``"process"`` only): the commitment's throughput on two free cores.
    :param committer_priority: CPU priority of the committer's worker process:
        ``"background"`` (default, ``SCHED_IDLE``: hashing yields the CPU to the ack path) or
        ``"normal"`` (``venue.priority`` has the measured trade-off).
    :param on_block: called with each block once it is durable, in height order; from the
        committer's writer thread unless ``committer="inline"``, so it must not call back
        into the node (hand the block to your own thread or loop instead).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        genesis: Genesis | None = None,
        *,
        engine: str = "auto",
        fsync: bool = True,
        snapshot_every: int = 1_000,
        clock: Callable[[], int] = time.time_ns,
        on_block: Callable[[Block], None] | None = None,
        committer: str = "process",
        max_lag: int = 64,
        committer_priority: Priority = "background",
        committer_shards: int = 1,
    ) -> None:
        if committer not in ("inline", "thread", "process"):
            raise NodeError(f"unknown committer {committer!r}")
        if committer_priority not in PRIORITIES:
            raise NodeError(f"unknown committer priority {committer_priority!r}")
        if committer_shards not in (1, 2) or (committer_shards == 2 and committer != "process"):
            raise NodeError("committer_shards must be 1, or 2 with committer='process'")
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.genesis = self._load_genesis(genesis)
        self.engine_kind = engine
        self.snapshot_every = snapshot_every
        self.clock = clock
        self._on_block = on_block
        self.committer_mode = committer
        self.max_lag = max_lag
        self.committer_priority = committer_priority
        self.committer_shards = committer_shards
        self.committer: Committer | None = None
        #: (height, first_seq, command_count) of the blocks cut by the last ``submit``
        self.last_cuts: list[tuple[int, int, int]] = []
        #: how long the last ``submit``'s journal commit (write + fsync) took, in ns
        self.last_commit_ns = 0
        self.journal = Journal(self.dir / "journal", fsync="always" if fsync else "none")
        self.blocks = BlockStore(self.dir / "blocks", first_height=1, fsync=fsync)
        self.recovered_commands = 0
        self.snapshot_from = 0
        self._snapshot_height = 0
        self._recover()

    # --- setup --------------------------------------------------------------------------

    def _load_genesis(self, genesis: Genesis | None) -> Genesis:
        path = self.dir / "genesis.msgpack"
        if path.exists():
            stored = stored_genesis(self.dir)
            if genesis is not None and genesis != stored:
                raise NodeError(f"{path} holds a different genesis than the one given")
            return stored
        if genesis is None:
            raise NodeError(f"{self.dir} has no genesis.msgpack and no genesis was given")
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(msgspec.msgpack.encode(genesis))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return genesis

    def _fresh_state(self) -> tuple[object, PoseidonState]:
        g = self.genesis
        return make_engine(self.engine_kind, g), PoseidonState(
            g.markets, account_depth=g.account_depth, order_depth=g.order_depth
        )

    def _builder(self, engine: object, commitment: PoseidonState, height: int, parent: int):
        g = self.genesis
        bound: Callable[[Command], int] | None = None
        markets: Callable[[Command], frozenset[int]] | None = None
        cost = functools.partial(command_steps, ratio=g.block_layout)
        if g.uses_step_bound:
            # asks this builder's own engine, whose max_matches caps a taker's matches
            bound = functools.partial(command_steps_before, engine=engine, ratio=g.block_layout)
        if g.one_market_blocks:
            markets = functools.partial(command_markets_before, engine=engine)
        return BlockBuilder(
            engine,  # type: ignore[arg-type]
            commitment,
            max_commands=g.block_commands,
            max_interval_ns=g.block_interval_ns,
            height=height,
            parent_hash=parent,
            max_steps=g.block_steps,
            step_cost=cost if g.block_steps else None,
            step_reserve=g.step_reserve,
            step_bound=bound,
            max_markets=1 if markets is not None else 0,
            market_bound=markets,
        )

    def _recover(self) -> None:
        g = self.genesis
        found = latest_snapshot(self.dir / "snapshots")
        if found.snapshot is not None:
            snap = snapshot_decoder.decode(found.snapshot.payload)
            engine = engine_from_snapshot(self.engine_kind, snap.engine, g)
            commitment = PoseidonState.restore(
                snap.engine,
                snap.commitment,
                account_depth=g.account_depth,
                order_depth=g.order_depth,
            )
            height, parent = snap.height, int.from_bytes(snap.parent_hash, "big")
            self.snapshot_from = self._snapshot_height = height
        else:
            engine, commitment = self._fresh_state()
            height, parent = 0, 0
        for h, payload in self.blocks.iter_from(height + 1):
            block = _block_decoder.decode(payload)
            _, mismatch = replay_block(engine, commitment, block, parent)  # type: ignore[arg-type]
            if mismatch is not None:
                raise NodeError(f"stored block {h} does not replay: {mismatch}")
            parent = commitment.header_hash(block.header)
            height = h
        self.engine = engine
        self.builder = self._builder(engine, commitment, height, parent)
        if self.committer_mode == "inline":
            self.commitment: PoseidonState | CommittedState = commitment
        else:
            # At a block boundary (nothing executed since the last stored block): hand the
            # commitment over; from here on only the committer touches it.
            self.committer = Committer(
                self.blocks,
                height=height,
                parent_hash=parent,
                account_depth=g.account_depth,
                order_depth=g.order_depth,
                engine_snapshot=engine.snapshot(),  # type: ignore[attr-defined]
                commitment=commitment,
                mode=self.committer_mode,  # type: ignore[arg-type]
                max_lag=self.max_lag,
                on_block=self._on_block,
                write_snapshot=self._write_snapshot_file,
                priority=self.committer_priority,
                shards=self.committer_shards,
            )
            hasher = PoseidonState(g.markets, account_depth=1, order_depth=1)
            self.commitment = CommittedState(self.committer, hasher)
        # Commands journalled (so acknowledged) but in no stored block yet: re-executing
        # them re-cuts, deterministically, the blocks that were cut but not yet stored.
        for _, payload in self.journal.iter_from(engine.last_seq + 1):  # type: ignore[attr-defined]
            self._execute(decode_command(payload))
            self.recovered_commands += 1
        self.flush()

    # --- the pipeline ---------------------------------------------------------------------

    @property
    def on_block(self) -> Callable[[Block], None] | None:
        return self._on_block

    @on_block.setter
    def on_block(self, fn: Callable[[Block], None] | None) -> None:
        self._on_block = fn
        if self.committer is not None:
            self.committer.on_block = fn

    @property
    def height(self) -> int:
        """Height of the last block cut (stored, or on its way to the store)."""
        return self.builder.height

    @property
    def committed_height(self) -> int:
        """Height of the last block durable in the block store, with its header."""
        return self.committer.committed_height if self.committer else self.builder.height

    @property
    def next_seq(self) -> int:
        return self.engine.last_seq + 1  # type: ignore[attr-defined]

    def block_hash(self, header: BlockHeader) -> int:
        """Header hash of a block (cached for recent blocks in pipelined modes)."""
        return self.commitment.header_hash(header)

    def submit(self, cmds: Sequence[Command]) -> list[list[Event]]:
        """Sequence, journal (one fsync), execute; return each command's events.

        The commands' own ``seq``/``ts`` are ignored and replaced by the sequencer's; the
        timestamp never goes backwards even if the wall clock does. Blocks cut meanwhile are
        listed in ``last_cuts``; they become durable later (``flush`` waits for them).
        Raises ``CommitterError`` once the committer has failed (restart the node).
        """
        if self.committer is not None and self.committer.error is not None:
            self.committer.flush()  # raises
        if self.genesis.signed:
            self._check_signatures(cmds)
        if self.genesis.one_market_blocks:
            for i, c in enumerate(cmds):
                if isinstance(c, MassCancel) and c.market == ALL_MARKETS:
                    raise InvalidCommand(
                        f"command {i} of the batch is a mass cancel of every market: this "
                        "venue's blocks each open one market (Genesis.one_market_blocks); "
                        "send one MassCancel per market"
                    )
        seq = self.next_seq
        ts = max(self.clock(), self.engine.last_ts)  # type: ignore[attr-defined]
        numbered = [msgspec.structs.replace(c, seq=seq + i, ts=ts) for i, c in enumerate(cmds)]
        payloads = []
        for c in numbered:
            try:
                data = encode(c)
                decode_command(data)  # the wire schema: what the journal may hold
            except (DecodeError, OverflowError) as exc:
                raise InvalidCommand(f"command outside the wire schema: {exc}") from exc
            payloads.append(data)
        for c, data in zip(numbered, payloads, strict=True):
            self.journal.append(c.seq, data)
        t0 = time.perf_counter_ns()
        self.journal.commit()
        self.last_commit_ns = time.perf_counter_ns() - t0
        self.last_cuts = []
        return [self._execute(c) for c in numbered]

    def _check_signatures(self, cmds: Sequence[Command]) -> None:
        """A signed venue sequences no order, replace or withdrawal its proof would refuse:
        each must be signed by its account's registered key (``proofs.signing``), or the
        block holding it could never be proved and live proving would halt there. The
        gateway checks first (to answer each order with a reason); this is the guarantee for
        every other caller. A command for an unknown account needs none: the engine rejects it
        and a rejected command is proved without its signature."""
        added: dict[int, tuple[int, int]] = {}
        for i, c in enumerate(cmds):
            if isinstance(c, AddAccount):
                added.setdefault(c.account, (int(c.pubkey_x), int(c.pubkey_y)))
                continue
            if not is_signed_type(c):
                continue
            view = self.engine.account_view(c.account)  # type: ignore[attr-defined]
            key = (int(view.pubkey_x), int(view.pubkey_y)) if view else added.get(c.account)
            if key is None:
                continue
            try:
                ok = command_signature_ok(c, *key)
            except SigningError as exc:
                raise InvalidCommand(f"command {i} of the batch: {exc}") from exc
            if not ok:
                raise InvalidCommand(
                    f"command {i} of the batch is not signed by account {c.account}'s key"
                )

    def _execute(self, cmd: Command) -> list[Event]:
        if self.committer is None:
            events, sealed = self.builder.submit(cmd)
            for block in sealed:
                self.last_cuts.append(_span(block.header.height, block.commands))
                self._store(block)
            return events
        events, cuts = self.builder.submit_cut(cmd)
        for cut in cuts:
            self._hand_over(cut)
        return events

    def _hand_over(self, cut: UnsealedBlock) -> None:
        assert self.committer is not None
        self.last_cuts.append(_span(cut.height, cut.commands))
        due = cut.height - self._snapshot_height >= self.snapshot_every > 0
        engine_snap = None
        if due and not self.builder.pending:
            # Only at a block boundary: a time cut has already executed the next command.
            engine_snap = self.engine.snapshot()  # type: ignore[attr-defined]
            self._snapshot_height = cut.height
        self.committer.submit(cut, engine_snap)

    def seal(self) -> Block | None:
        """Close the open block now (the venue's idle timer); None if it is empty.

        A barrier in pipelined modes: returns once this block and every earlier one are
        durable (the module docstring says why restart needs that).
        """
        if not self.builder.pending:
            return None
        if self.committer is None:
            block = self.builder.seal()
            self.last_cuts = [_span(block.header.height, block.commands)]
            self._store(block)
            return block
        cut = self.builder.cut()
        self.last_cuts = [_span(cut.height, cut.commands)]
        self._hand_over(cut)
        self.committer.flush()
        payload = self.blocks.get(cut.height)
        assert payload is not None
        return _block_decoder.decode(payload)

    def flush(self) -> None:
        """Wait until every cut block is durable (no-op inline); raises ``CommitterError``."""
        if self.committer is not None:
            self.committer.flush()

    def _store(self, block: Block) -> None:
        self.blocks.put(block.header.height, encode(block))
        if self._on_block is not None:
            self._on_block(block)
        due = block.header.height - self._snapshot_height >= self.snapshot_every > 0
        if due and not self.builder.pending:
            # Only at a block boundary: a time cut has already executed the next command.
            self.write_snapshot()

    def write_snapshot(self) -> None:
        """Snapshot the state at the last sealed block (no open block may be pending)."""
        if self.builder.pending:
            return
        if self.committer is not None:
            self.committer.submit(None, self.engine.snapshot())  # type: ignore[attr-defined]
            self.committer.flush()
            self._snapshot_height = self.builder.height
            return
        assert isinstance(self.commitment, PoseidonState)
        self._write_snapshot_file(
            self.builder.height,
            self.builder.parent_hash,
            self.engine.snapshot(),  # type: ignore[attr-defined]
            self.commitment.snapshot(),
        )
        self._snapshot_height = self.builder.height

    def _write_snapshot_file(
        self, height: int, parent: int, engine: EngineSnapshot, commitment: CommitmentSnapshot
    ) -> None:
        snap = _Snapshot(height, parent.to_bytes(32, "big"), engine, commitment)
        write_snapshot(self.dir / "snapshots", snap.height, encode(snap))
        prune(self.dir / "snapshots", keep=2)

    def close(self) -> None:
        """Wait for the committer (every cut block durable), then close the files."""
        try:
            if self.committer is not None:
                self.committer.close()
        finally:
            self.journal.close()
            self.blocks.close()


def _span(height: int, commands: Sequence[Command]) -> tuple[int, int, int]:
    first = commands[0].seq if commands else 0
    return (height, first, len(commands))
