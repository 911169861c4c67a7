"""Poseidon over BN254 for 1..16 inputs, equal to circomlib's ``Poseidon(n)`` template.

Why our own: the only Python Poseidon we depend on (``light_poseidon_python``) hashes exactly
two inputs, while circomlib's ``EdDSAPoseidonVerifier`` hashes five. This module computes the
same function as circomlib (x^5 S-box, 8 full rounds, ``N_ROUNDS_P`` partial rounds, state
``[0, inputs...]``, output lane 0) for every width circomlib supports.

Speed: the permutation runs in the optimised form the Poseidon paper describes (appendix B)
and circomlib's circuit uses: round constants moved to after the S-box, partial-round
constants folded into lane 0, and each partial round's dense MDS matrix replaced by a sparse
one (``2t - 1`` products instead of ``t^2``). The form is derived at first use of a width from
the committed raw parameters (:mod:`proofs._poseidon_constants`) and is cached; tests check
the derived matrices and constants against circomlib's ``poseidon_constants.circom`` and the
output against a textbook implementation, light-poseidon and circomlibjs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from proofs import _poseidon_constants as _raw

__all__ = [
    "FIELD_MODULUS",
    "MAX_INPUTS",
    "PoseidonInputError",
    "poseidon",
]

FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617
"""BN254 scalar field modulus p: inputs and output are elements of [0, p)."""

MAX_INPUTS = 16
"""circomlib provides widths t = 2..17, i.e. 1..16 inputs."""

_P = FIELD_MODULUS
_FULL_ROUNDS = 8
_HALF = _FULL_ROUNDS // 2


class PoseidonInputError(ValueError):
    """Inputs are not 1..16 integers in [0, p).

    Raised instead of reducing silently: two different integers that are equal mod p would
    otherwise hash alike, which a commitment must never allow.
    """


@dataclass(frozen=True, slots=True)
class _Optimised:
    """Parameters of the optimised permutation for one width ``t``.

    ``first[r]`` / ``last[r]`` are the post-S-box constant vectors of the full rounds of
    each half (the last round of the permutation has none); ``partial[r]`` is the lane-0
    constant of partial round ``r``; ``sparse[r] = (row, col)`` gives the sparse matrix
    ``[[row[0], row[1:]], [col, I]]``; ``pre`` is the dense matrix of the last first-half
    full round (circomlib's ``P``).
    """

    t: int
    initial: tuple[int, ...]
    first: tuple[tuple[int, ...], ...]
    partial: tuple[int, ...]
    last: tuple[tuple[int, ...], ...]
    mds: tuple[tuple[int, ...], ...]
    pre: tuple[tuple[int, ...], ...]
    sparse: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]


def _mat_vec(m: Sequence[Sequence[int]], v: Sequence[int]) -> list[int]:
    return [sum(a * b for a, b in zip(row, v, strict=True)) % _P for row in m]


def _vec_mat(v: Sequence[int], m: Sequence[Sequence[int]]) -> list[int]:
    return [sum(v[i] * m[i][j] for i in range(len(v))) % _P for j in range(len(m[0]))]


def _mat_mul(a: Sequence[Sequence[int]], b: Sequence[Sequence[int]]) -> list[list[int]]:
    cols = list(zip(*b, strict=True))
    return [[sum(x * y for x, y in zip(row, col, strict=True)) % _P for col in cols] for row in a]


def _inverse(m: Sequence[Sequence[int]]) -> list[list[int]]:
    """Gauss-Jordan inverse mod p (the MDS matrices are invertible by construction)."""
    n = len(m)
    aug = [[*row, *(int(i == j) for j in range(n))] for i, row in enumerate(m)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if aug[r][col] % _P)
        aug[col], aug[pivot] = aug[pivot], aug[col]
        inv = pow(aug[col][col], -1, _P)
        aug[col] = [x * inv % _P for x in aug[col]]
        for r in range(n):
            if r != col and aug[r][col]:
                f = aug[r][col]
                aug[r] = [(x - f * y) % _P for x, y in zip(aug[r], aug[col], strict=True)]
    return [row[n:] for row in aug]


@cache
def _optimised(t: int) -> _Optimised:
    """Derive the optimised form for width ``t`` from the raw constants and MDS matrix.

    Standard round k: ``x <- M * S_k(x + c_k)``. Rewritten as ``x0 = in + c_0`` and
    ``x <- M * (S_k(x) + d_k)`` with ``d_k = M^-1 c_{k+1}`` (``d_last = 0``). In a partial
    round only lane 0 goes through the S-box, so lanes 1.. of ``d_k`` can move before it and
    through the previous round's matrix: ``d_{k-1} += M^-1 (0, d_k[1:])``, leaving a scalar.
    Then each partial matrix ``N = M'' * diag(1, N_hat)`` (``M''`` sparse); the diagonal
    block commutes with a lane-0 S-box and constant, so it moves into the previous round's
    matrix. With ``N_hat = M_hat^j`` after ``j`` moves, ``M''`` has first row
    ``(m00, m_row * M_hat^-j)`` and first column ``M_hat^(j-1) * m_col``.
    """
    rounds_p = len(_raw.ROUND_CONSTANTS[t]) // t - _FULL_ROUNDS
    c = _raw.ROUND_CONSTANTS[t]
    m = [list(row) for row in _raw.MDS[t]]
    m_inv = _inverse(m)
    total = _FULL_ROUNDS + rounds_p
    consts = [list(c[k * t : (k + 1) * t]) for k in range(total)]
    post = [_mat_vec(m_inv, consts[k + 1]) for k in range(total - 1)] + [[0] * t]

    first_partial, last_partial = _HALF, _HALF + rounds_p - 1
    for k in range(last_partial, first_partial - 1, -1):
        moved = _mat_vec(m_inv, [0, *post[k][1:]])
        post[k] = [post[k][0]] + [0] * (t - 1)
        post[k - 1] = [(a + b) % _P for a, b in zip(post[k - 1], moved, strict=True)]

    m_hat = [row[1:] for row in m[1:]]
    m_hat_inv = _inverse(m_hat)
    m_row, m_col = m[0][1:], [row[0] for row in m[1:]]
    sparse: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    row_acc, col_acc = list(m_row), list(m_col)  # m_row * M_hat^-j, M_hat^(j-1) * m_col
    for _ in range(rounds_p):  # from the last partial round backwards
        row_acc = _vec_mat(row_acc, m_hat_inv)
        sparse.append(((m[0][0], *row_acc), tuple(col_acc)))
        col_acc = _mat_vec(m_hat, col_acc)
    sparse.reverse()
    # col_acc is now M_hat^RP * m_col: P = diag(1, M_hat^RP) * M.
    hat_power = [[int(i == j) for j in range(t - 1)] for i in range(t - 1)]
    for _ in range(rounds_p):
        hat_power = _mat_mul(hat_power, m_hat)
    pre = [m[0], *_mat_mul(hat_power, [row for row in m[1:]])]

    return _Optimised(
        t=t,
        initial=tuple(consts[0]),
        first=tuple(tuple(post[k]) for k in range(_HALF)),
        partial=tuple(post[k][0] for k in range(first_partial, last_partial + 1)),
        last=tuple(tuple(post[k]) for k in range(last_partial + 1, total - 1)),
        mds=tuple(tuple(row) for row in m),
        pre=tuple(tuple(row) for row in pre),
        sparse=tuple(sparse),
    )


def _validate(inputs: Sequence[int]) -> list[int]:
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence):
        raise PoseidonInputError("inputs must be a sequence of field elements")
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise PoseidonInputError(f"Poseidon takes 1..{MAX_INPUTS} inputs, got {len(inputs)}")
    out: list[int] = []
    for i, x in enumerate(inputs):
        if not isinstance(x, int) or isinstance(x, bool):
            raise PoseidonInputError(f"input {i} is {type(x).__name__}, not int")
        if not 0 <= x < _P:
            raise PoseidonInputError(f"input {i} is outside the field [0, p)")
        out.append(x)
    return out


def poseidon(inputs: Sequence[int]) -> int:
    """circomlib ``Poseidon(len(inputs))`` of field elements, as an int in [0, p).

    Raises :class:`PoseidonInputError` for 0 or more than 16 inputs, non-integers, or values
    outside [0, p).
    """
    values = _validate(inputs)
    o = _optimised(len(values) + 1)
    p = _P
    # zip(strict=False) in the hot loops: lengths are fixed by construction, and the strict
    # check costs ~10% here.
    s = [(x + c) % p for x, c in zip([0, *values], o.initial, strict=False)]
    matrices = (o.mds,) * (_HALF - 1) + (o.pre,)
    for consts, mat in zip(o.first, matrices, strict=False):
        s = [_sbox(x) + c for x, c in zip(s, consts, strict=False)]
        s = [sum(map(_mul, row, s)) % p for row in mat]
    for c0, (row, col) in zip(o.partial, o.sparse, strict=False):
        x0 = s[0]
        sq = x0 * x0 % p
        x0 = (sq * sq % p * x0 + c0) % p
        s[0] = x0
        head = sum(map(_mul, row, s)) % p
        s = [head, *[(x + w * x0) % p for x, w in zip(s[1:], col, strict=False)]]
    for consts in o.last:
        s = [_sbox(x) + c for x, c in zip(s, consts, strict=False)]
        s = [sum(map(_mul, row, s)) % p for row in o.mds]
    return sum(map(_mul, o.mds[0], map(_sbox, s))) % p


_mul = int.__mul__


def _sbox(x: int) -> int:
    """x^5 mod p (three multiplications; faster than ``pow(x, 5, p)`` in CPython)."""
    sq = x * x % _P
    return sq * sq % _P * x % _P
