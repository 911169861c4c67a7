"""Gateway pieces tested without sockets: the logon signature scheme and the slow-consumer
limit (a fake WebSocket whose ``send`` never completes)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

from matching import AddAccount
from proofs.eddsa import private_to_public, sign_poseidon
from venue.fix import Codec, Encoding, FixMessage, Session, Tag
from venue.fix.codec import format_utc_timestamp
from venue.gateway import Gateway, _Conn, logon_message
from venue.node import Genesis, VenueNode
from venue.workload import default_markets

PRV = hashlib.sha256(b"session-test").digest()


class StuckSocket:
    """Accepts nothing: every ``send`` waits forever, like a client that stopped reading."""

    async def send(self, frame: str) -> None:
        await asyncio.Event().wait()

    async def close(self) -> None:
        return None


def _logon_frame(challenge: bytes, signature: str) -> str:
    msg = FixMessage("A", (
        (49, "T"), (56, "PROVENBOOK"), (34, "1"), (52, format_utc_timestamp(time.time_ns())),
        (98, "0"), (108, "30"), (553, "7"), (5012, signature),
    ))  # fmt: skip
    return Codec(Encoding.TAGVALUE_PIPE).encode(msg)


def test_logon_message_is_domain_separated() -> None:
    c = bytes(range(32))
    assert logon_message(c) == logon_message(bytes(c))
    assert logon_message(c) != logon_message(c[:31] + b"\xff")
    assert 0 < logon_message(c) < 2**254


def test_authenticate_and_slow_consumer(tmp_path: Path) -> None:
    async def main() -> None:
        node = VenueNode(tmp_path, Genesis(default_markets(), account_depth=8, order_depth=10),
                         engine="reference")  # fmt: skip
        gw = Gateway(node, max_send_queue=5)
        await gw.start()
        try:
            x, y = private_to_public(PRV)
            await gw.submit_commands([AddAccount(0, 0, 7, x, y)])
            challenge = bytes(range(32))
            good = sign_poseidon(PRV, logon_message(challenge)).to_bytes().hex()
            assert gw._authenticate("7", challenge, good)
            assert not gw._authenticate("7", bytes(32), good)  # another challenge
            assert not gw._authenticate("8", challenge, good)  # unknown account
            assert not gw._authenticate("x", challenge, good)
            assert not gw._authenticate("7", challenge, "zz" * 64)  # not hex
            assert not gw._authenticate("7", challenge, "00" * 64)  # not a point

            session = Session(authenticate=gw._authenticate, challenge=challenge,
                              now_ns=time.time_ns())  # fmt: skip
            conn = _Conn(StuckSocket(), session, gw)  # type: ignore[arg-type]
            session.receive_data(_logon_frame(challenge, good), time.time_ns())
            conn.flush()
            await gw._on_events(conn)
            assert conn.account == 7
            u3 = FixMessage("U3", ((Tag.Symbol, "PB1-PERP"), (Tag.BlockHeight, "1"),
                                   (Tag.ProvenPrice, "1")))  # fmt: skip
            for _ in range(10):
                conn.send_app(u3)
            assert conn.closing and session.closed
            assert gw.stats["slow_consumers"] == 1 and gw.stats["cancel_on_disconnect"] == 1
            assert "slow consumer" in conn.out[-1]  # the Logout is the last frame queued
        finally:
            await gw.stop()
            node.close()

    asyncio.run(main())
