"""The production key path: a real (tiny) snarkjs ceremony, imported and used to prove.

The ceremony runs with npm snarkjs 0.7.6 and circom2 0.2.23 (installed on demand under
``.cache/node``) on the Poseidon(2) wrapper: powers of tau 2^10 with one contribution, a
Groth16 phase 2 with one contribution, the verifying key exported by snarkjs. The files are
kept under ``.cache/ceremony`` so later runs skip the ~30-60 s of snarkjs work.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import groth16py
import pytest

from proofs.circom import UnsatisfiedWitnessError, compile_circuit
from proofs.keys import import_ceremony, verifying_key_matches
from proofs.poseidon import hash2

from .node_helpers import NODE_PREFIX, ensure_npm_package

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "circuits" / "poseidon2_test.circom"
WORK = ROOT / ".cache" / "ceremony"


def _run(*args: str, cwd: Path = WORK) -> None:
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def ceremony() -> tuple[Path, Path]:
    ensure_npm_package("snarkjs", "0.7.6")
    ensure_npm_package("circom2", "0.2.23")
    bin_ = NODE_PREFIX / "node_modules" / ".bin"
    final, vk = WORK / "final.zkey", WORK / "vk.json"
    if final.exists() and vk.exists():
        return final, vk
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    snarkjs = str(bin_ / "snarkjs")
    _run(snarkjs, "powersoftau", "new", "bn128", "10", "pot_0.ptau")
    _run(snarkjs, "powersoftau", "contribute", "pot_0.ptau", "pot_1.ptau", "--name=a",
         "-e=test entropy one")  # fmt: skip
    _run(snarkjs, "powersoftau", "prepare", "phase2", "pot_1.ptau", "pot.ptau")
    # circom2 (WASI) sees paths relative to the working directory: run it from "/".
    lib = Path(groth16py.circomlib_path(2)).resolve()
    rel = [str(p.relative_to("/")) for p in (SOURCE, lib, WORK)]
    _run(str(bin_ / "circom2"), rel[0], "--O2", "--r1cs", "-l", rel[1], "-o", rel[2], cwd=Path("/"))
    _run(snarkjs, "groth16", "setup", "poseidon2_test.r1cs", "pot.ptau", "c0.zkey")
    _run(snarkjs, "zkey", "contribute", "c0.zkey", "final.zkey", "--name=b",
         "-e=test entropy two")  # fmt: skip
    _run(snarkjs, "zkey", "export", "verificationkey", "final.zkey", "vk.json")
    return final, vk


def test_ceremony_key_proves_and_snarkjs_key_verifies(ceremony: tuple[Path, Path]) -> None:
    zkey, vk_json = ceremony
    circuit = import_ceremony(zkey, SOURCE)
    assert circuit.constraints == 240
    assert verifying_key_matches(circuit, vk_json.read_text())
    assert circuit.witness_calculator() is not None  # proves with the compiled witness
    public = [hash2(1, 2)]
    proof = circuit.prove({"inputs": [1, 2]}, public)
    snarkjs_vk = groth16py.Verifier(groth16py.VerifyingKey.from_snarkjs_file(str(vk_json)))
    assert snarkjs_vk.verify(proof, public)
    assert not snarkjs_vk.verify(proof, [hash2(1, 3)])
    with pytest.raises(UnsatisfiedWitnessError):
        circuit.prove({"inputs": [1, 2]}, [hash2(1, 3)])


def test_development_key_is_not_the_ceremony_key(ceremony: tuple[Path, Path]) -> None:
    _, vk_json = ceremony
    dev = compile_circuit(SOURCE)
    assert not verifying_key_matches(dev, vk_json.read_text())
    proof = dev.prove({"inputs": [1, 2]}, [hash2(1, 2)])
    snarkjs_vk = groth16py.Verifier(groth16py.VerifyingKey.from_snarkjs_file(str(vk_json)))
    assert not snarkjs_vk.verify(proof, [hash2(1, 2)])
