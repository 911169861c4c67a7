"""The state commitment: Poseidon trees over the engine's accounts, books and markets.

Layout (every hash is circomlib ``Poseidon(2)``; ``chain`` is ``poseidon.hash_chain``)::

    state_root   = chain(accounts_root, markets_root, height)
    markets_root = chain(market_root(m1), ..., market_root(mk), k)
    market_root  = chain(side_root(bids), side_root(asks), pack(mark, last_close_ts),
                         cum_price_time)
    side_root    = hash2(slot_tree_root, pack(head, head_price, head_priority))
    order leaf   = hash2(pack(price, qty, priority, account, next),
                         pack(order_id, cl_ord_id, side, next_price, next_priority))
    account leaf = chain(hash2(pubkey_x, pubkey_y), *pack_greedy(collateral,
                         per market: position, open_buy, open_sell, basis))

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
from collections.abc import Iterable, Sequence

import msgspec
from sortedcontainers import SortedList

from matching.block import BlockHeader, StateDiff
from matching.engine import AccountView, EngineSnapshot, MarketStateView, OrderView
from matching.types import Command, MarketConfig, Side

from .merkle import SparseMerkleTree
from .poseidon import MAX_PACK_BITS, hash2, hash_chain, pack

__all__ = [
    "COMMAND_FIELD_WIDTHS",
    "CommitmentSnapshot",
    "PoseidonState",
    "account_leaf",
    "command_hash",
    "order_leaf",
    "pack_greedy",
    "side_root",
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


def command_hash(cmd: Command) -> int:
    """Hash of one command: its type code and fields packed in declaration order."""
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
    elems = pack_greedy(fields) + extra
    return elems[0] if len(elems) == 1 else hash_chain(elems)


#: (slot + 1, price, priority) of a list neighbour; (0, 0, 0) is "none".
Link = tuple[int, int, int]
NO_LINK: Link = (0, 0, 0)


def order_leaf(o: OrderView, nxt: Link) -> int:
    """Leaf of a resting order whose successor in priority order is ``nxt``."""
    return hash2(
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


def side_root(tree_root: int, head: Link) -> int:
    return hash2(
        tree_root, pack([(head[0], SLOT_BITS + 1), (head[1], PRICE_BITS), (head[2], SEQ_BITS)])
    )


def account_leaf(a: AccountView, pubkey_hash: int) -> int:
    fields = [_signed(a.collateral, MONEY_BITS)]
    for p in a.positions:
        fields += [
            _signed(p.position, POSITION_BITS),
            (p.open_buy, QTY_BITS + 8),
            (p.open_sell, QTY_BITS + 8),
            _signed(p.basis, MONEY_BITS),
        ]
    return hash_chain([pubkey_hash, *pack_greedy(fields)])


def _market_root(bids: int, asks: int, ms: MarketStateView) -> int:
    return hash_chain(
        [bids, asks, pack([(ms.mark, PRICE_BITS), (ms.last_close_ts, TS_BITS)]), ms.cum_price_time]
    )


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
        return side_root(self.tree.root, self.head())


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
        mroots = []
        for mid, ms in self._market_states.items():
            mroots.append(
                _market_root(
                    self._sides[(mid, Side.BUY)].root(), self._sides[(mid, Side.SELL)].root(), ms
                )
            )
        markets_root = hash_chain([*mroots, len(mroots)])
        return hash_chain([self.accounts.root, markets_root, self.height])

    def command_commitment(self, commands: Sequence[Command]) -> int:
        """Poseidon chain ``c_i = hash2(c_{i-1}, command_hash(cmd_i))`` from ``c_0 = 0``."""
        acc = 0
        for cmd in commands:
            acc = hash2(acc, command_hash(cmd))
        return acc

    def header_hash(self, header: BlockHeader) -> int:
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

    def apply(self, height: int, diff: StateDiff, markets: Sequence[MarketStateView]) -> int:
        """Apply one block's diff; each touched leaf and tree node is hashed once."""
        self._apply_orders(diff.orders)
        updates = {}
        for aid, view in diff.accounts:
            if view is None:
                updates[aid] = 0
                self._pk_hash.pop(aid, None)
                continue
            pk = self._pk_hash.get(aid)
            if pk is None:
                pk = self._pk_hash[aid] = hash2(view.pubkey_x, view.pubkey_y)
            updates[aid] = account_leaf(view, pk)
        self.accounts.set_many(updates)
        for ms in markets:
            self._market_states[ms.market] = ms
        self.height = height
        self._root = self._state_root()
        return self._root

    def _apply_orders(self, orders: Iterable[tuple[int, OrderView | None]]) -> None:
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
        for key, ids in dirty.items():
            side = self._sides[key]
            updates = {s: 0 for s in freed[key]}
            for oid in ids:
                if oid in side.slot:
                    updates[side.slot[oid]] = order_leaf(side.view[oid], side.next_link(oid))
            if updates:
                side.tree.set_many(updates)

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
