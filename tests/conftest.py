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


# --- Parallel runs (``./dev test`` runs two pytest-xdist workers) ----------------------------
# A file goes to one worker whole, so its module fixtures are made once; the files that share
# the costly ``proven``/``proven_batch`` session fixtures (real proofs, the batch circuit's
# setup) go to one worker together, so those are made once too; and the longest units start
# first, so that no worker is left alone with a long file at the end. Seconds per file from
# ``./dev test --durations=80`` on a clean clone, 2026-11-27, in the comments.
_GROUPS = {
    name: "proven-venue"
    for name in (
        "test_circuit_batch.py",  # 138, the batch circuit's setup
        "test_it_chain.py",  # 73
        "test_it_margin.py",  # 47
        "test_it_options.py",  # 31
        "test_it_optimistic.py",  # 14
        "test_it_proposer.py",  # ~45 (session 19, alone)
        "test_it_chain_outage.py",  # ~40 (session 19, alone; anvil)
        "test_it_chain_batch.py",  # 12
        "test_it_chain_blocks.py",
        "test_coverage_proving.py",
        "test_it_replay_follow.py",
    )
}
_LONGEST_FIRST = (
    "proven-venue",
    "test_it_demo.py",  # 213
    "test_it_liveprover.py",  # 203
    "test_circuit_block.py",  # 130
    "test_it_chain_markets.py",  # ~115 (session 18's clean-clone run, other jobs beside it)
    "test_circuit_signed.py",  # 111
    "test_circuit_block_markets.py",  # ~75
    "test_circuit_liquidation.py",  # 46
    "test_circuit_ceremony.py",  # 38
    "test_coverage_steps.py",  # 31
    "test_circuit_book.py",  # 28
    "test_circuit_account.py",  # 25
)


def _unit(file_name: str) -> str:
    return _GROUPS.get(file_name, file_name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {unit: i for i, unit in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_unit(item.path.name), len(rank)))  # stable


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    if config.getvalue("dist") != "loadfile":
        return None  # another mode asked for by hand: xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class _Units(LoadScopeScheduling):
        """``--dist loadfile`` with the groups above as one unit each, in collection order."""

        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return _GROUPS.get(Path(file).name, file)

    config.option.loadscopereorder = False  # keep the longest-first collection order
    return _Units(config, log)
