"""Poseidon(2) and HashChain(n) in-circuit, against proofs.poseidon."""

from __future__ import annotations

from pathlib import Path

import groth16py
import pytest

from proofs.circom import CompiledCircuit, compile_circuit
from proofs.poseidon import FIELD_MODULUS, hash2, hash_chain

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "circuits"


def _compile(name: str) -> CompiledCircuit:
    return compile_circuit(ROOT / "tests" / "circuits" / f"{name}_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def poseidon2() -> CompiledCircuit:
    return _compile("poseidon2")


@pytest.fixture(scope="module")
def chain4() -> CompiledCircuit:
    return _compile("hash_chain4")


@pytest.mark.parametrize("inputs", [(1, 2), (0, 0), (FIELD_MODULUS - 1, 0), (2**200 + 5, 3)])
def test_poseidon2_matches_python(poseidon2: CompiledCircuit, inputs: tuple[int, int]) -> None:
    proof = poseidon2.prove({"inputs": list(inputs)}, [hash2(*inputs)])
    assert poseidon2.verify(proof, [hash2(*inputs)])
    # Must fail: any other claimed output.
    assert not poseidon2.verify(proof, [(hash2(*inputs) + 1) % FIELD_MODULUS])


def test_hash_chain4_matches_python(chain4: CompiledCircuit) -> None:
    xs = [1, 2, 3, 4]
    proof = chain4.prove({"in": xs}, [hash_chain(xs)])
    assert chain4.verify(proof, [hash_chain(xs)])
    assert not chain4.verify(proof, [hash_chain([2, 1, 3, 4])])
    # The fold order matters: right fold is a different value.
    assert not chain4.verify(proof, [hash2(1, hash2(2, hash2(3, 4)))])


def test_hash_chain4_missing_input_fails(chain4: CompiledCircuit) -> None:
    with pytest.raises(groth16py.WitnessError):
        chain4.prove({"in": [1, 2, 3]})


def test_hash_chain4_wrong_reference_fails(chain4: CompiledCircuit) -> None:
    # A Python/circuit disagreement is an error at proving time, not a bad proof.
    with pytest.raises(groth16py.WitnessError):
        chain4.prove({"in": [1, 2, 3, 4]}, [hash_chain([1, 2, 3, 5])])
