"""Compiled circomlib ``Poseidon(2)`` and ``Poseidon(1..5)`` over BN254, EdDSA-Poseidon
verification and point decompression on Baby Jubjub (built from ``cython_ext/_poseidon.pyx``).

Callers validate inputs (``proofs.poseidon`` does); a non-int raises TypeError and an int outside
[0, p) raises ValueError, never a silent reduction modulo p.
"""

__all__ = [
    "ARITHMETIC",
    "FIELD_MODULUS",
    "WIDTHS",
    "babyjub_unpack_point",
    "eddsa_poseidon_verify",
    "hash2",
    "hash_groups",
    "hash_n",
    "hash_pairs",
]

ARITHMETIC: str
"""Field product in use on this CPU: ``"adx"`` (BMI2/ADX assembly) or ``"portable"`` (C)."""
FIELD_MODULUS: int
WIDTHS: tuple[int, ...]
"""Input counts ``hash_n`` / ``hash_groups`` accept: ``(1, 2, 3, 4, 5)``."""

def hash2(a: int, b: int) -> int:
    """circomlib ``Poseidon(2)([a, b])`` of two field elements in [0, p)."""

def hash_pairs(flat: list[int]) -> list[int]:
    """``[hash2(flat[0], flat[1]), hash2(flat[2], flat[3]), ...]`` in one call (even length)."""

def hash_chains(chains: list[list[int]]) -> list[int]:
    """``[hash_chain(c) for c in chains]`` (left folds of ``hash2``, each chain >= 2 elements)
    in one call; not in ``__all__`` (``proofs.poseidon.hash_chains`` is the public entry)."""

def hash_n(xs: list[int], portable: bool = False) -> int:
    """circomlib ``Poseidon(len(xs))(xs)`` for 1..5 field elements (ValueError otherwise);
    ``portable=True`` forces the portable C product."""

def hash_groups(flat: list[int], width: int, portable: bool = False) -> list[int]:
    """``[hash_n(flat[0:width]), hash_n(flat[width:2 * width]), ...]`` in one call; ``width``
    in 1..5 and ``len(flat)`` a multiple of it (ValueError otherwise)."""

def eddsa_poseidon_verify(
    ax: int, ay: int, r8x: int, r8y: int, s: int, msg: int, portable: bool = False
) -> int:
    """circomlib EdDSA-Poseidon verification of ``(R8, S)`` on ``msg`` under key ``A``, with the
    checks of ``proofs.eddsa.verify_poseidon`` in its order: 1 valid, 0 invalid, -1 ``A`` not
    on the curve, -2 ``x(8A) == 0`` (small-order key), -3 ``R8`` not on the curve. Every
    argument is an int in [0, p) (TypeError / ValueError otherwise)."""

def babyjub_unpack_point(data: bytes, portable: bool = False) -> tuple[int, int] | int:
    """The point ``(x, y)`` packed in 32 bytes, as ``proofs.babyjub.unpack_point`` decodes it,
    or its refusal as a code, in its order: -1 ``y >= p``, -2 no point has this ``y``, -3 sign
    bit set with ``x == 0``. ValueError unless ``data`` is 32 bytes."""
