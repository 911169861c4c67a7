"""Every module declares ``__all__`` and every exported name exists; the compiled engine's stub
and the reference engine expose the same public API."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import matching
import oracle
import proofs
import venue

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"proofs._poseidon_constants", "proofs.gen_poseidon_constants"}


def _modules() -> list[str]:
    out = []
    for pkg in (matching, proofs, oracle, venue):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if info.name not in SKIP and not info.name.endswith("__main__"):
                out.append(info.name)
    return sorted(out)


@pytest.mark.parametrize("name", _modules())
def test_module_exports(name: str) -> None:
    mod = importlib.import_module(name)
    exported = getattr(mod, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(set(exported)) == len(exported), f"{name}: duplicate names in __all__"
    for n in exported:
        assert hasattr(mod, n), f"{name}.__all__ names {n!r}, which does not exist"


def test_compiled_engine_stub_matches_reference() -> None:
    stub = (ROOT / "matching" / "_core.pyi").read_text()
    public = [
        n for n in vars(matching.ReferenceEngine)
        if not n.startswith("_") or n == "_check"
    ]  # fmt: skip
    missing = [n for n in public if f"def {n}" not in stub and f"{n}:" not in stub]
    assert not missing, f"matching/_core.pyi lacks {missing}"
    if matching.CEngine is not None:
        for n in public:
            assert hasattr(matching.CEngine, n), n
