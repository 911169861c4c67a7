"""circomlib's EdDSAPoseidonVerifier in a Groth16 proof, on signatures from proofs.eddsa."""

from __future__ import annotations

import time
from pathlib import Path

import groth16py
import pytest

from proofs import babyjub as bj
from proofs import eddsa
from proofs.circom import CompiledCircuit, compile_circuit

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "circuits"
KEY = bytes(range(32))


@pytest.fixture(scope="module")
def circuit() -> CompiledCircuit:
    return compile_circuit(ROOT / "tests" / "circuits" / "eddsa_test.circom", cache_dir=CACHE)


def _inputs(msg: int, sig: eddsa.Signature, pub: bj.Point, enabled: int = 1) -> dict[str, int]:
    return {
        "enabled": enabled,
        "Ax": pub[0],
        "Ay": pub[1],
        "S": sig.S,
        "R8x": sig.R8[0],
        "R8y": sig.R8[1],
        "M": msg,
    }


def test_constraint_count(circuit: CompiledCircuit) -> None:
    # DESIGN.md section 6 budgets ~4.2k constraints per in-circuit signature check.
    assert 4000 <= circuit.constraints <= 4400, circuit.stats
    assert circuit.stats.public_inputs == 3


def test_python_signature_proves_and_verifies(circuit: CompiledCircuit) -> None:
    msg = 0x1234_5678_9ABC
    pub, sig = eddsa.private_to_public(KEY), eddsa.sign_poseidon(KEY, msg)
    start = time.perf_counter()
    proof = groth16py.prove(circuit.proving_key, _inputs(msg, sig, pub))
    elapsed = time.perf_counter() - start
    verifier = groth16py.Verifier(circuit.verifying_key)
    assert verifier.verify(proof, [pub[0], pub[1], msg])
    assert not verifier.verify(proof, [pub[0], pub[1], msg + 1])
    assert elapsed < 30, f"proving took {elapsed:.1f} s"


@pytest.mark.parametrize("tamper", ["msg", "S", "R8", "pub"])
def test_tampered_signature_cannot_be_proven(circuit: CompiledCircuit, tamper: str) -> None:
    """groth16py 0.2.0's ``prove`` does not evaluate ``===`` constraints: it returns a proof
    that fails verification. ``CompiledCircuit.prove`` with the expected public signals
    turns that into ``UnsatisfiedWitnessError``, a ``groth16py.WitnessError``.
    """
    msg = 77
    pub, sig = eddsa.private_to_public(KEY), eddsa.sign_poseidon(KEY, msg)
    if tamper == "msg":
        msg += 1
    elif tamper == "S":
        sig = eddsa.Signature(sig.R8, (sig.S + 1) % bj.SUBGROUP_ORDER)
    elif tamper == "R8":
        sig = eddsa.Signature(bj.add(sig.R8, bj.BASE8), sig.S)
    else:
        pub = eddsa.private_to_public(bytes(32))
    assert not eddsa.verify_poseidon(msg, sig, pub)
    inputs, public = _inputs(msg, sig, pub), [pub[0], pub[1], msg]
    raw_proof = groth16py.prove(circuit.proving_key, inputs)
    assert not groth16py.Verifier(circuit.verifying_key).verify(raw_proof, public)
    with pytest.raises(groth16py.WitnessError):
        circuit.prove(inputs, public)


def test_s_not_below_subgroup_order_is_rejected(circuit: CompiledCircuit) -> None:
    # S + l satisfies the curve equation but the circuit enforces S < l, as Signature does.
    msg = 5
    pub, sig = eddsa.private_to_public(KEY), eddsa.sign_poseidon(KEY, msg)
    inputs = {**_inputs(msg, sig, pub), "S": sig.S + bj.SUBGROUP_ORDER}
    with pytest.raises(groth16py.WitnessError):
        circuit.prove(inputs, [pub[0], pub[1], msg])


def test_disabled_check_accepts_anything(circuit: CompiledCircuit) -> None:
    msg = 9
    pub, sig = eddsa.private_to_public(KEY), eddsa.sign_poseidon(KEY, msg)
    inputs = _inputs(msg + 1, sig, pub, enabled=0)
    circuit.prove(inputs, [pub[0], pub[1], msg + 1])
