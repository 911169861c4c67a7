"""FIX-over-WebSocket gateway: asyncio I/O around the sans-I/O ``venue.fix.Session``.

Threading model (one writer): a single asyncio task, the *engine task*, owns the
``VenueNode``, the ``OrderRouter`` and the ``MarketDataFeed``. Connection handlers only
feed frames to their ``Session`` and put the resulting requests on a bounded queue
(``await put``: a full queue stops reading the socket, which is the backpressure). The
engine task drains the queue in batches, makes one ``node.submit(batch)`` — one journal
fsync for the batch (group commit) — and only then builds and sends ExecutionReports, so
no ack precedes durability. ``submit`` runs in the default executor (``offload=True``) so
the loop keeps serving sockets during the fsync; the engine task awaits it, so there is
still exactly one writer. A small group commit (at most ``inline_batch`` commands, 4) runs on
the loop itself while the journal's commits are fast (moving average at most
``inline_max_commit``, 1 ms): with little else to overlap, the two thread hops cost more
than the fsync (measured at 1 client × 1 order in flight: server CPU per order −22%, ack p50
0.62 → 0.53 ms, ``bench/RESULTS.md`` "Background priority"); a slow disk turns the offload
back on. Nothing else reads the engine: logon signatures are checked
against a key registry the engine task maintains from AddAccount.

Logon: the session greets with U0 carrying a 32-byte random challenge. The client signs
``logon_message(challenge)`` = Poseidon(LOGON_DOMAIN, c0, c1, ...) where c_i are the
challenge's 31-byte chunks read big-endian (each < 2**248, so a field element) and
LOGON_DOMAIN is ``b"ProvenBook FIX logon v1"`` read big-endian (keeps a logon signature
from ever being valid for another Poseidon message, e.g. an order). Username(553) = the
decimal account id, LogonSignature(5012) = hex of ``Signature.to_bytes()`` (64 bytes)
by the account's EdDSA-Poseidon key registered with ``AddAccount``.

Finality: every ExecutionReport says FinalityState=sequenced and the BlockHeight of the
block that holds the command. When a block is durable (the node's committer hashed and
stored it, off the engine task's path) every logged-on session gets a U1 BlockHeader
(FinalityState=in_block, settlement prices): all reports with that BlockHeight or lower
are now in_block. A U1 is sent only after the ExecutionReports of the commands it holds
(``node.on_block`` runs on the committer's thread and only queues the block to the loop).
``on_proven(height)`` and ``on_published(height, tx_hash)`` broadcast U2 ProofStatus
(FinalityState proven / on_chain) the same way, and in optimistic mode ``on_proposed`` and
``on_final`` (FinalityState proposed / on_chain); ``on_proven_price`` broadcasts U3. The
client library (``venue.client``) turns these into per-ClOrdID finality.

Signed venues (``Genesis.signed``): NewOrderSingle and OrderCancelReplaceRequest must carry
OrderSignature(5017), the account key's signature of the engine command they become, and
Nonce(5018), that command's client id, which must rise per account so that a signed order
cannot be sequenced twice (the engine refuses a replay with STALE_NONCE); the
``OrderRouter`` checks signature and nonce format against the same key registry before
anything is sequenced and rejects the order with a reason otherwise (``venue.orders``
module docstring).

Cancel-on-disconnect: on by default; Logon CancelOnDisconnect(5013)=N opts out. When a
connection of an account that did not opt out ends, a MassCancel of all the account's
orders is submitted (account-wide: the engine scopes orders by account).

On a venue of several markets every mass cancel of all markets (q with
MassCancelRequestType 7, cancel-on-disconnect, the dead-man's switch) goes to the engine as
one MassCancel per market where the account rests orders, the q's one report with the last:
each block of such a venue is proved opening one market (``OrderRouter.split_mass_cancel``).

Dead-man's switch: an OrderMassCancelRequest (q) carrying DeadManTimeout(5016)=T (ms)
does not cancel now: it (re)arms a timer; if no other such q arrives within T ms the mass
cancel it describes is submitted, with an unsolicited OrderMassCancelReport (r) saying so.
T=0 disarms. The arming q is answered at once by an r with Text "armed"/"disarmed".

Keeper (``liquidate_every`` seconds, 0: off; ``provenbook serve`` runs it every 1 s): once a
block has moved the marks, the engine task asks the engine which accounts are under
maintenance margin (``under_maintenance()``) and sends, for each one, the commands of
``venue.liquidation.liquidation_orders``: a MassCancel of its resting orders, then an
unsigned liquidation order its session sees reported as ClOrdID ``LIQ-n``. The block proof
checks the liquidation rule.

Plain HTTP on the same port (no WebSocket upgrade): ``/`` is ``venue.dashboard``'s page of
the last blocks, which reloads itself; ``/genesis``, ``/head``, ``/blocks/H`` and ``/proofs/H``
are the venue's public record, which ``venue.mirror`` (``provenbook mirror``) copies so that
anyone can replay and verify it elsewhere; other paths get 404.

Limits (constructor arguments, defaults in brackets): ``max_frame`` FIX frame bytes
[16 KiB, a FIX Reject above]; ``ws_max_size`` WebSocket message bytes [1 MiB, close
1009 above: frames between the two get the FIX reject]; ``max_rate``/``burst`` inbound
messages per second per session and bucket depth [500, 1000]; ``max_open_orders`` per
account [1000]; ``max_send_queue`` frames waiting to be written to one client [10 000,
then Logout "slow consumer" and disconnect]; ``max_batch`` commands per group commit
[1024]; ``queue_size`` requests waiting for the engine task [10 000]; ``check_outbound``
validate what the venue sends too [False: trusted, see ``_Conn.send_app``]. Every violation gets
a FIX Reject / BusinessMessageReject / ExecutionReport reject / Logout with a reason.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import websockets
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from matching import (
    ALL_MARKETS,
    AccountAdded,
    Block,
    Command,
    Event,
    MassCancel,
    PlaceOrder,
    Trade,
)
from matching.types import OrderAccepted, OrderCancelled, OrderReduced, OrderReplaced
from proofs.eddsa import Signature, verify_poseidon
from proofs.poseidon_wide import poseidon

from .dashboard import dashboard_rows, render
from .fix import (
    ApplicationRequest,
    CancelOrderRequest,
    FixMessage,
    LogonAccepted,
    MarketDataSubscription,
    MassCancelRequest,
    NewOrderRequest,
    ReplaceOrderRequest,
    Session,
    SessionClosed,
    Tag,
)
from .liquidation import liquidation_orders
from .marketdata import MarketDataFeed
from .mirror import DEPLOYMENT_FILES
from .node import VenueNode
from .orders import Flush, OrderRouter, Outbox, Pending

__all__ = ["LOGON_DOMAIN", "Gateway", "logon_message", "new_event_loop", "run_gateway"]

LOGON_DOMAIN = int.from_bytes(b"ProvenBook FIX logon v1", "big")

# isinstance tuples built once: an ``A | B`` union written inline is rebuilt on every call.
_ORDER_REQUESTS = (NewOrderRequest, CancelOrderRequest, ReplaceOrderRequest, MassCancelRequest)
_BOOK_EVENTS = (OrderAccepted, OrderCancelled, OrderReplaced, OrderReduced)
_MD_REQ_ID = int(Tag.MDReqID)  # plain int: see ``_plain``

try:  # uvloop when available: the gateway is I/O bound
    import uvloop as _uvloop
except ImportError:  # pragma: no cover
    _uvloop = None  # type: ignore[assignment]


def logon_message(challenge: bytes) -> int:
    """The field element a client signs to log on (see module docstring)."""
    chunks = [int.from_bytes(challenge[i : i + 31], "big") for i in range(0, len(challenge), 31)]
    return poseidon([LOGON_DOMAIN, *chunks])


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when installed, else asyncio's."""
    return _uvloop.new_event_loop() if _uvloop is not None else asyncio.new_event_loop()


def run_gateway(
    node: VenueNode, *, ready: Callable[[Gateway], Awaitable[None]] | None = None, **kwargs: Any
) -> None:
    """Serve ``node`` until SIGINT or SIGTERM, on uvloop when installed (``Gateway`` kwargs).

    ``ready(gw)`` runs once the gateway accepts connections (``venue.serve`` opens accounts
    and prints the address there). Returns after the gateway has stopped; sealing and
    closing the node is the caller's.
    """

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
                loop.add_signal_handler(sig, stop.set)
        async with Gateway(node, **kwargs) as gw:
            gw.logger.info("gateway listening on %s", gw.url)
            if ready is not None:
                await ready(gw)
            await stop.wait()

    loop = new_event_loop()
    try:
        loop.run_until_complete(main())
    except KeyboardInterrupt:
        pass
    finally:
        loop.close()


@dataclass(eq=False)
class _Conn:
    """One WebSocket connection: its session, outbound queue and subscriptions."""

    ws: ServerConnection
    session: Session
    gateway: Gateway
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    account: int | None = None
    out: collections.deque[str] = field(default_factory=collections.deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False
    closed: bool = False
    md: dict[int, str] = field(default_factory=dict)  # market -> MDReqID

    def flush(self) -> None:
        """Move the session's frames to the send queue (slow consumer check)."""
        frames = self.session.data_to_send()
        if not frames or self.closed:
            return
        self.out.extend(frames)
        self.wake.set()
        if len(self.out) > self.gateway.max_send_queue and not self.closing:
            self.gateway._slow_consumer(self)

    def send_app(self, msg: FixMessage, trusted: bool = False) -> None:
        """Send an application message from the engine task; ignored once closing.

        ``trusted``: built by the venue from engine values and validated inbound fields, so
        the session skips the dictionary check (``Session.send``).
        """
        if self.closing or self.closed or self.session.closed:
            return
        try:
            self.session.send(msg, time.time_ns(), trusted=trusted)
        except Exception:  # a venue bug: log, never crash the engine task
            self.gateway.logger.exception("conn %s: cannot send %s", self.id, msg.msg_type)
            return
        self.flush()


class Gateway:
    """The FIX WebSocket server (see module docstring for the model and the limits).

    Use ``async with Gateway(node) as gw:`` (or ``await start()`` / ``await stop()``);
    ``gw.port`` is the bound port (``port=0`` picks a free one).
    """

    def __init__(
        self,
        node: VenueNode,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        comp_id: str = "PROVENBOOK",
        max_frame: int = 16 * 1024,
        ws_max_size: int = 2**20,
        max_rate: float = 500.0,
        burst: int = 1000,
        max_open_orders: int = 1000,
        max_send_queue: int = 10_000,
        max_batch: int = 1024,
        queue_size: int = 10_000,
        tick_interval: float = 0.25,
        seal_interval: float | None = None,
        offload: bool = True,
        inline_batch: int = 4,
        inline_max_commit: float = 0.001,
        check_outbound: bool = False,
        liquidate_every: float = 0.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.node = node
        self.host, self._port = host, port
        self.comp_id = comp_id
        self.max_frame = max_frame
        self.ws_max_size = ws_max_size
        self.max_rate, self.burst = max_rate, burst
        self.max_send_queue = max_send_queue
        self.max_batch = max_batch
        self.tick_interval = tick_interval
        self.seal_interval_ns = (
            int(seal_interval * 1e9) if seal_interval is not None
            else node.genesis.block_interval_ns
        )  # fmt: skip
        self.offload = offload
        self.inline_batch = inline_batch
        self.inline_max_commit_ns = int(inline_max_commit * 1e9)
        #: moving average of the journal commit (write + fsync) time, ns
        self._commit_ns = 0
        #: skip the dictionary check on what the venue builds (see ``_Conn.send_app``)
        self.trusted = not check_outbound
        self.logger = logger or logging.getLogger("venue.gateway")
        markets = node.genesis.markets
        #: account -> registered key (x, y), from AddAccount: logon, and orders when signed
        self._keys: dict[int, tuple[int, int]] = {}
        self.router = OrderRouter(
            markets, max_open_orders=max_open_orders,
            signing_keys=self._keys if node.genesis.signed else None,
            live_cl_ord_id=None if node.genesis.signed else self._live_cl_ord_id,
        )  # fmt: skip
        self.feed = MarketDataFeed(markets)
        self._market_ids = [m.market_id for m in markets]
        #: several markets: a mass cancel of every market goes as one per market (_add_op)
        self._split_mass = len(markets) > 1
        self._queue_size = queue_size
        self._queue: asyncio.Queue[tuple[Any, ...]] | None = None
        self._by_account: dict[int, set[_Conn]] = {}
        self._conns: set[_Conn] = set()
        self._md_subs: dict[int, set[_Conn]] = {}
        self._dms: dict[int, tuple[float, MassCancelRequest]] = {}
        self._md_stale: set[int] = set()  # markets changed while nobody subscribed
        self._sealed: collections.deque[Block] = collections.deque()
        #: ExecutionReports of every command in blocks up to here have been handed out
        self._delivered_height = 0
        self._previous_on_block: Callable[[Block], None] | None = None
        self._last_activity_ns = time.time_ns()
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        #: the keeper: at most this often (seconds; 0: never), once a new block has moved the
        #: marks, every account under maintenance margin is liquidated (``_liquidations``)
        self.liquidate_every = liquidate_every
        self._next_scan = 0.0
        self._scanned_height = 0
        #: counters for tests and the benchmark
        self.stats = collections.Counter[str]()

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        """The bound TCP port."""
        assert self._server is not None
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def start(self) -> None:
        """Load keys and books from the node, start the engine task and the listener."""
        self._queue = asyncio.Queue(self._queue_size)
        previous = self._previous_on_block = self.node.on_block
        loop = asyncio.get_running_loop()

        def on_block(block: Block) -> None:  # the committer's thread: hand over to the loop
            if previous is not None:
                previous(block)
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
                loop.call_soon_threadsafe(self._block_durable, block)

        self.node.on_block = on_block
        engine = self.node.engine
        for account in engine.account_ids():  # type: ignore[attr-defined]
            view = engine.account_view(account)  # type: ignore[attr-defined]
            self._keys[account] = (int(view.pubkey_x), int(view.pubkey_y))
        self.feed.load(engine)
        self.node.flush()
        self.router.advance("in_block", self.node.committed_height)
        self._delivered_height = self.node.height
        self._tasks = [
            loop.create_task(self._engine_task(), name="gateway-engine"),
            loop.create_task(self._ticker(), name="gateway-ticker"),
        ]
        self._server = await serve(
            self._handle, self.host, self._port, max_size=self.ws_max_size,
            compression=None, ping_interval=None, max_queue=64,
            process_request=self._http,
        )  # fmt: skip

    async def stop(self) -> None:
        """Close the listener and every connection, then stop the tasks. Idempotent."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        self.node.on_block = self._previous_on_block

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ venue API

    async def submit_commands(self, cmds: Sequence[Command]) -> list[list[Event]]:
        """Venue-side commands (AddAccount, Deposit...) through the single writer."""
        fut: asyncio.Future[list[list[Event]]] = asyncio.get_running_loop().create_future()
        await self._put(("admin", list(cmds), fut))
        return await fut

    async def seal(self) -> Block | None:
        """Seal the open block now (through the engine task); None if it was empty."""
        fut: asyncio.Future[Block | None] = asyncio.get_running_loop().create_future()
        await self._put(("seal", fut))
        return await fut

    async def call(self, fn: Callable[[VenueNode], Any]) -> Any:
        """Run ``fn(node)`` in the engine task, between batches (tests, admin reads)."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._put(("call", fn, fut))
        return await fut

    def on_proven(self, height: int) -> None:
        """The prover proved blocks up to ``height``: broadcast U2 (FinalityState=proven)."""
        self._threadsafe(self._broadcast_finality, "proven", height, "proven", None)

    def on_published(self, height: int, tx_hash: str | None = None) -> None:
        """The publisher's proof for ``height`` is on chain: U2 FinalityState=on_chain."""
        self._threadsafe(self._broadcast_finality, "on_chain", height, "verified", tx_hash)

    def on_proposed(self, height: int, tx_hash: str | None = None) -> None:
        """Optimistic mode: ``height`` is proposed, its price on chain and pending (U2
        ProofStatus=proposed, FinalityState=proposed; ``venue.proposer.LiveProposer``)."""
        self._threadsafe(self._broadcast_finality, "proposed", height, "proposed", tx_hash)

    def on_final(self, height: int) -> None:
        """Optimistic mode: blocks up to ``height`` are final on chain (their window passed,
        or a proof landed): U2 ProofStatus=final, FinalityState=on_chain."""
        self._threadsafe(self._broadcast_finality, "on_chain", height, "final", None)

    def on_block_proven(self, height: int, block: Block) -> None:
        """A live prover's hook (``venue.liveprover``): U2 proven, then U3 for each market's
        settlement price, which is now a proven price (a carried price too: it is the proof's
        public output either way)."""
        self.on_proven(height)
        for s in block.header.markets:
            self.on_proven_price(self.router.symbol(s.market), height, s.price)

    def on_proven_price(self, symbol: str, height: int, price: int, kind: str = "block") -> None:
        """Broadcast a proven price (U3) for ``symbol`` at ``height``."""
        msg = FixMessage(
            "U3",
            _plain([(Tag.Symbol, symbol), (Tag.BlockHeight, str(height)),
                    (Tag.ProvenPrice, str(price)), (Tag.ProvenPriceKind, kind)]),
        )  # fmt: skip
        self._threadsafe(self._broadcast, msg)

    def _threadsafe(self, fn: Callable[..., None], *args: Any) -> None:
        """Callable from any thread (prover, publisher) or from the loop itself; a no-op
        once the gateway is stopped (no session is left to tell)."""
        tasks = self._tasks
        if not tasks:
            return
        loop = tasks[0].get_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn(*args)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(fn, *args)

    def _broadcast_finality(
        self, state: str, height: int, proof_status: str, tx_hash: str | None
    ) -> None:
        self.router.advance(state, height)
        f: list[tuple[int, str]] = [(Tag.BlockHeight, str(height)), (Tag.ProofStatus, proof_status)]
        if tx_hash:
            f.append((Tag.ChainTxHash, tx_hash))
        f.append((Tag.FinalityState, state))
        self._broadcast(FixMessage("U2", _plain(f)))

    def _broadcast(self, msg: FixMessage, trusted: bool = False) -> None:
        for conn in list(self._conns):
            if conn.account is not None:
                conn.send_app(msg, trusted)

    # ------------------------------------------------------------------ authentication

    def _authenticate(self, account: str, challenge: bytes, signature: str) -> bool:
        """Session callback: EdDSA-Poseidon signature of ``logon_message(challenge)``."""
        if not account.isdigit() or len(account) > 9:
            return False
        key = self._keys.get(int(account))
        if key is None or key == (0, 0) or len(signature) != 128:
            return False
        try:
            sig = Signature.from_bytes(bytes.fromhex(signature))
            return verify_poseidon(logon_message(challenge), sig, key)
        except ValueError:
            return False

    # ------------------------------------------------------------------ connections

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        """Plain HTTP GETs (no WebSocket upgrade, which goes on to the FIX session): ``/`` the
        dashboard (``venue.dashboard``: the last blocks, their prices and finality, reloading
        every 5 s); ``/genesis``, ``/head``, ``/blocks/H`` and ``/proofs/H`` the venue's public
        record, what ``venue.mirror`` copies so that anyone can replay it."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        path, _, query = request.path.partition("?")
        if path.startswith(("/genesis", "/head", "/blocks/", "/proofs/")) or (
            path[1:] in DEPLOYMENT_FILES
        ):
            return self._record(connection, path, query)
        if path not in ("/", "/dashboard"):
            return connection.respond(HTTPStatus.NOT_FOUND, "not found: try / or a WebSocket\n")
        rows = dashboard_rows(
            self.node.blocks, last=120, on_chain_height=self.router.heights["on_chain"],
            proposed_height=self.router.heights["proposed"],
        )
        page = render(rows, self.router.symbols, title=f"ProvenBook {self.comp_id}", refresh=5)
        response = connection.respond(HTTPStatus.OK, page)
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "text/html; charset=utf-8"
        return response

    def _record(self, connection: ServerConnection, path: str, query: str) -> Response:
        """The public record over HTTP (``venue.mirror``'s protocol): the genesis and each
        block as stored (canonical MessagePack), each proof with its kind in ``X-Proof-Kind``,
        and ``/head?proofs_after=N`` = JSON ``{"height", "proven"}`` (heights above N with a
        proof), and the venue's deployments as it keeps them (``/chain.json``, validity mode;
        ``/optimistic.json``, optimistic mode), so that a watcher needs only the venue's address
        and a node. Read from the node's own store: nothing here is trusted by a mirror, which
        re-executes and verifies everything."""
        store = self.node.blocks
        extra: list[tuple[str, str]] = []
        body: bytes | None = None
        kind = "application/octet-stream"
        if path == "/genesis":
            body = (self.node.dir / "genesis.msgpack").read_bytes()  # as the node stored it
        elif path == "/head":
            after = 0
            for part in query.split("&"):
                key, _, value = part.partition("=")
                if key == "proofs_after" and value.isdigit() and len(value) < 20:
                    after = int(value)
            proven = [h for h in store.proven_heights() if h > after]
            body = json.dumps({"height": store.last_height, "proven": proven}).encode()
            kind = "application/json"
        elif path[1:] in DEPLOYMENT_FILES:
            with contextlib.suppress(FileNotFoundError):
                body = (self.node.dir / path[1:]).read_bytes()
            kind = "application/json"
        else:
            what, _, number = path[1:].partition("/")
            if number.isdigit() and len(number) < 20:
                if what == "blocks":
                    body = store.get(int(number))
                else:
                    proof = store.get_proof(int(number))
                    if proof is not None:
                        body = proof.payload
                        extra.append(("X-Proof-Kind", proof.kind))
        if body is None:
            return connection.respond(HTTPStatus.NOT_FOUND, f"no such record: {path}\n")
        headers = Headers([("Content-Type", kind), ("Content-Length", str(len(body))), *extra])
        return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, bytes(body))

    async def _put(self, item: tuple[Any, ...]) -> None:
        assert self._queue is not None
        await self._queue.put(item)

    async def _handle(self, ws: ServerConnection) -> None:
        session = Session(
            authenticate=self._authenticate, challenge=os.urandom(32), now_ns=time.time_ns(),
            comp_id=self.comp_id, max_size=self.max_frame, max_rate=self.max_rate,
            burst=self.burst, logger=self.logger,
        )  # fmt: skip
        conn = _Conn(ws, session, self)
        self._conns.add(conn)
        writer = asyncio.get_running_loop().create_task(self._writer(conn))
        conn.flush()
        try:
            async for data in ws:
                if conn.closing:
                    break
                session.receive_data(data, time.time_ns())  # type: ignore[arg-type]
                conn.flush()
                await self._on_events(conn)
                if session.closed:
                    break
        except websockets.ConnectionClosed:
            pass
        except Exception:
            self.logger.exception("conn %s: handler error", conn.id)
            session.logout(time.time_ns(), "internal error")
            conn.flush()
        finally:
            session.receive_eof()
            conn.flush()
            await self._on_events(conn)
            conn.closing = True
            conn.wake.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, 5)
            conn.closed = True
            self._conns.discard(conn)
            with contextlib.suppress(Exception):
                await ws.close()

    async def _on_events(self, conn: _Conn) -> None:
        for ev in conn.session.events_received():
            if isinstance(ev, ApplicationRequest):
                assert conn.account is not None
                self.stats["requests"] += 1
                await self._put(("req", conn, ev))
            elif isinstance(ev, LogonAccepted):
                conn.account = int(ev.account)
                self._by_account.setdefault(conn.account, set()).add(conn)
            elif isinstance(ev, SessionClosed):
                self._detach(conn, ev.cancel_orders)

    def _detach(self, conn: _Conn, cancel: bool) -> None:
        if conn.account is None:
            return
        peers = self._by_account.get(conn.account)
        if peers is not None:
            peers.discard(conn)
        for subs in self._md_subs.values():
            subs.discard(conn)
        if cancel:
            self.stats["cancel_on_disconnect"] += 1
            assert self._queue is not None
            try:
                self._queue.put_nowait(("cod", conn.account))
            except asyncio.QueueFull:  # never drop a cancel: hand it to a task
                asyncio.get_running_loop().create_task(self._put(("cod", conn.account)))

    async def _writer(self, conn: _Conn) -> None:
        ws = conn.ws
        out = conn.out
        try:
            while True:
                while out:
                    if len(out) == 1:
                        await ws.send(out.popleft())
                    else:
                        n = min(len(out), _WRITE_BATCH)
                        await _send_texts(ws, [out.popleft() for _ in range(n)])
                if conn.closing:
                    break
                conn.wake.clear()
                await conn.wake.wait()
        except websockets.ConnectionClosed:
            pass
        finally:
            conn.out.clear()
            if conn.closing:
                with contextlib.suppress(Exception):
                    await ws.close()

    def _slow_consumer(self, conn: _Conn) -> None:
        self.stats["slow_consumers"] += 1
        self.logger.warning("conn %s: slow consumer, disconnecting", conn.id)
        conn.out.clear()
        conn.closing = True
        conn.session.logout(time.time_ns(), f"slow consumer: over {self.max_send_queue} frames")
        frames = conn.session.data_to_send()
        conn.session.close("slow consumer")
        conn.out.extend(frames)
        for ev in conn.session.events_received():
            if isinstance(ev, SessionClosed):
                self._detach(conn, ev.cancel_orders)
        conn.wake.set()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            now = time.time_ns()
            for conn in list(self._conns):
                if conn.closed:
                    continue
                conn.session.tick(now)
                conn.flush()
                await self._on_events(conn)
                if conn.session.closed and not conn.closing:
                    conn.closing = True
                    conn.wake.set()
            mono = time.monotonic()
            for account, (deadline, req) in list(self._dms.items()):
                if mono >= deadline:
                    del self._dms[account]
                    await self._put(("dms", account, req))
            height = self.node.height
            if self.liquidate_every and mono >= self._next_scan and height > self._scanned_height:
                self._next_scan, self._scanned_height = mono + self.liquidate_every, height
                await self._put(("liquidate",))
            await self._put(("tick",))

    # ------------------------------------------------------------------ engine task

    async def _engine_task(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            items = [await queue.get()]
            while len(items) < self.max_batch and not queue.empty():
                items.append(queue.get_nowait())
            try:
                await self._process(items)
            except Exception:
                self.logger.exception("engine task: batch failed")
                for item in items:
                    fut = item[-1]
                    if isinstance(fut, asyncio.Future) and not fut.done():
                        fut.set_exception(RuntimeError("engine task failed"))

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.offload:
            return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
        return fn(*args)

    async def _process(self, items: list[tuple[Any, ...]]) -> None:
        ops: list[tuple[Pending | None, Any]] = []  # (pending, reply-or-callback)
        seals: list[asyncio.Future[Block | None]] = []
        for item in items:
            kind = item[0]
            if kind == "req":
                conn, req = item[1], item[2]
                await self._prepare_request(ops, conn, req)
            elif kind == "cod":
                p = self.router.prepare_mass_cancel(item[1], None, text="cancel on disconnect")
                await self._add_op(ops, p)
            elif kind == "dms":
                account, req = item[1], item[2]
                p = self.router.prepare_mass_cancel(account, req, text="dead man's switch")
                if isinstance(p, Pending):
                    p.text = "dead man's switch fired"
                await self._add_op(ops, p)
            elif kind == "admin":
                await self._flush_ops(ops)
                try:
                    results = await self._submit(list(item[1]), [None] * len(item[1]))
                    item[2].set_result(results)
                except Exception as exc:
                    item[2].set_exception(exc)
                self._delivered(self.node.height)
            elif kind == "seal":
                seals.append(item[1])
            elif kind == "call":
                await self._flush_ops(ops)
                try:
                    item[2].set_result(item[1](self.node))
                except Exception as exc:
                    item[2].set_exception(exc)
            elif kind == "liquidate":
                await self._flush_ops(ops)  # the scan reads the state after them
                ops += self._liquidations()
            elif kind == "tick":
                pass
        await self._flush_ops(ops)
        now = time.time_ns()
        due = now - self._last_activity_ns >= self.seal_interval_ns
        if seals or (due and self.node.builder.pending):
            block = await self._run(self.node.seal)  # a barrier: durable when it returns
            self._delivered(self.node.height)
            for fut in seals:
                if not fut.done():
                    fut.set_result(block)
            self._last_activity_ns = now

    def _live_cl_ord_id(self, account: int, cl: int) -> bool:
        """The router's pre-sequencing check (``OrderRouter(live_cl_ord_id=)``), on the engine
        task; the node's engine, read when asked (a recovered node has a new one)."""
        return bool(self.node.engine.has_live_cl_ord_id(account, cl))  # type: ignore[attr-defined]

    def _liquidations(self) -> list[tuple[Pending | None, Any]]:
        """The keeper's scan (engine task): for every account under maintenance margin at the
        current marks, its resting orders cancelled and its positions closed by liquidation
        orders (``venue.liquidation.liquidation_orders``), which its session sees reported."""
        engine = self.node.engine
        ops: list[tuple[Pending | None, Any]] = []
        for account in engine.under_maintenance():  # type: ignore[attr-defined]
            for cmd in liquidation_orders(engine, account):
                if isinstance(cmd, MassCancel):
                    p = self.router.prepare_mass_cancel(
                        account, None, market=cmd.market, text="liquidation"
                    )
                else:
                    assert isinstance(cmd, PlaceOrder)
                    p = self.router.prepare_liquidation(cmd)
                    self.stats["liquidations"] += 1
                ops.append((p, None))  # type: ignore[arg-type]
        return ops

    async def _prepare_request(
        self, ops: list[tuple[Pending | None, Any]], conn: _Conn, req: ApplicationRequest
    ) -> None:
        account = conn.account
        assert account is not None
        if isinstance(req, MarketDataSubscription):
            ops.append((None, ("md", conn, req)))
            return
        if isinstance(req, MassCancelRequest) and req.message.has(Tag.DeadManTimeout):
            ops.append((None, ("dms-arm", conn, req)))
            return
        if not isinstance(req, _ORDER_REQUESTS):  # pragma: no cover - the session emits no other
            return
        while True:
            p = self.router.prepare(account, req)
            if isinstance(p, Flush):
                await self._flush_ops(ops)
                continue
            await self._add_op(ops, p)
            return

    async def _add_op(self, ops: list[tuple[Pending | None, Any]], p: Pending | Outbox) -> None:
        """Queue ``p``; on a venue of several markets a mass cancel of every market goes as
        one per market where the account rests orders (``OrderRouter.split_mass_cancel``:
        why), read from the engine once the commands queued before it have run."""
        if not isinstance(p, Pending):
            ops.append((None, p))
            return
        cmd = p.command
        if not (self._split_mass and isinstance(cmd, MassCancel) and cmd.market == ALL_MARKETS):
            ops.append((p, None))
            return
        await self._flush_ops(ops)
        resting = self.node.engine.open_orders  # type: ignore[attr-defined]
        rest = [m for m in self._market_ids if resting(p.account, m)]
        split = self.router.split_mass_cancel(p, rest)
        if split and isinstance(split[0], Pending):
            ops.extend((q, None) for q in split)  # type: ignore[misc]
        elif split:
            ops.append((None, split))

    async def _flush_ops(self, ops: list[tuple[Pending | None, Any]]) -> None:
        """Submit the pending commands of ``ops`` (one fsync), then send every reply."""
        if not ops:
            return
        batch = list(ops)
        ops.clear()
        pendings = [p for p, _ in batch if p is not None]
        outputs: dict[int, Outbox] = {}
        if pendings:
            results = await self._submit([p.command for p in pendings], pendings)
            for p, out in zip(pendings, results, strict=True):
                outputs[id(p)] = out  # type: ignore[assignment]
        for p, extra in batch:
            if p is not None:
                self._deliver(outputs.get(id(p), []))
            elif isinstance(extra, list):
                self._deliver(extra)
            elif isinstance(extra, tuple) and extra[0] == "md":
                self._market_data(extra[1], extra[2])
            elif isinstance(extra, tuple) and extra[0] == "dms-arm":
                self._arm_dms(extra[1], extra[2])
        if pendings:
            self._delivered(self.node.height)

    async def _submit(
        self, cmds: list[Command], pendings: Sequence[Pending | None]
    ) -> list[Any]:
        """One group commit; returns each command's Outbox (or events for admin)."""
        first_seq = self.node.next_seq
        results: list[list[Event]]
        if len(cmds) <= self.inline_batch and self._commit_ns <= self.inline_max_commit_ns:
            results = self.node.submit(cmds)  # cheaper than the thread hop (class doc)
        else:
            results = await self._run(self.node.submit, cmds)
        self._commit_ns += (self.node.last_commit_ns - self._commit_ns) >> 3
        self.stats["batches"] += 1
        self.stats["commands"] += len(cmds)
        self._last_activity_ns = time.time_ns()
        cuts = self.node.last_cuts
        open_height = self.node.height + 1
        out: list[Any] = []
        touched: set[int] = set()
        trades: list[Trade] = []
        for i, (p, events) in enumerate(zip(pendings, results, strict=True)):
            seq = first_seq + i
            height = open_height
            for cut_height, cut_first, cut_count in cuts:
                if cut_first <= seq < cut_first + cut_count:
                    height = cut_height
                    break
            for ev in events:
                if isinstance(ev, Trade):
                    trades.append(ev)
                    touched.add(ev.market)
                elif isinstance(ev, _BOOK_EVENTS):
                    touched.add(ev.market)
                elif isinstance(ev, AccountAdded):
                    view = self.node.engine.account_view(ev.account)  # type: ignore[attr-defined]
                    self._keys[ev.account] = (int(view.pubkey_x), int(view.pubkey_y))
            out.append(self.router.apply(p, seq, events, height) if p is not None else events)
        if touched or trades:
            # Only markets someone subscribes to: rebuilding a book's levels costs O(book)
            # per batch. The others are brought up to date when a subscription arrives.
            live = {m for m in touched if self._md_subs.get(m)}
            self._md_stale |= touched - live
            if live:
                live_trades = [t for t in trades if t.market in live]
                for mid, msg in self.feed.update(self.node.engine, live, live_trades):
                    self._publish_md(mid, msg)
        return out

    def _block_durable(self, block: Block) -> None:
        """Loop thread: a block is durable; announce it unless its reports are still due."""
        self._sealed.append(block)
        self._after_blocks()

    def _delivered(self, height: int) -> None:
        """The reports of every command in blocks up to ``height`` are out: release U1s."""
        self._delivered_height = max(self._delivered_height, height)
        self._after_blocks()

    def _after_blocks(self) -> None:
        """U1 for every durable block whose reports were delivered (all logged-on sessions)."""
        while self._sealed and self._sealed[0].header.height <= self._delivered_height:
            block = self._sealed.popleft()
            h = block.header
            self.router.advance("in_block", h.height)
            hash_ = self.node.block_hash(h)  # cached by the committer: no hashing here
            f: list[tuple[int, str]] = [
                (Tag.BlockHeight, str(h.height)),
                (Tag.BlockHash, f"0x{hash_:064x}"),
                (Tag.PrevBlockHash, f"0x{int(h.parent_hash):064x}"),
                (Tag.StateRoot, f"0x{int(h.post_state_root):064x}"),
                (Tag.BlockTxCount, str(h.command_count)),
                (Tag.FinalityState, "in_block"),
                (Tag.NoRelatedSym, str(len(h.markets))),
            ]
            for s in h.markets:
                self.feed.settle(s.market, s.price)
                sym = self.router.symbol(s.market)
                f += [(Tag.Symbol, sym), (Tag.SettlementPrice, str(s.price))]
            self._broadcast(FixMessage("U1", _plain(f)), self.trusted)

    def _deliver(self, outbox: Outbox) -> None:
        trusted = self.trusted
        for account, msg in outbox:
            for conn in list(self._by_account.get(account, ())):  # a send may detach one
                conn.send_app(msg, trusted)

    def _publish_md(self, market: int, msg: FixMessage) -> None:
        for conn in list(self._md_subs.get(market, ())):
            req_id = conn.md.get(market)
            md = FixMessage("X", ((_MD_REQ_ID, req_id or "-"), *msg.fields))
            conn.send_app(md, self.trusted)

    def _market_data(self, conn: _Conn, req: MarketDataSubscription) -> None:
        markets = []
        for sym in req.symbols:
            mid = self.feed.by_symbol.get(sym)
            if mid is None:
                conn.send_app(_business_reject(req, 2, f"unknown Symbol {sym[:40]!r}"))
                return
            markets.append(mid)
        for mid in markets:
            if mid in self._md_stale:  # nobody was listening: no X goes out for the catch-up
                self._md_stale.discard(mid)
                self.feed.update(self.node.engine, [mid], [])
            if req.subscription_type == "2":
                self._md_subs.get(mid, set()).discard(conn)
                conn.md.pop(mid, None)
                continue
            if req.subscription_type == "1":
                self._md_subs.setdefault(mid, set()).add(conn)
                conn.md[mid] = req.md_req_id
            conn.send_app(self.feed.snapshot(mid, req.md_req_id, self.node.height))

    def _arm_dms(self, conn: _Conn, req: MassCancelRequest) -> None:
        assert conn.account is not None
        text = req.message.get(Tag.DeadManTimeout) or "0"
        ms = int(text)
        resp = req.mass_cancel_request_type
        if req.side is not None or (
            resp == "1" and (req.symbol or "") not in self.feed.by_symbol
        ):
            conn.send_app(self.router._mass_report(req, "0", "unknown Symbol or Side filter"))
            return
        if ms <= 0:
            self._dms.pop(conn.account, None)
            conn.send_app(self.router._mass_report(req, resp, "dead man's switch disarmed"))
            return
        self._dms[conn.account] = (time.monotonic() + ms / 1000, req)
        conn.send_app(self.router._mass_report(req, resp, f"dead man's switch armed: {ms} ms"))


#: frames per socket write when a client's queue holds several (``_send_texts``); bounds
#: what one write can push past the transport's high-water mark before ``drain`` waits
_WRITE_BATCH = 256


async def _send_texts(ws: ServerConnection, frames: list[str]) -> None:
    """``for f in frames: await ws.send(f)``, the same WebSocket frames, in one socket write.

    Why: one write per frame (a syscall that also wakes the reader on loopback) was the
    largest item of the gateway's CPU per order after the FIX work. This is what
    ``ws.send`` does for one frame (websockets 17.4, pinned: ``send_context`` checks the
    state, raises ``ConnectionClosed`` and drains on exit), except that the serialised frames
    are written at once instead of by ``send_data`` one by one.
    """
    if ws.send_in_progress is not None:  # a fragmented send owns the socket: take turns
        for frame in frames:
            await ws.send(frame)
        return
    async with ws.send_context():
        protocol = ws.protocol
        for frame in frames:
            protocol.send_text(frame.encode())
        chunks = protocol.data_to_send()
        if all(chunks):
            ws.transport.write(b"".join(chunks))
        else:  # pragma: no cover - an end-of-stream marker (b"") is not expected while OPEN
            for chunk in chunks:  # what send_data does with it
                if chunk:
                    ws.transport.write(chunk)
                elif ws.transport.can_write_eof():
                    ws.transport.write_eof()
                else:
                    ws.transport.close()


def _plain(fields: list[tuple[int, str]]) -> tuple[tuple[int, str], ...]:
    """``fields`` with plain-int tags: messages sent are kept in the resend store, and a
    ``Tag`` member keeps its pair tracked by the garbage collector (``FixMessage`` doc)."""
    return tuple((int(t), v) for t, v in fields)


def _business_reject(req: ApplicationRequest, reason: int, text: str) -> FixMessage:
    f: list[tuple[int, str]] = [(Tag.RefSeqNum, str(req.seq_num))]
    ref = getattr(req, "md_req_id", None) or getattr(req, "cl_ord_id", None)
    if ref:
        f.append((Tag.BusinessRejectRefID, ref))
    f += [
        (Tag.RefMsgType, req.message.msg_type),
        (Tag.BusinessRejectReason, str(reason)),
        (Tag.Text, text),
    ]
    return FixMessage("j", _plain(f))

