"""Poseidon(2), Poseidon(3), Poseidon(4) and HashChain(n) in-circuit, against proofs.poseidon."""

from __future__ import annotations

from pathlib import Path

import groth16py
import pytest

from proofs.circom import CompiledCircuit, compile_circuit
from proofs.poseidon import FIELD_MODULUS, hash2, hash_chain, hash_groups, hash_n

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "circuits"


def _compile(name: str) -> CompiledCircuit:
    return compile_circuit(ROOT / "tests" / "circuits" / f"{name}_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def poseidon2() -> CompiledCircuit:
    return _compile("poseidon2")


@pytest.fixture(scope="module", params=[3, 4], ids=["poseidon3", "poseidon4"])
def poseidon_n(request: pytest.FixtureRequest) -> tuple[int, CompiledCircuit]:
    return request.param, _compile(f"poseidon{request.param}")


@pytest.fixture(scope="module")
def chain4() -> CompiledCircuit:
    return _compile("hash_chain4")


@pytest.mark.parametrize("inputs", [(1, 2), (0, 0), (FIELD_MODULUS - 1, 0), (2**200 + 5, 3)])
def test_poseidon2_matches_python(poseidon2: CompiledCircuit, inputs: tuple[int, int]) -> None:
    proof = poseidon2.prove({"inputs": list(inputs)}, [hash2(*inputs)])
    assert poseidon2.verify(proof, [hash2(*inputs)])
    # Must fail: any other claimed output.
    assert not poseidon2.verify(proof, [(hash2(*inputs) + 1) % FIELD_MODULUS])


def test_poseidon_n_matches_hash_n(poseidon_n: tuple[int, CompiledCircuit]) -> None:
    """The shared vector of the 4-ary tree node (Poseidon(4)) and the account leaf
    (Poseidon(3)): the circuit's output equals ``hash_n`` (compiled backend)."""
    n, circuit = poseidon_n
    p = FIELD_MODULUS
    for xs in ([1, 2, 3, 4][:n], [0] * n, [p - 1] * n, [2**253 + 7, p - 2, 5, 2**64][:n]):
        expected = hash_n(xs)
        assert hash_groups(xs, n) == [expected]
        proof = circuit.prove({"inputs": xs}, [expected])
        assert circuit.verify(proof, [expected])
        # Must fail: another claimed output, and the inputs in another order.
        assert not circuit.verify(proof, [(expected + 1) % p])
        assert not circuit.verify(proof, [hash_n(xs[::-1])]) or xs == xs[::-1]


def test_poseidon_n_wrong_reference_fails(poseidon_n: tuple[int, CompiledCircuit]) -> None:
    n, circuit = poseidon_n
    xs = list(range(1, n + 1))
    with pytest.raises(groth16py.WitnessError):
        circuit.prove({"inputs": xs}, [hash_n([*xs[:-1], n + 1])])
    with pytest.raises(groth16py.WitnessError):
        circuit.prove({"inputs": xs[:-1]})


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
