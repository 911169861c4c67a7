"""The pure-Python reference matching engine: the specification the Cython engine must match.

One engine owns every book and account. ``process(cmd)`` applies one command and returns its
events; it never raises for bad business input (that is a ``Rejected`` event with a result
code and no state change). ``EngineError`` is raised only for misuse by the sequencer itself
(a sequence number or timestamp going backwards), which would break determinism.

Rules, in the order they are checked for a new order:

0. with ``signed_nonces``: the account exists, then its client order id is above the
   account's nonce (see "Replay" below);
1. account exists, market exists, quantity > 0, multiple of the lot, <= max_qty;
2. price > 0, on tick, inside [min_price, max_price] and inside the dynamic band around the
   mark (``|price - mark| * 10000 <= band_bps * mark``); a market order's price is its
   protection limit and obeys the same rules;
3. flags: market orders must be IOC or FOK; post-only only with GTC limit orders; STP mode
   known; with ``unique_cl_ord_ids`` (the default), client order id unique among the
   account's live orders (0 is "no id"; a repeat is ``DUPLICATE_CLIENT_ORDER_ID``);
4. pre-trade margin (see ``_margin_ok``);
5. post-only orders that would cross are rejected; FOK orders that would not fill completely
   (a dry run of the same matching) are rejected;
6. matching at the makers' prices in price-time priority; self-trade prevention by the taker's
   mode; the rest of a GTC limit order rests, the rest of an IOC/market order is cancelled.

Margin uses the mark price of each market, which is the previous block's settlement price:
constant within a block, so a block's checks do not depend on the order of its fills.

Liquidation: a PlaceOrder of type ``LIQUIDATION`` is the venue closing a position that is
under maintenance margin. It is not signed and raises no replay mark; it must be IOC, not
post-only and without a client order id (0). Besides rules 1-3 it is accepted iff
(``_liquidatable``) the account holds no resting order in the market, its equity at the mark
is below its maintenance margin (``sum ceil(mmf_bps * mark * |position| / 10000)``, what
``ProvenMargin`` checks on chain), and the order reduces the position (opposite side,
``qty <= |position|``); else ``NOT_LIQUIDATABLE``. It skips rule 4 (it never raises the
requirement) and then trades as an IOC order.

Replay (``signed_nonces``, a signed venue): a PlaceOrder, ReplaceOrder or Withdraw carries
its account's signature over the command *without* the sequencer's seq and ts
(``proofs.signing``), so the same signed intent could be included twice: a second copy of an
order or of a withdrawal. Each account therefore keeps ``nonce``, the largest ``cl_ord_id``
of its accepted signed commands (0 at first), and such a command is rejected with
``STALE_NONCE`` unless ``cl_ord_id > nonce``. It is checked right after the account is
found, before anything else about the command, so a replay is reported as one whatever else
changed since (the order it names is gone, the market moved...). An accepted command sets
``nonce = cl_ord_id``: a PlaceOrder once it is accepted (an IOC that then trades nothing
too), a ReplaceOrder once it is applied, a Withdraw once it succeeds; a rejected command
changes nothing. So a ReplaceOrder's ``cl_ord_id`` 0 ("keep the client id") is refused.

Client order ids (``unique_cl_ord_ids``). Matching never looks an order up by its client id
(a cancel or replace names the order id), so uniqueness is a session rule, not a matching one.
A venue of rules 2 (``venue.node.Genesis.rules``) checks it before sequencing instead
(``has_live_cl_ord_id``) and runs the engine with ``unique_cl_ord_ids=False``: a rule the
unsigned block proof could not check is then no longer a block rule. On a signed venue
the two settings agree: accepted client ids are rising nonces, so none repeats a live one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sortedcontainers import SortedDict

from .types import (
    ALL_MARKETS,
    U256,
    AccountAdded,
    AddAccount,
    BigInt,
    CancelOrder,
    CancelReason,
    Canonical,
    CollateralChanged,
    Command,
    Deposit,
    Event,
    MarketConfig,
    MarketSummary,
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
    StpMode,
    TimeInForce,
    Trade,
    Withdraw,
    _coerce_bigint,
    _coerce_u256,
)

__all__ = [
    "MAX_ACCOUNTS",
    "AccountView",
    "EngineError",
    "EngineSnapshot",
    "OrderView",
    "PositionView",
    "ReferenceEngine",
    "check_markets",
]

#: Account ids are 0 .. MAX_ACCOUNTS-1 (the accounts tree has a fixed depth).
MAX_ACCOUNTS = 1 << 20
#: Range limits that keep every committed integer inside its packed width (proofs.state).
MAX_PRICE = (1 << 40) - 1
MAX_QTY = (1 << 48) - 1
MAX_SEQ = (1 << 48) - 1
MAX_TS = (1 << 64) - 1
MAX_CL_ORD_ID = (1 << 64) - 1
MAX_AMOUNT = (1 << 96) - 1
BPS = 10_000


class EngineError(RuntimeError):
    """The caller broke the engine's contract (not a business rejection)."""


def check_markets(markets: Sequence[MarketConfig]) -> None:
    """Raise ``EngineError`` unless ``markets`` can configure an engine: non-empty, increasing
    ids in [1, 65535], and each market's ticks, lots, price range, initial price and margin
    rates consistent and inside the committed widths."""
    ids = [m.market_id for m in markets]
    if not markets or sorted(set(ids)) != ids or ids[0] <= ALL_MARKETS or ids[-1] >= 1 << 16:
        raise EngineError("markets must be non-empty, with increasing ids in [1, 65535]")
    for m in markets:
        if not (
            0 < m.tick_size <= m.min_price <= m.max_price <= MAX_PRICE
            and 0 < m.lot_size <= m.max_qty <= MAX_QTY
            and m.min_price <= m.initial_price <= m.max_price
            and 0 <= m.mmf_bps <= m.imf_bps <= BPS
            and m.band_bps >= 0
        ):
            raise EngineError(f"invalid market configuration {m!r}")


class OrderView(Canonical):
    """A resting order as committed into the state root."""

    order_id: int
    account: int
    market: int
    side: int
    price: int
    qty: int
    priority: int
    cl_ord_id: int


class PositionView(Canonical):
    market: int
    position: int
    #: Signed cost of the open position (sum of signed qty * price); 0 when flat.
    basis: BigInt
    open_buy: int
    open_sell: int

    def __post_init__(self) -> None:
        _coerce_bigint(self, "basis")


class AccountView(Canonical):
    account: int
    collateral: BigInt
    pubkey_x: U256
    pubkey_y: U256
    #: One entry per configured market, in market order (flat markets included).
    positions: tuple[PositionView, ...]
    #: Largest ``cl_ord_id`` of the account's accepted signed commands (``signed_nonces``;
    #: always 0 without). Last, with a default, so views built without it stay valid.
    nonce: int = 0

    def __post_init__(self) -> None:
        _coerce_bigint(self, "collateral")
        _coerce_u256(self, "pubkey_x", "pubkey_y")


class MarketStateView(Canonical):
    market: int
    mark: int
    cum_price_time: U256
    last_close_ts: int

    def __post_init__(self) -> None:
        _coerce_u256(self, "cum_price_time")


class EngineSnapshot(Canonical):
    """Canonical full state; both engines produce byte-identical encodings of it."""

    markets: tuple[MarketConfig, ...]
    market_states: tuple[MarketStateView, ...]
    accounts: tuple[AccountView, ...]
    #: Resting orders, per market bids then asks, each in priority order.
    orders: tuple[OrderView, ...]
    last_seq: int
    last_ts: int


class _Order:
    __slots__ = ("account", "cl_ord_id", "market", "order_id", "price", "priority", "qty", "side")

    def __init__(
        self,
        order_id: int,
        account: int,
        market: int,
        side: int,
        price: int,
        qty: int,
        priority: int,
        cl_ord_id: int,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.market = market
        self.side = side
        self.price = price
        self.qty = qty
        self.priority = priority
        self.cl_ord_id = cl_ord_id

    def view(self) -> OrderView:
        return OrderView(
            self.order_id,
            self.account,
            self.market,
            self.side,
            self.price,
            self.qty,
            self.priority,
            self.cl_ord_id,
        )


class _Position:
    __slots__ = ("basis", "open_buy", "open_sell", "position")

    def __init__(self) -> None:
        self.position = 0
        self.basis = 0
        self.open_buy = 0
        self.open_sell = 0


class _Account:
    __slots__ = ("account", "cl_ord_ids", "collateral", "nonce", "orders", "positions", "pubkey")

    def __init__(self, account: int, pubkey: tuple[int, int], market_ids: Iterable[int]) -> None:
        self.account = account
        self.collateral = 0
        #: replay guard: see the module docstring ("Replay")
        self.nonce = 0
        self.pubkey = pubkey
        self.positions = {m: _Position() for m in market_ids}
        #: live order ids (dict for insertion order; mass cancel sorts them)
        self.orders: dict[int, None] = {}
        #: client id -> how many live orders carry it (1 with ``unique_cl_ord_ids``)
        self.cl_ord_ids: dict[int, int] = {}

    def add_cl_ord_id(self, cl: int) -> None:
        if cl:
            self.cl_ord_ids[cl] = self.cl_ord_ids.get(cl, 0) + 1

    def drop_cl_ord_id(self, cl: int) -> None:
        if cl:
            n = self.cl_ord_ids.pop(cl) - 1
            if n:
                self.cl_ord_ids[cl] = n


class _Side:
    """One side of one book: price levels in priority order, FIFO within a level."""

    __slots__ = ("count", "is_bid", "levels")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        # key: -price for bids, price for asks, so the first key is the best level
        self.levels: SortedDict = SortedDict()
        self.count = 0

    def key(self, price: int) -> int:
        return -price if self.is_bid else price

    def add(self, order: _Order) -> None:
        k = self.key(order.price)
        level = self.levels.get(k)
        if level is None:
            level = self.levels[k] = {}
        level[order.order_id] = order
        self.count += 1

    def remove(self, order: _Order) -> None:
        k = self.key(order.price)
        level = self.levels[k]
        del level[order.order_id]
        self.count -= 1
        if not level:
            del self.levels[k]

    def best(self) -> _Order | None:
        if not self.levels:
            return None
        level = self.levels.peekitem(0)[1]
        return next(iter(level.values()))

    def __iter__(self) -> Iterator[_Order]:
        for level in self.levels.values():
            yield from level.values()


class _Market:
    __slots__ = (
        "asks",
        "bids",
        "block_notional",
        "block_trades",
        "block_volume",
        "config",
        "cum_price_time",
        "last_close_ts",
        "mark",
    )

    def __init__(self, config: MarketConfig) -> None:
        self.config = config
        self.bids = _Side(True)
        self.asks = _Side(False)
        self.mark = config.initial_price
        self.cum_price_time = 0
        self.last_close_ts = 0
        self.block_notional = 0
        self.block_volume = 0
        self.block_trades = 0


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class ReferenceEngine:
    """Deterministic price-time-priority engine over integer state (see module docstring)."""

    def __init__(
        self,
        markets: Sequence[MarketConfig],
        *,
        max_accounts: int = MAX_ACCOUNTS,
        max_resting_per_side: int = 1 << 48,
        max_matches: int = 0,
        max_open_orders: int = 0,
        signed_nonces: bool = False,
        unique_cl_ord_ids: bool = True,
    ) -> None:
        """``max_accounts`` and ``max_resting_per_side`` are the capacity of the committed
        trees (the venue derives them from the tree depths): an account id at or above
        ``max_accounts`` is refused, and a GTC limit order is refused with ``BOOK_FULL``
        while its side already holds ``max_resting_per_side`` orders. ``max_matches`` > 0
        bounds the makers one taker command may touch (fills and self-trade actions, each a
        step of the block proof): a taker that reaches it while it still crosses has its rest
        cancelled (``MATCH_LIMIT``), and a FOK order that needs more is not fillable.
        ``max_open_orders`` > 0 refuses a GTC limit order (``TOO_MANY_ORDERS``) while its
        account already has that many resting orders, in all markets. ``signed_nonces``
        turns on the replay guard of signed commands (module docstring, "Replay").
        ``unique_cl_ord_ids`` False accepts a client id that a live order of the account
        already carries (module docstring, "Client order ids")."""
        if (
            not 0 < max_accounts <= MAX_ACCOUNTS
            or max_resting_per_side < 1
            or max_matches < 0
            or max_open_orders < 0
        ):
            raise EngineError("invalid engine limits")
        self.max_open_orders = max_open_orders
        self.signed_nonces = bool(signed_nonces)
        self.unique_cl_ord_ids = bool(unique_cl_ord_ids)
        self.max_accounts = max_accounts
        self.max_resting_per_side = max_resting_per_side
        self.max_matches = max_matches
        check_markets(markets)
        self._markets: dict[int, _Market] = {m.market_id: _Market(m) for m in markets}
        self._accounts: dict[int, _Account] = {}
        self._orders: dict[int, _Order] = {}
        self._last_seq = 0
        self._last_ts = 0
        self._touched_orders: set[int] = set()
        self._touched_accounts: set[int] = set()
        self._events: list[Event] = []

    # --- public API ---------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def last_ts(self) -> int:
        return self._last_ts

    def market_configs(self) -> tuple[MarketConfig, ...]:
        return tuple(m.config for m in self._markets.values())

    def process(self, cmd: Command) -> list[Event]:
        """Apply one command; return the events it caused (at least one)."""
        if cmd.seq != self._last_seq + 1 or cmd.seq > MAX_SEQ:
            raise EngineError(f"command seq {cmd.seq} does not follow {self._last_seq}")
        if not self._last_ts <= cmd.ts <= MAX_TS:
            raise EngineError(f"command ts {cmd.ts} is before the previous {self._last_ts}")
        self._last_seq = cmd.seq
        self._last_ts = cmd.ts
        self._events = events = []
        if isinstance(cmd, PlaceOrder):
            self._place(cmd)
        elif isinstance(cmd, CancelOrder):
            self._cancel_cmd(cmd)
        elif isinstance(cmd, ReplaceOrder):
            self._replace(cmd)
        elif isinstance(cmd, MassCancel):
            self._mass_cancel(cmd)
        elif isinstance(cmd, Deposit):
            self._deposit(cmd)
        elif isinstance(cmd, Withdraw):
            self._withdraw(cmd)
        elif isinstance(cmd, AddAccount):
            self._add_account(cmd)
        else:
            raise EngineError(f"unknown command {cmd!r}")
        return events

    def process_batch(self, cmds: Iterable[Command]) -> list[Event]:
        out: list[Event] = []
        for cmd in cmds:
            out.extend(self.process(cmd))
        return out

    def end_block(self, close_ts: int) -> tuple[MarketSummary, ...]:
        """Close the current block: settle each market's price and reset block counters; no
        later command may be timed before ``close_ts``."""
        if not self._last_ts <= close_ts <= MAX_TS:
            raise EngineError(f"block close {close_ts} is before the last command {self._last_ts}")
        out = []
        for m in self._markets.values():
            if close_ts < m.last_close_ts:
                raise EngineError("block close time went backwards")
            carried = m.block_volume == 0
            if not carried:
                # VWAP rounded half up: exact in integers.
                m.mark = (2 * m.block_notional + m.block_volume) // (2 * m.block_volume)
            # Time weights in milliseconds: integers, and u64-sized for realistic prices.
            m.cum_price_time += m.mark * (close_ts // 1_000_000 - m.last_close_ts // 1_000_000)
            m.last_close_ts = close_ts
            out.append(
                MarketSummary(
                    m.config.market_id,
                    m.mark,
                    carried,
                    m.block_volume,
                    m.block_notional,
                    m.block_trades,
                    m.cum_price_time,
                )
            )
            m.block_notional = m.block_volume = m.block_trades = 0
        # The next block's commands come after this close: the block proof checks its first
        # command against the close committed in the pre-state (a venue's blocks always closed
        # at their last command, so this forbids nothing they did).
        self._last_ts = close_ts
        return tuple(out)

    def drain_touched(self) -> tuple[list[int], list[int]]:
        """Order ids and account ids changed since the last call, sorted."""
        orders = sorted(self._touched_orders)
        accounts = sorted(self._touched_accounts)
        self._touched_orders = set()
        self._touched_accounts = set()
        return orders, accounts

    def order_view(self, order_id: int) -> OrderView | None:
        o = self._orders.get(order_id)
        return None if o is None else o.view()

    def has_live_cl_ord_id(self, account: int, cl_ord_id: int) -> bool:
        """True when a live order of ``account`` carries client id ``cl_ord_id`` (not 0):
        what a venue of rules 2 checks before sequencing (module docstring)."""
        a = self._accounts.get(account)
        return bool(cl_ord_id) and a is not None and cl_ord_id in a.cl_ord_ids

    def account_view(self, account: int) -> AccountView | None:
        a = self._accounts.get(account)
        if a is None:
            return None
        return AccountView(
            a.account,
            a.collateral,
            a.pubkey[0],
            a.pubkey[1],
            tuple(
                PositionView(mid, p.position, p.basis, p.open_buy, p.open_sell)
                for mid, p in a.positions.items()
            ),
            a.nonce,
        )

    def market_state(self, market: int) -> MarketStateView:
        m = self._markets[market]
        return MarketStateView(market, m.mark, m.cum_price_time, m.last_close_ts)

    def book(self, market: int, side: Side) -> list[OrderView]:
        """Resting orders of one side in priority order (best first)."""
        m = self._markets[market]
        return [o.view() for o in (m.bids if side == Side.BUY else m.asks)]

    def account_ids(self) -> list[int]:
        return sorted(self._accounts)

    def under_maintenance(self) -> list[int]:
        """Accounts with a position whose equity at the marks is below their maintenance
        margin (``ProvenMargin``'s rule: open orders not counted), by id: the ones the
        venue's keeper liquidates. O(accounts)."""
        return [
            aid
            for aid, a in sorted(self._accounts.items())
            if any(p.position for p in a.positions.values())
            and self._equity(a) < self._maintenance(a)
        ]

    # --- read-only queries for the block builder's step bound (``proofs.steps``) ----------

    def crossing_count(
        self, market: int, side: int, price: int, cap: int, qty: int = 0, account: int = -1
    ) -> int:
        """Resting orders a taker of ``side`` with limit ``price`` would cross in ``market``,
        counted up to ``cap`` (>= 0): asks at or below a buy's limit, bids at or above a
        sell's (any side other than BUY counts as a sell, as ``_crosses`` does). A market
        order's limit is its protection price, i.e. its ``price`` field. 0 for an unknown
        market. With ``qty`` > 0, counting stops once the orders counted that are not
        ``account``'s hold ``qty`` in all: the makers a taker of that quantity can reach
        (its own orders count without consuming quantity, the most self-trade prevention
        lets them cost). O(cap): only the crossing levels are visited, each holding an
        order."""
        if cap < 0 or qty < 0:
            raise ValueError("cap and qty must be >= 0")
        m = self._markets.get(market)
        if m is None:
            return 0
        is_buy = side == Side.BUY
        opposite = m.asks if is_buy else m.bids
        count = filled = 0
        for k, level in opposite.levels.items():
            if count >= cap or (qty and filled >= qty):
                break
            level_price = -k if opposite.is_bid else k
            if not (level_price <= price if is_buy else level_price >= price):
                break  # levels are in priority order: no later one crosses either
            if not qty:
                count += min(len(level), cap - count)
                continue
            for o in level.values():
                if count >= cap or filled >= qty:
                    break
                count += 1
                if o.account != account:
                    filled += o.qty
        return count

    def open_orders(self, account: int, market: int) -> int:
        """Resting orders of ``account`` in ``market`` (in every market for ``ALL_MARKETS``):
        what a mass cancel of theirs would remove. 0 for an unknown account or market.
        O(the account's orders), at most ``max_open_orders`` when that is set."""
        a = self._accounts.get(account)
        if a is None:
            return 0
        if market == ALL_MARKETS:
            return len(a.orders)
        return sum(self._orders[oid].market == market for oid in a.orders)

    def snapshot(self) -> EngineSnapshot:
        orders: list[OrderView] = []
        for m in self._markets.values():
            orders.extend(o.view() for o in m.bids)
            orders.extend(o.view() for o in m.asks)
        return EngineSnapshot(
            self.market_configs(),
            tuple(self.market_state(mid) for mid in self._markets),
            tuple(self.account_view(a) for a in sorted(self._accounts)),  # type: ignore[misc]
            tuple(orders),
            self._last_seq,
            self._last_ts,
        )

    @classmethod
    def from_snapshot(cls, snap: EngineSnapshot, **limits: int) -> ReferenceEngine:
        eng = cls(snap.markets, **limits)
        for ms in snap.market_states:
            m = eng._markets[ms.market]
            m.mark, m.cum_price_time, m.last_close_ts = (
                ms.mark,
                int(ms.cum_price_time),
                ms.last_close_ts,
            )
        for av in snap.accounts:
            if not 0 <= av.account < eng.max_accounts:
                raise EngineError(f"snapshot account id {av.account} is out of range")
            a = _Account(av.account, (av.pubkey_x, av.pubkey_y), eng._markets)
            a.collateral = int(av.collateral)
            a.nonce = av.nonce
            for pv in av.positions:
                p = a.positions[pv.market]
                # open_buy/open_sell are rebuilt by resting the orders below
                p.position, p.basis = pv.position, int(pv.basis)
            eng._accounts[av.account] = a
        for ov in snap.orders:
            eng._rest(
                _Order(
                    ov.order_id,
                    ov.account,
                    ov.market,
                    ov.side,
                    ov.price,
                    ov.qty,
                    ov.priority,
                    ov.cl_ord_id,
                )
            )
        eng._last_seq, eng._last_ts = snap.last_seq, snap.last_ts
        for av in snap.accounts:
            if eng.account_view(av.account) != av:
                raise EngineError(f"snapshot is inconsistent for account {av.account}")
        eng._touched_orders.clear()
        eng._touched_accounts.clear()
        return eng

    # --- validation ---------------------------------------------------------------------

    def _check_price(self, m: _Market, price: int) -> ResultCode:
        c = m.config
        if price <= 0:
            return ResultCode.INVALID_PRICE
        if price % c.tick_size:
            return ResultCode.PRICE_OFF_TICK
        if price < c.min_price or price > c.max_price:
            return ResultCode.PRICE_OUT_OF_BAND
        if c.band_bps and abs(price - m.mark) * BPS > c.band_bps * m.mark:
            return ResultCode.PRICE_OUT_OF_BAND
        return ResultCode.OK

    def _check_qty(self, m: _Market, qty: int) -> ResultCode:
        if qty <= 0 or qty > m.config.max_qty:
            return ResultCode.INVALID_QUANTITY
        if qty % m.config.lot_size:
            return ResultCode.QUANTITY_OFF_LOT
        return ResultCode.OK

    def _reject(self, cmd: Command, code: ResultCode, ref: int) -> None:
        self._events.append(Rejected(cmd.seq, cmd.account, int(code), ref))

    def _stale(self, cmd: PlaceOrder | ReplaceOrder | Withdraw) -> bool:
        """With ``signed_nonces``: reject ``cmd`` (``STALE_NONCE``, ref its ``cl_ord_id``)
        and return True when its account exists and ``cl_ord_id`` is not above the account's
        nonce: a replay of a signed intent (module docstring). An unknown account is left to
        the command's own UNKNOWN_ACCOUNT check."""
        if not self.signed_nonces:
            return False
        a = self._accounts.get(cmd.account)
        if a is None or cmd.cl_ord_id > a.nonce:
            return False
        self._reject(cmd, ResultCode.STALE_NONCE, cmd.cl_ord_id)
        return True

    def _accept_nonce(self, a: _Account, cl_ord_id: int) -> None:
        """An accepted signed command raises its account's nonce (a state change)."""
        if self.signed_nonces:
            a.nonce = cl_ord_id
            self._touched_accounts.add(a.account)

    # --- margin -------------------------------------------------------------------------

    def _requirement(self, a: _Account, market: int = 0, buy: int = 0, sell: int = 0) -> int:
        """Initial margin of ``a``, with ``buy``/``sell`` lots added to ``market``'s orders.

        Per market: ceil(imf_bps * mark * worst_case_qty / 10000), where the worst case is the
        larger absolute position reached if every open buy or every open sell order fills.
        """
        total = 0
        for mid, p in a.positions.items():
            ob, os_ = p.open_buy, p.open_sell
            if mid == market:
                ob += buy
                os_ += sell
            risk = max(abs(p.position + ob), abs(p.position - os_))
            if risk:
                m = self._markets[mid]
                total += _ceil_div(m.config.imf_bps * m.mark * risk, BPS)
        return total

    def _equity(self, a: _Account) -> int:
        eq = a.collateral
        for mid, p in a.positions.items():
            if p.position:
                eq += p.position * self._markets[mid].mark - p.basis
        return eq

    def _maintenance(self, a: _Account) -> int:
        """Maintenance margin of ``a``: open orders do not count (ProvenMargin's rule)."""
        total = 0
        for mid, p in a.positions.items():
            if p.position:
                m = self._markets[mid]
                total += _ceil_div(m.config.mmf_bps * m.mark * abs(p.position), BPS)
        return total

    def _liquidatable(self, a: _Account, cmd: PlaceOrder) -> bool:
        """The liquidation rule for an order of type LIQUIDATION (module docstring)."""
        p = a.positions[cmd.market]
        if p.open_buy or p.open_sell or not p.position:
            return False
        if (cmd.side == Side.BUY) != (p.position < 0) or cmd.qty > abs(p.position):
            return False
        return self._equity(a) < self._maintenance(a)

    def _margin_ok(self, a: _Account, market: int, side: int, price: int, qty: int) -> bool:
        """Pre-trade check of a new (or grown) order of ``qty`` lots at ``price``.

        An order that does not raise the requirement is always allowed (it reduces risk).
        Otherwise equity at the mark, less the loss the order would lock in against the mark
        if it filled at its limit, must cover the initial margin including the order.
        """
        buy, sell = (qty, 0) if side == Side.BUY else (0, qty)
        before = self._requirement(a)
        after = self._requirement(a, market, buy, sell)
        if after <= before:
            return True
        mark = self._markets[market].mark
        lock_in = max(0, price - mark) * qty if side == Side.BUY else max(0, mark - price) * qty
        return self._equity(a) - lock_in >= after

    # --- commands -----------------------------------------------------------------------

    def _add_account(self, cmd: AddAccount) -> None:
        if not 0 <= cmd.account < self.max_accounts:
            return self._reject(cmd, ResultCode.INVALID_ACCOUNT_ID, cmd.account)
        if cmd.account in self._accounts:
            return self._reject(cmd, ResultCode.ACCOUNT_EXISTS, cmd.account)
        self._accounts[cmd.account] = _Account(
            cmd.account, (cmd.pubkey_x, cmd.pubkey_y), self._markets
        )
        self._touched_accounts.add(cmd.account)
        self._events.append(AccountAdded(cmd.seq, cmd.account))
        return None

    def _deposit(self, cmd: Deposit) -> None:
        a = self._accounts.get(cmd.account)
        if a is None:
            return self._reject(cmd, ResultCode.UNKNOWN_ACCOUNT, cmd.account)
        if not 0 < cmd.amount <= MAX_AMOUNT:
            return self._reject(cmd, ResultCode.INVALID_AMOUNT, cmd.amount)
        a.collateral += cmd.amount
        self._touched_accounts.add(a.account)
        self._events.append(CollateralChanged(cmd.seq, a.account, cmd.amount, a.collateral))
        return None

    def _withdraw(self, cmd: Withdraw) -> None:
        a = self._accounts.get(cmd.account)
        if a is None:
            return self._reject(cmd, ResultCode.UNKNOWN_ACCOUNT, cmd.account)
        if self._stale(cmd):
            return None
        if self.signed_nonces and cmd.cl_ord_id > MAX_CL_ORD_ID:
            # out of the committed width, as for an order's client id
            return self._reject(cmd, ResultCode.INVALID_ORDER_FLAGS, cmd.cl_ord_id)
        if not 0 < cmd.amount <= MAX_AMOUNT:
            return self._reject(cmd, ResultCode.INVALID_AMOUNT, cmd.amount)
        if cmd.amount > a.collateral or self._equity(a) - cmd.amount < self._requirement(a):
            return self._reject(cmd, ResultCode.INSUFFICIENT_COLLATERAL, cmd.amount)
        a.collateral -= cmd.amount
        self._touched_accounts.add(a.account)
        self._accept_nonce(a, cmd.cl_ord_id)
        self._events.append(CollateralChanged(cmd.seq, a.account, -cmd.amount, a.collateral))
        return None

    def _place(self, cmd: PlaceOrder) -> None:
        a = self._accounts.get(cmd.account)
        if a is None:
            return self._reject(cmd, ResultCode.UNKNOWN_ACCOUNT, cmd.cl_ord_id)
        liquidation = cmd.order_type == OrderType.LIQUIDATION
        if not liquidation and self._stale(cmd):
            return None
        m = self._markets.get(cmd.market)
        if m is None:
            return self._reject(cmd, ResultCode.UNKNOWN_MARKET, cmd.cl_ord_id)
        code = self._check_qty(m, cmd.qty)
        if code == ResultCode.OK:
            code = self._check_price(m, cmd.price)
        if code == ResultCode.OK and not self._flags_ok(cmd):
            code = ResultCode.INVALID_ORDER_FLAGS
        if code == ResultCode.OK and not 0 <= cmd.cl_ord_id <= MAX_CL_ORD_ID:
            code = ResultCode.INVALID_ORDER_FLAGS
        if (
            code == ResultCode.OK
            and self.unique_cl_ord_ids
            and cmd.cl_ord_id
            and cmd.cl_ord_id in a.cl_ord_ids
        ):
            code = ResultCode.DUPLICATE_CLIENT_ORDER_ID
        if code == ResultCode.OK and liquidation:
            if not self._liquidatable(a, cmd):
                code = ResultCode.NOT_LIQUIDATABLE
        elif code == ResultCode.OK and not self._margin_ok(
            a, cmd.market, cmd.side, cmd.price, cmd.qty
        ):
            code = ResultCode.INSUFFICIENT_MARGIN
        rests = cmd.order_type == OrderType.LIMIT and cmd.tif == TimeInForce.GTC
        if code == ResultCode.OK and rests:
            own = m.bids if cmd.side == Side.BUY else m.asks
            if own.count >= self.max_resting_per_side:
                code = ResultCode.BOOK_FULL
            elif 0 < self.max_open_orders <= len(a.orders):
                code = ResultCode.TOO_MANY_ORDERS
        if code == ResultCode.OK:
            opposite = m.asks if cmd.side == Side.BUY else m.bids
            if cmd.post_only and self._crosses(cmd.side, cmd.price, opposite.best()):
                code = ResultCode.POST_ONLY_WOULD_CROSS
            elif cmd.tif == TimeInForce.FOK and not self._fok_fillable(
                cmd.account, cmd.side, cmd.price, cmd.qty, cmd.stp, opposite
            ):
                code = ResultCode.FOK_NOT_FILLABLE
        if code != ResultCode.OK:
            return self._reject(cmd, code, cmd.cl_ord_id)

        if not liquidation:
            self._accept_nonce(a, cmd.cl_ord_id)
        order = _Order(
            cmd.seq, cmd.account, cmd.market, cmd.side, cmd.price, cmd.qty, cmd.seq, cmd.cl_ord_id
        )
        self._events.append(
            OrderAccepted(
                cmd.seq,
                order.order_id,
                order.account,
                order.market,
                order.cl_ord_id,
                order.side,
                order.price,
                order.qty,
            )
        )
        self._execute(cmd.seq, order, cmd.stp, rests)
        return None

    @staticmethod
    def _flags_ok(cmd: PlaceOrder) -> bool:
        if cmd.side not in (Side.BUY, Side.SELL) or cmd.stp not in (0, 1, 2, 3):
            return False
        if cmd.tif not in (TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK):
            return False
        if cmd.order_type == OrderType.MARKET:
            return cmd.tif != TimeInForce.GTC and not cmd.post_only
        if cmd.order_type == OrderType.LIQUIDATION:  # the venue's: no client id
            return cmd.tif == TimeInForce.IOC and not cmd.post_only and cmd.cl_ord_id == 0
        if cmd.order_type != OrderType.LIMIT:
            return False
        return not (cmd.post_only and cmd.tif != TimeInForce.GTC)

    @staticmethod
    def _crosses(side: int, price: int, maker: _Order | None) -> bool:
        if maker is None:
            return False
        return maker.price <= price if side == Side.BUY else maker.price >= price

    def _fok_fillable(
        self, account: int, side: int, price: int, qty: int, stp: int, opposite: _Side
    ) -> bool:
        """Dry run of ``_execute``: would the order fill completely by trades alone?"""
        left = self.max_matches or -1
        for maker in opposite:
            if not self._crosses(side, price, maker) or left == 0:
                return False
            left -= 1
            if maker.account == account:
                if stp == StpMode.CANCEL_MAKER:
                    continue
                return False  # taker cancelled or decremented: not filled by trades
            qty -= min(qty, maker.qty)
            if qty == 0:
                return True
        return False

    def _execute(self, seq: int, taker: _Order, stp: int, rests: bool) -> None:
        """Match ``taker`` against the opposite side, then rest or cancel what is left."""
        m = self._markets[taker.market]
        opposite = m.asks if taker.side == Side.BUY else m.bids
        ta = self._accounts[taker.account]
        events = self._events
        left = self.max_matches or -1
        while taker.qty:
            maker = opposite.best()
            if not self._crosses(taker.side, taker.price, maker):
                break
            assert maker is not None
            if left == 0:  # still crossing: the rest may neither trade on nor rest
                self._cancel_taker(seq, taker, CancelReason.MATCH_LIMIT)
                return
            left -= 1
            if maker.account == taker.account:
                if stp == StpMode.CANCEL_MAKER:
                    self._remove(maker, CancelReason.SELF_TRADE, seq)
                    continue
                if stp == StpMode.DECREMENT:
                    d = min(taker.qty, maker.qty)
                    taker.qty -= d
                    events.append(
                        OrderReduced(seq, taker.order_id, taker.account, taker.market, d, taker.qty)
                    )
                    self._reduce(maker, d, seq)
                    continue
                if stp == StpMode.CANCEL_BOTH:
                    self._remove(maker, CancelReason.SELF_TRADE, seq)
                self._cancel_taker(seq, taker, CancelReason.SELF_TRADE)
                return
            q = min(taker.qty, maker.qty)
            price = maker.price
            taker.qty -= q
            maker.qty -= q
            ma = self._accounts[maker.account]
            mp = ma.positions[m.config.market_id]
            if maker.side == Side.BUY:
                mp.open_buy -= q
            else:
                mp.open_sell -= q
            self._fill(ta, m.config.market_id, taker.side, price, q)
            self._fill(ma, m.config.market_id, maker.side, price, q)
            m.block_notional += price * q
            m.block_volume += q
            m.block_trades += 1
            events.append(
                Trade(
                    seq,
                    m.config.market_id,
                    taker.order_id,
                    maker.order_id,
                    taker.account,
                    maker.account,
                    taker.side,
                    price,
                    q,
                    taker.qty,
                    maker.qty,
                )
            )
            self._touched_orders.add(maker.order_id)
            self._touched_accounts.add(maker.account)
            self._touched_accounts.add(taker.account)
            if maker.qty == 0:
                self._unlink(maker)
        if taker.qty:
            if rests:
                self._rest(taker)
            else:
                self._cancel_taker(seq, taker, CancelReason.IOC_REMAINDER)

    def _cancel_taker(self, seq: int, taker: _Order, reason: int) -> None:
        """The taker's remaining quantity is cancelled (it never rested)."""
        self._events.append(
            OrderCancelled(seq, taker.order_id, taker.account, taker.market, taker.qty, reason)
        )
        taker.qty = 0

    def _fill(self, a: _Account, market: int, side: int, price: int, q: int) -> None:
        """Apply a fill of ``q`` lots at ``price`` to ``a``'s position; realise PnL."""
        p = a.positions[market]
        s = 1 if side == Side.BUY else -1
        pos = p.position
        if pos == 0 or (pos > 0) == (s > 0):
            p.position = pos + s * q
            p.basis += s * q * price
            return
        size = abs(pos)
        close = min(q, size)
        # Basis released by closing ``close`` of ``size`` lots: magnitude rounded down, so
        # closing everything releases the whole basis exactly.
        released = abs(p.basis) * close // size
        signed_released = released if p.basis >= 0 else -released
        direction = 1 if pos > 0 else -1
        a.collateral += direction * (close * price - released)
        p.basis -= signed_released
        p.position = pos + s * close
        rest = q - close
        if rest:
            p.position += s * rest
            p.basis += s * rest * price

    def _rest(self, order: _Order) -> None:
        m = self._markets[order.market]
        (m.bids if order.side == Side.BUY else m.asks).add(order)
        self._orders[order.order_id] = order
        a = self._accounts[order.account]
        a.orders[order.order_id] = None
        a.add_cl_ord_id(order.cl_ord_id)
        p = a.positions[order.market]
        if order.side == Side.BUY:
            p.open_buy += order.qty
        else:
            p.open_sell += order.qty
        self._touched_orders.add(order.order_id)
        self._touched_accounts.add(order.account)

    def _unlink(self, order: _Order) -> None:
        """Take a resting order out of every index (its open quantity is already released)."""
        m = self._markets[order.market]
        (m.bids if order.side == Side.BUY else m.asks).remove(order)
        del self._orders[order.order_id]
        a = self._accounts[order.account]
        del a.orders[order.order_id]
        a.drop_cl_ord_id(order.cl_ord_id)
        self._touched_orders.add(order.order_id)
        self._touched_accounts.add(order.account)

    def _release(self, order: _Order, qty: int) -> None:
        p = self._accounts[order.account].positions[order.market]
        if order.side == Side.BUY:
            p.open_buy -= qty
        else:
            p.open_sell -= qty

    def _remove(self, order: _Order, reason: CancelReason, seq: int) -> None:
        self._release(order, order.qty)
        self._unlink(order)
        self._events.append(
            OrderCancelled(seq, order.order_id, order.account, order.market, order.qty, reason)
        )

    def _reduce(self, order: _Order, d: int, seq: int) -> None:
        self._release(order, d)
        order.qty -= d
        self._events.append(
            OrderReduced(seq, order.order_id, order.account, order.market, d, order.qty)
        )
        self._touched_orders.add(order.order_id)
        self._touched_accounts.add(order.account)
        if order.qty == 0:
            self._unlink(order)

    def _find_own(self, cmd: CancelOrder | ReplaceOrder) -> _Order | None:
        if cmd.account not in self._accounts:
            self._reject(cmd, ResultCode.UNKNOWN_ACCOUNT, cmd.order_id)
            return None
        if cmd.market not in self._markets:
            self._reject(cmd, ResultCode.UNKNOWN_MARKET, cmd.order_id)
            return None
        o = self._orders.get(cmd.order_id)
        if o is None or o.market != cmd.market:
            self._reject(cmd, ResultCode.UNKNOWN_ORDER, cmd.order_id)
            return None
        if o.account != cmd.account:
            self._reject(cmd, ResultCode.NOT_ORDER_OWNER, cmd.order_id)
            return None
        return o

    def _cancel_cmd(self, cmd: CancelOrder) -> None:
        o = self._find_own(cmd)
        if o is not None:
            self._remove(o, CancelReason.USER, cmd.seq)

    def _mass_cancel(self, cmd: MassCancel) -> None:
        a = self._accounts.get(cmd.account)
        if a is None:
            return self._reject(cmd, ResultCode.UNKNOWN_ACCOUNT, cmd.market)
        if cmd.market != ALL_MARKETS and cmd.market not in self._markets:
            return self._reject(cmd, ResultCode.UNKNOWN_MARKET, cmd.market)
        count = 0
        for oid in sorted(a.orders):
            o = self._orders[oid]
            if cmd.market == ALL_MARKETS or o.market == cmd.market:
                self._remove(o, CancelReason.MASS_CANCEL, cmd.seq)
                count += 1
        # Closes the command even when nothing was open (the FIX mass-cancel report).
        self._events.append(MassCancelled(cmd.seq, a.account, cmd.market, count))
        return None

    def _replace(self, cmd: ReplaceOrder) -> None:
        if self._stale(cmd):
            return None
        o = self._find_own(cmd)
        if o is None:
            return None
        m = self._markets[o.market]
        a = self._accounts[o.account]
        code = self._check_qty(m, cmd.qty)
        if code == ResultCode.OK and cmd.price != o.price:
            code = self._check_price(m, cmd.price)
        new_cl = cmd.cl_ord_id or o.cl_ord_id
        if code == ResultCode.OK and not 0 <= new_cl <= MAX_CL_ORD_ID:
            code = ResultCode.INVALID_ORDER_FLAGS
        if (
            code == ResultCode.OK
            and self.unique_cl_ord_ids
            and new_cl != o.cl_ord_id
            and new_cl in a.cl_ord_ids
        ):
            code = ResultCode.DUPLICATE_CLIENT_ORDER_ID
        keeps = cmd.price == o.price and cmd.qty <= o.qty
        if code == ResultCode.OK and not keeps:
            # Check margin as if the old order were gone and the new one placed.
            self._release(o, o.qty)
            ok = self._margin_ok(a, o.market, o.side, cmd.price, cmd.qty)
            p = a.positions[o.market]
            if o.side == Side.BUY:
                p.open_buy += o.qty
            else:
                p.open_sell += o.qty
            if not ok:
                code = ResultCode.INSUFFICIENT_MARGIN
        if code != ResultCode.OK:
            return self._reject(cmd, code, cmd.order_id)
        self._accept_nonce(a, cmd.cl_ord_id)
        if new_cl != o.cl_ord_id:
            a.drop_cl_ord_id(o.cl_ord_id)
            a.add_cl_ord_id(new_cl)
            o.cl_ord_id = new_cl
        if keeps:
            self._release(o, o.qty - cmd.qty)
            o.qty = cmd.qty
            self._touched_orders.add(o.order_id)
            self._touched_accounts.add(o.account)
            self._events.append(
                OrderReplaced(
                    cmd.seq, o.order_id, o.account, o.market, new_cl, o.price, o.qty, True
                )
            )
            return None
        self._release(o, o.qty)
        self._unlink(o)
        o.price, o.qty, o.priority = cmd.price, cmd.qty, cmd.seq
        self._events.append(
            OrderReplaced(cmd.seq, o.order_id, o.account, o.market, new_cl, o.price, o.qty, False)
        )
        # The moved order is a GTC limit order again: it may trade if it now crosses.
        # Its own STP mode is not stored, so a replace that crosses itself cancels the taker.
        self._execute(cmd.seq, o, StpMode.CANCEL_TAKER, True)
        return None

    # --- invariants ---------------------------------------------------------------------

    def _check(self) -> None:
        """Assert every invariant (O(state)); dumps the offending item on failure."""
        seen: set[int] = set()
        for mid, m in self._markets.items():
            for side in (m.bids, m.asks):
                prev = None
                for o in side:
                    assert o.market == mid and o.qty > 0, o.view()
                    assert (o.side == Side.BUY) == side.is_bid, o.view()
                    assert self._orders.get(o.order_id) is o, o.view()
                    key = (side.key(o.price), o.priority)
                    assert prev is None or prev < key, (prev, o.view())
                    prev = key
                    seen.add(o.order_id)
            bb, ba = m.bids.best(), m.asks.best()
            assert bb is None or ba is None or bb.price < ba.price, ("crossed", mid)
        assert seen == set(self._orders), "order index out of sync with books"
        for a in self._accounts.values():
            for mid, p in a.positions.items():
                ob = sum(
                    o.qty
                    for o in self._orders.values()
                    if o.account == a.account and o.market == mid and o.side == Side.BUY
                )
                os_ = sum(
                    o.qty
                    for o in self._orders.values()
                    if o.account == a.account and o.market == mid and o.side == Side.SELL
                )
                assert (p.open_buy, p.open_sell) == (ob, os_), (a.account, mid, ob, os_)
                assert p.position != 0 or p.basis == 0, (a.account, mid, p.basis)
            live = {oid for oid, o in self._orders.items() if o.account == a.account}
            assert set(a.orders) == live, (a.account, a.orders, live)
            counts: dict[int, int] = {}
            for oid in live:
                if cl := self._orders[oid].cl_ord_id:
                    counts[cl] = counts.get(cl, 0) + 1
            assert a.cl_ord_ids == counts, (a.account, a.cl_ord_ids, counts)
            if self.unique_cl_ord_ids:
                assert all(n == 1 for n in counts.values()), (a.account, counts)
            # the nonce only rises, and every live client id was a nonce when it was accepted
            assert 0 <= a.nonce <= MAX_CL_ORD_ID, (a.account, a.nonce)
            stale = [cl for cl in a.cl_ord_ids if cl > a.nonce] if self.signed_nonces else []
            assert not stale, (a.account, a.nonce, stale)
        for mid in self._markets:
            net = sum(a.positions[mid].position for a in self._accounts.values())
            assert net == 0, ("positions do not net to zero", mid, net)
