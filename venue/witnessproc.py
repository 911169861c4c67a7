"""The live prover's witness state, kept in a process of its own.

A block's witness (``BlockProverState.advance``) is Python: about 9 ms for a test-size block
and 60 ms for a production one. The live prover builds one for every block the venue stores,
as the blocks come, so under any sustained load it never stops (the provers are far slower
than the sequencer). In the venue's process it holds the GIL that the gateway's event loop
needs: with one trader and one order in flight, a witness builder beside the gateway cut the
orders acknowledged per second to 0.37x and raised the ack p99 from about 3 ms to 9-10 ms
(``bench/RESULTS.md``, "Witnesses out of the venue's process"). Here the state lives in a
spawned process at the prover pool's CPU priority, and the venue only sends each block's
bytes and receives its inputs.

One request at a time: ``advance`` sends a block and waits for its witness. The live prover's
thread waits on a pipe, which holds no GIL.
"""

from __future__ import annotations

import multiprocessing
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from matching import Block
from matching.encoding import decoder
from proofs.witness import BlockProverState, UnsupportedInCircuit

from .node import snapshot_decoder
from .priority import apply_priority
from .snapshot import latest_snapshot

__all__ = ["WitnessProcess", "WitnessProcessError", "start_state"]


class WitnessProcessError(RuntimeError):
    """The witness process failed or died; the message says how."""


def start_state(
    node_dir: Path, markets: Any, depths: dict[str, int], proven: int
) -> tuple[BlockProverState, int]:
    """The prover state after the newest snapshot at or below ``proven``, or genesis (the
    venue's ``markets``), and the height it stands at."""
    found = latest_snapshot(node_dir / "snapshots", at_most=proven).snapshot
    if found is not None:
        snap = snapshot_decoder.decode(found.payload)
        state = BlockProverState.from_snapshots(snap.engine, snap.commitment, **depths)
        return state, snap.height
    return BlockProverState(markets, **depths), 0


def _main(conn: Connection, args: tuple[Path, Any, dict[str, int], Any, int, str]) -> None:
    node_dir, markets, depths, params, proven, priority = args
    apply_priority(priority)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the venue handles Ctrl-C and closes this
    block_decoder = decoder(Block)
    try:
        state, height = start_state(node_dir, markets, depths, proven)
        conn.send(("ready", height))
        while True:
            try:
                payload, want = conn.recv()
            except EOFError:
                return  # the venue closed it
            try:
                w = state.advance(block_decoder.decode(payload), params)
            except UnsupportedInCircuit as exc:
                conn.send(("unsupported", str(exc)))
                continue
            except ValueError as exc:
                conn.send(("invalid", str(exc)))
                continue
            conn.send(("ok", w.inputs, w.public_signals) if want else ("ok", None, None))
    except Exception as exc:  # a bug, or an unreadable snapshot: say what, then stop
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass


class WitnessProcess:
    """``BlockProverState`` in a spawned process: ``advance`` as ``BlockProverState.advance``
    does, raising the same ``UnsupportedInCircuit`` or ``ValueError`` for a block the circuit
    cannot prove, and ``WitnessProcessError`` if the process fails."""

    def __init__(
        self,
        node_dir: Path,
        markets: Any,
        depths: dict[str, int],
        params: Any,
        proven: int,
        priority: str = "background",
    ) -> None:
        ours, theirs = multiprocessing.Pipe()
        self._proc = multiprocessing.get_context("spawn").Process(
            target=_main,
            args=(theirs, (Path(node_dir), markets, depths, params, proven, priority)),
            name="witness",
            daemon=True,
        )
        self._proc.start()
        theirs.close()
        self._conn = ours
        #: the height the state started at (a snapshot's, or 0: genesis)
        self.height = int(self._reply("ready")[0])

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def _reply(self, want: str) -> tuple[Any, ...]:
        try:
            kind, *rest = self._conn.recv()
        except (EOFError, OSError):
            code = self._proc.exitcode
            raise WitnessProcessError(f"the witness process died (exit code {code})") from None
        if kind == "unsupported":
            raise UnsupportedInCircuit(rest[0])
        if kind == "invalid":
            raise ValueError(rest[0])
        if kind != want:
            raise WitnessProcessError(f"the witness process failed: {rest[0]}")
        return tuple(rest)

    def advance(self, payload: bytes, *, want: bool = True) -> tuple[dict, list[int]] | None:
        """Advance past the block encoded in ``payload``; its (inputs, public signals), or
        None when ``want`` is false (a block that is proven already: only its state counts)."""
        try:
            self._conn.send((payload, want))
        except OSError:
            raise WitnessProcessError("the witness process is gone") from None
        inputs, public = self._reply("ok")
        return None if inputs is None else (inputs, public)

    def close(self) -> None:
        self._conn.close()  # it sees EOF and returns
        self._proc.join(5)
        if self._proc.exitcode is None:
            self._proc.kill()
            self._proc.join()
