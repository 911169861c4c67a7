"""contracts/ toolchain and oracle.artifacts: the committed artifacts are current and reproducible.

Without Node: every committed artifact loads, is canonical JSON with the pinned settings, and
its ``sourceSha256`` equals the SHA-256 of the source file today (so editing a contract without
recompiling fails here), and every deployable contract in ``contracts/src`` has an artifact.
With Node (skipped only when ``node``/``npm`` are missing): ``compile.cjs`` is exercised on a
fixture tree of our own in a temp dir, and a fresh compile of ``contracts/src`` must be
byte-identical to the committed artifacts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from oracle.artifacts import (
    ARTIFACTS_DIR,
    COMPILE_COMMAND,
    Artifact,
    ArtifactError,
    available_artifacts,
    default_artifacts_dir,
    load_artifact,
)
from oracle.chain import ANVIL_VERSION, open_chain

from .contracts_helpers import CONTRACTS, OPENZEPPELIN_VERSION, SOLC_VERSION

ROOT = Path(__file__).resolve().parent.parent
PINNED_SETTINGS: dict[str, Any] = {
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "none"},
    "optimizer": {"enabled": True, "runs": 200},
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
    },
    "remappings": [],
    "viaIR": False,
}
_COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_DEPLOYABLE_RE = re.compile(r"^\s*(abstract\s+)?(contract|library|interface)\s+(\w+)", re.MULTILINE)


def _canonical(data: Any) -> str:
    """What compile.cjs writes: sorted keys at every level, 2-space indent, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _deployable_names(src: Path) -> set[str]:
    """Contracts and libraries (the units solc gives bytecode) declared under ``src``."""
    names: set[str] = set()
    for path in sorted(src.rglob("*.sol")):
        text = _COMMENT_RE.sub("", path.read_text(encoding="utf-8"))
        for abstract, kind, name in _DEPLOYABLE_RE.findall(text):
            if not abstract and kind != "interface":
                names.add(name)
    return names


# --------------------------------------------------------------------------------------------
# Without Node


def test_package_json_pins_exact_versions() -> None:
    package = json.loads((CONTRACTS / "package.json").read_text(encoding="utf-8"))
    assert package["private"] is True
    assert package["license"] == "GPL-3.0-or-later"
    pins = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    assert pins == {
        "solc": SOLC_VERSION,
        "@foundry-rs/anvil": ANVIL_VERSION,
        "@openzeppelin/contracts": OPENZEPPELIN_VERSION,
    }
    lock = json.loads((CONTRACTS / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in pins.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    root = lock["packages"][""]
    assert {**root.get("dependencies", {}), **root.get("devDependencies", {})} == pins


@pytest.mark.parametrize("name", available_artifacts())
def test_committed_artifact_is_current(name: str) -> None:
    path = ARTIFACTS_DIR / f"{name}.json"
    text = path.read_text(encoding="utf-8")
    raw = json.loads(text)
    assert text == _canonical(raw), f"{path} is not in compile.cjs's canonical form"
    art = load_artifact(name)
    assert art.name == raw["contractName"] == name
    source = CONTRACTS / raw["sourceName"]
    assert source.is_file(), f"{path} names {raw['sourceName']}, which does not exist"
    assert _sha256(source) == art.source_sha256, (
        f"{path} is stale: {raw['sourceName']} changed since it was compiled; "
        f"run `{COMPILE_COMMAND}` and commit the artifacts"
    )
    assert raw["compiler"]["settings"] == PINNED_SETTINGS
    assert art.compiler_version.startswith(SOLC_VERSION + "+")
    assert art.bytecode and art.deployed_bytecode
    assert art.source_name == raw["sourceName"]
    assert {e["type"] for e in art.abi} <= {
        "constructor", "function", "event", "error", "fallback", "receive",
    }  # fmt: skip


def test_every_deployable_contract_has_an_artifact() -> None:
    expected = _deployable_names(CONTRACTS / "src") if (CONTRACTS / "src").is_dir() else set()
    have = set(available_artifacts())
    assert expected <= have, f"no artifact for {sorted(expected - have)}: run `{COMPILE_COMMAND}`"
    assert have <= expected, f"artifacts without a source contract: {sorted(have - expected)}"


def test_missing_artifact_names_path_and_command(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError) as info:
        load_artifact("NoSuchContract", directory=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "NoSuchContract.json") in message
    assert COMPILE_COMMAND in message
    assert COMPILE_COMMAND == "cd contracts && npm ci && node compile.cjs"


def _good_raw(name: str = "Thing") -> dict[str, Any]:
    return {
        "abi": [],
        "bytecode": "0x6000",
        "compiler": {"settings": PINNED_SETTINGS, "version": "0.8.37+commit.f401782d"},
        "contractName": name,
        "deployedBytecode": "0x00",
        "sourceName": "src/Thing.sol",
        "sourceSha256": "ab" * 32,
    }


def test_load_artifact_reads_and_caches(tmp_path: Path) -> None:
    (tmp_path / "Thing.json").write_text(_canonical(_good_raw()))
    art = load_artifact("Thing", directory=tmp_path)
    assert art == Artifact(
        name="Thing",
        abi=(),
        bytecode=b"\x60\x00",
        deployed_bytecode=b"\x00",
        compiler_version="0.8.37+commit.f401782d",
        source_sha256="ab" * 32,
        source_name="src/Thing.sol",
    )
    assert load_artifact("Thing", directory=tmp_path) is art
    assert available_artifacts(tmp_path) == ["Thing"]
    assert available_artifacts(tmp_path / "missing") == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"contractName": "Other"}, "contractName is 'Other'"),
        ({"abi": {"not": "a list"}}, "'abi' is not a list"),
        ({"bytecode": "6000"}, "'bytecode' is not a 0x-prefixed hex"),
        ({"bytecode": "0x__$abc$__"}, "'bytecode' is not valid hex"),
        ({"bytecode": "0x"}, "'bytecode' is empty"),
        ({"deployedBytecode": None}, "'deployedBytecode' is not a 0x-prefixed"),
        ({"compiler": {}}, "'compiler.version' is missing"),
        ({"sourceSha256": "XYZ"}, "'sourceSha256' is not"),
    ],
)
def test_malformed_artifact_raises(tmp_path: Path, change: dict[str, Any], why: str) -> None:
    (tmp_path / "Thing.json").write_text(json.dumps({**_good_raw(), **change}))
    with pytest.raises(ArtifactError, match=re.escape(why)) as info:
        load_artifact("Thing", directory=tmp_path)
    assert str(tmp_path / "Thing.json") in str(info.value)
    assert COMPILE_COMMAND in str(info.value)


def test_non_json_and_bad_names_raise(tmp_path: Path) -> None:
    (tmp_path / "Broken.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_artifact("Broken", directory=tmp_path)
    (tmp_path / "List.json").write_text("[]")
    with pytest.raises(ArtifactError, match="not a JSON object"):
        load_artifact("List", directory=tmp_path)
    with pytest.raises(ArtifactError, match="not a Solidity contract name"):
        load_artifact("../etc/passwd")


# --------------------------------------------------------------------------------------------
# With Node: compile.cjs itself, and reproducibility of the committed artifacts


def _compile(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "compile.cjs", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


FIXTURE_SOURCES = {
    "src/sub/Stored.sol": """\
        // SPDX-License-Identifier: GPL-3.0-or-later
        pragma solidity =0.8.37;

        import {IStored} from "../interfaces/IStored.sol";
        import {Twice} from "./Twice.sol";

        /// Fixture for the compile.cjs test: an immutable set by the constructor.
        contract Stored is IStored {
            error StoredZero();

            uint256 private immutable _value;

            constructor(uint256 value_) {
                if (value_ == 0) revert StoredZero();
                _value = value_;
            }

            function value() external view returns (uint256) {
                return Twice.half(Twice.twice(_value));
            }
        }

        abstract contract NotDeployable {
            function f() external virtual;
        }
    """,
    "src/sub/Twice.sol": """\
        // SPDX-License-Identifier: GPL-3.0-or-later
        pragma solidity =0.8.37;

        library Twice {
            function twice(uint256 x) internal pure returns (uint256) { return 2 * x; }
            function half(uint256 x) internal pure returns (uint256) { return x / 2; }
        }
    """,
    "src/interfaces/IStored.sol": """\
        // SPDX-License-Identifier: GPL-3.0-or-later
        pragma solidity >=0.8.4;

        interface IStored {
            function value() external view returns (uint256);
        }
    """,
}


@pytest.fixture
def fixture_tree(tmp_path: Path, contracts_node_modules: Path) -> Path:
    """A throwaway contracts/ layout: our compile.cjs, fixture sources, the real node_modules."""
    import textwrap

    work = tmp_path / "contracts"
    work.mkdir()
    shutil.copy2(CONTRACTS / "compile.cjs", work / "compile.cjs")
    os.symlink(contracts_node_modules, work / "node_modules", target_is_directory=True)
    for rel, text in FIXTURE_SOURCES.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(textwrap.dedent(text), encoding="utf-8")
    return work


def test_compile_writes_deterministic_artifacts(fixture_tree: Path) -> None:
    done = _compile(fixture_tree)
    assert done.returncode == 0, done.stderr
    out = fixture_tree / "artifacts"
    # The library and the contract have bytecode; the interface and the abstract one do not.
    assert sorted(p.name for p in out.iterdir()) == ["Stored.json", "Twice.json"]
    assert _deployable_names(fixture_tree / "src") == {"Stored", "Twice"}
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    for name in ("Stored", "Twice"):
        text = (out / f"{name}.json").read_text(encoding="utf-8")
        raw = json.loads(text)
        assert text == _canonical(raw)
        assert sorted(raw) == [
            "abi", "bytecode", "compiler", "contractName", "deployedBytecode", "sourceName",
            "sourceSha256",
        ]  # fmt: skip
        assert raw["compiler"]["settings"] == PINNED_SETTINGS
        assert raw["compiler"]["version"].startswith(SOLC_VERSION + "+commit.")
        assert raw["sourceName"] == f"src/sub/{name}.sol"
        assert raw["sourceSha256"] == _sha256(fixture_tree / raw["sourceName"])
        assert len(raw["bytecode"]) > 2 and len(raw["deployedBytecode"]) > 2

    # Same input, same bytes; into another directory too (the output dir argument).
    assert _compile(fixture_tree).returncode == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    other = fixture_tree.parent / "elsewhere"
    assert _compile(fixture_tree, str(other)).returncode == 0
    assert {p.name: p.read_bytes() for p in other.iterdir()} == first

    # The artifact deploys on the embedded chain and behaves like its source.
    art = load_artifact("Stored", directory=out)
    with open_chain("embedded") as chain:
        stored = chain.deploy(art, 21)
        assert stored.functions.value().call() == 21
        assert len(chain.w3.eth.get_code(stored.address)) == len(art.deployed_bytecode)


def test_compile_removes_stale_artifacts_only(fixture_tree: Path) -> None:
    out = fixture_tree / "artifacts"
    out.mkdir()
    (out / "Gone.json").write_text(_canonical({**_good_raw("Gone")}))
    (out / "notes.json").write_text('{"keep": true}\n')
    assert _compile(fixture_tree).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["Stored.json", "Twice.json", "notes.json"]
    (fixture_tree / "src" / "sub" / "Twice.sol").unlink()
    stored = fixture_tree / "src" / "sub" / "Stored.sol"
    stored.write_text(
        stored.read_text()
        .replace('import {Twice} from "./Twice.sol";\n', "")
        .replace("Twice.half(Twice.twice(_value))", "_value")
    )
    done = _compile(fixture_tree)
    assert done.returncode == 0, done.stderr
    assert "1 stale removed" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == ["Stored.json", "notes.json"]


def test_compile_errors_fail_and_warnings_do_not(fixture_tree: Path) -> None:
    bad = fixture_tree / "src" / "Bad.sol"
    bad.write_text(
        "// SPDX-License-Identifier: GPL-3.0-or-later\npragma solidity =0.8.37;\n"
        "contract Bad { function f() external { undefinedThing; } }\n"
    )
    done = _compile(fixture_tree)
    assert done.returncode != 0
    assert "DeclarationError: Undeclared identifier." in done.stderr
    assert "src/Bad.sol:3:" in done.stderr
    assert not (fixture_tree / "artifacts").exists()

    # A warning (unused local variable) is printed but the compile succeeds.
    bad.write_text(
        "// SPDX-License-Identifier: GPL-3.0-or-later\npragma solidity =0.8.37;\n"
        "contract Warns { function f() external pure { uint256 unused; } }\n"
    )
    done = _compile(fixture_tree)
    assert done.returncode == 0, done.stderr
    assert "Warning: Unused local variable." in done.stderr
    assert (fixture_tree / "artifacts" / "Warns.json").is_file()


def test_compile_rejects_duplicate_contract_names(fixture_tree: Path) -> None:
    (fixture_tree / "src" / "Again.sol").write_text(
        "// SPDX-License-Identifier: GPL-3.0-or-later\npragma solidity =0.8.37;\n"
        "contract Stored { function g() external {} }\n"
    )
    done = _compile(fixture_tree)
    assert done.returncode != 0
    assert "contract name Stored is defined in both" in done.stderr


def test_committed_artifacts_recompile_byte_identical(
    tmp_path: Path, contracts_node_modules: Path
) -> None:
    out = tmp_path / "artifacts"
    done = _compile(CONTRACTS, str(out))
    assert done.returncode == 0, done.stderr
    fresh = {p.name: p.read_bytes() for p in out.glob("*.json")} if out.is_dir() else {}
    committed = (
        {p.name: p.read_bytes() for p in ARTIFACTS_DIR.glob("*.json")}
        if ARTIFACTS_DIR.is_dir()
        else {}
    )
    assert sorted(fresh) == sorted(committed), f"run `{COMPILE_COMMAND}` and commit the result"
    for name, data in fresh.items():
        assert data == committed[name], (
            f"{name} differs from a fresh compile: run `{COMPILE_COMMAND}`"
        )


def test_a_built_package_carries_the_artifacts(tmp_path: Path) -> None:
    """What a wheel installs: ``setup.py``'s build_py copies every artifact into
    ``oracle/contracts``, which ``oracle`` reads when no checkout surrounds it."""
    lib = tmp_path / "lib"
    env = {**os.environ, "BUILD_EXTENSION": "no"}
    done = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(lib)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    packaged = lib / "oracle" / "contracts"
    copied = {p.name: p.read_bytes() for p in packaged.glob("*.json")}
    assert copied == {p.name: p.read_bytes() for p in ARTIFACTS_DIR.glob("*.json")}
    assert default_artifacts_dir(lib / "oracle") == packaged
    assert default_artifacts_dir(ROOT / "oracle") == ARTIFACTS_DIR
    margin = load_artifact("ProvenMargin", directory=packaged)
    assert margin.bytecode == load_artifact("ProvenMargin").bytecode
