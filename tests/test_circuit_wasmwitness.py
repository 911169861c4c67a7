"""Witnesses computed by the circuit's .wasm under wasmtime (proofs/wasmwitness.py).

The witness must be the one circom's own runtime computes (checked against snarkjs's
``wtns calculate`` on the same .wasm, byte for byte), prove and verify through groth16py, and
refuse every malformed input and failing constraint with a typed error before any proving.
"""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import groth16py
import pytest
import wasmtime

from proofs.circom import UnsatisfiedWitnessError, compile_circuit
from proofs.poseidon import hash2
from proofs.wasmwitness import (
    WasmWitnessCalculator,
    WitnessAssertError,
    wasm_from_proving_key,
    write_wtns,
)

from .node_helpers import NODE_PREFIX, ensure_npm_package

CIRCUITS = Path(__file__).resolve().parent / "circuits"


def _wtns_wires(path: Path) -> tuple[int, list[int]]:
    """(prime, wires) of an iden3 .wtns file, read by the format's definition."""
    data = path.read_bytes()
    assert data[:4] == b"wtns"
    version, sections = struct.unpack_from("<II", data, 4)
    assert (version, sections) == (2, 2)
    pos, found = 12, {}
    for _ in range(sections):
        kind, size = struct.unpack_from("<IQ", data, pos)
        found[kind] = data[pos + 12 : pos + 12 + size]
        pos += 12 + size
    (n8,) = struct.unpack_from("<I", found[1])
    prime = int.from_bytes(found[1][4 : 4 + n8], "little")
    (count,) = struct.unpack_from("<I", found[1], 4 + n8)
    wires = [int.from_bytes(found[2][i * n8 : (i + 1) * n8], "little") for i in range(count)]
    return prime, wires


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def poseidon(cache: Path):
    return compile_circuit(CIRCUITS / "poseidon2_test.circom", cache_dir=cache)


def test_the_setup_keeps_the_wasm_beside_the_key(poseidon, cache: Path) -> None:
    entry = cache / poseidon.digest
    wasm = (entry / "circuit.wasm").read_bytes()
    assert wasm[:8] == b"\x00asm\x01\x00\x00\x00"
    assert wasm == wasm_from_proving_key(entry / "circuit.pk") == poseidon.wasm


def test_witness_equals_snarkjs_wtns_calculate(poseidon, cache: Path, tmp_path: Path) -> None:
    ensure_npm_package("snarkjs", "0.7.6")
    inputs = {"inputs": [12345, 678910]}
    (tmp_path / "input.json").write_text(json.dumps({"inputs": ["12345", "678910"]}))
    snarkjs = NODE_PREFIX / "node_modules" / ".bin" / "snarkjs"
    subprocess.run(
        [str(snarkjs), "wtns", "calculate", str(cache / poseidon.digest / "circuit.wasm"),
         str(tmp_path / "input.json"), str(tmp_path / "theirs.wtns")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    wasm = (cache / poseidon.digest / "circuit.wasm").read_bytes()
    witness = WasmWitnessCalculator(wasm).compute(inputs)
    write_wtns(tmp_path / "ours.wtns", witness)
    ours, theirs = _wtns_wires(tmp_path / "ours.wtns"), _wtns_wires(tmp_path / "theirs.wtns")
    assert ours == theirs
    assert len(ours[1]) == witness.wires > 200  # the whole Poseidon, not just the inputs
    assert ours[1][:2] == [1, hash2(12345, 678910)]  # wire 0 is 1, then the public output
    assert [witness.wire(i) for i in range(witness.wires)] == ours[1]


def test_proof_from_the_wasm_witness_verifies(poseidon) -> None:
    out = hash2(3, 4)
    proof = poseidon.prove({"inputs": [3, 4]}, [out])
    assert poseidon.verify(proof, [out])
    assert not poseidon.verify(proof, [out + 1])


def test_malformed_inputs_are_typed_errors(poseidon) -> None:
    calc = poseidon.witness_calculator()
    assert calc is not None
    bad = {
        "unknown signal": {"inputs": [1, 2], "nope": 1},
        "too few values": {"inputs": [1]},
        "too many values": {"inputs": [1, 2, 3]},
        "negative": {"inputs": [-1, 2]},
        "not below p": {"inputs": [1 << 254, 2]},
        "not an integer": {"inputs": [1, "2"]},
        "a bool": {"inputs": [True, 2]},
        "missing signal": {},
    }
    for why, inputs in bad.items():
        with pytest.raises(groth16py.WitnessError) as info:
            calc.compute(inputs)
        assert not isinstance(info.value, WitnessAssertError), why
        with pytest.raises(groth16py.WitnessError):
            poseidon.prove(inputs, [0])


def test_a_failing_constraint_stops_the_witness(tmp_path: Path) -> None:
    merkle = compile_circuit(CIRCUITS / "merkle_update4_test.circom", cache_dir=tmp_path)
    calc = merkle.witness_calculator()
    assert calc is not None
    inputs = {
        "oldRoot": 5, "oldLeaf": 1, "newLeaf": 2, "index": 3,
        "siblings": [0] * 6,
    }  # fmt: skip
    with pytest.raises(WitnessAssertError, match="MerkleUpdate"):
        calc.compute(inputs)  # oldRoot is not the root of oldLeaf's path
    with pytest.raises(UnsatisfiedWitnessError, match="MerkleUpdate"):
        merkle.prove(inputs)  # even unchecked: no proof of a failing constraint


def test_public_signals_are_checked_before_proving(
    poseidon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(groth16py, "prove_wtns", lambda *a: pytest.fail("proved anyway"))
    with pytest.raises(UnsatisfiedWitnessError, match="public signals differ"):
        poseidon.prove({"inputs": [3, 4]}, [hash2(3, 5)])


def test_an_entry_made_before_the_wasm_file_gets_it_from_the_key(tmp_path: Path) -> None:
    first = compile_circuit(CIRCUITS / "poseidon2_test.circom", cache_dir=tmp_path)
    entry = tmp_path / first.digest
    (entry / "circuit.wasm").unlink()
    again = compile_circuit(CIRCUITS / "poseidon2_test.circom", cache_dir=tmp_path)
    out = hash2(7, 8)
    assert again.verify(again.prove({"inputs": [7, 8]}, [out]), [out])
    assert (entry / "circuit.wasm").read_bytes() == wasm_from_proving_key(entry / "circuit.pk")


def test_a_key_without_a_wasm_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.pk"
    # the magic, but a length that does not frame whole sections
    fake.write_bytes(
        b"\x01" * 64 + struct.pack("<Q", 40) + b"\x00asm\x01\x00\x00\x00" + b"\x05" * 40
    )
    with pytest.raises(ValueError, match=r"no circuit \.wasm"):
        wasm_from_proving_key(fake)
    with pytest.raises(ValueError, match=r"not a valid circuit \.wasm"):
        WasmWitnessCalculator(b"\x00asm\x01\x00\x00\x00\x05")
    with pytest.raises(ValueError, match=r"not a circom witness calculator: no .*setInputSignal"):
        WasmWitnessCalculator(wasmtime.wat2wasm("(module)"))


def test_an_uncached_circuit_proves_through_groth16py() -> None:
    c = compile_circuit(CIRCUITS / "poseidon2_test.circom", use_cache=False)
    assert c.wasm is None and c.witness_calculator() is None
    out = hash2(1, 2)
    assert c.verify(c.prove({"inputs": [1, 2]}, [out]), [out])
