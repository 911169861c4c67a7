# cython: language_level=3, embedsignature=True
"""Compiled circomlib ``Poseidon(2)`` and ``Poseidon(1..5)`` over BN254 (the fast backend of
``proofs.poseidon``), circomlib EdDSA-Poseidon verification on Baby Jubjub (the fast path of
``proofs.eddsa.verify_poseidon``) and Baby Jubjub point decompression (the fast path of
``proofs.babyjub.unpack_point``); curve arithmetic in ``cython_ext/includes/babyjub.h``.

The field arithmetic and the permutation are C in ``cython_ext/includes/bn254.h``: four 64-bit
limbs in Montgomery form, the optimised (sparse partial-round) form of the permutation, and
constants generated into ``includes/bn254_poseidon_constants.h`` by
``cython_ext/gen_poseidon_header.py`` from the committed ``proofs._poseidon_constants`` (so
importing this module computes nothing). Results are identical to ``light_poseidon_python``
and ``proofs.poseidon_wide.poseidon``.

Validation contract: callers (``proofs.poseidon``) validate inputs, including rejecting
``bool``. This module still refuses what it cannot hash exactly: a non-int raises TypeError and
an int outside [0, p) raises ValueError (it never reduces modulo p).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

cimport cython


ctypedef void (*permutation_t)(uint64_t *out, const uint64_t *a, const uint64_t *b) noexcept nogil

cdef extern from "includes/bn254.h":
    void pb_poseidon2_portable(uint64_t *out, const uint64_t *a, const uint64_t *b) nogil
    void pb_poseidon2_adx(uint64_t *out, const uint64_t *a, const uint64_t *b) nogil
    int pb_have_adx()
    int pb_fe_from_py(object o, uint64_t *a) except -1
    object pb_fe_to_py(const uint64_t *a)
    int PB_POSEIDON_MAX_INPUTS
    void pb_poseidon_groups(uint64_t *out, const uint64_t *inp, size_t groups, int n,
                            int adx) nogil

cdef extern from "includes/babyjub.h":
    void pb_bj_init(int adx)
    int pb_eddsa_poseidon_verify_portable(const uint64_t *inp) nogil
    int pb_eddsa_poseidon_verify_adx(const uint64_t *inp) nogil
    int pb_bj_unpack_portable(uint64_t *x_out, const uint64_t *y, int sign) nogil
    int pb_bj_unpack_adx(uint64_t *x_out, const uint64_t *y, int sign) nogil

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

FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617

# Chosen once from CPUID: the BMI2/ADX assembly product when the CPU has it, else portable C.
cdef permutation_t pb_poseidon2 = pb_poseidon2_adx if pb_have_adx() else pb_poseidon2_portable
ARITHMETIC = "adx" if pb_have_adx() else "portable"
"""Which field product the permutation uses on this CPU: ``"adx"`` or ``"portable"``."""
cdef int _adx = pb_have_adx()

WIDTHS = tuple(range(1, PB_POSEIDON_MAX_INPUTS + 1))
"""Input counts ``hash_n`` / ``hash_groups`` accept: ``(1, 2, 3, 4, 5)``."""


def _hash2_portable(a, b):
    """Like ``hash2`` but always on the portable C product (lets tests cover both paths)."""
    cdef uint64_t x[4]
    cdef uint64_t y[4]
    cdef uint64_t out[4]
    pb_fe_from_py(a, x)
    pb_fe_from_py(b, y)
    pb_poseidon2_portable(out, x, y)
    return pb_fe_to_py(out)


def hash2(a, b):
    """hash2(a: int, b: int) -> int

    circomlib ``Poseidon(2)([a, b])`` of two field elements in [0, p).

    Raises TypeError for a non-int and ValueError for an int outside [0, p).
    """
    cdef uint64_t x[4]
    cdef uint64_t y[4]
    cdef uint64_t out[4]
    pb_fe_from_py(a, x)
    pb_fe_from_py(b, y)
    pb_poseidon2(out, x, y)
    return pb_fe_to_py(out)


# boundscheck/wraparound off: every index is in [0, n) with n = len(flat) read once; nothing in
# the loops runs Python code (pb_fe_from_py only reads ints), so the list cannot change size
# underneath, and no index is negative.
@cython.boundscheck(False)
@cython.wraparound(False)
def hash_pairs(list flat not None):
    """hash_pairs(flat: list[int]) -> list[int]

    ``[hash2(flat[0], flat[1]), hash2(flat[2], flat[3]), ...]`` in one call: the batch entry
    point for hashing a whole Merkle tree level. ``flat`` must have even length; every element
    must be an int in [0, p) (TypeError / ValueError otherwise, raised before any hashing).
    The hashing itself runs without the GIL.
    """
    cdef Py_ssize_t n = len(flat)
    cdef Py_ssize_t half = n // 2
    cdef Py_ssize_t i
    cdef uint64_t *buf
    cdef list out
    if n % 2:
        raise ValueError(f"hash_pairs needs an even number of elements, got {n}")
    if n == 0:
        return []
    # Inputs in limbs [0, 4n), outputs in limbs [4n, 6n).
    buf = <uint64_t *>malloc(6 * n * sizeof(uint64_t))
    if buf == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            pb_fe_from_py(flat[i], buf + 4 * i)
        with nogil:
            for i in range(half):
                pb_poseidon2(buf + 4 * n + 4 * i, buf + 8 * i, buf + 8 * i + 4)
        out = [None] * half
        for i in range(half):
            out[i] = pb_fe_to_py(buf + 4 * n + 4 * i)
        return out
    finally:
        free(buf)


# The folds of hash_chains, one after the other: chain i is buf[start[i] .. start[i + 1]).
cdef void _fold_chains(const uint64_t *buf, const Py_ssize_t *start, Py_ssize_t m,
                       uint64_t *res) noexcept nogil:
    cdef Py_ssize_t i, k
    cdef uint64_t acc[4]
    cdef uint64_t tmp[4]
    for i in range(m):
        memcpy(acc, buf + 4 * start[i], 32)
        for k in range(start[i] + 1, start[i + 1]):
            pb_poseidon2(tmp, acc, buf + 4 * k)
            memcpy(acc, tmp, 32)
        memcpy(res + 4 * i, acc, 32)


# boundscheck/wraparound off: every chains[i] / ch[j] index is below a length read in the
# same loop with no Python code in between (pb_fe_from_py only reads ints), none negative.
@cython.boundscheck(False)
@cython.wraparound(False)
def hash_chains(list chains not None):
    """hash_chains(chains: list[list[int]]) -> list[int]

    ``[hash_chain(c) for c in chains]``: each chain (a list of at least two field elements) is
    the left fold ``hash2(...hash2(hash2(c[0], c[1]), c[2])..., c[-1])``, all in one call
    (the batch entry point for many short chains: leaves, command hashes). Every element is checked
    (TypeError / ValueError) before any hashing; the hashing runs without the GIL.
    """
    cdef Py_ssize_t m = len(chains)
    cdef Py_ssize_t total = 0
    cdef Py_ssize_t i, j, k, n
    cdef list ch
    cdef list out
    cdef Py_ssize_t *start = NULL
    cdef uint64_t *buf = NULL
    cdef uint64_t *res = NULL
    for i in range(m):
        ch = chains[i]
        n = len(ch)
        if n < 2:
            raise ValueError(f"hash_chain needs at least 2 elements, got {n}")
        total += n
    if m == 0:
        return []
    start = <Py_ssize_t *>malloc((m + 1) * sizeof(Py_ssize_t))
    buf = <uint64_t *>malloc(4 * total * sizeof(uint64_t))
    res = <uint64_t *>malloc(4 * m * sizeof(uint64_t))
    try:
        if start == NULL or buf == NULL or res == NULL:
            raise MemoryError()
        k = 0
        for i in range(m):
            ch = chains[i]
            n = len(ch)
            start[i] = k
            for j in range(n):
                pb_fe_from_py(ch[j], buf + 4 * (k + j))
            k += n
        if k != total:
            raise RuntimeError("chains changed during hash_chains")
        start[m] = k
        with nogil:
            _fold_chains(buf, start, m, res)
        out = [None] * m
        for i in range(m):
            out[i] = pb_fe_to_py(res + 4 * i)
        return out
    finally:
        free(start)
        free(buf)
        free(res)


cdef int _check_width(Py_ssize_t n, str what) except -1:
    if not 1 <= n <= PB_POSEIDON_MAX_INPUTS:
        raise ValueError(f"{what} takes 1..{PB_POSEIDON_MAX_INPUTS} inputs, got {n}")
    return 0


# boundscheck/wraparound off: every index is below n = len(xs) <= 5, read once; nothing in the
# loop runs Python code (pb_fe_from_py only reads ints), none negative.
@cython.boundscheck(False)
@cython.wraparound(False)
def hash_n(list xs not None, bint portable=False):
    """hash_n(xs: list[int], portable: bool = False) -> int

    circomlib ``Poseidon(len(xs))(xs)`` of 1..5 field elements in [0, p) (ValueError for
    another length). ``portable=True`` forces the portable C product (lets tests cover it).
    Raises TypeError for a non-int and ValueError for an int outside [0, p).
    """
    cdef Py_ssize_t n = len(xs)
    cdef Py_ssize_t i
    cdef uint64_t buf[4 * 5]
    cdef uint64_t out[4]
    _check_width(n, "hash_n")
    for i in range(n):
        pb_fe_from_py(xs[i], buf + 4 * i)
    pb_poseidon_groups(out, buf, 1, <int>n, 0 if portable else _adx)
    return pb_fe_to_py(out)


# boundscheck/wraparound off: every index is in [0, total) with total = len(flat) read once;
# nothing in the loops runs Python code (pb_fe_from_py only reads ints), none negative.
@cython.boundscheck(False)
@cython.wraparound(False)
def hash_groups(list flat not None, Py_ssize_t width, bint portable=False):
    """hash_groups(flat: list[int], width: int, portable: bool = False) -> list[int]

    ``[hash_n(flat[0:width]), hash_n(flat[width:2 * width]), ...]`` in one call: the batch
    entry point for one level of a ``width``-ary Merkle tree. ``width`` must be in 1..5 and
    ``len(flat)`` a multiple of it (ValueError otherwise); every element must be an int in
    [0, p) (TypeError / ValueError, raised before any hashing). The hashing runs without the
    GIL. ``portable=True`` forces the portable C product.
    """
    cdef Py_ssize_t total = len(flat)
    cdef Py_ssize_t groups, i
    cdef uint64_t *buf
    cdef int adx = 0 if portable else _adx
    cdef int w
    cdef list out
    _check_width(width, "hash_groups")
    if total % width:
        raise ValueError(f"hash_groups needs a multiple of {width} elements, got {total}")
    if total == 0:
        return []
    groups = total // width
    w = <int>width
    # Inputs in limbs [0, 4 * total), outputs in limbs [4 * total, 4 * (total + groups)).
    buf = <uint64_t *>malloc(4 * (total + groups) * sizeof(uint64_t))
    if buf == NULL:
        raise MemoryError()
    try:
        for i in range(total):
            pb_fe_from_py(flat[i], buf + 4 * i)
        with nogil:
            pb_poseidon_groups(buf + 4 * total, buf, <size_t>groups, w, adx)
        out = [None] * groups
        for i in range(groups):
            out[i] = pb_fe_to_py(buf + 4 * total + 4 * i)
        return out
    finally:
        free(buf)


cdef bint _bj_ready = False


cdef inline void _bj_init():
    """Build the curve constants and the fixed-base table once, under the GIL."""
    global _bj_ready
    if not _bj_ready:
        pb_bj_init(_adx)
        _bj_ready = True


def eddsa_poseidon_verify(ax, ay, r8x, r8y, s, msg, bint portable=False):
    """eddsa_poseidon_verify(ax: int, ay: int, r8x: int, r8y: int, s: int, msg: int, portable: bool = False) -> int

    circomlib EdDSA-Poseidon verification of signature ``(R8, S)`` of field element ``msg``
    under public key ``A``, with the checks of ``proofs.eddsa.verify_poseidon`` in its order.
    Returns 1 (valid), 0 (invalid), -1 (``A`` not on the curve), -2 (``x(8A) == 0``: a
    small-order key) or -3 (``R8`` not on the curve). Every argument must be an int in [0, p)
    (TypeError / ValueError otherwise); ``S`` is used unreduced (``S * Base8`` is the same for
    ``S`` and ``S mod l``). ``portable=True`` forces the portable C product. Runs without the GIL.
    """
    cdef uint64_t buf[24]
    cdef int code
    # Poseidon(5) input order first (R8.x, R8.y, A.x, A.y, msg), then S.
    pb_fe_from_py(r8x, buf)
    pb_fe_from_py(r8y, buf + 4)
    pb_fe_from_py(ax, buf + 8)
    pb_fe_from_py(ay, buf + 12)
    pb_fe_from_py(msg, buf + 16)
    pb_fe_from_py(s, buf + 20)
    _bj_init()
    with nogil:
        if portable or not _adx:
            code = pb_eddsa_poseidon_verify_portable(buf)
        else:
            code = pb_eddsa_poseidon_verify_adx(buf)
    return code


def babyjub_unpack_point(bytes data not None, bint portable=False):
    """babyjub_unpack_point(data: bytes, portable: bool = False) -> tuple[int, int] | int

    The Baby Jubjub point ``(x, y)`` packed in the 32 bytes ``data`` (``y`` little-endian, top
    bit the sign of ``x``), as ``proofs.babyjub.unpack_point`` decodes it: the same root is
    chosen and the same encodings refused, in the same order, each as a negative code instead
    of an exception: -1 ``y >= p``, -2 no point has this ``y`` (``(1 - y^2) / (A - D y^2)`` is
    not a square), -3 sign bit set with ``x == 0`` (non-canonical). ``data`` must be exactly
    32 bytes (ValueError otherwise). ``portable=True`` forces the portable C product. Runs
    without the GIL.
    """
    cdef uint64_t y[4]
    cdef uint64_t x[4]
    cdef int sign, code
    if PyBytes_GET_SIZE(data) != 32:
        raise ValueError(f"a packed point is 32 bytes, got {PyBytes_GET_SIZE(data)}")
    memcpy(y, PyBytes_AS_STRING(data), 32)  # little-endian limbs (x86_64, see bn254.h)
    sign = <int>(y[3] >> 63)
    y[3] &= 0x7FFFFFFFFFFFFFFFULL
    _bj_init()
    with nogil:
        if portable or not _adx:
            code = pb_bj_unpack_portable(x, y, sign)
        else:
            code = pb_bj_unpack_adx(x, y, sign)
    if code:
        return code
    return (pb_fe_to_py(x), pb_fe_to_py(y))
