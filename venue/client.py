"""Async FIX-over-WebSocket client of the gateway: the trader's side, for tests and the demo.

``FixClient`` connects, logs on by signing the gateway's challenge with the account's
EdDSA-Poseidon key (``venue.gateway.logon_message``), numbers its messages, answers
TestRequest/ResendRequest (application messages are resent with PossDupFlag=Y from a
bounded store, admin ones gap-filled; ClOrdID idempotency makes a resent order safe),
detects gaps in the server's sequence and asks for a resend, keeps every ExecutionReport
per ClOrdID, keeps ``LocalBook`` copies from W/X
(re-requesting a snapshot on a gap or checksum mismatch) and follows finality from the
BlockHeight of reports plus U1/U2 broadcasts.

Signed orders (a venue with ``Genesis.signed``): created with ``markets`` (the venue's
``MarketConfig``s), the client signs every NewOrderSingle and OrderCancelReplaceRequest with
its key: OrderSignature(5017) = the signature of ``intent_hash`` of the engine command the
gateway will build (``venue.orders.place_command`` / ``replace_command``, the same
functions). A replace's command carries the order's engine id and ``OrderQty − CumQty``, so
the client takes OrderID and CumQty from the reports it has received: a fill still in flight
makes the gateway refuse the replace ("re-sign"), and a replace of an order it has no
OrderID for yet (not acknowledged, or rejected) goes out unsigned for the gateway to refuse.

Each signed D and G also carries Nonce(5018), the engine client id the signature covers,
which must rise per account (the venue refuses a replayed signed order: ``venue.orders``).
The client takes ``max(last + 1, microseconds since the epoch)``: rising within a process,
and across restarts without stored state as long as the clock does not step back by more
than the time between the two runs (two clients of one account at once would also need
disjoint nonces: one connection per account, as the gateway assumes).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

import websockets
from websockets.asyncio.client import ClientConnection, connect

from matching.types import MarketConfig, PlaceOrder, ReplaceOrder
from proofs.eddsa import sign_poseidon
from proofs.signing import sign_command

from .fix import Codec, Encoding, FixMessage, Tag
from .fix.codec import detect_encoding, format_utc_timestamp
from .gateway import logon_message
from .marketdata import LocalBook
from .orders import FINALITY_STATES, place_command, replace_command

__all__ = ["FixClient", "LogonRejected"]

_ADMIN = frozenset({"0", "1", "2", "3", "4", "5", "A"})
#: requests whose first ExecutionReport / OrderCancelReject / OrderMassCancelReport is their ack
_ORDER_TYPES = frozenset({"D", "F", "G", "q"})
_HEADER = frozenset({Tag.SenderCompID, Tag.TargetCompID, Tag.MsgSeqNum, Tag.SendingTime,
                     Tag.PossDupFlag, Tag.OrigSendingTime})  # fmt: skip


class LogonRejected(ConnectionError):
    """The gateway answered the Logon with a Logout (Text says why)."""


class FixClient:
    """One trader connection (see module docstring).

    :param url: ``ws://host:port`` of the gateway.
    :param account: account id (registered with ``AddAccount`` and this key).
    :param private_key: 32-byte EdDSA-Poseidon private key.
    :param encoding: wire encoding (FIX JSON by default, or tag=value SOH/pipe).
    :param cancel_on_disconnect: False sends CancelOnDisconnect(5013)=N at logon.
    :param markets: the venue's markets; given, ``place`` and ``replace`` sign their orders
        (OrderSignature, see module docstring), as a signed venue requires.
    """

    def __init__(
        self,
        url: str,
        account: int,
        private_key: bytes,
        *,
        encoding: Encoding = Encoding.JSON,
        comp_id: str | None = None,
        target_comp_id: str = "PROVENBOOK",
        heartbeat: int = 30,
        cancel_on_disconnect: bool = True,
        markets: Iterable[MarketConfig] | None = None,
    ) -> None:
        self.url = url
        #: Symbol -> market, when the client signs its orders (None: it does not)
        self.markets = {m.symbol: m for m in markets} if markets is not None else None
        self.account = account
        self.private_key = private_key
        self.codec = Codec(encoding, 1 << 22)
        self.comp_id = comp_id or f"TRADER{account}"
        self.target = target_comp_id
        self.heartbeat = heartbeat
        self.cancel_on_disconnect = cancel_on_disconnect
        self.ws: ClientConnection | None = None
        self.next_seq = 1
        self.expected_seq = 1
        self.missing: set[int] = set()
        self.reports: dict[str, list[FixMessage]] = defaultdict(list)
        self.received: list[FixMessage] = []
        self.rejects: list[FixMessage] = []
        self.books: dict[str, LocalBook] = {}
        self.heights = dict.fromkeys(FINALITY_STATES[1:], 0)
        #: (symbol, block height, price, kind) of every U3 proven price received, in order
        self.proven_prices: list[tuple[str, int, int, str]] = []
        self.logout_text: str | None = None
        self.closed = asyncio.Event()
        self.drop_inbound = 0  # test hook: drop this many next application frames
        self._cl = itertools.count(1)
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self._md_ids = itertools.count(1)
        self._resyncing: set[str] = set()
        self._sent: dict[int, FixMessage] = {}
        #: ClOrdID -> OrderID, and OrderID -> CumQty, from ExecutionReports (signed replaces)
        self._order_ids: dict[str, str] = {}
        self._cum: dict[str, int] = {}
        #: last Nonce(5018) sent (signed orders)
        self.last_nonce = 0
        #: ClOrdID -> ns from sending the request (D, F, G, q) to its first reply (8, 9 or
        #: r): the ack latency as this trader sees it, network and venue together
        self.ack_ns: dict[str, int] = {}
        self._sent_ns: dict[str, int] = {}
        #: sent application messages kept for ResendRequest
        self.max_stored = 10_000

    # ------------------------------------------------------------------ connection

    async def connect(self, *, timeout: float = 10.0) -> FixClient:
        """Open the socket and log on; raises ``LogonRejected`` if the gateway refuses."""
        self.ws = await connect(self.url, compression=None, max_size=1 << 22,
                                ping_interval=None)  # fmt: skip
        first = await asyncio.wait_for(self.ws.recv(), timeout)
        text = first if isinstance(first, str) else first.decode()
        # The greeting is the one frame whose encoding we do not choose (JSON by default).
        greeting = Codec(detect_encoding(text[:64]), 1 << 16).decode(text)
        if greeting.msg_type != "U0":
            raise LogonRejected(f"expected the U0 greeting, got {greeting.msg_type}")
        self.expected_seq = int(greeting.get(Tag.MsgSeqNum) or 1) + 1
        challenge = bytes.fromhex(greeting.get(Tag.LogonChallenge) or "")
        sig = sign_poseidon(self.private_key, logon_message(challenge)).to_bytes().hex()
        body: list[tuple[int, str]] = [
            (Tag.EncryptMethod, "0"), (Tag.HeartBtInt, str(self.heartbeat)),
            (Tag.Username, str(self.account)), (Tag.LogonSignature, sig),
        ]  # fmt: skip
        if not self.cancel_on_disconnect:
            body.append((Tag.CancelOnDisconnect, "N"))
        await self.send("A", body)
        reply = self._decode(await asyncio.wait_for(self.ws.recv(), timeout))
        if reply.msg_type != "A":
            raise LogonRejected(reply.get(Tag.Text) or reply.msg_type)
        self.expected_seq = int(reply.get(Tag.MsgSeqNum) or 0) + 1
        self._reader = asyncio.get_running_loop().create_task(self._read_loop())
        return self

    async def close(self, *, logout: bool = True) -> None:
        """Logout (unless ``logout`` is False: just drop the socket) and close."""
        if self.ws is None:
            return
        if logout and not self.closed.is_set():
            with contextlib.suppress(Exception):
                await self.send("5", [(Tag.Text, "bye")])
                await asyncio.wait_for(self.closed.wait(), 2)
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self.closed.set()

    async def __aenter__(self) -> FixClient:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ sending

    def message(self, msg_type: str, body: list[tuple[int, str]], *, seq: int | None = None,
                header: tuple[tuple[int, str], ...] = ()) -> FixMessage:  # fmt: skip
        """Build a numbered message (consumes a MsgSeqNum unless ``seq`` is given)."""
        if seq is None:
            seq, self.next_seq = self.next_seq, self.next_seq + 1
        head = ((Tag.SenderCompID, self.comp_id), (Tag.TargetCompID, self.target),
                (Tag.MsgSeqNum, str(seq)), *header,
                (Tag.SendingTime, format_utc_timestamp(time.time_ns())))  # fmt: skip
        return FixMessage(msg_type, (*head, *body))

    async def send(self, msg_type: str, body: list[tuple[int, str]], **kw: object) -> None:
        """Encode and send one message; application messages are kept for resends."""
        msg = self.message(msg_type, body, **kw)  # type: ignore[arg-type]
        if msg_type not in _ADMIN and "seq" not in kw:
            seq = int(msg.get(Tag.MsgSeqNum) or 0)
            self._sent[seq] = msg
            self._sent.pop(seq - self.max_stored, None)
        frame = self.codec.encode(msg)
        if msg_type in _ORDER_TYPES and "seq" not in kw:
            cl = msg.get(Tag.ClOrdID)
            if cl is not None:
                self._sent_ns.setdefault(cl, time.perf_counter_ns())
        await self.send_raw(frame)

    async def send_raw(self, frame: str | bytes) -> None:
        """Send a frame as is (tests use it for garbage)."""
        assert self.ws is not None
        await self.ws.send(frame)

    def skip_outbound_seq(self, n: int = 1) -> None:
        """Test hook: leave a gap in our MsgSeqNum (the server will ask for a resend)."""
        self.next_seq += n

    def new_cl_ord_id(self) -> str:
        return f"{self.comp_id}-{next(self._cl)}"

    def next_nonce(self) -> int:
        """A Nonce(5018) above every one sent before (module docstring)."""
        self.last_nonce = max(self.last_nonce + 1, time.time_ns() // 1000)
        return self.last_nonce

    async def place(
        self, symbol: str, side: str, qty: int, price: int | None = None, *,
        tif: str = "1", post_only: bool = False, cl_ord_id: str | None = None,
    ) -> str:  # fmt: skip
        """Send a NewOrderSingle (side "1" buy / "2" sell); returns its ClOrdID."""
        cl = cl_ord_id or self.new_cl_ord_id()
        body: list[tuple[int, str]] = [
            (Tag.ClOrdID, cl), (Tag.Symbol, symbol), (Tag.Side, side),
            (Tag.TransactTime, format_utc_timestamp(time.time_ns())),
            (Tag.OrderQty, str(qty)), (Tag.OrdType, "1" if price is None else "2"),
        ]  # fmt: skip
        if price is not None:
            body.append((Tag.Price, str(price)))
        body.append((Tag.TimeInForce, tif))
        if post_only:
            body.append((Tag.ExecInst, "6"))
        m = self.markets.get(symbol) if self.markets is not None else None
        if m is not None and qty > 0 and (price is None or price > 0):
            # Otherwise unsigned: the gateway refuses the symbol / quantity / price itself.
            nonce = self.next_nonce()
            cmd = place_command(self.account, m, cl, side, "1" if price is None else "2", tif,
                                price, qty, post_only=post_only, nonce=nonce)  # fmt: skip
            body += [(Tag.OrderSignature, self._signature(cmd)), (Tag.Nonce, str(nonce))]
        await self.send("D", body)
        return cl

    async def cancel(self, orig: str, symbol: str, side: str, *, order_id: str | None = None,
                     cl_ord_id: str | None = None) -> str:  # fmt: skip
        """OrderCancelRequest for the order named ``orig`` (or ``order_id``)."""
        cl = cl_ord_id or self.new_cl_ord_id()
        body: list[tuple[int, str]] = [(Tag.OrigClOrdID, orig), (Tag.ClOrdID, cl)]
        if order_id is not None:
            body.append((Tag.OrderID, order_id))
        body += [(Tag.Symbol, symbol), (Tag.Side, side),
                 (Tag.TransactTime, format_utc_timestamp(time.time_ns()))]  # fmt: skip
        await self.send("F", body)
        return cl

    async def replace(
        self, orig: str, symbol: str, side: str, qty: int, price: int, *,
        cl_ord_id: str | None = None,
    ) -> str:  # fmt: skip
        """OrderCancelReplaceRequest; ``qty`` is the new total OrderQty (FIX semantics).

        Signing, it also sends the OrderID it signed for (module docstring)."""
        cl = cl_ord_id or self.new_cl_ord_id()
        body: list[tuple[int, str]] = [
            (Tag.OrigClOrdID, orig), (Tag.ClOrdID, cl), (Tag.Symbol, symbol), (Tag.Side, side),
            (Tag.TransactTime, format_utc_timestamp(time.time_ns())), (Tag.OrderQty, str(qty)),
            (Tag.OrdType, "2"), (Tag.Price, str(price)),
        ]  # fmt: skip
        m = self.markets.get(symbol) if self.markets is not None else None
        oid = self._order_ids.get(orig)
        if m is not None and oid is not None and price > 0:
            cum = self._cum.get(oid, 0)
            if qty > cum:  # else unsigned: the gateway refuses OrderQty <= CumQty itself
                nonce = self.next_nonce()
                cmd = replace_command(self.account, m.market_id, int(oid), cl, price, qty, cum,
                                      nonce=nonce)  # fmt: skip
                body += [(Tag.OrderID, oid), (Tag.OrderSignature, self._signature(cmd)),
                         (Tag.Nonce, str(nonce))]  # fmt: skip
        await self.send("G", body)
        return cl

    def _signature(self, cmd: PlaceOrder | ReplaceOrder) -> str:
        """OrderSignature(5017) for ``cmd``: hex of its 64-byte signature by our key."""
        return sign_command(self.private_key, cmd).sig.hex()

    async def mass_cancel(
        self, symbol: str | None = None, *, dead_man_ms: int | None = None
    ) -> str:
        """OrderMassCancelRequest (all orders, or one symbol); with ``dead_man_ms`` it arms
        (0 disarms) the dead-man's switch instead of cancelling now."""
        cl = self.new_cl_ord_id()
        body: list[tuple[int, str]] = [(Tag.ClOrdID, cl),
                                       (Tag.MassCancelRequestType, "1" if symbol else "7")]
        if symbol:
            body.append((Tag.Symbol, symbol))
        body.append((Tag.TransactTime, format_utc_timestamp(time.time_ns())))
        if dead_man_ms is not None:
            body.append((Tag.DeadManTimeout, str(dead_man_ms)))
        await self.send("q", body)
        return cl

    async def subscribe(self, symbol: str) -> LocalBook:
        """Subscribe to a symbol's book; returns the LocalBook (filled when W arrives)."""
        book = self.books.setdefault(symbol, LocalBook(symbol))
        self._resyncing.add(symbol)
        await self._request_snapshot(symbol, "1")
        return book

    async def _request_snapshot(self, symbol: str, sub_type: str) -> None:
        await self.send("V", [
            (Tag.MDReqID, f"md-{next(self._md_ids)}"), (Tag.SubscriptionRequestType, sub_type),
            (Tag.MarketDepth, "0"), (Tag.NoMDEntryTypes, "2"), (Tag.MDEntryType, "0"),
            (Tag.MDEntryType, "1"), (Tag.NoRelatedSym, "1"), (Tag.Symbol, symbol),
        ])  # fmt: skip

    # ------------------------------------------------------------------ waiting

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds (checked after every inbound message)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def report(self, cl_ord_id: str, exec_type: str | None = None, *,
                     timeout: float = 10.0) -> FixMessage:  # fmt: skip
        """First report for ``cl_ord_id`` (with that ExecType if given): 8, 9 or r."""

        def find() -> FixMessage | None:
            for m in self.reports.get(cl_ord_id, []):
                if exec_type is None or m.get(Tag.ExecType) == exec_type:
                    return m
            return None

        await self.wait_for(lambda: find() is not None, timeout)
        found = find()
        assert found is not None
        return found

    def finality(self, cl_ord_id: str) -> str | None:
        """Finality of the command behind ``cl_ord_id``'s latest report, from BlockHeight
        and the U1/U2 broadcasts seen so far."""
        reps = [m for m in self.reports.get(cl_ord_id, []) if m.get(Tag.BlockHeight)]
        if not reps:
            return None
        height = int(reps[0].get(Tag.BlockHeight) or 0)
        for state in reversed(FINALITY_STATES[1:]):
            if height <= self.heights[state]:
                return state
        return reps[-1].get(Tag.FinalityState)

    async def _serve_resend(self, begin: int, end: int) -> None:
        """Answer a ResendRequest: stored application messages again with PossDupFlag=Y
        (ClOrdID idempotency makes that safe), gap-fills for everything else."""
        last = self.next_seq - 1
        end = last if end == 0 or end > last else end
        stamp = format_utc_timestamp(time.time_ns())
        dup = ((Tag.PossDupFlag, "Y"), (Tag.OrigSendingTime, stamp))
        cursor = begin
        for seq in range(begin, end + 1):
            stored = self._sent.get(seq)
            if stored is None:
                continue
            if seq > cursor:
                await self.send("4", [(Tag.GapFillFlag, "Y"), (Tag.NewSeqNo, str(seq))],
                                seq=cursor, header=dup)  # fmt: skip
            body = [(t, v) for t, v in stored.fields if t not in _HEADER]
            await self.send(stored.msg_type, body, seq=seq, header=dup)
            cursor = seq + 1
        if cursor <= end:
            await self.send("4", [(Tag.GapFillFlag, "Y"), (Tag.NewSeqNo, str(end + 1))],
                            seq=cursor, header=dup)  # fmt: skip

    # ------------------------------------------------------------------ receiving

    def _track_order(self, report: FixMessage) -> None:
        """Remember the engine order id of the report's ClOrdIDs and the order's CumQty (the
        highest seen: reports may be resent late), which a signed replace must sign."""
        oid = report.get(Tag.OrderID)
        if not oid or not oid.isdigit():  # "NONE": rejected before the engine named it
            return
        for cl in (report.get(Tag.ClOrdID), report.get(Tag.OrigClOrdID)):
            if cl:
                self._order_ids[cl] = oid
        cum = report.get(Tag.CumQty) or "0"
        if cum.isdigit():
            self._cum[oid] = max(self._cum.get(oid, 0), int(cum))

    def _decode(self, frame: str | bytes) -> FixMessage:
        text = frame if isinstance(frame, str) else frame.decode()
        if self.codec.encoding is not detect_encoding(text[:64]):
            raise ValueError("server changed encoding")
        return self.codec.decode(text)

    async def _read_loop(self) -> None:
        assert self.ws is not None
        try:
            async for frame in self.ws:
                msg = self._decode(frame)
                await self._on_message(msg)
                async with self._changed:
                    self._changed.notify_all()
                if self.logout_text is not None and msg.msg_type == "5":
                    break
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def _on_message(self, msg: FixMessage) -> None:
        seq = int(msg.get(Tag.MsgSeqNum) or 0)
        kind = msg.msg_type
        poss_dup = msg.get(Tag.PossDupFlag) == "Y"
        if kind not in ("0", "1", "2", "3", "4", "5", "A", "U0") and not poss_dup:
            if self.drop_inbound > 0:
                self.drop_inbound -= 1
                return
        if kind == "4":
            new_seq = int(msg.get(Tag.NewSeqNo) or 0)
            self.missing -= set(range(seq, new_seq))
            self.expected_seq = max(self.expected_seq, new_seq)
            return
        if poss_dup and seq < self.expected_seq:
            if seq not in self.missing:
                return
            self.missing.discard(seq)
        elif seq > self.expected_seq:
            self.missing |= set(range(self.expected_seq, seq))
            await self.send("2", [(Tag.BeginSeqNo, str(self.expected_seq)),
                                  (Tag.EndSeqNo, str(seq - 1))])  # fmt: skip
            self.expected_seq = seq + 1
        else:
            self.expected_seq = max(self.expected_seq, seq + 1)
        self.received.append(msg)
        if kind == "1":
            await self.send("0", [(Tag.TestReqID, msg.get(Tag.TestReqID) or "")])
        elif kind == "2":
            await self._serve_resend(int(msg.get(Tag.BeginSeqNo) or 1),
                                     int(msg.get(Tag.EndSeqNo) or 0))  # fmt: skip
        elif kind == "5":
            self.logout_text = msg.get(Tag.Text) or ""
            with contextlib.suppress(Exception):
                await self.send("5", [(Tag.Text, "logout acknowledged")])
        elif kind in ("3", "j"):
            self.rejects.append(msg)
        elif kind in ("8", "9", "r"):
            cl = msg.get(Tag.ClOrdID)
            if cl is not None:
                self.reports[cl].append(msg)
                sent = self._sent_ns.pop(cl, None)
                if sent is not None:
                    self.ack_ns[cl] = time.perf_counter_ns() - sent
            if kind == "8":
                self._track_order(msg)
        elif kind == "W":
            sym = msg.get(Tag.Symbol) or ""
            self.books.setdefault(sym, LocalBook(sym)).apply_snapshot(msg)
            self._resyncing.discard(sym)
        elif kind == "X":
            for book in self.books.values():
                if not book.apply_incremental(msg) and book.symbol not in self._resyncing:
                    self._resyncing.add(book.symbol)
                    await self._request_snapshot(book.symbol, "0")
        elif kind == "U1":
            self.heights["in_block"] = max(self.heights["in_block"],
                                           int(msg.get(Tag.BlockHeight) or 0))
        elif kind == "U3":
            self.proven_prices.append((
                msg.get(Tag.Symbol) or "", int(msg.get(Tag.BlockHeight) or 0),
                int(msg.get(Tag.ProvenPrice) or 0), msg.get(Tag.ProvenPriceKind) or "block",
            ))  # fmt: skip
        elif kind == "U2":
            state = msg.get(Tag.FinalityState)
            height = int(msg.get(Tag.BlockHeight) or 0)
            if state in ("proposed", "proven", "on_chain"):
                for s in FINALITY_STATES[1 : FINALITY_STATES.index(state) + 1]:
                    self.heights[s] = max(self.heights[s], height)
