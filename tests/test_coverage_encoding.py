"""Canonical encoding: round trips, big integers, and the wire schema's bounds."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching import (
    AccountAdded,
    AddAccount,
    CancelOrder,
    Deposit,
    MassCancel,
    MassCancelled,
    OrderAccepted,
    PlaceOrder,
    Rejected,
    ReplaceOrder,
    Trade,
    Withdraw,
    decode_command,
    decode_events,
    encode,
)
from matching.encoding import DecodeError, decoder
from matching.engine import AccountView, PositionView
from matching.types import FIELD_MODULUS, U256, BigInt
from proofs.state import command_hash

COMMANDS = [
    PlaceOrder(1, 2, 3, 1, 9, 1, 1, 1, 100, 5, post_only=True, stp=2),
    CancelOrder(2, 3, 3, 1, 1),
    ReplaceOrder(3, 4, 3, 1, 1, 105, 4, 77),
    MassCancel(4, 5, 3, 0),
    Deposit(5, 6, 3, 10**18),
    Withdraw(6, 7, 3, 5),
    AddAccount(7, 8, 4, FIELD_MODULUS - 1, 12345),
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: type(c).__name__)
def test_command_round_trip_and_hash(cmd: object) -> None:
    data = encode(cmd)
    assert decode_command(data) == cmd
    assert encode(decode_command(data)) == data
    assert 0 < command_hash(cmd) < FIELD_MODULUS


def test_events_round_trip() -> None:
    events = [
        OrderAccepted(1, 1, 2, 1, 0, 1, 100, 5),
        Trade(2, 1, 2, 1, 3, 2, 1, 100, 5, 0, 0),
        Rejected(3, 2, -1101, 7),
        AccountAdded(4, 9),
        MassCancelled(5, 2, 0, 3),
    ]
    assert decode_events(encode(events)) == events


def test_distinct_commands_hash_differently() -> None:
    hashes = {command_hash(c) for c in COMMANDS}
    assert len(hashes) == len(COMMANDS)
    a = PlaceOrder(1, 2, 3, 1, 9, 1, 1, 1, 100, 5)
    assert command_hash(a) != command_hash(msgspec.structs.replace(a, qty=-5))
    assert command_hash(a) != command_hash(msgspec.structs.replace(a, price=101))


@given(st.integers(min_value=-(1 << 255), max_value=(1 << 255) - 1))
def test_bigint_encoding_is_canonical(v: int) -> None:
    view = PositionView(1, 0, v, 0, 0)
    data = encode(view)
    back = decoder(PositionView).decode(data)
    assert back.basis == v and type(back.basis) is BigInt
    assert encode(back) == data


def test_u256_rejects_out_of_range_and_non_canonical() -> None:
    with pytest.raises(ValueError):
        U256(-1)
    with pytest.raises(ValueError):
        AddAccount(1, 1, 1, FIELD_MODULUS, 0)
    view = AccountView(1, 5, 6, 7, ())
    raw = msgspec.msgpack.encode([1, 5, 6, 7, []])  # pubkey as a plain int, not 32 bytes
    with pytest.raises(DecodeError):
        decoder(AccountView).decode(raw)
    assert decoder(AccountView).decode(encode(view)) == view


@pytest.mark.parametrize(
    "fields",
    [
        [1, 2, 3, 1, 9, 1, 1, 1, 1 << 40, 5, False, 0, b""],  # price beyond 40 bits
        [1, 2, 3, 1, 9, 1, 1, 1, 100, -(1 << 48), False, 0, b""],  # qty beyond 48 bits
        [1 << 48, 2, 3, 1, 9, 1, 1, 1, 100, 5, False, 0, b""],  # seq beyond 48 bits
        [1, 2, 3, 1, -1, 1, 1, 1, 100, 5, False, 0, b""],  # negative client id
        [1, 2, 3, 1, 9, 16, 1, 1, 100, 5, False, 0, b""],  # side code beyond 4 bits
        [1, 2, 3, 1, 9, 1, 1, 1, 100, 5, False, 0, b"", 7],  # extra field
    ],
)
def test_wire_schema_rejects(fields: list) -> None:
    with pytest.raises(DecodeError):
        decode_command(msgspec.msgpack.encode([1, *fields]))


@given(
    price=st.integers(-(1 << 40) + 1, (1 << 40) - 1),
    qty=st.integers(-(1 << 48) + 1, (1 << 48) - 1),
    cl=st.integers(0, (1 << 64) - 1),
)
def test_every_schema_valid_command_hashes(price: int, qty: int, cl: int) -> None:
    cmd = PlaceOrder(1, 2, 3, 1, cl, 1, 1, 1, price, qty)
    assert decode_command(encode(cmd)) == cmd
    command_hash(cmd)
