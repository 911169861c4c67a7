"""Session fixtures shared by test modules (kept few: most fixtures live with their tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .chain_helpers import Batch, Proven, make_batch, make_proven
from .contracts_helpers import node_modules


@pytest.fixture(scope="session")
def proven(tmp_path_factory: pytest.TempPathFactory) -> Proven:
    """Three proven blocks of a real venue (``tests/chain_helpers.py``), made once."""
    return make_proven(tmp_path_factory.mktemp("proven-venue"))


@pytest.fixture(scope="session")
def proven_batch(proven: Proven) -> Batch:
    """Blocks 1 and 2 of ``proven`` in one batch proof (``tests/chain_helpers.py``), made once."""
    return make_batch(proven)


@pytest.fixture(scope="session")
def contracts_node_modules() -> Path:
    """``contracts/node_modules`` with the pinned solc and OpenZeppelin (``npm ci`` when one is
    missing); skips without Node."""
    return node_modules()
