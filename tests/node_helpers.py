"""Run circomlibjs (npm, pinned) from tests, installing it on demand.

Why: our EdDSA-Poseidon, Baby Jubjub and Poseidon must match circomlibjs byte for byte, so
tests compare against the real package rather than against vectors copied by hand. The
package goes into ``<repo>/.cache/node`` (gitignored) with ``npm install --prefix`` the
first time a test needs it. Tests skip only when ``node`` or ``npm`` is not installed; a
failing install is an error, not a skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from proofs.locks import file_lock

__all__ = [
    "CIRCOMLIBJS_VERSION",
    "NODE_PREFIX",
    "ensure_circomlibjs",
    "ensure_npm_package",
    "run_node",
]

CIRCOMLIBJS_VERSION = "0.1.7"
NODE_PREFIX = Path(__file__).resolve().parent.parent / ".cache" / "node"
_INSTALL_TIMEOUT_S = 600
_RUN_TIMEOUT_S = 300


def _installed_version(package: str = "circomlibjs") -> str | None:
    manifest = NODE_PREFIX / "node_modules" / package / "package.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None


def ensure_npm_package(package: str, version: str) -> Path:
    """Install ``package@version`` under ``.cache/node`` if absent; skip without Node/npm."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip(f"node/npm not installed: {package} cross-checks need Node.js and npm")
    if _installed_version(package) == version:
        return NODE_PREFIX
    # one npm install into the prefix at a time (parallel test workers share it)
    with file_lock(NODE_PREFIX / ".provenbook-install.lock"):
        if _installed_version(package) == version:
            return NODE_PREFIX
        cmd = [
            "npm", "install", "--prefix", str(NODE_PREFIX), "--no-audit", "--no-fund",
            "--save-exact", f"{package}@{version}",
        ]  # fmt: skip
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT_S, check=False
        )
        if done.returncode != 0 or _installed_version(package) != version:
            raise RuntimeError(f"npm install of {package} failed:\n{done.stderr[-4000:]}")
    return NODE_PREFIX


def ensure_circomlibjs() -> Path:
    """Install ``circomlibjs@0.1.7`` under ``.cache/node`` if absent; skip without Node."""
    return ensure_npm_package("circomlibjs", CIRCOMLIBJS_VERSION)


def run_node(script: str, payload: Any = None) -> Any:
    """Run CommonJS ``script`` with circomlibjs resolvable; JSON in on stdin, out on stdout.

    The script reads the payload with ``JSON.parse(require('fs').readFileSync(0))`` and
    must print exactly one JSON document. Big integers travel as decimal strings.
    """
    prefix = ensure_circomlibjs()
    done = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=prefix,
        timeout=_RUN_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"node failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


_POSEIDON_JS = """
const { buildPoseidon } = require("circomlibjs");
(async () => {
  const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const poseidon = await buildPoseidon();
  const out = cases.map((xs) => poseidon.F.toObject(poseidon(xs.map(BigInt))).toString());
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
})();
"""


def circomlibjs_poseidon(cases: list[list[int]]) -> list[int]:
    """circomlibjs ``poseidon(xs)`` of each input list: the independent reference."""
    out = run_node(_POSEIDON_JS, [[str(x) for x in xs] for xs in cases])
    return [int(v) for v in out]
