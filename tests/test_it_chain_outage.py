"""A running venue's chain connection drops and comes back: publishing and proposing wait and
go on, instead of halting until a restart, and send nothing twice.

The chain is a real anvil; between it and the venue sits ``Link``, a TCP relay the test cuts
and restores: the network, which is outside the system. While the link is down, the chain
itself moves on through a direct connection, as if a transaction sent just before the cut had
landed without its receipt being seen, so the retry must read the chain before sending again.
"""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

import pytest

from matching import Block, Deposit
from matching.block import BlockHeader
from matching.encoding import decoder
from oracle.chain import Chain, open_chain, unreachable
from oracle.deploy import deploy_venue
from oracle.optimistic import Optimistic
from oracle.publish import LivePublisher, Publisher
from venue.node import VenueNode
from venue.proposer import LiveProposer, Operator

from .chain_helpers import CIRCUIT_CACHE, Proven
from .test_coverage_proving import ACCOUNTS, TRADES, UNSIGNED

pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="anvil comes from npm")


def _header(node: VenueNode, height: int) -> BlockHeader:
    payload = node.blocks.get(height)
    assert payload is not None
    return decoder(Block).decode(payload).header


class Link:
    """A TCP relay from 127.0.0.1 to ``target``'s port that can be cut (every connection
    closed, new ones refused by closing them at once) and restored."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit("/", 1)[-1].rsplit(":", 1)
        self.target = (host, int(port))
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.up = threading.Event()
        self.up.set()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            if not self.up.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            for s in self._open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._open.clear()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.server.close()


@pytest.fixture
def chains() -> tuple[Chain, Chain, Link]:
    """anvil directly, and the same anvil through a ``Link``."""
    with open_chain("anvil") as direct:
        assert direct.url is not None
        link = Link(direct.url)
        try:
            with open_chain(link.url) as linked:
                yield direct, linked, link  # type: ignore[misc]
        finally:
            link.close()


def test_a_cut_link_is_unreachable_and_a_revert_is_not(chains: tuple[Chain, Chain, Link]) -> None:
    _, linked, link = chains
    link.cut()
    with pytest.raises(Exception) as info:
        linked.w3.eth.block_number  # noqa: B018
    assert unreachable(info.value), repr(info.value)
    link.restore()
    assert linked.w3.eth.block_number >= 0
    assert not unreachable(FileNotFoundError("a key file")) and not unreachable(ValueError())


def test_the_live_proposer_rides_out_an_outage(
    chains: tuple[Chain, Chain, Link], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))
    direct, linked, link = chains
    node = VenueNode(tmp_path / "venue", UNSIGNED, engine="reference", fsync=False)
    live = LiveProposer(node, linked, challenge_window=600, finalize_every=0.2)
    try:
        live.start()
        node.submit(ACCOUNTS)
        node.seal()
        node.flush()
        assert live.wait(1, 60), live.halted
        assert live.operator is not None
        d = live.operator.deployment
        link.cut()
        node.submit(TRADES)
        node.seal()
        node.flush()
        assert not live.wait(2, 1) and live.halted is None  # waiting, not halted
        # meanwhile block 2's proposal lands by another way (a receipt lost at the cut)
        Operator(direct, d).propose(_header(node, 2))
        link.restore()
        assert live.wait(2, 60), live.halted
        # and the venue goes on: block 3 is proposed through the restored link
        node.submit([Deposit(0, 0, 1, 5)])
        node.seal()
        node.flush()
        assert live.wait(3, 60), live.halted
        assert live.halted is None
        assert Optimistic.of(direct, d).latest_pending_height() == 3
    finally:
        live.close()
        node.close()


def test_the_live_publisher_rides_out_an_outage(
    chains: tuple[Chain, Chain, Link], proven: Proven
) -> None:
    direct, linked, link = chains
    d = deploy_venue(direct, proven.vk, start=proven.headers[0])
    landed: list[tuple[int, str]] = []
    live = LivePublisher(Publisher(linked, d), on_published=lambda h, tx: landed.append((h, tx)))
    try:
        link.cut()
        Publisher(direct, d).publish(proven.headers[0], proven.proofs[0])  # landed, unseen
        for h, p in zip(proven.headers, proven.proofs, strict=True):
            live.submit(h, p)
        assert not live.wait(3, 1) and live.halted is None
        link.restore()
        assert live.wait(3, 120), live.halted
        assert [h for h, _ in landed] == [1, 2, 3]  # in order, none twice
        assert landed[0][1] == "" and all(tx.startswith("0x") for _, tx in landed[1:])
        assert Publisher(direct, d).latest_height == 3
    finally:
        live.close()
