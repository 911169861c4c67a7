"""EdDSA-Poseidon on Baby Jubjub, as circomlibjs signs and circomlib's circuit verifies.

Why our own: order keys must produce signatures that circomlib's ``EdDSAPoseidonVerifier``
accepts inside the block proof, and no maintained Python package does. This follows
circomlibjs 0.1.7 ``eddsa.js`` exactly (tests compare against it byte for byte):

* secret scalar ``s``: BLAKE-512 of the 32-byte private key, first 32 bytes pruned
  (clear the 3 low bits, clear bit 255, set bit 254), read little-endian;
* public key ``A = (s >> 3) * Base8``;
* nonce ``r = LE(BLAKE-512(h[32:64] || LE32(msg))) mod l`` (deterministic), ``R8 = r * Base8``;
* ``h = Poseidon(R8.x, R8.y, A.x, A.y, msg)``, ``S = (r + h * s) mod l``;
* valid iff ``S * Base8 == R8 + (8 * h) * A``.

BLAKE-512 here is the SHA-3 finalist (what the npm ``blake-hash`` package computes), not
BLAKE2b; no pinned PyPI package provides it, so it is implemented below (small, checked
against the specification's vectors and against ``blake-hash``).

Nothing here is constant-time (pure Python big integers); signing is meant for clients,
tests and tools, where that exposure is acceptable.

Verification runs natively when the compiled ``proofs._poseidon`` provides
``eddsa_poseidon_verify`` (Baby Jubjub in C, ``cython_ext/includes/babyjub.h``; 10-20 times
faster), else in pure Python; ``VERIFY_BACKEND`` names the one in use. Both give the same
verdict and raise the same errors on every input (tests compare them on random and tampered
signatures); inputs the native code does not take (int subclasses, a tuple subclass as a
point) go to the Python path.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from proofs import babyjub
from proofs.babyjub import FIELD_MODULUS, SUBGROUP_ORDER, Point
from proofs.poseidon import hash_n

try:
    from proofs._poseidon import eddsa_poseidon_verify as _native_verify
except ImportError:  # extension not built, or built before the native verifier existed
    _native_verify = None

__all__ = [
    "PRIVATE_KEY_SIZE",
    "SIGNATURE_SIZE",
    "VERIFY_BACKEND",
    "EdDSAError",
    "InvalidMessageError",
    "InvalidPrivateKeyError",
    "InvalidPublicKeyError",
    "InvalidSignatureEncodingError",
    "Signature",
    "blake512",
    "pack_public_key",
    "private_to_public",
    "secret_scalar",
    "sign_poseidon",
    "unpack_public_key",
    "verify_poseidon",
]

PRIVATE_KEY_SIZE = 32
SIGNATURE_SIZE = 64
VERIFY_BACKEND: str = "native" if _native_verify is not None else "python"
"""Which implementation ``verify_poseidon`` uses: ``"native"`` (``proofs._poseidon``) or
``"python"`` (the extension is not built)."""
_P = FIELD_MODULUS


class EdDSAError(ValueError):
    """Base of this module's input errors (a bad signature is not an error: see verify)."""


class InvalidPrivateKeyError(EdDSAError):
    """The private key is not 32 bytes."""


class InvalidPublicKeyError(EdDSAError):
    """The public key is not a usable curve point."""


class InvalidMessageError(EdDSAError):
    """The message is not a field element in [0, p)."""


class InvalidSignatureEncodingError(EdDSAError):
    """A signature's fields or 64-byte encoding are malformed."""


# --- BLAKE-512 (Aumasson et al., SHA-3 final round version, 16 rounds) -------------------

_M64 = (1 << 64) - 1
_IV = (
    0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
    0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
)  # fmt: skip
_C = (
    0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89,
    0x452821E638D01377, 0xBE5466CF34E90C6C, 0xC0AC29B7C97C50DD, 0x3F84D5B5B5470917,
    0x9216D5D98979FB1B, 0xD1310BA698DFB5AC, 0x2FFD72DBD01ADFB7, 0xB8E1AFED6A267E96,
    0xBA7C9045F12C7F99, 0x24A19947B3916CF7, 0x0801F2E2858EFC16, 0x636920D871574E69,
)  # fmt: skip
_SIGMA = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3),
    (11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4),
    (7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8),
    (9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13),
    (2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9),
    (12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11),
    (13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10),
    (6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5),
    (10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0),
)
# Column step then diagonal step: the (a, b, c, d) state indices of G_0 .. G_7.
_G_LANES = (
    (0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
    (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14),
)  # fmt: skip


def _blake512_compress(h: list[int], block: bytes, counter: int) -> list[int]:
    m = struct.unpack(">16Q", block)
    t0, t1 = counter & _M64, counter >> 64
    v = [
        *h,
        _C[0], _C[1], _C[2], _C[3],  # salt is zero
        t0 ^ _C[4], t0 ^ _C[5], t1 ^ _C[6], t1 ^ _C[7],
    ]  # fmt: skip
    for rnd in range(16):
        s = _SIGMA[rnd % 10]
        for i, (ia, ib, ic, id_) in enumerate(_G_LANES):
            j, k = s[2 * i], s[2 * i + 1]
            a, b, c, d = v[ia], v[ib], v[ic], v[id_]
            a = (a + b + (m[j] ^ _C[k])) & _M64
            d ^= a
            d = ((d >> 32) | (d << 32)) & _M64
            c = (c + d) & _M64
            b ^= c
            b = ((b >> 25) | (b << 39)) & _M64
            a = (a + b + (m[k] ^ _C[j])) & _M64
            d ^= a
            d = ((d >> 16) | (d << 48)) & _M64
            c = (c + d) & _M64
            b ^= c
            b = ((b >> 11) | (b << 53)) & _M64
            v[ia], v[ib], v[ic], v[id_] = a, b, c, d
    return [h[i] ^ v[i] ^ v[i + 8] for i in range(8)]


def blake512(data: bytes) -> bytes:
    """BLAKE-512 digest (64 bytes) of ``data``, as npm ``blake-hash`` ``"blake512"``.

    Padding: a 1 bit, zeros, a 1 bit, then the 128-bit big-endian bit length, to a multiple
    of 1024 bits. Each block's counter is the number of message bits up to its end; a block
    holding only padding uses counter 0 (the specification's rule).
    """
    data = bytes(data)
    bit_len = len(data) * 8
    pad_len = (111 - len(data)) % 128 + 1  # bytes of 0x80..0x01 padding before the length
    padding = bytearray(pad_len)
    padding[0] |= 0x80
    padding[-1] |= 0x01
    message = data + bytes(padding) + bit_len.to_bytes(16, "big")
    h = list(_IV)
    for offset in range(0, len(message), 128):
        if offset < len(data):
            counter = min(bit_len, (offset + 128) * 8)
        else:
            counter = 0
        h = _blake512_compress(h, message[offset : offset + 128], counter)
    return struct.pack(">8Q", *h)


# --- keys ---------------------------------------------------------------------------------


def _key_hash(private_key: bytes) -> bytes:
    if not isinstance(private_key, bytes | bytearray):
        raise InvalidPrivateKeyError("private key must be bytes")
    if len(private_key) != PRIVATE_KEY_SIZE:
        raise InvalidPrivateKeyError(
            f"private key must be {PRIVATE_KEY_SIZE} bytes, got {len(private_key)}"
        )
    return blake512(bytes(private_key))


def _prune(digest: bytes) -> int:
    buf = bytearray(digest[:32])
    buf[0] &= 0xF8
    buf[31] &= 0x7F
    buf[31] |= 0x40
    return int.from_bytes(buf, "little")


def secret_scalar(private_key: bytes) -> int:
    """The pruned scalar ``s`` (a multiple of 8 in [2^254, 2^255)) of a private key."""
    return _prune(_key_hash(private_key))


def private_to_public(private_key: bytes) -> Point:
    """Public key ``(s >> 3) * Base8``, as circomlibjs ``prv2pub``."""
    return babyjub.mul_base8(secret_scalar(private_key) >> 3)


def _times_eight(public_key: Point) -> Point:
    """``8 * A`` after checking ``A``; the circuit works with ``8A`` too (cofactor cleared)."""
    try:
        babyjub.validate_point(public_key)
    except babyjub.InvalidPointError as exc:
        raise InvalidPublicKeyError(f"public key: {exc}") from None
    a8 = babyjub.mul(public_key, 8)
    if a8[0] == 0:
        # The circuit asserts x(8A) != 0: a small-order key would verify anything.
        raise InvalidPublicKeyError("public key has small order")
    return a8


def pack_public_key(public_key: Point) -> bytes:
    """32-byte circomlibjs ``packPoint`` encoding of a public key."""
    _times_eight(public_key)
    return babyjub.pack_point(public_key)


def unpack_public_key(data: bytes) -> Point:
    """Decode a 32-byte public key, requiring a prime-order point (not the identity).

    Stricter than :func:`verify_poseidon` (which, like the circuit, accepts any key whose
    8-multiple is not small): a key with a torsion component would verify the same
    signatures as its torsion-free part, so registration takes only canonical keys.
    """
    try:
        point = babyjub.unpack_point(data)
    except babyjub.InvalidPointError as exc:
        raise InvalidPublicKeyError(f"public key: {exc}") from None
    if point == babyjub.IDENTITY or not babyjub.in_subgroup(point):
        raise InvalidPublicKeyError("public key is not in the prime-order subgroup")
    return point


# --- signatures ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signature:
    """An EdDSA-Poseidon signature ``(R8, S)``; construction validates both fields.

    ``R8`` must be on the curve and ``S`` in [0, l) (the circuit enforces ``S < l``; without
    it ``S`` and ``S + l`` would both verify).
    """

    R8: Point
    S: int

    def __post_init__(self) -> None:
        try:
            babyjub.validate_point(self.R8)
        except babyjub.InvalidPointError as exc:
            raise InvalidSignatureEncodingError(f"signature R8: {exc}") from None
        if not isinstance(self.S, int) or isinstance(self.S, bool):
            raise InvalidSignatureEncodingError("signature S must be an int")
        if not 0 <= self.S < SUBGROUP_ORDER:
            raise InvalidSignatureEncodingError("signature S must be in [0, l)")

    def to_bytes(self) -> bytes:
        """64 bytes: packed ``R8`` then ``S`` little-endian (circomlibjs ``packSignature``)."""
        return babyjub.pack_point(self.R8) + self.S.to_bytes(32, "little")

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """Decode :meth:`to_bytes` output; raises :class:`InvalidSignatureEncodingError`."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidSignatureEncodingError("a signature is 64 bytes")
        raw = bytes(data)
        if len(raw) != SIGNATURE_SIZE:
            raise InvalidSignatureEncodingError(
                f"a signature is {SIGNATURE_SIZE} bytes, got {len(raw)}"
            )
        try:
            r8 = babyjub.unpack_point(raw[:32])
        except babyjub.InvalidPointError as exc:
            raise InvalidSignatureEncodingError(f"signature R8: {exc}") from None
        return cls(r8, int.from_bytes(raw[32:], "little"))


def _check_message(msg: int) -> int:
    if not isinstance(msg, int) or isinstance(msg, bool):
        raise InvalidMessageError(f"message is {type(msg).__name__}, not int")
    if not 0 <= msg < _P:
        raise InvalidMessageError("message must be a field element in [0, p)")
    return msg


def sign_poseidon(private_key: bytes, msg: int) -> Signature:
    """Deterministic signature of field element ``msg``, equal to circomlibjs
    ``eddsa.signPoseidon(prv, F.e(msg))``.
    """
    msg = _check_message(msg)
    digest = _key_hash(private_key)
    s = _prune(digest)
    a = babyjub.mul_base8(s >> 3)
    r = int.from_bytes(blake512(digest[32:] + msg.to_bytes(32, "little")), "little")
    r %= SUBGROUP_ORDER
    r8 = babyjub.mul_base8(r)
    h = hash_n([r8[0], r8[1], a[0], a[1], msg])
    return Signature(r8, (r + h * s) % SUBGROUP_ORDER)


def verify_poseidon(msg: int, signature: Signature, public_key: Point) -> bool:
    """True iff ``signature`` is valid for ``msg`` under ``public_key``.

    Accepts exactly what circomlib's ``EdDSAPoseidonVerifier`` accepts for on-curve inputs
    (``S < l``, ``x(8A) != 0``, ``S * Base8 == R8 + 8h * A``); also what circomlibjs
    ``verifyPoseidon`` accepts, except small-order keys, which it lets through. A wrong
    signature returns False; a malformed message or key raises an :class:`EdDSAError`.
    """
    msg = _check_message(msg)
    if not isinstance(signature, Signature):
        raise TypeError("signature must be a Signature")
    if _native_verify is not None and _native_takes(public_key, signature):
        r8 = signature.R8
        code = _native_verify(public_key[0], public_key[1], r8[0], r8[1], signature.S, msg)
        if code >= 0:
            return code == 1
        # The errors _verify_python raises at the same checks, with the same messages.
        if code == -1:
            raise InvalidPublicKeyError("public key: point is not on Baby Jubjub")
        if code == -2:
            raise InvalidPublicKeyError("public key has small order")
        raise babyjub.InvalidPointError("point is not on Baby Jubjub")  # R8 (code -3)
    return _verify_python(msg, signature, public_key)


def _native_takes(public_key: object, signature: Signature) -> bool:
    """True when every value is a plain int in [0, p) in a plain 2-tuple: what the native
    verifier reads. Anything else (int subclasses, out-of-range values that bypassed
    ``Signature``'s checks) takes the Python path, which raises or decides as it always has."""
    if type(public_key) is not tuple or len(public_key) != 2:
        return False
    r8 = signature.R8
    if type(r8) is not tuple or len(r8) != 2:
        return False
    p = _P
    for v in (public_key[0], public_key[1], r8[0], r8[1], signature.S):
        if type(v) is not int or not 0 <= v < p:
            return False
    return True


def _verify_python(msg: int, signature: Signature, public_key: Point) -> bool:
    """The pure-Python reference of :func:`verify_poseidon` (``msg`` and the signature type
    already checked)."""
    a8 = _times_eight(public_key)
    r8 = signature.R8
    h = hash_n([r8[0], r8[1], public_key[0], public_key[1], msg])
    # h * (8A) == (8h) * A, as circomlibjs computes it; the circuit multiplies 8A by h too.
    right = babyjub.add(r8, babyjub.mul(a8, h))
    return babyjub.mul_base8(signature.S) == right
