"""Margin against proven state (DESIGN §7): ``ProvenMargin`` opens venue accounts against final
blocks' post-state roots with the on-chain Poseidon, and triggers a liquidation only for an
account under maintenance margin at the latest final block.

The venue is real (sealed by ``VenueNode``, its roots recomputed by replay): one account buys
10 lots at 100,000 on a deposit of exactly its initial margin (10%), then the market trades at
94,000, which leaves it 40,000 of equity against 47,000 of maintenance (5%). Its blocks become
final on ``OptimisticCommitments`` (proposed, window passed), which needs no proof; the same
opening against a validity-mode chain of proven blocks is checked with the session's proven
venue. Every tampered opening must be refused on chain and by ``AccountOpening.state_root``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest

from matching import (
    AddAccount,
    Block,
    Deposit,
    MassCancel,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
    Trade,
)
from matching.block import BlockHeader
from matching.encoding import decoder
from oracle.artifacts import load_artifact
from oracle.chain import Chain, open_chain
from oracle.deploy import DeploymentError, deploy_venue
from oracle.margin import LIQUIDATION_GRACE, Margin, MarginFigures, deploy_margin, margin_of
from oracle.optimistic import Optimistic, OptimisticDeployment, advance_time, finalize_unproven
from oracle.publish import Publisher
from oracle.reverts import ContractRevert, raising_reverts
from proofs.poseidon import FIELD_MODULUS
from proofs.state import AccountNotFound, AccountOpening
from venue.blockstore import BlockStore
from venue.margin import (
    LiquidationReport,
    MarginDeployment,
    liquidate_stored,
    liquidation_limit,
    liquidation_orders,
    maintenance_rates,
    open_account,
    open_accounts,
)
from venue.node import Genesis, NodeError, VenueNode
from venue.proving import circuit_for
from venue.replay import replay
from venue.storage_errors import StorageError

from .chain_helpers import CIRCUIT_CACHE, Proven, SlowClock
from .test_coverage_proving import ACCOUNTS, UNSIGNED, place

RATES = maintenance_rates(UNSIGNED)
BATCHES = [
    [AddAccount(0, 0, 1), Deposit(0, 0, 1, 100_000), AddAccount(0, 0, 2), Deposit(0, 0, 2, 10**9)],
    [AddAccount(0, 0, 3), Deposit(0, 0, 3, 10**9), place(2, Side.SELL, 100_000, 10),
     place(1, Side.BUY, 100_000, 10, TimeInForce.IOC)],
    [place(3, Side.SELL, 94_000, 1), place(2, Side.BUY, 94_000, 1, TimeInForce.IOC)],
]  # fmt: skip


@dataclasses.dataclass
class Venue:
    data: Path
    headers: list[BlockHeader]
    chain: Chain
    dep: OptimisticDeployment
    margin: Margin


def _final_on_chain(chain: Chain, headers: list[BlockHeader]) -> OptimisticDeployment:
    """An optimistic venue on ``chain`` whose blocks ``headers`` are final (window passed)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))
    try:
        vk = circuit_for(UNSIGNED).verifying_key  # only deployed: no proof is verified
    finally:
        mp.undo()
    return finalize_unproven(chain, vk, headers)


def seal_margin_venue(
    data: Path, genesis: Genesis = UNSIGNED, *, snapshot_every: int = 1_000
) -> list[BlockHeader]:
    """Seal ``BATCHES`` as three blocks of a venue in ``data`` (also ``bench.bench_margin``'s)."""
    node = VenueNode(
        data, genesis, engine="reference", fsync=False, clock=SlowClock(),
        snapshot_every=snapshot_every,
    )  # fmt: skip
    for batch in BATCHES:
        node.submit(batch)
    node.seal()
    node.close()
    store = BlockStore(data / "blocks", first_height=1)
    try:
        return [decoder(Block).decode(store.get(h)).header for h in (1, 2, 3)]  # type: ignore[arg-type]
    finally:
        store.close()


def seal_liquidated_venue(data: Path, genesis: Genesis = UNSIGNED) -> list[BlockHeader]:
    """``seal_margin_venue``'s three blocks, two more that leave account 1 under maintenance,
    and block 6 where the venue liquidates it into account 3's bid (also
    ``bench.bench_margin``'s)."""
    headers = seal_margin_venue(data, genesis)
    node = VenueNode(data, genesis, engine="reference", fsync=False, clock=SlowClock())
    try:
        for batch in ([Deposit(0, 0, 2, 1)], [Deposit(0, 0, 3, 1)]):
            node.submit(batch)
            node.seal()
        node.submit([place(3, Side.BUY, 93_000, 10), *liquidation_orders(node.engine, 1)])
        node.seal()
    finally:
        node.close()
    with BlockStore(data / "blocks", first_height=1, read_only=True) as store:
        more = [decoder(Block).decode(store.get(h)).header for h in (4, 5, 6)]  # type: ignore[arg-type]
    return headers + more


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    data = tmp_path_factory.mktemp("margin")
    headers = seal_margin_venue(data)
    with open_chain("embedded") as chain:
        dep = _final_on_chain(chain, headers)
        margin = deploy_margin(
            chain, dep.commitments, account_depth=UNSIGNED.account_depth, maintenance_bps=RATES
        )
        yield Venue(data, headers, chain, dep, margin)


@contextlib.contextmanager
def _rolled_back(chain: Chain) -> Iterator[None]:
    snap = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        yield
    finally:
        chain.w3.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]


def _refused(m: Margin, opening: AccountOpening) -> str:
    with pytest.raises(ContractRevert) as err:
        m.verify(opening)
    return err.value.name


def test_openings_match_the_proven_roots_and_the_engines_margin(venue: Venue) -> None:
    for height, header in enumerate(venue.headers, 1):
        for account in (1, 2, 3):
            if height == 1 and account == 3:
                with pytest.raises(AccountNotFound):
                    open_account(venue.data, account, height=height)
                continue
            o = open_account(venue.data, account, height=height)
            assert o.state_root() == header.post_state_root
            assert venue.margin.state_root_of(o) == header.post_state_root
            venue.margin.verify(o)
            assert venue.margin.margin_of(o) == margin_of(o, RATES)
    o = open_account(venue.data, 1)
    assert o.height == 3 and o.collateral == 100_000 and o.positions == ((10, 0, 0, 1_000_000),)
    assert o.markets[0][2] == 94_000  # the proven mark
    assert margin_of(o, RATES) == MarginFigures(equity=40_000, maintenance=47_000)
    assert margin_of(o, RATES).liquidatable
    assert margin_of(open_account(venue.data, 1, height=2), RATES) == MarginFigures(100_000, 50_000)


def _tampers(o: AccountOpening) -> dict[str, AccountOpening]:
    r = msgspec.structs.replace
    pos, buy, sell, basis = o.positions[0]
    bids, asks, mark, ts, cum = o.markets[0]
    sib = list(o.siblings)
    sib[0] += 1
    return {
        "collateral": r(o, collateral=o.collateral + 1),
        "position": r(o, positions=((pos - 1, buy, sell, basis),)),
        "open_buy": r(o, positions=((pos, buy + 1, sell, basis),)),
        "basis": r(o, positions=((pos, buy, sell, basis + 1),)),
        "nonce": r(o, nonce=o.nonce + 1),
        "pubkey": r(o, pubkey_hash=o.pubkey_hash + 1),
        "sibling": r(o, siblings=tuple(sib)),
        "account index": r(o, account=o.account + 1),
        "mark": r(o, markets=((bids, asks, mark + 1, ts, cum),)),
        "close time": r(o, markets=((bids, asks, mark, ts + 1, cum),)),
        "accumulator": r(o, markets=((bids, asks, mark, ts, cum + 1),)),
        "bids": r(o, markets=((bids + 1, asks, mark, ts, cum),)),
        "height": r(o, height=2),
    }


def test_every_tampered_opening_is_refused(venue: Venue) -> None:
    o = open_account(venue.data, 2)
    for what, bad in _tampers(o).items():
        assert bad.state_root() != venue.headers[bad.height - 1].post_state_root, what
        assert _refused(venue.margin, bad) == "StateRootMismatch", what
    r = msgspec.structs.replace
    assert _refused(venue.margin, r(o, height=4)) == "UnknownBlock"
    assert _refused(venue.margin, r(o, siblings=o.siblings[:-3])) == "WrongPathLength"
    assert _refused(venue.margin, r(o, positions=o.positions * 2)) == "WrongMarketCount"
    assert _refused(venue.margin, r(o, account=1 << UNSIGNED.account_depth)) == "AccountOutOfRange"
    assert _refused(venue.margin, r(o, siblings=(FIELD_MODULUS, *o.siblings[1:]))) == (
        "InputOutOfField"
    )


def test_liquidation_only_under_maintenance_at_the_latest_block(venue: Venue) -> None:
    m = venue.margin
    with _rolled_back(venue.chain):
        healthy = open_account(venue.data, 2)
        with pytest.raises(ContractRevert) as err:
            m.trigger_liquidation(healthy)
        assert err.value.name == "AccountHealthy"
        assert err.value.values == (2, 1_000_060_000, 42_300)
        # a healthy account made to look under water by a lowered collateral
        fake = msgspec.structs.replace(healthy, collateral=-(10**9))
        with pytest.raises(ContractRevert, match="StateRootMismatch"):
            m.trigger_liquidation(fake)
        older = open_account(venue.data, 1, height=2)
        with pytest.raises(ContractRevert, match="NotLatestBlock"):
            m.trigger_liquidation(older)
        assert m.liquidation_height(1) == 0
        tx = m.trigger_liquidation(
            open_account(venue.data, 1), sender=venue.chain.w3.eth.accounts[1]
        )
        assert tx.value == 40_000 and m.liquidation_height(1) == 3
        (event,) = m.contract.events.LiquidationTriggered().process_receipt(
            venue.chain.w3.eth.get_transaction_receipt(tx.tx_hash)
        )
        assert event["args"]["maintenance"] == 47_000 and event["args"]["height"] == 3
        assert event["args"]["by"] == venue.chain.w3.eth.accounts[1]
        with pytest.raises(ContractRevert) as err:
            m.trigger_liquidation(open_account(venue.data, 1))
        assert err.value.name == "AlreadyTriggered" and err.value.values == (1, 3)


def test_deploy_and_open_refuse_bad_input(venue: Venue, tmp_path: Path) -> None:
    bad = ((0, RATES, 3), (33, RATES, 3), (4, [], 3), (4, [0], 3), (4, [10_001], 3), (4, RATES, 0))
    for depth, rates, grace in bad:
        with pytest.raises(DeploymentError):
            deploy_margin(
                venue.chain, venue.margin.address, account_depth=depth, maintenance_bps=rates,
                liquidation_grace=grace,
            )  # fmt: skip
    assert venue.margin.maintenance_bps() == RATES == [500]
    assert venue.margin.liquidation_grace() == LIQUIDATION_GRACE
    # the contract's own check, for a deployer that skips deploy_margin's
    art = load_artifact("ProvenMargin")
    hashers = [venue.margin.address] * 3
    for depth, rates, grace in bad:
        with pytest.raises(ContractRevert, match="BadParameters"):
            raising_reverts(
                art.abi,
                lambda d=depth, r=rates, g=grace: venue.chain.deploy(
                    art, venue.dep.commitments, hashers, d, r, g
                ),
            )
    with pytest.raises(NodeError, match="no stored block at height 9"):
        open_account(venue.data, 1, height=9)
    with pytest.raises(NodeError, match="not a venue data directory"):
        open_account(tmp_path, 1)
    with pytest.raises(ValueError, match="1 rates for 2 markets"):
        margin_of(
            msgspec.structs.replace(open_account(venue.data, 1), positions=((0,) * 4,) * 2), RATES
        )


def test_validity_mode_opens_accounts_of_proven_blocks(proven: Proven) -> None:
    """The same contract on StateCommitments, whose blocks carry real validity proofs."""
    with open_chain("embedded") as chain:
        d = deploy_venue(chain, proven.vk, start=proven.headers[0])
        pub = Publisher(chain, d)
        for h, proof in zip(proven.headers[:2], proven.proofs[:2], strict=True):
            pub.publish(h, proof)
        m = deploy_margin(
            chain, d.commitments, account_depth=UNSIGNED.account_depth, maintenance_bps=RATES
        )
        o = open_account(proven.data, 2, height=2)
        m.verify(o)
        # 10**9 of collateral, long 5 at 100,010 with a bid for 3 more resting
        assert o.positions[0][:2] == (5, 3) and o.collateral == ACCOUNTS[3].amount
        assert m.margin_of(o) == margin_of(o, RATES) == MarginFigures(10**9, 25_003)
        with pytest.raises(ContractRevert, match="UnknownBlock"):
            m.verify(open_account(proven.data, 2, height=3))  # block 3 is not on chain
        with pytest.raises(ContractRevert, match="AccountHealthy"):
            m.trigger_liquidation(o)


def test_provenbook_margin_reports_and_writes_the_opening(venue: Venue, tmp_path: Path) -> None:
    out = tmp_path / "opening.json"
    cli = [sys.executable, "-m", "venue.cli", "margin", str(venue.data)]
    done = subprocess.run([*cli, "1", "--json", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "equity 40000, maintenance 47000" in done.stdout and "liquidatable" in done.stdout
    opening = msgspec.json.decode(out.read_bytes(), type=AccountOpening)
    assert opening == open_account(venue.data, 1)
    venue.margin.verify(opening)
    done = subprocess.run([*cli, "2", "--height", "2"], capture_output=True, text=True)
    assert done.returncode == 0 and "healthy" in done.stdout
    done = subprocess.run([*cli, "3", "--height", "1"], capture_output=True, text=True)
    assert done.returncode == 2 and "no account 3" in done.stdout


def test_the_keeper_triggers_each_liquidation_due_once(venue: Venue, tmp_path: Path) -> None:
    where = tmp_path / "margin.json"
    with _rolled_back(venue.chain):
        rep = liquidate_stored(venue.data, venue.chain, venue.dep, margin_file=where)
        assert rep.height == 3 and sorted(rep.figures) == [1, 2, 3]
        assert list(rep.triggered) == [1] and rep.figures[1] == MarginFigures(40_000, 47_000)
        known = MarginDeployment.load(where)
        assert known.margin == rep.margin != venue.margin.address
        assert known.commitments == venue.dep.commitments
        again = liquidate_stored(venue.data, venue.chain, venue.dep, margin_file=where)
        assert again.margin == rep.margin and not again.triggered and again.already == [1]
        assert Margin(venue.chain, rep.margin).liquidation_height(1) == 3


@pytest.mark.skipif(shutil.which("npm") is None, reason="anvil comes from npm")
def test_provenbook_liquidate_on_an_rpc_chain(venue: Venue, tmp_path: Path) -> None:
    data = tmp_path / "venue"
    shutil.copytree(venue.data, data)
    cli = [sys.executable, "-m", "venue.cli", "liquidate", str(data)]
    with open_chain("anvil") as chain:
        _final_on_chain(chain, venue.headers).save(data / "chain.json")
        done = subprocess.run([*cli, "--chain", str(chain.url)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "block 3" in done.stdout and "account 1: liquidation triggered in" in done.stdout
        again = subprocess.run([*cli, "--chain", str(chain.url)], capture_output=True, text=True)
        assert again.returncode == 0 and "already triggered" in again.stdout
        assert MarginDeployment.load(data / "margin.json").chain_id == chain.w3.eth.chain_id
    refused = subprocess.run([*cli, "--chain", "embedded"], capture_output=True, text=True)
    assert refused.returncode == 2 and "RPC URL" in refused.stdout
    (data / "chain.json").unlink()
    refused = subprocess.run(
        [*cli, "--chain", "http://127.0.0.1:9"], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "chain.json" in refused.stdout


def test_openings_start_from_a_snapshot_below_the_height(venue: Venue, tmp_path: Path) -> None:
    """The same venue with a snapshot after every block: replay starts from the one below the
    height asked for (the block at that height is still re-executed), and the openings are
    the ones a replay from genesis gives."""
    data = tmp_path / "snapshotted"
    assert seal_margin_venue(data, snapshot_every=1) == venue.headers
    snaps = sorted(p.name for p in (data / "snapshots").iterdir())
    assert snaps == [f"snapshot-{h:020d}.pbsnap" for h in (2, 3)]
    assert replay(data, from_snapshot=True, until=3).start_height == 2
    assert replay(data, from_snapshot=True, until=2).start_height == 0  # none below 2
    for height in (2, 3, None):
        want = open_accounts(venue.data, None, height=height)
        assert open_accounts(data, None, height=height) == want


def test_readers_open_a_venue_that_is_running(venue: Venue, tmp_path: Path) -> None:
    """Replay, openings and ``provenbook margin`` read a directory whose node holds the
    writer lock (a keeper beside a live venue), and see each block once it is durable."""
    data = tmp_path / "live"
    shutil.copytree(venue.data, data)
    node = VenueNode(data, UNSIGNED, engine="reference", fsync=False, clock=SlowClock())
    try:
        with pytest.raises(StorageError):  # the lock is real: a second writer is refused
            VenueNode(data, UNSIGNED, engine="reference", fsync=False, clock=SlowClock())
        assert replay(data).last_height == 3
        assert open_accounts(data, [1]) == open_accounts(venue.data, [1])
        cli = [sys.executable, "-m", "venue.cli"]
        done = subprocess.run([*cli, "margin", str(data), "1"], capture_output=True, text=True)
        assert done.returncode == 0 and "liquidatable" in done.stdout, done.stdout + done.stderr
        node.submit(
            [place(3, Side.SELL, 99_000, 1), place(2, Side.BUY, 99_000, 1, TimeInForce.IOC)]
        )
        node.seal()
        done = subprocess.run([*cli, "replay", str(data)], capture_output=True, text=True)
        assert done.returncode == 0 and "4/4" in done.stdout, done.stdout + done.stderr
        assert open_account(data, 1).height == 4
    finally:
        node.close()


def test_liquidation_limits_stay_on_tick_and_in_the_bands() -> None:
    m = msgspec.structs.replace(UNSIGNED.markets[0], tick_size=5, min_price=50, band_bps=0)
    assert liquidation_limit(m, 94_003, Side.SELL, 1_000) == 84_605  # 84,602.7 rounded up
    assert liquidation_limit(m, 94_003, Side.BUY, 1_000) == 103_400  # 103,403.3 rounded down
    assert liquidation_limit(m, 100, Side.SELL, 9_999) == 50  # never below min_price
    banded = msgspec.structs.replace(m, band_bps=500, max_price=100_000)
    assert liquidation_limit(banded, 94_000, Side.SELL, 1_000) == 89_300  # the market's 5%
    assert liquidation_limit(banded, 99_000, Side.BUY, 1_000) == 100_000  # max_price


def test_the_venue_liquidates_the_account_under_maintenance(venue: Venue, tmp_path: Path) -> None:
    """``liquidation_orders`` on the running node: nothing for healthy accounts; for account 1
    (40,000 against 47,000) its resting order cancelled and a sell of its 10 lots limited 10%
    under the mark, which the engine accepts and fills into a bid; the account is then flat,
    and the stored blocks replay to that (the circuit's side: tests/test_circuit_liquidation.py)."""
    data = tmp_path / "liquidated"
    shutil.copytree(venue.data, data)
    node = VenueNode(data, UNSIGNED, engine="reference", fsync=False, clock=SlowClock())
    try:
        assert liquidation_orders(node.engine, 2) == liquidation_orders(node.engine, 3) == []
        assert liquidation_orders(node.engine, 99) == []  # no such account
        node.submit([place(1, Side.SELL, 120_000, 1)])  # a resting order of the account
        cancel, liq = liquidation_orders(node.engine, 1)
        assert cancel == MassCancel(0, 0, 1, 1)
        assert isinstance(liq, PlaceOrder) and liq.order_type == OrderType.LIQUIDATION
        assert (liq.side, liq.qty, liq.price, liq.tif) == (Side.SELL, 10, 84_600, TimeInForce.IOC)
        node.submit([place(3, Side.BUY, 93_000, 10)])
        events = node.submit([cancel, liq])
        assert [(t.price, t.qty) for t in events[1] if isinstance(t, Trade)] == [(93_000, 10)]
        node.seal()
        assert node.engine.account_view(1).positions[0].position == 0  # type: ignore[union-attr]
        assert liquidation_orders(node.engine, 1) == []
    finally:
        node.close()
    opening = open_account(data, 1)
    assert opening.height == 4 and opening.positions[0][0] == 0  # one block: all of it


def test_a_liquidation_episode_is_cleared_or_reported_overdue(tmp_path: Path) -> None:
    """Trigger at block 3; blocks 4 and 5 leave account 1 as it is, so with a grace of 2 it is
    reported overdue at 5 (not at 4, and once); it cannot be triggered again nor cleared while
    under maintenance; block 6 holds the venue's liquidation, and the keeper clears the
    episode with the account's proof above maintenance."""
    data = tmp_path / "venue"
    headers = seal_liquidated_venue(data)
    with open_chain("embedded") as chain:
        dep = _final_on_chain(chain, headers[:3])
        opt = Optimistic(chain, dep.commitments)
        m = deploy_margin(
            chain, dep.commitments, account_depth=UNSIGNED.account_depth, maintenance_bps=RATES,
            liquidation_grace=2,
        )  # fmt: skip

        def final(h: int) -> AccountOpening:
            opt.propose(headers[h - 1])
            advance_time(chain, dep.challenge_window + 1)
            opt.finalize(h)
            return open_account(data, 1, height=h)

        def refused(fn: Callable[[AccountOpening], object], o: AccountOpening) -> tuple:
            with pytest.raises(ContractRevert) as err:
                fn(o)
            return (err.value.name, *err.value.values)

        assert refused(m.clear_liquidation, open_account(data, 1, height=3)) == (
            "NotTriggered", 1,
        )  # fmt: skip
        m.trigger_liquidation(open_account(data, 1, height=3))
        assert refused(m.clear_liquidation, open_account(data, 1, height=2))[:2] == (
            "NotAfterTrigger", 1,
        )  # fmt: skip
        at4 = final(4)
        assert refused(m.report_overdue, at4) == ("WithinGrace", 1, 3, 4, 5)
        assert refused(m.trigger_liquidation, at4) == ("AlreadyTriggered", 1, 3)
        at5 = final(5)
        assert refused(m.clear_liquidation, at5)[0] == "StillUnderMaintenance"
        assert m.report_overdue(at5).value == 40_000 and m.overdue_count() == 1
        assert m.overdue_trigger(1) == 3
        assert refused(m.report_overdue, at5) == ("AlreadyReported", 1, 3)
        final(6)  # the venue's liquidation: account 1 is flat
        MarginDeployment(
            chain_id=chain.w3.eth.chain_id, commitments=dep.commitments, margin=m.address
        ).save(tmp_path / "margin.json")
        rep = liquidate_stored(data, chain, dep, margin_file=tmp_path / "margin.json")
        assert rep.height == 6 and list(rep.cleared) == [1] and not rep.triggered
        assert m.liquidation_height(1) == 0
        assert refused(m.report_overdue, open_account(data, 1, height=6)) == ("NotTriggered", 1)


def test_the_keepers_table_says_what_it_did() -> None:
    from rich.console import Console

    from venue.cli import _liquidation_table

    f = MarginFigures(1, 2)
    rep = LiquidationReport(
        9, "0x0", {a: f for a in range(1, 6)}, triggered={1: "0xa"}, already=[2],
        overdue={3: "0xb"}, cleared={4: "0xc"},
    )  # fmt: skip
    console = Console(width=120, record=True)
    console.print(_liquidation_table(rep))
    rows = [line for line in console.export_text().splitlines() if line.startswith("│")]
    assert [r.split("│")[4].strip() for r in rows] == [
        "triggered", "already triggered", "overdue: reported", "cleared", "healthy",
    ]  # fmt: skip
