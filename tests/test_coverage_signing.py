"""proofs.signing: the signed intent, signing, verification and its typed errors (no circuits)."""

from __future__ import annotations

import msgspec
import pytest

from matching.types import (
    AddAccount,
    CancelOrder,
    Deposit,
    MassCancel,
    OrderType,
    PlaceOrder,
    ReplaceOrder,
    Side,
    StpMode,
    TimeInForce,
    Withdraw,
)
from proofs import babyjub
from proofs.eddsa import InvalidPrivateKeyError, Signature, private_to_public
from proofs.signing import (
    SIGNED_TYPES,
    InvalidCommandSignatureError,
    SignatureEncodingError,
    SigningError,
    UnsignedCommandError,
    command_signature,
    command_signature_ok,
    intent_hash,
    is_signed_type,
    require_command_signature,
    sign_command,
)
from proofs.state import command_hash

KEY = bytes(range(32))
OTHER = bytes(32)
PUB = private_to_public(KEY)

PLACE = PlaceOrder(
    7, 1_000, 3, 1, 42, Side.BUY, OrderType.LIMIT, TimeInForce.GTC, 100_000, 5,
    post_only=True, stp=StpMode.DECREMENT,
)  # fmt: skip
REPLACE = ReplaceOrder(8, 1_001, 3, 1, 7, 100_010, 4, cl_ord_id=43)
WITHDRAW = Withdraw(9, 1_002, 3, 10**9)
SIGNED = [PLACE, REPLACE, WITHDRAW]
#: a different value for every field the trader chooses
TAMPER = {
    PlaceOrder: {
        "account": 4, "market": 2, "cl_ord_id": 41, "side": Side.SELL,
        "order_type": OrderType.MARKET, "tif": TimeInForce.IOC, "price": 100_001, "qty": 6,
        "post_only": False, "stp": StpMode.CANCEL_MAKER,
    },
    ReplaceOrder: {
        "account": 4, "market": 2, "order_id": 6, "price": 100_011, "qty": 3, "cl_ord_id": 0,
    },
    Withdraw: {"account": 4, "amount": 10**9 + 1, "cl_ord_id": 44},  # its nonce
}  # fmt: skip


def test_signed_types() -> None:
    assert SIGNED_TYPES == (PlaceOrder, ReplaceOrder, Withdraw)
    assert all(is_signed_type(c) for c in SIGNED)
    unsigned = [
        CancelOrder(1, 1, 3, 1, 7),
        MassCancel(1, 1, 3),
        Deposit(1, 1, 3, 5),
        AddAccount(1, 1, 3, *PUB),
        # the venue's liquidation order: the block proof checks its rule, not a signature
        PlaceOrder(1, 1, 3, 1, 0, Side.SELL, OrderType.LIQUIDATION, TimeInForce.IOC, 90, 2),
    ]
    for c in unsigned:
        assert not is_signed_type(c)
        for f in (intent_hash, command_signature):
            with pytest.raises(UnsignedCommandError):
                f(c)
        with pytest.raises(UnsignedCommandError):
            sign_command(KEY, c)  # type: ignore[type-var]


@pytest.mark.parametrize("cmd", SIGNED, ids=lambda c: type(c).__name__)
def test_round_trip_and_sequencing_does_not_matter(cmd: PlaceOrder) -> None:
    signed = sign_command(KEY, cmd)
    assert len(signed.sig) == 64 and msgspec.structs.replace(signed, sig=b"") == cmd
    assert command_signature_ok(signed, *PUB)
    assert require_command_signature(signed, *PUB) == Signature.from_bytes(signed.sig)
    # the intent is command_hash without seq and ts: the sequencer's fields are not signed
    assert intent_hash(cmd) == command_hash(msgspec.structs.replace(cmd, seq=0, ts=0))
    assert intent_hash(cmd) != command_hash(cmd)
    resequenced = msgspec.structs.replace(signed, seq=cmd.seq + 100, ts=cmd.ts + 5)
    assert command_signature_ok(resequenced, *PUB)
    assert sign_command(KEY, cmd).sig == signed.sig  # deterministic


@pytest.mark.parametrize("cmd", SIGNED, ids=lambda c: type(c).__name__)
def test_every_trader_field_is_covered(cmd: PlaceOrder) -> None:
    signed = sign_command(KEY, cmd)
    fields = TAMPER[type(cmd)]
    assert set(fields) == set(type(cmd).__struct_fields__) - {"seq", "ts", "sig"}
    for name, value in fields.items():
        tampered = msgspec.structs.replace(signed, **{name: value})
        assert intent_hash(tampered) != intent_hash(cmd), name
        assert not command_signature_ok(tampered, *PUB), name
        with pytest.raises(InvalidCommandSignatureError, match="does not verify"):
            require_command_signature(tampered, *PUB)


def test_other_key_and_unusable_keys() -> None:
    signed = sign_command(OTHER, PLACE)
    assert not command_signature_ok(signed, *PUB)
    assert command_signature_ok(signed, *private_to_public(OTHER))
    with pytest.raises(InvalidCommandSignatureError, match="account 3"):
        require_command_signature(signed, *PUB)
    good = sign_command(KEY, PLACE)
    assert not command_signature_ok(good, 0, 0)  # the unsigned venues' (0, 0): not a key
    assert not command_signature_ok(good, 1, 2)  # not on the curve
    assert not command_signature_ok(good, *babyjub.IDENTITY)  # small order
    with pytest.raises(InvalidPrivateKeyError):
        sign_command(KEY[:31], PLACE)


def test_malformed_signatures_raise_typed_errors() -> None:
    good = sign_command(KEY, WITHDRAW).sig
    s_too_big = good[:32] + (babyjub.SUBGROUP_ORDER).to_bytes(32, "little")
    bad_r8 = bytes([0xFF]) * 32 + good[32:]
    for sig, match in (
        (b"", "missing"),
        (good[:63], "64 bytes"),
        (good + b"\x00", "64 bytes"),
        (s_too_big, "S must be in"),
        (bad_r8, "R8"),
    ):
        cmd = msgspec.structs.replace(WITHDRAW, sig=sig)
        for f in (command_signature, lambda c: command_signature_ok(c, *PUB)):
            with pytest.raises(SignatureEncodingError, match=match) as exc:
                f(cmd)
            assert isinstance(exc.value, SigningError) and isinstance(exc.value, ValueError)
