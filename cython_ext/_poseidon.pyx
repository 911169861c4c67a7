# cython: language_level=3, embedsignature=True
"""Compiled circomlib ``Poseidon(2)`` over BN254 (the fast backend of ``proofs.poseidon``).

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

__all__ = ["ARITHMETIC", "FIELD_MODULUS", "hash2", "hash_pairs"]

FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617

# Chosen once from CPUID: the BMI2/ADX assembly product when the CPU has it, else portable C.
cdef permutation_t pb_poseidon2 = pb_poseidon2_adx if pb_have_adx() else pb_poseidon2_portable
ARITHMETIC = "adx" if pb_have_adx() else "portable"
"""Which field product the permutation uses on this CPU: ``"adx"`` or ``"portable"``."""


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
