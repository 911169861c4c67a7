"""Events the FIX session hands to the venue, named as nouns (what happened, not what to do).

Application requests carry the fields the venue needs already typed, plus the validated
``message`` for anything else. ``seq_num`` and ``poss_dup`` are there because ClOrdID is
idempotent per session: a resent (PossDupFlag=Y) order must be recognised, not re-executed.
"""

from __future__ import annotations

import msgspec

from .codec import FixMessage

__all__ = [
    "ApplicationRequest",
    "CancelOrderRequest",
    "LogonAccepted",
    "MarketDataSubscription",
    "MassCancelRequest",
    "MessageRejected",
    "NewOrderRequest",
    "PeerRejection",
    "ReplaceOrderRequest",
    "SessionClosed",
    "SessionEvent",
]


class SessionEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every event returned by ``Session.events_received``."""


class LogonAccepted(SessionEvent, frozen=True, kw_only=True):
    """The client proved its account key; application messages flow from now on."""

    account: str
    sender_comp_id: str
    heartbeat_interval: int
    cancel_on_disconnect: bool
    reset_seq_num: bool


class SessionClosed(SessionEvent, frozen=True, kw_only=True):
    """The session is over; the I/O layer flushes ``data_to_send`` and closes the socket.

    ``clean`` is True for a completed Logout exchange. ``cancel_orders`` is True when the
    client had logged on without opting out of cancel-on-disconnect (DESIGN §8).
    """

    reason: str
    clean: bool
    cancel_orders: bool


class MessageRejected(SessionEvent, frozen=True, kw_only=True):
    """We answered a client message with Reject (3) or BusinessMessageReject (j); for logs."""

    ref_seq_num: int
    ref_msg_type: str | None
    reason: int
    business: bool
    text: str


class PeerRejection(SessionEvent, frozen=True, kw_only=True):
    """The client sent a Reject (3) about one of our messages."""

    ref_seq_num: int
    reason: int | None
    text: str | None


class ApplicationRequest(SessionEvent, frozen=True, kw_only=True):
    """Common part of every client request for the venue."""

    seq_num: int
    poss_dup: bool
    account: str
    message: FixMessage


class NewOrderRequest(ApplicationRequest, frozen=True, kw_only=True):
    """NewOrderSingle (D). ``post_only`` is ExecInst(18) containing ``6``; ``signature`` is
    OrderSignature(5017) and ``nonce`` Nonce(5018) as sent (hex and decimal text, checked by a
    signed venue: ``venue.orders``)."""

    cl_ord_id: str
    symbol: str
    side: str
    order_qty: str
    ord_type: str
    price: str | None
    time_in_force: str
    post_only: bool
    signature: str | None = None
    nonce: str | None = None


class CancelOrderRequest(ApplicationRequest, frozen=True, kw_only=True):
    """OrderCancelRequest (F)."""

    cl_ord_id: str
    orig_cl_ord_id: str
    order_id: str | None
    symbol: str
    side: str


class ReplaceOrderRequest(ApplicationRequest, frozen=True, kw_only=True):
    """OrderCancelReplaceRequest (G); ``signature`` and ``nonce`` as on ``NewOrderRequest``."""

    cl_ord_id: str
    orig_cl_ord_id: str
    order_id: str | None
    symbol: str
    side: str
    order_qty: str
    ord_type: str
    price: str | None
    time_in_force: str
    post_only: bool
    signature: str | None = None
    nonce: str | None = None


class MassCancelRequest(ApplicationRequest, frozen=True, kw_only=True):
    """OrderMassCancelRequest (q); request type ``1`` = one symbol, ``7`` = all orders."""

    cl_ord_id: str
    mass_cancel_request_type: str
    symbol: str | None
    side: str | None


class MarketDataSubscription(ApplicationRequest, frozen=True, kw_only=True):
    """MarketDataRequest (V); subscription type 0 snapshot, 1 subscribe, 2 unsubscribe."""

    md_req_id: str
    subscription_type: str
    market_depth: int
    entry_types: tuple[str, ...]
    symbols: tuple[str, ...]
