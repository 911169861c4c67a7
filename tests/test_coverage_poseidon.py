"""Deterministic tests of proofs.poseidon: pinned vectors, input validation, packing."""

from __future__ import annotations

import enum
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofs import poseidon
from proofs.poseidon import (
    FIELD_MODULUS,
    MAX_PACK_BITS,
    FieldRangeError,
    LayoutError,
    check_field,
    hash2,
    hash_chain,
    hash_groups,
    hash_n,
    pack,
    unpack,
)

P = FIELD_MODULUS

# circomlib's published test vector (circomlib test/poseidoncircuit.js, circomlibjs).
CIRCOMLIB_POSEIDON_1_2 = (
    7853200120776062878684798364095072458815029376092732009249414926327459813530
)
# Poseidon(0, 0), the level-1 zero hash of every circomlib-Poseidon Merkle tree (also published
# by Tornado-style and Semaphore zero-hash tables).
POSEIDON_0_0 = 14744269619966411208579211824598458697587494354926760081771325075741142829156
# Computed here and cross-checked in-circuit by tests/test_circuit_poseidon.py.
HASH_CHAIN_1_2_3_4 = 11513292746329852516326840859386889450785527380888700527152707126542607443402
POSEIDON_PMINUS1_0 = 12398508882227933492673204572813459761914093043589189755216261111298919601208
# circomlib Poseidon(n)([1, ..., n]) for n = 1..5; computed here, cross-checked against
# circomlibjs (tests/test_coverage_cposeidon.py) and in-circuit for n = 3, 4
# (tests/test_circuit_poseidon.py).
POSEIDON_1_TO_N = {
    1: 18586133768512220936620570745912940619677854269274689475585506675881198879027,
    2: CIRCOMLIB_POSEIDON_1_2,
    3: 6542985608222806190361240322586112750744169038454362455181422643027100751666,
    4: 18821383157269793795438455681495246036402687001665670618754263018637548127333,
    5: 6183221330272524995739186171720101788151706631170188140075976616310159254464,
}
# The level-1 zero hashes of a 4-ary tree and of a Poseidon(3) leaf of zeros.
POSEIDON4_ZEROS = 2351654555892372227640888372176282444150254868378439619268573230312091195718
POSEIDON3_ZEROS = 5317387130258456662214331362918410991734007599705406860481038345552731150762


def _public_names(module: types.ModuleType) -> set[str]:
    """Public names a module defines itself (not imports): what __all__ must list."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", module.__name__) == module.__name__
    }


def test_exports() -> None:
    assert set(poseidon.__all__) == _public_names(poseidon)


def test_field_modulus_is_bn254_scalar_field() -> None:
    assert P == 21888242871839275222246405745257275088548364400416034343698204186575808495617
    assert P.bit_length() == 254
    assert (1 << MAX_PACK_BITS) < P < (1 << (MAX_PACK_BITS + 1))


def test_pinned_vectors() -> None:
    assert hash2(1, 2) == CIRCOMLIB_POSEIDON_1_2
    assert hash2(0, 0) == POSEIDON_0_0
    assert hash2(P - 1, 0) == POSEIDON_PMINUS1_0
    assert hash_chain([1, 2, 3, 4]) == HASH_CHAIN_1_2_3_4


def test_hash2_is_ordered() -> None:
    assert hash2(1, 2) != hash2(2, 1)
    assert isinstance(hash2(1, 2), int)


@pytest.mark.parametrize("bad", [-1, P, P + 1, 2**256])
def test_hash2_rejects_out_of_field(bad: int) -> None:
    # The backend would reduce P + 1 to 1 and collide with hash2(1, 2).
    with pytest.raises(FieldRangeError):
        hash2(bad, 2)
    with pytest.raises(FieldRangeError):
        hash2(2, bad)
    assert issubclass(FieldRangeError, ValueError)


@pytest.mark.parametrize("bad", [True, 1.0, "1", None, b"\x01"])
def test_hash2_rejects_non_ints(bad: object) -> None:
    with pytest.raises(TypeError):
        hash2(bad, 2)  # type: ignore[arg-type]


def test_check_field_accepts_int_subclasses() -> None:
    class Code(enum.IntEnum):
        A = 7

    assert check_field(Code.A) == 7
    assert type(check_field(Code.A)) is int


def test_hash_chain_definition() -> None:
    assert hash_chain([1, 2]) == hash2(1, 2)
    assert hash_chain([1, 2, 3]) == hash2(hash2(1, 2), 3)
    assert hash_chain((5, 6, 7, 8)) == hash2(hash2(hash2(5, 6), 7), 8)
    # Documented property: the fold is not length-delimited.
    assert hash_chain([1, 2, 3]) == hash_chain([hash2(1, 2), 3])


@pytest.mark.parametrize("xs", [[], [1]])
def test_hash_chain_needs_two(xs: list[int]) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        hash_chain(xs)


def test_hash_chain_validates_every_element() -> None:
    with pytest.raises(FieldRangeError):
        hash_chain([1, 2, P])


def test_pack_layout_little_end_first() -> None:
    assert pack([(1, 1), (2, 8), (3, 64)]) == 1 + (2 << 1) + (3 << 9)
    assert pack([(0xFF, 8)]) == 0xFF
    assert unpack(1 + (2 << 1) + (3 << 9), [1, 8, 64]) == [1, 2, 3]


def test_pack_full_253_bits() -> None:
    widths = [64, 64, 64, 61]
    values = [(1 << w) - 1 for w in widths]
    packed = pack(list(zip(values, widths, strict=True)))
    assert packed == (1 << 253) - 1 < P
    assert unpack(packed, widths) == values


def test_pack_rejects_bad_values_and_layouts() -> None:
    with pytest.raises(FieldRangeError):
        pack([(256, 8)])
    with pytest.raises(FieldRangeError):
        pack([(-1, 8)])
    with pytest.raises(LayoutError):
        pack([(0, 0)])
    with pytest.raises(LayoutError):
        pack([(0, 200), (0, 54)])
    with pytest.raises(LayoutError):
        unpack(0, [254])
    with pytest.raises(TypeError):
        pack([(True, 1)])
    assert issubclass(LayoutError, ValueError)


def test_unpack_rejects_high_bits() -> None:
    with pytest.raises(FieldRangeError):
        unpack(1 << 16, [8, 8])
    with pytest.raises(FieldRangeError):
        unpack(P, [8])


@given(
    st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=8).flatmap(
        lambda widths: st.tuples(
            st.just(widths),
            st.tuples(*(st.integers(min_value=0, max_value=(1 << w) - 1) for w in widths)),
        )
    )
)
def test_pack_unpack_roundtrip(case: tuple[list[int], tuple[int, ...]]) -> None:
    widths, values = case
    if sum(widths) > MAX_PACK_BITS:
        with pytest.raises(LayoutError):
            pack(list(zip(values, widths, strict=True)))
        return
    packed = pack(list(zip(values, widths, strict=True)))
    assert 0 <= packed < (1 << sum(widths))
    assert unpack(packed, widths) == list(values)


# --- hash_n / hash_groups ---------------------------------------------------------------------


def test_hash_n_pinned_vectors() -> None:
    for n, expected in POSEIDON_1_TO_N.items():
        assert hash_n(list(range(1, n + 1))) == expected
        assert hash_n(tuple(range(1, n + 1))) == expected
    assert hash_n([0, 0, 0, 0]) == POSEIDON4_ZEROS
    assert hash_n([0, 0, 0]) == POSEIDON3_ZEROS
    assert hash_n([1, 2]) == hash2(1, 2)
    assert hash_n([P - 1, 0]) == POSEIDON_PMINUS1_0


@pytest.mark.parametrize("n", [6, 7, 16])
def test_hash_n_wider_than_compiled(n: int) -> None:
    from proofs.poseidon_wide import poseidon as wide

    xs = [P - 1 - i for i in range(n)]
    assert hash_n(xs) == wide(xs)
    assert hash_groups(xs * 2, n) == [wide(xs)] * 2


@pytest.mark.parametrize("bad_len", [0, 17, 20])
def test_hash_n_rejects_bad_length(bad_len: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.16"):
        hash_n([1] * bad_len)


@pytest.mark.parametrize("bad", [-1, P, P + 1, 2**256])
def test_hash_n_and_groups_reject_out_of_field(bad: int) -> None:
    for n in (1, 3, 4, 5, 6):
        xs = [1] * (n - 1) + [bad]
        with pytest.raises(FieldRangeError):
            hash_n(xs)
        with pytest.raises(FieldRangeError):
            hash_groups([0] * n + xs, n)


@pytest.mark.parametrize("bad", [True, 1.0, "1", None, b"\x01"])
def test_hash_n_and_groups_reject_non_ints(bad: object) -> None:
    for n in (1, 3, 4, 5, 6):
        xs = [1] * (n - 1) + [bad]
        with pytest.raises(TypeError):
            hash_n(xs)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            hash_groups([0] * n + xs, n)  # type: ignore[arg-type]


def test_hash_groups_argument_shape() -> None:
    assert hash_groups([], 4) == []
    with pytest.raises(ValueError, match="multiple of 4"):
        hash_groups([1, 2, 3, 4, 5], 4)
    with pytest.raises(ValueError, match="multiple of 3"):
        hash_groups([1, 2], 3)
    for width in (0, -1, 17):
        with pytest.raises(ValueError, match=r"1\.\.16"):
            hash_groups([1] * 4, width)
    for width in (True, 4.0, "4", None):
        with pytest.raises(TypeError):
            hash_groups([1] * 4, width)  # type: ignore[arg-type]


@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda w: st.tuples(
            st.just(w), st.lists(st.integers(min_value=0, max_value=P - 1), max_size=4 * w)
        )
    )
)
def test_hash_groups_is_repeated_hash_n(case: tuple[int, list[int]]) -> None:
    width, flat = case
    flat = flat[: len(flat) - len(flat) % width]
    expected = [hash_n(flat[i : i + width]) for i in range(0, len(flat), width)]
    assert hash_groups(flat, width) == expected
    assert hash_groups(tuple(flat), width) == expected


def test_hash_n_accepts_int_subclasses() -> None:
    class Code(enum.IntEnum):
        A = 1
        B = 2
        C = 3

    assert hash_n([Code.A, Code.B, Code.C]) == POSEIDON_1_TO_N[3]
    assert hash_groups([Code.A, Code.B, Code.C], 3) == [POSEIDON_1_TO_N[3]]
