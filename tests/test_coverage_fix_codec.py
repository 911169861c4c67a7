"""Deterministic tests of venue.fix.codec and venue.fix.fields, cross-checked with simplefix."""

from __future__ import annotations

import datetime
import gc
import importlib
import json
import random
from collections.abc import Callable

import pytest
import simplefix

from venue.fix import codec
from venue.fix.codec import (
    SOH,
    Codec,
    Encoding,
    FixMessage,
    checksum,
    decode_json,
    decode_tagvalue,
    detect_encoding,
    encode_json,
    encode_tagvalue,
    format_utc_timestamp,
    parse_utc_timestamp,
    validate,
)
from venue.fix.errors import (
    DecodeError,
    EncodeError,
    FixError,
    InvalidState,
    MessageTooLarge,
    ValidationError,
)
from venue.fix.fields import (
    ADMIN_MSG_TYPES,
    FIELDS,
    FIELDS_BY_NAME,
    HEADER_TAGS,
    MESSAGES,
    BusinessRejectReason,
    SessionRejectReason,
    Tag,
)
from venue.orders import FINALITY_STATES

R = SessionRejectReason  # short name keeps the parametrize tables one row per case

TS = "20260101-12:00:00.000"
HDR = ((49, "TRADER1"), (56, "PROVENBOOK"), (34, "7"), (52, TS))


def order(**over: str) -> FixMessage:
    body = {
        11: "c1",
        55: "ETH-USD",
        54: "1",
        60: TS,
        38: "1.5",
        40: "2",
        44: "2000.25",
        59: "1",
        18: "6",
    }
    body.update({int(k[1:]): v for k, v in over.items()})
    return FixMessage("D", HDR + tuple((t, v) for t, v in body.items() if v != ""))


def snapshot() -> FixMessage:
    return FixMessage(
        "W",
        (
            *HDR,
            (55, "ETH-USD"),
            (83, "12"),
            (268, "2"),
            (269, "0"),
            (270, "1999.5"),
            (271, "3"),
            (269, "1"),
            (270, "2000.5"),
            (271, "1"),
        ),
    )


def reason_of(msg: FixMessage) -> SessionRejectReason | None:
    with pytest.raises(ValidationError) as info:
        validate(msg)
    return info.value.reason


# ---------------------------------------------------------------- module hygiene


@pytest.mark.parametrize("name", ["", ".codec", ".errors", ".events", ".fields", ".session"])
def test_all_exports_exist(name: str) -> None:
    module = importlib.import_module(f"venue.fix{name}")
    assert module.__all__, name
    for export in module.__all__:
        assert hasattr(module, export), f"{name}.{export}"


def test_exception_tree() -> None:
    for cls in (DecodeError, ValidationError, EncodeError, InvalidState):
        assert issubclass(cls, FixError)
    assert issubclass(MessageTooLarge, DecodeError)
    assert issubclass(InvalidState, AssertionError)
    assert issubclass(DecodeError, ValueError)


def test_dictionary_is_consistent() -> None:
    assert len(FIELDS) == len(FIELDS_BY_NAME)
    for spec in MESSAGES.values():
        tags = [*spec.required, *spec.optional]
        for group in spec.groups:
            tags += [group.count_tag, group.first_tag, *group.member_tags]
        for tag in tags:
            assert tag in FIELDS, (spec.msg_type, tag)
            assert tag not in HEADER_TAGS, (spec.msg_type, tag)
    custom_tags = [t for t in FIELDS if t >= 5000]
    assert custom_tags and all(5000 <= t < 10000 for t in custom_tags)
    assert {m for m in MESSAGES if m.startswith("U")} == {"U0", "U1", "U2", "U3"}
    for msg_type in "A012345DFGqj89VWX":
        assert msg_type in MESSAGES
    assert {"A", "0", "1", "2", "3", "4", "5", "U0"} == set(ADMIN_MSG_TYPES)
    assert FIELDS_BY_NAME["FinalityState"].values == set(FINALITY_STATES)
    assert R.INVALID_MSG_TYPE == 11
    assert BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE == 3


# ---------------------------------------------------------------- tag=value


def test_tagvalue_matches_simplefix_byte_for_byte() -> None:
    msg = order()
    ref = simplefix.FixMessage()
    ref.append_pair(8, "FIX.4.4")
    ref.append_pair(35, "D")
    for tag, value in msg.fields:
        ref.append_pair(tag, value)
    assert encode_tagvalue(msg).encode() == ref.encode()


def test_tagvalue_output_parses_with_simplefix() -> None:
    text = encode_tagvalue(snapshot())
    parser = simplefix.FixParser()
    parser.append_buffer(text.encode())
    parsed = parser.get_message()
    assert parsed is not None
    pairs = [(int(t), v.decode()) for t, v in parsed]
    assert pairs[0] == (8, "FIX.4.4")
    assert pairs[2] == (35, "W")
    assert pairs[3:-1] == list(snapshot().fields)
    assert pairs[-1] == (10, text[-4:-1])


def test_pipe_and_soh_share_bodylength_and_checksum() -> None:
    soh = encode_tagvalue(order(), SOH)
    pipe = encode_tagvalue(order(), "|")
    assert pipe == soh.replace(SOH, "|")
    assert checksum(pipe[: pipe.rindex("10=")]) == checksum(soh[: soh.rindex("10=")])
    assert decode_tagvalue(pipe, "|") == decode_tagvalue(soh) == order()


def test_checksum_known_value() -> None:
    # simplefix writes this bare Heartbeat as b"8=FIX.4.4\x019=5\x0135=0\x0110=163\x01".
    data = "8=FIX.4.4\x019=5\x0135=0\x01"
    assert checksum(data) == 163
    assert checksum(data.replace(SOH, "|")) == 163
    assert encode_tagvalue(FixMessage("0")) == data + "10=163\x01"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda t: t.replace("9=", "9=1", 1), R.OTHER),  # BodyLength
        (lambda t: t[:-4] + "000|", R.OTHER),  # CheckSum
        (lambda t: t[:-1], R.OTHER),  # no final delimiter
        (lambda t: t.replace("8=FIX.4.4", "8=FIX.4.2"), R.VALUE_INCORRECT),
        (lambda t: t.replace("|11=", "|x1="), R.INVALID_TAG_NUMBER),
        (lambda t: t.replace("|11=", "|011="), R.INVALID_TAG_NUMBER),
        (lambda t: t.replace("|11=c1", "|11c1"), R.OTHER),
        (lambda t: t.replace("|11=c1", "|11=c\x011"), R.VALUE_CONTAINS_DELIMITER),
    ],
)
def test_tagvalue_framing_errors(mutate, reason: SessionRejectReason) -> None:
    good = encode_tagvalue(order(), "|")
    with pytest.raises(DecodeError) as info:
        decode_tagvalue(mutate(good), "|")
    assert info.value.reason == reason


def test_framing_error_carries_seq_num() -> None:
    bad = encode_tagvalue(order(), "|")[:-4] + "000|"
    with pytest.raises(DecodeError) as info:
        decode_tagvalue(bad, "|")
    assert info.value.seq_num == 7
    assert info.value.msg_type == "D"


def test_frame_tags_in_body_rejected() -> None:
    msg = FixMessage("0", (*HDR, (35, "0")))
    with pytest.raises(EncodeError):
        encode_tagvalue(msg)
    body = "35=0|49=A|56=B|34=1|52=" + TS + "|35=0|"
    head = f"8=FIX.4.4|9={len(body)}|"
    text = f"{head}{body}10={checksum(head + body):03d}|"
    with pytest.raises(DecodeError) as info:
        decode_tagvalue(text, "|")
    assert info.value.reason == R.TAG_OUT_OF_ORDER


def test_encode_refuses_delimiters_and_empty_values() -> None:
    with pytest.raises(EncodeError):
        encode_tagvalue(FixMessage("0", (*HDR, (58, "a|b"))))
    with pytest.raises(EncodeError):
        encode_json(FixMessage("5", (*HDR, (58, ""))))
    with pytest.raises(EncodeError):
        encode_tagvalue(order(), "#")


def test_header_fields_are_written_first() -> None:
    shuffled = FixMessage("0", ((112, "x"), *HDR))
    text = encode_tagvalue(shuffled, "|")
    assert text.index("|49=") < text.index("|112=")
    validate(decode_tagvalue(text, "|"))


# ---------------------------------------------------------------- JSON


def test_json_shape_and_round_trip() -> None:
    text = encode_json(order())
    doc = json.loads(text)
    assert doc["Header"]["MsgType"] == "D"
    assert doc["Header"]["SenderCompID"] == "TRADER1"
    assert doc["Header"]["MsgSeqNum"] == "7"
    assert doc["Body"]["ClOrdID"] == "c1"
    assert doc["Body"]["ExecInst"] == "6"
    assert doc["Trailer"] == {}
    assert all(isinstance(v, str) for v in doc["Body"].values())
    assert decode_json(text) == order()


def test_json_groups_nest_and_flatten() -> None:
    text = encode_json(snapshot())
    doc = json.loads(text)
    assert doc["Body"]["NoMDEntries"] == [
        {"MDEntryType": "0", "MDEntryPx": "1999.5", "MDEntrySize": "3"},
        {"MDEntryType": "1", "MDEntryPx": "2000.5", "MDEntrySize": "1"},
    ]
    assert decode_json(text) == snapshot()
    # The group delimiter is moved first whatever the object order.
    doc["Body"]["NoMDEntries"][0] = {"MDEntryPx": "1999.5", "MDEntrySize": "3", "MDEntryType": "0"}
    assert decode_json(json.dumps(doc)) == snapshot()
    assert snapshot().groups(268)[1] == [(269, "1"), (270, "2000.5"), (271, "1")]


def test_json_tag_number_names_and_ignored_bodylength() -> None:
    doc = json.loads(encode_json(order()))
    doc["Header"]["BodyLength"] = "999"
    doc["Body"]["5999"] = "x"
    msg = decode_json(json.dumps(doc))
    assert msg.get(5999) == "x"
    assert reason_of(msg) == R.INVALID_TAG_NUMBER


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", R.OTHER),
        ("[1, 2]", R.OTHER),
        ('{"Header": {"MsgType": "0"}, "Extra": {}}', R.OTHER),
        ('{"Header": {"MsgSeqNum": "1"}, "Body": {}}', R.REQUIRED_TAG_MISSING),
        ('{"Header": {"MsgType": "0", "MsgType": "1"}}', R.TAG_APPEARS_MORE_THAN_ONCE),
        ('{"Header": {"MsgType": "0", "Bogus": "1"}}', R.INVALID_TAG_NUMBER),
        ('{"Header": {"MsgType": "0", "MsgSeqNum": 1}}', R.INCORRECT_DATA_FORMAT),
        ('{"Header": {"MsgType": "0", "BeginString": "FIX.4.2"}}', R.VALUE_INCORRECT),
        ('{"Header": {"MsgType": "0"}, "Body": {"CheckSum": "1"}}', R.TAG_OUT_OF_ORDER),
        ("[" * 5000, R.OTHER),
    ],
)
def test_json_decode_errors(text: str, reason: SessionRejectReason) -> None:
    with pytest.raises(DecodeError) as info:
        decode_json(text)
    assert info.value.reason == reason


# ---------------------------------------------------------------- validation


def test_valid_messages_pass() -> None:
    validate(order())
    validate(snapshot())
    validate(order(_44="", _40="1", _18=""))  # market order without price


@pytest.mark.parametrize(
    ("msg", "reason", "tag"),
    [
        (FixMessage("ZZ", HDR), R.INVALID_MSG_TYPE, 35),
        (order(_38="abc"), R.INCORRECT_DATA_FORMAT, 38),
        (order(_44="1e5"), R.INCORRECT_DATA_FORMAT, 44),
        (order(_54="3"), R.VALUE_INCORRECT, 54),
        (order(_40="3"), R.VALUE_INCORRECT, 40),
        (order(_59="2"), R.VALUE_INCORRECT, 59),
        (order(_18="6 Z"), R.VALUE_INCORRECT, 18),
        (order(_60="20261301-00:00:00"), R.INCORRECT_DATA_FORMAT, 60),
        (order(_60="2026-01-01T00:00:00"), R.INCORRECT_DATA_FORMAT, 60),
        (order(_38="0"), R.VALUE_INCORRECT, 38),
        (order(_44="-1"), R.VALUE_INCORRECT, 44),
        (order(_11=""), R.REQUIRED_TAG_MISSING, 11),
        (order(_40="1"), R.TAG_NOT_DEFINED_FOR_MESSAGE, 44),
        (order(_9999="x"), R.INVALID_TAG_NUMBER, 9999),
        (order(_262="x"), R.TAG_NOT_DEFINED_FOR_MESSAGE, 262),
        (FixMessage("5", (*HDR, (58, "a"), (58, "b"))), R.TAG_APPEARS_MORE_THAN_ONCE, 58),
        (FixMessage("5", (*HDR, (58, ""))), R.TAG_WITHOUT_VALUE, 58),
        (FixMessage("5", (*HDR, (58, "a\x01b"))), R.VALUE_CONTAINS_DELIMITER, 58),
        (FixMessage("5", ((58, "a"), *HDR)), R.TAG_OUT_OF_ORDER, 49),
        (FixMessage("0", HDR[1:]), R.REQUIRED_TAG_MISSING, 49),
        (FixMessage("1", HDR), R.REQUIRED_TAG_MISSING, 112),
        (FixMessage("0", (*HDR[:2], (34, "x"), HDR[3])), R.INCORRECT_DATA_FORMAT, 34),
    ],
)
def test_validation_reasons(msg: FixMessage, reason: SessionRejectReason, tag: int) -> None:
    with pytest.raises(ValidationError) as info:
        validate(msg)
    assert info.value.reason == reason
    assert info.value.tag == tag


def test_limit_order_without_price_is_a_business_reject() -> None:
    with pytest.raises(ValidationError) as info:
        validate(order(_44=""))
    assert info.value.reason is None
    assert info.value.business_reason == BusinessRejectReason.CONDITIONALLY_REQUIRED_FIELD_MISSING


def test_group_checks() -> None:
    fields = list(snapshot().fields)
    too_many = FixMessage("W", tuple((268, "3") if t == 268 else (t, v) for t, v in fields))
    assert reason_of(too_many) == R.INCORRECT_NUM_IN_GROUP
    too_few = FixMessage("W", tuple((268, "1") if t == 268 else (t, v) for t, v in fields))
    assert reason_of(too_few) == R.INCORRECT_NUM_IN_GROUP
    i = fields.index((269, "0"))
    fields[i], fields[i + 1] = fields[i + 1], fields[i]
    swapped = FixMessage("W", tuple(fields))
    assert reason_of(swapped) == R.GROUP_FIELDS_OUT_OF_ORDER
    empty = FixMessage("W", (*HDR, (55, "ETH-USD"), (268, "0")))
    assert reason_of(empty) == R.REQUIRED_TAG_MISSING
    dup = FixMessage("W", (*HDR, (55, "E"), (268, "1"), (269, "0"), (270, "1"), (270, "2")))
    assert reason_of(dup) == R.TAG_APPEARS_MORE_THAN_ONCE


def test_incremental_refresh_and_market_data_request() -> None:
    inc = FixMessage(
        "X",
        (
            *HDR,
            (5002, "9"),
            (268, "1"),
            (279, "0"),
            (269, "0"),
            (55, "ETH-USD"),
            (83, "4"),
            (270, "1"),
            (271, "2"),
        ),
    )
    validate(inc)
    assert decode_json(encode_json(inc)) == inc
    req = FixMessage(
        "V",
        (
            *HDR,
            (262, "md1"),
            (263, "1"),
            (264, "0"),
            (267, "2"),
            (269, "0"),
            (269, "1"),
            (146, "1"),
            (55, "ETH-USD"),
        ),
    )
    validate(req)
    assert decode_json(encode_json(req)) == req
    assert decode_tagvalue(encode_tagvalue(req)) == req


def test_custom_messages_validate() -> None:
    validate(FixMessage("U1", (*HDR, (5002, "5"), (5003, "0xab"), (5004, "0xaa"), (5005, "0x1"))))
    validate(FixMessage("U2", (*HDR, (5002, "5"), (5007, "proven"))))
    validate(FixMessage("U3", (*HDR, (55, "ETH-USD"), (5002, "5"), (5009, "2000.5"))))
    er = FixMessage(
        "8",
        (
            *HDR,
            (37, "o1"),
            (17, "e1"),
            (150, "0"),
            (39, "0"),
            (55, "ETH-USD"),
            (54, "1"),
            (151, "1"),
            (14, "0"),
            (6, "0"),
            (5001, "in_block"),
            (5002, "5"),
        ),
    )
    validate(er)
    bad = FixMessage("U2", (*HDR, (5002, "5"), (5007, "done")))
    assert reason_of(bad) == R.VALUE_INCORRECT


# ---------------------------------------------------------------- helpers


def test_detect_encoding() -> None:
    assert detect_encoding('  {"Header": {}}') is Encoding.JSON
    assert detect_encoding("8=FIX.4.4\x019=5") is Encoding.TAGVALUE_SOH
    assert detect_encoding("8=FIX.4.4|9=5") is Encoding.TAGVALUE_PIPE
    for bad in ("", "8=FIX.4.2|9=5", "8=FIX.4.4", "hello"):
        with pytest.raises(DecodeError):
            detect_encoding(bad)


def test_codec_size_limit_and_dispatch() -> None:
    codec = Codec(Encoding.TAGVALUE_PIPE, max_size=64)
    with pytest.raises(MessageTooLarge):
        codec.decode("8=FIX.4.4|" + "x" * 100)
    with pytest.raises(MessageTooLarge):
        codec.decode("é" * 40)  # 40 characters but 80 UTF-8 bytes
    big = Codec(Encoding.JSON)
    assert big.decode(big.encode(order())) == order()


def test_format_utc_timestamp() -> None:
    assert format_utc_timestamp(0) == "19700101-00:00:00.000"
    assert format_utc_timestamp(1_767_268_800_123_999_999) == "20260101-12:00:00.123"


def test_parse_utc_timestamp() -> None:
    for ns in (0, 1_767_268_800_123_000_000, 1_999_999_999_999_000_000):
        assert parse_utc_timestamp(format_utc_timestamp(ns)) == ns
    assert parse_utc_timestamp("20260101-12:00:00") == 1_767_268_800 * 10**9
    assert parse_utc_timestamp("20260101-12:00:00.000000001") == 1_767_268_800 * 10**9 + 1
    for bad in ("2026-01-01", "20260101-12:00:00.1", "20260230-00:00:00"):
        with pytest.raises(ValueError):
            parse_utc_timestamp(bad)


def test_create_and_with_header() -> None:
    from decimal import Decimal

    msg = FixMessage.create(
        "D", [(11, "c"), ("Symbol", "X")], Price=Decimal("1.50"), PossDupFlag=True
    )
    assert msg.fields == ((11, "c"), (55, "X"), (44, "1.50"), (43, "Y"))
    with pytest.raises(EncodeError):
        FixMessage.create("D", Nope="1")
    stamped = order().with_header({34: "99", 43: "Y", 122: TS}, drop=[52])
    assert stamped.get(34) == "99" and stamped.get(52) is None
    header_tags = [t for t, _ in stamped.fields[:5]]
    assert header_tags == [49, 56, 34, 43, 122]


# ---------------------------------------------------------------- fast paths vs references
# The codec's hot paths accept in one step (a regex per value, set operations, one check
# over the joined text) and fall back to the field-by-field code for anything doubtful.
# These tests compare both on many generated inputs, good and bad, with a fixed seed: same
# result, same error (class, reason, tag and text).

SEED = 20261126
_ALPHABET = "0123456789-.: YNéa|\x01\x7f\x1f=6"
_VALUES = [
    "", " ", "0", "00", "1", "-1", "+1", "2", "6", "7", "Y", "N", "YN", "1.5", ".5", "5.",
    "-.5", "1e3", "0.000", "-0", "9" * 18, "9" * 19, "1." + "0" * 18, "1." + "0" * 19, "a",
    "ab", "é", "a|b", "a\x01b", "a\x7f", "\x1f", "6 6", " 6", "6 ", "6  6", "A", "C", "E",
    "8", "4", "3", "10", "20260101-12:00:00", "20260101-12:00:00.000", "20261301-12:00:00",
    "20260100-12:00:00", "20260132-12:00:00", "20260131-24:00:00", "20260131-23:60:00",
    "20260131-23:59:60", "20260131-23:59:61", "20260101-12:00:00.1", "20260101-12:00:00.123456",
    "20260101-12:00:00.123456789", "20260230-00:00:00", "in_block", "sequenced", "0x" + "f" * 64,
]  # fmt: skip


def _corpus(rng: random.Random, n: int = 40) -> list[str]:
    extra = ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 8))) for _ in range(n)]
    return _VALUES + extra


def _outcome(fn: Callable[[], object]) -> object:
    try:
        return ("ok", fn())
    except FixError as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "reason", None),
                getattr(exc, "tag", None), getattr(exc, "business_reason", None))  # fmt: skip


def test_accept_patterns_equal_check_value() -> None:
    rng = random.Random(SEED)
    for tag, field in FIELDS.items():
        values = _corpus(rng) + sorted(field.values or ())
        if field.values:
            vs = sorted(field.values)
            values += [" ".join(rng.choice(vs) for _ in range(rng.randint(1, 3))) for _ in range(9)]
        for value in values:
            fast = codec._ACCEPT[tag](value) is not None
            slow = _outcome(lambda: codec._check_value(tag, value))  # noqa: B023
            assert fast == (slow == ("ok", None)), (tag, value, slow)


def _mutants(rng: random.Random, base: FixMessage, n: int) -> list[FixMessage]:
    tags = [*FIELDS, 9999, 0]
    out = [base]
    for _ in range(n):
        f = list(base.fields)
        for _ in range(rng.randint(1, 2)):
            op = rng.randrange(6)
            i = rng.randrange(len(f))
            if op == 0:
                del f[i]
            elif op == 1:
                f.insert(rng.randrange(len(f) + 1), f[i])  # a repeat
            elif op == 2:
                j = rng.randrange(len(f))
                f[i], f[j] = f[j], f[i]
            elif op == 3:
                f[i] = (f[i][0], rng.choice(_corpus(rng, 2)))
            elif op == 4:
                f.insert(rng.randrange(len(f) + 1), (rng.choice(tags), rng.choice(_VALUES)))
            else:
                f.append((rng.choice(HEADER_TAGS), "Y"))
            if not f:
                f = [(11, "x")]
        out.append(FixMessage(base.msg_type, tuple(f)))
    return out


def _bases() -> list[FixMessage]:
    return [
        order(), order(_38="0", _44="-1"), order(_40="1", _44=""), snapshot(),
        FixMessage("F", (*HDR, (41, "c0"), (11, "c1"), (55, "X"), (54, "2"), (60, TS))),
        FixMessage("q", (*HDR, (11, "m"), (530, "7"), (60, TS))),
        FixMessage("A", (*HDR, (98, "0"), (108, "30"), (553, "1"), (5012, "ab"))),
        FixMessage("8", (*HDR, (37, "5"), (11, "c"), (17, "1.1"), (150, "0"), (39, "0"),
                         (1, "1"), (55, "X"), (54, "1"), (38, "4"), (40, "2"), (44, "9"),
                         (59, "1"), (151, "4"), (14, "0"), (6, "0"), (5001, "sequenced"))),
    ]  # fmt: skip


def test_validate_fast_path_equals_field_by_field() -> None:
    rng = random.Random(SEED)
    for base in _bases():
        spec = MESSAGES[base.msg_type]
        for msg in _mutants(rng, base, 300):
            fast = _outcome(lambda: validate(msg))  # noqa: B023
            slow = _outcome(lambda: codec._validate_checked(msg, spec))  # noqa: B023
            assert fast == slow, msg


_TAG_VALUES = {int(t) for t in Tag}


def test_encode_fast_path_equals_checked() -> None:
    rng = random.Random(SEED)
    for base in _bases():
        for msg in _mutants(rng, base, 150):
            as_tags = tuple((Tag(t) if t in _TAG_VALUES else t, v) for t, v in msg.fields)
            variants = [msg, FixMessage("", msg.fields), FixMessage("D|", msg.fields),
                        FixMessage(msg.msg_type, ((35, "D"), *msg.fields)),
                        FixMessage(msg.msg_type, as_tags)]  # fmt: skip
            for m in variants:
                for delim in (SOH, "|"):
                    fast = _outcome(lambda: encode_tagvalue(m, delim))  # noqa: B023
                    slow = _outcome(lambda: codec._encode_tagvalue_checked(m, delim))  # noqa: B023
                    assert fast == slow, (m, delim)


def _decode_reference(text: str, delim: str) -> FixMessage:
    """``decode_tagvalue`` without the one-step split: the field-by-field loop only."""
    if delim == "|" and SOH in text:
        raise DecodeError("SOH inside a '|'-delimited message", R.VALUE_CONTAINS_DELIMITER)
    if not text.endswith(delim):
        raise DecodeError("frame does not end with a field delimiter")
    parts = text[:-1].split(delim)
    return codec._decode_pairs(text, parts, codec._split_pairs(parts))


def test_decode_fast_path_equals_field_by_field() -> None:
    rng = random.Random(SEED)
    junk = ["=", "0=", "011=", "x=", "99999=", "1234567890=", "", "|", "\x01", "55", "10=000"]
    for base in _bases():
        for delim in (SOH, "|"):
            good = encode_tagvalue(base, delim)
            texts = [good]
            for _ in range(200):
                t = good
                i = rng.randrange(len(t))
                op = rng.randrange(3)
                if op == 0:
                    t = t[:i] + t[i + 1 :]
                elif op == 1:
                    t = t[:i] + rng.choice(junk) + t[i:]
                else:
                    t = t[:i] + rng.choice(_ALPHABET) + t[i + 1 :]
                texts.append(t)
            for t in texts:
                fast = _outcome(lambda: decode_tagvalue(t, delim))  # noqa: B023
                slow = _outcome(lambda: _decode_reference(t, delim))  # noqa: B023
                assert fast == slow, t


def _parse_reference(text: str) -> int:
    """``parse_utc_timestamp`` without the one-entry cache (the formula it caches)."""
    m = codec._TS_RE.fullmatch(text)
    if m is None:
        raise ValueError(text)
    year, mon, day, hh, mm, ss = (int(g) for g in m.groups())
    stamp = datetime.datetime(year, mon, day, hh, mm, min(ss, 59), tzinfo=datetime.UTC)
    frac = text[18:]
    return (int(stamp.timestamp()) + (ss == 60)) * 10**9 + (int(frac.ljust(9, "0")) if frac else 0)


def test_parse_utc_timestamp_cache_equals_uncached() -> None:
    rng = random.Random(SEED)
    base = 1_767_268_800 * 10**9
    stamps = [format_utc_timestamp(base + rng.randrange(3 * 10**9)) for _ in range(300)]
    stamps += [s[:17] for s in stamps[:20]] + [s + "123456" for s in stamps[:20]]
    stamps += ["20261231-23:59:60.500", "20260230-00:00:00", "20260230-00:00:00.000",
               "20260101-12:00:00.1", "garbage", "20270101-00:00:00.000"]  # fmt: skip
    for text in [*stamps, *rng.sample(stamps, len(stamps))]:
        assert _outcome(lambda: _value_or_error(parse_utc_timestamp, text)) == _outcome(  # noqa: B023
            lambda: _value_or_error(_parse_reference, text)  # noqa: B023
        ), text


def _value_or_error(fn: Callable[[str], int], text: str) -> object:
    try:
        return fn(text)
    except ValueError:
        return "ValueError"


def test_built_messages_stay_out_of_the_collector() -> None:
    """``gc=False``: the gateway keeps many messages alive (FixMessage docstring)."""
    msg = FixMessage("8", ((37, "1"),))
    assert not gc.is_tracked(msg)
    assert encode_tagvalue(msg, "|") == encode_tagvalue(FixMessage("8", ((Tag.OrderID, "1"),)), "|")
