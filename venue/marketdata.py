"""Market data: price-level books, snapshots (W), incrementals (X) and their checks, sans-I/O.

Server side, ``MarketDataFeed`` is owned by the gateway's engine task. After each batch it
re-aggregates the touched markets' books from the engine (the engine is the truth; no
second matching logic is kept in sync by hand), diffs them against what it last published
and produces one X per changed market. Client side, ``LocalBook`` applies W and X and
tells when it must resync.

Wire conventions (decided here, documented for clients):

* Full depth, aggregated by price (MarketDepth in V is accepted and ignored).
* One **stream per Symbol**. Every X carries the entries of exactly one Symbol and each
  entry's ``RptSeq(83)`` is that stream's sequence number, +1 per X (the FIX 4.4 field
  for "sequence of the market data entry"). A W carries in ``RptSeq`` the number of the
  last X it already contains, so the next X is ``RptSeq + 1``.
* Entries: MDEntryType 0 bid, 1 offer, 2 trade, 6 settlement price (W only, always
  present, so a W is never empty). MDUpdateAction 0 new, 1 change, 2 delete; for levels,
  MDEntrySize is the new total size at the price; a trade is a ``new`` type-2 entry.
* ``BookChecksum(5015)`` on W and X: ``book_checksum`` of the book after the message —
  CRC-32 of the top ``CHECKSUM_DEPTH`` levels per side written as
  ``"b:<px>:<qty>,...|a:<px>:<qty>,..."`` (bids best first, then asks best first).
  A client with a different value, or a RptSeq that is not the next one, resyncs by
  asking for a new snapshot.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from matching.types import MarketConfig, Side, Trade

from .fix import FixMessage, Tag

__all__ = [
    "CHECKSUM_DEPTH",
    "LocalBook",
    "MarketDataFeed",
    "aggregate",
    "book_checksum",
]

CHECKSUM_DEPTH = 10


def aggregate(orders: Iterable[object]) -> dict[int, int]:
    """price -> total quantity of resting orders (objects with ``price`` and ``qty``)."""
    out: dict[int, int] = {}
    for o in orders:
        price = o.price  # type: ignore[attr-defined]
        out[price] = out.get(price, 0) + o.qty  # type: ignore[attr-defined]
    return out


def book_checksum(bids: Mapping[int, int], asks: Mapping[int, int]) -> int:
    """CRC-32 of the top ``CHECKSUM_DEPTH`` levels of each side (see module docstring)."""
    top_b = sorted(bids.items(), reverse=True)[:CHECKSUM_DEPTH]
    top_a = sorted(asks.items())[:CHECKSUM_DEPTH]
    text = (
        "b:"
        + ",".join(f"{p}:{q}" for p, q in top_b)
        + "|a:"
        + ",".join(f"{p}:{q}" for p, q in top_a)
    )
    return zlib.crc32(text.encode())


def _plain(fields: list[tuple[int, str]]) -> tuple[tuple[int, str], ...]:
    """``fields`` with plain-int tags: messages sent are kept in the resend store, and a
    ``Tag`` member keeps its pair tracked by the garbage collector (``FixMessage`` doc)."""
    return tuple((int(t), v) for t, v in fields)


@dataclass
class _Stream:
    market: MarketConfig
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    seq: int = 0
    settlement: int = 0


def _diff(old: dict[int, int], new: dict[int, int]) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    for price, qty in new.items():
        before = old.get(price)
        if before is None:
            out.append(("0", price, qty))
        elif before != qty:
            out.append(("1", price, qty))
    out.extend(("2", price, 0) for price in old if price not in new)
    return out


class MarketDataFeed:
    """Published books and stream numbers of every market (server side).

    :param markets: the venue's markets.
    """

    def __init__(self, markets: Sequence[MarketConfig]) -> None:
        self.streams = {m.market_id: _Stream(m, settlement=m.initial_price) for m in markets}
        self.by_symbol = {m.symbol: m.market_id for m in markets}

    def load(self, engine: object) -> None:
        """Take the books as they are now (at start-up); no X is produced for them."""
        for mid, s in self.streams.items():
            s.bids = aggregate(engine.book(mid, Side.BUY))  # type: ignore[attr-defined]
            s.asks = aggregate(engine.book(mid, Side.SELL))  # type: ignore[attr-defined]
            s.settlement = engine.market_state(mid).mark  # type: ignore[attr-defined]

    def settle(self, market: int, price: int) -> None:
        """Record a block's settlement price (shown in the next snapshots)."""
        self.streams[market].settlement = price

    def update(
        self, engine: object, markets: Iterable[int], trades: Sequence[Trade]
    ) -> list[tuple[int, FixMessage]]:
        """One X per market that changed: (market id, message without MDReqID)."""
        by_market: dict[int, list[Trade]] = {}
        for t in trades:
            by_market.setdefault(t.market, []).append(t)
        out: list[tuple[int, FixMessage]] = []
        for mid in sorted(set(markets) | set(by_market)):
            s = self.streams.get(mid)
            if s is None:
                continue
            bids = aggregate(engine.book(mid, Side.BUY))  # type: ignore[attr-defined]
            asks = aggregate(engine.book(mid, Side.SELL))  # type: ignore[attr-defined]
            changes = [("0", *c) for c in _diff(s.bids, bids)]
            changes += [("1", *c) for c in _diff(s.asks, asks)]
            market_trades = by_market.get(mid, [])
            if not changes and not market_trades:
                continue
            s.bids, s.asks = bids, asks
            s.seq += 1
            sym, seq = s.market.symbol, str(s.seq)
            f: list[tuple[int, str]] = [(Tag.BookChecksum, str(book_checksum(bids, asks)))]
            f.append((Tag.NoMDEntries, str(len(changes) + len(market_trades))))
            for t in market_trades:
                f += [(Tag.MDUpdateAction, "0"), (Tag.MDEntryType, "2"), (Tag.Symbol, sym),
                      (Tag.RptSeq, seq), (Tag.MDEntryPx, str(t.price)),
                      (Tag.MDEntrySize, str(t.qty))]  # fmt: skip
            for entry_type, action, price, qty in changes:
                f += [(Tag.MDUpdateAction, action), (Tag.MDEntryType, entry_type),
                      (Tag.Symbol, sym), (Tag.RptSeq, seq),
                      (Tag.MDEntryPx, str(price))]  # fmt: skip
                if action != "2":
                    f.append((Tag.MDEntrySize, str(qty)))
            out.append((mid, FixMessage("X", _plain(f))))
        return out

    def snapshot(self, market: int, md_req_id: str | None, height: int = 0) -> FixMessage:
        """W of one market's published book (consistent with the X stream)."""
        s = self.streams[market]
        f: list[tuple[int, str]] = [(Tag.Symbol, s.market.symbol)]
        if md_req_id:
            f.append((Tag.MDReqID, md_req_id))
        f += [(Tag.RptSeq, str(s.seq))]
        if height:
            f.append((Tag.BlockHeight, str(height)))
        f.append((Tag.BookChecksum, str(book_checksum(s.bids, s.asks))))
        bids = sorted(s.bids.items(), reverse=True)
        asks = sorted(s.asks.items())
        f.append((Tag.NoMDEntries, str(1 + len(bids) + len(asks))))
        f += [(Tag.MDEntryType, "6"), (Tag.MDEntryPx, str(s.settlement))]
        for entry_type, levels in (("0", bids), ("1", asks)):
            for i, (price, qty) in enumerate(levels, 1):
                f += [(Tag.MDEntryType, entry_type), (Tag.MDEntryPx, str(price)),
                      (Tag.MDEntrySize, str(qty)), (Tag.MDEntryPositionNo, str(i))]  # fmt: skip
        return FixMessage("W", _plain(f))


@dataclass
class LocalBook:
    """A client's copy of one Symbol's book, kept from W and X.

    ``stale`` becomes True on a gap (RptSeq not the next one) or a checksum mismatch; the
    owner then asks for a snapshot and calls ``apply_snapshot`` (``resyncs`` counts them).
    """

    symbol: str
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    seq: int = -1
    stale: bool = True
    settlement: int | None = None
    trades: list[tuple[int, int]] = field(default_factory=list)
    resyncs: int = 0
    gaps: int = 0

    def apply_snapshot(self, msg: FixMessage) -> None:
        """Replace the book with a W; checks its checksum."""
        self.bids, self.asks = {}, {}
        for entry in msg.groups(Tag.NoMDEntries):
            e = dict(entry)
            kind, px = e.get(Tag.MDEntryType), int(e.get(Tag.MDEntryPx, "0"))
            if kind == "6":
                self.settlement = px
            elif kind in ("0", "1"):
                (self.bids if kind == "0" else self.asks)[px] = int(e[Tag.MDEntrySize])
        self.seq = int(msg.get(Tag.RptSeq) or 0)
        self.stale = not self._checksum_ok(msg)
        self.resyncs += 1

    def apply_incremental(self, msg: FixMessage) -> bool:
        """Apply the entries of an X for this symbol; False (and ``stale``) if it is out of
        sequence or does not check. Entries of other symbols are ignored."""
        entries = [dict(e) for e in msg.groups(Tag.NoMDEntries)]
        mine = [e for e in entries if e.get(Tag.Symbol) == self.symbol]
        if not mine or self.stale:
            return not self.stale
        seq = int(mine[0].get(Tag.RptSeq, "0"))
        if seq <= self.seq:
            return True  # already contained in the snapshot
        if seq != self.seq + 1:
            self.gaps += 1
            self.stale = True
            return False
        for e in mine:
            kind, action = e.get(Tag.MDEntryType), e.get(Tag.MDUpdateAction)
            px = int(e.get(Tag.MDEntryPx, "0"))
            if kind == "2":
                self.trades.append((px, int(e.get(Tag.MDEntrySize, "0"))))
                continue
            side = self.bids if kind == "0" else self.asks
            if action == "2":
                side.pop(px, None)
            else:
                side[px] = int(e.get(Tag.MDEntrySize, "0"))
        self.seq = seq
        if not self._checksum_ok(msg):
            self.stale = True
            return False
        return True

    def _checksum_ok(self, msg: FixMessage) -> bool:
        expected = msg.get(Tag.BookChecksum)
        return expected is None or int(expected) == book_checksum(self.bids, self.asks)

    def best(self) -> tuple[int | None, int | None]:
        """(best bid, best ask) prices."""
        return (max(self.bids) if self.bids else None, min(self.asks) if self.asks else None)
