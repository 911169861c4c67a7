"""A venue's blocks as a page: settlement prices and volumes plotted, each block's finality.

``dashboard_rows`` reads the last blocks of a block store (a running node's, or one opened
read-only) with their proofs; ``render`` makes one self-contained HTML page of them (inline
SVG, no script, no external resource), which ``provenbook dashboard DIR`` writes to a file and
``provenbook serve`` answers at ``/`` on its WebSocket port, refreshed every few seconds.
Every text that comes from the venue is escaped.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matching import Block
from matching.encoding import decoder

from .blockstore import BlockStore

__all__ = ["DashboardRow", "dashboard_rows", "render"]

_block_decoder = decoder(Block)
_FINALITY_ORDER = ("sequenced", "in_block", "proposed", "proven", "on_chain")


@dataclass(frozen=True, slots=True)
class DashboardRow:
    """One block of one market, as the page shows it."""

    height: int
    close_ts: int
    commands: int
    market: int
    price: int
    carried: bool
    volume: int
    trades: int
    #: "in_block", "proposed" (optimistic mode: on chain, pending), "proven" (a validity proof
    #: is stored) or "on_chain" (final on chain)
    finality: str


def dashboard_rows(
    store: BlockStore, *, last: int = 200, on_chain_height: int = 0, proposed_height: int = 0
) -> list[DashboardRow]:
    """The last ``last`` blocks of ``store``, oldest first, one row per market of each.
    ``on_chain_height``: blocks up to it are final on chain (the publisher's height, or in
    optimistic mode the last final one; 0: unknown); ``proposed_height``: optimistic mode's
    last proposed block."""
    if last < 1:
        raise ValueError("last must be at least 1")
    proven = set(store.proven_heights())
    first = max(store.first_height, store.last_height - last + 1)
    rows = []
    for height, payload in store.iter_from(first):
        if height > store.last_height:
            break
        h = _block_decoder.decode(payload).header
        finality = "in_block"
        if height <= on_chain_height:
            finality = "on_chain"
        elif height in proven:
            finality = "proven"
        elif height <= proposed_height:
            finality = "proposed"
        for m in h.markets:
            row = (h.height, h.close_ts, h.command_count, m.market, m.price, m.carried)
            rows.append(DashboardRow(*row, m.volume, m.trade_count, finality))
    return rows


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.sub{color:#57606a;margin:0 0 16px}
table{border-collapse:collapse}
th,td{padding:3px 10px;text-align:right;border-bottom:1px solid #eaeef2}
th{background:#f6f8fa}td.l,th.l{text-align:left}
.on_chain{color:#1a7f37;font-weight:600}.proven{color:#0969da}.in_block{color:#9a6700}
.proposed{color:#8250df}
svg text{font:11px system-ui,sans-serif;fill:#57606a}
"""


def _chart(rows: Sequence[DashboardRow], width: int = 900, height: int = 260) -> str:
    """Settlement price per block (a line; a filled dot once proven, hollow before) over the
    volume bars, for one market."""
    if not rows:
        return "<p>no blocks yet</p>"
    pad_l, pad_r, pad_t, pad_b = 70, 10, 10, 30
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    lo, hi = min(r.price for r in rows), max(r.price for r in rows)
    span = max(hi - lo, 1)
    vmax = max(max(r.volume for r in rows), 1)
    n = len(rows)

    def x(i: int) -> float:
        return pad_l + (w * (i + 0.5) / n)

    def y(p: int) -> float:
        return pad_t + h - h * (p - lo) / span

    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="settlement prices">']
    bar = max(w / n * 0.6, 1)
    for i, r in enumerate(rows):  # volume bars, scaled to a third of the height
        bh = (h / 3) * r.volume / vmax
        parts.append(
            f'<rect x="{x(i) - bar / 2:.1f}" y="{pad_t + h - bh:.1f}" width="{bar:.1f}" '
            f'height="{bh:.1f}" fill="#d0d7de"><title>block {r.height}: volume {r.volume:,}'
            "</title></rect>"
        )
    points = " ".join(f"{x(i):.1f},{y(r.price):.1f}" for i, r in enumerate(rows))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#0969da" stroke-width="1.5"/>')
    for i, r in enumerate(rows):
        fill = {"on_chain": "#1a7f37", "proven": "#0969da"}.get(r.finality, "#fff")
        what = "carried" if r.carried else "VWAP"
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(r.price):.1f}" r="3" fill="{fill}" '
            f'stroke="#0969da"><title>block {r.height}: {r.price:,} ({what}, {r.finality})'
            "</title></circle>"
        )
    for p in (lo, hi):
        parts.append(f'<text x="{pad_l - 6}" y="{y(p) + 4:.1f}" text-anchor="end">{p:,}</text>')
    parts.append(
        f'<text x="{pad_l}" y="{height - 8}">block {rows[0].height}</text>'
        f'<text x="{pad_l + w}" y="{height - 8}" text-anchor="end">block {rows[-1].height}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _when(ts: int) -> str:
    t = datetime.datetime.fromtimestamp(ts / 1e9, tz=datetime.UTC)
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def render(
    rows: Sequence[DashboardRow],
    symbols: Mapping[int, str],
    *,
    title: str = "ProvenBook",
    refresh: int | None = None,
) -> str:
    """The page: per market a chart and a table of its blocks (newest first), with counts of
    blocks by finality. ``refresh``: seconds between reloads (a live page), or None."""
    esc = html.escape
    head = f'<meta http-equiv="refresh" content="{int(refresh)}">' if refresh else ""
    counts = {f: len({r.height for r in rows if r.finality == f}) for f in _FINALITY_ORDER}
    summary = ", ".join(
        f"{counts[f]} {f.replace('_', ' ')}"
        for f in _FINALITY_ORDER[1:]
        if counts[f] or f != "proposed"  # optimistic mode's state, shown where it is used
    )
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{esc(title)}</title>{head}<style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="sub">last {len({r.height for r in rows})} blocks: {esc(summary)}. '
        "Settlement price = the VWAP of a block's fills (carried forward without fills); a "
        "filled dot is proven, green is on chain.</p>",
    ]
    for market in sorted({r.market for r in rows}):
        mrows = [r for r in rows if r.market == market]
        sym = symbols.get(market, str(market))
        out.append(f"<h2>{esc(sym)} (market {market})</h2>{_chart(mrows)}")
        out.append(
            "<table><tr><th>block</th><th class=l>closed (UTC)</th><th>commands</th>"
            "<th>trades</th><th>volume</th><th>settlement price</th><th class=l>finality</th>"
            "</tr>"
        )
        for r in reversed(mrows):
            price = f"{r.price:,}" + (" (carried)" if r.carried else "")
            out.append(
                f"<tr><td>{r.height}</td><td class=l>{_when(r.close_ts)}</td>"
                f"<td>{r.commands}</td><td>{r.trades}</td><td>{r.volume:,}</td><td>{price}</td>"
                f'<td class="l {r.finality}">{r.finality.replace("_", " ")}</td></tr>'
            )
        out.append("</table>")
    if not rows:
        out.append("<p>no blocks yet</p>")
    out.append("</body></html>")
    return "".join(out)
