"""Poseidon hashing over BN254 with circomlib's constants, and field packing.

Everything committed by ProvenBook (tree nodes, leaves, command chains) is hashed here, so the
Python side and the circom templates in ``proofs/circuits/`` agree bit for bit. The backend is the
compiled ``proofs._poseidon`` (C behind Cython, built from ``cython_ext/_poseidon.pyx``) when it
imports, else ``light_poseidon_python``; ``BACKEND`` names the one in use, and both compute the
same function as circomlib's ``Poseidon(2)``. light-poseidon silently reduces inputs ``>= p``
modulo p, which would let two different Python values commit to the same digest, so every input
is validated here before it reaches either backend.

Wider hashes (``hash_n``/``hash_groups``) run compiled for 1..5 inputs (``COMPILED_WIDTHS``).
Other widths, or every width but 2 when the extension is not built, fall back to the pure-Python
``proofs.poseidon_wide`` (about a millisecond per hash): light-poseidon-python 0.1.10's
``Hasher`` accepts exactly two inputs, so it backs width 2 only.

Definitions the circuits must match:

* ``hash2(a, b)``: circomlib ``Poseidon(2)`` with ``inputs = [a, b]``.
* ``hash_n([x0, ..., x(n-1)])``: circomlib ``Poseidon(n)`` with ``inputs = [x0, ..., x(n-1)]``,
  for 1 <= n <= 16 (``hash_n([a, b]) == hash2(a, b)``).
* ``hash_groups(flat, w)``: ``[hash_n(flat[0:w]), hash_n(flat[w:2w]), ...]`` in one call (one
  level of a w-ary Merkle tree, e.g. ``w = 4``).
* ``hash_pairs([x0, x1, x2, x3, ...])``: ``[hash2(x0, x1), hash2(x2, x3), ...]`` in one call
  (one Merkle tree level).
* ``hash_chain([x0, x1, ..., xn])``: a left fold, ``hash2(...hash2(hash2(x0, x1), x2)..., xn)``;
  circuit ``HashChain(n)`` in ``proofs/circuits/hash_chain.circom``.
* ``pack([(v0, w0), (v1, w1), ...])``: ``v0 + v1 * 2**w0 + v2 * 2**(w0 + w1) + ...`` (first pair in
  the lowest bits), each ``vi < 2**wi`` and ``sum(wi) <= 253``; circuits ``Pack``/``Unpack`` in
  ``proofs/circuits/pack.circom``.

Exceptions (both are ``ValueError``, so callers validating input can catch one type)::

    ValueError
     ├── FieldRangeError   a value outside the range its slot allows (field element, bit width)
     └── LayoutError       a packing layout that cannot be packed uniquely
"""

from __future__ import annotations

from collections.abc import Sequence

import light_poseidon_python

from proofs import poseidon_wide

try:
    from proofs import _poseidon as _compiled
except ImportError:  # extension not built: light-poseidon only
    _compiled = None

__all__ = [
    "BACKEND",
    "COMPILED_WIDTHS",
    "FIELD_MODULUS",
    "MAX_INPUTS",
    "MAX_PACK_BITS",
    "FieldRangeError",
    "LayoutError",
    "check_field",
    "hash2",
    "hash_chain",
    "hash_chains",
    "hash_groups",
    "hash_n",
    "hash_pairs",
    "pack",
    "unpack",
]

FIELD_MODULUS: int = 21888242871839275222246405745257275088548364400416034343698204186575808495617
"""BN254 scalar field order p; every hashed or packed value lies in [0, p)."""

MAX_INPUTS: int = 16
"""``hash_n`` takes 1..16 inputs, the widths circomlib's ``Poseidon(n)`` provides."""

MAX_PACK_BITS: int = 253
"""A packed element holds at most 253 bits: 2**253 < p, so a packing never wraps around p and the
in-circuit decomposition is unique (a 254-bit layout would admit two encodings of some values)."""

_HASHER = light_poseidon_python.Hasher(2)


def _light_hash2(a: int, b: int) -> int:
    """light-poseidon backend of ``hash2``; inputs already validated."""
    return int(_HASHER.hash([a, b]))


def _light_hash_pairs(flat: list[int]) -> list[int]:
    """light-poseidon backend of ``hash_pairs``; inputs already validated, even length."""
    hasher = _HASHER
    return [int(hasher.hash([flat[i], flat[i + 1]])) for i in range(0, len(flat), 2)]


def _light_hash_chains(chains: list[list[int]]) -> list[int]:
    """light-poseidon backend of ``hash_chains``; inputs already validated, lengths >= 2."""
    hasher = _HASHER
    out = []
    for xs in chains:
        acc = int(hasher.hash([xs[0], xs[1]]))
        for x in xs[2:]:
            acc = int(hasher.hash([acc, x]))
        out.append(acc)
    return out


def _wide_hash_groups(flat: list[int], width: int) -> list[int]:
    """Fallback backend of ``hash_groups``: light-poseidon for width 2 (the only width its
    ``Hasher`` takes), else the pure-Python ``poseidon_wide``. Inputs already validated."""
    if width == 2:
        return _light_hash_pairs(flat)
    wide = poseidon_wide.poseidon
    return [wide(flat[i : i + width]) for i in range(0, len(flat), width)]


# The backends take canonical field elements only (validated by the public functions below).
if _compiled is not None and hasattr(_compiled, "hash_chains"):
    _backend_hash2 = _compiled.hash2
    _backend_hash_pairs = _compiled.hash_pairs
    _backend_hash_chains = _compiled.hash_chains
elif _compiled is not None:  # an extension built before hash_chains existed
    _backend_hash2 = _compiled.hash2
    _backend_hash_pairs = _compiled.hash_pairs
    _backend_hash_chains = _light_hash_chains
else:
    _backend_hash2 = _light_hash2
    _backend_hash_pairs = _light_hash_pairs
    _backend_hash_chains = _light_hash_chains

# hash_n / hash_groups backends; only called for widths in COMPILED_WIDTHS.
if _compiled is not None and hasattr(_compiled, "hash_groups"):
    _backend_hash_n = _compiled.hash_n
    _backend_hash_groups = _compiled.hash_groups
    COMPILED_WIDTHS: tuple[int, ...] = tuple(_compiled.WIDTHS)
else:  # not built, or built before hash_groups existed
    _backend_hash_n = poseidon_wide.poseidon
    _backend_hash_groups = _wide_hash_groups
    COMPILED_WIDTHS = ()
"""Input counts ``hash_n``/``hash_groups`` hash in C: ``(1, 2, 3, 4, 5)`` with the extension,
``()`` without. Other widths run on the fallback (see the module docstring)."""

BACKEND: str = "compiled" if _compiled is not None else "light-poseidon"
"""Which backend ``hash2``/``hash_pairs`` use: ``"compiled"`` (``proofs._poseidon``) or
``"light-poseidon"`` (``light_poseidon_python``, when the extension is not built)."""


class FieldRangeError(ValueError):
    """A value is outside the range its slot allows: [0, p) for a field element, [0, 2**w) for a
    w-bit packed field."""


class LayoutError(ValueError):
    """A packing layout is unusable: a width below 1, or widths summing to more than 253 bits."""


def check_field(value: int, what: str = "value") -> int:
    """Return ``value`` if it is a canonical field element, else raise.

    Raises TypeError for non-integers (``bool`` included: a flag hashed as a field element is a
    layout bug, not a value) and FieldRangeError for integers outside [0, p), because the backend
    would otherwise reduce them silently and create collisions between distinct Python values.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    value = int(value)  # normalise int subclasses such as IntEnum
    if not 0 <= value < FIELD_MODULUS:
        raise FieldRangeError(f"{what} {value} is not in the field [0, p)")
    return value


def hash2(a: int, b: int) -> int:
    """Poseidon of exactly two field elements, equal to circomlib ``Poseidon(2)([a, b])``.

    Both inputs are validated (see ``check_field``) because light-poseidon reduces modulo p.
    """
    a = check_field(a, "hash input")
    b = check_field(b, "hash input")
    return _backend_hash2(a, b)


def hash_pairs(flat: Sequence[int]) -> list[int]:
    """``[hash2(flat[0], flat[1]), hash2(flat[2], flat[3]), ...]``, hashed in one backend call.

    The batch form of ``hash2`` for hashing a whole Merkle tree level. ``flat`` needs an even
    length (ValueError otherwise); every element is validated as in ``hash2`` before any hashing.
    """
    if len(flat) % 2:
        raise ValueError(f"hash_pairs needs an even number of elements, got {len(flat)}")
    return _backend_hash_pairs(_checked(flat))


def hash_chain(xs: Sequence[int]) -> int:
    """Left-fold ``hash2`` over ``xs``: ``hash2(hash2(hash2(x0, x1), x2), ...)``.

    Needs at least two elements (``hash_chain([a, b]) == hash2(a, b)``); matches circuit
    ``HashChain(len(xs))``. A fold is not length-delimited: ``hash_chain([a, b, c])`` equals
    ``hash_chain([hash2(a, b), c])``. Use it where the length is fixed by the layout (a circuit
    has a fixed number of slots) or put the length into the chain yourself.
    """
    if len(xs) < 2:
        raise ValueError(f"hash_chain needs at least 2 elements, got {len(xs)}")
    return _backend_hash_chains([_checked(xs)])[0]


def hash_n(xs: Sequence[int]) -> int:
    """circomlib ``Poseidon(len(xs))([xs[0], ..., xs[-1]])`` of 1..16 field elements.

    Elements are validated as in ``hash2`` (TypeError for a non-int or ``bool``,
    FieldRangeError outside [0, p)); a length outside 1..16 raises ValueError. Compiled for
    1..5 inputs, see ``COMPILED_WIDTHS``.
    """
    n = len(xs)
    if not 1 <= n <= MAX_INPUTS:
        raise ValueError(f"hash_n takes 1..{MAX_INPUTS} inputs, got {n}")
    flat = _checked(xs)
    if n in COMPILED_WIDTHS:
        return _backend_hash_n(flat)
    if n == 2:
        return _backend_hash2(flat[0], flat[1])
    return poseidon_wide.poseidon(flat)


def hash_groups(flat: Sequence[int], width: int) -> list[int]:
    """``[hash_n(flat[0:width]), hash_n(flat[width:2 * width]), ...]`` in one backend call.

    The batch form of ``hash_n`` for hashing a whole level of a ``width``-ary Merkle tree.
    ``width`` must be an int in 1..16 and ``len(flat)`` a multiple of it (ValueError
    otherwise); every element is validated as in ``hash2`` before any hashing.
    """
    if isinstance(width, bool) or not isinstance(width, int):
        raise TypeError(f"width must be an int, got {type(width).__name__}")
    if not 1 <= width <= MAX_INPUTS:
        raise ValueError(f"hash_groups width must be in 1..{MAX_INPUTS}, got {width}")
    if len(flat) % width:
        raise ValueError(f"hash_groups needs a multiple of {width} elements, got {len(flat)}")
    checked = _checked(flat)
    if not checked:
        return []
    if width in COMPILED_WIDTHS:
        return _backend_hash_groups(checked, width)
    if width == 2:
        return _backend_hash_pairs(checked)
    return _wide_hash_groups(checked, width)


def _checked(xs: Sequence[int]) -> list[int]:
    """``[check_field(x) for x in xs]``, with a fast path for plain ints already in range."""
    p = FIELD_MODULUS
    for x in xs:
        if type(x) is not int or not 0 <= x < p:
            return [check_field(x, "hash input") for x in xs]
    return xs if type(xs) is list else list(xs)


def hash_chains(chains: Sequence[Sequence[int]]) -> list[int]:
    """``[hash_chain(xs) for xs in chains]`` in one backend call (the batch form of
    ``hash_chain`` for many independent leaves or command hashes; each chain needs at least two
    elements). Every element is validated as in ``hash2`` before any hashing."""
    checked = []
    for xs in chains:
        if len(xs) < 2:
            raise ValueError(f"hash_chain needs at least 2 elements, got {len(xs)}")
        checked.append(_checked(xs))
    return _backend_hash_chains(checked) if checked else []


def _check_widths(widths: Sequence[int]) -> None:
    """Reject layouts that could not be unpacked uniquely in a circuit."""
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise LayoutError(f"bit width must be an int >= 1, got {w!r}")
    total = sum(widths)
    if total > MAX_PACK_BITS:
        raise LayoutError(f"layout needs {total} bits, more than {MAX_PACK_BITS}")


def pack(fields: Sequence[tuple[int, int]]) -> int:
    """Pack ``(value, bit_width)`` pairs into one field element, first pair in the lowest bits.

    Packing several small fields into one element cuts the number of Poseidon inputs, which is what
    costs constraints. Each value must fit its width (FieldRangeError otherwise) and the widths
    must total at most 253 bits (LayoutError), so the result is below 2**253 < p and unique.
    """
    _check_widths([w for _, w in fields])
    packed = 0
    shift = 0
    for value, width in fields:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"packed value must be an int, got {type(value).__name__}")
        if not 0 <= value < (1 << width):
            raise FieldRangeError(f"value {value} does not fit in {width} bits")
        packed |= value << shift
        shift += width
    return packed


def unpack(packed: int, widths: Sequence[int]) -> list[int]:
    """Split a packed element back into its fields (inverse of ``pack``).

    Raises FieldRangeError when ``packed`` has bits above the layout's total width, because such a
    value has no preimage under ``pack`` and the circuit ``Unpack`` rejects it too.
    """
    _check_widths(widths)
    packed = check_field(packed, "packed value")
    total = sum(widths)
    if packed >> total:
        raise FieldRangeError(f"packed value {packed} has bits above the layout's {total} bits")
    out = []
    for width in widths:
        out.append(packed & ((1 << width) - 1))
        packed >>= width
    return out
