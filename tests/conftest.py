"""Session fixtures shared by test modules (kept few: most fixtures live with their tests)."""

from __future__ import annotations

import pytest

from .chain_helpers import Proven, make_proven


@pytest.fixture(scope="session")
def proven(tmp_path_factory: pytest.TempPathFactory) -> Proven:
    """Three proven blocks of a real venue (``tests/chain_helpers.py``), made once."""
    return make_proven(tmp_path_factory.mktemp("proven-venue"))
