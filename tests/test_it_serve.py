"""``provenbook serve`` as an operator runs it: a real process, real sockets on 127.0.0.1,
signed FIX clients, SIGTERM, and a restart from the same data directory."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oracle.chain import open_chain
from oracle.deploy import DEPLOYMENT_FILE, load_deployment
from oracle.feed import PriceFeed
from oracle.optimistic import Optimistic, advance_time, load_optimistic_deployment
from oracle.publish import Publisher
from proofs.eddsa import private_to_public
from venue.client import FixClient
from venue.demo import PROVABLE_GENESIS, SYMBOL, trader_key
from venue.fix import Tag
from venue.mirror import DEPLOYMENT_FILES
from venue.node import VenueNode
from venue.proposer import OPTIMISTIC_DEPLOYMENT_FILE
from venue.serve import (
    AccountSpec,
    ServeError,
    account_commands,
    dev_accounts,
    load_accounts,
    proving_progress,
)
from venue.watch import WatchReport, watch_once

ROOT = Path(__file__).resolve().parent.parent


def start(
    data: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str, str]:
    """Start ``provenbook serve``; once it listens, return the process, its URL and what it
    printed until then."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "venue.cli", "serve", str(data), "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        m = re.match(r"listening on (ws://\S+)", line)
        if m:
            return proc, m.group(1), "".join(lines)
    raise AssertionError(f"serve exited before listening: {''.join(lines)}")


def stop(proc: subprocess.Popen[str]) -> tuple[int, int, str]:
    """SIGTERM; return (height, state root) it reports on the way out, and its output."""
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    m = re.search(r"stopped at height (\d+), state root (0x[0-9a-f]+)", out)
    assert m, out
    return int(m.group(1)), int(m.group(2), 16), out


def client(url: str, account: int) -> FixClient:
    return FixClient(url, account, trader_key(account), markets=PROVABLE_GENESIS.markets)


async def cross(url: str, until: str, timeout: float) -> str | None:
    """Trader 1 rests an ask at 100,010 and trader 2 takes 3 lots of it with an IOC bid; wait
    until the bid reaches finality ``until`` and return its finality then."""
    async with client(url, 1) as maker, client(url, 2) as taker:
        sell = await maker.place(SYMBOL, "2", 5, 100_010)
        await maker.report(sell, "0")
        buy = await taker.place(SYMBOL, "1", 3, 100_020, tif="3")
        await taker.report(buy, "F")
        await taker.wait_for(lambda: taker.finality(buy) == until, timeout)
        return taker.finality(buy)


def serve_and_cross(
    data: Path, args: tuple[str, ...], until: str, timeout: float, env: dict[str, str]
) -> tuple[int, str, str]:
    """``serve`` with ``args``, ``cross`` until the bid is ``until``, SIGTERM; the height it
    stopped at, what it printed until it listened, and after."""
    proc, ws, head = start(data, *args, env=env)
    try:
        assert asyncio.run(asyncio.wait_for(cross(ws, until, timeout), timeout + 60)) == until
    except BaseException:
        proc.kill()
        raise
    height, _, out = stop(proc)
    return height, head, out


def test_serve_trade_stop_restart(tmp_path: Path) -> None:
    data = tmp_path / "venue"
    proc, url, head = start(data, "--dev-accounts", "2")
    try:

        async def trade() -> None:
            async with client(url, 1) as maker, client(url, 2) as taker:
                sell = await maker.place(SYMBOL, "2", 5, 100_010)
                assert (await maker.report(sell, "0")).get(Tag.OrdStatus) == "0"
                buy = await taker.place(SYMBOL, "1", 3, 100_020)
                fill = await taker.report(buy, "F")
                assert (fill.get(Tag.LastPx), fill.get(Tag.LastQty)) == ("100010", "3")

        asyncio.run(asyncio.wait_for(trade(), 60))
    except BaseException:
        proc.kill()
        raise
    height, root, _ = stop(proc)
    assert "created" in head and "2 account(s) opened" in head and height >= 1
    # a restart lands on the same state and opens nothing twice
    proc, url, head = start(data, "--dev-accounts", "2", "--committer-shards", "2")
    again, root_again, _ = stop(proc)
    assert "restarted" in head and "0 account(s) opened" in head
    assert (again, root_again) == (height, root)


def test_the_provers_start_is_logged() -> None:
    lines: list[str] = []
    stage = proving_progress(lines.append)
    for event in [("keys", 0, 1), ("keys", 1, 1), ("prover key", 0, 1), ("catch-up", 1, 3),
                  ("catch-up", 3, 3), ("prover key", 1, 1)]:  # fmt: skip
        stage(*event)
    assert lines[:4] == [
        "circuit keys: compiled and set up unless cached (minutes, once)",
        "circuit keys ready",
        "prover: loading the proving key",
        "prover: 3 stored block(s) read back for proving",
    ]
    assert re.fullmatch(r"prover: proving key loaded in \d+\.\d s; proving", lines[4])
    assert len(lines) == 5  # nothing per block of the catch-up


def test_bad_accounts_file_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    bad = tmp_path / "accounts.json"
    bad.write_text(json.dumps([{"account": 3, "pubkey_x": "0x1", "pubkey_y": "zz"}]))
    data = tmp_path / "venue"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-m", "venue.cli", "serve", str(data), "--accounts", str(bad)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2
    assert "account 3: public key is not a number" in res.stdout + res.stderr
    assert not data.exists()
    for flag, value in (("--liquidate-every", "-1"), ("--blocks-per-tx", "0")):
        res = subprocess.run(
            [sys.executable, "-m", "venue.cli", "serve", str(data), flag, value],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert res.returncode == 2 and flag in res.stdout + res.stderr
        assert not data.exists()


def test_account_specs_are_checked(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text(json.dumps([{"account": 1, "pubkey_x": "1", "pubkey_y": "2", "extra": 0}]))
    with pytest.raises(ServeError, match="accounts file"):
        load_accounts(f)  # unknown field
    f.write_text(json.dumps([{"account": 1, "pubkey_x": "1", "pubkey_y": "2", "deposit": -1}]))
    with pytest.raises(ServeError, match="deposit not negative"):
        load_accounts(f)
    node = VenueNode(tmp_path / "v", PROVABLE_GENESIS, engine="reference", fsync=False)
    try:
        specs = dev_accounts(2)
        cmds = account_commands(node, specs)
        assert [type(c).__name__ for c in cmds] == ["AddAccount", "Deposit"] * 2
        node.submit(cmds)
        assert account_commands(node, specs) == []  # open already: nothing twice
        x, y = private_to_public(trader_key(9))
        with pytest.raises(ServeError, match="exists with another key"):
            account_commands(node, [AccountSpec(1, hex(x), hex(y))])
        with pytest.raises(ServeError, match="does not fit the venue"):
            account_commands(node, [AccountSpec(1 << 4, hex(x), hex(y))])
        with pytest.raises(ServeError, match="listed twice"):
            account_commands(node, [AccountSpec(5, hex(x), hex(y))] * 2)
    finally:
        node.close()


# slow (~70 s): keeps the default suite under 15 minutes; live publishing and resuming a
# deployment stay covered there by tests/test_it_liveprover.py and tests/test_it_chain.py
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="a chain that outlives serve: anvil (npm)")
def test_serve_publishes_proven_blocks_and_resumes_after_restart(tmp_path: Path) -> None:
    """``serve --prove --chain URL``: a trader's fill reaches on_chain; after SIGTERM and a
    restart, the blocks proven since are published on the same contracts, in order."""
    data = tmp_path / "venue"
    env_cache = {"PROVENBOOK_CIRCUIT_CACHE": str(ROOT / ".cache" / "circuits")}
    with open_chain("anvil") as node_chain:
        url = node_chain.url
        assert url is not None
        args = ("--dev-accounts", "2", "--prove", "--workers", "1", "--chain", url)
        height, head, out = serve_and_cross(data, args, "on_chain", 240, env_cache)
        assert "publishing proven blocks on rpc" in head
        assert "prover: proving key loaded in" in head + out
        deployment = load_deployment(data / "chain.json")
        pub = Publisher(node_chain, deployment)
        on_chain = pub.latest_height
        assert 2 <= on_chain <= height  # blocks in flight at SIGTERM wait for the restart

        proc, _, _ = start(data, *args, env=env_cache)
        try:
            deadline = time.monotonic() + 240
            while pub.latest_height < height and time.monotonic() < deadline:
                time.sleep(1)
        finally:
            again, _, _ = stop(proc)
        assert pub.latest_height >= height  # everything proven since is on chain, in order
        assert load_deployment(data / "chain.json") == deployment  # the same contracts
        last = PriceFeed(node_chain, deployment.feed).round(2)
        assert last.answer == 100_010  # block 2's fill, proven, on chain
        assert again >= height


def test_serve_refuses_a_chain_it_cannot_use_before_creating_anything(tmp_path: Path) -> None:
    data = tmp_path / "venue"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    for extra in (
        ["--prove", "--chain", dead],
        ["--chain", "embedded"],
        ["--optimistic"],
        ["--chain", "embedded", "--optimistic", "--prove-early"],
        ["--chain", "embedded", "--post-bond"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "venue.cli", "serve", str(data), "--port", "0", *extra],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        assert "provenbook serve:" in done.stdout
        assert not data.exists()


@pytest.mark.skipif(shutil.which("npm") is None, reason="a chain that outlives serve: anvil (npm)")
def test_serve_optimistic_proposes_every_block_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``serve --chain URL --optimistic``: every block is proposed as it is stored, without a
    proof, the last one sealed on the way out too; a restart resumes the same contracts and
    proposes nothing twice; once the window has passed ``publish --optimistic`` finalizes and
    the feed serves the traded price."""
    from venue.cli import main

    data = tmp_path / "venue"
    env_cache = {"PROVENBOOK_CIRCUIT_CACHE": str(ROOT / ".cache" / "circuits")}
    with open_chain("anvil") as node_chain:
        url = node_chain.url
        assert url is not None
        args = ("--dev-accounts", "2", "--chain", url, "--optimistic", "--challenge-window", "30")
        # the fill's block proposed: the trader sees its price on chain, pending
        height, head, out = serve_and_cross(data, args, "proposed", 60, env_cache)
        assert "optimistic: proposing every block on rpc" in head, head
        assert "0 stored block(s) proposed now" in head and "halted" not in out
        file = data / OPTIMISTIC_DEPLOYMENT_FILE
        d = load_optimistic_deployment(file)
        opt = Optimistic.of(node_chain, d)
        assert height >= 2 and opt.latest_pending_height() == height
        assert opt.latest_height() == 0  # nothing is final before its window
        honest = watch_once(data, node_chain, d)
        assert honest == WatchReport(honest=list(range(1, height + 1))), honest
        # the watcher's command line finds the deployment in the directory by itself
        assert main(["watch", str(data), "--chain", url]) == 0
        assert DEPLOYMENT_FILES == (DEPLOYMENT_FILE, OPTIMISTIC_DEPLOYMENT_FILE)  # what is served

        proc, _, head = start(data, *args, env=env_cache)
        again, _, _ = stop(proc)
        assert load_optimistic_deployment(file) == d  # the same contracts
        assert opt.latest_pending_height() == again >= height

        advance_time(node_chain, 31)
        capsys.readouterr()
        cmd = ["publish", str(data), "--chain", url, "--optimistic", "--deployment", str(file)]
        assert main(cmd) == 0
        assert opt.latest_height() == again
        traded = [
            h for h in range(1, again + 1) if not opt.pending_block(h).block.carried
        ]
        assert traded and opt.block(traded[0]).price == 100_010
