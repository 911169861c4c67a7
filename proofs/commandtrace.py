"""Python model of the command and settlement parts of the block circuit: their circuit inputs.

``proofs/circuits/command.circom`` and ``proofs/circuits/settle.circom`` prove, per command,
its hash (``CommandHash``) and its chaining into the block's command commitment
(``CommandChain``), the business validity of an accepted order (``PlaceValid``), and per
block the settlement price, TWAP accumulator and public ``settle``/``meta`` elements
(``Settle``, ``BlockMeta``). This module turns real commands, market configurations and block
headers into those templates' inputs, including every division hint (the circuits take hints
as private inputs so that tests can feed wrong ones), and computes the public elements the
templates output. The rules themselves are not restated: hashes come from ``proofs.state``
(``command_hash``), prices from the engine's ``MarketSummary``; only the division hints and
the public packing (``BLOCK.md``) are defined here.

Pure: no I/O, no engine state.
"""

from __future__ import annotations

from collections.abc import Sequence

from matching.block import BlockHeader
from matching.engine import MarketStateView
from matching.types import (
    Command,
    MarketConfig,
    MarketSummary,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)

from .poseidon import FIELD_MODULUS, pack
from .state import command_hash

__all__ = [
    "COMMAND_INPUTS",
    "NS_PER_MS",
    "chain_inputs",
    "command_inputs",
    "meta_element",
    "place_valid_inputs",
    "place_valid_outputs",
    "settle_element",
    "settle_inputs",
    "settle_outputs",
]

#: ``CommandHash`` input name -> command attribute (the union of all commands' fields).
COMMAND_INPUTS: dict[str, str] = {
    "seq": "seq",
    "ts": "ts",
    "account": "account",
    "market": "market",
    "clOrdId": "cl_ord_id",
    "side": "side",
    "orderType": "order_type",
    "tif": "tif",
    "price": "price",
    "qty": "qty",
    "postOnly": "post_only",
    "stp": "stp",
    "orderId": "order_id",
    "amount": "amount",
    "pubkeyX": "pubkey_x",
    "pubkeyY": "pubkey_y",
}

#: Nanoseconds per millisecond: the TWAP accumulator's time unit (``MarketSummary``).
NS_PER_MS = 1_000_000


def _felt(value: int) -> int:
    """A signed integer as the field element the circuits use (``-x`` is ``p - x``)."""
    return int(value) % FIELD_MODULUS


def command_inputs(cmd: Command) -> dict[str, int]:
    """``CommandHash`` inputs for ``cmd``: its type code and every field, absent ones 0.

    Values are taken as they are (no range check here), so a test can build the inputs of a
    command outside the wire schema and see the circuit refuse it.
    """
    tag: int = type(cmd).__struct_config__.tag  # type: ignore[assignment]
    inputs = {"type": tag}
    for name, attr in COMMAND_INPUTS.items():
        inputs[name] = _felt(int(getattr(cmd, attr, 0)))
    return inputs


def chain_inputs(commands: Sequence[Command], n: int) -> dict[str, list[int]]:
    """``CommandChain(n)`` inputs: the commands' hashes then padding (hash 0, inactive).

    The output the circuit must produce is ``PoseidonState.command_commitment(commands)``
    (the block header's ``command_commitment``) and ``len(commands)``.
    """
    if len(commands) > n:
        raise ValueError(f"{len(commands)} commands do not fit a chain of {n}")
    pad = n - len(commands)
    return {
        "h": [command_hash(c) for c in commands] + [0] * pad,
        "active": [1] * len(commands) + [0] * pad,
    }


def place_valid_inputs(config: MarketConfig, mark: int, cmd: PlaceOrder) -> dict[str, int]:
    """``PlaceValid`` inputs: the market's parameters, the mark, the order's fields and the
    divisibility hints (``p divmod tick`` and ``q divmod lot`` of the positive parts)."""
    p = max(cmd.price, 0)
    q = max(cmd.qty, 0)
    return {
        "tickSize": config.tick_size,
        "lotSize": config.lot_size,
        "minPrice": config.min_price,
        "maxPrice": config.max_price,
        "maxQty": config.max_qty,
        "bandBps": config.band_bps,
        "mark": mark,
        "side": cmd.side,
        "orderType": cmd.order_type,
        "tif": cmd.tif,
        "price": _felt(cmd.price),
        "qty": _felt(cmd.qty),
        "postOnly": int(cmd.post_only),
        "stp": cmd.stp,
        "priceQ": p // config.tick_size,
        "priceR": p % config.tick_size,
        "qtyQ": q // config.lot_size,
        "qtyR": q % config.lot_size,
    }


def place_valid_outputs(config: MarketConfig, mark: int, cmd: Command) -> tuple[int, ...]:
    """``PlaceValid``'s outputs (qtyOk, priceOk, flagsOk, valid) for any command's fields (absent
    ones 0): the values the circuit computes for every input, as the block's command slot
    exposes them (``valid`` is the engine's check of an accepted PlaceOrder)."""
    price, qty = int(getattr(cmd, "price", 0)), int(getattr(cmd, "qty", 0))
    side, ot, tif = (int(getattr(cmd, k, 0)) for k in ("side", "order_type", "tif"))
    post, stp = int(getattr(cmd, "post_only", 0)), int(getattr(cmd, "stp", 0))
    c = config
    qty_ok = 0 < qty <= c.max_qty and qty % c.lot_size == 0
    band_ok = c.band_bps == 0 or abs(price - mark) * 10_000 <= c.band_bps * mark
    price_ok = (
        price > 0 and price % c.tick_size == 0 and c.min_price <= price <= c.max_price and band_ok
    )
    gtc = tif == TimeInForce.GTC
    if ot == OrderType.MARKET:
        kind_ok = not post and not gtc
    elif ot == OrderType.LIQUIDATION:
        kind_ok = not post and tif == TimeInForce.IOC
    else:
        kind_ok = ot == OrderType.LIMIT and not (post and not gtc)
    flags_ok = (
        side in (Side.BUY, Side.SELL)
        and stp < 4
        and tif in (TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK)
        and kind_ok
    )
    return int(qty_ok), int(price_ok), int(flags_ok), int(qty_ok and price_ok and flags_ok)


def settle_inputs(
    notional: int, volume: int, trades: int, prev: MarketStateView, close_ts: int
) -> dict[str, int]:
    """``Settle`` inputs for one market: the block's accumulators, the state before the block
    (mark, accumulator, last close) and the close time, with the hints the circuit checks:
    ``2 * notional + volume = q * den + r`` (``den = 2 * volume``, or 2 with no volume) and
    both timestamps split into milliseconds and remainder."""
    den = 2 * volume if volume else 2
    q, r = divmod(2 * notional + volume, den)
    close_ms, close_rem = divmod(close_ts, NS_PER_MS)
    last_ms, last_rem = divmod(prev.last_close_ts, NS_PER_MS)
    return {
        "notional": notional,
        "volume": volume,
        "trades": trades,
        "mark": prev.mark,
        "cumPriceTime": int(prev.cum_price_time),
        "lastCloseTs": prev.last_close_ts,
        "closeTs": close_ts,
        "q": q,
        "r": r,
        "closeMs": close_ms,
        "closeRem": close_rem,
        "lastMs": last_ms,
        "lastRem": last_rem,
    }


def settle_element(summary: MarketSummary) -> int:
    """The public ``settle`` element of a market: ``pack(price 40, carried 1, volume 64,
    trade_count 32)`` (BLOCK.md)."""
    return pack(
        [
            (summary.price, 40),
            (int(summary.carried), 1),
            (summary.volume, 64),
            (summary.trade_count, 32),
        ]
    )


def settle_outputs(summary: MarketSummary) -> list[int]:
    """``Settle``'s outputs in circom order (price, carried, cumPriceTimeOut, settle): what the
    engine's summary says, so the proof is checked against the engine, not this module."""
    return [
        summary.price,
        int(summary.carried),
        int(summary.cum_price_time),
        settle_element(summary),
    ]


def meta_element(header: BlockHeader) -> int:
    """The public ``meta`` element of a block: ``pack(height 32, close_ts 64, command_count 16,
    first_seq 48)`` (BLOCK.md)."""
    return pack(
        [
            (header.height, 32),
            (header.close_ts, 64),
            (header.command_count, 16),
            (header.first_seq, 48),
        ]
    )
