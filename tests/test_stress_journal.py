"""Randomized tests of venue.journal: kill -9 crashes, truncation fuzzing, random ops.

The random-ops stress runs with a fixed seed under pytest and can be run by hand with more
iterations or other seeds::

    python -m tests.test_stress_journal ITERATIONS SEED
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from venue.journal import HEADER_SIZE, Journal
from venue.storage_errors import RecordMissingError, SequenceError

REPO = Path(__file__).resolve().parent.parent


def payload(seq: int) -> bytes:
    return (f"{seq}|".encode() * 40)[: 20 + seq % 90]


# -- kill -9 ----------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import random, sys
    from venue.journal import Journal
    from tests.test_stress_journal import payload
    directory, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    j = Journal(directory, fsync="always", segment_size=4096)
    print("open", j.last_seq, flush=True)
    seq = j.last_seq
    while True:
        for _ in range(rng.choice([1, 1, 2, 5, 16])):
            seq += 1
            j.append(seq, payload(seq))
        j.commit()
        print(seq, flush=True)  # every seq up to here is acknowledged
    """
)


def run_and_kill(directory: Path, seed: int, kill_after: int) -> tuple[int, int]:
    """Start a writer, SIGKILL it after ``kill_after`` acks; return (opened at, last ack)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory), str(seed)],
        stdout=subprocess.PIPE,
        env=env,
        cwd=REPO,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().split()
    assert first[0] == "open", first
    acked = int(first[1])
    for _ in range(kill_after):
        acked = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)  # acks printed before death count too
    for line in rest.split():
        acked = int(line)
    assert proc.returncode == -signal.SIGKILL
    return int(first[1]), acked


def test_kill_9_never_loses_an_acknowledged_commit(tmp_path: Path) -> None:
    rng = random.Random(20240611)
    acked = 0
    for round_ in range(4):
        opened_at, acked_now = run_and_kill(tmp_path, seed=round_, kill_after=rng.randint(5, 60))
        assert opened_at >= acked, "a restart saw fewer records than were acknowledged"
        acked = acked_now
        j = Journal(tmp_path, fsync="none", segment_size=4096)
        j._check()
        assert j.last_seq >= acked
        got = list(j.iter_from(1))
        assert [s for s, _ in got] == list(range(1, j.last_seq + 1))
        assert all(p == payload(s) for s, p in got)
        j.append(j.last_seq + 1, payload(j.last_seq + 1))  # the log ends cleanly:
        j.commit()  # it takes appends after recovery, and reopens without dropping bytes
        j.close()
        with Journal(tmp_path, fsync="none", segment_size=4096) as again:
            assert again.recovery.clean and again.last_seq == j.last_seq
    assert acked > 20


# -- truncation fuzzing -----------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.integers(1, 6), min_size=1, max_size=8),
    cut_fraction=st.floats(0, 1),
    tail_junk=st.binary(max_size=40),
)
@example(batches=[1, 1], cut_fraction=0.9921875, tail_junk=b"|")  # the junk completes record 2
def test_any_truncation_recovers_to_a_prefix(
    batches: list[int], cut_fraction: float, tail_junk: bytes
) -> None:
    """Cut the last segment anywhere (and maybe append junk): exactly the records that
    end at or before the cut survive, intact, and the file is cut back to the last one."""
    with tempfile.TemporaryDirectory() as d:
        directory = Path(d)
        j = Journal(directory, fsync="none", segment_size=300)
        seq = 0
        for size in batches:
            for _ in range(size):
                seq += 1
                j.append(seq, payload(seq))
            j.commit()
        last_path = Path(j.segment_paths[-1])
        j.close()
        first_in_last = int(last_path.name[:20])
        ends, pos = [], 0
        for s in range(first_in_last, seq + 1):
            pos += HEADER_SIZE + len(payload(s))
            ends.append(pos)
        data = last_path.read_bytes()
        assert len(data) == pos
        cut = int(len(data) * cut_fraction)
        new = data[:cut] + tail_junk
        last_path.write_bytes(new)

        j = Journal(directory, fsync="none", segment_size=300)
        j._check()
        # a record survives when all its bytes are as written: those that end at or before the
        # cut, and one that the junk happens to complete (its last byte cut, then that byte)
        kept = [e for e in ends if new[:e] == data[:e]]
        assert j.last_seq == first_in_last - 1 + len(kept)
        good_end = kept[-1] if kept else 0
        assert os.path.getsize(last_path) == good_end
        assert j.recovery.dropped_bytes == cut + len(tail_junk) - good_end
        got = list(j.iter_from(1))
        assert [s for s, _ in got] == list(range(1, j.last_seq + 1))
        assert all(p == payload(s) for s, p in got)
        j.close()


# -- random operations against a model --------------------------------------------------

ACTIONS: list[tuple[int, Callable[[StressState], None]]] = []


def actor(weight: int) -> Callable[[Callable[[StressState], None]], Callable[[StressState], None]]:
    """Register a stress action with a relative weight (as sortedcontainers' stress does)."""

    def register(fn: Callable[[StressState], None]) -> Callable[[StressState], None]:
        ACTIONS.append((weight, fn))
        return fn

    return register


class StressState:
    """The journal under test plus a plain-list model of what it must contain."""

    def __init__(self, directory: Path, rng: random.Random) -> None:
        self.directory = directory
        self.rng = rng
        self.journal = Journal(directory, fsync="none", segment_size=512)
        self.model: dict[int, bytes] = {}
        self.pending: list[tuple[int, bytes]] = []
        self.first = 1

    def __repr__(self) -> str:
        return f"StressState(last={self.journal.last_seq}, first={self.first})"


@actor(10)
def do_append(s: StressState) -> None:
    seq = s.journal.next_seq
    data = s.rng.randbytes(s.rng.randint(0, 200))
    s.journal.append(seq, data)
    s.pending.append((seq, data))


@actor(4)
def do_commit(s: StressState) -> None:
    s.journal.commit()
    s.model.update(s.pending)
    s.pending.clear()


@actor(2)
def do_bad_append(s: StressState) -> None:
    bad = s.journal.next_seq + s.rng.choice([-2, -1, 1, 5])
    with pytest.raises(SequenceError):
        s.journal.append(bad, b"x")


@actor(2)
def do_read(s: StressState) -> None:
    start = s.rng.randint(s.first, s.journal.last_seq + 1)
    got = list(s.journal.iter_from(start))
    assert got == [(k, s.model[k]) for k in range(start, s.journal.last_seq + 1)]
    if s.first > 1:
        with pytest.raises(RecordMissingError):
            s.journal.iter_from(s.first - 1)


@actor(1)
def do_truncate(s: StressState) -> None:
    cut = s.rng.randint(s.first, s.journal.last_seq + 1)
    s.journal.truncate_before(cut)
    assert s.journal.first_seq <= cut
    s.first = s.journal.first_seq


@actor(1)
def do_reopen(s: StressState) -> None:
    s.journal.close()
    s.pending.clear()
    s.journal = Journal(s.directory, fsync="none", segment_size=512)
    assert s.journal.recovery.clean
    assert s.journal.last_seq == max(s.model, default=0)


def stress(iterations: int, seed: int) -> None:
    """Run ``iterations`` weighted random actions, checking invariants after each."""
    rng = random.Random(seed)
    weights = [w for w, _ in ACTIONS]
    with tempfile.TemporaryDirectory() as d:
        state = StressState(Path(d), rng)
        try:
            for _ in range(iterations):
                rng.choices(ACTIONS, weights)[0][1](state)
                state.journal._check()
        except BaseException as exc:
            exc.add_note(f"stress seed={seed} state={state!r}")
            raise
        finally:
            state.journal.close()


def test_stress_fixed_seed() -> None:
    stress(1500, seed=0)


if __name__ == "__main__":
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    stress(iterations, seed)
    print(f"ok: {iterations} actions, seed {seed}")
