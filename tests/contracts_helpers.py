"""Node-side helpers for the contract tests: ``contracts/node_modules`` with the pinned solc and
OpenZeppelin (``npm ci`` on first use, serialised across concurrent runs)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from proofs.locks import file_lock

__all__ = ["CONTRACTS", "HAVE_NODE", "OPENZEPPELIN_VERSION", "SOLC_VERSION", "node_modules"]

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
SOLC_VERSION = "0.8.37"
OPENZEPPELIN_VERSION = "5.4.0"
HAVE_NODE = shutil.which("node") is not None and shutil.which("npm") is not None


def _installed(modules: Path, package: str) -> str | None:
    try:
        return json.loads((modules / package / "package.json").read_text("utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


def _installed_pins(modules: Path) -> bool:
    """solc and the OpenZeppelin sources the contracts import, at their pinned versions."""
    return (
        _installed(modules, "solc") == SOLC_VERSION
        and _installed(modules, "@openzeppelin/contracts") == OPENZEPPELIN_VERSION
    )


def node_modules() -> Path:
    """``contracts/node_modules`` with the pinned solc and OpenZeppelin, from ``npm ci`` when
    either is missing."""
    if not HAVE_NODE:
        pytest.skip("node/npm not installed: compiling needs them")
    modules = CONTRACTS / "node_modules"
    # serialised across concurrent test runs and parallel test workers on this machine
    with file_lock(Path(tempfile.gettempdir()) / "provenbook-contracts-npm-ci.lock"):
        if not _installed_pins(modules):
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=CONTRACTS,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert done.returncode == 0, f"npm ci failed:\n{done.stderr[-4000:]}"
    assert _installed_pins(modules)
    return modules
