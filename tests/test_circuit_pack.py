"""Unpack / Pack for a 250-bit layout in-circuit, against proofs.poseidon.pack/unpack."""

from __future__ import annotations

import random
from pathlib import Path

import groth16py
import pytest

from proofs.circom import CompiledCircuit, compile_circuit
from proofs.poseidon import FIELD_MODULUS, pack, unpack

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "circuits"
# Must match tests/circuits/{un,}pack250_test.circom.
WIDTHS = [64, 64, 64, 32, 16, 8, 1, 1]


def _compile(name: str) -> CompiledCircuit:
    return compile_circuit(ROOT / "tests" / "circuits" / f"{name}_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def unpack250() -> CompiledCircuit:
    return _compile("unpack250")


@pytest.fixture(scope="module")
def pack250() -> CompiledCircuit:
    return _compile("pack250")


def _values(seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(1 << w) for w in WIDTHS]


def test_layout_is_250_bits() -> None:
    assert sum(WIDTHS) == 250


@pytest.mark.parametrize("seed", [0, 1])
def test_unpack_matches_python(unpack250: CompiledCircuit, seed: int) -> None:
    values = _values(seed)
    packed = pack(list(zip(values, WIDTHS, strict=True)))
    # Public signals: out[0..7], then in.
    proof = unpack250.prove({"in": packed}, [*unpack(packed, WIDTHS), packed])
    assert unpack250.verify(proof, [*unpack(packed, WIDTHS), packed])
    assert not unpack250.verify(proof, [*values[:-1], values[-1] ^ 1, packed])


def test_unpack_extremes(unpack250: CompiledCircuit) -> None:
    top = (1 << 250) - 1
    proof = unpack250.prove({"in": top}, [*unpack(top, WIDTHS), top])
    assert unpack250.verify(proof, [*unpack(top, WIDTHS), top])


@pytest.mark.parametrize("bad", [1 << 250, (1 << 253) - 1, FIELD_MODULUS - 1])
def test_unpack_rejects_values_outside_layout(unpack250: CompiledCircuit, bad: int) -> None:
    # What the hint computes: the low 250 bits sliced into fields; the sum check then fails.
    fields = unpack(bad & ((1 << 250) - 1), WIDTHS)
    with pytest.raises(groth16py.WitnessError):
        unpack250.prove({"in": bad}, [*fields, bad])


def test_unpack_rejects_forged_public_fields(unpack250: CompiledCircuit) -> None:
    # A second encoding of the same element would need a field >= 2^width; the prover cannot
    # produce it and the verifier rejects claims of one.
    packed = pack(list(zip(_values(2), WIDTHS, strict=True)))
    fields = unpack(packed, WIDTHS)
    proof = unpack250.prove({"in": packed}, [*fields, packed])
    forged = [fields[0] + (1 << 64), fields[1] - 1 if fields[1] else fields[1], *fields[2:]]
    assert not unpack250.verify(proof, [*forged, packed])


def test_pack_matches_python(pack250: CompiledCircuit) -> None:
    values = _values(3)
    packed = pack(list(zip(values, WIDTHS, strict=True)))
    proof = pack250.prove({"in": values}, [packed])
    assert pack250.verify(proof, [packed])


def test_pack_rejects_value_too_wide(pack250: CompiledCircuit) -> None:
    values = _values(4)
    values[5] = 1 << 8  # field 5 is 8 bits wide
    raw = sum(v << sum(WIDTHS[:i]) for i, v in enumerate(values))  # unchecked linear sum
    with pytest.raises(groth16py.WitnessError):
        pack250.prove({"in": values}, [raw])
