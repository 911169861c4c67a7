"""Blocks: cutting the command stream, sealing headers, and re-executing blocks to check them.

A block closes after ``max_commands`` commands, or before the first command whose timestamp is
``max_interval_ns`` or more past the block's first command, or when the venue seals it
explicitly with a close time (an idle venue still publishes price-carrying blocks). All cut
points come from the commands' own timestamps or from the stored header, never from a clock
inside the core, so replay reproduces them exactly.

``matching`` does not hash: the state commitment (Poseidon trees, in ``proofs``) is passed in
as a ``StateCommitment``, which keeps the layering matching → proofs one-way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec

from .encoding import encode
from .engine import AccountView, EngineError, MarketStateView, OrderView
from .types import (
    U256,
    Canonical,
    Command,
    Event,
    MarketConfig,
    MarketSummary,
    MassCancelled,
    OrderAccepted,
    OrderCancelled,
    OrderReduced,
    OrderReplaced,
    Trade,
    _coerce_u256,
)

__all__ = [
    "Block",
    "BlockBuilder",
    "BlockHeader",
    "BlockMismatch",
    "Engine",
    "StateCommitment",
    "StateDiff",
    "UnsealedBlock",
    "book_markets",
    "replay_block",
]


class Engine(Protocol):
    """What the block builder and the commitment need from an engine (both engines)."""

    @property
    def last_seq(self) -> int: ...
    @property
    def last_ts(self) -> int: ...
    def market_configs(self) -> tuple[MarketConfig, ...]: ...
    def process(self, cmd: Command) -> list[Event]: ...
    def process_batch(self, cmds: Sequence[Command]) -> list[Event]: ...
    def end_block(self, close_ts: int) -> tuple[MarketSummary, ...]: ...
    def drain_touched(self) -> tuple[list[int], list[int]]: ...
    def order_view(self, order_id: int) -> OrderView | None: ...
    def account_view(self, account: int) -> AccountView | None: ...
    def market_state(self, market: int) -> MarketStateView: ...


class StateDiff(Canonical):
    """The leaves a block changed, with their values after it (None: deleted)."""

    orders: tuple[tuple[int, OrderView | None], ...]
    accounts: tuple[tuple[int, AccountView | None], ...]


class BlockHeader(Canonical):
    """What a block claims; the validity proof's public input commits to all of it."""

    height: int
    parent_hash: U256
    pre_state_root: U256
    command_commitment: U256
    post_state_root: U256
    close_ts: int
    first_seq: int
    command_count: int
    markets: tuple[MarketSummary, ...]

    def __post_init__(self) -> None:
        _coerce_u256(self, "parent_hash", "pre_state_root", "command_commitment", "post_state_root")


class Block(Canonical):
    """A sealed block and its execution trace.

    ``event_offsets[i]`` is the index in ``events`` of command i's first event, so a prover
    (or a trader's audit) can attribute every event to its command; ``diff`` lists each
    touched leaf once with its post-block value.
    """

    header: BlockHeader
    commands: tuple[Command, ...]
    events: tuple[Event, ...]
    event_offsets: tuple[int, ...]
    diff: StateDiff

    def command_events(self) -> list[tuple[Command, tuple[Event, ...]]]:
        """Each command with the events it caused, in block order."""
        bounds = [*self.event_offsets, len(self.events)]
        return [(c, self.events[bounds[i] : bounds[i + 1]]) for i, c in enumerate(self.commands)]


class UnsealedBlock(Canonical):
    """A cut block: everything its header needs that only the engine can say, no hashes yet.

    Why it exists: reading engine state (``end_block``, the touched leaves, market states)
    must happen on the engine's owner thread at the cut, while hashing the commitment is
    pure and can run later, elsewhere (``venue.committer``). ``seal_with`` on the
    commitment that holds the state after block ``height - 1`` gives exactly the block
    ``BlockBuilder.seal`` would have given.
    """

    height: int
    close_ts: int
    first_seq: int
    summaries: tuple[MarketSummary, ...]
    markets: tuple[MarketStateView, ...]
    commands: tuple[Command, ...]
    events: tuple[Event, ...]
    event_offsets: tuple[int, ...]
    diff: StateDiff

    def seal_with(self, commitment: StateCommitment, parent_hash: int) -> Block:
        """Hash: apply the diff to ``commitment`` and build the header (mutates it)."""
        pre = commitment.root
        post = commitment.apply(self.height, self.diff, self.markets)
        header = BlockHeader(
            self.height,
            parent_hash,
            pre,
            commitment.command_commitment(self.commands),
            post,
            self.close_ts,
            self.first_seq,
            len(self.commands),
            self.summaries,
        )
        return Block(header, self.commands, self.events, self.event_offsets, self.diff)


class StateCommitment(Protocol):
    """The commitment over engine state (implemented in ``proofs.state``)."""

    @property
    def root(self) -> int: ...
    def command_commitment(self, commands: Sequence[Command]) -> int: ...
    def apply(self, height: int, diff: StateDiff, markets: Sequence[MarketStateView]) -> int:
        """Update the trees with ``diff`` (each leaf once) and return the new state root."""
        ...

    def header_hash(self, header: BlockHeader) -> int: ...


def _state_diff(engine: Engine) -> StateDiff:
    orders, accounts = engine.drain_touched()
    return StateDiff(
        tuple((oid, engine.order_view(oid)) for oid in orders),
        tuple((aid, engine.account_view(aid)) for aid in accounts),
    )


#: the events that change a market's book, each naming its market
_BOOK_EVENTS = (OrderAccepted, Trade, OrderCancelled, OrderReplaced, OrderReduced, MassCancelled)


def book_markets(events: Sequence[Event]) -> set[int]:
    """The markets whose book ``events`` change (a mass cancel of every market names none
    itself: its cancellations name theirs)."""
    return {ev.market for ev in events if isinstance(ev, _BOOK_EVENTS)} - {0}


class BlockBuilder:
    """Feeds commands to the engine and cuts them into sealed blocks."""

    def __init__(
        self,
        engine: Engine,
        commitment: StateCommitment,
        *,
        max_commands: int = 64,
        max_interval_ns: int = 1_000_000_000,
        height: int = 0,
        parent_hash: int = 0,
        max_steps: int = 0,
        step_cost: Callable[[Command, Sequence[Event]], int] | None = None,
        step_reserve: int = 0,
        step_bound: Callable[[Command], int] | None = None,
        max_markets: int = 0,
        market_bound: Callable[[Command], frozenset[int]] | None = None,
    ) -> None:
        """``max_steps`` > 0 also cuts by the proof's size: ``step_cost(cmd, events)`` (e.g.
        ``proofs.steps.command_steps``) is summed over the block, which is cut after a command
        once fewer than ``step_reserve`` steps are left for the next one. A command costing
        more than what is left still lands in the block (it has executed); the reserve is
        sized to make that rare, and a prover reports such a block.

        ``step_bound(cmd)`` (with ``max_steps``) bounds a command's ``step_cost`` *before* it
        executes, from the engine's current state (e.g. ``lambda cmd:
        proofs.steps.command_steps_before(cmd, engine)`` on this builder's engine): the block
        is cut before a command whose bound does not fit what is left, so no reserve is
        needed, and once no step is left the block is cut at once rather than before the
        next command. A command whose bound exceeds ``max_steps`` still goes into an empty
        block (never after other commands); that every command fits one is the caller's
        guarantee (the engine's limits, ``proofs.steps.worst_command_steps``).

        ``market_bound(cmd)`` (with ``max_markets``) names the markets whose book ``cmd`` may
        change, from the engine's state before it executes (``proofs.steps.
        command_markets_before``): the block is cut before a command that would make it change
        more than ``max_markets`` books (the block circuit opens one market per block). The
        block's own markets are read off its events. A command that alone changes more still
        goes into a block of its own."""
        if max_commands < 1 or max_interval_ns < 1:
            raise ValueError("max_commands and max_interval_ns must be positive")
        if max_steps < 0 or step_reserve < 0 or (max_steps and step_cost is None):
            raise ValueError("max_steps needs a step_cost; budgets are not negative")
        if step_bound is not None and not max_steps:
            raise ValueError("a step_bound needs max_steps (and a step_cost)")
        if (market_bound is None) != (max_markets == 0) or max_markets < 0:
            raise ValueError("a market_bound and max_markets >= 1 go together")
        self.engine = engine
        self.commitment = commitment
        self.max_commands = max_commands
        self.max_interval_ns = max_interval_ns
        #: height of the last sealed block (0: genesis, nothing sealed yet)
        self.height = height
        self.parent_hash = parent_hash
        self.max_steps = max_steps
        self.step_cost = step_cost
        self.step_reserve = step_reserve
        self.step_bound = step_bound
        self.max_markets = max_markets
        self.market_bound = market_bound
        self._steps = 0
        self._markets: set[int] = set()
        self._commands: list[Command] = []
        self._events: list[Event] = []
        self._offsets: list[int] = []

    @property
    def pending(self) -> int:
        return len(self._commands)

    def submit(self, cmd: Command) -> tuple[list[Event], list[Block]]:
        """Execute ``cmd``; return its events and any blocks sealed around it."""
        events, cuts = self.submit_cut(cmd)
        return events, [self._seal_cut(c) for c in cuts]

    def submit_cut(self, cmd: Command) -> tuple[list[Event], list[UnsealedBlock]]:
        """Like ``submit`` but return the blocks cut around ``cmd`` unsealed (no hashing).

        The caller must seal them in order with ``UnsealedBlock.seal_with`` on its own
        commitment; ``parent_hash`` is then not tracked here, so do not mix this with
        ``seal``/``submit`` on one builder.
        """
        cuts = []
        if self._commands and cmd.ts - self._commands[0].ts >= self.max_interval_ns:
            cuts.append(self.cut())
        # Asked after any time cut, on the state ``cmd`` executes on (a cut's ``end_block``
        # moves no order); closed like a time cut, at the last command's timestamp.
        if self._commands and (
            (self.step_bound is not None and self._steps + self.step_bound(cmd) > self.max_steps)
            or (
                self.market_bound is not None
                and len(self._markets | self.market_bound(cmd)) > self.max_markets
            )
        ):
            cuts.append(self.cut())
        events = self.engine.process(cmd)
        if self.market_bound is not None:
            self._markets |= book_markets(events)
        self._offsets.append(len(self._events))
        self._commands.append(cmd)
        self._events.extend(events)
        full = len(self._commands) >= self.max_commands
        if self.max_steps and self.step_cost is not None:
            self._steps += self.step_cost(cmd, events)
            full = full or self._steps + self.step_reserve > self.max_steps
            # with the bound, a full block would only be cut before the next command: cut
            # it now, so it is published (and proved) without waiting for one
            full = full or (self.step_bound is not None and self._steps >= self.max_steps)
        if full:
            cuts.append(self.cut())
        return events, cuts

    def submit_many(self, cmds: Sequence[Command]) -> list[Block]:
        blocks: list[Block] = []
        for cmd in cmds:
            blocks.extend(self.submit(cmd)[1])
        return blocks

    def seal(self, close_ts: int | None = None) -> Block:
        """Close the current block (possibly empty) at ``close_ts`` (default: last command)."""
        return self._seal_cut(self.cut(close_ts))

    def cut(self, close_ts: int | None = None) -> UnsealedBlock:
        """Close the current block (possibly empty) without hashing it (see ``submit_cut``).

        Reads the engine (``end_block``, touched leaves, market states), so it must run on
        the engine's owner thread; ``height`` advances, ``parent_hash`` does not.
        """
        if close_ts is None:
            close_ts = self._commands[-1].ts if self._commands else self.engine.last_ts
        first_seq = self._commands[0].seq if self._commands else self.engine.last_seq + 1
        block = _cut(
            self.engine,
            self.height + 1,
            tuple(self._commands),
            tuple(self._events),
            tuple(self._offsets),
            close_ts,
            first_seq,
        )
        self.height += 1
        self._commands, self._events, self._offsets = [], [], []
        self._steps = 0
        self._markets = set()
        return block

    def _seal_cut(self, cut: UnsealedBlock) -> Block:
        block = cut.seal_with(self.commitment, self.parent_hash)
        self.parent_hash = self.commitment.header_hash(block.header)
        return block


def _seal(
    engine: Engine,
    commitment: StateCommitment,
    height: int,
    parent_hash: int,
    commands: tuple[Command, ...],
    events: tuple[Event, ...],
    offsets: tuple[int, ...],
    close_ts: int,
    first_seq: int,
) -> Block:
    cut = _cut(engine, height, commands, events, offsets, close_ts, first_seq)
    return cut.seal_with(commitment, parent_hash)


def _cut(
    engine: Engine,
    height: int,
    commands: tuple[Command, ...],
    events: tuple[Event, ...],
    offsets: tuple[int, ...],
    close_ts: int,
    first_seq: int,
) -> UnsealedBlock:
    summaries = engine.end_block(close_ts)
    diff = _state_diff(engine)
    states = tuple(engine.market_state(s.market) for s in summaries)
    return UnsealedBlock(
        height, close_ts, first_seq, summaries, states, commands, events, offsets, diff
    )


class BlockMismatch(msgspec.Struct, frozen=True):
    """First difference found when re-executing a block."""

    height: int
    field: str
    expected: str
    actual: str


def replay_block(
    engine: Engine, commitment: StateCommitment, block: Block, parent_hash: int
) -> tuple[Block, BlockMismatch | None]:
    """Re-execute ``block``'s commands on ``engine`` and compare everything it claims.

    Returns the recomputed block and the first mismatch (None when identical). The engine and
    commitment must hold the state after the previous block.
    """
    h = block.header
    if commitment.root != h.pre_state_root:
        return block, BlockMismatch(
            h.height, "pre_state_root", str(h.pre_state_root), str(commitment.root)
        )
    events: list[Event] = []
    offsets: list[int] = []
    try:
        for cmd in block.commands:
            offsets.append(len(events))
            events.extend(engine.process(cmd))
    except EngineError as exc:
        return block, BlockMismatch(h.height, "commands", "valid sequence", str(exc))
    first_seq = block.commands[0].seq if block.commands else engine.last_seq + 1
    again = _seal(
        engine,
        commitment,
        h.height,
        parent_hash,
        block.commands,
        tuple(events),
        tuple(offsets),
        h.close_ts,
        first_seq,
    )
    for name in Block.__struct_fields__:
        if name == "header":
            continue
        mine, theirs = getattr(again, name), getattr(block, name)
        if encode(mine) != encode(theirs):
            return again, BlockMismatch(h.height, name, _short(theirs), _short(mine))
    for name in BlockHeader.__struct_fields__:
        mine, theirs = getattr(again.header, name), getattr(h, name)
        if encode(mine) != encode(theirs):
            return again, BlockMismatch(h.height, name, _short(theirs), _short(mine))
    return again, None


def _short(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
