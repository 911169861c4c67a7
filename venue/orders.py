"""FIX orders ↔ engine commands and events: the order half of the gateway, sans-I/O.

``OrderRouter`` is owned by the gateway's engine task (the single writer) and never touches
a socket: ``prepare`` turns a FIX request into an engine command (or an immediate reply),
``apply`` turns the engine's events for that command into FIX messages, each addressed to
an account. Because it is pure, its tests feed requests and events and read messages.

Decisions the spec left open (documented here because traders see them on the wire):

* **Units.** FIX ``Price`` is an integer number of the market's price units and
  ``OrderQty`` an integer number of lots (``matching.types.MarketConfig``); a fractional
  value is rejected (OrdRejReason 99), never rounded.
* **ClOrdID → engine ``cl_ord_id``.** The engine's client id is a 64-bit integer, scoped
  per account. We map the FIX string deterministically: the first 8 bytes of
  ``BLAKE2b(ClOrdID UTF-8, person=b"PB-ClOrdID")`` read big-endian, with 0 (the engine's
  "none") mapped to 1 (``cl_ord_int``). Anyone holding the blocks can check which command
  carried their ClOrdID. A D or G whose engine id a live order of the account already
  carries (the ClOrdID of an order placed before a gateway restart, or a 64-bit collision)
  is refused here, OrdRejReason / CxlRejReason 6, nothing sequenced and the ClOrdID not
  remembered (``live_cl_ord_id``): on a venue of rules 2 the engine no longer refuses it
  (``venue.node.Genesis.rules``), and on rules 1 its rejection would only cost a block
  entry. Not on a signed venue: there the engine id is the order's Nonce (below), because a
  hash is not monotone, and a nonce above the account's mark repeats no live one.
* **Scope of ClOrdID state.** Idempotency and the ClOrdID → order map are kept per account
  (the FIX session identity; it outlives one WebSocket connection), for the life of the
  gateway process. A repeated ClOrdID gets the first report sent for it again, with
  PossResend(97)=Y, and no second command.
* **Cancel/replace targets.** OrigClOrdID may be any ClOrdID in the order's chain (the
  original or a later replace). When it is unknown and OrderID(37) is given, the command is
  sent for that order id and the engine decides (unknown order, not the owner...).
  Unknown OrigClOrdID without OrderID gets OrderCancelReject (9) CxlRejReason 1.
* **Replace quantity.** FIX OrderQty on a G is the new *total* quantity; the engine's
  ``ReplaceOrder.qty`` is the new *remaining* quantity, so we send ``OrderQty − CumQty``;
  zero or less is refused (9, CxlRejReason 99). Only limit orders can be replaced; the
  TimeInForce of a resting order cannot change (a G's TimeInForce is ignored).
* **Order types.** TimeInForce 0 (Day) and 1 (GTC) rest as GTC (the venue has no trading
  day); 3 IOC, 4 FOK. A market order (OrdType 1) carries no Price in FIX; the engine needs
  a protection limit, so it gets the market's max (buy) or min (sell) price and is IOC.
* **Reports.** ExecID is ``<command seq>.<n>``. Every new report carries
  FinalityState=sequenced and BlockHeight = the block holding the command (the open block
  is always sealed as ``height + 1``). A resent report carries the finality known now.
* **Open-order cap.** ``max_open_orders`` per account is a gateway-side limit (OrdRejReason
  3, nothing sent to the engine); orders placed by other means do not count.
* **Signed venues** (``Genesis.signed``; the router gets the account keys). A D or G must
  carry OrderSignature(5017): hex of the 64-byte EdDSA-Poseidon signature, by the account's
  registered key, of ``proofs.signing.intent_hash`` of exactly the command this module builds
  (``place_command`` / ``replace_command``: a client signs by building the same command).
  Missing, malformed or not matching: ExecutionReport rejected (D, OrdRejReason 99) or
  OrderCancelReject (G, CxlRejReason 99) with Text saying which, nothing is sent to the
  engine and the ClOrdID is not remembered, so the trader may send it again, signed. A G's
  command carries ``OrderQty − CumQty`` as the gateway knows CumQty: a fill the trader had
  not seen when signing makes the signature fail ("re-sign"). The check runs on the engine
  task: about 0.1 ms of native verification plus 0.2 ms to decode the signature in Python
  (``bench/RESULTS.md``, "EdDSA-Poseidon verification"; 2 ms before the native verifier).
* **Nonces** (signed venues). A signature cannot cover the sequencer's seq, so the same
  signed D could be sequenced twice (re-sent under a new ClOrdID, or by the operator). The
  engine refuses that (``signed_nonces``): each account's signed commands carry rising
  nonces as their engine ``cl_ord_id``. So a D or G on a signed venue must carry Nonce(5018),
  a decimal integer in [1, 2**64) (``venue.client`` uses microseconds since the epoch, or
  its last nonce + 1), which becomes the command's ``cl_ord_id`` and is covered by the
  signature. Missing or not such a number: refused like a bad signature (OrdRejReason 99 /
  CxlRejReason 99, Text saying why, nothing sequenced, ClOrdID not remembered). Not above
  the account's last accepted nonce: the engine rejects it (STALE_NONCE) and the report's
  Text says it is a replay or out of order. The ClOrdID string stays the FIX handle of the
  order; only the engine id changes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final, TypeVar

import msgspec

from matching.types import (
    ALL_MARKETS,
    CancelOrder,
    CancelReason,
    Command,
    Event,
    MarketConfig,
    MassCancel,
    MassCancelled,
    OrderAccepted,
    OrderCancelled,
    OrderReduced,
    OrderReplaced,
    OrderType,
    PlaceOrder,
    Rejected,
    ReplaceOrder,
    ResultCode,
    Side,
    TimeInForce,
    Trade,
)
from proofs.signing import SignatureEncodingError, command_signature_ok

from .fix import (
    ApplicationRequest,
    CancelOrderRequest,
    FixMessage,
    MassCancelRequest,
    NewOrderRequest,
    ReplaceOrderRequest,
    Tag,
)

__all__ = [
    "FINALITY_STATES",
    "Flush",
    "Order",
    "OrderRouter",
    "OrderSignatureError",
    "Outbox",
    "Pending",
    "check_order_signature",
    "cl_ord_int",
    "parse_nonce",
    "place_command",
    "rej_reason",
    "replace_command",
]

#: Finality ladder, weakest first (DESIGN §8). ``proposed`` is optimistic mode's: the block's
#: price is on chain, pending its challenge window; ``on_chain`` is final on chain in either
#: mode (its proof verified, or its window passed). A venue in validity mode skips it.
FINALITY_STATES = ("sequenced", "in_block", "proposed", "proven", "on_chain")

#: Messages to send: (account, message) in order.
Outbox = list[tuple[int, FixMessage]]

_MAX_U64 = (1 << 64) - 1

# ResultCode -> (OrdRejReason 103 / CxlRejReason 102). FIX 4.4 values: 1 unknown symbol,
# 3 order exceeds limit, 5 unknown order, 6 duplicate order, 11 unsupported order
# characteristic, 13 incorrect quantity, 15 unknown account, 99 other.
_ORD_REJ: dict[int, int] = {
    ResultCode.UNKNOWN_MARKET: 1,
    ResultCode.INVALID_QUANTITY: 13,
    ResultCode.QUANTITY_OFF_LOT: 13,
    ResultCode.INVALID_ORDER_FLAGS: 11,
    ResultCode.UNKNOWN_ORDER: 5,
    ResultCode.DUPLICATE_CLIENT_ORDER_ID: 6,
    ResultCode.UNKNOWN_ACCOUNT: 15,
    ResultCode.INSUFFICIENT_MARGIN: 3,
    ResultCode.INSUFFICIENT_COLLATERAL: 3,
}
_CXL_REJ: dict[int, int] = {ResultCode.UNKNOWN_ORDER: 1, ResultCode.DUPLICATE_CLIENT_ORDER_ID: 6}
#: Why, for result codes whose name alone does not tell a trader what to do.
_REJ_WHY: dict[int, str] = {
    ResultCode.STALE_NONCE: "Nonce(5018) is not above the last nonce this account used: a "
    "replayed or out-of-order signed order (sign it again with a larger Nonce)",
    ResultCode.TOO_MANY_ORDERS: "the account already rests the venue's maximum of open orders",
}


def rej_reason(code: int) -> tuple[int, str]:
    """(OrdRejReason, Text) for an engine result code; Text names the code, and says why
    where the name is not enough."""
    try:
        name = ResultCode(code).name
    except ValueError:
        name = "UNKNOWN_RESULT"
    why = _REJ_WHY.get(code)
    return _ORD_REJ.get(code, 99), f"{name} ({code})" + (f": {why}" if why else "")


def cl_ord_int(cl_ord_id: str) -> int:
    """Engine ``cl_ord_id`` of a FIX ClOrdID (see module docstring); in [1, 2**64)."""
    digest = hashlib.blake2b(cl_ord_id.encode(), digest_size=8, person=b"PB-ClOrdID").digest()
    return int.from_bytes(digest, "big") or 1


def place_command(
    account: int, market: MarketConfig, cl_ord_id: str, side: str, ord_type: str, tif: str,
    price: int | None, qty: int, *, post_only: bool = False, nonce: int | None = None,
) -> PlaceOrder:  # fmt: skip
    """The engine command of a NewOrderSingle with these (validated) FIX values, unsigned and
    unsequenced: what the gateway sequences and what a client signs (module docstring).

    ``side`` "1" buy / "2" sell; ``ord_type`` "1" market (``price`` ignored: the engine gets
    the market's max (buy) or min (sell) price as protection, IOC unless ``tif`` is FOK) or
    "2" limit; ``tif`` 3 IOC, 4 FOK, anything else GTC. ``nonce`` (a signed venue's Nonce)
    is the engine ``cl_ord_id``; without it the ClOrdID's hash is (``cl_ord_int``)."""
    buy = side == "1"
    if ord_type == "1":
        engine_tif = TimeInForce.FOK if tif == "4" else TimeInForce.IOC
        engine_price = market.max_price if buy else market.min_price
    else:
        if price is None:
            raise ValueError("a limit order needs a price")
        engine_tif = {"3": TimeInForce.IOC, "4": TimeInForce.FOK}.get(tif, TimeInForce.GTC)
        engine_price = price
    cl = cl_ord_int(cl_ord_id) if nonce is None else nonce
    return PlaceOrder(
        0, 0, account, market.market_id, cl, Side.BUY if buy else Side.SELL,
        OrderType.MARKET if ord_type == "1" else OrderType.LIMIT, engine_tif, engine_price, qty,
        post_only=post_only,
    )  # fmt: skip


def replace_command(
    account: int, market_id: int, order_id: int, cl_ord_id: str, price: int, order_qty: int,
    cum_qty: int, *, nonce: int | None = None,
) -> ReplaceOrder:  # fmt: skip
    """The engine command of an OrderCancelReplaceRequest (limit) for order ``order_id``:
    FIX ``order_qty`` is the new total, the engine's ``qty`` the new remaining, so it carries
    ``order_qty − cum_qty``. Unsigned and unsequenced, like ``place_command``, whose
    ``nonce`` it takes too."""
    cl = cl_ord_int(cl_ord_id) if nonce is None else nonce
    return ReplaceOrder(0, 0, account, market_id, order_id, price, order_qty - cum_qty, cl)


class OrderSignatureError(ValueError):
    """An order's OrderSignature(5017) cannot authorise its command; ``problem`` is
    ``"missing"``, ``"malformed"``, ``"mismatch"`` (well formed, wrong key or wrong command),
    ``"no key"`` (the account has no registered key) or ``"nonce"`` (its Nonce(5018) is
    missing or not a number the command can carry: ``parse_nonce``)."""

    def __init__(self, problem: str, text: str) -> None:
        super().__init__(text)
        self.problem = problem


def parse_nonce(text: str | None) -> int:
    """Nonce(5018) as sent -> the engine ``cl_ord_id`` (module docstring, "Nonces").

    Raises OrderSignatureError (problem ``"nonce"``, the text is for the trader) unless it is
    a plain decimal integer in [1, 2**64)."""
    tag = "Nonce(5018)"
    if not text:
        raise OrderSignatureError("nonce", f"{tag} missing: this venue requires signed orders "
                                  "to carry a nonce above the account's last one")  # fmt: skip
    # the length first: int() of thousands of digits is slow, or refused outright
    digits = text.isascii() and text.isdigit() and len(text) <= 20
    if not digits or not 0 < int(text) <= _MAX_U64:
        raise OrderSignatureError("nonce", f"{tag} must be a whole number in [1, 2**64), "
                                  f"got {text[:24]!r}")  # fmt: skip
    return int(text)


_Signable = TypeVar("_Signable", PlaceOrder, ReplaceOrder)


def check_order_signature(
    cmd: _Signable, signature: str | None, key: tuple[int, int] | None
) -> _Signable:
    """``cmd`` with ``sig`` set from ``signature`` (OrderSignature hex) when it signs
    ``cmd``'s intent under ``key``; OrderSignatureError (its text is for the trader) if not."""
    tag = "OrderSignature(5017)"
    if not signature:
        raise OrderSignatureError("missing", f"{tag} missing: this venue requires orders "
                                  "signed by the account's key")  # fmt: skip
    if key is None:
        raise OrderSignatureError("no key", f"account {cmd.account} has no registered key")
    try:
        sig = bytes.fromhex(signature)
    except ValueError:
        sig = b""
    if len(sig) != 64:
        raise OrderSignatureError("malformed", f"{tag} malformed: expected 128 hex digits "
                                  "(a 64-byte packed signature)")  # fmt: skip
    signed = msgspec.structs.replace(cmd, sig=sig)
    try:
        ok = command_signature_ok(signed, *key)
    except SignatureEncodingError as exc:  # R8 off the curve, S >= l
        raise OrderSignatureError("malformed", f"{tag} malformed: {exc}") from None
    if not ok:
        what = "order" if isinstance(cmd, PlaceOrder) else "replace"
        raise OrderSignatureError(
            "mismatch", f"{tag} does not match this {what} under account {cmd.account}'s key"
        )
    return signed


def _whole(text: str | None) -> int | None:
    """FIX decimal string -> int if it is a positive whole number, else None."""
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.to_integral_value() or value <= 0:
        return None
    return int(value) if value <= _MAX_U64 else None


def _px(value: Decimal | int) -> str:
    if isinstance(value, int):
        return str(value)
    text = format(value.quantize(Decimal("0.00000001")).normalize(), "f")
    return text


class Order(msgspec.Struct, eq=False, gc=False):
    """The FIX view of one order, mutated only by ``OrderRouter``.

    A mutable struct compared by identity, like the ``dataclass(eq=False)`` it was. The
    router keeps every order for the life of the process, and as tracked objects their
    fields made most of the collector's full passes, a large share of the gateway's CPU per
    order under load; ``gc=False`` is safe because an order holds only numbers and strings,
    so it cannot be part of a reference cycle.
    """

    account: int
    cl_ord_id: str
    symbol: str
    market: int
    side: str
    ord_type: str
    tif: str
    price: int | None
    order_qty: int
    order_id: int | None = None
    orig_cl_ord_id: str | None = None
    cum_qty: int = 0
    leaves: int = 0
    notional: int = 0
    status: str = "A"  # pending new until the engine answers
    #: Block that holds the command that created the order.
    block_height: int = 0

    @property
    def open(self) -> bool:
        return self.status in ("A", "0", "1")


class _ClOrd(msgspec.Struct, gc=False):
    """What one ClOrdID of an account named: an order (D/G/F) and the first report sent.

    One per ClOrdID for the life of the process: ``gc=False`` keeps these out of the
    collector's full passes. Safe because it cannot be in a cycle: an ``Order`` holds only
    numbers and strings, a ``FixMessage`` only strings.
    """

    order: Order | None
    first_report: FixMessage | None = None


@dataclass(eq=False)
class Pending:
    """One request on its way to the engine: the command plus what ``apply`` needs."""

    kind: str  # "place" | "cancel" | "replace" | "mass"
    account: int
    command: Command
    order: Order | None = None
    request: ApplicationRequest | None = None
    entry: _ClOrd | None = None
    new_qty: int = 0
    text: str | None = None


class Flush:
    """``prepare`` needs the outcome of a command still in the current batch: submit the
    batch first, then call ``prepare`` again (so no batch holds a command whose order id
    depends on an earlier command of the same batch)."""


_FLUSH = Flush()


@dataclass
class _Account:
    cl_ords: dict[str, _ClOrd] = field(default_factory=dict)
    open_orders: int = 0


_LIVE_CL_ORD = "duplicate ClOrdID: a live order of this account carries it"


class OrderRouter:
    """ClOrdID ↔ order state and ExecutionReport building for every account.

    :param markets: the venue's markets (Symbol ↔ market id, price limits).
    :param max_open_orders: open orders an account may have through the gateway
        (default 1000); more are rejected with OrdRejReason 3.
    :param signing_keys: account → registered public key ``(x, y)`` on a signed venue (read
        at each order, so the owner may add accounts later); D and G must then carry a valid
        OrderSignature (module docstring). None: orders are not signed.
    :param live_cl_ord_id: ``(account, engine cl_ord_id) -> bool``, True when a live order of
        the account carries that id (the engine's ``has_live_cl_ord_id``, read on the engine
        task): such a D or G is refused before it is sequenced (module docstring). None: no
        such check (a signed venue's ids are nonces).
    """

    def __init__(
        self, markets: Sequence[MarketConfig], *, max_open_orders: int = 1000,
        signing_keys: Mapping[int, tuple[int, int]] | None = None,
        live_cl_ord_id: Callable[[int, int], bool] | None = None,
    ) -> None:  # fmt: skip
        self.markets = {m.symbol: m for m in markets}
        self.signing_keys = signing_keys
        self.live_cl_ord_id = live_cl_ord_id
        self.symbols = {m.market_id: m.symbol for m in markets}
        self.max_open_orders = max_open_orders
        self.orders: dict[int, Order] = {}
        self.accounts: dict[int, _Account] = {}
        #: highest block known sealed / proven / published on chain
        self.heights = dict.fromkeys(FINALITY_STATES[1:], 0)
        self._liquidations = 0  # numbers the venue's liquidation orders (ClOrdID LIQ-n)

    # ------------------------------------------------------------------ finality

    def finality(self, height: int) -> str:
        """Finality state of something in block ``height`` given what is known now."""
        if height <= 0:
            return "sequenced"
        for state in reversed(FINALITY_STATES[1:]):
            if height <= self.heights[state]:
                return state
        return "sequenced"

    def advance(self, state: str, height: int) -> None:
        """Record that blocks up to ``height`` reached ``state`` (and the weaker ones)."""
        for s in FINALITY_STATES[1 : FINALITY_STATES.index(state) + 1]:
            self.heights[s] = max(self.heights[s], height)

    # ------------------------------------------------------------------ requests

    def _acct(self, account: int) -> _Account:
        acct = self.accounts.get(account)
        if acct is None:
            acct = self.accounts[account] = _Account()
        return acct

    def prepare(self, account: int, req: ApplicationRequest) -> Pending | Outbox | Flush:
        """Command for ``req``, an immediate reply (Outbox), or ``Flush`` (see its doc)."""
        acct = self._acct(account)
        cl = getattr(req, "cl_ord_id", None)
        if cl is not None and not isinstance(req, MassCancelRequest):
            seen = acct.cl_ords.get(cl)
            if seen is not None:
                if seen.first_report is None:
                    return _FLUSH
                again = seen.first_report.with_header({Tag.PossResend: "Y"})
                if seen.order is not None and seen.order.block_height:
                    again = _set(again, Tag.FinalityState, self.finality(seen.order.block_height))
                return [(account, again)]
        if isinstance(req, NewOrderRequest):
            return self._prepare_new(account, acct, req)
        if isinstance(req, CancelOrderRequest | ReplaceOrderRequest):
            return self._prepare_cancel_replace(account, acct, req)
        if isinstance(req, MassCancelRequest):
            return self.prepare_mass_cancel(account, req)
        raise TypeError(f"not an order request: {type(req).__name__}")

    def _prepare_new(self, account: int, acct: _Account, req: NewOrderRequest) -> Pending | Outbox:
        m = self.markets.get(req.symbol)
        order = Order(
            account, req.cl_ord_id, req.symbol, m.market_id if m else 0, req.side, req.ord_type,
            req.time_in_force, None, 0,
        )  # fmt: skip
        entry = _ClOrd(order)
        qty = _whole(req.order_qty)
        price = _whole(req.price) if req.price is not None else None
        problem: tuple[int, str] | None = None
        if m is None:
            problem = (1, f"unknown Symbol {req.symbol[:40]!r}")
        elif qty is None:
            problem = (13, "OrderQty must be a whole number of lots")
        elif req.ord_type == "2" and price is None:
            problem = (99, "Price must be a whole number of price units")
        elif acct.open_orders >= self.max_open_orders:
            problem = (3, f"open order limit ({self.max_open_orders}) reached")
        order.order_qty = qty or 0
        order.price = price
        if problem is not None or m is None or qty is None:
            order.status = "8"
            assert problem is not None
            report = self._report(order, "8", reason=problem[0], text=problem[1])
            entry.first_report = report
            acct.cl_ords[req.cl_ord_id] = entry
            return [(account, report)]
        if self.signing_keys is not None:
            try:
                # the nonce first: it is part of the command the signature covers
                cmd = place_command(
                    account, m, req.cl_ord_id, req.side, req.ord_type, req.time_in_force,
                    price, qty, post_only=req.post_only, nonce=parse_nonce(req.nonce),
                )  # fmt: skip
                cmd = check_order_signature(cmd, req.signature, self.signing_keys.get(account))
            except OrderSignatureError as exc:
                # Not remembered under the ClOrdID: the trader may send it again, signed.
                order.status = "8"
                return [(account, self._report(order, "8", reason=99, text=str(exc)))]
        else:
            cmd = place_command(
                account, m, req.cl_ord_id, req.side, req.ord_type, req.time_in_force, price,
                qty, post_only=req.post_only,
            )  # fmt: skip
            if self._repeats_live(account, cmd.cl_ord_id):
                order.status = "8"  # not remembered: the ClOrdID is the live order's
                return [(account, self._report(order, "8", reason=6, text=_LIVE_CL_ORD))]
        acct.cl_ords[req.cl_ord_id] = entry
        acct.open_orders += 1
        return Pending("place", account, cmd, order=order, request=req, entry=entry)

    def _repeats_live(self, account: int, cl: int) -> bool:
        return self.live_cl_ord_id is not None and self.live_cl_ord_id(account, cl)

    def _find(self, acct: _Account, orig: str) -> Order | None:
        entry = acct.cl_ords.get(orig)
        return entry.order if entry is not None else None

    def _prepare_cancel_replace(
        self, account: int, acct: _Account, req: CancelOrderRequest | ReplaceOrderRequest
    ) -> Pending | Outbox | Flush:
        replace = isinstance(req, ReplaceOrderRequest)
        order = self._find(acct, req.orig_cl_ord_id)
        if order is not None and order.order_id is None and order.status == "A":
            return _FLUSH
        m = self.markets.get(req.symbol)
        order_id: int | None = order.order_id if order is not None else None
        if order is None and req.order_id is not None and req.order_id.isdigit():
            order_id = int(req.order_id)
            if len(req.order_id) > 18:
                order_id = None
        entry = _ClOrd(order)

        def refuse(reason: int, text: str) -> Outbox:
            msg = self._cancel_reject(req, order, reason, text)
            entry.first_report = msg
            acct.cl_ords[req.cl_ord_id] = entry
            return [(account, msg)]

        if order_id is None:
            return refuse(1, f"unknown OrigClOrdID {req.orig_cl_ord_id[:40]!r}")
        if order is not None and not order.open:
            return refuse(0, "order is already closed (too late to cancel)")
        if m is None or (order is not None and order.market != m.market_id):
            return refuse(99, "Symbol does not match the order")
        if order is not None and order.side != req.side:
            return refuse(99, "Side does not match the order")
        acct.cl_ords[req.cl_ord_id] = entry
        if not isinstance(req, ReplaceOrderRequest):
            return Pending(
                "cancel", account, CancelOrder(0, 0, account, m.market_id, order_id),
                order=order, request=req, entry=entry,
            )  # fmt: skip
        assert replace
        total = _whole(req.order_qty)
        price = _whole(req.price)
        cum = order.cum_qty if order is not None else 0
        if req.ord_type != "2" or price is None:
            del acct.cl_ords[req.cl_ord_id]
            return refuse(99, "only limit orders with a whole-number Price can be replaced")
        if total is None or total <= cum:
            del acct.cl_ords[req.cl_ord_id]
            return refuse(99, f"OrderQty must be a whole number above CumQty ({cum})")
        if self.signing_keys is not None:
            try:
                nonce = parse_nonce(req.nonce)  # first: the signature covers it
                cmd = replace_command(account, m.market_id, order_id, req.cl_ord_id, price,
                                      total, cum, nonce=nonce)  # fmt: skip
                cmd = check_order_signature(cmd, req.signature, self.signing_keys.get(account))
            except OrderSignatureError as exc:
                del acct.cl_ords[req.cl_ord_id]  # the trader may send it again, signed
                text = str(exc)
                if exc.problem == "mismatch":
                    text += (f" (signed qty must be OrderQty - CumQty = {total} - {cum}: the "
                             "order's filled quantity may have changed: re-sign)")  # fmt: skip
                return [(account, self._cancel_reject(req, order, 99, text))]
        else:
            cmd = replace_command(account, m.market_id, order_id, req.cl_ord_id, price, total, cum)
            if self._repeats_live(account, cmd.cl_ord_id):
                del acct.cl_ords[req.cl_ord_id]  # the ClOrdID is the live order's
                return [(account, self._cancel_reject(req, order, 6, _LIVE_CL_ORD))]
        return Pending(
            "replace", account, cmd, order=order, request=req, entry=entry, new_qty=total
        )

    def prepare_mass_cancel(
        self, account: int, req: MassCancelRequest | None, *, market: int = ALL_MARKETS,
        text: str | None = None,
    ) -> Pending | Outbox:  # fmt: skip
        """MassCancel for ``req`` (q), or for the venue's own reasons (cancel-on-disconnect,
        dead-man's switch) when ``req`` is None."""
        if req is not None:
            if req.side is not None:
                return [(account, self._mass_report(req, "0", "Side filter is not supported"))]
            if req.mass_cancel_request_type == "1":
                m = self.markets.get(req.symbol or "")
                if m is None:
                    return [(account, self._mass_report(req, "0", "unknown Symbol"))]
                market = m.market_id
        cmd = MassCancel(0, 0, account, market)
        return Pending("mass", account, cmd, request=req, text=text)

    def split_mass_cancel(self, p: Pending, markets: Sequence[int]) -> list[Pending] | Outbox:
        """A mass cancel of every market (``p``, from ``prepare_mass_cancel``) as one per
        market in ``markets`` (where the account rests orders), in that order; the request's
        one report comes with the last. With no market there is nothing to cancel: the report
        at once, or nothing for the venue's own cancels.

        Why: the block circuit of a venue of several markets opens one market per block
        (``proofs/circuits/BLOCK.md``, "Several markets per circuit"), so such a venue refuses
        a mass cancel of every market (``venue.node.VenueNode.submit``)."""
        cmd = p.command
        if p.kind != "mass" or not isinstance(cmd, MassCancel) or cmd.market != ALL_MARKETS:
            raise ValueError("not a mass cancel of every market")
        if not markets:
            if p.request is None:
                return []
            assert isinstance(p.request, MassCancelRequest)
            resp = p.request.mass_cancel_request_type
            return [(p.account, self._mass_report(p.request, resp, p.text))]
        return [
            dataclasses.replace(
                p,
                command=msgspec.structs.replace(cmd, market=m),
                request=p.request if i == len(markets) - 1 else None,
            )
            for i, m in enumerate(markets)
        ]

    def prepare_liquidation(self, cmd: PlaceOrder) -> Pending:
        """The venue's liquidation order (``venue.liquidation.liquidation_orders``): the account
        gets its ExecutionReports like an order of its own (ClOrdID ``LIQ-n``), the makers
        their fills."""
        self._liquidations += 1
        order = Order(
            cmd.account, f"LIQ-{self._liquidations}", self.symbol(cmd.market), cmd.market,
            "1" if cmd.side == Side.BUY else "2", "2", "3", cmd.price, cmd.qty,
        )  # fmt: skip
        self._acct(cmd.account).open_orders += 1  # released when it closes, as any order
        return Pending("place", cmd.account, cmd, order=order, text="liquidation")

    # ------------------------------------------------------------------ events

    def apply(self, p: Pending, seq: int, events: Sequence[Event], height: int) -> Outbox:
        """Reports for the events of ``p``'s command (sequence ``seq``, in block ``height``).

        Also updates every order the events touch, including other accounts' (the maker
        side of a trade).
        """
        out: Outbox = []
        ctx = _Ctx(seq, height)
        for ev in events:
            if isinstance(ev, OrderAccepted):
                order = p.order if p.kind == "place" else None
                if order is None:
                    continue
                order.order_id = ev.order_id
                order.status = "0"
                order.leaves = ev.qty
                order.block_height = height
                self.orders[ev.order_id] = order
                self._emit(out, order, "0", ctx, first=p.entry)
            elif isinstance(ev, Trade):
                for oid, remaining in (
                    (ev.taker_order_id, ev.taker_remaining),
                    (ev.maker_order_id, ev.maker_remaining),
                ):
                    order = self.orders.get(oid)
                    if order is None:
                        continue
                    order.cum_qty += ev.qty
                    order.notional += ev.qty * ev.price
                    order.leaves = remaining
                    order.status = "2" if remaining == 0 else "1"
                    self._emit(out, order, "F", ctx, last=(ev.price, ev.qty))
                    if remaining == 0:
                        self._closed(order)
            elif isinstance(ev, OrderCancelled):
                order = self.orders.get(ev.order_id)
                if order is None:
                    order = self._stub(p, ev.order_id)
                    if order is None:
                        continue
                expired = ev.reason == CancelReason.IOC_REMAINDER
                order.status = "C" if expired else "4"
                order.leaves = 0
                self._closed(order)
                if p.kind == "cancel" and ev.reason == CancelReason.USER:
                    assert isinstance(p.request, CancelOrderRequest)
                    self._emit(out, order, "4", ctx, first=p.entry, cancel=p.request)
                else:
                    text = None
                    if ev.reason == CancelReason.SELF_TRADE:
                        text = "self-trade prevention"
                    elif ev.reason == CancelReason.MATCH_LIMIT:
                        text = "match limit reached while still crossing"
                    elif ev.reason == CancelReason.MASS_CANCEL and p.text:
                        text = p.text
                    self._emit(out, order, "C" if expired else "4", ctx, text=text)
            elif isinstance(ev, OrderReplaced):
                order = self.orders.get(ev.order_id)
                if order is None or p.kind != "replace":
                    continue
                assert isinstance(p.request, ReplaceOrderRequest)
                order.orig_cl_ord_id = order.cl_ord_id
                order.cl_ord_id = p.request.cl_ord_id
                order.price = ev.price
                order.order_qty = order.cum_qty + ev.qty
                order.leaves = ev.qty
                self._emit(out, order, "5", ctx, first=p.entry)
            elif isinstance(ev, OrderReduced):
                order = self.orders.get(ev.order_id)
                if order is None:
                    continue
                order.leaves = ev.remaining
                order.order_qty = order.cum_qty + ev.remaining
                self._emit(out, order, "D", ctx, text="self-trade prevention (decrement)")
            elif isinstance(ev, Rejected):
                self._rejected(out, p, ev, ctx)
            elif isinstance(ev, MassCancelled):
                if p.kind == "mass" and p.request is not None:
                    assert isinstance(p.request, MassCancelRequest)
                    resp = p.request.mass_cancel_request_type
                    out.append((p.account, self._mass_report(p.request, resp, p.text)))
        return out

    def _stub(self, p: Pending, order_id: int) -> Order | None:
        """An order this router never saw (placed by a previous process) named by OrderID."""
        if p.kind != "cancel" or not isinstance(p.request, CancelOrderRequest):
            return None
        r = p.request
        m = self.markets.get(r.symbol)
        order = Order(p.account, r.orig_cl_ord_id, r.symbol, m.market_id if m else 0, r.side,
                      "2", "1", None, 0, order_id=order_id)  # fmt: skip
        return order

    def _closed(self, order: Order) -> None:
        acct = self.accounts.get(order.account)
        if acct is not None and acct.open_orders > 0:
            acct.open_orders -= 1

    def _rejected(self, out: Outbox, p: Pending, ev: Rejected, ctx: _Ctx) -> None:
        reason, text = rej_reason(ev.code)
        if p.kind == "place":
            assert p.order is not None
            p.order.status = "8"
            self._closed(p.order)
            self._emit(out, p.order, "8", ctx, first=p.entry, reason=reason, text=text)
        elif p.kind in ("cancel", "replace"):
            req = p.request
            assert isinstance(req, CancelOrderRequest | ReplaceOrderRequest)
            msg = self._cancel_reject(req, p.order, _CXL_REJ.get(ev.code, 99), text)
            if p.entry is not None and p.entry.first_report is None:
                p.entry.first_report = msg
            out.append((p.account, msg))
        elif p.kind == "mass" and isinstance(p.request, MassCancelRequest):
            out.append((p.account, self._mass_report(p.request, "0", text)))

    # ------------------------------------------------------------------ messages

    def _emit(
        self, out: Outbox, order: Order, exec_type: str, ctx: _Ctx, *,
        first: _ClOrd | None = None, last: tuple[int, int] | None = None,
        cancel: CancelOrderRequest | None = None, reason: int | None = None,
        text: str | None = None,
    ) -> None:  # fmt: skip
        ctx.n += 1
        msg = self._report(
            order, exec_type, exec_id=f"{ctx.seq}.{ctx.n}", height=ctx.height, last=last,
            cancel=cancel, reason=reason, text=text,
        )  # fmt: skip
        if first is not None and first.first_report is None:
            first.first_report = msg
        out.append((order.account, msg))

    def _report(
        self, order: Order, exec_type: str, *, exec_id: str = "0", height: int = 0,
        last: tuple[int, int] | None = None, cancel: CancelOrderRequest | None = None,
        reason: int | None = None, text: str | None = None,
    ) -> FixMessage:  # fmt: skip
        """ExecutionReport (8) of ``order`` as it is now.

        One report per ack and per fill, and the first one is kept for the life of the
        process (``_ClOrd``): built with plain-int tags (``_T``), appended field by field.
        """
        status = order.status
        leaves = order.leaves if status in ("A", "0", "1") else 0  # Order.open, inlined
        if status == "A":
            status = "0"
        if cancel is not None:
            cl, orig = cancel.cl_ord_id, order.cl_ord_id
        else:
            cl, orig = order.cl_ord_id, order.orig_cl_ord_id
        f: list[tuple[int, str]] = [
            (_T.OrderID, str(order.order_id) if order.order_id is not None else "NONE"),
            (_T.ClOrdID, cl),
        ]
        if orig is not None and exec_type in ("4", "5") and orig != cl:
            f.append((_T.OrigClOrdID, orig))
        f += (
            (_T.ExecID, exec_id),
            (_T.ExecType, exec_type),
            (_T.OrdStatus, status),
            (_T.Account, str(order.account)),
            (_T.Symbol, order.symbol or "?"),
            (_T.Side, order.side if order.side in ("1", "2") else "1"),
        )
        if order.order_qty > 0:
            f.append((_T.OrderQty, str(order.order_qty)))
        if order.ord_type in ("1", "2"):
            f.append((_T.OrdType, order.ord_type))
        if order.price is not None:
            f.append((_T.Price, str(order.price)))
        if order.tif in ("0", "1", "3", "4"):
            f.append((_T.TimeInForce, order.tif))
        cum = order.cum_qty
        f += (
            (_T.LeavesQty, str(leaves)),
            (_T.CumQty, str(cum)),
            (_T.AvgPx, _px(Decimal(order.notional) / cum) if cum else "0"),  # "0" = _px(0)
        )
        if last is not None:
            f += ((_T.LastPx, str(last[0])), (_T.LastQty, str(last[1])))
        if reason is not None:
            f.append((_T.OrdRejReason, str(reason)))
        if text:
            f.append((_T.Text, _text(text)))
        f.append((_T.FinalityState, "sequenced"))
        if height:
            f.append((_T.BlockHeight, str(height)))
        return FixMessage("8", tuple(f))

    def _cancel_reject(
        self, req: CancelOrderRequest | ReplaceOrderRequest, order: Order | None, reason: int,
        text: str,
    ) -> FixMessage:  # fmt: skip
        status = order.status if order is not None and order.status != "A" else "8"
        oid = str(order.order_id) if order is not None and order.order_id is not None else "NONE"
        return FixMessage(
            "9",
            (
                (_T.OrderID, oid),
                (_T.ClOrdID, req.cl_ord_id),
                (_T.OrigClOrdID, req.orig_cl_ord_id),
                (_T.OrdStatus, status),
                (_T.CxlRejResponseTo, "2" if isinstance(req, ReplaceOrderRequest) else "1"),
                (_T.CxlRejReason, str(reason)),
                (_T.Text, _text(text)),
                (_T.Account, str(req.account)),
            ),
        )

    def _mass_report(self, req: MassCancelRequest, response: str, text: str | None) -> FixMessage:
        f: list[tuple[int, str]] = [
            (_T.OrderID, "NONE"),
            (_T.ClOrdID, req.cl_ord_id),
            (_T.MassCancelRequestType, req.mass_cancel_request_type),
            (_T.MassCancelResponse, response),
        ]
        if req.symbol:
            f.append((_T.Symbol, req.symbol))
        if text:
            f.append((_T.Text, _text(text)))
        return FixMessage("r", tuple(f))

    def open_orders(self, account: int) -> int:
        """Open orders of ``account`` placed through this router (in flight included)."""
        acct = self.accounts.get(account)
        return acct.open_orders if acct is not None else 0

    def symbol(self, market: int) -> str:
        """Symbol of a market id."""
        return self.symbols[market]


class _T:
    """The ``Tag`` numbers the reports use, as plain ints: a ``Tag`` member in a field pair
    keeps the pair tracked by the garbage collector for as long as the message lives
    (``FixMessage`` docstring), and reports live long (first reports, the resend store)."""

    Account: Final = int(Tag.Account)
    AvgPx: Final = int(Tag.AvgPx)
    BlockHeight: Final = int(Tag.BlockHeight)
    ClOrdID: Final = int(Tag.ClOrdID)
    CumQty: Final = int(Tag.CumQty)
    CxlRejReason: Final = int(Tag.CxlRejReason)
    CxlRejResponseTo: Final = int(Tag.CxlRejResponseTo)
    ExecID: Final = int(Tag.ExecID)
    ExecType: Final = int(Tag.ExecType)
    FinalityState: Final = int(Tag.FinalityState)
    LastPx: Final = int(Tag.LastPx)
    LastQty: Final = int(Tag.LastQty)
    LeavesQty: Final = int(Tag.LeavesQty)
    MassCancelRequestType: Final = int(Tag.MassCancelRequestType)
    MassCancelResponse: Final = int(Tag.MassCancelResponse)
    OrdRejReason: Final = int(Tag.OrdRejReason)
    OrdStatus: Final = int(Tag.OrdStatus)
    OrdType: Final = int(Tag.OrdType)
    OrderID: Final = int(Tag.OrderID)
    OrderQty: Final = int(Tag.OrderQty)
    OrigClOrdID: Final = int(Tag.OrigClOrdID)
    Price: Final = int(Tag.Price)
    Side: Final = int(Tag.Side)
    Symbol: Final = int(Tag.Symbol)
    Text: Final = int(Tag.Text)
    TimeInForce: Final = int(Tag.TimeInForce)


@dataclass
class _Ctx:
    seq: int
    height: int
    n: int = 0


def _text(text: str) -> str:
    cleaned = "".join(" " if (ch < " " or ch in "|\x7f") else ch for ch in text)
    return cleaned[:200] or "-"


def _set(msg: FixMessage, tag: int, value: str) -> FixMessage:
    return FixMessage(msg.msg_type, tuple((t, value if t == tag else v) for t, v in msg.fields))
