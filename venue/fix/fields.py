"""FIX 4.4 field and message dictionary for the ProvenBook gateway.

Why a hand-written dictionary: the maintained FIX dictionaries (QuickFIX's ``FIX44.xml``)
ship inside a C++ extension that needs a compiler, and simplefix carries no dictionary at
all. The gateway only speaks the handful of messages listed in DESIGN §8, so this module
holds exactly those, with tag numbers, names and types as the FIX 4.4 repository defines
them, plus our user-defined tags (FIX reserves 5000-9999 for bilateral use).

Custom tags (user-defined range 5000+):

====  ==================  ==========  ===================================================
tag   name                type        meaning
====  ==================  ==========  ===================================================
5001  FinalityState       STRING      how final an ExecutionReport is: ``sequenced``,
                                      ``in_block``, ``proposed`` (optimistic mode: on
                                      chain, pending), ``proven``, ``on_chain`` (final)
5002  BlockHeight         INT         height of the block the event belongs to
5003  BlockHash           STRING      block hash, ``0x``-prefixed hex
5004  PrevBlockHash       STRING      parent block hash, ``0x``-prefixed hex
5005  StateRoot           STRING      Poseidon state root after the block, hex
5006  BlockTxCount        INT         number of commands sequenced into the block
5007  ProofStatus         STRING      ``pending``, ``proving``, ``proven``, ``verified``,
                                      ``failed``; optimistic mode: ``proposed``, ``final``
5008  ChainTxHash         STRING      hash of the transaction that published the proof
5009  ProvenPrice         PRICE       settlement price proven for a block
5010  ProvenPriceKind     STRING      ``block``, ``twap``, ``expiry``
5011  LogonChallenge      STRING      server nonce (hex) the client signs to log on
5012  LogonSignature      STRING      client signature over the challenge (encoding is
                                      the authenticator's business; the core passes it on)
5013  CancelOnDisconnect  BOOLEAN     ``N`` opts out of cancel-on-disconnect (default ``Y``)
5014  SettlementPrice     PRICE       a market's settlement price in a block (U1 group)
5015  BookChecksum        INT         CRC-32 of the top of the book after a W/X message
                                      (``venue.marketdata.book_checksum``)
5016  DeadManTimeout      INT         on OrderMassCancelRequest (q): defer the mass
                                      cancel by this many ms unless refreshed (dead-man's
                                      switch); 0 disarms
5017  OrderSignature      STRING      on NewOrderSingle (D) and OrderCancelReplaceRequest
                                      (G): hex of the 64-byte packed EdDSA-Poseidon
                                      signature, by the account's key, of ``intent_hash``
                                      (``proofs.signing``) of the engine command the
                                      gateway builds from the message (``venue.orders``:
                                      ``place_command`` / ``replace_command``; for G its
                                      qty is OrderQty − CumQty). Required by a signed
                                      venue (``Genesis.signed``), ignored by others
5018  Nonce               STRING      on D and G: the order's nonce, a decimal integer in
                                      [1, 2**64) that must be above every nonce the
                                      account used before (the engine's replay guard,
                                      STALE_NONCE); it is the engine ``cl_ord_id`` the
                                      signature covers. Required by a signed venue,
                                      ignored by others. STRING, not INT: FIX INT stops
                                      at 18 digits here, a nonce may take 20
====  ==================  ==========  ===================================================

Custom messages (MsgType values starting with ``U`` are user-defined in FIX):

======  =================  ================  ===========================================
type    name               direction         body
======  =================  ================  ===========================================
``U0``  LogonChallenge     server → client   LogonChallenge(5011); the server greeting
``U1``  BlockHeader        server → client   BlockHeight, BlockHash, PrevBlockHash,
                                             StateRoot, [BlockTxCount, TransactTime,
                                             FinalityState, NoRelatedSym group of
                                             Symbol + SettlementPrice]
``U2``  ProofStatus        server → client   BlockHeight, ProofStatus, [ChainTxHash, Text,
                                             FinalityState]
``U3``  ProvenPriceUpdate  server → client   Symbol, BlockHeight, ProvenPrice,
                                             [ProvenPriceKind, TransactTime]
======  =================  ================  ===========================================
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import msgspec

__all__ = [
    "ADMIN_MSG_TYPES",
    "BEGIN_STRING",
    "FIELDS",
    "FIELDS_BY_NAME",
    "HEADER_TAGS",
    "INBOUND_APP_MSG_TYPES",
    "MESSAGES",
    "BusinessRejectReason",
    "Field",
    "FieldType",
    "GroupSpec",
    "MessageSpec",
    "SessionRejectReason",
    "Tag",
]

BEGIN_STRING = "FIX.4.4"


class FieldType(enum.Enum):
    """FIX data types we validate; several FIX types share one lexical rule here."""

    INT = "INT"
    SEQNUM = "SEQNUM"
    LENGTH = "LENGTH"
    NUMINGROUP = "NUMINGROUP"
    PRICE = "PRICE"
    QTY = "QTY"
    FLOAT = "FLOAT"
    CHAR = "CHAR"
    BOOLEAN = "BOOLEAN"
    STRING = "STRING"
    MULTIPLEVALUESTRING = "MULTIPLEVALUESTRING"
    UTCTIMESTAMP = "UTCTIMESTAMP"


class SessionRejectReason(enum.IntEnum):
    """SessionRejectReason(373) codes of FIX 4.4; the numbers are the wire values."""

    INVALID_TAG_NUMBER = 0
    REQUIRED_TAG_MISSING = 1
    TAG_NOT_DEFINED_FOR_MESSAGE = 2
    UNDEFINED_TAG = 3
    TAG_WITHOUT_VALUE = 4
    VALUE_INCORRECT = 5
    INCORRECT_DATA_FORMAT = 6
    SIGNATURE_PROBLEM = 8
    COMPID_PROBLEM = 9
    SENDING_TIME_ACCURACY = 10
    INVALID_MSG_TYPE = 11
    TAG_APPEARS_MORE_THAN_ONCE = 13
    TAG_OUT_OF_ORDER = 14
    GROUP_FIELDS_OUT_OF_ORDER = 15
    INCORRECT_NUM_IN_GROUP = 16
    VALUE_CONTAINS_DELIMITER = 17
    OTHER = 99


class BusinessRejectReason(enum.IntEnum):
    """BusinessRejectReason(380) codes of FIX 4.4; the numbers are the wire values."""

    OTHER = 0
    UNKNOWN_ID = 1
    UNKNOWN_SECURITY = 2
    UNSUPPORTED_MESSAGE_TYPE = 3
    APPLICATION_NOT_AVAILABLE = 4
    CONDITIONALLY_REQUIRED_FIELD_MISSING = 5
    NOT_AUTHORIZED = 6


class Tag(enum.IntEnum):
    """Tag numbers used by name in code, so that no bare numbers hide in the session logic."""

    Account = 1
    AvgPx = 6
    BeginSeqNo = 7
    BeginString = 8
    BodyLength = 9
    CheckSum = 10
    ClOrdID = 11
    CumQty = 14
    EndSeqNo = 16
    ExecID = 17
    ExecInst = 18
    LastPx = 31
    LastQty = 32
    MsgSeqNum = 34
    MsgType = 35
    NewSeqNo = 36
    OrderID = 37
    OrderQty = 38
    OrdStatus = 39
    OrdType = 40
    OrigClOrdID = 41
    PossDupFlag = 43
    Price = 44
    RefSeqNum = 45
    SenderCompID = 49
    SenderSubID = 50
    SendingTime = 52
    Side = 54
    Symbol = 55
    TargetCompID = 56
    TargetSubID = 57
    Text = 58
    TimeInForce = 59
    TransactTime = 60
    RptSeq = 83
    PossResend = 97
    EncryptMethod = 98
    CxlRejReason = 102
    OrdRejReason = 103
    HeartBtInt = 108
    TestReqID = 112
    OrigSendingTime = 122
    GapFillFlag = 123
    ResetSeqNumFlag = 141
    NoRelatedSym = 146
    ExecType = 150
    LeavesQty = 151
    SubscriptionRequestType = 263
    MDReqID = 262
    MarketDepth = 264
    MDUpdateType = 265
    NoMDEntryTypes = 267
    NoMDEntries = 268
    MDEntryType = 269
    MDEntryPx = 270
    MDEntrySize = 271
    MDEntryID = 278
    MDUpdateAction = 279
    MDEntryPositionNo = 290
    RefTagID = 371
    RefMsgType = 372
    SessionRejectReason = 373
    BusinessRejectRefID = 379
    BusinessRejectReason = 380
    CxlRejResponseTo = 434
    MassCancelRequestType = 530
    MassCancelResponse = 531
    Username = 553
    Password = 554
    NextExpectedMsgSeqNum = 789
    FinalityState = 5001
    BlockHeight = 5002
    BlockHash = 5003
    PrevBlockHash = 5004
    StateRoot = 5005
    BlockTxCount = 5006
    ProofStatus = 5007
    ChainTxHash = 5008
    ProvenPrice = 5009
    ProvenPriceKind = 5010
    LogonChallenge = 5011
    LogonSignature = 5012
    CancelOnDisconnect = 5013
    SettlementPrice = 5014
    BookChecksum = 5015
    DeadManTimeout = 5016
    OrderSignature = 5017
    Nonce = 5018


class Field(msgspec.Struct, frozen=True):
    """One dictionary entry: ``values`` is the closed enumeration, or None for free values."""

    tag: int
    name: str
    type: FieldType
    values: frozenset[str] | None = None


class GroupSpec(msgspec.Struct, frozen=True):
    """A repeating group: NumInGroup tag, the tag that must open every entry, the others."""

    count_tag: int
    first_tag: int
    member_tags: tuple[int, ...]
    required: bool = False

    @property
    def all_tags(self) -> frozenset[int]:
        """Every tag allowed inside one entry of the group."""
        return frozenset((self.first_tag, *self.member_tags))


class MessageSpec(msgspec.Struct, frozen=True):
    """Body layout of one MsgType; header and trailer fields are common to all messages."""

    msg_type: str
    name: str
    admin: bool
    required: tuple[int, ...]
    optional: tuple[int, ...] = ()
    groups: tuple[GroupSpec, ...] = ()

    @property
    def body_tags(self) -> frozenset[int]:
        """Tags allowed at the top level of the body (group members excluded)."""
        return frozenset((*self.required, *self.optional, *(g.count_tag for g in self.groups)))


def _f(tag: Tag, type_: FieldType, values: Iterable[str] | None = None) -> Field:
    return Field(int(tag), tag.name, type_, None if values is None else frozenset(values))


_T = FieldType
_FIELD_LIST = [
    _f(Tag.Account, _T.STRING),
    _f(Tag.AvgPx, _T.PRICE),
    _f(Tag.BeginSeqNo, _T.SEQNUM),
    _f(Tag.BeginString, _T.STRING),
    _f(Tag.BodyLength, _T.LENGTH),
    _f(Tag.CheckSum, _T.STRING),
    _f(Tag.ClOrdID, _T.STRING),
    _f(Tag.CumQty, _T.QTY),
    _f(Tag.EndSeqNo, _T.SEQNUM),
    _f(Tag.ExecID, _T.STRING),
    _f(Tag.ExecInst, _T.MULTIPLEVALUESTRING, {"6"}),
    _f(Tag.LastPx, _T.PRICE),
    _f(Tag.LastQty, _T.QTY),
    _f(Tag.MsgSeqNum, _T.SEQNUM),
    _f(Tag.MsgType, _T.STRING),
    _f(Tag.NewSeqNo, _T.SEQNUM),
    _f(Tag.OrderID, _T.STRING),
    _f(Tag.OrderQty, _T.QTY),
    _f(Tag.OrdStatus, _T.CHAR, {"0", "1", "2", "4", "6", "8", "A", "C", "E"}),
    _f(Tag.OrdType, _T.CHAR, {"1", "2"}),
    _f(Tag.OrigClOrdID, _T.STRING),
    _f(Tag.PossDupFlag, _T.BOOLEAN),
    _f(Tag.Price, _T.PRICE),
    _f(Tag.RefSeqNum, _T.SEQNUM),
    _f(Tag.SenderCompID, _T.STRING),
    _f(Tag.SenderSubID, _T.STRING),
    _f(Tag.SendingTime, _T.UTCTIMESTAMP),
    _f(Tag.Side, _T.CHAR, {"1", "2"}),
    _f(Tag.Symbol, _T.STRING),
    _f(Tag.TargetCompID, _T.STRING),
    _f(Tag.TargetSubID, _T.STRING),
    _f(Tag.Text, _T.STRING),
    _f(Tag.TimeInForce, _T.CHAR, {"0", "1", "3", "4"}),
    _f(Tag.TransactTime, _T.UTCTIMESTAMP),
    _f(Tag.RptSeq, _T.INT),
    _f(Tag.PossResend, _T.BOOLEAN),
    _f(Tag.EncryptMethod, _T.INT, {"0"}),
    _f(Tag.CxlRejReason, _T.INT),
    _f(Tag.OrdRejReason, _T.INT),
    _f(Tag.HeartBtInt, _T.INT),
    _f(Tag.TestReqID, _T.STRING),
    _f(Tag.OrigSendingTime, _T.UTCTIMESTAMP),
    _f(Tag.GapFillFlag, _T.BOOLEAN),
    _f(Tag.ResetSeqNumFlag, _T.BOOLEAN),
    _f(Tag.NoRelatedSym, _T.NUMINGROUP),
    _f(Tag.ExecType, _T.CHAR, {"0", "4", "5", "6", "8", "C", "D", "E", "F", "I"}),
    _f(Tag.LeavesQty, _T.QTY),
    _f(Tag.MDReqID, _T.STRING),
    _f(Tag.SubscriptionRequestType, _T.CHAR, {"0", "1", "2"}),
    _f(Tag.MarketDepth, _T.INT),
    _f(Tag.MDUpdateType, _T.INT, {"0", "1"}),
    _f(Tag.NoMDEntryTypes, _T.NUMINGROUP),
    _f(Tag.NoMDEntries, _T.NUMINGROUP),
    _f(Tag.MDEntryType, _T.CHAR, {"0", "1", "2", "4", "5", "6", "7", "8", "B"}),
    _f(Tag.MDEntryPx, _T.PRICE),
    _f(Tag.MDEntrySize, _T.QTY),
    _f(Tag.MDEntryID, _T.STRING),
    _f(Tag.MDUpdateAction, _T.CHAR, {"0", "1", "2"}),
    _f(Tag.MDEntryPositionNo, _T.INT),
    _f(Tag.RefTagID, _T.INT),
    _f(Tag.RefMsgType, _T.STRING),
    _f(Tag.SessionRejectReason, _T.INT),
    _f(Tag.BusinessRejectRefID, _T.STRING),
    _f(Tag.BusinessRejectReason, _T.INT),
    _f(Tag.CxlRejResponseTo, _T.CHAR, {"1", "2"}),
    _f(Tag.MassCancelRequestType, _T.CHAR, {"1", "7"}),
    _f(Tag.MassCancelResponse, _T.CHAR, {"0", "1", "7"}),
    _f(Tag.Username, _T.STRING),
    _f(Tag.Password, _T.STRING),
    _f(Tag.NextExpectedMsgSeqNum, _T.SEQNUM),
    _f(Tag.FinalityState, _T.STRING, {"sequenced", "in_block", "proposed", "proven", "on_chain"}),
    _f(Tag.BlockHeight, _T.INT),
    _f(Tag.BlockHash, _T.STRING),
    _f(Tag.PrevBlockHash, _T.STRING),
    _f(Tag.StateRoot, _T.STRING),
    _f(Tag.BlockTxCount, _T.INT),
    _f(
        Tag.ProofStatus,
        _T.STRING,
        {"pending", "proving", "proven", "verified", "failed", "proposed", "final"},
    ),
    _f(Tag.ChainTxHash, _T.STRING),
    _f(Tag.ProvenPrice, _T.PRICE),
    _f(Tag.ProvenPriceKind, _T.STRING, {"block", "twap", "expiry"}),
    _f(Tag.LogonChallenge, _T.STRING),
    _f(Tag.LogonSignature, _T.STRING),
    _f(Tag.CancelOnDisconnect, _T.BOOLEAN),
    _f(Tag.SettlementPrice, _T.PRICE),
    _f(Tag.BookChecksum, _T.INT),
    _f(Tag.DeadManTimeout, _T.INT),
    _f(Tag.OrderSignature, _T.STRING),
    _f(Tag.Nonce, _T.STRING),
]

#: tag number -> Field
FIELDS: dict[int, Field] = {f.tag: f for f in _FIELD_LIST}
#: FIX repository name -> Field (the names the JSON encoding uses)
FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in _FIELD_LIST}

#: Standard header fields after BeginString/BodyLength/MsgType, in the order we write them.
HEADER_TAGS: tuple[int, ...] = (
    Tag.SenderCompID,
    Tag.TargetCompID,
    Tag.MsgSeqNum,
    Tag.SenderSubID,
    Tag.TargetSubID,
    Tag.PossDupFlag,
    Tag.PossResend,
    Tag.SendingTime,
    Tag.OrigSendingTime,
)


def _m(
    msg_type: str,
    name: str,
    admin: bool,
    required: Iterable[Tag],
    optional: Iterable[Tag] = (),
    groups: Iterable[GroupSpec] = (),
) -> MessageSpec:
    return MessageSpec(
        msg_type,
        name,
        admin,
        tuple(int(t) for t in required),
        tuple(int(t) for t in optional),
        tuple(groups),
    )


def _g(count: Tag, first: Tag, members: Iterable[Tag] = (), required: bool = True) -> GroupSpec:
    return GroupSpec(int(count), int(first), tuple(int(t) for t in members), required)


_MD_ENTRY_MEMBERS = (
    Tag.MDEntryPx,
    Tag.MDEntrySize,
    Tag.MDEntryID,
    Tag.MDEntryPositionNo,
)

_MESSAGE_LIST = [
    _m(
        "A",
        "Logon",
        True,
        [Tag.EncryptMethod, Tag.HeartBtInt],
        [
            Tag.ResetSeqNumFlag,
            Tag.NextExpectedMsgSeqNum,
            Tag.Username,
            Tag.Password,
            Tag.LogonChallenge,
            Tag.LogonSignature,
            Tag.CancelOnDisconnect,
        ],
    ),
    _m("0", "Heartbeat", True, [], [Tag.TestReqID]),
    _m("1", "TestRequest", True, [Tag.TestReqID]),
    _m("2", "ResendRequest", True, [Tag.BeginSeqNo, Tag.EndSeqNo]),
    _m(
        "3",
        "Reject",
        True,
        [Tag.RefSeqNum],
        [Tag.RefTagID, Tag.RefMsgType, Tag.SessionRejectReason, Tag.Text],
    ),
    _m("4", "SequenceReset", True, [Tag.NewSeqNo], [Tag.GapFillFlag]),
    _m("5", "Logout", True, [], [Tag.Text]),
    _m(
        "D",
        "NewOrderSingle",
        False,
        [Tag.ClOrdID, Tag.Symbol, Tag.Side, Tag.TransactTime, Tag.OrderQty, Tag.OrdType],
        [Tag.Account, Tag.Price, Tag.TimeInForce, Tag.ExecInst, Tag.OrderSignature, Tag.Nonce],
    ),
    _m(
        "F",
        "OrderCancelRequest",
        False,
        [Tag.OrigClOrdID, Tag.ClOrdID, Tag.Symbol, Tag.Side, Tag.TransactTime],
        [Tag.OrderID, Tag.Account, Tag.OrderQty],
    ),
    _m(
        "G",
        "OrderCancelReplaceRequest",
        False,
        [
            Tag.OrigClOrdID,
            Tag.ClOrdID,
            Tag.Symbol,
            Tag.Side,
            Tag.TransactTime,
            Tag.OrderQty,
            Tag.OrdType,
        ],
        [
            Tag.OrderID,
            Tag.Account,
            Tag.Price,
            Tag.TimeInForce,
            Tag.ExecInst,
            Tag.OrderSignature,
            Tag.Nonce,
        ],
    ),
    _m(
        "q",
        "OrderMassCancelRequest",
        False,
        [Tag.ClOrdID, Tag.MassCancelRequestType, Tag.TransactTime],
        [Tag.Symbol, Tag.Side, Tag.Account, Tag.DeadManTimeout],
    ),
    _m(
        "8",
        "ExecutionReport",
        False,
        [
            Tag.OrderID,
            Tag.ExecID,
            Tag.ExecType,
            Tag.OrdStatus,
            Tag.Symbol,
            Tag.Side,
            Tag.LeavesQty,
            Tag.CumQty,
            Tag.AvgPx,
        ],
        [
            Tag.ClOrdID,
            Tag.OrigClOrdID,
            Tag.Account,
            Tag.OrderQty,
            Tag.OrdType,
            Tag.Price,
            Tag.TimeInForce,
            Tag.ExecInst,
            Tag.LastPx,
            Tag.LastQty,
            Tag.TransactTime,
            Tag.OrdRejReason,
            Tag.Text,
            Tag.FinalityState,
            Tag.BlockHeight,
        ],
    ),
    _m(
        "9",
        "OrderCancelReject",
        False,
        [Tag.OrderID, Tag.ClOrdID, Tag.OrigClOrdID, Tag.OrdStatus, Tag.CxlRejResponseTo],
        [Tag.CxlRejReason, Tag.Text, Tag.Account, Tag.TransactTime],
    ),
    _m(
        "j",
        "BusinessMessageReject",
        False,
        [Tag.RefMsgType, Tag.BusinessRejectReason],
        [Tag.RefSeqNum, Tag.BusinessRejectRefID, Tag.Text],
    ),
    _m(
        "r",
        "OrderMassCancelReport",
        False,
        [Tag.OrderID, Tag.MassCancelRequestType, Tag.MassCancelResponse],
        [Tag.ClOrdID, Tag.Symbol, Tag.Side, Tag.Text, Tag.TransactTime],
    ),
    _m(
        "V",
        "MarketDataRequest",
        False,
        [Tag.MDReqID, Tag.SubscriptionRequestType, Tag.MarketDepth],
        [Tag.MDUpdateType],
        [
            _g(Tag.NoMDEntryTypes, Tag.MDEntryType),
            _g(Tag.NoRelatedSym, Tag.Symbol),
        ],
    ),
    _m(
        "W",
        "MarketDataSnapshotFullRefresh",
        False,
        [Tag.Symbol],
        [Tag.MDReqID, Tag.RptSeq, Tag.BlockHeight, Tag.BookChecksum],
        [_g(Tag.NoMDEntries, Tag.MDEntryType, _MD_ENTRY_MEMBERS)],
    ),
    _m(
        "X",
        "MarketDataIncrementalRefresh",
        False,
        [],
        [Tag.MDReqID, Tag.BlockHeight, Tag.BookChecksum],
        [
            _g(
                Tag.NoMDEntries,
                Tag.MDUpdateAction,
                (Tag.MDEntryType, Tag.Symbol, Tag.RptSeq, *_MD_ENTRY_MEMBERS),
            )
        ],
    ),
    _m("U0", "LogonChallenge", True, [Tag.LogonChallenge]),
    _m(
        "U1",
        "BlockHeader",
        False,
        [Tag.BlockHeight, Tag.BlockHash, Tag.PrevBlockHash, Tag.StateRoot],
        [Tag.BlockTxCount, Tag.TransactTime, Tag.FinalityState],
        [_g(Tag.NoRelatedSym, Tag.Symbol, (Tag.SettlementPrice,), required=False)],
    ),
    _m(
        "U2",
        "ProofStatus",
        False,
        [Tag.BlockHeight, Tag.ProofStatus],
        [Tag.ChainTxHash, Tag.Text, Tag.FinalityState],
    ),
    _m(
        "U3",
        "ProvenPriceUpdate",
        False,
        [Tag.Symbol, Tag.BlockHeight, Tag.ProvenPrice],
        [Tag.ProvenPriceKind, Tag.TransactTime],
    ),
]

#: MsgType -> MessageSpec for every message the gateway can send or receive
MESSAGES: dict[str, MessageSpec] = {m.msg_type: m for m in _MESSAGE_LIST}
#: Session-level MsgTypes: never resent, replaced by a SequenceReset-GapFill (FIX rule)
ADMIN_MSG_TYPES: frozenset[str] = frozenset(m.msg_type for m in _MESSAGE_LIST if m.admin)
#: Application MsgTypes a client may send; the rest are server-to-client only
INBOUND_APP_MSG_TYPES: frozenset[str] = frozenset({"D", "F", "G", "q", "V"})
