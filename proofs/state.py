"""The state commitment: Poseidon trees over the engine's accounts, books and markets.

Layout (circomlib Poseidon: ``hash2`` is ``Poseidon(2)``, ``chain`` is ``poseidon.hash_chain``
of ``Poseidon(2)``; the trees are 4-ary, a node ``Poseidon(4)`` of its children,
``proofs.merkle``)::

    state_root   = chain(accounts_root, markets_root, height)
    markets_root = chain(market_root(m1), ..., market_root(mk), k)
    market_root  = chain(side_root(bids), side_root(asks), pack(mark, last_close_ts),
                         cum_price_time)
    side_root    = hash2(slot_tree_root, pack(head, head_price, head_priority))
    order leaf   = hash2(pack(price, qty, priority, account, next),
                         pack(order_id, cl_ord_id, side, next_price, next_priority))
    account leaf = absorb4([hash2(pubkey_x, pubkey_y), *pack_greedy(collateral,
                           per market: position, open_buy, open_sell, basis; nonce)])
    absorb4(xs)  = Poseidon(4)-wide chain: h = Poseidon(xs[:4]), then h = Poseidon(h, next 3)
                   (one market: 3 elements, one Poseidon(3))

``head``/``next`` are a slot number + 1 (0: none); an empty side has head 0 and key 0/0.

**Books are sorted linked lists** stored in fixed-depth slot trees (an indexed Merkle tree):
each resting order occupies a slot and points to the next order in priority order (asks by
(price, priority), bids by (-price, priority)), and carries that successor's key; the side
root carries the head's slot and key. Price-time priority is then an O(1) check in the
circuit: the maker of a fill must be the head, and an insertion after predecessor P proves
``key(P) < key(new) < P.next_key`` from P's leaf alone (at the head: ``key(new) <
head_key``), which keeps the list sorted, so the head is the best order. No sums are needed,
and an insertion touches two leaves of a shallow tree instead of a path in a tree keyed by
(price, sequence), which would be 60+ levels deep. This is DESIGN §4's "nothing rests ahead
of the filled order" by an equivalent argument: nothing rests ahead of the head, by
sortedness.

Slots: an order keeps its slot while it rests. New orders take the lowest slots that were
free **at the start of the block**; slots freed during a block become reusable from the next
block on. That makes the final slot of every order independent of the order in which a
block's insertions and removals happen, so a sequential execution inside the circuit lands
on the same final tree as this batch update. The slot map depends on history and is part of
``CommitmentSnapshot``.

Signed integers are offset (``v + 2**(w-1)``) into unsigned fields. Width limits are checked
here and raise ``FieldRangeError``; the engine's own limits keep honest state inside them.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import msgspec
from sortedcontainers import SortedList

from matching.block import BlockHeader, StateDiff
from matching.engine import AccountView, EngineSnapshot, MarketStateView, OrderView
from matching.types import Command, MarketConfig, Side

from .merkle import SparseMerkleTree, compute_root
from .poseidon import (
    MAX_PACK_BITS,
    hash2,
    hash_chain,
    hash_chains,
    hash_groups,
    hash_n,
    hash_pairs,
    pack,
)

__all__ = [
    "COMMAND_FIELD_WIDTHS",
    "AccountNotFound",
    "AccountOpening",
    "CommitmentSnapshot",
    "PoseidonState",
    "account_leaf",
    "combine_roots",
    "command_hash",
    "header_hash",
    "order_leaf",
    "pack_greedy",
    "side_root",
    "state_root",
]

# Bit widths of every integer the commitment packs (signed ones are offset by half the range).
PRICE_BITS = 40
QTY_BITS = 48
SEQ_BITS = 48
ACCOUNT_BITS = 20
CL_ORD_ID_BITS = 64
TS_BITS = 64
MONEY_BITS = 128  # signed: collateral, basis
POSITION_BITS = 64  # signed
SLOT_BITS = 24

#: (bit width, signed) of every command field, mirroring the wire schema in
#: ``matching.types`` (signed fields are offset by half their range). ``sig`` is excluded:
#: it authorises the hash.
COMMAND_FIELD_WIDTHS: dict[str, tuple[int, bool]] = {
    "seq": (SEQ_BITS, False),
    "ts": (TS_BITS, False),
    "account": (ACCOUNT_BITS, False),
    "market": (16, False),
    "cl_ord_id": (CL_ORD_ID_BITS, False),
    "side": (4, False),
    "order_type": (4, False),
    "tif": (4, False),
    "price": (PRICE_BITS + 1, True),
    "qty": (QTY_BITS + 1, True),
    "post_only": (1, False),
    "stp": (4, False),
    "order_id": (SEQ_BITS, False),
    "amount": (MONEY_BITS, True),
}
_FULL_FIELD = ("pubkey_x", "pubkey_y")


def _signed(value: int, bits: int) -> tuple[int, int]:
    return value + (1 << (bits - 1)), bits


def pack_greedy(fields: Sequence[tuple[int, int]]) -> list[int]:
    """Pack (value, width) pairs in order into as few elements as fit, never splitting one."""
    out: list[int] = []
    cur: list[tuple[int, int]] = []
    used = 0
    for value, width in fields:
        if used + width > MAX_PACK_BITS:
            out.append(pack(cur))
            cur, used = [], 0
        cur.append((value, width))
        used += width
    if cur:
        out.append(pack(cur))
    return out


def _greedy_groups(widths: Sequence[int]) -> list[list[tuple[int, int]]]:
    """``pack_greedy``'s grouping as (field index, bit offset) lists: it depends on the widths
    only, so the hot paths compute it once per layout and pack with shifts."""
    groups: list[list[tuple[int, int]]] = []
    used = MAX_PACK_BITS + 1
    for i, width in enumerate(widths):
        if used + width > MAX_PACK_BITS:
            groups.append([])
            used = 0
        groups[-1].append((i, used))
        used += width
    return groups


def _pack_groups(vals: Sequence[int], groups: Sequence[Sequence[tuple[int, int]]]) -> list[int]:
    """Pack already range-checked ``vals`` into one element per group (``_greedy_groups``)."""
    elems = []
    for group in groups:
        packed = 0
        for i, shift in group:
            packed |= vals[i] << shift
        elems.append(packed)
    return elems


def _command_hash_slow(cmd: Command) -> list[int]:
    """The elements of ``command_hash`` by the definition (also raises the range errors)."""
    fields: list[tuple[int, int]] = [(type(cmd).__struct_config__.tag, 4)]  # type: ignore[list-item]
    extra: list[int] = []
    for name in type(cmd).__struct_fields__:
        if name == "sig":
            continue
        value = getattr(cmd, name)
        if name in _FULL_FIELD:
            extra.append(value)
            continue
        width, signed = COMMAND_FIELD_WIDTHS[name]
        fields.append(_signed(int(value), width) if signed else (int(value), width))
    return pack_greedy(fields) + extra


#: per command type: (tag, [(field, offset, limit)], greedy groups, full-field names)
_CommandLayout = tuple[int, list[tuple[str, int, int]], list[list[tuple[int, int]]], list[str]]
_COMMAND_LAYOUTS: dict[type, _CommandLayout] = {}


def _command_layout(cls: type) -> _CommandLayout:
    fields: list[tuple[str, int, int]] = []
    extra: list[str] = []
    widths = [4]
    for name in cls.__struct_fields__:  # type: ignore[attr-defined]
        if name == "sig":
            continue
        if name in _FULL_FIELD:
            extra.append(name)
            continue
        width, signed = COMMAND_FIELD_WIDTHS[name]
        fields.append((name, 1 << (width - 1) if signed else 0, 1 << width))
        widths.append(width)
    tag = cls.__struct_config__.tag  # type: ignore[attr-defined]
    pack([(tag, 4)])  # a tag that does not fit raises here, as in the definition
    layout = (tag, fields, _greedy_groups(widths), extra)
    _COMMAND_LAYOUTS[cls] = layout
    return layout


def _command_elems(cmd: Command) -> list[int]:
    """The elements ``command_hash`` hashes: packed fields, then the full-field ones."""
    cls = type(cmd)
    tag, fields, groups, extra = _COMMAND_LAYOUTS.get(cls) or _command_layout(cls)
    vals = [tag]
    for name, offset, limit in fields:
        v = int(getattr(cmd, name)) + offset
        if not 0 <= v < limit:
            return _command_hash_slow(cmd)  # raises FieldRangeError
        vals.append(v)
    elems = _pack_groups(vals, groups)
    for name in extra:
        elems.append(getattr(cmd, name))
    return elems


def command_hash(cmd: Command) -> int:
    """Hash of one command: its type code and fields packed in declaration order."""
    elems = _command_elems(cmd)
    return elems[0] if len(elems) == 1 else hash_chain(elems)


#: (slot + 1, price, priority) of a list neighbour; (0, 0, 0) is "none".
Link = tuple[int, int, int]
NO_LINK: Link = (0, 0, 0)


def _order_leaf_slow(o: OrderView, nxt: Link) -> tuple[int, int]:
    """The two elements of ``order_leaf`` by the definition (also raises the range errors)."""
    return (
        pack(
            [
                (o.price, PRICE_BITS),
                (o.qty, QTY_BITS),
                (o.priority, SEQ_BITS),
                (o.account, ACCOUNT_BITS),
                (nxt[0], SLOT_BITS + 1),
            ]
        ),
        pack(
            [
                (o.order_id, SEQ_BITS),
                (o.cl_ord_id, CL_ORD_ID_BITS),
                (o.side, 2),
                (nxt[1], PRICE_BITS),
                (nxt[2], SEQ_BITS),
            ]
        ),
    )


_LIM_PRICE = 1 << PRICE_BITS
_LIM_QTY = 1 << QTY_BITS
_LIM_SEQ = 1 << SEQ_BITS
_LIM_ACCOUNT = 1 << ACCOUNT_BITS
_LIM_SLOT = 1 << (SLOT_BITS + 1)
_LIM_CL = 1 << CL_ORD_ID_BITS


def _order_elems(o: OrderView, nxt: Link) -> tuple[int, int]:
    """``_order_leaf_slow`` with the shifts written out (the layouts are fixed)."""
    price, qty, prio, acct, oid, cl, side = (
        o.price, o.qty, o.priority, o.account, o.order_id, o.cl_ord_id, o.side
    )  # fmt: skip
    n_slot, n_price, n_prio = nxt
    if (
        0 <= price < _LIM_PRICE
        and 0 <= qty < _LIM_QTY
        and 0 <= prio < _LIM_SEQ
        and 0 <= acct < _LIM_ACCOUNT
        and 0 <= n_slot < _LIM_SLOT
        and 0 <= oid < _LIM_SEQ
        and 0 <= cl < _LIM_CL
        and 0 <= side < 4
        and 0 <= n_price < _LIM_PRICE
        and 0 <= n_prio < _LIM_SEQ
        and bool not in (type(price), type(qty), type(prio), type(acct), type(oid), type(cl))
        and bool not in (type(side), type(n_slot), type(n_price), type(n_prio))
    ):
        return (
            price | qty << 40 | prio << 88 | acct << 136 | n_slot << 156,
            oid | cl << 48 | int(side) << 112 | n_price << 114 | n_prio << 154,
        )
    return _order_leaf_slow(o, nxt)


def order_leaf(o: OrderView, nxt: Link) -> int:
    """Leaf of a resting order whose successor in priority order is ``nxt``."""
    return hash2(*_order_elems(o, nxt))


def side_root(tree_root: int, head: Link) -> int:
    return hash2(
        tree_root, pack([(head[0], SLOT_BITS + 1), (head[1], PRICE_BITS), (head[2], SEQ_BITS)])
    )


def _account_fields(a: AccountView) -> list[tuple[int, int]]:
    positions = ((p.position, p.open_buy, p.open_sell, p.basis) for p in a.positions)
    return _account_layout(a.collateral, positions, a.nonce)


def _account_layout(
    collateral: int, positions: Iterable[tuple[int, int, int, int]], nonce: int
) -> list[tuple[int, int]]:
    """The account leaf's (value, width) fields; ``positions``: (position, open_buy,
    open_sell, basis) per market."""
    fields = [_signed(collateral, MONEY_BITS)]
    for position, open_buy, open_sell, basis in positions:
        fields += [
            _signed(position, POSITION_BITS),
            (open_buy, QTY_BITS + 8),
            (open_sell, QTY_BITS + 8),
            _signed(basis, MONEY_BITS),
        ]
    return [*fields, (nonce, CL_ORD_ID_BITS)]


_H_MONEY = 1 << (MONEY_BITS - 1)
_H_POSITION = 1 << (POSITION_BITS - 1)
_LIM_MONEY = 1 << MONEY_BITS
_LIM_POSITION = 1 << POSITION_BITS
_LIM_OPEN = 1 << (QTY_BITS + 8)
_LIM_NONCE = 1 << CL_ORD_ID_BITS
#: number of positions -> greedy groups of the account layout
_ACCOUNT_GROUPS: dict[int, list[list[tuple[int, int]]]] = {}


def _account_elems(a: AccountView) -> list[int]:
    """``pack_greedy(_account_fields(a))`` with the grouping computed once per layout."""
    vals = [a.collateral + _H_MONEY]
    ok = 0 <= vals[0] < _LIM_MONEY
    for p in a.positions:
        pos, buy, sell, basis = (
            p.position + _H_POSITION,
            p.open_buy,
            p.open_sell,
            p.basis + _H_MONEY,
        )
        ok = (
            ok
            and 0 <= pos < _LIM_POSITION
            and 0 <= buy < _LIM_OPEN
            and 0 <= sell < _LIM_OPEN
            and 0 <= basis < _LIM_MONEY
            and type(buy) is not bool
            and type(sell) is not bool
        )
        vals += (pos, buy, sell, basis)
    nonce = a.nonce
    vals.append(nonce)
    if not (ok and 0 <= nonce < _LIM_NONCE and type(nonce) is not bool):
        return pack_greedy(_account_fields(a))  # raises the range error
    k = len(a.positions)
    groups = _ACCOUNT_GROUPS.get(k)
    if groups is None:
        widths = [w for _, w in _account_fields_widths(k)]
        groups = _ACCOUNT_GROUPS[k] = _greedy_groups(widths)
    return _pack_groups(vals, groups)


def _account_fields_widths(k: int) -> list[tuple[int, int]]:
    widths = [(0, MONEY_BITS)]
    for _ in range(k):
        widths += [(0, POSITION_BITS), (0, QTY_BITS + 8), (0, QTY_BITS + 8), (0, MONEY_BITS)]
    return [*widths, (0, CL_ORD_ID_BITS)]


def _absorb4(xs: Sequence[int]) -> int:
    """``Poseidon(4)``-wide chain: ``hash_n(xs[:4])``, then ``hash_n([acc, *next 3])`` until
    ``xs`` is used up. Three or four elements are one hash (one market's account leaf is
    ``Poseidon(3)``, the block circuit's ``AccountLeaf``); every hash stays within the
    compiled widths, and the leaf of a venue with many markets any length."""
    acc = hash_n(xs[:4])
    for i in range(4, len(xs), 3):
        acc = hash_n([acc, *xs[i : i + 3]])
    return acc


def account_leaf(a: AccountView, pubkey_hash: int) -> int:
    return _absorb4([pubkey_hash, *_account_elems(a)])


def _market_root(bids: int, asks: int, ms: MarketStateView) -> int:
    return hash_chain(
        [bids, asks, pack([(ms.mark, PRICE_BITS), (ms.last_close_ts, TS_BITS)]), ms.cum_price_time]
    )


def header_hash(header: BlockHeader) -> int:
    """Hash of a block header (``PoseidonState.header_hash``; pure)."""
    elems = [
        header.height,
        header.parent_hash,
        header.pre_state_root,
        header.command_commitment,
        header.post_state_root,
        pack(
            [
                (header.close_ts, TS_BITS),
                (header.first_seq, SEQ_BITS),
                (header.command_count, 32),
            ]
        ),
    ]
    for s in header.markets:
        elems += [
            pack(
                [
                    (s.market, 16),
                    (s.price, PRICE_BITS),
                    (int(s.carried), 1),
                    (s.volume, 96),
                    (s.trade_count, 32),
                ]
            ),
            s.notional,
            s.cum_price_time,
        ]
    return hash_chain(elems)


def state_root(accounts_root: int, markets_root: int, height: int) -> int:
    """``state_root`` of the module docstring from its two subtree roots."""
    return hash_chain([accounts_root, markets_root, height])


def combine_roots(
    accounts_root: int,
    side_roots: Mapping[int, tuple[int, int]],
    market_states: Iterable[MarketStateView],
    height: int,
) -> int:
    """The state root from the accounts root, each market's (bids, asks) side roots and the
    market states in genesis order: what ``PoseidonState`` computes, for a commitment whose
    parts are hashed apart (``PoseidonState.apply_part``)."""
    mroots = [_market_root(*side_roots[ms.market], ms) for ms in market_states]
    return state_root(accounts_root, hash_chain([*mroots, len(mroots)]), height)


class AccountNotFound(LookupError):
    """No account at this index in the committed state."""


class AccountOpening(msgspec.Struct, frozen=True, kw_only=True):
    """One account's leaf opened against a state root: every field the leaf commits to, the
    path to the accounts root, and the rest of the root's preimage (each market's side roots
    and state, so its mark is proven too). What contract ``ProvenMargin`` checks against a
    proven block's post-state root; ``state_root()`` is the same check in Python.

    ``positions[i]`` is ``(position, open_buy, open_sell, basis)`` in market ``i`` (genesis
    order); ``markets[i]`` is ``(bids side root, asks side root, mark, last_close_ts,
    cum_price_time)``; ``siblings`` are bottom-up, three per 4-ary level.
    """

    height: int
    account: int
    pubkey_hash: int
    collateral: int
    positions: tuple[tuple[int, int, int, int], ...]
    nonce: int
    siblings: tuple[int, ...]
    markets: tuple[tuple[int, int, int, int, int], ...]

    def leaf(self) -> int:
        """The account leaf these fields hash to (``account_leaf``)."""
        fields = _account_layout(self.collateral, self.positions, self.nonce)
        return _absorb4([self.pubkey_hash, *pack_greedy(fields)])

    def state_root(self) -> int:
        """The state root this opening implies; equal to the committed one iff it is honest.

        Raises ``FieldRangeError`` for a field outside its width and ``ValueError`` for a path
        of the wrong shape."""
        if len(self.positions) != len(self.markets):
            raise ValueError(f"{len(self.positions)} positions for {len(self.markets)} markets")
        accounts_root = compute_root(self.account, self.leaf(), self.siblings)
        # market ids are not in the root: index i stands for the i-th market
        views = [MarketStateView(i, m[2], m[4], m[3]) for i, m in enumerate(self.markets)]
        sides = {i: (m[0], m[1]) for i, m in enumerate(self.markets)}
        return combine_roots(accounts_root, sides, views, self.height)


#: where a queued leaf hash goes: (tree updates, index, leaf memo)
_Target = tuple[dict[int, int], int, dict[int, tuple[list[int], int]]]


class _BookSide:
    """One side's linked list: priority order, slots, and the leaves as committed."""

    def __init__(self, is_bid: bool, depth: int) -> None:
        self.is_bid = is_bid
        self.tree = SparseMerkleTree(depth)
        self.order: SortedList = SortedList()  # (price key, priority, order_id)
        self.entry: dict[int, tuple[int, int, int]] = {}
        self.view: dict[int, OrderView] = {}
        self.slot: dict[int, int] = {}
        self.free: list[int] = []  # heap of freed slots
        self.next_unused = 0
        #: slot -> (leaf elements, leaf) as last written, to skip rehashing an unchanged leaf
        self.elems: dict[int, tuple[list[int], int]] = {}
        self._root_memo: tuple[int, Link, int] | None = None

    def key(self, o: OrderView) -> tuple[int, int, int]:
        return (-o.price if self.is_bid else o.price, o.priority, o.order_id)

    def _pred(self, entry: tuple[int, int, int]) -> int | None:
        i = self.order.bisect_left(entry)
        return self.order[i - 1][2] if i else None

    def remove(self, oid: int, dirty: set[int]) -> None:
        entry = self.entry.pop(oid)
        pred = self._pred(entry)
        self.order.remove(entry)
        if pred is not None:
            dirty.add(pred)

    def insert(self, o: OrderView, dirty: set[int]) -> None:
        entry = self.key(o)
        self.order.add(entry)
        self.entry[o.order_id] = entry
        pred = self._pred(entry)
        if pred is not None:
            dirty.add(pred)

    def alloc(self) -> int:
        if self.free:
            return heapq.heappop(self.free)
        if self.next_unused >= self.tree.capacity:
            raise OverflowError("book side is full: no free slot in the order tree")
        self.next_unused += 1
        return self.next_unused - 1

    def link(self, oid: int) -> Link:
        v = self.view[oid]
        return (self.slot[oid] + 1, v.price, v.priority)

    def next_link(self, oid: int) -> Link:
        i = self.order.index(self.entry[oid]) + 1
        return self.link(self.order[i][2]) if i < len(self.order) else NO_LINK

    def head(self) -> Link:
        return self.link(self.order[0][2]) if self.order else NO_LINK

    def root(self) -> int:
        tree_root, head = self.tree.root, self.head()
        memo = self._root_memo
        if memo is None or memo[0] != tree_root or memo[1] != head:
            memo = self._root_memo = (tree_root, head, side_root(tree_root, head))
        return memo[2]


class CommitmentSnapshot(msgspec.Struct, frozen=True, array_like=True):
    """What the commitment needs beyond the engine snapshot to rebuild identical roots."""

    height: int
    #: (market, side, order_id, slot) for every resting order
    slots: tuple[tuple[int, int, int, int], ...]
    #: (market, side, free slot heap, next_unused)
    free: tuple[tuple[int, int, tuple[int, ...], int], ...]


class PoseidonState:
    """Incrementally maintained state root (implements ``matching.block.StateCommitment``)."""

    def __init__(
        self,
        markets: Sequence[MarketConfig],
        *,
        account_depth: int = 16,
        order_depth: int = 14,
    ) -> None:
        self.account_depth = account_depth
        self.order_depth = order_depth
        self.accounts = SparseMerkleTree(account_depth)
        self._pk_hash: dict[int, int] = {}
        #: account -> (leaf chain, leaf) as last written, to skip rehashing an unchanged leaf
        self._acct_elems: dict[int, tuple[list[int], int]] = {}
        self._sides: dict[tuple[int, int], _BookSide] = {}
        self._market_states: dict[int, MarketStateView] = {}
        for m in markets:
            self._sides[(m.market_id, Side.BUY)] = _BookSide(True, order_depth)
            self._sides[(m.market_id, Side.SELL)] = _BookSide(False, order_depth)
            self._market_states[m.market_id] = MarketStateView(m.market_id, m.initial_price, 0, 0)
        self.height = 0
        self._root = self._state_root()

    @property
    def root(self) -> int:
        return self._root

    def _state_root(self) -> int:
        return combine_roots(
            self.accounts.root, self.side_roots(), self._market_states.values(), self.height
        )

    def side_roots(self) -> dict[int, tuple[int, int]]:
        """market -> (bids side root, asks side root)."""
        return {
            mid: (self._sides[(mid, Side.BUY)].root(), self._sides[(mid, Side.SELL)].root())
            for mid in self._market_states
        }

    @property
    def market_states(self) -> tuple[MarketStateView, ...]:
        """The market states the root commits to, in genesis order."""
        return tuple(self._market_states.values())

    def command_commitment(self, commands: Sequence[Command]) -> int:
        """Poseidon chain ``c_i = hash2(c_{i-1}, command_hash(cmd_i))`` from ``c_0 = 0``."""
        if not commands:
            return 0
        elems = [_command_elems(c) for c in commands]
        multi = hash_chains([e for e in elems if len(e) > 1])
        hashes = [0]
        j = 0
        for e in elems:
            if len(e) > 1:
                hashes.append(multi[j])
                j += 1
            else:
                hashes.append(e[0])
        return hash_chains([hashes])[0]

    def header_hash(self, header: BlockHeader) -> int:
        return header_hash(header)

    def apply(self, height: int, diff: StateDiff, markets: Sequence[MarketStateView]) -> int:
        """Apply one block's diff; each touched leaf and tree node is hashed once.

        All of the block's new order leaves are hashed in one ``hash_chains`` call and its
        account leaves in one ``hash_groups`` call; a leaf whose packed elements did not change
        is not rehashed.
        """
        self._apply_leaves(diff.orders, diff.accounts)
        self._set_markets(height, markets)
        self._root = self._state_root()
        return self._root

    def apply_part(
        self,
        part: Literal["accounts", "books"],
        height: int,
        diff: StateDiff,
        markets: Sequence[MarketStateView],
    ) -> None:
        """Apply one part of a block's diff: its accounts, or its orders (and market states).

        For a commitment hashed by two workers (``venue.committer``, ``shards=2``): each
        keeps a whole ``PoseidonState`` but hashes only its part, so only that part's roots
        (``accounts.root``; ``side_roots()``) are current, and ``root`` is not updated;
        ``combine_roots`` joins the parts.
        """
        if part == "accounts":
            self._apply_leaves((), diff.accounts)
        elif part == "books":
            self._apply_leaves(diff.orders, ())
        else:
            raise ValueError(f"unknown part {part!r}")
        self._set_markets(height, markets)

    def _set_markets(self, height: int, markets: Sequence[MarketStateView]) -> None:
        for ms in markets:
            self._market_states[ms.market] = ms
        self.height = height

    def _apply_leaves(
        self,
        orders: Iterable[tuple[int, OrderView | None]],
        accounts: Iterable[tuple[int, AccountView | None]],
    ) -> None:
        chains: list[list[int]] = []
        targets: list[_Target] = []
        order_updates = self._apply_orders(orders, chains, targets)
        updates: dict[int, int] = {}
        acct_inputs: list[list[int]] = []
        acct_ids: list[int] = []
        cache = self._acct_elems
        new_pk = [
            (aid, view) for aid, view in accounts if view is not None and aid not in self._pk_hash
        ]
        if new_pk:
            flat: list[int] = []
            for _, view in new_pk:
                flat += (view.pubkey_x, view.pubkey_y)
            for (aid, _), pk in zip(new_pk, hash_pairs(flat), strict=True):
                self._pk_hash.setdefault(aid, pk)
        for aid, view in accounts:
            if view is None:
                updates[aid] = 0
                self._pk_hash.pop(aid, None)
                cache.pop(aid, None)
                continue
            pk = self._pk_hash.get(aid)
            if pk is None:  # the same account deleted earlier in this diff
                pk = self._pk_hash[aid] = hash2(view.pubkey_x, view.pubkey_y)
            chain = [pk, *_account_elems(view)]
            old = cache.get(aid)
            if old is not None and old[0] == chain:
                updates[aid] = old[1]
                continue
            acct_inputs.append(chain)
            acct_ids.append(aid)
        leaves = hash_chains(chains)
        for (target, index, known), leaf, chain in zip(targets, leaves, chains, strict=True):
            target[index] = leaf
            known[index] = (chain, leaf)
        # Every account leaf of a state hashes the same number of elements (markets are fixed):
        # up to four (one market) they are one hash each, batched in one call.
        width = len(acct_inputs[0]) if acct_inputs else 0
        if width <= 4:
            flat_in = [x for xs in acct_inputs for x in xs]
            acct_leaves = hash_groups(flat_in, width) if width else []
        else:
            acct_leaves = [_absorb4(xs) for xs in acct_inputs]
        for aid, leaf, xs in zip(acct_ids, acct_leaves, acct_inputs, strict=True):
            updates[aid] = leaf
            cache[aid] = (xs, leaf)
        for side, upd in order_updates:
            if upd:
                side.tree.set_many(upd)
        self.accounts.set_many(updates)

    def _apply_orders(
        self,
        orders: Iterable[tuple[int, OrderView | None]],
        chains: list[list[int]],
        targets: list[_Target],
    ) -> list[tuple[_BookSide, dict[int, int]]]:
        """Update the lists and slots; queue the changed leaves' element pairs on ``chains``
        (their hashes go to ``targets``) and return each side's pending tree updates."""
        dirty: dict[tuple[int, int], set[int]] = {k: set() for k in self._sides}
        freed: dict[tuple[int, int], list[int]] = {k: [] for k in self._sides}
        inserts: list[OrderView] = []
        for oid, view in orders:
            old = self._find(oid)
            if old is not None:
                side = self._sides[old]
                side.remove(oid, dirty[old])
                if view is None:
                    freed[old].append(side.slot.pop(oid))
                    del side.view[oid]
            if view is not None:
                inserts.append(view)
        for view in inserts:
            key = (view.market, view.side)
            side = self._sides[key]
            side.insert(view, dirty[key])
            side.view[view.order_id] = view
            if view.order_id not in side.slot:
                side.slot[view.order_id] = side.alloc()
            dirty[key].add(view.order_id)
        # Slots freed in this block become reusable only from the next block (module doc).
        for key, slots in freed.items():
            side = self._sides[key]
            for s in slots:
                heapq.heappush(side.free, s)
        out = []
        for key, ids in dirty.items():
            side = self._sides[key]
            updates = {s: 0 for s in freed[key]}
            elems = side.elems
            for s in freed[key]:
                elems.pop(s, None)
            for oid in ids:
                slot = side.slot.get(oid)
                if slot is None:
                    continue
                pair = list(_order_elems(side.view[oid], side.next_link(oid)))
                old = elems.get(slot)
                if old is not None and old[0] == pair:
                    updates[slot] = old[1]
                    continue
                chains.append(pair)
                targets.append((updates, slot, elems))
            out.append((side, updates))
        return out

    def account_ids(self) -> list[int]:
        """Every account in the state, in index order."""
        return sorted(self._acct_elems)

    def open_account(self, account: int) -> AccountOpening:
        """``account``'s leaf opened against the current root (``AccountOpening``); raises
        ``AccountNotFound`` when the state holds no such account."""
        cached = self._acct_elems.get(account)
        if cached is None:
            raise AccountNotFound(f"no account {account} in the state at height {self.height}")
        pk, *elems = cached[0]
        k = len(self._market_states)
        widths = [w for _, w in _account_fields_widths(k)]
        vals = [
            (elems[g] >> shift) & ((1 << widths[i]) - 1)
            for g, group in enumerate(_greedy_groups(widths))
            for i, shift in group
        ]
        positions = tuple(
            (
                vals[1 + 4 * m] - _H_POSITION,
                vals[2 + 4 * m],
                vals[3 + 4 * m],
                vals[4 + 4 * m] - _H_MONEY,
            )
            for m in range(k)
        )
        sides = self.side_roots()
        return AccountOpening(
            height=self.height,
            account=account,
            pubkey_hash=pk,
            collateral=vals[0] - _H_MONEY,
            positions=positions,
            nonce=vals[-1],
            siblings=tuple(self.accounts.path(account)),
            markets=tuple(
                (*sides[ms.market], int(ms.mark), int(ms.last_close_ts), int(ms.cum_price_time))
                for ms in self._market_states.values()
            ),
        )

    def _find(self, oid: int) -> tuple[int, int] | None:
        for key, side in self._sides.items():
            if oid in side.entry:
                return key
        return None

    def _check(self) -> None:
        """Assert the invariants: leaves equal their recomputation, slots are consistent."""
        for key, side in self._sides.items():
            side.tree._check()
            assert set(side.slot) == set(side.entry) == set(side.view), key
            used = set(side.slot.values())
            assert len(used) == len(side.slot), ("slot used twice", key)
            assert not used & set(side.free), ("free slot in use", key)
            assert all(s < side.next_unused for s in used | set(side.free)), key
            expected = {
                side.slot[oid]: order_leaf(side.view[oid], side.next_link(oid))
                for _, _, oid in side.order
            }
            assert dict(side.tree.items()) == expected, ("leaves out of date", key)
            keys = list(side.order)
            assert keys == sorted(keys), key
        assert self._root == self._state_root()

    # --- persistence --------------------------------------------------------------------

    def snapshot(self) -> CommitmentSnapshot:
        slots = []
        free = []
        for (mid, s), side in self._sides.items():
            slots.extend((mid, int(s), oid, slot) for oid, slot in sorted(side.slot.items()))
            free.append((mid, int(s), tuple(sorted(side.free)), side.next_unused))
        return CommitmentSnapshot(self.height, tuple(slots), tuple(free))

    @classmethod
    def restore(
        cls,
        engine_snap: EngineSnapshot,
        snap: CommitmentSnapshot,
        *,
        account_depth: int = 16,
        order_depth: int = 14,
    ) -> PoseidonState:
        """Rebuild the trees from a snapshot (hashes the whole state once)."""
        st = cls(engine_snap.markets, account_depth=account_depth, order_depth=order_depth)
        for mid, s, free, next_unused in snap.free:
            side = st._sides[(mid, s)]
            side.free = list(free)
            heapq.heapify(side.free)
            side.next_unused = next_unused
        for mid, s, oid, slot in snap.slots:
            st._sides[(mid, s)].slot[oid] = slot
        diff = StateDiff(
            tuple((o.order_id, o) for o in engine_snap.orders),
            tuple((a.account, a) for a in engine_snap.accounts),
        )
        st.apply(snap.height, diff, engine_snap.market_states)
        return st
