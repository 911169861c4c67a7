"""What the venue sends to liquidate an account under maintenance margin.

The rule is the engine's (``ReferenceEngine._liquidatable``, module docstring "Liquidation"),
checked again by the block proof; this module only builds the commands: the account's
resting orders in a market cancelled, then an unsigned liquidation order closing its position
there. The gateway's keeper (``Gateway(liquidate_every=...)``) and the demo use it.
"""

from __future__ import annotations

from matching import MarketConfig, MassCancel, OrderType, PlaceOrder, Side, TimeInForce
from matching.engine import BPS
from matching.types import Command

__all__ = ["LIQUIDATION_BAND_BPS", "liquidation_limit", "liquidation_orders"]

#: how far from the mark a liquidation order may trade by default (10%): its limit price
LIQUIDATION_BAND_BPS = 1_000


def liquidation_limit(market: MarketConfig, mark: int, side: Side, band_bps: int) -> int:
    """A liquidation order's limit: the mark moved ``band_bps`` against the account (down for a
    sell, up for a buy), on tick, inside the market's price range and its own band."""
    tick = market.tick_size
    bands = [band_bps] + ([market.band_bps] if market.band_bps else [])
    band = min(bands)
    if side == Side.SELL:
        price = -(-mark * (BPS - band) // (BPS * tick)) * tick  # rounded up: inside the band
        return max(price, -(-market.min_price // tick) * tick, tick)
    price = mark * (BPS + band) // (BPS * tick) * tick
    return min(price, market.max_price // tick * tick)


def liquidation_orders(
    engine: object, account: int, *, band_bps: int = LIQUIDATION_BAND_BPS
) -> list[Command]:
    """The commands that liquidate ``account`` on ``engine`` (the venue's, read on its owner
    thread): for each market where it holds a position, a MassCancel of its resting orders
    there (when it has any), then an unsigned liquidation order closing the position (or
    ``max_qty`` of it) at most ``band_bps`` away from the mark. Empty when the account is not
    under maintenance margin (the engine's own ``under_maintenance``, so the rule is stated
    once). ``seq``/``ts`` are 0: ``VenueNode.submit`` numbers them."""
    if account not in engine.under_maintenance():  # type: ignore[attr-defined]
        return []
    view = engine.account_view(account)  # type: ignore[attr-defined]
    configs = {m.market_id: m for m in engine.market_configs()}  # type: ignore[attr-defined]
    marks = {mid: engine.market_state(mid).mark for mid in configs}  # type: ignore[attr-defined]
    out: list[Command] = []
    for p in view.positions:
        if not p.position:
            continue
        m = configs[p.market]
        if engine.open_orders(account, p.market):  # type: ignore[attr-defined]
            out.append(MassCancel(0, 0, account, p.market))
        side = Side.SELL if p.position > 0 else Side.BUY
        qty = min(abs(p.position), m.max_qty - m.max_qty % m.lot_size)
        price = liquidation_limit(m, marks[p.market], side, band_bps)
        kind, tif = OrderType.LIQUIDATION, TimeInForce.IOC
        out.append(PlaceOrder(0, 0, account, p.market, 0, side, kind, tif, price, qty))
    return out
