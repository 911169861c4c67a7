"""Pinned constraint counts of every test circuit: the figures in proofs/circuits/README.md.

A template change that moves a count fails here, so the README table (which feeds the block
circuit's budget) cannot drift from the code. When circom2 (npm ``circom2@0.2.23``) is installed
under ``.cache/node``, a few counts are cross-checked against ``circom2 --O2 --r1cs``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import groth16py
import pytest

from proofs.circom import circuit_stats, r1cs_header

from .node_helpers import ensure_npm_package

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "tests" / "circuits"
CACHE = ROOT / ".cache" / "circuits"
CIRCOM2 = ROOT / ".cache" / "node" / "node_modules" / ".bin" / "circom2"

# name -> total constraints (groth16py 0.2.0 compiler, same simplification as circom --O2).
EXPECTED = {
    "poseidon2": 240,
    "hash_chain2": 240,
    "hash_chain4": 720,
    "hash_chain8": 1680,
    "hash_chain16": 3600,
    "merkle_root8": 1224,
    "merkle_update4": 1214,
    "merkle_update5": 1814,
    "merkle_update8": 2428,
    "merkle_update12": 3642,
    "merkle_update16": 4856,
    "merkle_update20": 6070,
    "merkle_update_if8": 2431,
    "unpack250": 251,
    "pack250": 250,
    "less_than64": 65,
    "range_check64": 64,
    "safe_less_than64": 193,
}


TEMPLATES = ["hash_chain", "merkle", "pack", "range"]


def test_pinned_wrappers_are_three_lines() -> None:
    for name in EXPECTED:
        lines = (CIRCUITS / f"{name}_test.circom").read_text().splitlines()
        assert len(lines) == 3, name
        assert lines[0] == "pragma circom 2.0.0;"
        assert lines[1].startswith("include ") and lines[2].startswith("component main")


def test_templates_follow_house_rules() -> None:
    for name in TEMPLATES:
        path = ROOT / "proofs" / "circuits" / f"{name}.circom"
        text = path.read_text()
        assert text.startswith("pragma circom 2.0.0;\n"), path
        assert "component main" not in text, path
        for line in text.splitlines():
            if line.strip().startswith("include"):
                assert '"/' not in line and '"..' not in line, f"{path}: {line}"
        # Every template with parameters states their bounds.
        for template in text.split("template ")[1:]:
            if template.split("(")[1].split(")")[0].strip():
                assert "assert(" in template.split("}")[0], f"{path}: {template.split('(')[0]}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_constraint_count(name: str) -> None:
    stats = circuit_stats(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE)
    assert stats.constraints == EXPECTED[name]


def test_per_level_costs() -> None:
    # The per-level figures quoted in the README (4-ary levels, two index bits each): 306 per
    # MerkleRoot level (Poseidon(4) 297 + placing the node 7 + 2 bits), 607 per MerkleUpdate
    # level (two Poseidon(4) + 4 + 4 placing the old and new node + 3 shared + 2 bits), where
    # a binary tree spent 2 x 483 on the same two bits.
    assert EXPECTED["merkle_root8"] == 4 * 306
    for depth in (4, 8, 12, 16, 20):
        assert EXPECTED[f"merkle_update{depth}"] == 607 * depth // 2
    assert EXPECTED["merkle_update5"] == 3 * 607 - 7  # odd depth: a constant top bit
    for n in (2, 4, 8, 16):
        assert EXPECTED[f"hash_chain{n}"] == 240 * (n - 1)


@pytest.mark.parametrize("name", ["poseidon2", "merkle_update8", "unpack250", "safe_less_than64"])
def test_count_matches_circom2_o2(name: str, tmp_path: Path) -> None:
    # Installs npm circom2@0.2.23 under .cache/node on first use; skips only without Node.
    ensure_npm_package("circom2", "0.2.23")
    # circom2's WASI sandbox sees paths relative to the working directory, so run from "/".
    def rel(p: Path | str) -> str:
        return str(Path(p).resolve().relative_to("/"))

    subprocess.run(
        [
            str(CIRCOM2),
            rel(CIRCUITS / f"{name}_test.circom"),
            "--O2",
            "--r1cs",
            "-l",
            rel(groth16py.circomlib_path(2)),
            "-o",
            rel(tmp_path),
        ],
        cwd="/",
        check=True,
        capture_output=True,
        timeout=120,
    )
    header = r1cs_header((tmp_path / f"{name}_test.r1cs").read_bytes())
    assert header.n_constraints == EXPECTED[name]
    stats = circuit_stats(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE)
    assert header.n_wires == stats.wires
    assert header.n_pub_out == stats.public_outputs
    assert header.n_pub_in == stats.public_inputs
