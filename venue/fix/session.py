"""Sans-I/O FIX 4.4 acceptor session: text frames in, events and text frames out.

No sockets, no asyncio, no clock, no randomness: the I/O layer passes every frame, every
time (``now_ns``) and the logon challenge in, and pulls frames out with ``data_to_send``.
The same core therefore runs under asyncio, threads or a test, and every test is a replay.

Caller obligations (as in websockets' ``Protocol``):

* after ``receive_data``, ``receive_eof``, ``tick``, ``send``, ``logout`` or ``close``,
  call ``data_to_send()`` and write each string as one WebSocket text frame, then
  ``events_received()`` and hand the events to the venue;
* call ``tick(now_ns)`` periodically (every second is plenty) so that heartbeats, test
  requests and timeouts happen;
* once a ``SessionClosed`` event came out (``closed`` is True), flush ``data_to_send`` and
  close the connection.

Logon handshake (how the account key is proven):

1. On construction the server queues a greeting, ``U0 LogonChallenge`` carrying
   ``LogonChallenge(5011)`` = hex of the ``challenge`` bytes the I/O layer drew at random.
   It is the first message of the server's stream (MsgSeqNum 1) and its TargetCompID is
   ``*`` since the client's CompID is not known yet. When the encoding is not fixed by the
   caller (e.g. from the WebSocket subprotocol) the greeting is written in JSON, the only
   frame whose encoding the client does not choose.
2. The client's first frame picks the encoding for the connection and must be a Logon (A)
   with ``Username(553)`` = account id, ``LogonSignature(5012)`` = signature over the
   challenge, ``HeartBtInt(108)``, optionally ``LogonChallenge(5011)`` echoed (checked if
   present) and ``CancelOnDisconnect(5013)=N`` to opt out of cancel-on-disconnect.
3. ``authenticate(account, challenge, signature)`` (injected, so the core stays crypto
   agnostic) decides. Yes: Logon reply and ``LogonAccepted``. No: Logout and close.

Bad input never raises: garbled frames (bad BodyLength/CheckSum, not JSON, oversize) get a
Reject with RefSeqNum 0 when no MsgSeqNum can be read, and do not consume a sequence
number, so the session is unchanged; a framed message that breaks the dictionary gets a
Reject (3) or BusinessMessageReject (j) and consumes its number, as FIX says. Anything
before a successful Logon, a too-low MsgSeqNum without PossDupFlag, a CompID mismatch or a
flood ends in Logout. FIX says to ignore garbled messages silently; over WebSocket the
framing is reliable, so a garbled frame is a client bug and we say so instead.

Limits (constructor arguments): ``max_size`` frame bytes (16 KiB), ``max_rate``/``burst``
token bucket (50 msg/s, burst 100), ``max_queue`` out-of-order messages held during a
resend (1000), ``heartbeat_range`` accepted HeartBtInt seconds (1-300),
``logon_timeout_ns`` (10 s), ``logout_timeout_ns`` (5 s), ``max_latency_ns`` allowed
SendingTime skew (120 s).
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

from .codec import (
    DEFAULT_MAX_SIZE,
    Codec,
    Encoding,
    FixMessage,
    detect_encoding,
    format_utc_timestamp,
    parse_utc_timestamp,
    validate,
)
from .errors import DecodeError, EncodeError, InvalidState, ValidationError
from .events import (
    ApplicationRequest,
    CancelOrderRequest,
    LogonAccepted,
    MarketDataSubscription,
    MassCancelRequest,
    MessageRejected,
    NewOrderRequest,
    PeerRejection,
    ReplaceOrderRequest,
    SessionClosed,
    SessionEvent,
)
from .fields import (
    ADMIN_MSG_TYPES,
    HEADER_TAGS,
    INBOUND_APP_MSG_TYPES,
    BusinessRejectReason,
    SessionRejectReason,
    Tag,
)

__all__ = [
    "Authenticator",
    "MemoryStore",
    "MessageStore",
    "Session",
    "SessionState",
]

_NS = 1_000_000_000
_INBOUND_ADMIN = frozenset({"A", "0", "1", "2", "3", "4", "5"})
_HEADER = frozenset(HEADER_TAGS)
#: the tags ``_emit`` stamps, in header order (what ``with_header`` would produce), as
#: plain ints: stored messages keep them (``FixMessage`` docstring: why not ``Tag``)
_STAMPED = tuple(
    int(t)
    for t in sorted(
        (Tag.SenderCompID, Tag.TargetCompID, Tag.MsgSeqNum, Tag.SendingTime),
        key=HEADER_TAGS.index,
    )
)
_SENDER, _TARGET, _SEQ, _TIME = (
    int(Tag.SenderCompID), int(Tag.TargetCompID), int(Tag.MsgSeqNum), int(Tag.SendingTime)
)  # fmt: skip

_stamp_cache: tuple[int, str] = (-1, "")


def _sending_time(now_ns: int) -> str:
    """``format_utc_timestamp`` with a one-entry cache: it has millisecond resolution, and a
    busy gateway stamps many messages per millisecond (formatting was ~20% of ``send``)."""
    global _stamp_cache
    ms = now_ns // 1_000_000
    cached = _stamp_cache
    if cached[0] != ms:
        cached = _stamp_cache = (ms, format_utc_timestamp(now_ns))
    return cached[1]


#: (account, challenge, signature) -> accepted?
Authenticator = Callable[[str, bytes, str], bool]


class SessionState(enum.Enum):
    """Lifecycle: AWAITING_LOGON -> ACTIVE -> LOGGING_OUT -> CLOSED (any state may close)."""

    AWAITING_LOGON = "awaiting_logon"
    ACTIVE = "active"
    LOGGING_OUT = "logging_out"
    CLOSED = "closed"


class MessageStore(Protocol):
    """Where sent application messages live for ResendRequest.

    Injected because the venue serves resends from its journal; ``MemoryStore`` is the
    bounded default. Only application messages are saved: admin messages are never resent
    (FIX replaces them with a SequenceReset-GapFill), so storing them would be waste.
    """

    def save(self, seq_num: int, msg: FixMessage) -> None:
        """Remember ``msg`` (with its final header) under ``seq_num``."""
        ...

    def load(self, begin: int, end: int) -> Iterable[tuple[int, FixMessage]]:
        """Stored messages with ``begin <= seq_num <= end``; missing ones are gap-filled."""
        ...


class MemoryStore:
    """In-memory ``MessageStore`` keeping the last ``max_messages`` (default 10 000)."""

    def __init__(self, max_messages: int = 10_000) -> None:
        self.max_messages = max_messages
        self._messages: OrderedDict[int, FixMessage] = OrderedDict()

    def save(self, seq_num: int, msg: FixMessage) -> None:
        """Store, dropping the oldest message beyond ``max_messages``."""
        self._messages[seq_num] = msg
        while len(self._messages) > self.max_messages:
            self._messages.popitem(last=False)

    def load(self, begin: int, end: int) -> Iterable[tuple[int, FixMessage]]:
        """Stored messages in the closed range, in sequence order."""
        return [(s, m) for s, m in self._messages.items() if begin <= s <= end]

    def __len__(self) -> int:
        return len(self._messages)


class Session:
    """FIX acceptor session for one WebSocket connection.

    :param authenticate: ``(account, challenge, signature) -> bool``; an exception counts
        as False.
    :param challenge: random bytes (at least 16) drawn by the I/O layer for this
        connection; a fresh nonce per connection is what stops signature replay.
    :param now_ns: time of the connection (ns since the Unix epoch), stamps the greeting.
    :param comp_id: our CompID; clients must send it as TargetCompID.
    :param encoding: fixed encoding, or None to detect it from the client's first frame.
    :param store: sent-message store for resends (default ``MemoryStore()``).
    :param max_size: largest accepted frame in UTF-8 bytes (default 16 KiB).
    :param max_rate: sustained inbound frames per second (default 50).
    :param burst: token bucket depth (default 100); after ``burst`` throttled frames in a
        row the session logs out.
    :param max_queue: messages held while a gap is being resent (default 1000).
    :param heartbeat_range: accepted HeartBtInt in seconds, inclusive (default (1, 300)).
    :param logon_timeout_ns: time allowed for a valid Logon (default 10 s).
    :param logout_timeout_ns: time allowed for the client's Logout reply (default 5 s).
    :param max_latency_ns: largest accepted distance between a message's SendingTime and
        ``now_ns`` (default 120 s, QuickFIX's MaxLatency); None turns the check off.
    :param next_outbound_seq: first MsgSeqNum we send (default 1).
    :param next_inbound_seq: MsgSeqNum expected of the client's Logon (default 1).
    :param logger: defaults to ``logging.getLogger("venue.fix")``.
    """

    def __init__(
        self,
        *,
        authenticate: Authenticator,
        challenge: bytes,
        now_ns: int,
        comp_id: str = "PROVENBOOK",
        encoding: Encoding | None = None,
        store: MessageStore | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
        max_rate: float = 50.0,
        burst: int = 100,
        max_queue: int = 1000,
        heartbeat_range: tuple[int, int] = (1, 300),
        logon_timeout_ns: int = 10 * _NS,
        logout_timeout_ns: int = 5 * _NS,
        max_latency_ns: int | None = 120 * _NS,
        next_outbound_seq: int = 1,
        next_inbound_seq: int = 1,
        logger: logging.Logger | None = None,
    ) -> None:
        if len(challenge) < 16:
            raise ValueError("challenge must be at least 16 random bytes (a 128-bit nonce)")
        self.id = uuid.uuid4()
        self.logger = logger or logging.getLogger("venue.fix")
        self.debug = self.logger.isEnabledFor(logging.DEBUG)
        self._authenticate = authenticate
        self.challenge = challenge
        self.comp_id = comp_id
        self.store: MessageStore = store if store is not None else MemoryStore()
        self.max_size = max_size
        self.max_rate = max_rate
        self.burst = burst
        self.max_queue = max_queue
        self.heartbeat_range = heartbeat_range
        self.logon_timeout_ns = logon_timeout_ns
        self.logout_timeout_ns = logout_timeout_ns
        self.max_latency_ns = max_latency_ns

        self.state = SessionState.AWAITING_LOGON
        self.encoding = encoding
        self._codec = Codec(encoding or Encoding.JSON, max_size)
        self.next_outbound_seq = next_outbound_seq
        self.next_inbound_seq = next_inbound_seq
        self.account: str | None = None
        self.peer_comp_id: str | None = None
        self.cancel_on_disconnect = True
        self.heartbeat_interval: int | None = None

        self._out: list[str] = []
        self._events: list[SessionEvent] = []
        self._queue: dict[int, FixMessage] = {}
        self._resend_pending = False
        self._created_ns = now_ns
        self._last_sent_ns = now_ns
        self._last_received_ns = now_ns
        self._test_request_ns: int | None = None
        self._test_request_count = 0
        self._logout_sent_ns: int | None = None
        self._tokens = float(burst)
        self._tokens_ns = now_ns
        self._throttled_in_a_row = 0

        self._send_admin("U0", [(Tag.LogonChallenge, challenge.hex())], now_ns)

    # ------------------------------------------------------------------ public API

    @property
    def closed(self) -> bool:
        """True once ``SessionClosed`` has been emitted; nothing is processed afterwards."""
        return self.state is SessionState.CLOSED

    def data_to_send(self) -> list[str]:
        """Frames to write, in order; each is one WebSocket text frame. Clears the buffer."""
        out, self._out = self._out, []
        return out

    def events_received(self) -> list[SessionEvent]:
        """Events for the venue since the last call, in order. Clears the buffer."""
        events, self._events = self._events, []
        return events

    def receive_data(self, text: str, now_ns: int) -> None:
        """Process one WebSocket text frame holding one FIX message.

        Never raises for bad input. After calling this method you must call
        ``data_to_send`` and ``events_received``.
        """
        if self.closed:
            return
        if not isinstance(text, str):  # a binary WebSocket frame
            self._logout_and_close("binary frames are not supported", now_ns)
            return
        try:
            self._receive(text, now_ns)
        except Exception as exc:  # a bug of ours must not take the process down
            self.logger.exception("session %s: internal error", self.id)
            try:
                self._logout_and_close(f"internal error: {type(exc).__name__}", now_ns)
            except Exception:
                self._close("internal error", clean=False)

    def receive_eof(self) -> None:
        """The connection is gone. Idempotent; emits ``SessionClosed`` the first time."""
        self._close("connection lost", clean=self.state is SessionState.LOGGING_OUT)

    def close(self, reason: str = "closed by venue") -> None:
        """Stop now without a Logout (use ``logout`` for a polite end). Idempotent."""
        self._close(reason, clean=False)

    def logout(self, now_ns: int, text: str = "logout") -> None:
        """Start a FIX Logout; the session closes when the client answers or on timeout.

        Idempotent; before logon it simply closes.
        """
        if self.state is SessionState.ACTIVE:
            self._send_admin("5", [(Tag.Text, _clean(text))], now_ns)
            self.state = SessionState.LOGGING_OUT
            self._logout_sent_ns = now_ns
        elif self.state is SessionState.AWAITING_LOGON:
            self._logout_and_close(text, now_ns)

    def send(self, msg: FixMessage, now_ns: int, *, trusted: bool = False) -> int:
        """Send an application message from the venue; returns the MsgSeqNum assigned.

        The session stamps SenderCompID, TargetCompID, MsgSeqNum and SendingTime, saves
        the message in the store and validates it. Allowed while logged on and while a
        Logout is pending (replies to orders still in flight). Raises ``InvalidState``
        otherwise, ``EncodeError`` for session-level MsgTypes (the session owns those) and
        ``ValidationError`` for a message that breaks the dictionary: both are venue bugs.

        ``trusted=True`` skips the dictionary check (the stamping, state and MsgType checks
        stay). Why: validating every outbound ExecutionReport cost about a quarter of the
        gateway's CPU, for messages the venue's own builders (``venue.orders``,
        ``venue.marketdata``) make from engine values and whose shapes the tests validate.
        Only pass it for those builders: anything carrying client-supplied text must be
        validated. Inbound messages are always validated.
        """
        if self.state not in (SessionState.ACTIVE, SessionState.LOGGING_OUT):
            raise InvalidState(f"cannot send in state {self.state.value}")
        if msg.msg_type in ADMIN_MSG_TYPES:
            raise EncodeError(f"MsgType {msg.msg_type} is sent by the session itself")
        return self._emit(msg, now_ns, save=True, check=not trusted)

    def tick(self, now_ns: int) -> None:
        """Advance time: heartbeats, TestRequest, and heartbeat/logon/logout timeouts.

        After calling this method you must call ``data_to_send`` and ``events_received``.
        """
        if self.state is SessionState.AWAITING_LOGON:
            if now_ns - self._created_ns >= self.logon_timeout_ns:
                self._logout_and_close("logon timeout", now_ns)
            return
        if self.state is SessionState.LOGGING_OUT:
            assert self._logout_sent_ns is not None
            if now_ns - self._logout_sent_ns >= self.logout_timeout_ns:
                self._close("logout timeout", clean=False)
            return
        if self.state is not SessionState.ACTIVE or self.heartbeat_interval is None:
            return
        interval = self.heartbeat_interval * _NS
        if self._test_request_ns is not None:
            if now_ns - self._test_request_ns >= interval:
                self._logout_and_close("heartbeat timeout", now_ns)
                return
        elif now_ns - self._last_received_ns >= interval + interval // 5:
            # FIX allows "some reasonable transmission time" past the interval; we use 20%.
            self._test_request_count += 1
            self._send_admin("1", [(Tag.TestReqID, f"TEST-{self._test_request_count}")], now_ns)
            self._test_request_ns = now_ns
        if now_ns - self._last_sent_ns >= interval:
            self._send_admin("0", [], now_ns)

    def _check(self) -> None:
        """Assert every invariant (O(queue)); tests call it after each step."""
        try:
            assert self.next_inbound_seq >= 1 and self.next_outbound_seq >= 1
            assert all(seq > self.next_inbound_seq for seq in self._queue), "stale queue entry"
            assert len(self._queue) <= self.max_queue
            assert 0.0 <= self._tokens <= self.burst
            if self.state in (SessionState.ACTIVE, SessionState.LOGGING_OUT):
                assert self.account is not None and self.peer_comp_id is not None
                assert self.heartbeat_interval is not None
                assert self._codec.encoding is self.encoding
            if self.state is SessionState.AWAITING_LOGON:
                assert self.account is None
            if self.state is SessionState.LOGGING_OUT:
                assert self._logout_sent_ns is not None
            if self.closed:
                assert not self._queue
            if self._queue:
                assert self._resend_pending
        except AssertionError:
            self.logger.error("session %s invariant broken: %r", self.id, vars(self))
            raise

    # ------------------------------------------------------------------ output

    def _emit(self, msg: FixMessage, now_ns: int, *, save: bool, check: bool = True) -> int:
        seq = self.next_outbound_seq
        stamp = {
            _SENDER: self.comp_id,
            _TARGET: self.peer_comp_id or "*",
            _SEQ: str(seq),
            _TIME: _sending_time(now_ns),
        }
        if _HEADER.isdisjoint([tag for tag, _ in msg.fields]):
            # The usual case, a body-only message: same result as with_header, no sort.
            stamped = FixMessage(msg.msg_type, (*[(t, stamp[t]) for t in _STAMPED], *msg.fields))
        else:
            stamped = msg.with_header(stamp)
        if check:
            validate(stamped)
        frame = self._codec.encode(stamped)
        self.next_outbound_seq += 1
        if save:
            self.store.save(seq, stamped)
        self._out.append(frame)
        self._last_sent_ns = now_ns
        return seq

    def _send_admin(self, msg_type: str, pairs: list[tuple[int, str]], now_ns: int) -> None:
        self._emit(FixMessage(msg_type, tuple((int(t), v) for t, v in pairs)), now_ns, save=False)

    def _reject(
        self,
        ref_seq: int,
        reason: SessionRejectReason,
        text: str,
        now_ns: int,
        *,
        tag: int | None = None,
        ref_msg_type: str | None = None,
    ) -> None:
        pairs: list[tuple[int, str]] = [(Tag.RefSeqNum, str(ref_seq))]
        if tag is not None:
            pairs.append((Tag.RefTagID, str(tag)))
        if ref_msg_type and ref_msg_type.isalnum() and len(ref_msg_type) <= 4:
            pairs.append((Tag.RefMsgType, ref_msg_type))
        pairs += [(Tag.SessionRejectReason, str(int(reason))), (Tag.Text, _clean(text))]
        self._send_admin("3", pairs, now_ns)
        self._events.append(
            MessageRejected(
                ref_seq_num=ref_seq,
                ref_msg_type=ref_msg_type,
                reason=int(reason),
                business=False,
                text=text,
            )
        )

    def _business_reject(
        self, msg: FixMessage, ref_seq: int, reason: BusinessRejectReason, text: str, now_ns: int
    ) -> None:
        pairs: list[tuple[int, str]] = [(Tag.RefSeqNum, str(ref_seq))]
        ref_id = msg.get(Tag.ClOrdID) or msg.get(Tag.MDReqID)
        if ref_id and _clean(ref_id) == ref_id:
            pairs.append((Tag.BusinessRejectRefID, ref_id))
        pairs += [
            (Tag.RefMsgType, msg.msg_type),
            (Tag.BusinessRejectReason, str(int(reason))),
            (Tag.Text, _clean(text)),
        ]
        self._emit(FixMessage("j", tuple((int(t), v) for t, v in pairs)), now_ns, save=True)
        self._events.append(
            MessageRejected(
                ref_seq_num=ref_seq,
                ref_msg_type=msg.msg_type,
                reason=int(reason),
                business=True,
                text=text,
            )
        )

    def _logout_and_close(self, text: str, now_ns: int) -> None:
        if self.closed:
            return
        self._send_admin("5", [(Tag.Text, _clean(text))], now_ns)
        self._close(text, clean=False)

    def _close(self, reason: str, *, clean: bool) -> None:
        if self.closed:
            return
        cancel = self.account is not None and self.cancel_on_disconnect
        self.state = SessionState.CLOSED
        self._queue.clear()
        self._events.append(SessionClosed(reason=reason, clean=clean, cancel_orders=cancel))

    # ------------------------------------------------------------------ input

    def _take_token(self, now_ns: int) -> bool:
        elapsed = max(0, now_ns - self._tokens_ns)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.max_rate / _NS)
        self._tokens_ns = max(self._tokens_ns, now_ns)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            self._throttled_in_a_row = 0
            return True
        self._throttled_in_a_row += 1
        return False

    def _receive(self, text: str, now_ns: int) -> None:
        if not self._take_token(now_ns):
            if self.state is SessionState.AWAITING_LOGON or self._throttled_in_a_row > self.burst:
                self._logout_and_close("message rate limit exceeded", now_ns)
            else:
                self._reject(
                    0,
                    SessionRejectReason.OTHER,
                    "message rate limit exceeded, frame dropped",
                    now_ns,
                )
            return
        if self.encoding is None:
            try:
                self.encoding = detect_encoding(text[:64])
            except DecodeError as exc:
                self._logout_and_close(exc.text, now_ns)
                return
            self._codec = Codec(self.encoding, self.max_size)
        try:
            msg = self._codec.decode(text)
        except DecodeError as exc:
            if self.state is SessionState.AWAITING_LOGON:
                self._logout_and_close(f"first message is not a valid Logon: {exc.text}", now_ns)
            else:
                self._reject(
                    exc.seq_num or 0,
                    exc.reason,
                    exc.text,
                    now_ns,
                    tag=exc.tag,
                    ref_msg_type=exc.msg_type,
                )
            return
        self._last_received_ns = max(self._last_received_ns, now_ns)
        self._test_request_ns = None  # any message proves the peer is alive
        self._on_message(msg, now_ns)

    def _on_message(self, msg: FixMessage, now_ns: int) -> None:
        seq_text = msg.get(Tag.MsgSeqNum)
        if seq_text is None or not seq_text.isdigit() or len(seq_text) > 18:
            self._logout_and_close("MsgSeqNum(34) missing or invalid", now_ns)
            return
        seq = int(seq_text)
        if self.state is SessionState.AWAITING_LOGON:
            if msg.msg_type != "A":
                self._logout_and_close("first message must be Logon (A)", now_ns)
            else:
                self._on_logon(msg, seq, now_ns)
            return
        if msg.get(Tag.SenderCompID) != self.peer_comp_id or msg.get(Tag.TargetCompID) != (
            self.comp_id
        ):
            self._reject(
                seq,
                SessionRejectReason.COMPID_PROBLEM,
                "CompID mismatch",
                now_ns,
                ref_msg_type=msg.msg_type,
            )
            self._logout_and_close("CompID mismatch", now_ns)
            return
        if msg.msg_type == "4" and msg.get(Tag.GapFillFlag) != "Y":
            self._on_sequence_reset(msg, seq, now_ns, validated=False)  # Reset ignores MsgSeqNum
            return
        if seq > self.next_inbound_seq:
            self._on_gap(msg, seq, now_ns)
            return
        if seq < self.next_inbound_seq:
            if msg.get(Tag.PossDupFlag) != "Y":
                self._logout_and_close(
                    f"MsgSeqNum too low, expecting {self.next_inbound_seq} but received {seq}",
                    now_ns,
                )
            elif msg.get(Tag.OrigSendingTime) is None:
                self._reject(
                    seq,
                    SessionRejectReason.REQUIRED_TAG_MISSING,
                    "OrigSendingTime(122) required with PossDupFlag=Y",
                    now_ns,
                    tag=Tag.OrigSendingTime,
                    ref_msg_type=msg.msg_type,
                )
            # else: a duplicate we already processed; FIX says ignore it.
            return
        self._dispatch(msg, seq, now_ns)
        self._drain(now_ns)

    def _on_gap(self, msg: FixMessage, seq: int, now_ns: int) -> None:
        if msg.msg_type == "5":
            self._dispatch(msg, seq, now_ns)  # a Logout ends the session whatever the gap
            return
        if msg.msg_type == "2":
            self._serve_resend(msg, seq, now_ns)  # FIX: answer it before asking for ours
        if len(self._queue) >= self.max_queue:
            self._logout_and_close("too many messages queued during resend", now_ns)
            return
        self._queue[seq] = msg
        if not self._resend_pending:
            self._resend_pending = True
            self._send_admin(
                "2", [(Tag.BeginSeqNo, str(self.next_inbound_seq)), (Tag.EndSeqNo, "0")], now_ns
            )

    def _drain(self, now_ns: int) -> None:
        while not self.closed:
            for stale in [s for s in self._queue if s < self.next_inbound_seq]:
                del self._queue[stale]
            msg = self._queue.pop(self.next_inbound_seq, None)
            if msg is None:
                break
            # A queued ResendRequest was served when it arrived; only its number counts now.
            self._dispatch(msg, self.next_inbound_seq, now_ns, resend_served=msg.msg_type == "2")
        if not self._queue:
            self._resend_pending = False

    def _dispatch(
        self, msg: FixMessage, seq: int, now_ns: int, *, resend_served: bool = False
    ) -> None:
        """Handle the message whose MsgSeqNum is the expected one."""
        self.next_inbound_seq = seq + 1
        try:
            validate(msg)
        except ValidationError as exc:
            if exc.business_reason is not None:
                self._business_reject(msg, seq, exc.business_reason, exc.text, now_ns)
            else:
                assert exc.reason is not None
                self._reject(
                    seq, exc.reason, exc.text, now_ns, tag=exc.tag, ref_msg_type=msg.msg_type
                )
            return
        if not self._sending_time_ok(msg, now_ns):
            self._reject(seq, SessionRejectReason.SENDING_TIME_ACCURACY,
                         "SendingTime(52) too far from server time", now_ns, tag=Tag.SendingTime,
                         ref_msg_type=msg.msg_type)  # fmt: skip
            self._logout_and_close("SendingTime accuracy problem", now_ns)
            return
        kind = msg.msg_type
        if kind in ADMIN_MSG_TYPES:
            if kind not in _INBOUND_ADMIN:
                self._reject(
                    seq,
                    SessionRejectReason.INVALID_MSG_TYPE,
                    f"MsgType {kind} is sent by the server only",
                    now_ns,
                    tag=Tag.MsgType,
                    ref_msg_type=kind,
                )
            else:
                self._on_admin(msg, seq, now_ns, resend_served)
            return
        if kind not in INBOUND_APP_MSG_TYPES:
            self._business_reject(
                msg,
                seq,
                BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE,
                f"MsgType {kind} is sent by the server only",
                now_ns,
            )
            return
        if self.state is not SessionState.ACTIVE:
            self._business_reject(
                msg,
                seq,
                BusinessRejectReason.APPLICATION_NOT_AVAILABLE,
                "session is logging out",
                now_ns,
            )
            return
        account = msg.get(Tag.Account)
        if account is not None and account != self.account:
            self._business_reject(
                msg,
                seq,
                BusinessRejectReason.NOT_AUTHORIZED,
                "Account(1) differs from the logged-on account",
                now_ns,
            )
            return
        self._events.append(self._request_event(msg, seq))

    def _sending_time_ok(self, msg: FixMessage, now_ns: int) -> bool:
        """FIX: a SendingTime far from our clock means replay or a broken client (reason 10)."""
        if self.max_latency_ns is None:
            return True
        try:
            sent_ns = parse_utc_timestamp(msg.get(Tag.SendingTime) or "")
        except ValueError:
            return False
        return abs(now_ns - sent_ns) <= self.max_latency_ns

    def _on_admin(self, msg: FixMessage, seq: int, now_ns: int, resend_served: bool) -> None:
        kind = msg.msg_type
        if kind == "A":
            self._logout_and_close("Logon received on an active session", now_ns)
        elif kind == "0":
            pass  # liveness already recorded in _receive
        elif kind == "1":
            self._send_admin("0", [(Tag.TestReqID, msg.get(Tag.TestReqID) or "")], now_ns)
        elif kind == "2" and not resend_served:
            self._serve_resend(msg, seq, now_ns)
        elif kind == "3":
            reason = msg.get(Tag.SessionRejectReason)
            self._events.append(
                PeerRejection(
                    ref_seq_num=int(msg.get(Tag.RefSeqNum) or 0),
                    reason=int(reason) if reason is not None else None,
                    text=msg.get(Tag.Text),
                )
            )
        elif kind == "4":
            self._on_sequence_reset(msg, seq, now_ns, validated=True)
        elif kind == "5":
            if self.state is SessionState.ACTIVE:
                self._send_admin("5", [(Tag.Text, "logout acknowledged")], now_ns)
            self._close("logout", clean=True)

    def _on_sequence_reset(
        self, msg: FixMessage, seq: int, now_ns: int, *, validated: bool
    ) -> None:
        """GapFill arrives in sequence through ``_dispatch``; Reset mode comes straight here."""
        gap_fill = msg.get(Tag.GapFillFlag) == "Y"
        if not validated:
            try:
                validate(msg)
            except ValidationError as exc:
                assert exc.reason is not None
                self._reject(seq, exc.reason, exc.text, now_ns, tag=exc.tag, ref_msg_type="4")
                return
        new_seq = int(msg.get(Tag.NewSeqNo) or 0)
        floor = seq + 1 if gap_fill else self.next_inbound_seq
        if new_seq < floor or (gap_fill and new_seq == seq):
            self._reject(
                seq,
                SessionRejectReason.VALUE_INCORRECT,
                f"NewSeqNo {new_seq} would move MsgSeqNum backwards",
                now_ns,
                tag=Tag.NewSeqNo,
                ref_msg_type="4",
            )
            return
        self.next_inbound_seq = max(self.next_inbound_seq, new_seq)
        if not gap_fill:
            self._drain(now_ns)

    def _serve_resend(self, msg: FixMessage, seq: int, now_ns: int) -> None:
        try:
            validate(msg)
        except ValidationError:
            return  # reported by _dispatch when its turn comes
        last = self.next_outbound_seq - 1
        begin = int(msg.get(Tag.BeginSeqNo) or 0)
        end = int(msg.get(Tag.EndSeqNo) or 0)
        if end == 0 or end > last:
            end = last
        if begin < 1 or begin > end:
            self._reject(
                seq,
                SessionRejectReason.VALUE_INCORRECT,
                f"BeginSeqNo must be in 1..{last}",
                now_ns,
                tag=Tag.BeginSeqNo,
                ref_msg_type="2",
            )
            return
        cursor = begin
        for stored_seq, stored in sorted(self.store.load(begin, end), key=lambda sm: sm[0]):
            if stored.msg_type in ADMIN_MSG_TYPES or not begin <= stored_seq <= end:
                continue
            if stored_seq > cursor:
                self._send_gap_fill(cursor, stored_seq, now_ns)
            orig = stored.get(Tag.SendingTime) or format_utc_timestamp(now_ns)
            again = stored.with_header(
                {
                    Tag.PossDupFlag: "Y",
                    Tag.OrigSendingTime: orig,
                    Tag.SendingTime: format_utc_timestamp(now_ns),
                }
            )
            self._out.append(self._codec.encode(again))
            cursor = stored_seq + 1
        if cursor <= end:
            self._send_gap_fill(cursor, end + 1, now_ns)
        self._last_sent_ns = now_ns

    def _send_gap_fill(self, seq: int, new_seq: int, now_ns: int) -> None:
        stamp = format_utc_timestamp(now_ns)
        msg = FixMessage(
            "4",
            (
                (Tag.SenderCompID, self.comp_id),
                (Tag.TargetCompID, self.peer_comp_id or "*"),
                (Tag.MsgSeqNum, str(seq)),
                (Tag.PossDupFlag, "Y"),
                (Tag.SendingTime, stamp),
                (Tag.OrigSendingTime, stamp),
                (Tag.GapFillFlag, "Y"),
                (Tag.NewSeqNo, str(new_seq)),
            ),
        )
        self._out.append(self._codec.encode(msg))

    def _on_logon(self, msg: FixMessage, seq: int, now_ns: int) -> None:
        try:
            validate(msg)
        except ValidationError as exc:
            self._logout_and_close(f"invalid Logon: {exc.text}", now_ns)
            return
        if not self._sending_time_ok(msg, now_ns):
            self._logout_and_close("SendingTime accuracy problem", now_ns)
            return
        reset = msg.get(Tag.ResetSeqNumFlag) == "Y"
        if reset and seq != 1:
            self._logout_and_close("ResetSeqNumFlag=Y requires MsgSeqNum 1", now_ns)
            return
        if reset:
            self.next_inbound_seq = 1
        if seq < self.next_inbound_seq:
            self._logout_and_close(
                f"MsgSeqNum too low, expecting {self.next_inbound_seq} but received {seq}",
                now_ns,
            )
            return
        account = msg.get(Tag.Username)
        signature = msg.get(Tag.LogonSignature)
        if account is None or signature is None:
            self._logout_and_close("Logon needs Username(553) and LogonSignature(5012)", now_ns)
            return
        if msg.get(Tag.TargetCompID) != self.comp_id:
            self._logout_and_close(f"TargetCompID must be {self.comp_id}", now_ns)
            return
        echoed = msg.get(Tag.LogonChallenge)
        if echoed is not None and echoed != self.challenge.hex():
            self._logout_and_close("LogonChallenge(5011) does not match the greeting", now_ns)
            return
        interval = int(msg.get(Tag.HeartBtInt) or 0)
        low, high = self.heartbeat_range
        if not low <= interval <= high:
            self._logout_and_close(f"HeartBtInt must be between {low} and {high}", now_ns)
            return
        try:
            ok = bool(self._authenticate(account, self.challenge, signature))
        except Exception:
            self.logger.exception("session %s: authenticator raised", self.id)
            ok = False
        if not ok:
            self._logout_and_close("authentication failed", now_ns)
            return
        self.account = account
        self.peer_comp_id = msg.get(Tag.SenderCompID)
        self.heartbeat_interval = interval
        self.cancel_on_disconnect = msg.get(Tag.CancelOnDisconnect) != "N"
        self.state = SessionState.ACTIVE
        reply: list[tuple[int, str]] = [(Tag.EncryptMethod, "0"), (Tag.HeartBtInt, str(interval))]
        if reset:
            reply.append((Tag.ResetSeqNumFlag, "Y"))
        reply.append((Tag.CancelOnDisconnect, "Y" if self.cancel_on_disconnect else "N"))
        self._send_admin("A", reply, now_ns)
        assert self.peer_comp_id is not None
        self._events.append(
            LogonAccepted(
                account=account,
                sender_comp_id=self.peer_comp_id,
                heartbeat_interval=interval,
                cancel_on_disconnect=self.cancel_on_disconnect,
                reset_seq_num=reset,
            )
        )
        if seq > self.next_inbound_seq:
            # FIX: accept the Logon, then ask for what we missed before it.
            self._resend_pending = True
            self._send_admin(
                "2", [(Tag.BeginSeqNo, str(self.next_inbound_seq)), (Tag.EndSeqNo, "0")], now_ns
            )
        else:
            self.next_inbound_seq = seq + 1

    # ------------------------------------------------------------------ events

    def _request_event(self, msg: FixMessage, seq: int) -> ApplicationRequest:
        assert self.account is not None
        # One dict instead of a scan of the fields per ``msg.get``: for D, G, F and q the
        # message passed ``validate``, which refuses a repeated tag (no groups), so the
        # dict holds the same first occurrences. V has groups: it keeps ``msg.get``.
        g = dict(msg.fields).get if msg.msg_type != "V" else msg.get
        common = {
            "seq_num": seq,
            "poss_dup": g(Tag.PossDupFlag) == "Y",
            "account": self.account,
            "message": msg,
        }
        kind = msg.msg_type
        if kind in ("D", "G"):
            order = {
                "cl_ord_id": g(Tag.ClOrdID) or "",
                "symbol": g(Tag.Symbol) or "",
                "side": g(Tag.Side) or "",
                "order_qty": g(Tag.OrderQty) or "",
                "ord_type": g(Tag.OrdType) or "",
                "price": g(Tag.Price),
                "time_in_force": g(Tag.TimeInForce) or "0",
                "post_only": "6" in (g(Tag.ExecInst) or "").split(" "),
                "signature": g(Tag.OrderSignature),
                "nonce": g(Tag.Nonce),
            }
            if kind == "D":
                return NewOrderRequest(**common, **order)
            return ReplaceOrderRequest(
                **common, **order, orig_cl_ord_id=g(Tag.OrigClOrdID) or "", order_id=g(Tag.OrderID)
            )
        if kind == "F":
            return CancelOrderRequest(
                **common,
                cl_ord_id=g(Tag.ClOrdID) or "",
                orig_cl_ord_id=g(Tag.OrigClOrdID) or "",
                order_id=g(Tag.OrderID),
                symbol=g(Tag.Symbol) or "",
                side=g(Tag.Side) or "",
            )
        if kind == "q":
            return MassCancelRequest(
                **common,
                cl_ord_id=g(Tag.ClOrdID) or "",
                mass_cancel_request_type=g(Tag.MassCancelRequestType) or "",
                symbol=g(Tag.Symbol),
                side=g(Tag.Side),
            )
        return MarketDataSubscription(
            **common,
            md_req_id=g(Tag.MDReqID) or "",
            subscription_type=g(Tag.SubscriptionRequestType) or "",
            market_depth=int(g(Tag.MarketDepth) or 0),
            entry_types=tuple(msg.get_all(Tag.MDEntryType)),
            symbols=tuple(msg.get_all(Tag.Symbol)),
        )


def _clean(text: str) -> str:
    """Make free text safe for Text(58): no delimiters or control characters, bounded."""
    cleaned = "".join(" " if (ch < " " or ch in "|\x7f") else ch for ch in text)
    return cleaned[:200] or "-"
