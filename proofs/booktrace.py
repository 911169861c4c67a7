"""Price-time priority made provable: the book-side step model that ``book.circom`` proves.

One side of one market's book is a sorted linked list stored in a depth-D slot tree (see the
docstring of ``proofs.state``): each resting order sits in a slot, its leaf is
``order_leaf(order, next_link)`` and the side root is ``side_root(tree_root, head)``. A block
changes a side through a sequence of **steps**, each one leaf write that is a legal linked-list
operation. ``BookSide.step`` is the specification of circuit ``BookStep(D)``: it performs exactly
the checks the circuit performs, from the data the circuit sees (the touched leaf, the head
register, one pending register), and raises ``BookTraceError`` where the circuit would be
unsatisfiable. ``derive_ops`` turns a block's events into the operations, in execution order.

Why these local checks prove price-time priority. Invariants (true for the empty side, kept by
every step): (1) the non-empty leaves are exactly the list reachable from the head; (2) every
link (head register, a leaf's next) carries its target's key; (3) keys strictly increase along
the list. Then the head is the best order, so "a fill only takes the head" is price-time
priority. An insertion after P checks ``key(P) < key(X) < key(P.next)`` from P's leaf alone;
at the head ``key(X) < key(head)``; a removal after P checks ``P.next == X``; new orders go to
empty slots, so no order is overwritten. All of this is O(1) leaves per operation.

Keys. The engine orders asks by (price, priority) and bids by (-price, priority); the circuit
needs non-negative keys and one comparison, so it uses ``price * 2**48 + priority`` for asks and
``(MAX_PRICE - price) * 2**48 + priority`` for bids, ``MAX_PRICE = 2**40 - 1`` (the width of a
committed price). Both are the engine's order, as 88-bit integers. Priorities are command
sequence numbers, unique per order, so keys never tie.

Operations and step codes (``StepOp``; one write per step, all steps the same circuit)::

    INSERT_HEAD(order, slot)         -> INSERT_HEAD                 (1 write)
    INSERT_AFTER(pred, order, slot)  -> LINK(pred) + PUT(slot)      (2 writes)
    REMOVE_HEAD                      -> REMOVE_HEAD                 (1 write)
    REMOVE_AFTER(pred, slot)         -> DETACH(slot) + RELINK(pred) (2 writes)
    FILL_HEAD(q)                     -> FILL_HEAD  (qty - q; at 0 the leaf is emptied, head :=
                                                    its next)       (1 write)
    REDUCE(slot, q[, cl_ord_id])     -> REDUCE     (qty - q, key kept; replace may change the
                                                    client id)      (1 write)
    NOP                              -> NOP        (padding)

Two-write operations are split into two one-write steps rather than giving every step two
update slots: a slot costs ``MerkleUpdate(D)`` (483 D) plus two leaf hashes, and fills, head
operations and reductions (most of an aggressive order's steps) need only one. The price of
the split is a pending register ``(mode, X, N)`` carried between the halves (7 signals, no
hashing): LINK records the new link X and P's old successor N, PUT must write X's key at X's
slot with next N; DETACH empties a leaf X and records X (slot and key) and its successor N,
RELINK must find X as P's next and point P at N. Every other step requires no pending half, and
a sequence must end with none. A removal empties the leaf first so that the step which writes
the owner's account (DETACH, with the release of its open quantity) comes first and the
order-only half second, which is what the block circuit's alternating layout of full and
order-only steps wants (``proofs/circuits/BLOCK.md``). DETACH of the head is harmless: no leaf
points at the head, so no RELINK can follow it and the block is unsatisfiable. This matches
``proofs/circuits/BLOCK.md`` (INSERT_AFTER + INSERT_LEAF, REMOVE_AFTER + REMOVE_LEAF).

Slots of new orders (``derive_ops``). An order that still rests after the block takes the slot
``PoseidonState`` gives it (the slot rule in ``proofs.state``: lowest slots free at the start
of the block); an order that rested at the block's start keeps its slot when it is moved by a
replace. An order that rests and leaves within the same block takes the **lowest slot that is
empty at the start of the block, empty at its end, and not held by another such order at that
moment** (released again when it leaves). Such a slot is empty throughout the block for every
other order, so the sequential execution ends on exactly the tree the batch update computes.
"""

from __future__ import annotations

import copy
import dataclasses
import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import IntEnum

from sortedcontainers import SortedList

from matching.block import Block
from matching.engine import EngineSnapshot, OrderView
from matching.types import OrderAccepted, OrderCancelled, OrderReduced, OrderReplaced, Side, Trade

from .merkle import SparseMerkleTree, below_tier, levels_for
from .poseidon import pack
from .state import NO_LINK, CommitmentSnapshot, Link, PoseidonState, order_leaf, side_root

__all__ = [
    "KEY_SHIFT",
    "MAX_PRICE",
    "NO_PENDING",
    "BookOp",
    "BookSide",
    "BookTraceError",
    "OpKind",
    "Pending",
    "Step",
    "StepOp",
    "book_key",
    "derive_ops",
    "final_slots",
    "order_record",
    "pack_head",
    "steps_inputs",
    "trace_block",
    "verify_chain",
    "windows",
]

MAX_PRICE: int = (1 << 40) - 1
"""Largest committed price; bids are keyed by ``MAX_PRICE - price`` so keys are non-negative."""
KEY_SHIFT: int = 48
"""Priority width: ``key = key_price * 2**48 + priority`` (88 bits in all)."""

#: Pending half-operation between LINK/PUT and DETACH/RELINK: (mode, X link, N link).
Pending = tuple[int, Link, Link]
NO_PENDING: Pending = (0, NO_LINK, NO_LINK)
_PEND_INSERT = 1
_PEND_REMOVE = 2


class BookTraceError(ValueError):
    """An operation that is not a legal, priority-preserving change of the book side (the
    circuit would be unsatisfiable), or events that do not fit the side's state."""


class StepOp(IntEnum):
    """Step codes of circuit ``BookStep`` (the ``op`` input)."""

    NOP = 0
    INSERT_HEAD = 1
    LINK = 2
    PUT = 3
    REMOVE_HEAD = 4
    DETACH = 5
    RELINK = 6
    FILL_HEAD = 7
    REDUCE = 8


class OpKind(IntEnum):
    """Book-side operations, as derived from events (each is one or two steps)."""

    NOP = 0
    INSERT_HEAD = 1
    INSERT_AFTER = 2
    REMOVE_HEAD = 3
    REMOVE_AFTER = 4
    FILL_HEAD = 5
    REDUCE = 6


@dataclasses.dataclass(frozen=True, slots=True)
class BookOp:
    """One operation on a book side. ``slot``: the new, removed or reduced order's slot;
    ``pred``: the predecessor's slot; ``order``: the inserted order; ``qty``: filled or reduced
    quantity; ``cl_ord_id``: REDUCE's new client id (None keeps it); ``order_id``: the order
    the event named (FILL_HEAD/REMOVE_HEAD check it is the head's; 0 skips the check)."""

    kind: OpKind
    slot: int = -1
    pred: int = -1
    order: OrderView | None = None
    qty: int = 0
    cl_ord_id: int | None = None
    order_id: int = 0


def book_key(is_bid: bool, price: int, priority: int) -> int:
    """The circuit's priority key (smaller is better; module doc)."""
    return ((MAX_PRICE - price) if is_bid else price) << KEY_SHIFT | priority


def order_record(o: OrderView, nxt: Link) -> tuple[int, ...]:
    """The 10 fields of circuit ``OrderLeaf`` (``oldOrder``/``newOrder``), in its order."""
    return (o.price, o.qty, o.priority, o.account, nxt[0], o.order_id, o.cl_ord_id, o.side,
            nxt[1], nxt[2])


_EMPTY_RECORD: tuple[int, ...] = (0,) * 10


def pack_head(head: Link) -> int:
    """The head register as one element: ``pack(slot1 25, price 40, prio 48)``, the same
    packing ``proofs.state.side_root`` hashes."""
    return pack([(head[0], 25), (head[1], 40), (head[2], 48)])


def _flat_pending(p: Pending) -> tuple[int, ...]:
    return (p[0], *p[1], *p[2])


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """Witness and public values of one ``BookStep``: the write, the registers before and
    after, and the fill outputs ``(price, qty, account, order_id, remaining)``."""

    op: StepOp
    is_bid: bool
    index: int
    siblings: tuple[int, ...]
    old_order: tuple[int, ...]
    new_order: tuple[int, ...]
    link: Link
    q: int
    old_root: int
    new_root: int
    head_before: Link
    head_after: Link
    pend_before: Pending
    pend_after: Pending
    fill: tuple[int, int, int, int, int]
    #: the tree's tier (``SparseMerkleTree.tier``) before and after the write: what the circuit
    #: step reads and writes instead of the root
    old_tier: tuple[int, ...] = ()
    new_tier: tuple[int, ...] = ()

    def private_inputs(self) -> dict[str, object]:
        """The per-step witness signals (shared by ``BookStep`` and ``BookSteps``)."""
        return {
            "op": int(self.op),
            "index": self.index,
            "siblings": below_tier(self.siblings),
            "oldOrder": list(self.old_order),
            "newOrder": list(self.new_order),
            "link": list(self.link),
            "q": self.q,
        }

    def inputs(self) -> dict[str, object]:
        """All inputs of circuit ``BookStep(D)``."""
        return {
            "oldTier": list(self.old_tier),
            "head": list(self.head_before),
            "pend": list(_flat_pending(self.pend_before)),
            "isBid": int(self.is_bid),
            **self.private_inputs(),
        }

    def public_signals(self) -> list[int]:
        """Public signals of ``tests/circuits/book_step*_test.circom`` (outputs, then the
        public inputs oldTier, head, pend, isBid)."""
        return [
            *self.new_tier,
            *self.head_after,
            *_flat_pending(self.pend_after),
            *self.fill,
            *self.old_tier,
            *self.head_before,
            *_flat_pending(self.pend_before),
            int(self.is_bid),
        ]


def _with(o: OrderView, **changes: int) -> OrderView:
    return OrderView(**{**{f: getattr(o, f) for f in OrderView.__struct_fields__}, **changes})


class BookSide:
    """One side's list and slot tree, changed only through ``step`` (the circuit's rules)."""

    def __init__(self, depth: int, is_bid: bool) -> None:
        self.depth = depth
        self.is_bid = is_bid
        self.tree = SparseMerkleTree(depth)
        #: slot -> (order, next link): the leaves, as records
        self.orders: dict[int, tuple[OrderView, Link]] = {}
        self.head: Link = NO_LINK
        self.pending: Pending = NO_PENDING

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_orders(
        cls, depth: int, is_bid: bool, orders: Iterable[OrderView], slots: Mapping[int, int]
    ) -> BookSide:
        """A side holding ``orders`` at ``slots[order_id]``, linked in priority order."""
        side = cls(depth, is_bid)
        ordered = sorted(orders, key=lambda o: side.key(o.price, o.priority))
        links = [(slots[o.order_id] + 1, o.price, o.priority) for o in ordered]
        for i, o in enumerate(ordered):
            side.orders[slots[o.order_id]] = (o, links[i + 1] if i + 1 < len(links) else NO_LINK)
        side.head = links[0] if links else NO_LINK
        side.tree.set_many({s: order_leaf(o, n) for s, (o, n) in side.orders.items()})
        return side

    @classmethod
    def from_poseidon(cls, state: PoseidonState, market: int, side: int) -> BookSide:
        """The side as ``state`` commits it now (reads the commitment's slot map)."""
        ps = state._sides[(market, side)]
        return cls.from_orders(state.order_depth, side == Side.BUY, ps.view.values(), ps.slot)

    @classmethod
    def from_snapshots(
        cls,
        engine: EngineSnapshot,
        commitment: CommitmentSnapshot,
        market: int,
        side: int,
        depth: int,
    ) -> BookSide:
        """The side from persisted state: the engine's orders and the commitment's slots."""
        orders = [o for o in engine.orders if o.market == market and o.side == side]
        slots = {oid: s for m, sd, oid, s in commitment.slots if m == market and sd == side}
        return cls.from_orders(depth, side == Side.BUY, orders, slots)

    def copy(self) -> BookSide:
        return copy.deepcopy(self)

    # -- reading ---------------------------------------------------------------------------

    @property
    def root(self) -> int:
        """``proofs.state.side_root`` of this side."""
        return side_root(self.tree.root, self.head)

    def key(self, price: int, priority: int) -> int:
        return book_key(self.is_bid, price, priority)

    def _link_key(self, link: Link) -> int:
        return self.key(link[1], link[2])

    def walk(self) -> Iterator[int]:
        """Slots in list (priority) order, from the head."""
        link = self.head
        while link[0]:
            yield link[0] - 1
            link = self.orders[link[0] - 1][1]

    # -- the step (spec of BookStep) -------------------------------------------------------

    def step(
        self,
        op: StepOp,
        index: int | None = None,
        *,
        order: OrderView | None = None,
        link: Link = NO_LINK,
        q: int = 0,
        cl_ord_id: int | None = None,
    ) -> Step:
        """Apply one step after checking what ``BookStep`` checks; return its witness.

        ``index``: the written slot (the predecessor's for LINK/RELINK, the removed order's
        for DETACH). Where the circuit fixes it (the head's slot for REMOVE_HEAD/FILL_HEAD,
        X's for PUT) None means "that slot" and any other value is rejected, as the circuit
        rejects it. ``order``: the new order (INSERT_HEAD, PUT). ``link``: X for LINK.
        Raises BookTraceError, leaving the side unchanged, where the circuit is unsatisfiable.
        """
        op = StepOp(op)
        mode, px, pn = self.pending
        want = {StepOp.PUT: _PEND_INSERT, StepOp.RELINK: _PEND_REMOVE}.get(op, 0)
        if mode != want:
            raise BookTraceError(f"{op.name} with pending mode {mode}")
        head = self.head
        forced: int | None = None
        if op in (StepOp.REMOVE_HEAD, StepOp.FILL_HEAD):
            if not head[0]:
                raise BookTraceError(f"{op.name} on an empty side")
            forced = head[0] - 1
        elif op == StepOp.PUT:
            forced = px[0] - 1
        if forced is not None:
            if index is not None and index != forced:
                raise BookTraceError(f"{op.name} must write slot {forced}, not {index}")
            index = forced
        index = 0 if index is None else index
        if not 0 <= index < self.tree.capacity:
            raise BookTraceError(f"slot {index} outside the tree")
        old = self.orders.get(index) if op != StepOp.NOP else None
        new: tuple[OrderView, Link] | None = None
        new_head, new_pend = head, NO_PENDING
        fill = (0, 0, 0, 0, 0)
        new_rec: tuple[int, ...] | None = None
        if op in (StepOp.INSERT_HEAD, StepOp.PUT):
            if old is not None:
                raise BookTraceError(f"slot {index} is not empty")
            if order is None:
                raise BookTraceError(f"{op.name} needs an order")
            if order.side != (Side.BUY if self.is_bid else Side.SELL) or order.qty < 1:
                raise BookTraceError("new order of the wrong side or without quantity")
            if op == StepOp.INSERT_HEAD:
                if head[0] and not self.key(order.price, order.priority) < self._link_key(head):
                    raise BookTraceError("INSERT_HEAD of an order not better than the head")
                new = (order, head)
                new_head = (index + 1, order.price, order.priority)
            else:
                if (order.price, order.priority) != px[1:]:
                    raise BookTraceError("PUT of an order whose key differs from the LINK")
                new = (order, pn)
        elif op == StepOp.NOP:
            pass
        else:
            if old is None:
                raise BookTraceError(f"{op.name} on empty slot {index}")
            o, nxt = old
            if op in (StepOp.REMOVE_HEAD, StepOp.FILL_HEAD) and (o.price, o.priority) != head[1:]:
                raise BookTraceError("head register disagrees with the head leaf")
            if op == StepOp.LINK:
                if not self.key(o.price, o.priority) < self._link_key(link):
                    raise BookTraceError("LINK: new key not after the predecessor's")
                if nxt[0] and not self._link_key(link) < self._link_key(nxt):
                    raise BookTraceError("LINK: new key not before the predecessor's next")
                new, new_pend = (o, link), (_PEND_INSERT, link, nxt)
            elif op == StepOp.DETACH:
                new_pend = (_PEND_REMOVE, (index + 1, o.price, o.priority), nxt)
            elif op == StepOp.RELINK:
                if nxt != px:
                    raise BookTraceError("RELINK of a leaf whose next is not the DETACHed order")
                new = (o, pn)
            elif op == StepOp.REMOVE_HEAD:
                new_head = nxt
            elif op == StepOp.FILL_HEAD:
                if not 1 <= q <= o.qty:
                    raise BookTraceError(f"fill of {q} against {o.qty}")
                rest = _with(o, qty=o.qty - q)
                fill = (o.price, q, o.account, o.order_id, rest.qty)
                if rest.qty:
                    new = (rest, nxt)
                else:
                    new_rec = order_record(rest, nxt)  # the circuit's witness: qty 0, same fields
                    new_head = nxt
            elif op == StepOp.REDUCE:
                if not 0 <= q < o.qty:
                    raise BookTraceError(f"reduce by {q} of {o.qty}")
                cl = o.cl_ord_id if cl_ord_id is None else cl_ord_id
                new = (_with(o, qty=o.qty - q, cl_ord_id=cl), nxt)
        old_root = self.tree.root
        old_tier = tuple(self.tree.tier())
        if op == StepOp.NOP:
            siblings: list[int] = [0] * (3 * levels_for(self.depth))
            index = 0
        else:
            value = order_leaf(*new) if new is not None else 0
            old_leaf, siblings = self.tree.set_with_path(index, value)
            assert old_leaf == (order_leaf(*old) if old is not None else 0), "tree out of sync"
            if new is None:
                self.orders.pop(index, None)
            else:
                self.orders[index] = new
        if new_rec is None:
            new_rec = order_record(*new) if new is not None else _EMPTY_RECORD
        self.head, self.pending = new_head, new_pend
        return Step(
            op=op,
            is_bid=self.is_bid,
            index=index,
            siblings=tuple(siblings),
            old_order=order_record(*old) if old is not None else _EMPTY_RECORD,
            new_order=new_rec,
            link=link if op == StepOp.LINK else NO_LINK,
            q=q if op in (StepOp.FILL_HEAD, StepOp.REDUCE) else 0,
            old_root=old_root,
            new_root=self.tree.root,
            head_before=head,
            head_after=new_head,
            pend_before=(mode, px, pn),
            pend_after=new_pend,
            fill=fill,
            old_tier=old_tier,
            new_tier=tuple(self.tree.tier()),
        )

    def nop(self) -> Step:
        """A padding step at the current state."""
        return self.step(StepOp.NOP)

    # -- operations --------------------------------------------------------------------------

    def apply(self, op: BookOp) -> list[Step]:
        """Perform one operation as its step(s) (module doc); BookTraceError if illegal."""
        k = op.kind
        if k in (OpKind.REMOVE_HEAD, OpKind.FILL_HEAD) and op.order_id and self.head[0]:
            head_id = self.orders[self.head[0] - 1][0].order_id
            if head_id != op.order_id:
                raise BookTraceError(f"order {op.order_id} is not the head ({head_id})")
        if k == OpKind.NOP:
            return [self.nop()]
        if k == OpKind.INSERT_HEAD:
            return [self.step(StepOp.INSERT_HEAD, op.slot, order=op.order)]
        if k == OpKind.INSERT_AFTER:
            if op.order is None:
                raise BookTraceError("INSERT_AFTER needs an order")
            x = (op.slot + 1, op.order.price, op.order.priority)
            link = self.step(StepOp.LINK, op.pred, link=x)
            try:
                return [link, self.step(StepOp.PUT, op.slot, order=op.order)]
            except BookTraceError:
                self._undo(link)
                raise
        if k == OpKind.REMOVE_HEAD:
            return [self.step(StepOp.REMOVE_HEAD, op.slot if op.slot >= 0 else None)]
        if k == OpKind.REMOVE_AFTER:
            target = self.orders.get(op.slot)
            detach = self.step(StepOp.DETACH, op.slot)
            try:
                return [detach, self.step(StepOp.RELINK, op.pred)]
            except BookTraceError:
                self._undo(detach, target)
                raise
        if k == OpKind.FILL_HEAD:
            return [self.step(StepOp.FILL_HEAD, op.slot if op.slot >= 0 else None, q=op.qty)]
        if k == OpKind.REDUCE:
            return [self.step(StepOp.REDUCE, op.slot, q=op.qty, cl_ord_id=op.cl_ord_id)]
        raise BookTraceError(f"unknown operation {op!r}")

    def _undo(self, st: Step, removed: tuple[OrderView, Link] | None = None) -> None:
        """Revert a LINK/DETACH whose second half failed, so a rejected op changes nothing
        (``removed``: the leaf DETACH emptied)."""
        if st.op == StepOp.LINK:
            o, _ = self.orders[st.index]
            self.orders[st.index] = (o, st.pend_after[2])
        else:
            assert removed is not None
            self.orders[st.index] = removed
        self.tree.set(st.index, order_leaf(*self.orders[st.index]))
        self.pending = st.pend_before

    def _check(self) -> None:
        """Assert the invariants of the module doc (leaves = list, links carry keys, sorted)."""
        assert self.pending == NO_PENDING
        seen = list(self.walk())
        assert sorted(seen) == sorted(self.orders), "leaves and list differ"
        keys = [self.key(self.orders[s][0].price, self.orders[s][0].priority) for s in seen]
        assert keys == sorted(set(keys)), "list not strictly sorted"
        link = self.head
        for s in seen:
            o, nxt = self.orders[s]
            assert link == (s + 1, o.price, o.priority), "link key differs from target"
            link = nxt
        assert dict(self.tree.items()) == {s: order_leaf(*v) for s, v in self.orders.items()}


# -- deriving operations from a block -------------------------------------------------------


class _Shadow:
    """Priority order and slots of one side while a block's events are replayed (no hashing)."""

    def __init__(self, side: BookSide, final: Mapping[int, int]) -> None:
        self.is_bid = side.is_bid
        self.capacity = side.tree.capacity
        self.view: dict[int, OrderView] = {}
        self.slot: dict[int, int] = {}
        self.keys: SortedList = SortedList()
        for s, (o, _) in side.orders.items():
            self.view[o.order_id] = o
            self.slot[o.order_id] = s
            self.keys.add((self._key(o), o.order_id))
        self.start_slot = dict(self.slot)
        self.final = dict(final)
        self.blocked = set(side.orders) | set(final.values())
        self.released: list[int] = []
        self.scan = 0
        self.transient: set[int] = set()
        self.ops: list[BookOp] = []

    def _key(self, o: OrderView) -> int:
        return book_key(self.is_bid, o.price, o.priority)

    def head_id(self) -> int | None:
        return self.keys[0][1] if self.keys else None

    def _pred(self, key: int) -> int | None:
        i = self.keys.bisect_left((key, -1))
        return self.keys[i - 1][1] if i else None

    def _take_slot(self, oid: int) -> int:
        if oid in self.final:
            return self.final[oid]
        if oid in self.start_slot:
            return self.start_slot[oid]
        if self.released:
            s = heapq.heappop(self.released)
        else:
            while self.scan < self.capacity and self.scan in self.blocked:
                self.scan += 1
            if self.scan >= self.capacity:
                raise OverflowError("book side is full: no slot empty throughout the block")
            s = self.scan
            self.scan += 1
        self.transient.add(s)
        return s

    def insert(self, o: OrderView) -> None:
        key = self._key(o)
        pred = self._pred(key)
        s = self._take_slot(o.order_id)
        self.view[o.order_id], self.slot[o.order_id] = o, s
        self.keys.add((key, o.order_id))
        if pred is None:
            self.ops.append(BookOp(OpKind.INSERT_HEAD, slot=s, order=o, order_id=o.order_id))
        else:
            self.ops.append(
                BookOp(OpKind.INSERT_AFTER, slot=s, pred=self.slot[pred], order=o,
                       order_id=o.order_id)
            )

    def remove(self, oid: int) -> None:
        o = self.view.pop(oid)
        s = self.slot.pop(oid)
        key = self._key(o)
        pred = self._pred(key)
        self.keys.remove((key, oid))
        if pred is None:
            self.ops.append(BookOp(OpKind.REMOVE_HEAD, slot=s, order_id=oid))
        else:
            self.ops.append(BookOp(OpKind.REMOVE_AFTER, slot=s, pred=self.slot[pred],
                                   order_id=oid))
        if s in self.transient:
            self.transient.discard(s)
            heapq.heappush(self.released, s)

    def fill(self, oid: int, q: int, remaining: int) -> None:
        if self.head_id() != oid:
            raise BookTraceError(f"trade against order {oid}, which is not the head")
        o = self.view[oid]
        if o.qty - q != remaining:
            raise BookTraceError(f"trade of {q} leaves {remaining} of {o.qty}")
        self.ops.append(BookOp(OpKind.FILL_HEAD, slot=self.slot[oid], qty=q, order_id=oid))
        if remaining:
            self.view[oid] = _with(o, qty=remaining)
        else:
            self.view.pop(oid)
            self.keys.remove((self._key(o), oid))
            s = self.slot.pop(oid)
            if s in self.transient:
                self.transient.discard(s)
                heapq.heappush(self.released, s)

    def reduce(self, oid: int, q: int, cl_ord_id: int | None = None) -> None:
        o = self.view[oid]
        if q >= o.qty:
            self.remove(oid)
            return
        self.ops.append(
            BookOp(OpKind.REDUCE, slot=self.slot[oid], qty=q, cl_ord_id=cl_ord_id, order_id=oid)
        )
        self.view[oid] = _with(
            o, qty=o.qty - q, cl_ord_id=o.cl_ord_id if cl_ord_id is None else cl_ord_id
        )


def derive_ops(
    side: BookSide, block: Block, market: int, side_id: int, final: Mapping[int, int]
) -> list[BookOp]:
    """The operations ``block`` performs on side ``(market, side_id)``, in execution order.

    ``side``: the side at the start of the block (not changed). ``final``: order id -> slot
    of every order resting on this side after the block, as the commitment assigns them
    (``final_slots``). Events map to operations: Trade -> FILL_HEAD on the maker's side;
    OrderCancelled of a resting order -> REMOVE_*; OrderReduced of a resting order (STP
    decrement) -> REDUCE, or REMOVE_* at 0; OrderReplaced keeping priority -> REDUCE (with the
    new client id), moving -> REMOVE_* and the order becomes a taker again; a taker (new or
    moved) that has quantity left and was not cancelled when its command ends rests ->
    INSERT_*. Raises BookTraceError when the events do not fit (e.g. a trade against an order
    that is not the head).
    """
    sh = _Shadow(side, final)
    our_side = Side(side_id)
    for _, events in block.command_events():
        taker: OrderView | None = None
        remaining = 0
        for ev in events:
            if isinstance(ev, OrderAccepted):
                taker = None
                if ev.market == market and ev.side == our_side:
                    taker = OrderView(ev.order_id, ev.account, ev.market, ev.side, ev.price,
                                      ev.qty, ev.seq, ev.cl_ord_id)
                    remaining = ev.qty
            elif isinstance(ev, Trade):
                maker_side = Side.SELL if ev.taker_side == Side.BUY else Side.BUY
                if ev.market == market and maker_side == our_side:
                    sh.fill(ev.maker_order_id, ev.qty, ev.maker_remaining)
                if taker is not None and ev.taker_order_id == taker.order_id:
                    remaining = ev.taker_remaining
            elif isinstance(ev, OrderCancelled):
                if ev.order_id in sh.view:
                    sh.remove(ev.order_id)
                elif taker is not None and ev.order_id == taker.order_id:
                    taker = None
            elif isinstance(ev, OrderReduced):
                if ev.order_id in sh.view:
                    if sh.view[ev.order_id].qty - ev.reduced_by != ev.remaining:
                        raise BookTraceError(f"reduction of order {ev.order_id} inconsistent")
                    sh.reduce(ev.order_id, ev.reduced_by)
                elif taker is not None and ev.order_id == taker.order_id:
                    remaining = ev.remaining
            elif isinstance(ev, OrderReplaced) and ev.order_id in sh.view:
                old = sh.view[ev.order_id]
                if ev.priority_kept:
                    if ev.price != old.price or ev.qty > old.qty:
                        raise BookTraceError(f"replace of {ev.order_id} cannot keep priority")
                    sh.reduce(ev.order_id, old.qty - ev.qty, ev.cl_ord_id)
                else:
                    sh.remove(ev.order_id)
                    taker = OrderView(ev.order_id, ev.account, ev.market, old.side, ev.price,
                                      ev.qty, ev.seq, ev.cl_ord_id)
                    remaining = ev.qty
        if taker is not None and remaining > 0:
            sh.insert(_with(taker, qty=remaining))
    if {oid: sh.slot[oid] for oid in sh.view} != dict(final):
        raise BookTraceError("events do not end on the committed set of resting orders")
    return sh.ops


def final_slots(state: PoseidonState, market: int, side: int) -> dict[int, int]:
    """Order id -> slot of the orders ``state`` commits on one side (its public snapshot)."""
    return {oid: s for m, sd, oid, s in state.snapshot().slots if m == market and sd == side}


def trace_block(
    side: BookSide, block: Block, market: int, side_id: int, final: Mapping[int, int]
) -> list[Step]:
    """Derive the block's operations on the side and apply them: the step witnesses. Mutates
    ``side`` to the state after the block."""
    steps: list[Step] = []
    for op in derive_ops(side, block, market, side_id, final):
        steps.extend(side.apply(op))
    return steps


def verify_chain(steps: Sequence[Step]) -> None:
    """Check that consecutive steps chain (tree root, head, pending), as ``BookSteps`` wires
    them; a dropped or reordered step breaks the chain. Raises BookTraceError."""
    for i in range(1, len(steps)):
        a, b = steps[i - 1], steps[i]
        if (a.new_root, a.head_after, a.pend_after) != (b.old_root, b.head_before, b.pend_before):
            raise BookTraceError(f"step {i} does not start where step {i - 1} ended")


# -- fixed-size windows for BookSteps(D, S) -------------------------------------------------


def windows(steps: Sequence[Step], size: int) -> list[list[Step]]:
    """Cut a step sequence into windows of at most ``size`` steps that each start and end
    with no pending half-operation (``BookSteps`` requires it); pad with ``steps_inputs``."""
    out: list[list[Step]] = []
    i = 0
    while i < len(steps):
        j = min(i + size, len(steps))
        while j > i and steps[j - 1].pend_after != NO_PENDING:
            j -= 1
        if j == i:
            raise BookTraceError("window too small for a two-step operation")
        out.append(list(steps[i:j]))
        i = j
    return out


def steps_inputs(window: Sequence[Step], size: int, depth: int) -> tuple[dict[str, object],
                                                                         list[int]]:
    """Inputs and public signals ``[newRoot, newHead, oldRoot, oldHead, isBid]`` of
    ``BookSteps(depth, size)`` for one window, padded with NOP steps."""
    if not window or len(window) > size:
        raise ValueError("window must hold 1..size steps")
    first, last = window[0], window[-1]
    sibs = (0,) * (3 * levels_for(depth))
    nop = Step(StepOp.NOP, last.is_bid, 0, sibs, _EMPTY_RECORD, _EMPTY_RECORD, NO_LINK,
               0, last.new_root, last.new_root, last.head_after, last.head_after, NO_PENDING,
               NO_PENDING, (0, 0, 0, 0, 0))
    full = [*window, *[nop] * (size - len(window))]
    per = [s.private_inputs() for s in full]
    inputs: dict[str, object] = {
        "oldRoot": first.old_root,
        "oldHead": pack_head(first.head_before),
        "isBid": int(first.is_bid),
        "tier0": list(first.old_tier),
    }
    for name in per[0]:
        inputs[name] = [p[name] for p in per]
    public = [last.new_root, pack_head(last.head_after), first.old_root,
              pack_head(first.head_before), int(first.is_bid)]
    return inputs, public
