"""Command signatures: what a trader signs, how, and which commands need it.

Each command that moves an account's money or risk is authorised by the account's key:
EdDSA-Poseidon over Baby Jubjub (``proofs.eddsa``, byte-identical to circomlibjs), checked in
the block proof by circomlib's ``EdDSAPoseidonVerifier`` against the key whose hash the
account leaf commits (``pubkeyHash = Poseidon(pubkey_x, pubkey_y)``, registered by
AddAccount).

**The signed message** is :func:`intent_hash`: everything the trader chooses, and nothing the
sequencer assigns, so a client signs before its command is sequenced. It is the command's
``command_hash`` (``proofs.state``) computed with ``seq = 0`` and ``ts = 0``: the type tag and
every other field in the same packing, ``Poseidon(e1', e2)`` where ``e1'`` is the first packed
element with the seq and ts bits zeroed (so the circuit derives it from the packing it already
range-checks, ``cmdslot.circom``). ``sig`` itself is never part of a hash.

**Which commands are signed**: PlaceOrder, ReplaceOrder and Withdraw (:data:`SIGNED_TYPES`).

* Not CancelOrder / MassCancel: the venue itself cancels (on disconnect, and by the dead-man's
  switch) at the trader's standing instruction given at Logon, so a cancel often has no
  trader signature to show. An operator that cancels without instruction harms liveness, like
  an operator that leaves an order out, which the forced-inclusion path bounds; it cannot
  trade, move or price anything, which is what the proof must rule out.
* Not Deposit: the venue credits it; it will be bound to the on-chain deposit queue.
* Not AddAccount: it registers the key (a signature under a key not yet known proves nothing).

**Replay.** The signature does not cover ``seq`` or ``ts`` (by design: signing precedes
sequencing), so on its own it would let an operator include the same signed intent twice, e.g.
a second copy of an order or of a withdrawal. Each account therefore keeps a replay mark in its
leaf, ``nonce``: the client id (``cl_ord_id``; a Withdraw's own ``cl_ord_id`` field) of its
last accepted signed command. On a signed venue the engine (``signed_nonces``) rejects a signed
command whose client id is not above the mark (``STALE_NONCE``) and raises the mark on
acceptance; the block circuit (``BlockStep`` ``NONCES``) demands the same at the account write
of every accepted signed command. A rejected command leaves the mark alone, so a client that
saw a rejection should move on to a higher client id before resubmitting.

Errors (all :class:`SigningError`, a ``ValueError``): :class:`SignatureEncodingError` (``sig``
is missing, or not a 64-byte packed signature with a valid ``R8`` and ``S < l``),
:class:`UnsignedCommandError` (the command type is not signed), and, from
:func:`require_command_signature` only, :class:`InvalidCommandSignatureError` (well formed but
wrong). :func:`command_signature_ok` answers a wrong signature with False instead.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from matching.types import Command, OrderType, PlaceOrder, ReplaceOrder, Withdraw

from .eddsa import (
    EdDSAError,
    InvalidSignatureEncodingError,
    Signature,
    sign_poseidon,
    verify_poseidon,
)
from .state import command_hash

__all__ = [
    "SIGNED_TYPES",
    "InvalidCommandSignatureError",
    "SignatureEncodingError",
    "SigningError",
    "UnsignedCommandError",
    "command_signature",
    "command_signature_ok",
    "intent_hash",
    "is_liquidation",
    "is_signed_type",
    "require_command_signature",
    "sign_command",
]

#: Command types that carry the account's signature (module docstring: why these).
SIGNED_TYPES: tuple[type, ...] = (PlaceOrder, ReplaceOrder, Withdraw)


_Signed = TypeVar("_Signed", PlaceOrder, ReplaceOrder, Withdraw)


class SigningError(ValueError):
    """Base of this module's errors."""


class UnsignedCommandError(SigningError):
    """The command's type is not signed (CancelOrder, MassCancel, Deposit, AddAccount)."""


class SignatureEncodingError(SigningError):
    """``sig`` is missing, or not a well-formed 64-byte packed EdDSA-Poseidon signature."""


class InvalidCommandSignatureError(SigningError):
    """``sig`` is well formed but does not sign the command's intent under the account's key
    (another key, or another intent: a changed price, quantity, ...)."""


def is_liquidation(cmd: Command | None) -> bool:
    """A PlaceOrder of type LIQUIDATION: the venue's, never signed (``CF_LIQ`` in the proof)."""
    return isinstance(cmd, PlaceOrder) and cmd.order_type == OrderType.LIQUIDATION


def is_signed_type(cmd: Command) -> bool:
    """True for PlaceOrder, ReplaceOrder and Withdraw, except a liquidation order: the venue
    issues it under the liquidation rule, which the block proof checks instead."""
    return isinstance(cmd, SIGNED_TYPES) and not is_liquidation(cmd)


def _require_signed(cmd: Command) -> None:
    if not is_signed_type(cmd):
        raise UnsignedCommandError(f"{type(cmd).__name__} is not a signed command")


def intent_hash(cmd: Command) -> int:
    """The message a trader signs: ``command_hash`` of ``cmd`` with ``seq = ts = 0``.

    Raises UnsignedCommandError for a type that is not signed, and ``FieldRangeError`` (from
    ``proofs.state``) for a field outside its wire width."""
    _require_signed(cmd)
    return command_hash(msgspec.structs.replace(cmd, seq=0, ts=0, sig=b""))


def sign_command(private_key: bytes, cmd: _Signed) -> _Signed:
    """``cmd`` with ``sig`` = the 64-byte packed signature of its intent under ``private_key``
    (``proofs.eddsa`` errors for a malformed key)."""
    sig = sign_poseidon(private_key, intent_hash(cmd))
    return msgspec.structs.replace(cmd, sig=sig.to_bytes())


def command_signature(cmd: Command) -> Signature:
    """The decoded ``sig`` of a signed command; SignatureEncodingError if it is missing or
    malformed, UnsignedCommandError for a type that is not signed."""
    _require_signed(cmd)
    try:
        return Signature.from_bytes(cmd.sig)
    except InvalidSignatureEncodingError as exc:
        what = "missing" if not cmd.sig else str(exc)
        raise SignatureEncodingError(
            f"{type(cmd).__name__} seq {cmd.seq}: signature {what}"
        ) from None


def command_signature_ok(cmd: Command, pubkey_x: int, pubkey_y: int) -> bool:
    """True iff ``cmd.sig`` signs ``intent_hash(cmd)`` under the key ``(pubkey_x, pubkey_y)``.

    A wrong signature or an unusable key (not on the curve, small order) is False; a malformed
    ``sig`` raises SignatureEncodingError, an unsigned type UnsignedCommandError."""
    sig = command_signature(cmd)
    try:
        return verify_poseidon(intent_hash(cmd), sig, (pubkey_x, pubkey_y))
    except EdDSAError:
        return False


def require_command_signature(cmd: Command, pubkey_x: int, pubkey_y: int) -> Signature:
    """The decoded signature of ``cmd``, checked against the key ``(pubkey_x, pubkey_y)``
    (what the block witness builder needs): SignatureEncodingError if it is missing or
    malformed, InvalidCommandSignatureError if it does not verify."""
    sig = command_signature(cmd)
    if not command_signature_ok(cmd, pubkey_x, pubkey_y):
        raise InvalidCommandSignatureError(
            f"{type(cmd).__name__} seq {cmd.seq}: signature does not verify under the key of "
            f"account {cmd.account}"
        )
    return sig
