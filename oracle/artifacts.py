"""Load the committed compiled contracts (``contracts/artifacts/<Name>.json``).

Why: DESIGN §7 commits the solc output so that a Python user needs no Node. This module is the
one place that reads those files, checks their shape, and turns hex into bytes, so the deploy and
publish code never handles raw JSON. Artifacts are written by ``contracts/compile.cjs``; tests
check that each one still matches its source (``source_sha256``) and recompiles byte-identically.

Exceptions::

    Exception
     └── ArtifactError   an artifact file is missing or malformed (message names the path
                         and the command that regenerates it)
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Any

__all__ = [
    "ARTIFACTS_DIR",
    "COMPILE_COMMAND",
    "Artifact",
    "ArtifactError",
    "available_artifacts",
    "default_artifacts_dir",
    "load_artifact",
]


def default_artifacts_dir(package: Path) -> Path:
    """The compiled contracts of the ``oracle`` package at ``package``: the repository's
    ``contracts/artifacts`` (where ``compile.cjs`` writes) in a checkout, else the copy an
    installed wheel carries as ``oracle/contracts`` (``setup.py``'s build_py)."""
    checkout = package.parent / "contracts" / "artifacts"
    return checkout if checkout.is_dir() else package / "contracts"


ARTIFACTS_DIR: Path = default_artifacts_dir(Path(__file__).resolve().parent)
"""Where this module reads the compiled contracts (``default_artifacts_dir``)."""

COMPILE_COMMAND = "cd contracts && npm ci && node compile.cjs"
"""The command that regenerates the artifacts (needs Node and npm)."""

_NAME_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class ArtifactError(Exception):
    """A compiled-contract artifact is missing or malformed."""


@dataclasses.dataclass(frozen=True, slots=True)
class Artifact:
    """One compiled contract: what a deployment needs, plus provenance for staleness checks.

    ``bytecode`` is the creation code (constructor arguments are appended by the deployer);
    ``deployed_bytecode`` is the runtime code, which a deployed contract's ``eth_getCode`` must
    equal apart from immutables. ``source_sha256`` is the hex SHA-256 of the source file the
    artifact was compiled from.
    """

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes
    deployed_bytecode: bytes
    compiler_version: str
    source_sha256: str
    source_name: str = ""


def _fail(path: Path, why: str) -> ArtifactError:
    return ArtifactError(f"{path}: {why}; regenerate the artifacts with `{COMPILE_COMMAND}`")


def _hex_bytes(path: Path, data: dict[str, Any], key: str) -> bytes:
    value = data.get(key)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise _fail(path, f"{key!r} is not a 0x-prefixed hex string")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise _fail(path, f"{key!r} is not valid hex") from exc


def _parse(path: Path, name: str) -> Artifact:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(path, f"no artifact for contract {name!r}") from None
    except OSError as exc:
        raise _fail(path, f"cannot read the artifact ({exc})") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _fail(path, f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise _fail(path, "the artifact is not a JSON object")
    if data.get("contractName") != name:
        raise _fail(path, f"contractName is {data.get('contractName')!r}, expected {name!r}")
    abi = data.get("abi")
    if not isinstance(abi, list) or not all(isinstance(e, dict) for e in abi):
        raise _fail(path, "'abi' is not a list of objects")
    bytecode = _hex_bytes(path, data, "bytecode")
    deployed = _hex_bytes(path, data, "deployedBytecode")
    if not bytecode:
        raise _fail(path, "'bytecode' is empty (an interface or abstract contract?)")
    compiler = data.get("compiler")
    version = compiler.get("version") if isinstance(compiler, dict) else None
    if not isinstance(version, str) or not version:
        raise _fail(path, "'compiler.version' is missing")
    digest = data.get("sourceSha256")
    if not isinstance(digest, str) or not _SHA256_RE.match(digest):
        raise _fail(path, "'sourceSha256' is not a lowercase hex SHA-256")
    source_name = data.get("sourceName", "")
    if not isinstance(source_name, str):
        raise _fail(path, "'sourceName' is not a string")
    return Artifact(
        name=name,
        abi=tuple(abi),
        bytecode=bytecode,
        deployed_bytecode=deployed,
        compiler_version=version,
        source_sha256=digest,
        source_name=source_name,
    )


@functools.cache
def _load_cached(name: str, directory: Path) -> Artifact:
    return _parse(directory / f"{name}.json", name)


def load_artifact(name: str, *, directory: Path | None = None) -> Artifact:
    """The artifact of contract ``name`` from ``directory`` (default ``ARTIFACTS_DIR``).

    Cached per (name, directory): artifacts are read-only inputs during a run, and deploy code
    asks for the same few contracts many times. Raises ArtifactError, naming the file and the
    regenerate command, when the file is missing or malformed.
    """
    if not _NAME_RE.match(name):
        raise ArtifactError(f"{name!r} is not a Solidity contract name")
    return _load_cached(name, (directory or ARTIFACTS_DIR).resolve())


def available_artifacts(directory: Path | None = None) -> list[str]:
    """Names of the contracts that have an artifact in ``directory`` (default
    ``ARTIFACTS_DIR``), sorted; empty when the directory does not exist yet."""
    base = directory or ARTIFACTS_DIR
    if not base.is_dir():
        return []
    return sorted(p.stem for p in base.glob("*.json") if _NAME_RE.match(p.stem))
