"""Commands, events, result codes and market configuration: the engine's vocabulary.

Commands are imperative verbs with stable wire codes; events are nouns. Business rejections
are result codes carried by a ``Rejected`` event, never exceptions. Codes are grouped by
subsystem (validation -1xxx, risk -2xxx, matching -3xxx) and are never renumbered: a retired
code stays here commented out.

Every field is an integer (prices in price units, quantities in lots, money in the collateral
asset's smallest unit, timestamps in nanoseconds carried by the command). All structs are
``array_like`` so their MessagePack encoding is a fixed-order array: that is the canonical
form hashed into blocks and written to the journal.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated

import msgspec
from msgspec import Meta

__all__ = [
    "ALL_MARKETS",
    "FIELD_MODULUS",
    "U256",
    "AccountAdded",
    "AddAccount",
    "BigInt",
    "CancelOrder",
    "CancelReason",
    "Canonical",
    "CollateralChanged",
    "Command",
    "CommandType",
    "Deposit",
    "Event",
    "EventType",
    "MarketConfig",
    "MarketSummary",
    "MassCancel",
    "MassCancelled",
    "OrderAccepted",
    "OrderCancelled",
    "OrderReduced",
    "OrderReplaced",
    "OrderType",
    "PlaceOrder",
    "Rejected",
    "ReplaceOrder",
    "ResultCode",
    "Side",
    "StpMode",
    "TimeInForce",
    "Trade",
    "Withdraw",
]

#: ``MassCancel.market`` value that cancels in every market.
ALL_MARKETS = 0

# The wire schema: the ranges a command's fields may take at all. Decoding rejects anything
# outside them (``msgspec.ValidationError``), so every command that reaches the journal has a
# canonical, injective hash (``proofs.state.command_hash``). Inside the schema the engine
# decides business validity (a negative quantity is a typed rejection, recorded in the block).
# (MessagePack integers already stop at [-2**63, 2**64), so only tighter bounds are written.)
Seq = Annotated[int, Meta(ge=0, lt=1 << 48)]
Ts = Annotated[int, Meta(ge=0)]
AccountId = Annotated[int, Meta(ge=0, lt=1 << 20)]
MarketId = Annotated[int, Meta(ge=0, lt=1 << 16)]
ClOrdId = Annotated[int, Meta(ge=0)]
Code = Annotated[int, Meta(ge=0, lt=16)]
Price = Annotated[int, Meta(gt=-(1 << 40), lt=1 << 40)]
Qty = Annotated[int, Meta(gt=-(1 << 48), lt=1 << 48)]
Amount = int
#: BN254's scalar field: public keys are field elements.
FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617


class U256(int):
    """An unsigned integer below 2**256 (a field element, a notional, an accumulator).

    MessagePack integers stop at 64 bits, so these are encoded as 32 big-endian bytes (see
    ``matching.encoding``). Structs coerce their U256 fields in ``__post_init__``, so the
    encoding never depends on whether the caller passed an ``int`` or a ``U256``.
    """

    __slots__ = ()

    def __new__(cls, value: int = 0) -> U256:
        if not 0 <= value < 1 << 256:
            raise ValueError(f"{value} is not an unsigned 256-bit integer")
        return super().__new__(cls, value)


class BigInt(int):
    """A signed integer of magnitude below 2**255 (collateral, cost basis).

    Encoded as a plain MessagePack integer when it fits in 64 signed bits and as extension
    type 1 (32-byte big-endian two's complement) otherwise: a pure function of the value.
    """

    __slots__ = ()

    def __new__(cls, value: int = 0) -> BigInt:
        if not -(1 << 255) <= value < 1 << 255:
            raise ValueError(f"{value} does not fit in a signed 256-bit integer")
        return super().__new__(cls, value)


class Canonical(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """Base of every engine struct: immutable, encoded as a fixed-order array, and decoding
    refuses extra elements, so one value has exactly one encoding."""


def _coerce_u256(obj: msgspec.Struct, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if type(value) is not U256:
            msgspec.structs.force_setattr(obj, name, U256(value))


def _coerce_bigint(obj: msgspec.Struct, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if type(value) is not BigInt:
            msgspec.structs.force_setattr(obj, name, BigInt(value))


class Side(IntEnum):
    BUY = 1
    SELL = 2


class OrderType(IntEnum):
    LIMIT = 1
    #: A market order carries a protection limit in ``price``: it never fills beyond it.
    MARKET = 2
    #: The venue closing (part of) a position under maintenance margin: an unsigned IOC
    #: limit order, accepted only by the liquidation rule (``ReferenceEngine`` docstring).
    LIQUIDATION = 3


class TimeInForce(IntEnum):
    GTC = 1
    IOC = 3
    FOK = 4


class StpMode(IntEnum):
    """Self-trade prevention; the incoming (taker) order's mode decides."""

    CANCEL_TAKER = 0
    CANCEL_MAKER = 1
    CANCEL_BOTH = 2
    #: Reduce both orders by the overlapping quantity without a trade.
    DECREMENT = 3


class CommandType(IntEnum):
    PLACE_ORDER = 1
    CANCEL_ORDER = 2
    REPLACE_ORDER = 3
    MASS_CANCEL = 4
    DEPOSIT = 5
    WITHDRAW = 6
    ADD_ACCOUNT = 7


class EventType(IntEnum):
    ORDER_ACCEPTED = 1
    TRADE = 2
    ORDER_CANCELLED = 3
    ORDER_REPLACED = 4
    ORDER_REDUCED = 5
    REJECTED = 6
    COLLATERAL_CHANGED = 7
    ACCOUNT_ADDED = 8
    MASS_CANCELLED = 9


class CancelReason(IntEnum):
    USER = 1
    #: The unfilled rest of an IOC or market order.
    IOC_REMAINDER = 2
    SELF_TRADE = 3
    MASS_CANCEL = 4
    #: The rest of a taker that reached the venue's per-command match limit while it still
    #: crossed (``max_matches``: bounds a command's size in the block proof).
    MATCH_LIMIT = 5


class ResultCode(IntEnum):
    OK = 0
    # validation -1xxx: the command is malformed or refers to something that does not exist
    UNKNOWN_MARKET = -1001
    INVALID_QUANTITY = -1002
    QUANTITY_OFF_LOT = -1003
    INVALID_PRICE = -1004
    PRICE_OFF_TICK = -1005
    PRICE_OUT_OF_BAND = -1006
    INVALID_ORDER_FLAGS = -1007
    UNKNOWN_ORDER = -1101
    NOT_ORDER_OWNER = -1102
    DUPLICATE_CLIENT_ORDER_ID = -1103
    #: a signed command (PlaceOrder, ReplaceOrder, Withdraw) whose ``cl_ord_id`` is not above
    #: its account's nonce on a venue with ``signed_nonces``: a replayed or out-of-order
    #: signed intent (the signature cannot cover the sequencer's seq; ``ReferenceEngine``)
    STALE_NONCE = -1104
    UNKNOWN_ACCOUNT = -1201
    ACCOUNT_EXISTS = -1202
    INVALID_AMOUNT = -1203
    INVALID_ACCOUNT_ID = -1204
    # risk -2xxx
    INSUFFICIENT_MARGIN = -2001
    INSUFFICIENT_COLLATERAL = -2002
    # matching -3xxx
    POST_ONLY_WOULD_CROSS = -3001
    FOK_NOT_FILLABLE = -3002
    #: the side already holds as many resting orders as its committed tree can take
    BOOK_FULL = -3003
    #: the account already holds ``max_open_orders`` resting orders (bounds a mass cancel's
    #: size in the block proof)
    TOO_MANY_ORDERS = -3004
    #: a liquidation order whose account is not under maintenance margin at the mark, holds
    #: resting orders in the market, or that does not reduce its position
    NOT_LIQUIDATABLE = -3005


class MarketConfig(Canonical):
    """Static parameters of one market.

    ``price * qty`` is a notional in the collateral's smallest unit, so markets choose their
    units such that this product is exact. ``band_bps`` bounds limit prices around the mark
    (the last settlement price); 0 disables the dynamic band.
    """

    market_id: int
    symbol: str
    tick_size: int
    lot_size: int
    min_price: int
    max_price: int
    max_qty: int
    initial_price: int
    imf_bps: int
    mmf_bps: int
    band_bps: int = 0


# --- commands ---------------------------------------------------------------------------
# Every command carries the sequencer's global sequence number and timestamp. ``sig`` is the
# account's signature over the command (checked by the validity proof); empty in tests that
# do not sign. ``sig`` stays the last field: fields with defaults go after the required ones
# and before it, so every command keeps one positional layout.


class PlaceOrder(Canonical, tag=int(CommandType.PLACE_ORDER)):
    seq: Seq
    ts: Ts
    account: AccountId
    market: MarketId
    cl_ord_id: ClOrdId
    side: Code
    order_type: Code
    tif: Code
    price: Price
    qty: Qty
    post_only: bool = False
    stp: Code = StpMode.CANCEL_TAKER
    sig: bytes = b""


class CancelOrder(Canonical, tag=int(CommandType.CANCEL_ORDER)):
    seq: Seq
    ts: Ts
    account: AccountId
    market: MarketId
    order_id: Seq
    sig: bytes = b""


class ReplaceOrder(Canonical, tag=int(CommandType.REPLACE_ORDER)):
    """Change price and/or remaining quantity of a resting order.

    Lowering the quantity at the same price keeps time priority; a price change or a larger
    quantity moves the order to the back of its new level (and may trade if it now crosses).
    ``cl_ord_id`` 0 keeps the order's client id (not with ``signed_nonces``, where the
    client id is also the command's nonce and must rise: ``STALE_NONCE``).
    """

    seq: Seq
    ts: Ts
    account: AccountId
    market: MarketId
    order_id: Seq
    price: Price
    qty: Qty
    cl_ord_id: ClOrdId = 0
    sig: bytes = b""


class MassCancel(Canonical, tag=int(CommandType.MASS_CANCEL)):
    seq: Seq
    ts: Ts
    account: AccountId
    market: MarketId = ALL_MARKETS
    sig: bytes = b""


class Deposit(Canonical, tag=int(CommandType.DEPOSIT)):
    seq: Seq
    ts: Ts
    account: AccountId
    amount: Amount
    sig: bytes = b""


class Withdraw(Canonical, tag=int(CommandType.WITHDRAW)):
    """Take ``amount`` of collateral out of the account.

    ``cl_ord_id`` is the withdrawal's nonce: with ``signed_nonces`` it must be above the
    account's nonce, like an order's client id, so a signed withdrawal cannot be included
    twice (``ReferenceEngine``); 0 and ignored otherwise.
    """

    seq: Seq
    ts: Ts
    account: AccountId
    amount: Amount
    cl_ord_id: ClOrdId = 0
    sig: bytes = b""


class AddAccount(Canonical, tag=int(CommandType.ADD_ACCOUNT)):
    """Open an account with its order-signing key (Baby Jubjub point, 0/0 when unsigned)."""

    seq: Seq
    ts: Ts
    account: AccountId
    pubkey_x: U256 = U256(0)
    pubkey_y: U256 = U256(0)
    sig: bytes = b""

    def __post_init__(self) -> None:
        _coerce_u256(self, "pubkey_x", "pubkey_y")
        if self.pubkey_x >= FIELD_MODULUS or self.pubkey_y >= FIELD_MODULUS:
            raise ValueError("public key coordinates must be field elements")


Command = PlaceOrder | CancelOrder | ReplaceOrder | MassCancel | Deposit | Withdraw | AddAccount

# --- events -----------------------------------------------------------------------------
# ``seq`` is the sequence number of the command that caused the event.


class OrderAccepted(Canonical, tag=int(EventType.ORDER_ACCEPTED)):
    seq: int
    order_id: int
    account: int
    market: int
    cl_ord_id: int
    side: int
    price: int
    qty: int


class Trade(Canonical, tag=int(EventType.TRADE)):
    seq: int
    market: int
    taker_order_id: int
    maker_order_id: int
    taker_account: int
    maker_account: int
    taker_side: int
    price: int
    qty: int
    taker_remaining: int
    maker_remaining: int


class OrderCancelled(Canonical, tag=int(EventType.ORDER_CANCELLED)):
    seq: int
    order_id: int
    account: int
    market: int
    remaining: int
    reason: int


class OrderReplaced(Canonical, tag=int(EventType.ORDER_REPLACED)):
    seq: int
    order_id: int
    account: int
    market: int
    cl_ord_id: int
    price: int
    qty: int
    priority_kept: bool


class OrderReduced(Canonical, tag=int(EventType.ORDER_REDUCED)):
    """Self-trade prevention in DECREMENT mode took ``reduced_by`` off the order."""

    seq: int
    order_id: int
    account: int
    market: int
    reduced_by: int
    remaining: int


class Rejected(Canonical, tag=int(EventType.REJECTED)):
    """A command refused with ``code``; ``ref`` is the order id or client order id it named."""

    seq: int
    account: int
    code: int
    ref: BigInt

    def __post_init__(self) -> None:
        _coerce_bigint(self, "ref")


class CollateralChanged(Canonical, tag=int(EventType.COLLATERAL_CHANGED)):
    seq: int
    account: int
    delta: BigInt
    balance: BigInt

    def __post_init__(self) -> None:
        _coerce_bigint(self, "delta", "balance")


class AccountAdded(Canonical, tag=int(EventType.ACCOUNT_ADDED)):
    seq: int
    account: int


class MassCancelled(Canonical, tag=int(EventType.MASS_CANCELLED)):
    """Closes a mass cancel: ``count`` orders were cancelled (each has its own event)."""

    seq: int
    account: int
    market: int
    count: int


Event = (
    OrderAccepted
    | Trade
    | OrderCancelled
    | OrderReplaced
    | OrderReduced
    | Rejected
    | CollateralChanged
    | AccountAdded
    | MassCancelled
)


class MarketSummary(Canonical):
    """One market's line in a block header.

    ``price`` is the block's settlement price: the volume-weighted average of its fills,
    rounded half up (``(2 * notional + volume) // (2 * volume)``); with no fills it is the
    previous price carried forward and ``carried`` is true. ``cum_price_time`` accumulates
    ``price * (close_ms - previous close_ms)`` (times in milliseconds, ``ts // 10**6``) for
    time-weighted averages.
    """

    market: int
    price: int
    carried: bool
    volume: int
    notional: U256
    trade_count: int
    cum_price_time: U256

    def __post_init__(self) -> None:
        _coerce_u256(self, "notional", "cum_price_time")
