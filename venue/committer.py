"""The committer: hashes cut blocks off the sequencer's path and makes them durable, in order.

Why: sealing a block (Poseidon state root, command commitment, header hash) costs ~17 ms
per 64-command block, about 80% of the node's time. None of it reads the engine, so the
sequencer only *cuts* blocks (``BlockBuilder.cut``: ``end_block``, the state diff, market
states; that part reads engine state and stays on the engine's owner thread) and hands each
``UnsealedBlock`` to this committer, which seals it on its own ``PoseidonState``, writes it
to the block store (fsync) and then calls ``on_block``.

Pipeline stages (numbered as in ``venue.node``)::

    sequencer thread:  ... ME → B1 cut ─┬─▶ feeder thread ─▶ [pipe] ─▶ H hash (worker process)
                                        └─▶ pending (deque, same order)
    writer thread:     H result ─▶ B2 Block(header, pending cut) → block store (fsync)
                                 ─▶ snapshot (if one was asked for at this height)
                                 ─▶ on_block(block)

Modes: ``"process"`` (default) runs H in a child process fed msgpack-encoded cuts; it is the
only mode with real parallelism, because the compiled ``hash2`` holds the GIL and
``hash_pairs`` releases it for too short a time (measured: two threads hashing take 88% of
the serial time, see ``bench/RESULTS.md``). ``"thread"`` hashes on the writer thread (no
copying; useful for tests and single-core hosts). ``priority="background"`` (default) runs
the worker process as ``SCHED_IDLE`` so that hashing never delays an ack (``venue.priority``).
``shards=2`` (process mode) splits each block between two worker processes, one for the
accounts tree and the command commitment and one for the order books
(``PoseidonState.apply_part``); the writer thread joins their roots into the header
(``proofs.state.combine_roots``, a dozen hashes per block). Blocks are byte-identical in
every mode. It raises the commitment's throughput where two cores are free (node alone:
+43–49% durable commands/s) and gains nothing on a machine the traders already saturate
(``bench/RESULTS.md``, "Two committer shards").

Ordering: one writer thread takes results in submission order, so blocks are stored, and
``on_block`` called, in height order, each after its block is durable. Backpressure: at most
``max_lag`` blocks may be cut but not yet durable; ``submit`` blocks beyond that, which
bounds both memory and the work a restart has to redo.

Nothing here writes before the block store's ``put``, and the worker keeps no files, so a
kill -9 at any point leaves a prefix of the blocks on disk; the node re-cuts the rest from
the journal (see ``venue.node``). Exceptions tree::

    CommitterError (RuntimeError): the committer failed; the node must stop and restart
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import queue
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, Literal

import msgspec

from matching import Block, encode
from matching.block import BlockHeader, StateDiff, UnsealedBlock
from matching.encoding import decoder
from matching.engine import EngineSnapshot, MarketStateView
from matching.types import Command, MarketSummary
from proofs.state import CommitmentSnapshot, PoseidonState, combine_roots, header_hash

from .blockstore import BlockStore
from .priority import Priority, apply_priority, check_priority

__all__ = ["Committer", "CommitterError", "CommitterMode", "SnapshotWriter"]

CommitterMode = Literal["thread", "process"]
_log = logging.getLogger("venue.committer")

#: ``(height, parent_hash, engine snapshot, commitment snapshot)`` -> written to disk.
SnapshotWriter = Callable[[int, int, EngineSnapshot, CommitmentSnapshot], None]


class CommitterError(RuntimeError):
    """The committer failed (hashing, disk); blocks after ``committed_height`` are not stored.

    Acknowledged commands are safe in the journal: restart the node to re-cut them.
    """


class _Init(msgspec.Struct, frozen=True, array_like=True):
    """Commitment state at a block boundary, to start a worker from."""

    height: int
    parent_hash: bytes
    account_depth: int
    order_depth: int
    engine: EngineSnapshot
    commitment: CommitmentSnapshot


class _Work(msgspec.Struct, frozen=True, array_like=True):
    """One job: seal ``cut`` (None: none), then return a commitment snapshot if asked."""

    cut: UnsealedBlock | None
    snapshot: bool


class _WorkIn(msgspec.Struct, frozen=True, array_like=True):
    """``_Work`` as the worker decodes it: the events it never reads stay raw bytes."""

    cut: _CutIn | None
    snapshot: bool


class _CutIn(msgspec.Struct, frozen=True, array_like=True):
    """``UnsealedBlock``'s layout with ``events``/``event_offsets`` left undecoded."""

    height: int
    close_ts: int
    first_seq: int
    summaries: tuple[MarketSummary, ...]
    markets: tuple[MarketStateView, ...]
    commands: tuple[Command, ...]
    events: msgspec.Raw
    event_offsets: msgspec.Raw
    diff: StateDiff


class _Done(msgspec.Struct, frozen=True, array_like=True):
    header: BlockHeader | None
    hash: bytes
    snapshot: CommitmentSnapshot | None


class _Part(msgspec.Struct, frozen=True, array_like=True):
    """One shard's result (``shards=2``): its roots as 32-byte big-endian values."""

    accounts_root: bytes = b""
    command_commitment: bytes = b""
    #: (market, bids side root, asks side root), in genesis order
    sides: tuple[tuple[int, bytes, bytes], ...] = ()
    snapshot: CommitmentSnapshot | None = None


def _b32(x: int) -> bytes:
    return x.to_bytes(32, "big")


def _int(b: bytes) -> int:
    return int.from_bytes(b, "big")


class _Hasher:
    """The commitment after the last sealed block, and its header hash (the next parent).

    ``role`` ``"all"`` seals whole blocks; ``"accounts"`` and ``"books"`` hash one part
    each (``shards=2``) and return a ``_Part``, joined by ``Committer._combine``.
    """

    def __init__(self, init: _Init, state: PoseidonState | None = None, role: str = "all") -> None:
        if role not in _ROLES:
            raise ValueError(f"unknown committer role {role!r}")
        self.role = role
        # In a thread the live object is handed over (the sequencer never touches it
        # again); a process rebuilds it from the snapshot, hashing the state once.
        self.state = state or PoseidonState.restore(
            init.engine,
            init.commitment,
            account_depth=init.account_depth,
            order_depth=init.order_depth,
        )
        self.parent = int.from_bytes(init.parent_hash, "big")

    def run(self, work: _Work) -> _Done | _Part:
        if self.role != "all":
            return self._run_part(work)
        header = None
        if work.cut is not None:
            header = work.cut.seal_with(self.state, self.parent).header
            self.parent = self.state.header_hash(header)
        snap = self.state.snapshot() if work.snapshot else None
        return _Done(header, self.parent.to_bytes(32, "big"), snap)

    def _run_part(self, work: _Work) -> _Part:
        st, cut = self.state, work.cut
        if self.role == "accounts":
            if cut is None:
                return _Part()
            st.apply_part("accounts", cut.height, cut.diff, cut.markets)
            cc = st.command_commitment(cut.commands)
            return _Part(_b32(st.accounts.root), _b32(cc))
        if cut is not None:
            st.apply_part("books", cut.height, cut.diff, cut.markets)
        sides = tuple((m, _b32(b), _b32(a)) for m, (b, a) in st.side_roots().items())
        return _Part(sides=sides, snapshot=st.snapshot() if work.snapshot else None)


class _Joined:
    """The shards' results of one block as the ``StateCommitment`` ``seal_with`` reads: the
    pre-state root, the post-state root from the parts' roots, the command commitment."""

    def __init__(
        self, root: int, accounts: _Part, books: _Part, markets: dict[int, MarketStateView]
    ) -> None:
        self.root = root
        self._accounts, self._books, self._markets = accounts, books, markets

    def apply(self, height: int, diff: StateDiff, markets: Sequence[MarketStateView]) -> int:
        for ms in markets:  # the committer's copy of the market states moves on
            self._markets[ms.market] = ms
        sides = {m: (_int(b), _int(a)) for m, b, a in self._books.sides}
        accounts_root = _int(self._accounts.accounts_root)
        return combine_roots(accounts_root, sides, self._markets.values(), height)

    def command_commitment(self, commands: Sequence[Command]) -> int:
        return _int(self._accounts.command_commitment)

    def header_hash(self, header: BlockHeader) -> int:
        return header_hash(header)


#: what a worker process hashes: whole blocks, or one part of each (``shards=2``)
_ROLES = ("all", "accounts", "books")


_LEN = struct.Struct("<I")


class _Pipe:
    """Length-prefixed messages over a pair of pipes (``recv`` raises EOFError at the end).

    Why not ``multiprocessing``: its spawn/forkserver start methods re-import the parent's
    ``__main__``, which breaks (or recurses in) scripts that build a node at import time.
    """

    def __init__(self, rfile: BinaryIO, wfile: BinaryIO) -> None:
        self.rfile, self.wfile = rfile, wfile

    def send(self, data: bytes) -> None:
        self.wfile.write(_LEN.pack(len(data)) + data)
        self.wfile.flush()

    def recv(self) -> bytes:
        head = self._read(_LEN.size)
        return self._read(_LEN.unpack(head)[0])

    def _read(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if len(data) != n:
            raise EOFError("pipe closed")
        return data


def _worker_main(pipe: _Pipe, role: str) -> None:  # pragma: no cover - the child process
    """Child process loop: init, then one ``_Done`` or ``_Part`` (or ``b"E"`` + traceback)
    per job."""
    work_dec = decoder(_WorkIn)
    try:
        hasher = _Hasher(decoder(_Init).decode(pipe.recv()), role=role)
        pipe.send(b"R")
        while True:
            data = pipe.recv()
            if not data:
                pipe.send(b"Q")
                return
            w = work_dec.decode(data)
            cut = None
            if w.cut is not None:
                c = w.cut
                cut = UnsealedBlock(c.height, c.close_ts, c.first_seq, c.summaries, c.markets,
                                    c.commands, (), (), c.diff)  # fmt: skip
            pipe.send(encode(hasher.run(_Work(cut, w.snapshot))))
    except EOFError:
        return  # the node died (kill -9): nothing here is durable, just stop
    except BaseException:
        try:
            pipe.send(b"E" + traceback.format_exc().encode())
        except OSError:
            pass


class Committer:
    """Seals and stores cut blocks in order, off the sequencer thread (module docstring).

    Thread contract: ``submit``, ``flush`` and ``close`` are called by the sequencer (the
    engine's owner) only; ``on_block`` and the snapshot writer run on the writer thread.
    ``committed_height``, ``root`` and ``block_hash`` may be read from any thread.
    """

    def __init__(
        self,
        store: BlockStore,
        *,
        height: int,
        parent_hash: int,
        account_depth: int,
        order_depth: int,
        engine_snapshot: EngineSnapshot,
        commitment: PoseidonState,
        mode: CommitterMode = "process",
        max_lag: int = 64,
        on_block: Callable[[Block], None] | None = None,
        write_snapshot: SnapshotWriter | None = None,
        keep_hashes: int = 4096,
        priority: Priority = "background",
        shards: int = 1,
    ) -> None:
        if mode not in ("thread", "process"):
            raise ValueError(f"unknown committer mode {mode!r}")
        check_priority(priority)
        if shards not in (1, 2) or (shards == 2 and mode != "process"):
            raise ValueError("shards must be 1, or 2 with mode='process'")
        if max_lag < 1:
            raise ValueError("max_lag must be positive")
        self.store = store
        self.mode = mode
        self.max_lag = max_lag
        self.on_block = on_block
        self._write_snapshot = write_snapshot
        self._keep_hashes = keep_hashes
        #: height and state root of the last durable block (from its header)
        self.committed_height = height
        self.root = commitment.root
        self._hashes: collections.OrderedDict[int, int] = collections.OrderedDict()
        self._hashes[height] = parent_hash
        self._parent = parent_hash
        self._cond = threading.Condition()
        self._pending: collections.deque[tuple[UnsealedBlock | None, EngineSnapshot | None]]
        self._pending = collections.deque()
        self._inflight = 0
        self.error: BaseException | None = None
        self._closed = False
        init = _Init(
            height,
            parent_hash.to_bytes(32, "big"),
            account_depth,
            order_depth,
            engine_snapshot,
            commitment.snapshot(),
        )
        self._procs: list[subprocess.Popen[bytes]] = []
        self._pipes: list[_Pipe] = []
        self._hasher: _Hasher | None = None
        self._jobs: collections.deque[_Work] = collections.deque()
        #: the market states after the last durable block, for a sharded commitment's join
        self._market_states = {ms.market: ms for ms in commitment.market_states}
        if mode == "process":
            roles = ("all",) if shards == 1 else ("accounts", "books")
            try:
                for role in roles:
                    self._start_worker(init, priority, role)
            except BaseException:
                for proc in self._procs:
                    proc.kill()
                raise
            # The sequencer never blocks on the pipe (its buffer holds ~2 blocks): a feeder
            # thread writes, so the lag is bounded by ``max_lag`` only.
            self._outbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
            self._feeder = threading.Thread(target=self._feed, name="pb-feeder", daemon=True)
            self._feeder.start()
        else:
            self._hasher = _Hasher(init, commitment)
        self._thread = threading.Thread(target=self._writer, name="pb-committer", daemon=True)
        self._thread.start()

    def _start_worker(self, init: _Init, priority: str, role: str) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}
        # The priority is the worker's own first act (``venue.priority``): in thread mode
        # it would make the GIL's holder a background thread, so it applies here only.
        proc = subprocess.Popen(
            [sys.executable, "-m", "venue.committer", priority, role],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
        )  # fmt: skip
        self._procs.append(proc)
        assert proc.stdin is not None and proc.stdout is not None
        pipe = _Pipe(proc.stdout, proc.stdin)
        self._pipes.append(pipe)
        try:
            pipe.send(encode(init))
            ready = pipe.recv()
        except (EOFError, OSError) as exc:
            ready = repr(exc).encode()
        if ready != b"R":
            raise CommitterError(f"committer process failed to start: {ready[:2000]!r}")

    # --- sequencer side -------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The (first) worker process's pid (process mode), for monitoring."""
        return self._procs[0].pid if self._procs else None

    @property
    def pids(self) -> list[int]:
        """Every worker process's pid (two with ``shards=2``)."""
        return [p.pid for p in self._procs]

    @property
    def lag(self) -> int:
        """Blocks (and snapshot jobs) handed over but not yet durable."""
        return self._inflight

    def submit(self, cut: UnsealedBlock | None, engine_snapshot: EngineSnapshot | None) -> None:
        """Queue ``cut`` (None: snapshot only) to be sealed and stored after earlier ones.

        With ``engine_snapshot`` the engine state right after ``cut`` is snapshotted with the
        commitment once the block is durable. Blocks while ``max_lag`` jobs are in flight.
        """
        with self._cond:
            while self._inflight >= self.max_lag and self.error is None:
                self._cond.wait()
            self._raise()
            self._inflight += 1
            self._pending.append((cut, engine_snapshot))
            work = _Work(cut, engine_snapshot is not None)
            if not self._procs:
                self._jobs.append(work)
                self._cond.notify_all()
        if self._procs:
            self._outbox.put(encode(work))

    def flush(self) -> None:
        """Wait until every submitted block is durable (and ``on_block`` has returned)."""
        with self._cond:
            while self._inflight and self.error is None:
                self._cond.wait()
            self._raise()

    def close(self) -> None:
        """Flush, then stop the worker and the writer thread. Idempotent."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            if self._procs:
                self._outbox.put(b"")
                self._feeder.join(5)
                self._thread.join(5)
                for proc, pipe in zip(self._procs, self._pipes, strict=True):
                    try:
                        proc.wait(5)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                    # A dead worker leaves a broken pipe: nothing left to say to it.
                    with contextlib.suppress(OSError):
                        pipe.wfile.close()
                    pipe.rfile.close()
            else:
                with self._cond:
                    self._cond.notify_all()
                self._thread.join(5)

    def block_hash(self, height: int) -> int | None:
        """Header hash of a recently stored block (the last ``keep_hashes``), else None."""
        return self._hashes.get(height)

    @property
    def parent_hash(self) -> int:
        """Header hash of the last durable block (0 before the first)."""
        return self._parent

    def _raise(self) -> None:
        if self.error is not None:
            raise CommitterError(f"committer failed: {self.error}") from self.error

    def _fail(self, exc: BaseException) -> None:
        with self._cond:
            if self.error is None:
                self.error = exc
            self._cond.notify_all()

    # --- feeder and writer threads -------------------------------------------------------

    def _feed(self) -> None:
        while True:
            data = self._outbox.get()
            try:
                for pipe in self._pipes:  # every shard sees every job, in the same order
                    pipe.send(data)
            except OSError as exc:
                self._fail(CommitterError(f"committer process is gone: {exc}"))
                return
            if not data:
                return

    def _next_result(self) -> _Done | None:
        if not self._procs:
            with self._cond:
                while not self._jobs and not self._closed:
                    self._cond.wait()
                if not self._jobs:
                    return None
                work = self._jobs.popleft()
            assert self._hasher is not None
            return self._hasher.run(work)
        replies = [pipe.recv() for pipe in self._pipes]
        for data in replies:
            if data[:1] == b"E":
                raise CommitterError("committer process: " + data[1:].decode(errors="replace"))
        if replies[0] == b"Q":
            return None
        if len(replies) == 1:
            return _done_decoder.decode(replies[0])
        accounts, books = (_part_decoder.decode(r) for r in replies)
        return self._combine(accounts, books)

    def _combine(self, accounts: _Part, books: _Part) -> _Done:
        """Join the two shards' roots into the header ``_Hasher`` would have built: the same
        ``seal_with``, on a commitment whose trees were hashed by the shards."""
        cut, _ = self._pending[0]  # only this thread pops; the job was queued before its result
        if cut is None:
            return _Done(None, _b32(self._parent), books.snapshot)
        joined = _Joined(self.root, accounts, books, self._market_states)
        header = cut.seal_with(joined, self._parent).header  # type: ignore[arg-type]
        return _Done(header, _b32(header_hash(header)), books.snapshot)

    def _writer(self) -> None:
        try:
            while True:
                done = self._next_result()
                if done is None:
                    return
                cut, engine_snap = self._pending[0]
                block = None
                if cut is not None:
                    assert done.header is not None and done.header.height == cut.height
                    block = Block(done.header, cut.commands, cut.events, cut.event_offsets,
                                  cut.diff)  # fmt: skip
                    self.store.put(cut.height, encode(block))
                    h = self._parent = int.from_bytes(done.hash, "big")
                    self._hashes[cut.height] = h
                    while len(self._hashes) > self._keep_hashes:
                        self._hashes.popitem(last=False)
                    self.root = int(done.header.post_state_root)
                    self.committed_height = cut.height
                if engine_snap is not None and self._write_snapshot is not None:
                    assert done.snapshot is not None
                    self._write_snapshot(
                        self.committed_height, self.parent_hash, engine_snap, done.snapshot
                    )
                if block is not None and self.on_block is not None:
                    # The block is durable whatever a listener does: log its bug, go on.
                    try:
                        self.on_block(block)
                    except Exception:
                        _log.exception("on_block failed for block %d", cut.height)
                with self._cond:
                    self._pending.popleft()
                    self._inflight -= 1
                    self._cond.notify_all()
        except BaseException as exc:  # disk full, worker crash, a bug: stop, say why
            self._fail(exc)


_done_decoder = decoder(_Done)
_part_decoder = decoder(_Part)

if __name__ == "__main__":  # pragma: no cover - the worker process
    # Keep the message pipe to ourselves: anything else printing goes to stderr.
    _out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    apply_priority(sys.argv[1] if len(sys.argv) > 1 else "normal")
    _worker_main(_Pipe(sys.stdin.buffer, _out), sys.argv[2] if len(sys.argv) > 2 else "all")
