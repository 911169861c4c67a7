"""Deterministic tests of the sans-I/O FIX session: feed frames, assert the frames sent.

No network: a ``Client`` builds frames the way a trader's FIX engine would, and every frame
the session emits is decoded back (and validated) before assertions.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
import simplefix

from venue.fix.codec import Codec, Encoding, FixMessage, format_utc_timestamp, validate
from venue.fix.errors import EncodeError, InvalidState, ValidationError
from venue.fix.events import (
    CancelOrderRequest,
    LogonAccepted,
    MarketDataSubscription,
    MassCancelRequest,
    MessageRejected,
    NewOrderRequest,
    PeerRejection,
    ReplaceOrderRequest,
    SessionClosed,
)
from venue.fix.session import MemoryStore, Session, SessionState

NS = 1_000_000_000
T0 = 1_767_268_800 * NS
CHALLENGE = bytes(range(16))
KEYS = {"acct-1": b"secret-1", "acct-2": b"secret-2"}


def sign(account: str, challenge: bytes) -> str:
    return hmac.new(KEYS[account], challenge, hashlib.sha256).hexdigest()


def authenticate(account: str, challenge: bytes, signature: str) -> bool:
    key = KEYS.get(account)
    if key is None:
        return False
    return hmac.compare_digest(sign(account, challenge), signature)


class Client:
    """A minimal trader-side FIX engine: numbers its messages and encodes them."""

    def __init__(self, encoding: Encoding = Encoding.TAGVALUE_PIPE, comp_id: str = "TRADER1"):
        self.codec = Codec(encoding)
        self.comp_id = comp_id
        self.seq = 1

    def msg(
        self,
        msg_type: str,
        body: list[tuple[int, str]],
        *,
        seq: int | None = None,
        now=T0,
        extra_header: list[tuple[int, str]] | None = None,
    ) -> FixMessage:
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        header = [
            (49, self.comp_id),
            (56, "PROVENBOOK"),
            (34, str(seq)),
            *(extra_header or []),
            (52, format_utc_timestamp(now)),
        ]
        return FixMessage(msg_type, (*header, *body))

    def frame(self, msg_type: str, body: list[tuple[int, str]], **kw) -> str:
        return self.codec.encode(self.msg(msg_type, body, **kw))

    def logon(self, account: str = "acct-1", *, hb: int = 30, extra=(), **kw) -> str:
        body = [(98, "0"), (108, str(hb)), (553, account), (5012, sign(account, CHALLENGE))]
        return self.frame("A", [*body, *extra], **kw)

    def order(self, cl_ord_id: str = "c1", **over: str) -> str:
        body = {
            11: cl_ord_id,
            55: "ETH-USD",
            54: "1",
            60: format_utc_timestamp(T0),
            38: "2",
            40: "2",
            44: "2000.5",
            59: "1",
        }
        body.update({int(k[1:]): v for k, v in over.items()})
        seq = body.pop(34, None)
        pairs = [(t, v) for t, v in body.items() if v != ""]
        return self.frame("D", pairs, seq=None if seq is None else int(seq))


def new_session(**kw) -> Session:
    kw.setdefault("authenticate", authenticate)
    kw.setdefault("challenge", CHALLENGE)
    kw.setdefault("now_ns", T0)
    return Session(**kw)


def sent(session: Session, encoding: Encoding | None = None) -> list[FixMessage]:
    """Decode and validate every frame the session produced."""
    codec = Codec(encoding or session.encoding or Encoding.JSON)
    out = [codec.decode(frame) for frame in session.data_to_send()]
    for msg in out:
        validate(msg)
        assert msg.get(49) == "PROVENBOOK"
    return out


def logged_on(encoding: Encoding = Encoding.TAGVALUE_PIPE, **kw) -> tuple[Session, Client]:
    session = new_session(**kw)
    session.data_to_send()
    client = Client(encoding)
    session.receive_data(client.logon(), T0)
    assert session.state is SessionState.ACTIVE
    session.data_to_send()
    session.events_received()
    return session, client


def types(msgs: list[FixMessage]) -> list[str]:
    return [m.msg_type for m in msgs]


# ---------------------------------------------------------------- greeting and logon


def test_greeting_carries_challenge_as_first_message() -> None:
    session = new_session()
    (greeting,) = sent(session, Encoding.JSON)
    assert greeting.msg_type == "U0"
    assert greeting.get(5011) == CHALLENGE.hex()
    assert greeting.get(34) == "1"
    assert greeting.get(56) == "*"
    fixed = new_session(encoding=Encoding.TAGVALUE_SOH)
    frame = fixed.data_to_send()[0]
    assert frame.startswith("8=FIX.4.4\x01") and "35=U0\x01" in frame


@pytest.mark.parametrize("encoding", list(Encoding))
def test_logon_accepted_in_every_encoding(encoding: Encoding) -> None:
    session = new_session()
    session.data_to_send()
    client = Client(encoding)
    session.receive_data(client.logon(extra=[(5011, CHALLENGE.hex())]), T0)
    assert session.encoding is encoding
    (reply,) = sent(session)
    assert reply.msg_type == "A"
    assert reply.get(34) == "2"  # the greeting was 1
    assert reply.get(56) == "TRADER1"
    assert reply.get(108) == "30"
    assert reply.get(5013) == "Y"
    assert session.events_received() == [
        LogonAccepted(
            account="acct-1",
            sender_comp_id="TRADER1",
            heartbeat_interval=30,
            cancel_on_disconnect=True,
            reset_seq_num=False,
        )
    ]
    assert session.next_inbound_seq == 2


def test_logon_cancel_on_disconnect_opt_out_and_reset_flag() -> None:
    session = new_session()
    session.data_to_send()
    session.receive_data(Client().logon(extra=[(141, "Y"), (5013, "N")]), T0)
    (reply,) = sent(session)
    assert reply.get(5013) == "N" and reply.get(141) == "Y"
    (event,) = session.events_received()
    assert isinstance(event, LogonAccepted)
    assert not event.cancel_on_disconnect and event.reset_seq_num
    session.receive_eof()
    (closed,) = session.events_received()
    assert closed == SessionClosed(reason="connection lost", clean=False, cancel_orders=False)


def assert_logon_refused(session: Session, text_part: str) -> None:
    msgs = sent(session)
    assert types(msgs) == ["5"], msgs
    assert text_part in (msgs[0].get(58) or "")
    (event,) = session.events_received()
    assert isinstance(event, SessionClosed) and not event.cancel_orders
    assert session.closed and session.account is None


@pytest.mark.parametrize(
    ("make_frame", "text_part"),
    [
        (
            lambda c: c.frame("A", [(98, "0"), (108, "30"), (553, "acct-1"), (5012, "00")]),
            "authentication failed",
        ),
        (lambda c: c.logon("acct-1", extra=[]).replace("acct-1", "acct-9"), "not a valid Logon"),
        (
            lambda c: c.frame("A", [(98, "0"), (108, "30"), (553, "nobody"), (5012, "00")]),
            "authentication failed",
        ),
        (lambda c: c.frame("A", [(98, "0"), (108, "30"), (553, "acct-1")]), "LogonSignature"),
        (lambda c: c.logon(hb=0), "HeartBtInt"),
        (lambda c: c.logon(hb=3600), "HeartBtInt"),
        (lambda c: c.logon(extra=[(5011, "ff")]), "LogonChallenge"),
        (lambda c: c.logon(extra=[(141, "Y")], seq=3), "ResetSeqNumFlag"),
        (lambda c: c.frame("A", [(108, "30")]), "invalid Logon"),
        (lambda c: c.order(), "first message must be Logon"),
        (lambda c: "hello", "neither FIX JSON nor"),
        (lambda c: c.logon()[:-5] + "999|", "not a valid Logon"),
    ],
)
def test_logon_refused(make_frame, text_part: str) -> None:
    session = new_session()
    session.data_to_send()
    session.receive_data(make_frame(Client()), T0)
    assert_logon_refused(session, text_part)
    session.receive_data(Client().logon(), T0)  # nothing is processed after close
    assert session.data_to_send() == [] and session.events_received() == []


def test_authenticator_exception_counts_as_refusal() -> None:
    def broken(account: str, challenge: bytes, signature: str) -> bool:
        raise RuntimeError("key store down")

    session = new_session(authenticate=broken)
    session.data_to_send()
    session.receive_data(Client().logon(), T0)
    assert_logon_refused(session, "authentication failed")


def test_authenticator_receives_account_challenge_signature() -> None:
    calls = []
    session = new_session(authenticate=lambda *args: calls.append(args) or True)
    session.receive_data(Client().logon("acct-2"), T0)
    assert calls == [("acct-2", CHALLENGE, sign("acct-2", CHALLENGE))]


def test_wrong_target_comp_id_refused() -> None:
    session = new_session(comp_id="OTHER")
    session.data_to_send()
    session.receive_data(Client().logon(), T0)
    msgs = Codec(Encoding.TAGVALUE_PIPE).decode(session.data_to_send()[0])
    assert msgs.msg_type == "5" and "TargetCompID" in (msgs.get(58) or "")


def test_duplicate_logon_logs_out() -> None:
    session, client = logged_on()
    session.receive_data(client.logon(), T0)
    msgs = sent(session)
    assert types(msgs) == ["5"]
    assert "Logon received on an active session" in (msgs[0].get(58) or "")
    (event,) = session.events_received()
    assert event == SessionClosed(
        reason="Logon received on an active session", clean=False, cancel_orders=True
    )


def test_logon_timeout() -> None:
    session = new_session(logon_timeout_ns=5 * NS)
    session.data_to_send()
    session.tick(T0 + 4 * NS)
    assert session.data_to_send() == []
    session.tick(T0 + 5 * NS)
    assert types(sent(session)) == ["5"]
    assert session.closed


# ---------------------------------------------------------------- application messages


def test_new_order_event_is_typed() -> None:
    session, client = logged_on()
    session.receive_data(client.order("c1", _18="6"), T0)
    assert session.data_to_send() == []
    (event,) = session.events_received()
    assert isinstance(event, NewOrderRequest)
    assert (event.cl_ord_id, event.symbol) == ("c1", "ETH-USD")
    assert (event.side, event.order_qty) == ("1", "2")
    assert (event.ord_type, event.price, event.time_in_force) == ("2", "2000.5", "1")
    assert event.post_only and event.account == "acct-1"
    assert event.seq_num == 2 and not event.poss_dup
    assert event.message.get(11) == "c1"


def test_other_requests_become_events() -> None:
    session, client = logged_on(Encoding.JSON)
    ts = format_utc_timestamp(T0)
    session.receive_data(
        client.frame("F", [(41, "c1"), (11, "c2"), (55, "ETH-USD"), (54, "1"), (60, ts)]), T0
    )
    session.receive_data(
        client.frame(
            "G",
            [
                (41, "c2"),
                (11, "c3"),
                (55, "ETH-USD"),
                (54, "1"),
                (60, ts),
                (38, "5"),
                (40, "2"),
                (44, "1999"),
            ],
        ),
        T0,
    )
    session.receive_data(client.frame("q", [(11, "c4"), (530, "7"), (60, ts)]), T0)
    session.receive_data(
        client.frame(
            "V",
            [
                (262, "md1"),
                (263, "1"),
                (264, "10"),
                (267, "2"),
                (269, "0"),
                (269, "1"),
                (146, "1"),
                (55, "ETH-USD"),
            ],
        ),
        T0,
    )
    assert session.data_to_send() == []
    cancel, replace, mass, md = session.events_received()
    assert isinstance(cancel, CancelOrderRequest) and cancel.orig_cl_ord_id == "c1"
    assert isinstance(replace, ReplaceOrderRequest) and replace.price == "1999"
    assert replace.time_in_force == "0" and not replace.post_only
    assert isinstance(mass, MassCancelRequest) and mass.mass_cancel_request_type == "7"
    assert isinstance(md, MarketDataSubscription)
    assert md.entry_types == ("0", "1") and md.symbols == ("ETH-USD",) and md.market_depth == 10
    assert session.next_inbound_seq == 6


def test_send_stamps_header_and_stores() -> None:
    store = MemoryStore()
    session, _ = logged_on(store=store)
    er = FixMessage.create(
        "8",
        OrderID="o1",
        ExecID="e1",
        ExecType="0",
        OrdStatus="0",
        Symbol="ETH-USD",
        Side="1",
        LeavesQty="2",
        CumQty="0",
        AvgPx="0",
        ClOrdID="c1",
        FinalityState="sequenced",
    )
    assert session.send(er, T0 + NS) == 3
    (out,) = sent(session)
    assert out.get(34) == "3" and out.get(56) == "TRADER1"
    assert out.get(52) == format_utc_timestamp(T0 + NS)
    assert out.get(5001) == "sequenced"
    assert [s for s, _ in store.load(1, 10)] == [3]
    with pytest.raises(EncodeError):
        session.send(FixMessage("0"), T0)
    with pytest.raises(ValidationError):
        session.send(FixMessage.create("8", OrderID="o1"), T0)
    assert session.next_outbound_seq == 4


def test_send_before_logon_is_invalid_state() -> None:
    session = new_session()
    with pytest.raises(InvalidState):
        session.send(FixMessage.create("U2", BlockHeight=1, ProofStatus="proven"), T0)


def test_account_mismatch_is_business_reject() -> None:
    session, client = logged_on()
    session.receive_data(client.order("c1", _1="acct-2"), T0)
    (rej,) = sent(session)
    assert rej.msg_type == "j" and rej.get(380) == "6" and rej.get(379) == "c1"
    assert session.events_received()[0].business


# ---------------------------------------------------------------- rejects


@pytest.mark.parametrize(
    ("kw", "reason", "tag"),
    [
        ({"_9999": "x"}, "0", "9999"),
        ({"_38": "abc"}, "6", "38"),
        ({"_54": "7"}, "5", "54"),
        ({"_55": ""}, "1", "55"),
        ({"_59": "9"}, "5", "59"),
        ({"_38": "-3"}, "5", "38"),
    ],
)
def test_session_reject_consumes_sequence_number(kw: dict[str, str], reason: str, tag: str) -> None:
    session, client = logged_on()
    session.receive_data(client.order("c1", **kw), T0)
    (rej,) = sent(session)
    assert rej.msg_type == "3"
    assert (rej.get(45), rej.get(373), rej.get(371), rej.get(372)) == ("2", reason, tag, "D")
    (event,) = session.events_received()
    assert isinstance(event, MessageRejected) and event.reason == int(reason)
    assert session.next_inbound_seq == 3 and session.state is SessionState.ACTIVE
    session.receive_data(client.order("c2"), T0)
    assert isinstance(session.events_received()[0], NewOrderRequest)


def test_business_rejects() -> None:
    session, client = logged_on()
    session.receive_data(client.order("c1", _44=""), T0)  # limit without price
    session.receive_data(
        client.frame("U1", [(5002, "1"), (5003, "a"), (5004, "b"), (5005, "c")]), T0
    )
    limit, server_only = sent(session)
    assert (limit.msg_type, limit.get(380), limit.get(379), limit.get(45)) == ("j", "5", "c1", "2")
    assert (server_only.msg_type, server_only.get(380), server_only.get(372)) == ("j", "3", "U1")
    assert session.next_inbound_seq == 4


def test_unknown_and_server_only_admin_msg_types() -> None:
    session, client = logged_on()
    session.receive_data(client.frame("ZZ", []), T0)
    session.receive_data(client.frame("U0", [(5011, "ab")]), T0)
    unknown, server_only = sent(session)
    assert unknown.get(373) == "11" and server_only.get(373) == "11"
    assert session.next_inbound_seq == 4


def test_garbled_frame_rejected_without_consuming_seq() -> None:
    session, client = logged_on()
    frame = client.order("c1")
    bad = frame[:-4] + ("000|" if not frame.endswith("000|") else "001|")
    session.receive_data(bad, T0)
    (rej,) = sent(session)
    assert rej.msg_type == "3" and rej.get(45) == "2" and "CheckSum" in (rej.get(58) or "")
    assert session.next_inbound_seq == 2
    session.receive_data(frame, T0)  # the same message, intact, is processed
    assert session.data_to_send() == []
    assert isinstance(session.events_received()[-1], NewOrderRequest)


def test_oversize_frame_rejected() -> None:
    session, _ = logged_on(max_size=300)
    session.receive_data("8=FIX.4.4|" + "9" * 400, T0)
    (rej,) = sent(session)
    assert rej.msg_type == "3" and rej.get(373) == "99" and rej.get(45) == "0"
    assert "300-byte limit" in (rej.get(58) or "")
    assert session.next_inbound_seq == 2


def test_frame_in_other_encoding_is_rejected() -> None:
    session, client = logged_on(Encoding.TAGVALUE_PIPE)
    json_client = Client(Encoding.JSON)
    json_client.seq = client.seq
    session.receive_data(json_client.order("c1"), T0)
    assert types(sent(session)) == ["3"]
    assert session.next_inbound_seq == 2


def test_comp_id_mismatch_logs_out() -> None:
    session, client = logged_on()
    client.comp_id = "SOMEONE"
    session.receive_data(client.order(), T0)
    rej, logout = sent(session)
    assert rej.get(373) == "9" and logout.msg_type == "5"
    assert session.closed


def test_peer_reject_is_reported() -> None:
    session, client = logged_on()
    session.receive_data(client.frame("3", [(45, "2"), (373, "5"), (58, "nope")]), T0)
    assert session.data_to_send() == []
    assert session.events_received() == [PeerRejection(ref_seq_num=2, reason=5, text="nope")]


# ---------------------------------------------------------------- sequence numbers


def test_seq_too_low_without_poss_dup_logs_out() -> None:
    session, client = logged_on()
    session.receive_data(client.order("c1"), T0)
    session.receive_data(client.order("c2", _34="2"), T0)
    (logout,) = sent(session)
    assert logout.msg_type == "5"
    assert logout.get(58) == "MsgSeqNum too low, expecting 3 but received 2"
    assert session.closed


def test_seq_too_low_with_poss_dup_is_ignored() -> None:
    session, client = logged_on()
    session.receive_data(client.order("c1"), T0)
    session.events_received()
    dup = client.msg(
        "D",
        list(Codec(Encoding.TAGVALUE_PIPE).decode(client.order("c1")).fields[4:]),
        seq=2,
        extra_header=[(43, "Y"), (122, format_utc_timestamp(T0))],
    )
    session.receive_data(client.codec.encode(dup), T0)
    assert session.data_to_send() == [] and session.events_received() == []
    no_orig = client.msg("0", [], seq=2, extra_header=[(43, "Y")])
    session.receive_data(client.codec.encode(no_orig), T0)
    (rej,) = sent(session)
    assert rej.get(373) == "1" and rej.get(371) == "122"
    assert session.state is SessionState.ACTIVE


def test_gap_triggers_resend_request_and_queue_drains_in_order() -> None:
    session, client = logged_on()
    client.seq = 4
    session.receive_data(client.order("c4"), T0)
    (rr,) = sent(session)
    assert (rr.msg_type, rr.get(7), rr.get(16)) == ("2", "2", "0")
    session.receive_data(client.order("c5"), T0)
    assert session.data_to_send() == []  # one ResendRequest per gap
    assert session.events_received() == []
    for seq, cl in ((2, "c2"), (3, "c3")):
        session.receive_data(client.order(cl, _34=str(seq)), T0)
    events = session.events_received()
    assert [e.cl_ord_id for e in events] == ["c2", "c3", "c4", "c5"]
    assert [e.seq_num for e in events] == [2, 3, 4, 5]
    assert session.next_inbound_seq == 6
    client.seq = 6
    session.receive_data(client.order("c6"), T0)
    assert session.data_to_send() == []


def test_gap_filled_by_sequence_reset_gap_fill() -> None:
    session, client = logged_on(Encoding.TAGVALUE_SOH)
    client.seq = 5
    session.receive_data(client.order("c5"), T0)
    assert types(sent(session)) == ["2"]
    fill = client.msg(
        "4",
        [(123, "Y"), (36, "5")],
        seq=2,
        extra_header=[(43, "Y"), (122, format_utc_timestamp(T0))],
    )
    session.receive_data(client.codec.encode(fill), T0)
    assert session.data_to_send() == []
    (event,) = session.events_received()
    assert event.cl_ord_id == "c5" and session.next_inbound_seq == 6


def test_gap_fill_backwards_is_rejected() -> None:
    session, client = logged_on()
    session.receive_data(client.frame("4", [(123, "Y"), (36, "2")]), T0)
    (rej,) = sent(session)
    assert rej.get(373) == "5" and rej.get(371) == "36"
    assert session.next_inbound_seq == 3


def test_sequence_reset_reset_mode() -> None:
    session, client = logged_on()
    session.receive_data(client.frame("4", [(36, "10")], seq=99), T0)
    assert session.data_to_send() == [] and session.next_inbound_seq == 10
    session.receive_data(client.frame("4", [(36, "7")], seq=1), T0)
    (rej,) = sent(session)
    assert rej.get(373) == "5" and session.next_inbound_seq == 10
    client.seq = 10
    session.receive_data(client.order("c10"), T0)
    assert session.events_received()[-1].seq_num == 10


def test_queue_limit_logs_out() -> None:
    session, client = logged_on(max_queue=2)
    client.seq = 10
    for _ in range(3):
        session.receive_data(client.order(), T0)
    msgs = sent(session)
    assert types(msgs) == ["2", "5"] and session.closed


def test_logon_with_high_seq_requests_resend() -> None:
    session = new_session()
    session.data_to_send()
    client = Client()
    session.receive_data(client.logon(seq=4), T0)
    logon, rr = sent(session)
    assert logon.msg_type == "A" and (rr.msg_type, rr.get(7)) == ("2", "1")
    fill = client.msg(
        "4",
        [(123, "Y"), (36, "5")],
        seq=1,
        extra_header=[(43, "Y"), (122, format_utc_timestamp(T0))],
    )
    session.receive_data(client.codec.encode(fill), T0)
    assert session.next_inbound_seq == 5


def test_client_resend_request_served_from_store() -> None:
    session, client = logged_on()
    er = FixMessage.create(
        "8",
        OrderID="o1",
        ExecID="e1",
        ExecType="0",
        OrdStatus="0",
        Symbol="ETH-USD",
        Side="1",
        LeavesQty="2",
        CumQty="0",
        AvgPx="0",
    )
    session.send(er, T0 + 1 * NS)  # 3
    session.receive_data(client.frame("1", [(112, "ping")]), T0 + 2 * NS)  # Heartbeat 4
    session.send(er, T0 + 3 * NS)  # 5
    session.data_to_send()
    session.receive_data(client.frame("2", [(7, "1"), (16, "0")]), T0 + 9 * NS)
    msgs = sent(session)
    assert [(m.msg_type, m.get(34)) for m in msgs] == [
        ("4", "1"),
        ("8", "3"),
        ("4", "4"),
        ("8", "5"),
    ]
    assert (msgs[0].get(123), msgs[0].get(36), msgs[0].get(43)) == ("Y", "3", "Y")
    assert (msgs[2].get(36)) == "5"
    for resent, orig in ((msgs[1], T0 + NS), (msgs[3], T0 + 3 * NS)):
        assert resent.get(43) == "Y"
        assert resent.get(122) == format_utc_timestamp(orig)
        assert resent.get(52) == format_utc_timestamp(T0 + 9 * NS)
    assert session.next_outbound_seq == 6  # resends reuse numbers
    session.receive_data(client.frame("2", [(7, "4"), (16, "4")]), T0)
    (only,) = sent(session)
    assert (only.msg_type, only.get(34), only.get(36)) == ("4", "4", "5")
    session.receive_data(client.frame("2", [(7, "50"), (16, "0")]), T0)
    (rej,) = sent(session)
    assert rej.get(373) == "5" and rej.get(371) == "7"


def test_resend_with_evicted_messages_gap_fills() -> None:
    store = MemoryStore(max_messages=1)
    session, client = logged_on(store=store)
    er = FixMessage.create(
        "8",
        OrderID="o1",
        ExecID="e1",
        ExecType="0",
        OrdStatus="0",
        Symbol="ETH-USD",
        Side="1",
        LeavesQty="2",
        CumQty="0",
        AvgPx="0",
    )
    session.send(er, T0)
    session.send(er, T0)
    assert len(store) == 1
    session.data_to_send()
    session.receive_data(client.frame("2", [(7, "3"), (16, "4")]), T0)
    fill, resent = sent(session)
    assert (fill.get(34), fill.get(36)) == ("3", "4") and resent.get(34) == "4"


# ---------------------------------------------------------------- heartbeats and time


def test_test_request_answered() -> None:
    session, client = logged_on()
    session.receive_data(client.frame("1", [(112, "abc")]), T0)
    (hb,) = sent(session)
    assert hb.msg_type == "0" and hb.get(112) == "abc"


def test_heartbeat_timeout_via_tick() -> None:
    session, _ = logged_on()  # HeartBtInt 30
    session.tick(T0 + 29 * NS)
    assert session.data_to_send() == []
    session.tick(T0 + 30 * NS)
    assert types(sent(session)) == ["0"]
    session.tick(T0 + 36 * NS)  # 30 s + 20% without hearing from the client
    (tr,) = sent(session)
    assert tr.msg_type == "1" and tr.get(112) == "TEST-1"
    session.tick(T0 + 60 * NS)
    assert session.data_to_send() == [] and not session.closed
    session.tick(T0 + 66 * NS)
    (logout,) = sent(session)
    assert logout.msg_type == "5" and logout.get(58) == "heartbeat timeout"
    (event,) = session.events_received()
    assert event == SessionClosed(reason="heartbeat timeout", clean=False, cancel_orders=True)
    session.tick(T0 + 100 * NS)
    assert session.data_to_send() == [] and session.events_received() == []


def test_heartbeat_answer_clears_test_request() -> None:
    session, client = logged_on()
    session.tick(T0 + 36 * NS)
    assert "1" in types(sent(session))
    session.receive_data(client.frame("0", [(112, "TEST-1")], now=T0 + 40 * NS), T0 + 40 * NS)
    session.tick(T0 + 66 * NS)
    assert not session.closed
    assert types(sent(session)) == ["0"]  # our own heartbeat is due, no logout


# ---------------------------------------------------------------- teardown


def test_client_logout() -> None:
    session, client = logged_on()
    session.receive_data(client.frame("5", [(58, "bye")]), T0)
    (reply,) = sent(session)
    assert reply.msg_type == "5"
    assert session.events_received() == [
        SessionClosed(reason="logout", clean=True, cancel_orders=True)
    ]


def test_venue_logout_then_client_answer() -> None:
    session, client = logged_on()
    session.logout(T0, "end of day")
    session.logout(T0, "end of day")  # idempotent
    (out,) = sent(session)
    assert out.msg_type == "5" and out.get(58) == "end of day"
    assert session.state is SessionState.LOGGING_OUT
    session.receive_data(client.order(), T0)  # no new business while logging out
    (rej,) = sent(session)
    assert rej.msg_type == "j" and rej.get(380) == "4"
    session.send(FixMessage.create("U2", BlockHeight=7, ProofStatus="proving"), T0)
    assert types(sent(session)) == ["U2"]  # replies still flow while logging out
    session.receive_data(client.frame("5", []), T0)
    assert session.data_to_send() == []
    with pytest.raises(InvalidState):
        session.send(FixMessage.create("U2", BlockHeight=7, ProofStatus="proven"), T0)
    assert session.events_received()[-1] == SessionClosed(
        reason="logout", clean=True, cancel_orders=True
    )


def test_venue_logout_timeout() -> None:
    session, _ = logged_on(logout_timeout_ns=2 * NS)
    session.logout(T0)
    session.tick(T0 + NS)
    assert not session.closed
    session.tick(T0 + 2 * NS)
    assert session.closed


def test_eof_and_close_are_idempotent() -> None:
    session, _ = logged_on()
    session.receive_eof()
    session.receive_eof()
    session.close()
    events = session.events_received()
    assert events == [SessionClosed(reason="connection lost", clean=False, cancel_orders=True)]
    assert session.data_to_send() == []
    other = new_session()
    other.close("shutdown")
    other.close("again")
    other.logout(T0)
    assert other.events_received() == [
        SessionClosed(reason="shutdown", clean=False, cancel_orders=False)
    ]


def test_sending_time_accuracy() -> None:
    session, client = logged_on()
    session.receive_data(client.frame("0", [], now=T0 - 121 * NS), T0)
    rej, logout = sent(session)
    assert (rej.get(373), rej.get(371)) == ("10", "52") and logout.msg_type == "5"
    assert session.closed
    relaxed, client = logged_on(max_latency_ns=None)
    relaxed.receive_data(client.order("c1"), T0 + 3600 * NS)
    assert isinstance(relaxed.events_received()[-1], NewOrderRequest)
    stale = new_session()
    stale.data_to_send()
    stale.receive_data(Client().logon(now=T0 + 200 * NS), T0)
    assert_logon_refused(stale, "SendingTime")


def test_binary_frame_logs_out() -> None:
    session, _ = logged_on()
    session.receive_data(b"8=FIX.4.4|", T0)  # type: ignore[arg-type]
    assert types(sent(session)) == ["5"] and session.closed


# ---------------------------------------------------------------- rate limit


def test_rate_limit_rejects_then_logs_out() -> None:
    session, client = logged_on(max_rate=1.0, burst=2)
    # The Logon used one token; one left.
    session.receive_data(client.order("c1"), T0)
    session.receive_data(client.order("c2"), T0)
    (rej,) = sent(session)
    assert rej.msg_type == "3" and "rate limit" in (rej.get(58) or "")
    assert session.next_inbound_seq == 3  # the dropped frame consumed nothing
    session.receive_data(client.order("c3"), T0 + 2 * NS)  # refilled; seq 4 > 3 -> gap
    assert types(sent(session)) == ["2"]
    # One token left: a garbled frame uses it, then `burst` throttled frames are tolerated.
    for _ in range(4):
        session.receive_data("x", T0 + 2 * NS)
    msgs = sent(session)
    assert types(msgs) == ["3", "3", "3", "5"] and session.closed
    assert msgs[-1].get(58) == "message rate limit exceeded"


# ---------------------------------------------------------------- simplefix cross-checks


def test_simplefix_built_messages_accepted() -> None:
    session = new_session()
    session.data_to_send()

    def build(msg_type: str, seq: int, pairs: list[tuple[int, str]]) -> str:
        msg = simplefix.FixMessage()
        msg.append_pair(8, "FIX.4.4")
        msg.append_pair(35, msg_type)
        msg.append_pair(49, "TRADER1")
        msg.append_pair(56, "PROVENBOOK")
        msg.append_pair(34, seq)
        msg.append_utc_timestamp(52, timestamp=T0 / NS, precision=3)
        for tag, value in pairs:
            msg.append_pair(tag, value)
        return msg.encode().decode()

    session.receive_data(
        build("A", 1, [(98, "0"), (108, "10"), (553, "acct-1"), (5012, sign("acct-1", CHALLENGE))]),
        T0,
    )
    assert session.encoding is Encoding.TAGVALUE_SOH
    assert session.state is SessionState.ACTIVE
    session.receive_data(
        build(
            "D",
            2,
            [
                (11, "sf1"),
                (55, "ETH-USD"),
                (54, "2"),
                (60, format_utc_timestamp(T0)),
                (38, "1"),
                (40, "1"),
            ],
        ),
        T0,
    )
    events = session.events_received()
    assert isinstance(events[-1], NewOrderRequest) and events[-1].cl_ord_id == "sf1"
    # Our frames parse with simplefix to the same fields.
    frames = session.data_to_send()
    parser = simplefix.FixParser()
    for frame in frames:
        parser.append_buffer(frame.encode())
        parsed = parser.get_message()
        assert parsed is not None
        ours = Codec(Encoding.TAGVALUE_SOH).decode(frame)
        theirs = [(int(t), v.decode()) for t, v in parsed]
        assert theirs[0] == (8, "FIX.4.4") and theirs[2] == (35, ours.msg_type)
        assert theirs[3:-1] == list(ours.fields)


def test_short_challenge_refused() -> None:
    with pytest.raises(ValueError):
        new_session(challenge=b"short")
