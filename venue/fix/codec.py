"""FIX 4.4 messages in two text encodings, and their validation against ``fields``.

One in-memory type, ``FixMessage``: the MsgType plus the ordered (tag, value) pairs of the
header and body, repeating groups flattened exactly as tag=value carries them (NumInGroup,
then each entry starting with its delimiter tag). Flat pairs keep tag=value round trips
byte-exact; the JSON encoding nests groups using the group layout in ``fields.MESSAGES``.

Encodings (``Encoding``), fixed per connection:

* ``TAGVALUE_SOH``: classic ``8=FIX.4.4<SOH>9=<len><SOH>35=...<SOH>10=<sum><SOH>``.
  BodyLength(9) counts the UTF-8 bytes from the field after BodyLength up to and including
  the delimiter before CheckSum(10); CheckSum is the byte sum of everything before ``10=``,
  modulo 256, written as three digits.
* ``TAGVALUE_PIPE``: the same with ``|`` as the delimiter, because people type and log FIX
  that way. BodyLength and CheckSum are computed **as if every delimiter were SOH**, so a
  pipe message and its SOH twin carry the same BodyLength and CheckSum and a client can
  swap delimiters without recomputing anything. SOH is forbidden inside a pipe message.
* ``JSON``: the FIX JSON encoding ``{"Header":{...},"Body":{...},"Trailer":{}}``, names from
  the FIX repository, every value a string, groups as arrays of objects under the
  NumInGroup name (``"NoMDEntries": [{"MDEntryType": "0", ...}]``). JSON has no BodyLength
  or CheckSum; if a client sends them they are ignored. Custom fields may be named by
  their tag number as a string (``"5999"``) when they have no name.

Values may never contain SOH, ``|`` or another control character, whatever the
encoding: a value accepted in one encoding must be writable in the other.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from .errors import DecodeError, EncodeError, MessageTooLarge, ValidationError
from .fields import (
    BEGIN_STRING,
    FIELDS,
    FIELDS_BY_NAME,
    HEADER_TAGS,
    MESSAGES,
    BusinessRejectReason,
    Field,
    FieldType,
    GroupSpec,
    MessageSpec,
    SessionRejectReason,
    Tag,
)

__all__ = [
    "DEFAULT_MAX_SIZE",
    "SOH",
    "Codec",
    "Encoding",
    "FixMessage",
    "checksum",
    "decode_json",
    "decode_tagvalue",
    "detect_encoding",
    "encode_json",
    "encode_tagvalue",
    "format_utc_timestamp",
    "parse_utc_timestamp",
    "validate",
]

SOH = "\x01"
PIPE = "|"
#: Default frame size limit in bytes; an order is ~200 bytes, a big market data reply ~8 KiB.
DEFAULT_MAX_SIZE = 16 * 1024

_R = SessionRejectReason
_HEADER_SET = frozenset(HEADER_TAGS)
_FRAME_TAGS = frozenset({Tag.BeginString, Tag.BodyLength, Tag.MsgType, Tag.CheckSum})
_REQUIRED_HEADER = (Tag.SenderCompID, Tag.TargetCompID, Tag.MsgSeqNum, Tag.SendingTime)
_TAG_RE = re.compile(r"[1-9][0-9]{0,8}")
_BAD_CHARS_RE = re.compile(r"[\x00-\x1f\x7f|]")
# Numbers are capped in length so that no value can make int()/Decimal() do real work.
_INT_RE = re.compile(r"-?[0-9]{1,18}")
_UINT_RE = re.compile(r"[0-9]{1,18}")
_FLOAT_RE = re.compile(r"-?(?:[0-9]{1,20}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})")
_SUM_RE = re.compile(r"[0-9]{3}")
_TS_RE = re.compile(
    r"([0-9]{4})([0-9]{2})([0-9]{2})-([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.(?:[0-9]{3}|[0-9]{6}|[0-9]{9}))?"
)


class Encoding(enum.Enum):
    """Wire encoding of one connection, detected from its first frame."""

    JSON = "json"
    TAGVALUE_SOH = "tagvalue-soh"
    TAGVALUE_PIPE = "tagvalue-pipe"

    @property
    def delimiter(self) -> str | None:
        """Field delimiter of a tag=value encoding, None for JSON."""
        return {"tagvalue-soh": SOH, "tagvalue-pipe": PIPE}.get(self.value)


def _to_value(value: object) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


class FixMessage(msgspec.Struct, frozen=True, gc=False):
    """MsgType plus ordered (tag, value) pairs of header and body; all values are strings.

    BeginString, BodyLength and CheckSum are not stored: they belong to the framing and the
    codec computes them. Repeating groups stay flat, in wire order.

    ``gc=False``: a message holds only strings and tuples of (int, str), so it can never be
    part of a reference cycle, and the gateway keeps tens of thousands alive (resend store,
    first reports): tracked, they made the collector's full passes a large share of the
    gateway's CPU. Build ``fields`` with plain ``int`` tags on long-lived messages for the
    same reason (a ``Tag`` member is a tracked object, so its pair stays tracked).
    """

    msg_type: str
    fields: tuple[tuple[int, str], ...] = ()

    @classmethod
    def create(
        cls, msg_type: str, pairs: Iterable[tuple[int | str, object]] = (), **named: object
    ) -> FixMessage:
        """Build a message from (tag or FIX name, value) pairs and then ``Name=value`` kwargs.

        Values are turned into FIX strings: bool -> Y/N, Decimal -> plain notation.
        Raises ``EncodeError`` for a name the dictionary does not know.
        """
        out: list[tuple[int, str]] = []
        for key, value in (*pairs, *named.items()):
            if isinstance(key, str):
                field = FIELDS_BY_NAME.get(key)
                if field is None:
                    raise EncodeError(f"unknown FIX field name {key!r}")
                tag = field.tag
            else:
                tag = int(key)
            out.append((tag, _to_value(value)))
        return cls(msg_type, tuple(out))

    def get(self, tag: int, default: str | None = None) -> str | None:
        """Value of the first occurrence of ``tag``, else ``default``."""
        for t, v in self.fields:
            if t == tag:
                return v
        return default

    def get_all(self, tag: int) -> list[str]:
        """Every value of ``tag`` in order (a tag repeats only inside repeating groups)."""
        return [v for t, v in self.fields if t == tag]

    def has(self, tag: int) -> bool:
        """Whether ``tag`` occurs at least once."""
        return any(t == tag for t, _ in self.fields)

    def groups(self, count_tag: int) -> list[list[tuple[int, str]]]:
        """Entries of the repeating group opened by ``count_tag``, using the dictionary layout.

        Only meaningful on a message that passed ``validate``.
        """
        spec = MESSAGES.get(self.msg_type)
        group = next((g for g in spec.groups if g.count_tag == count_tag), None) if spec else None
        if group is None:
            return []
        entries: list[list[tuple[int, str]]] = []
        inside = False
        allowed = group.all_tags
        for tag, value in self.fields:
            if tag == count_tag:
                inside = True
                continue
            if not inside:
                continue
            if tag == group.first_tag:
                entries.append([(tag, value)])
            elif tag in allowed and entries:
                entries[-1].append((tag, value))
            else:
                inside = False
        return entries

    def with_header(self, updates: Mapping[int, str], drop: Iterable[int] = ()) -> FixMessage:
        """Copy with header ``updates`` set (replaced in place or appended to the header).

        Used to stamp MsgSeqNum/SendingTime and to mark resends (PossDupFlag,
        OrigSendingTime) without touching the body.
        """
        dropped = set(drop)
        pending = dict(updates)
        header: list[tuple[int, str]] = []
        body: list[tuple[int, str]] = []
        for tag, value in self.fields:
            if tag in dropped:
                continue
            if tag in _HEADER_SET:
                header.append((tag, pending.pop(tag, value)))
            else:
                body.append((tag, value))
        header.extend((int(t), v) for t, v in pending.items())  # plain ints: see class doc
        header.sort(key=lambda tv: HEADER_TAGS.index(tv[0]) if tv[0] in _HEADER_SET else 99)
        return FixMessage(self.msg_type, (*header, *body))


def checksum(data: str) -> int:
    """FIX CheckSum of ``data`` (everything before ``10=``), with ``|`` counted as SOH."""
    raw = data.encode()
    return (sum(raw) - raw.count(b"|") * (ord(PIPE) - 1)) % 256


def format_utc_timestamp(now_ns: int) -> str:
    """FIX UTCTimestamp with milliseconds for a time given in ns since the Unix epoch."""
    secs, rem = divmod(now_ns, 1_000_000_000)
    stamp = _dt.datetime.fromtimestamp(secs, tz=_dt.UTC)
    return f"{stamp:%Y%m%d-%H:%M:%S}.{rem // 1_000_000:03d}"


#: (text[:17], its whole seconds) of the last timestamp parsed: every order carries one or
#: two stamps and a client sends many per second, so the datetime arithmetic is mostly skipped
_parsed_second: tuple[str, int] = ("", 0)


def parse_utc_timestamp(text: str) -> int:
    """ns since the Unix epoch of a FIX UTCTimestamp; raises ``ValueError`` if malformed."""
    global _parsed_second
    m = _TS_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"not a FIX UTCTimestamp: {text[:30]!r}")
    head, secs = _parsed_second
    if text[:17] != head:  # "YYYYMMDD-HH:MM:SS" fixes the whole seconds
        year, mon, day, hh, mm, ss = (int(g) for g in m.groups())
        stamp = _dt.datetime(year, mon, day, hh, mm, min(ss, 59), tzinfo=_dt.UTC)
        secs = int(stamp.timestamp()) + (ss == 60)
        _parsed_second = (text[:17], secs)  # only reached when datetime() accepted it
    frac = text[18:]  # digits after "YYYYMMDD-HH:MM:SS."
    frac_ns = int(frac.ljust(9, "0")) if frac else 0
    return secs * 1_000_000_000 + frac_ns


def detect_encoding(text: str) -> Encoding:
    """Encoding of a first frame: ``{`` means JSON, ``8=FIX.4.4`` + delimiter tag=value."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return Encoding.JSON
    prefix = f"8={BEGIN_STRING}"
    if text.startswith(prefix) and len(text) > len(prefix):
        delim = text[len(prefix)]
        if delim == SOH:
            return Encoding.TAGVALUE_SOH
        if delim == PIPE:
            return Encoding.TAGVALUE_PIPE
    raise DecodeError("frame is neither FIX JSON nor FIX.4.4 tag=value")


# --------------------------------------------------------------------------- tag=value


def _ordered_fields(msg: FixMessage) -> list[tuple[int, str]]:
    header = [tv for tv in msg.fields if tv[0] in _HEADER_SET]
    body = [tv for tv in msg.fields if tv[0] not in _HEADER_SET]
    return header + body


def _header_first(fields: tuple[tuple[int, str], ...]) -> Sequence[tuple[int, str]]:
    """``fields`` in ``_ordered_fields`` order, without copying when already so (the
    session stamps the header in front of a body-only message: the usual case)."""
    header = [tv for tv in fields if tv[0] in _HEADER_SET]
    if tuple(header) == fields[: len(header)]:
        return fields
    return header + [tv for tv in fields if tv[0] not in _HEADER_SET]


def _check_out_value(tag: int, value: str) -> None:
    if not value:
        raise EncodeError(f"tag {tag} has an empty value")
    if _BAD_CHARS_RE.search(value):
        raise EncodeError(f"tag {tag} value contains a delimiter or control character")


#: "tag=" of every dictionary tag the caller may write (not the framing tags)
_PREFIX: dict[int, str] = {tag: f"{tag}=" for tag in FIELDS if tag not in _FRAME_TAGS}
#: Characters ``_check_out_value`` refuses, except the message's own delimiter (counted).
_BAD_BUT_DELIMITER = {
    PIPE: re.compile(r"[\x00-\x1f\x7f]"),
    SOH: re.compile(r"[\x00\x02-\x1f\x7f|]"),
}


def encode_tagvalue(msg: FixMessage, delimiter: str = SOH) -> str:
    """Encode as tag=value text; header fields are written first whatever their order."""
    if delimiter not in (SOH, PIPE):
        raise EncodeError("delimiter must be SOH or '|'")
    # Fast path: join first, then check the whole text at once instead of each value. It is
    # exact: the text holds one delimiter per field unless a value holds one, "=" + delimiter
    # only after an empty value (or a value ending in "=", which merely takes the slow path),
    # and nothing else but digits and "=" besides the values; a framing tag, or one outside
    # the dictionary, is not in ``_PREFIX``. Anything doubtful goes through
    # ``_encode_tagvalue_checked``, which raises the same error as always, or gives the same
    # text.
    fields = _header_first(msg.fields)
    try:
        items = [_PREFIX[t] + v for t, v in fields]
    except (KeyError, TypeError):
        return _encode_tagvalue_checked(msg, delimiter)
    body = delimiter.join(["35=" + msg.msg_type, *items, ""])
    if (
        body.count(delimiter) != len(fields) + 1
        or f"={delimiter}" in body
        or _BAD_BUT_DELIMITER[delimiter].search(body) is not None
    ):
        return _encode_tagvalue_checked(msg, delimiter)
    size = len(body) if body.isascii() else len(body.encode())
    head = f"8={BEGIN_STRING}{delimiter}9={size}{delimiter}"
    return f"{head}{body}10={checksum(head + body):03d}{delimiter}"


def _encode_tagvalue_checked(msg: FixMessage, delimiter: str) -> str:
    """``encode_tagvalue`` checking field by field: the reference, and the error path."""
    _check_out_value(Tag.MsgType, msg.msg_type)
    parts = [f"35={msg.msg_type}"]
    for tag, value in _ordered_fields(msg):
        if tag in _FRAME_TAGS:
            raise EncodeError(f"tag {tag} is written by the codec, not by the caller")
        _check_out_value(tag, value)
        parts.append(f"{tag}={value}")
    body = delimiter.join(parts) + delimiter
    head = f"8={BEGIN_STRING}{delimiter}9={len(body.encode())}{delimiter}"
    return f"{head}{body}10={checksum(head + body):03d}{delimiter}"


def _seq_of(pairs: Iterable[tuple[int, str]]) -> int | None:
    for tag, value in pairs:
        if tag == Tag.MsgSeqNum and _UINT_RE.fullmatch(value):
            return int(value)
    return None


#: Tag text -> plain int for every dictionary tag: a dict hit instead of a regex and int()
#: per field. Other tags still go through ``_TAG_RE``.
_TAG_INTS: dict[str, int] = {str(tag): int(tag) for tag in FIELDS}


def decode_tagvalue(text: str, delimiter: str = SOH) -> FixMessage:
    """Parse one tag=value message, checking framing, BodyLength and CheckSum.

    Raises ``DecodeError`` on anything that makes the frame unreadable; dictionary checks
    are ``validate``'s job, so an unknown but well-formed tag passes here.
    """
    other = PIPE if delimiter == SOH else SOH
    if other == SOH and SOH in text:
        raise DecodeError("SOH inside a '|'-delimited message", _R.VALUE_CONTAINS_DELIMITER)
    if not text.endswith(delimiter):
        raise DecodeError("frame does not end with a field delimiter")
    parts = text[:-1].split(delimiter)
    try:
        # Every field "tag=value" with a dictionary tag: no per-field Python loop. A field
        # without "=" fails to unpack, any other tag misses the table: the loop below then
        # raises the same error as always, or reads the tag outside the dictionary.
        pairs = [(_TAG_INTS[t], v) for t, v in [part.split("=", 1) for part in parts]]
    except (KeyError, ValueError):
        pairs = _split_pairs(parts)
    return _decode_pairs(text, parts, pairs)


def _split_pairs(parts: list[str]) -> list[tuple[int, str]]:
    """(tag, value) of each "tag=value" field; the reference, and the error path."""
    pairs: list[tuple[int, str]] = []
    for part in parts:
        tag_text, eq, value = part.partition("=")
        if not eq:
            raise DecodeError(f"field {part[:20]!r} has no '='", seq_num=_seq_of(pairs))
        tag = _TAG_INTS.get(tag_text)
        if tag is None:
            if not _TAG_RE.fullmatch(tag_text):
                raise DecodeError(
                    f"invalid tag number {tag_text[:20]!r}",
                    _R.INVALID_TAG_NUMBER,
                    seq_num=_seq_of(pairs),
                )
            tag = int(tag_text)
        pairs.append((tag, value))
    return pairs


def _decode_pairs(text: str, parts: list[str], pairs: list[tuple[int, str]]) -> FixMessage:
    """The framing checks of ``decode_tagvalue`` on its split fields."""
    if len(pairs) < 4:
        raise DecodeError("frame is too short to be a FIX message")
    seq = _seq_of(pairs)
    (t0, begin), (t1, length), (t2, msg_type), (tn, sum_text) = (
        pairs[0],
        pairs[1],
        pairs[2],
        pairs[-1],
    )
    if t0 != Tag.BeginString or begin != BEGIN_STRING:
        raise DecodeError("first field must be 8=FIX.4.4", _R.VALUE_INCORRECT, tag=8, seq_num=seq)
    if t1 != Tag.BodyLength or not _UINT_RE.fullmatch(length):
        raise DecodeError(
            "second field must be BodyLength(9)", _R.TAG_OUT_OF_ORDER, tag=9, seq_num=seq
        )
    if t2 != Tag.MsgType:
        raise DecodeError(
            "third field must be MsgType(35)", _R.TAG_OUT_OF_ORDER, tag=35, seq_num=seq
        )
    if tn != Tag.CheckSum or not _SUM_RE.fullmatch(sum_text):
        raise DecodeError(
            "last field must be CheckSum(10) with 3 digits", tag=10, seq_num=seq, msg_type=msg_type
        )
    for tag, _ in pairs[3:-1]:
        if tag in _FRAME_TAGS:
            raise DecodeError(
                f"framing tag {tag} inside the body",
                _R.TAG_OUT_OF_ORDER,
                tag=tag,
                seq_num=seq,
                msg_type=msg_type,
            )
    body_start = len(parts[0]) + len(parts[1]) + 2
    trailer_start = len(text) - len(parts[-1]) - 1
    body = text[body_start:trailer_start]
    if (len(body) if body.isascii() else len(body.encode())) != int(length):
        raise DecodeError(
            "BodyLength(9) does not match the body", tag=9, seq_num=seq, msg_type=msg_type
        )
    if checksum(text[:trailer_start]) != int(sum_text):
        raise DecodeError("CheckSum(10) mismatch", tag=10, seq_num=seq, msg_type=msg_type)
    return FixMessage(msg_type, tuple(pairs[3:-1]))


# --------------------------------------------------------------------------- JSON


def _name(tag: int) -> str:
    field = FIELDS.get(tag)
    return field.name if field is not None else str(tag)


def _group_of(spec: MessageSpec | None, count_tag: int) -> GroupSpec | None:
    if spec is None:
        return None
    return next((g for g in spec.groups if g.count_tag == count_tag), None)


def encode_json(msg: FixMessage) -> str:
    """Encode in the FIX JSON encoding; groups known to the dictionary become arrays."""
    _check_out_value(Tag.MsgType, msg.msg_type)
    spec = MESSAGES.get(msg.msg_type)
    header: dict[str, Any] = {"BeginString": BEGIN_STRING, "MsgType": msg.msg_type}
    body: dict[str, Any] = {}
    fields = _ordered_fields(msg)
    i = 0
    while i < len(fields):
        tag, value = fields[i]
        if tag in _FRAME_TAGS:
            raise EncodeError(f"tag {tag} is written by the codec, not by the caller")
        _check_out_value(tag, value)
        target = header if tag in _HEADER_SET else body
        name = _name(tag)
        if name in target:
            raise EncodeError(f"tag {tag} repeated outside a known repeating group")
        group = _group_of(spec, tag)
        if group is None:
            target[name] = value
            i += 1
            continue
        entries: list[dict[str, str]] = []
        i += 1
        while i < len(fields) and fields[i][0] in group.all_tags:
            ftag, fval = fields[i]
            _check_out_value(ftag, fval)
            if ftag == group.first_tag or not entries:
                entries.append({})
            entries[-1][_name(ftag)] = fval
            i += 1
        if str(len(entries)) != value:
            raise EncodeError(f"NumInGroup({tag})={value} but {len(entries)} entries follow")
        target[name] = entries
    return msgspec.json.encode({"Header": header, "Body": body, "Trailer": {}}).decode()


def _pairs_no_dup(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Duplicate names must be refused (reason 13); a plain dict would keep the last silently.
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateName(key)
        seen[key] = value
    return seen


class _DuplicateName(Exception):
    pass


def _json_tag(name: str, seq: int | None) -> int:
    field = FIELDS_BY_NAME.get(name)
    if field is not None:
        return field.tag
    if _TAG_RE.fullmatch(name):
        return int(name)
    raise DecodeError(f"unknown field name {name[:40]!r}", _R.INVALID_TAG_NUMBER, seq_num=seq)


def _json_section(
    section: dict[str, Any], spec: MessageSpec | None, seq: int | None
) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for name, value in section.items():
        tag = _json_tag(name, seq)
        if isinstance(value, str):
            out.append((tag, value))
            continue
        group = _group_of(spec, tag)
        if group is None or not isinstance(value, list):
            raise DecodeError(
                f"{name} must be a string", _R.INCORRECT_DATA_FORMAT, tag=tag, seq_num=seq
            )
        out.append((tag, str(len(value))))
        for entry in value:
            if not isinstance(entry, dict):
                raise DecodeError(
                    f"{name} entries must be objects",
                    _R.INCORRECT_DATA_FORMAT,
                    tag=tag,
                    seq_num=seq,
                )
            items = [(_json_tag(k, seq), v) for k, v in entry.items()]
            # JSON objects are unordered: put the group delimiter first, as tag=value needs.
            items.sort(key=lambda tv: tv[0] != group.first_tag)
            for etag, evalue in items:
                if not isinstance(evalue, str):
                    raise DecodeError(
                        "group values must be strings",
                        _R.INCORRECT_DATA_FORMAT,
                        tag=etag,
                        seq_num=seq,
                    )
                out.append((etag, evalue))
    return out


def decode_json(text: str) -> FixMessage:
    """Parse one FIX JSON message; raises ``DecodeError`` when it is not one."""
    try:
        doc = json.loads(text, object_pairs_hook=_pairs_no_dup)
    except _DuplicateName as exc:
        raise DecodeError(f"duplicate name {exc.args[0]!r}", _R.TAG_APPEARS_MORE_THAN_ONCE) from exc
    except (ValueError, RecursionError) as exc:
        raise DecodeError("frame is not valid JSON") from exc
    if not isinstance(doc, dict) or not set(doc) <= {"Header", "Body", "Trailer"}:
        raise DecodeError("FIX JSON must be an object with Header, Body and Trailer")
    header, body = doc.get("Header"), doc.get("Body", {})
    trailer = doc.get("Trailer", {})
    if not isinstance(header, dict) or not isinstance(body, dict) or not isinstance(trailer, dict):
        raise DecodeError("Header, Body and Trailer must be objects")
    header = dict(header)
    seq_text = header.get("MsgSeqNum")
    seq = int(seq_text) if isinstance(seq_text, str) and _UINT_RE.fullmatch(seq_text) else None
    msg_type = header.pop("MsgType", None)
    if not isinstance(msg_type, str):
        raise DecodeError("Header.MsgType missing", _R.REQUIRED_TAG_MISSING, tag=35, seq_num=seq)
    begin = header.pop("BeginString", BEGIN_STRING)
    if begin != BEGIN_STRING:
        raise DecodeError("BeginString must be FIX.4.4", _R.VALUE_INCORRECT, tag=8, seq_num=seq)
    header.pop("BodyLength", None)
    spec = MESSAGES.get(msg_type)
    pairs = _json_section(header, spec, seq) + _json_section(body, spec, seq)
    for tag, _ in pairs:
        if tag in _FRAME_TAGS:
            raise DecodeError(
                f"framing tag {tag} in the wrong place",
                _R.TAG_OUT_OF_ORDER,
                tag=tag,
                seq_num=seq,
                msg_type=msg_type,
            )
    return FixMessage(msg_type, tuple(pairs))


# --------------------------------------------------------------------------- validation


def _check_value(tag: int, value: str) -> None:
    field = FIELDS[tag]
    if value == "":
        raise ValidationError(f"tag {tag} has no value", _R.TAG_WITHOUT_VALUE, tag=tag)
    if _BAD_CHARS_RE.search(value):
        raise ValidationError(
            f"tag {tag} value contains a delimiter or control character",
            _R.VALUE_CONTAINS_DELIMITER,
            tag=tag,
        )
    kind = field.type
    ok = True
    if kind is FieldType.INT:
        ok = _INT_RE.fullmatch(value) is not None
    elif kind in (FieldType.SEQNUM, FieldType.LENGTH, FieldType.NUMINGROUP):
        ok = _UINT_RE.fullmatch(value) is not None
    elif kind in (FieldType.PRICE, FieldType.QTY, FieldType.FLOAT):
        ok = _FLOAT_RE.fullmatch(value) is not None
    elif kind is FieldType.CHAR:
        ok = len(value) == 1
    elif kind is FieldType.BOOLEAN:
        ok = value in ("Y", "N")
    elif kind is FieldType.UTCTIMESTAMP:
        m = _TS_RE.fullmatch(value)
        ok = m is not None
        if m is not None:
            _, mon, day, hh, mm, ss = (int(g) for g in m.groups())
            ok = 1 <= mon <= 12 and 1 <= day <= 31 and hh < 24 and mm < 60 and ss <= 60
    elif kind is FieldType.MULTIPLEVALUESTRING:
        ok = all(value.split(" "))
    if not ok:
        raise ValidationError(
            f"{field.name}({tag}) has the wrong format for {kind.value}",
            _R.INCORRECT_DATA_FORMAT,
            tag=tag,
        )
    if field.values is not None:
        tokens = value.split(" ") if kind is FieldType.MULTIPLEVALUESTRING else [value]
        if any(token not in field.values for token in tokens):
            raise ValidationError(
                f"{field.name}({tag})={value!r} is not an allowed value",
                _R.VALUE_INCORRECT,
                tag=tag,
            )


def _accept_pattern(field: Field) -> str:
    """A regex whose full matches are exactly the values ``_check_value`` accepts for
    ``field`` (tests/test_coverage_fix_codec.py compares the two on many values)."""
    ok = r"[^\x00-\x1f\x7f|]"  # what _BAD_CHARS_RE allows
    kind = field.type
    if field.values is not None:
        if kind is FieldType.MULTIPLEVALUESTRING:
            token = re.compile(r"[^\x00-\x1f\x7f| ]+")
            tokens = sorted(v for v in field.values if token.fullmatch(v))
            alt = "|".join(map(re.escape, tokens)) or "(?!)"
            return f"(?:{alt})(?: (?:{alt}))*"
        good = []
        for v in sorted(field.values):
            try:
                _check_value(field.tag, v)
            except ValidationError:
                continue
            good.append(re.escape(v))
        return "|".join(good) or "(?!)"
    if kind is FieldType.INT:
        return _INT_RE.pattern
    if kind in (FieldType.SEQNUM, FieldType.LENGTH, FieldType.NUMINGROUP):
        return _UINT_RE.pattern
    if kind in (FieldType.PRICE, FieldType.QTY, FieldType.FLOAT):
        return _FLOAT_RE.pattern
    if kind is FieldType.CHAR:
        return ok
    if kind is FieldType.BOOLEAN:
        return "Y|N"
    if kind is FieldType.UTCTIMESTAMP:
        return (
            r"[0-9]{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])-(?:[01][0-9]|2[0-3]):[0-5][0-9]"
            r":(?:[0-5][0-9]|60)(?:\.(?:[0-9]{3}|[0-9]{6}|[0-9]{9}))?"
        )
    if kind is FieldType.MULTIPLEVALUESTRING:
        return r"[^\x00-\x1f\x7f| ]+(?: [^\x00-\x1f\x7f| ]+)*"
    return f"{ok}+"


#: tag -> fullmatch of ``_accept_pattern``: one regex call accepts a good value; only a
#: value it refuses goes through ``_check_value`` (which then raises the precise error).
_ACCEPT: dict[int, Callable[[str], re.Match[str] | None]] = {
    tag: re.compile(_accept_pattern(field)).fullmatch for tag, field in FIELDS.items()
}
#: MsgType -> (top-level body tags, NumInGroup tag -> group, required tags incl. header):
#: ``MessageSpec.body_tags`` builds a new frozenset on every call.
_SPEC_TABLES: dict[str, tuple[frozenset[int], dict[int, GroupSpec], tuple[int, ...]]] = {
    t: (
        spec.body_tags,
        {g.count_tag: g for g in reversed(spec.groups)},  # first one wins, as in _group_of
        (*_REQUIRED_HEADER, *spec.required),
    )
    for t, spec in MESSAGES.items()
}


def _walk_group(fields: tuple[tuple[int, str], ...], i: int, group: GroupSpec, count: int) -> int:
    """Check ``count`` entries starting at ``i``; return the index after the group."""
    allowed = group.all_tags
    for _ in range(count):
        if i >= len(fields) or fields[i][0] not in allowed:
            raise ValidationError(
                f"NumInGroup({group.count_tag}) is larger than the entries sent",
                _R.INCORRECT_NUM_IN_GROUP,
                tag=group.count_tag,
            )
        if fields[i][0] != group.first_tag:
            raise ValidationError(
                f"group entry must start with tag {group.first_tag}",
                _R.GROUP_FIELDS_OUT_OF_ORDER,
                tag=fields[i][0],
            )
        seen: set[int] = set()
        while i < len(fields) and fields[i][0] in allowed:
            tag, value = fields[i]
            if tag == group.first_tag and seen:
                break
            if tag in seen:
                raise ValidationError(
                    f"tag {tag} twice in one group entry", _R.TAG_APPEARS_MORE_THAN_ONCE, tag=tag
                )
            seen.add(tag)
            _check_value(tag, value)
            i += 1
    if i < len(fields) and fields[i][0] == group.first_tag:
        raise ValidationError(
            f"NumInGroup({group.count_tag}) is smaller than the entries sent",
            _R.INCORRECT_NUM_IN_GROUP,
            tag=group.count_tag,
        )
    return i


def _positive(msg: FixMessage, tag: int) -> None:
    value = msg.get(tag)
    if value is not None and Decimal(value) <= 0:
        raise ValidationError(f"{_name(tag)}({tag}) must be positive", _R.VALUE_INCORRECT, tag=tag)


def _check_order(msg: FixMessage) -> None:
    """Rules a FIX engine checks for D/G before the venue sees them."""
    _positive(msg, Tag.OrderQty)
    _positive(msg, Tag.Price)
    ord_type = msg.get(Tag.OrdType)
    if ord_type == "2" and not msg.has(Tag.Price):
        raise ValidationError(
            "Price(44) is required for a limit order",
            tag=Tag.Price,
            business_reason=BusinessRejectReason.CONDITIONALLY_REQUIRED_FIELD_MISSING,
        )
    if ord_type == "1" and msg.has(Tag.Price):
        raise ValidationError(
            "Price(44) is not allowed on a market order",
            _R.TAG_NOT_DEFINED_FOR_MESSAGE,
            tag=Tag.Price,
        )


def _valid_flat(
    fields: tuple[tuple[int, str], ...], body_tags: frozenset[int], required: tuple[int, ...]
) -> bool:
    """True only if ``validate``'s loop and required-tag checks pass on a message type with
    no repeating groups: header tags, then body tags of this type, none twice, every value
    accepted, every required tag there. Set operations instead of a step per field; False
    sends the message through the loop, which then finds the first problem in field order.
    """
    tags = [t for t, _ in fields]
    unique = set(tags)
    if len(unique) != len(tags) or not unique.issuperset(required):
        return False
    header = len(_HEADER_SET.intersection(unique))  # must be exactly the first ones
    if not (_HEADER_SET.issuperset(tags[:header]) and body_tags.issuperset(tags[header:])):
        return False
    accept = _ACCEPT
    for tag, value in fields:
        check = accept.get(tag)  # every header and body tag has one unless the tables lie
        if check is None or check(value) is None:
            return False
    return True


def validate(msg: FixMessage) -> None:
    """Check ``msg`` against the dictionary; raise ``ValidationError`` with a FIX reason.

    Order of checks, first failure wins: MsgType known (11); header before body (14); every
    tag known (0) and allowed in this MsgType (2); no repeats (13); value present (4), no
    delimiter (17), right format (6), allowed enum value (5); groups (15, 16); required
    header and body fields (1); then per-type rules (price on limit orders, positive qty).
    """
    spec = MESSAGES.get(msg.msg_type)
    if spec is None:
        raise ValidationError(
            f"unknown MsgType {msg.msg_type[:10]!r}", _R.INVALID_MSG_TYPE, tag=Tag.MsgType
        )
    body_tags, groups, required = _SPEC_TABLES[spec.msg_type]
    if not groups and _valid_flat(msg.fields, body_tags, required):
        if spec.msg_type in ("D", "G"):
            _check_order(msg)
        return
    _validate_checked(msg, spec)


def _validate_checked(msg: FixMessage, spec: MessageSpec) -> None:
    """``validate`` field by field: the reference, and the path that finds the error."""
    body_tags, groups, required = _SPEC_TABLES[spec.msg_type]
    fields = msg.fields
    seen: set[int] = set()
    i = 0
    n = len(fields)
    in_header = True
    accept = _ACCEPT
    while i < n:
        tag, value = fields[i]
        if tag not in FIELDS:
            raise ValidationError(f"tag {tag} is not defined", _R.INVALID_TAG_NUMBER, tag=tag)
        if tag in _HEADER_SET:
            if not in_header:
                raise ValidationError(
                    f"header tag {tag} after the body", _R.TAG_OUT_OF_ORDER, tag=tag
                )
        else:
            in_header = False
            if tag not in body_tags:
                raise ValidationError(
                    f"tag {tag} is not defined for MsgType {spec.msg_type}",
                    _R.TAG_NOT_DEFINED_FOR_MESSAGE,
                    tag=tag,
                )
        if tag in seen:
            raise ValidationError(
                f"tag {tag} appears more than once", _R.TAG_APPEARS_MORE_THAN_ONCE, tag=tag
            )
        seen.add(tag)
        if accept[tag](value) is None:
            _check_value(tag, value)  # raises the precise error
        i += 1
        if tag in groups:
            i = _walk_group(fields, i, groups[tag], int(value))
    for tag in required:
        if tag not in seen:
            raise ValidationError(f"required tag {tag} missing", _R.REQUIRED_TAG_MISSING, tag=tag)
    for group in spec.groups:
        if group.required and (group.count_tag not in seen or msg.get(group.count_tag) == "0"):
            raise ValidationError(
                f"repeating group {group.count_tag} needs at least one entry",
                _R.REQUIRED_TAG_MISSING,
                tag=group.count_tag,
            )
    if spec.msg_type in ("D", "G"):
        _check_order(msg)


# --------------------------------------------------------------------------- codec


class Codec:
    """Encoder/decoder for one connection's encoding, with the frame size limit.

    :param encoding: the connection's encoding.
    :param max_size: largest accepted frame in UTF-8 bytes (default ``DEFAULT_MAX_SIZE``,
        16 KiB); bigger frames raise ``MessageTooLarge`` before any parsing.
    """

    def __init__(self, encoding: Encoding, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.encoding = encoding
        self.max_size = max_size
        # ``Encoding.delimiter`` builds a dict per call; cached, keyed by the encoding it
        # was computed for in case someone reassigns ``encoding``.
        self._delimiter_of: tuple[Encoding, str | None] = (encoding, encoding.delimiter)

    def _delimiter(self) -> str | None:
        enc, delimiter = self._delimiter_of
        if enc is not self.encoding:
            self._delimiter_of = (self.encoding, self.encoding.delimiter)
            delimiter = self.encoding.delimiter
        return delimiter

    def decode(self, text: str) -> FixMessage:
        """Frame -> message; raises ``DecodeError`` (framing only, see ``validate``)."""
        size = len(text) if text.isascii() else len(text.encode())  # UTF-8 bytes
        if size > self.max_size:
            raise MessageTooLarge(f"frame is over the {self.max_size}-byte limit")
        if self.encoding is Encoding.JSON:
            return decode_json(text)
        delimiter = self._delimiter()
        assert delimiter is not None
        return decode_tagvalue(text, delimiter)

    def encode(self, msg: FixMessage) -> str:
        """Message -> frame text in this connection's encoding; raises ``EncodeError``."""
        if self.encoding is Encoding.JSON:
            return encode_json(msg)
        delimiter = self._delimiter()
        assert delimiter is not None
        return encode_tagvalue(msg, delimiter)
