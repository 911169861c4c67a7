"""proofs.circom: compiler report parsing, r1cs header, key cache, compile errors, CLI."""

from __future__ import annotations

import json
import shutil
import struct
import threading
from pathlib import Path

import groth16py
import pytest

from proofs import circom
from proofs.circom import (
    CircuitCompileError,
    UnsatisfiedWitnessError,
    compile_circuit,
    constraint_count,
    include_closure,
    parse_compiler_report,
    r1cs_header,
    source_digest,
)
from proofs.locks import file_lock
from proofs.poseidon import FIELD_MODULUS

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "tests" / "circuits"
LIBS = [groth16py.circomlib_path(2)]

REPORT = (
    "\x1b[32mtemplate instances\x1b[0m: 75\n"
    "non-linear constraints: 3864\n"
    "linear constraints: 1\n"
    "public inputs: 1\n"
    "private inputs: 3 (none belong to witness)\n"
    "public outputs: 1\n"
    "wires: 3875\n"
    "labels: 12445\n"
)


def test_exports() -> None:
    for name in circom.__all__:
        assert hasattr(circom, name), name


def test_parse_compiler_report() -> None:
    stats = parse_compiler_report(REPORT)
    assert stats.template_instances == 75
    assert stats.private_inputs == 3
    assert stats.constraints == 3865
    with pytest.raises(CircuitCompileError, match="labels"):
        parse_compiler_report(REPORT.replace("labels: 12445\n", ""))


def test_r1cs_header_synthetic() -> None:
    prime = FIELD_MODULUS.to_bytes(32, "little")
    body = struct.pack("<I", 32) + prime + struct.pack("<IIIIQI", 10, 1, 2, 3, 20, 7)
    data = b"r1cs" + struct.pack("<II", 1, 2)
    data += struct.pack("<IQ", 2, 4) + b"\0" * 4  # a constraints section first
    data += struct.pack("<IQ", 1, len(body)) + body
    header = r1cs_header(data)
    assert header.prime == FIELD_MODULUS
    assert (header.n_wires, header.n_pub_out, header.n_pub_in, header.n_prv_in) == (10, 1, 2, 3)
    assert (header.n_labels, header.n_constraints) == (20, 7)
    with pytest.raises(ValueError):
        r1cs_header(b"nope")


def test_include_closure_and_digest(tmp_path: Path) -> None:
    closure = {p.name for p in include_closure(CIRCUITS / "merkle_update8_test.circom", LIBS)}
    assert {"merkle_update8_test.circom", "merkle.circom", "poseidon.circom"} <= closure
    assert {"bitify.circom", "poseidon_constants.circom"} <= closure
    # Editing an included template changes the digest of the wrapper.
    (tmp_path / "lib").mkdir()
    shutil.copy(ROOT / "proofs" / "circuits" / "range.circom", tmp_path / "lib" / "range.circom")
    main = tmp_path / "main.circom"
    main.write_text(
        'pragma circom 2.0.0;\ninclude "lib/range.circom";\ncomponent main = RangeCheck(8);\n'
    )
    before = source_digest(main, LIBS)
    assert before == source_digest(main, LIBS)
    with (tmp_path / "lib" / "range.circom").open("a") as f:
        f.write("\n// edited\n")
    assert source_digest(main, LIBS) != before


def test_a_second_process_waits_for_the_first_setup_and_uses_its_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one process sets a circuit up (it holds the digest's lock), another one asking for
    the same circuit waits, then loads those keys instead of making its own."""
    source = CIRCUITS / "range_check64_test.circom"
    made = compile_circuit(source, cache_dir=tmp_path / "elsewhere")  # "the first process"
    cache = tmp_path / "cache"
    got: list[circom.CompiledCircuit] = []
    with file_lock(cache / ".locks" / made.digest):
        waiter = threading.Thread(
            target=lambda: got.append(compile_circuit(source, cache_dir=cache))
        )
        waiter.start()
        waiter.join(1.0)
        assert waiter.is_alive() and not got  # waiting for the lock, not setting up
        monkeypatch.setattr(groth16py, "setup_circom", lambda *a: pytest.fail("second setup"))
        shutil.copytree(tmp_path / "elsewhere" / made.digest, cache / made.digest)
    waiter.join(60)
    assert got and got[0].verifying_key.to_json() == made.verifying_key.to_json()


def test_cache_miss_then_hit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = CIRCUITS / "range_check64_test.circom"
    first = compile_circuit(source, cache_dir=tmp_path)
    entry = tmp_path / first.digest
    names = sorted(p.name for p in entry.iterdir())
    assert names == ["circuit.pk", "circuit.vk", "circuit.wasm", "stats.json"]
    assert json.loads((entry / "stats.json").read_text())["stats"]["nonlinear_constraints"] == 64

    def no_compile(*args: object) -> None:
        raise AssertionError("cache hit expected")

    monkeypatch.setattr(groth16py, "setup_circom", no_compile)
    second = compile_circuit(source, cache_dir=tmp_path)
    assert second.stats == first.stats
    assert constraint_count(source, cache_dir=tmp_path) == 64
    # Same cached keys: a proof from one verifies under the other.
    proof = second.prove({"in": 5}, [5])
    assert first.verify(proof, [5])
    # no temporary entry is left behind (the setup locks stay, in .locks)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") and p.name != ".locks"]


def test_uncached_setup_changes_verifying_key() -> None:
    # Why keys are cached: every setup is fresh, proofs do not cross setups.
    source = CIRCUITS / "range_check64_test.circom"
    a = compile_circuit(source, use_cache=False)
    b = compile_circuit(source, use_cache=False)
    proof = a.prove({"in": 5}, [5])
    assert not b.verify(proof, [5])


def test_prove_checks_public_signals() -> None:
    c = compile_circuit(CIRCUITS / "range_check64_test.circom", use_cache=False)
    with pytest.raises(UnsatisfiedWitnessError):
        c.prove({"in": 5}, [6])
    assert issubclass(UnsatisfiedWitnessError, groth16py.WitnessError)
    # Unchecked proving of a failing constraint returns a proof that does not verify.
    proof = c.prove({"in": 1 << 64})
    assert not c.verify(proof, [1 << 64])


def test_compile_error_is_reported(tmp_path: Path) -> None:
    main = tmp_path / "bad.circom"
    chain = (ROOT / "proofs" / "circuits" / "hash_chain.circom").as_posix()
    main.write_text(f'pragma circom 2.0.0;\ninclude "{chain}";\ncomponent main = HashChain(1);\n')
    with pytest.raises(CircuitCompileError, match="assert"):
        compile_circuit(main, cache_dir=tmp_path)
    assert not list(tmp_path.glob("*/stats.json"))


def test_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(circom, "DEFAULT_CACHE_DIR", tmp_path)
    assert circom._main([str(CIRCUITS / "less_than64_test.circom")]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["constraints"] == 65
    assert circom._main([]) == 2
