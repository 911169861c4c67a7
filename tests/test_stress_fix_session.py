"""Randomized tests of the FIX session: garbage frames and a lossy, duplicating client.

Run more seeds from the command line: ``python -m tests.test_stress_fix_session ITER SEED``.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from venue.fix.codec import Codec, Encoding, FixMessage, format_utc_timestamp
from venue.fix.errors import DecodeError
from venue.fix.events import MessageRejected, NewOrderRequest, SessionClosed
from venue.fix.session import Session, SessionState

NS = 1_000_000_000
T0 = 1_767_268_800 * NS
CHALLENGE = b"\x07" * 16
SIGNATURE = "good-signature"
HYPOTHESIS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def authenticate(account: str, challenge: bytes, signature: str) -> bool:
    return account == "acct-1" and challenge == CHALLENGE and signature == SIGNATURE


def header(seq: int, now: int = T0, poss_dup: bool = False) -> tuple[tuple[int, str], ...]:
    extra = ((43, "Y"), (122, format_utc_timestamp(now))) if poss_dup else ()
    return ((49, "TRADER1"), (56, "PROVENBOOK"), (34, str(seq)), *extra,
            (52, format_utc_timestamp(now)))  # fmt: skip


def logon(codec: Codec) -> str:
    body = ((98, "0"), (108, "30"), (553, "acct-1"), (5012, SIGNATURE))
    return codec.encode(FixMessage("A", header(1) + body))


def order_msg(seq: int, cl_ord_id: str, poss_dup: bool = False, now: int = T0) -> FixMessage:
    body = ((11, cl_ord_id), (55, "ETH-USD"), (54, "2"), (60, format_utc_timestamp(T0)),
            (38, "3"), (40, "2"), (44, "101.25"))  # fmt: skip
    return FixMessage("D", header(seq, now, poss_dup) + body)


def active_session(encoding: Encoding) -> tuple[Session, Codec]:
    session = Session(authenticate=authenticate, challenge=CHALLENGE, now_ns=T0, max_rate=1e9)
    codec = Codec(encoding)
    session.receive_data(logon(codec), T0)
    assert session.state is SessionState.ACTIVE
    session.data_to_send()
    session.events_received()
    return session, codec


# ---------------------------------------------------------------- garbage frames

_any_text = st.text(max_size=300)
_fixish = st.lists(st.tuples(st.integers(0, 10000), st.text(max_size=12)), max_size=12).map(
    lambda pairs: "8=FIX.4.4|" + "".join(f"{t}={v}|" for t, v in pairs)
)
_jsonish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["Header", "Body", "Trailer", "MsgType", "MsgSeqNum", "x"]) | st.text(),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
).map(json.dumps)


@st.composite
def _mutated(draw: st.DrawFn, encoding: Encoding) -> str:
    frame = Codec(encoding).encode(order_msg(2, draw(st.text("abc123", min_size=1, max_size=8))))
    pos = draw(st.integers(0, len(frame)))
    op = draw(st.sampled_from(["delete", "insert", "replace", "truncate"]))
    char = draw(st.characters(codec="utf-8"))
    if op == "delete":
        return frame[:pos] + frame[pos + 1 :]
    if op == "insert":
        return frame[:pos] + char + frame[pos:]
    if op == "replace":
        return frame[:pos] + char + frame[pos + 1 :]
    return frame[:pos]


def _assert_rejected_unchanged(encoding: Encoding, frame: str) -> None:
    session, codec = active_session(encoding)
    try:
        codec.decode(frame)
    except DecodeError:
        pass
    else:
        assume(False)  # a well-framed message is not garbage; FIX lets it consume a number
    before = (session.next_inbound_seq, session.next_outbound_seq - 1, session.state)
    session.receive_data(frame, T0)
    session._check()
    out = [codec.decode(f) for f in session.data_to_send()]
    assert [m.msg_type for m in out] == ["3"]
    assert before == (session.next_inbound_seq, session.next_outbound_seq - 2, session.state)
    events = session.events_received()
    assert len(events) == 1 and isinstance(events[0], MessageRejected)
    # The session still works: the next proper message is accepted.
    session.receive_data(codec.encode(order_msg(2, "after")), T0)
    assert isinstance(session.events_received()[-1], NewOrderRequest)


@HYPOTHESIS
@given(frame=_any_text | _fixish)
def test_garbage_tagvalue_frames(frame: str) -> None:
    _assert_rejected_unchanged(Encoding.TAGVALUE_PIPE, frame)


@HYPOTHESIS
@given(frame=_any_text | _jsonish)
def test_garbage_json_frames(frame: str) -> None:
    _assert_rejected_unchanged(Encoding.JSON, frame)


@HYPOTHESIS
@given(data=st.data(), encoding=st.sampled_from([Encoding.TAGVALUE_SOH, Encoding.TAGVALUE_PIPE]))
def test_mutated_frames(data: st.DataObject, encoding: Encoding) -> None:
    _assert_rejected_unchanged(encoding, data.draw(_mutated(encoding)))


@HYPOTHESIS
@given(frame=_any_text | _fixish | _jsonish)
def test_garbage_before_logon_logs_out(frame: str) -> None:
    session = Session(authenticate=authenticate, challenge=CHALLENGE, now_ns=T0)
    session.data_to_send()
    session.receive_data(frame, T0)
    session._check()
    frames = session.data_to_send()
    assert len(frames) == 1
    codec = Codec(session.encoding or Encoding.JSON)
    assert codec.decode(frames[0]).msg_type == "5"
    assert session.closed
    assert isinstance(session.events_received()[-1], SessionClosed)


# ---------------------------------------------------------------- lossy client


class LossyClient:
    """Sends orders out of order, drops and duplicates them, and answers ResendRequests.

    The property: every order reaches the venue exactly once, in MsgSeqNum order, however
    the client misbehaves within FIX rules.
    """

    def __init__(self, rnd: random.Random, encoding: Encoding) -> None:
        self.rnd = rnd
        self.session, self.codec = active_session(encoding)
        self.next_seq = 2
        self.sent: dict[int, str] = {}  # seq -> ClOrdID
        self.held: set[int] = set()
        self.delivered: list[NewOrderRequest] = []
        self.now = T0
        self.actors: list[tuple[int, Callable[[], None]]] = [
            (10, self.send_next),
            (3, self.hold_next),
            (2, self.release_held),
            (2, self.duplicate),
            (1, self.garbage),
            (1, self.tick),
        ]

    def feed(self, frame: str) -> None:
        self.session.receive_data(frame, self.now)
        self.pump()

    def pump(self) -> None:
        for frame in self.session.data_to_send():
            msg = self.codec.decode(frame)
            if msg.msg_type == "2":
                self.resend(int(msg.get(7) or 0), int(msg.get(16) or 0))
            elif msg.msg_type == "1":
                self.feed_admin("0", ((112, msg.get(112) or ""),))
            assert msg.msg_type not in ("5",), msg
        for event in self.session.events_received():
            assert not isinstance(event, SessionClosed), event
            if isinstance(event, NewOrderRequest):
                self.delivered.append(event)
        self.session._check()

    def feed_admin(self, msg_type: str, body: tuple[tuple[int, str], ...]) -> None:
        seq = self.next_seq
        self.next_seq += 1
        self.sent[seq] = ""  # admin: not an order
        self.feed(self.codec.encode(FixMessage(msg_type, header(seq, self.now) + body)))

    def resend(self, begin: int, end: int) -> None:
        last = self.next_seq - 1
        for seq in range(begin, (end or last) + 1):
            self.held.discard(seq)
            cl = self.sent.get(seq)
            if cl:
                self.feed(self.codec.encode(order_msg(seq, cl, True, self.now)))
            elif cl == "":
                fill = FixMessage(
                    "4", (*header(seq, self.now, True), (123, "Y"), (36, str(seq + 1)))
                )
                self.feed(self.codec.encode(fill))

    def _new(self) -> int:
        seq = self.next_seq
        self.next_seq += 1
        self.sent[seq] = f"c{seq}"
        return seq

    def send_next(self) -> None:
        seq = self._new()
        self.feed(self.codec.encode(order_msg(seq, self.sent[seq], now=self.now)))

    def hold_next(self) -> None:
        self.held.add(self._new())

    def release_held(self) -> None:
        if self.held:
            seq = self.rnd.choice(sorted(self.held))
            self.held.discard(seq)
            self.feed(self.codec.encode(order_msg(seq, self.sent[seq], now=self.now)))

    def duplicate(self) -> None:
        done = [s for s, cl in self.sent.items() if cl and s < self.session.next_inbound_seq]
        if done:
            seq = self.rnd.choice(done)
            self.feed(self.codec.encode(order_msg(seq, self.sent[seq], True, self.now)))

    def garbage(self) -> None:
        self.session.receive_data("8=FIX.4.4|" + "".join(self.rnd.choices("0123=|ab", k=20)),
                                  self.now)  # fmt: skip
        frames = self.session.data_to_send()
        assert [self.codec.decode(f).msg_type for f in frames] == ["3"]
        self.pump()

    def tick(self) -> None:
        self.now += self.rnd.randrange(1, 20) * NS
        self.session.tick(self.now)
        self.pump()
        self.feed_admin("0", ())

    def run(self, iterations: int) -> None:
        weights = [w for w, _ in self.actors]
        for _ in range(iterations):
            self.rnd.choices([a for _, a in self.actors], weights)[0]()
        for seq in sorted(self.held):
            self.held.discard(seq)
            self.feed(self.codec.encode(order_msg(seq, self.sent[seq], now=self.now)))
        expected = [cl for _, cl in sorted(self.sent.items()) if cl]
        got = [e.cl_ord_id for e in self.delivered]
        assert got == expected, (got, expected)
        assert self.session.next_inbound_seq == self.next_seq


def run(iterations: int, seed: int, encoding: Encoding = Encoding.TAGVALUE_PIPE) -> None:
    try:
        LossyClient(random.Random(seed), encoding).run(iterations)
    except AssertionError as exc:
        raise AssertionError(f"seed={seed} encoding={encoding.value}: {exc}") from exc


@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lossy_client_exactly_once(seed: int, encoding: Encoding) -> None:
    run(300, seed, encoding)


if __name__ == "__main__":
    _iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    _seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    for _enc in Encoding:
        run(_iterations, _seed, _enc)
    print(f"ok: {_iterations} iterations, seed {_seed}")
