"""Canonical encoding: MessagePack arrays in a fixed field order (msgspec).

The same bytes go to the journal, over the network and into hashes, so encoding must be a
function of the value alone: every struct is ``array_like``, unions are tagged by the stable
integer codes of ``CommandType``/``EventType``, and there are no floats or maps.
"""

from __future__ import annotations

import msgspec

from .types import U256, BigInt, Command, Event

__all__ = [
    "DecodeError",
    "decode_command",
    "decode_commands",
    "decode_event",
    "decode_events",
    "decoder",
    "encode",
]

DecodeError = msgspec.DecodeError


_BIGINT_EXT = 1
_I64 = 1 << 63


def _enc_hook(obj: object) -> object:
    if isinstance(obj, U256):
        return int(obj).to_bytes(32, "big")
    if isinstance(obj, BigInt):
        if -_I64 <= obj < _I64:
            return int(obj)
        return msgspec.msgpack.Ext(_BIGINT_EXT, int(obj).to_bytes(32, "big", signed=True))
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _dec_hook(typ: type, obj: object) -> object:
    if typ is U256:
        if not isinstance(obj, bytes) or len(obj) != 32:
            raise ValueError("a U256 is encoded as exactly 32 bytes")
        return U256(int.from_bytes(obj, "big"))
    if typ is BigInt:
        if isinstance(obj, int) and not isinstance(obj, bool):
            return BigInt(obj)
        if isinstance(obj, msgspec.msgpack.Ext) and obj.code == _BIGINT_EXT and len(obj.data) == 32:
            value = int.from_bytes(obj.data, "big", signed=True)
            if -_I64 <= value < _I64:
                raise ValueError("non-canonical BigInt: small values are plain integers")
            return BigInt(value)
        raise ValueError("malformed BigInt")
    raise TypeError(f"cannot decode {typ.__name__}")


_encoder = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
_command = msgspec.msgpack.Decoder(Command, dec_hook=_dec_hook)  # type: ignore[arg-type]
_commands = msgspec.msgpack.Decoder(list[Command], dec_hook=_dec_hook)  # type: ignore[valid-type]
_event = msgspec.msgpack.Decoder(Event, dec_hook=_dec_hook)  # type: ignore[arg-type]
_events = msgspec.msgpack.Decoder(list[Event], dec_hook=_dec_hook)  # type: ignore[valid-type]


def decoder(typ: type) -> msgspec.msgpack.Decoder:
    """A canonical decoder for any engine struct (blocks, headers, snapshots)."""
    return msgspec.msgpack.Decoder(typ, dec_hook=_dec_hook)


def encode(obj: object) -> bytes:
    """Canonical bytes of a command, event, list of them, or any engine struct."""
    return _encoder.encode(obj)


def decode_command(data: bytes) -> Command:
    """Decode and validate one command; raises ``DecodeError`` (a ``ValueError``)."""
    return _command.decode(data)


def decode_commands(data: bytes) -> list[Command]:
    return _commands.decode(data)


def decode_event(data: bytes) -> Event:
    return _event.decode(data)


def decode_events(data: bytes) -> list[Event]:
    return _events.decode(data)
