"""The sequencer: one owner of the engine, the journal and the block store.

Pipeline (one thread or task owns all of it): G → J → ME → B
  G  commands arrive without sequence numbers (gateway, demo, tests)
  J  the node numbers and timestamps them, appends them to the journal and fsyncs once per
     batch (group commit): nothing is acknowledged before this returns
  ME the engine executes them; the block builder cuts blocks
  B  every sealed block is written (fsynced) to the block store; every ``snapshot_every``
     blocks a snapshot of engine + commitment lets restart and replay skip the prefix

Restart: load the newest valid snapshot, re-execute the stored blocks after it (checking each
against its stored header, so a damaged store is reported, never trusted), then re-submit the
journalled commands that no block contains yet. The result is the state, roots and pending
block the node had when it stopped, kill -9 included.

The data directory holds ``genesis.msgpack`` (markets and commitment parameters),
``journal/``, ``blocks/`` and ``snapshots/``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from matching import (
    Block,
    BlockBuilder,
    CEngine,
    Command,
    Event,
    MarketConfig,
    ReferenceEngine,
    encode,
    replay_block,
)
from matching.encoding import DecodeError, decode_command, decoder
from matching.engine import EngineSnapshot
from proofs.state import CommitmentSnapshot, PoseidonState

from .blockstore import BlockStore
from .journal import Journal
from .snapshot import latest_snapshot, prune, write_snapshot

__all__ = [
    "Genesis",
    "InvalidCommand",
    "NodeError",
    "VenueNode",
    "engine_limits",
    "make_engine",
]


class NodeError(RuntimeError):
    """The data directory is unusable (inconsistent with itself or with the genesis)."""


class InvalidCommand(ValueError):
    """A submitted command is outside the wire schema; nothing of its batch was sequenced."""


class Genesis(msgspec.Struct, frozen=True):
    """Parameters fixed for the life of a venue: changing any of them changes every root."""

    markets: tuple[MarketConfig, ...]
    account_depth: int = 16
    order_depth: int = 14
    block_commands: int = 64
    block_interval_ns: int = 1_000_000_000

    def __post_init__(self) -> None:
        if not 1 <= self.account_depth <= 20 or not 1 <= self.order_depth <= 24:
            raise ValueError("tree depths out of range (accounts 1..20, orders 1..24)")
        if self.block_commands >= 1 << self.order_depth:
            raise ValueError("a block may not hold more commands than a book side has slots")


class _Snapshot(msgspec.Struct, frozen=True, array_like=True):
    height: int
    parent_hash: bytes
    engine: EngineSnapshot
    commitment: CommitmentSnapshot


_snapshot_decoder = decoder(_Snapshot)
_block_decoder = decoder(Block)


def engine_limits(genesis: Genesis) -> dict[str, int]:
    """Engine capacity that keeps every committed tree within its depth.

    Slots freed in a block are reusable only from the next block, so a side may use up to
    ``resting + block_commands`` slots within a block: the headroom is one block's commands.
    """
    return {
        "max_accounts": 1 << genesis.account_depth,
        "max_resting_per_side": (1 << genesis.order_depth) - genesis.block_commands,
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


def _engine_from_snapshot(kind: str, snap: EngineSnapshot, genesis: Genesis) -> object:
    return _engine_class(kind).from_snapshot(snap, **engine_limits(genesis))  # type: ignore[attr-defined]


class VenueNode:
    """Sequencer + journal + block store (see module docstring)."""

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
    ) -> None:
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.genesis = self._load_genesis(genesis)
        self.engine_kind = engine
        self.snapshot_every = snapshot_every
        self.clock = clock
        self.on_block = on_block
        self.journal = Journal(self.dir / "journal", fsync="always" if fsync else "none")
        self.blocks = BlockStore(self.dir / "blocks", first_height=1, fsync=fsync)
        self.recovered_commands = 0
        self.snapshot_from = 0
        self._recover()
        self._snapshot_height = self.snapshot_from

    # --- setup --------------------------------------------------------------------------

    def _load_genesis(self, genesis: Genesis | None) -> Genesis:
        path = self.dir / "genesis.msgpack"
        if path.exists():
            stored = msgspec.msgpack.decode(path.read_bytes(), type=Genesis)
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
        return BlockBuilder(
            engine,  # type: ignore[arg-type]
            commitment,
            max_commands=g.block_commands,
            max_interval_ns=g.block_interval_ns,
            height=height,
            parent_hash=parent,
        )

    def _recover(self) -> None:
        g = self.genesis
        found = latest_snapshot(self.dir / "snapshots")
        if found.snapshot is not None:
            snap = _snapshot_decoder.decode(found.snapshot.payload)
            engine = _engine_from_snapshot(self.engine_kind, snap.engine, g)
            commitment = PoseidonState.restore(
                snap.engine,
                snap.commitment,
                account_depth=g.account_depth,
                order_depth=g.order_depth,
            )
            height, parent = snap.height, int.from_bytes(snap.parent_hash, "big")
            self.snapshot_from = height
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
        self.commitment = commitment
        self.builder = self._builder(engine, commitment, height, parent)
        # Commands journalled (so acknowledged) but in no sealed block yet.
        for _, payload in self.journal.iter_from(engine.last_seq + 1):  # type: ignore[attr-defined]
            self._execute(decode_command(payload))
            self.recovered_commands += 1

    # --- the pipeline ---------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self.builder.height

    @property
    def next_seq(self) -> int:
        return self.engine.last_seq + 1  # type: ignore[attr-defined]

    def submit(self, cmds: Sequence[Command]) -> list[list[Event]]:
        """Sequence, journal (one fsync), execute; return each command's events.

        The commands' own ``seq``/``ts`` are ignored and replaced by the sequencer's; the
        timestamp never goes backwards even if the wall clock does.
        """
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
        self.journal.commit()
        return [self._execute(c) for c in numbered]

    def _execute(self, cmd: Command) -> list[Event]:
        events, sealed = self.builder.submit(cmd)
        for block in sealed:
            self._store(block)
        return events

    def seal(self) -> Block | None:
        """Close the open block now (the venue's idle timer); None if it is empty."""
        if not self.builder.pending:
            return None
        block = self.builder.seal()
        self._store(block)
        return block

    def _store(self, block: Block) -> None:
        self.blocks.put(block.header.height, encode(block))
        if self.on_block is not None:
            self.on_block(block)
        due = block.header.height - self._snapshot_height >= self.snapshot_every > 0
        if due and not self.builder.pending:
            # Only at a block boundary: a time cut has already executed the next command.
            self.write_snapshot()

    def write_snapshot(self) -> None:
        """Snapshot the state at the last sealed block (no open block may be pending)."""
        if self.builder.pending:
            return
        snap = _Snapshot(
            self.builder.height,
            self.builder.parent_hash.to_bytes(32, "big"),
            self.engine.snapshot(),  # type: ignore[attr-defined]
            self.commitment.snapshot(),
        )
        write_snapshot(self.dir / "snapshots", snap.height, encode(snap))
        prune(self.dir / "snapshots", keep=2)
        self._snapshot_height = snap.height

    def close(self) -> None:
        self.journal.close()
        self.blocks.close()
