"""The dashboard page (``venue.dashboard``): rows read from a real venue's block store with
their proofs, the page's contents and escaping, and ``provenbook dashboard``."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from venue.blockstore import BlockStore
from venue.cli import main
from venue.dashboard import dashboard_rows, render

from .test_it_margin import seal_margin_venue


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The margin tests' venue (3 blocks: prices 100,000, 100,000, 94,000), block 1 and 2
    with a stored proof."""
    data = tmp_path_factory.mktemp("dashboard")
    seal_margin_venue(data)
    with BlockStore(data / "blocks", first_height=1) as store:
        store.put_proof(1, "groth16", b"p1")
        store.put_proof(2, "groth16", b"p2")
    return data


def test_rows_carry_prices_volumes_and_finality(venue: Path) -> None:
    with BlockStore(venue / "blocks", first_height=1, read_only=True) as store:
        rows = dashboard_rows(store, on_chain_height=1)
        assert [(r.height, r.finality) for r in rows] == [
            (1, "on_chain"), (2, "proven"), (3, "in_block"),
        ]  # fmt: skip
        assert [(r.price, r.volume, r.trades, r.carried) for r in rows] == [
            (100_000, 0, 0, True), (100_000, 10, 1, False), (94_000, 1, 1, False),
        ]  # fmt: skip
        assert [r.height for r in dashboard_rows(store, last=2)] == [2, 3]
        # optimistic mode: block 1 final, 2 proven, 3 proposed only (its price pending)
        opt = dashboard_rows(store, on_chain_height=1, proposed_height=3)
        assert [r.finality for r in opt] == ["on_chain", "proven", "proposed"]
        # final after its window without a proof stored: on chain all the same
        assert dashboard_rows(store, on_chain_height=3)[-1].finality == "on_chain"
        page = render(opt, {})
        assert "1 proposed" in page and "proposed</td>" in page
        assert " proposed" not in render(rows, {}).split("</style>")[1]  # validity mode
        with pytest.raises(ValueError, match="at least 1"):
            dashboard_rows(store, last=0)


def test_page_shows_every_block_and_escapes_what_it_shows(venue: Path) -> None:
    with BlockStore(venue / "blocks", first_height=1, read_only=True) as store:
        rows = dashboard_rows(store)
    evil = "<script>alert(1)</script>"
    page = render(rows, {1: evil}, title=evil, refresh=5)
    assert "<script>" not in page and html.escape(evil) in page
    assert page.count("<svg") == 1 and page.count("<circle") == 3
    assert "94,000" in page and "100,000 (carried)" in page
    assert "1 in block, 2 proven, 0 on chain" in page
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "no blocks yet" in render([], {}) and "refresh" not in render([], {})


def test_provenbook_dashboard_writes_the_page(venue: Path, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    assert main(["dashboard", str(venue), "--out", str(out), "--last", "2"]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.count("<circle") == 2
    assert main(["dashboard", str(tmp_path / "nothing")]) == 2
    assert main(["dashboard", str(venue), "--last", "0"]) == 2
