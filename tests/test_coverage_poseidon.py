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
