"""RangeCheck / SafeLessThan in-circuit, and why plain LessThan(n) needs range-checked inputs."""

from __future__ import annotations

from pathlib import Path

import groth16py
import pytest

from proofs.circom import CompiledCircuit, compile_circuit
from proofs.poseidon import FIELD_MODULUS

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "circuits"


def _compile(name: str) -> CompiledCircuit:
    return compile_circuit(ROOT / "tests" / "circuits" / f"{name}_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def range64() -> CompiledCircuit:
    return _compile("range_check64")


@pytest.fixture(scope="module")
def safe_lt64() -> CompiledCircuit:
    return _compile("safe_less_than64")


@pytest.fixture(scope="module")
def lt64() -> CompiledCircuit:
    return _compile("less_than64")


@pytest.mark.parametrize("value", [0, 1, (1 << 64) - 1])
def test_range_check_accepts(range64: CompiledCircuit, value: int) -> None:
    proof = range64.prove({"in": value}, [value])
    assert range64.verify(proof, [value])
    assert not range64.verify(proof, [value ^ 1])


@pytest.mark.parametrize("value", [1 << 64, 1 << 200])
def test_range_check_must_fail(range64: CompiledCircuit, value: int) -> None:
    with pytest.raises(groth16py.WitnessError):
        range64.prove({"in": value}, [value])


@pytest.mark.parametrize(
    "a, b", [(0, 0), (1, 2), (2, 1), ((1 << 64) - 1, 0), (0, (1 << 64) - 1), (5, 5)]
)
def test_safe_less_than_matches_python(safe_lt64: CompiledCircuit, a: int, b: int) -> None:
    proof = safe_lt64.prove({"in": [a, b]}, [int(a < b)])
    assert safe_lt64.verify(proof, [int(a < b)])
    assert not safe_lt64.verify(proof, [int(a >= b)])


def test_safe_less_than_must_fail_out_of_range(safe_lt64: CompiledCircuit) -> None:
    with pytest.raises(groth16py.WitnessError):
        safe_lt64.prove({"in": [1 << 64, 0]}, [0])


def test_plain_less_than_is_wrong_out_of_range(
    lt64: CompiledCircuit, safe_lt64: CompiledCircuit
) -> None:
    # circomlib LessThan(64) proves "p - 1 < 0" (p - 1 is -1 in the field): the reason
    # SafeLessThan exists and why LessThan inputs must come range-checked.
    proof = lt64.prove({"in": [FIELD_MODULUS - 1, 0]}, [1])
    assert lt64.verify(proof, [1])
    for claim in (0, 1):
        with pytest.raises(groth16py.WitnessError):
            safe_lt64.prove({"in": [FIELD_MODULUS - 1, 0]}, [claim])
