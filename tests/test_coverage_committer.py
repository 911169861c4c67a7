"""The pipelined committer: same blocks as inline sealing, in order, and kill -9 safe.

Why these tests: moving the state commitment off the sequencer must not change a single
byte of any block, must store and announce blocks in height order, and must keep "an
acknowledged command is never lost, restart gives the same roots" when the process dies
while the committer is behind the sequencer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest

from matching import Block, BlockBuilder, encode
from matching.block import UnsealedBlock
from matching.encoding import decode_command, decoder
from proofs.state import PoseidonState
from venue.blockstore import BlockStore
from venue.committer import Committer, CommitterError
from venue.journal import Journal
from venue.node import Genesis, VenueNode, make_engine
from venue.replay import replay
from venue.workload import Workload

ROOT = Path(__file__).resolve().parent.parent
MODES = ("thread", "process")


class Clock:
    """Deterministic venue clock; every ``jump_every``-th reading jumps past a block interval."""

    def __init__(self, jump_every: int = 0) -> None:
        self.t = 10**18
        self.n = 0
        self.jump_every = jump_every

    def __call__(self) -> int:
        self.n += 1
        self.t += 1_000_000
        if self.jump_every and self.n % self.jump_every == 0:
            self.t += 2_000_000_000  # past block_interval_ns: a time cut
        return self.t


def genesis(w: Workload) -> Genesis:
    return Genesis(w.markets, account_depth=8, order_depth=10, block_commands=16)


def drive(node: VenueNode, w: Workload, n: int, batch: int = 7) -> None:
    """Batches with time cuts (clock jumps), count cuts and a few explicit seals."""
    cmds = w.genesis() + list(w.commands(n))
    for k, i in enumerate(range(0, len(cmds), batch)):
        node.submit(cmds[i : i + batch])
        if k % 23 == 22:
            node.seal()
    node.seal()


def stored(path: Path) -> list[bytes]:
    with BlockStore(path / "blocks", first_height=1, fsync=False) as store:
        return [payload for _, payload in store.iter_from(1)]


def snapshots(path: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((path / "snapshots").rglob("*")) if p.is_file()]


def run_mode(path: Path, mode: str, shards: int = 1) -> tuple[int, int, list[bytes], list[bytes]]:
    w = Workload(21, accounts=25, target_resting=200)
    heights: list[int] = []
    node = VenueNode(path, genesis(w), engine="reference", fsync=False, snapshot_every=7,
                     clock=Clock(jump_every=13), committer=mode, committer_shards=shards,
                     on_block=lambda b: heights.append(b.header.height))  # fmt: skip
    drive(node, w, 900)
    height, root = node.height, node.commitment.root
    node.close()
    assert heights == list(range(1, height + 1))
    return height, root, stored(path), snapshots(path)


def test_blocks_byte_identical_to_inline(tmp_path: Path) -> None:
    ref = run_mode(tmp_path / "inline", "inline")
    assert ref[0] > 40 and ref[3]  # enough blocks, and snapshots were taken
    for mode in MODES:
        assert run_mode(tmp_path / mode, mode) == ref, mode
    # two worker processes (accounts + command commitment | books), joined by the committer
    assert run_mode(tmp_path / "sharded", "process", shards=2) == ref


def test_cut_then_seal_with_equals_seal() -> None:
    w = Workload(4, accounts=10, target_resting=60)
    cmds = w.genesis() + list(w.commands(200))
    engines = [make_engine("reference", genesis(w)) for _ in range(2)]
    states = [PoseidonState(w.markets, account_depth=8, order_depth=10) for _ in range(2)]
    inline = BlockBuilder(engines[0], states[0], max_commands=16)  # type: ignore[arg-type]
    split = BlockBuilder(engines[1], states[1], max_commands=16)  # type: ignore[arg-type]
    sealed = [*inline.submit_many(cmds), inline.seal()]
    cuts: list[UnsealedBlock] = []
    for c in cmds:
        cuts += split.submit_cut(c)[1]
    cuts.append(split.cut())
    parent, again = 0, []
    for cut in cuts:
        # the cut crosses a process boundary in msgpack: it must round-trip exactly
        cut = decoder(UnsealedBlock).decode(encode(cut))
        block = cut.seal_with(states[1], parent)
        parent = states[1].header_hash(block.header)
        again.append(block)
    assert [encode(b) for b in again] == [encode(b) for b in sealed]
    assert split.height == inline.height and parent == inline.parent_hash


@pytest.mark.parametrize("mode", MODES)
def test_seal_is_a_barrier_and_on_block_sees_durable_blocks(tmp_path: Path, mode: str) -> None:
    w = Workload(8, accounts=10, target_resting=50)
    seen: list[tuple[int, bool]] = []
    node: VenueNode

    def on_block(b: Block) -> None:
        seen.append((b.header.height, node.blocks.get(b.header.height) == encode(b)))

    node = VenueNode(tmp_path, genesis(w), engine="reference", fsync=False, clock=Clock(),
                     committer=mode, on_block=on_block)  # fmt: skip
    cmds = w.genesis() + list(w.commands(100))
    node.submit(cmds[: len(cmds) // 16 * 16 - 13])  # 3 left in the open block
    block = node.seal()
    assert block is not None
    assert node.committed_height == node.height == block.header.height
    assert node.commitment.root == block.header.post_state_root
    assert seen == [(h, True) for h in range(1, node.height + 1)]
    assert node.seal() is None
    assert node.block_hash(block.header) == PoseidonState(w.markets).header_hash(block.header)
    node.close()


def test_committer_failure_stops_the_node_and_restart_recovers(tmp_path: Path) -> None:
    w = Workload(9, accounts=10, target_resting=50)
    node = VenueNode(tmp_path, genesis(w), engine="reference", fsync=False, clock=Clock(),
                     committer="thread")  # fmt: skip
    node.submit(w.genesis())
    node.flush()

    def broken(height: int, payload: bytes) -> None:
        raise OSError("disk full")

    node.blocks.put = broken  # type: ignore[method-assign]
    cmds = list(w.commands(40))
    node.submit(cmds)  # acknowledged: in the journal; the blocks fail later
    with pytest.raises(CommitterError):
        node.flush()
    with pytest.raises(CommitterError):
        node.submit(cmds[:1])
    acked = node.engine.last_seq
    with pytest.raises(CommitterError):
        node.close()
    again = VenueNode(tmp_path, engine="reference", fsync=False, committer="process")
    assert again.engine.last_seq == acked
    assert again.committed_height == again.height > 0
    again.close()
    assert replay(tmp_path).ok


def test_a_dead_shard_stops_the_node_and_restart_recovers(tmp_path: Path) -> None:
    w = Workload(9, accounts=10, target_resting=50)
    node = VenueNode(tmp_path, genesis(w), engine="reference", fsync=False, clock=Clock(),
                     committer="process", committer_shards=2)  # fmt: skip
    assert node.committer is not None and len(node.committer.pids) == 2
    node.submit(w.genesis())
    node.flush()
    os.kill(node.committer.pids[1], signal.SIGKILL)  # the books shard
    cmds = list(w.commands(60))
    with pytest.raises(CommitterError):
        node.submit(cmds)  # journalled; sealing fails at the first cut block
        node.flush()
    acked = node.engine.last_seq
    with pytest.raises(CommitterError):
        node.close()
    again = VenueNode(tmp_path, engine="reference", fsync=False, committer="process",
                      committer_shards=2)  # fmt: skip
    assert again.engine.last_seq == acked
    assert again.committed_height == again.height > 0
    again.close()
    assert replay(tmp_path).ok


def test_committer_rejects_bad_arguments(tmp_path: Path) -> None:
    w = Workload(1)
    with pytest.raises(Exception, match="unknown committer"):
        VenueNode(tmp_path, genesis(w), fsync=False, committer="fork")
    with pytest.raises(Exception, match="committer_shards"):
        VenueNode(tmp_path, genesis(w), fsync=False, committer="thread", committer_shards=2)
    engine = make_engine("reference", genesis(w))
    state = PoseidonState(w.markets, account_depth=8, order_depth=10)
    store = BlockStore(tmp_path / "b", first_height=1, fsync=False)
    common = dict(height=0, parent_hash=0, account_depth=8, order_depth=10,
                  engine_snapshot=engine.snapshot(), commitment=state)  # fmt: skip
    with pytest.raises(ValueError):
        Committer(store, mode="fork", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Committer(store, max_lag=0, **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shards"):
        Committer(store, mode="thread", shards=2, **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shards"):
        Committer(store, shards=3, **common)  # type: ignore[arg-type]
    store.close()


_CHILD = textwrap.dedent(
    """
    import sys, time
    import venue.committer as vc
    from venue.node import Genesis, VenueNode
    from venue.workload import Workload

    data, mode = sys.argv[1], sys.argv[2]
    shards = 2 if mode == "sharded" else 1
    mode = "process" if mode == "sharded" else mode
    if mode == "thread":  # make the committer lag far behind the sequencer
        run = vc._Hasher.run
        vc._Hasher.run = lambda self, work: (time.sleep(0.02), run(self, work))[1]
    w = Workload(11, accounts=20, target_resting=200)
    g = Genesis(w.markets, account_depth=8, order_depth=10, block_commands=16)
    node = VenueNode(data, g, engine="reference", fsync=True, snapshot_every=5,
                     committer=mode, committer_shards=shards, max_lag=10_000)
    cmds = w.genesis() + list(w.commands(100_000))
    for i in range(0, len(cmds), 8):
        node.submit(cmds[i : i + 8])
        # acknowledged: journalled and fsynced; then how far the committer is behind
        print(node.engine.last_seq, node.height - node.committed_height, flush=True)
    """
)


@pytest.mark.parametrize("mode", [*MODES, "sharded"])
def test_kill_9_while_the_committer_lags(tmp_path: Path, mode: str) -> None:
    data = tmp_path / "venue"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(data), mode], stdout=subprocess.PIPE, env=env,
        text=True,
    )  # fmt: skip
    acked = lag = max_lag = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        acked, lag = map(int, line.split())
        max_lag = max(max_lag, lag)
        if acked >= 1_500 and lag >= 3:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert lag >= 3, f"the committer never lagged (max lag {max_lag})"
    on_disk = len(stored(data))
    # restart: the blocks cut but not stored are re-cut from the journal and stored
    node = VenueNode(data, engine="reference", committer="process" if mode == "sharded" else mode)
    assert node.engine.last_seq >= acked
    assert node.committed_height == node.height > on_disk
    height, root = node.height, node.commitment.root
    node.close()
    r = replay(data)
    assert r.ok and (r.last_height, r.last_root) == (height, root)
    # the same blocks, byte for byte, as sealing inline from the journalled commands
    g = msgspec.msgpack.decode((data / "genesis.msgpack").read_bytes(), type=Genesis)
    builder = BlockBuilder(
        make_engine("reference", g),  # type: ignore[arg-type]
        PoseidonState(g.markets, account_depth=g.account_depth, order_depth=g.order_depth),
        max_commands=g.block_commands,
        max_interval_ns=g.block_interval_ns,
    )
    expected: list[bytes] = []
    with Journal(data / "journal", fsync="none") as journal:
        for _, payload in journal.iter_from(1):
            expected += [encode(b) for b in builder.submit(decode_command(payload))[1]]
    assert stored(data) == expected
