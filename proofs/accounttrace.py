"""Python model of the account half of the block circuit: ``AccountStep`` and its witnesses.

``proofs/circuits/account.circom`` proves one account-leaf update per step. This module is its
specification in Python and its witness builder:

* ``apply_fill``, ``requirement``, ``equity``, ``margin_ok``, ``withdraw_ok`` restate the
  engine's accounting rules (``matching.engine.ReferenceEngine._fill``, ``_requirement``,
  ``_equity``, ``_margin_ok``, ``_withdraw``) for one market, returning the division hints the
  circuit needs (quotient and remainder as private inputs).
* ``AccountTrace`` keeps the accounts tree (``SparseMerkleTree``, same leaves as
  ``proofs.state.PoseidonState``) and turns each ``StepParams`` into a ``StepWitness``: old and
  new fields, Merkle siblings, hints. ``check_step`` re-checks a witness against the same
  constraints the circuit enforces, so a tampered witness fails in Python exactly where it
  fails in-circuit.
* ``OrderLedger`` + ``command_ops``/``block_ops`` derive the op sequence from a block's events.

Why the order's open quantity is reserved at acceptance: the engine checks margin once, before
matching, on the full order quantity (``_margin_ok`` in ``_place``/``_replace``), and reserves
open quantity only for the part that rests. A circuit that checked margin on the rested part
after the fills would reject honest blocks: e.g. a long of 10 selling 15 is risk-neutral
before matching (accepted whatever the equity), but after 10 fill, resting 5 raises the
requirement from 0 and can fail. So the model reserves the full quantity with OPEN_ORDER on
the pre-trade account (margin checked there, as in the engine), every FILL consumes the
filled quantity of maker and taker alike, and every cancel/reduce/IOC remainder releases what
is left. Between commands the open quantities equal the engine's; inside a command the
reservation is the order's live quantity, which nothing else reads.

Several markets (``AccountStepOpsM(A, W, M)``): a step trades one market (``StepParams.market``,
an index into the venue's markets). Its fields are the ``AccountFields`` view of that market, as
for one market, and the other markets' ``PositionFields`` enter the leaf and the margin sums
unchanged (``AccountState`` is the whole account). The rules take the others as
``(PositionFields, MarketParams)`` pairs; with none they are the one-market rules. Pure: no
I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import IntEnum

from matching.block import Block
from matching.engine import AccountView, PositionView
from matching.types import (
    AccountAdded,
    AddAccount,
    CollateralChanged,
    Command,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderReduced,
    OrderReplaced,
    Side,
    Trade,
)

from .merkle import SparseMerkleTree, below_tier, compute_root, levels_for, tier_update
from .poseidon import FIELD_MODULUS, hash2
from .state import CL_ORD_ID_BITS, MONEY_BITS, POSITION_BITS, PRICE_BITS, QTY_BITS, account_leaf

__all__ = [
    "ACC_OP_OPEN_WRITE",
    "ACC_OP_WRITE",
    "AMOUNT_BITS",
    "BPS",
    "BPS_BITS",
    "OPEN_BITS",
    "REQ_BITS",
    "AccountFields",
    "AccountOp",
    "AccountState",
    "AccountTrace",
    "MarketParams",
    "OrderLedger",
    "PositionFields",
    "StepConstraintError",
    "StepParams",
    "StepRejected",
    "StepWitness",
    "apply_fill",
    "block_ops",
    "check_step",
    "command_ops",
    "equity",
    "felt",
    "liquidatable",
    "margin_ok",
    "requirement",
    "withdraw_ok",
]

BPS = 10_000
OPEN_BITS = QTY_BITS + 8
AMOUNT_BITS = 96
BPS_BITS = 14
REQ_BITS = 110
_MONEY_OFF = 1 << (MONEY_BITS - 1)
_POS_OFF = 1 << (POSITION_BITS - 1)


#: Op code of WRITE in ``AccountStepOps(A, 1)`` (the block circuit's account slot): not an
#: ``AccountOp`` because the standalone ``AccountStep`` does not have it.
ACC_OP_WRITE = 7
#: ``AccountStepOps(A, 1)`` only: OPEN_ORDER's checks on the old leaf, the caller's new fields
ACC_OP_OPEN_WRITE = 8


class AccountOp(IntEnum):
    """Op codes of ``AccountStep`` (``ACC_OP_*`` in account.circom)."""

    NOP = 0
    ADD = 1
    DEPOSIT = 2
    WITHDRAW = 3
    OPEN_ORDER = 4
    RELEASE = 5
    FILL = 6


class StepConstraintError(ValueError):
    """A witness violates a constraint of ``AccountStep`` (the circuit would not verify)."""


class StepRejected(ValueError):
    """The rules forbid the op on this account (margin, collateral, missing/existing account)."""


def felt(value: int) -> int:
    """A signed integer as the field element circuits take (``-x`` is ``p - x``)."""
    return value % FIELD_MODULUS


def _fits(value: int, bits: int) -> bool:
    return 0 <= value < 1 << bits


@dataclasses.dataclass(frozen=True, slots=True)
class AccountFields:
    """One market's committed account fields (signed where the engine's are)."""

    collateral: int = 0
    position: int = 0
    open_buy: int = 0
    open_sell: int = 0
    basis: int = 0
    #: the replay mark: largest client id of the account's accepted signed commands
    nonce: int = 0

    @classmethod
    def from_view(cls, view: AccountView) -> AccountFields:
        if len(view.positions) != 1:
            raise ValueError("the account circuit covers exactly one market")
        p = view.positions[0]
        return cls(
            int(view.collateral), p.position, p.open_buy, p.open_sell, int(p.basis), view.nonce
        )

    def encoded(self) -> tuple[int, int, int, int, int, int]:
        """The offset encodings the leaf packs, in layout order (``v + 2**(w-1)`` if signed)."""
        return (
            self.collateral + _MONEY_OFF,
            self.position + _POS_OFF,
            self.open_buy,
            self.open_sell,
            self.basis + _MONEY_OFF,
            self.nonce,
        )

    def in_range(self) -> bool:
        """Every encoded field fits its committed width (what ``Pack`` checks in-circuit)."""
        widths = (MONEY_BITS, POSITION_BITS, OPEN_BITS, OPEN_BITS, MONEY_BITS, CL_ORD_ID_BITS)
        return all(_fits(v, w) for v, w in zip(self.encoded(), widths, strict=True))

    def leaf(self, pubkey_hash: int, market: int = 1) -> int:
        """The committed leaf, computed by ``proofs.state.account_leaf`` itself."""
        view = AccountView(
            0,
            self.collateral,
            0,
            0,
            (PositionView(market, self.position, self.basis, self.open_buy, self.open_sell),),
            self.nonce,
        )
        return account_leaf(view, pubkey_hash)


@dataclasses.dataclass(frozen=True, slots=True)
class PositionFields:
    """One market's fields of an account that a step does not trade (signed where the
    engine's are)."""

    position: int = 0
    open_buy: int = 0
    open_sell: int = 0
    basis: int = 0

    def encoded(self) -> tuple[int, int, int, int]:
        """The offset encodings the leaf packs (``AccountFields.encoded``'s middle four)."""
        return (self.position + _POS_OFF, self.open_buy, self.open_sell, self.basis + _MONEY_OFF)

    def in_range(self) -> bool:
        widths = (POSITION_BITS, OPEN_BITS, OPEN_BITS, MONEY_BITS)
        return all(_fits(v, w) for v, w in zip(self.encoded(), widths, strict=True))


@dataclasses.dataclass(frozen=True, slots=True)
class AccountState:
    """An account with every market's fields, in market order: what its leaf commits."""

    collateral: int = 0
    markets: tuple[PositionFields, ...] = (PositionFields(),)
    nonce: int = 0

    @classmethod
    def from_view(cls, view: AccountView) -> AccountState:
        markets = tuple(
            PositionFields(p.position, p.open_buy, p.open_sell, int(p.basis))
            for p in view.positions
        )
        return cls(int(view.collateral), markets, view.nonce)

    @classmethod
    def of(cls, f: AccountFields, market: int, others: Sequence[PositionFields]) -> AccountState:
        """``f`` in market ``market`` and ``others`` elsewhere (``others[market]`` not read)."""
        markets = list(others) or [PositionFields()]
        markets[market] = PositionFields(f.position, f.open_buy, f.open_sell, f.basis)
        return cls(f.collateral, tuple(markets), f.nonce)

    def view(self, market: int) -> AccountFields:
        """The fields a step trading ``market`` sees."""
        p = self.markets[market]
        return AccountFields(
            self.collateral, p.position, p.open_buy, p.open_sell, p.basis, self.nonce
        )

    def others(self, market: int) -> tuple[PositionFields, ...]:
        """Every market's fields with ``market``'s zeroed: the circuit's ``other*`` inputs,
        whose slot ``market`` it does not read (and ADD needs at the zero encoding)."""
        out = list(self.markets)
        out[market] = PositionFields()
        return tuple(out)

    def leaf(self, pubkey_hash: int) -> int:
        """The committed leaf, computed by ``proofs.state.account_leaf`` itself."""
        positions = tuple(
            PositionView(i + 1, p.position, p.basis, p.open_buy, p.open_sell)
            for i, p in enumerate(self.markets)
        )
        return account_leaf(
            AccountView(0, self.collateral, 0, 0, positions, self.nonce), pubkey_hash
        )


@dataclasses.dataclass(frozen=True, slots=True)
class MarketParams:
    """The market inputs of a step: the mark (previous settlement price), ``imf_bps`` and
    ``mmf_bps`` (the maintenance rate a liquidation order is checked at)."""

    mark: int
    imf_bps: int
    mmf_bps: int = 0

    def maintenance(self) -> MarketParams:
        """These parameters at the maintenance rate (``MarginOk`` with ``liquidate``)."""
        return dataclasses.replace(self, imf_bps=self.mmf_bps)


# --- the accounting rules, with hints ---------------------------------------------------------


def apply_fill(
    f: AccountFields, is_buy: bool, price: int, qty: int
) -> tuple[AccountFields, int, int]:
    """``ReferenceEngine._fill`` on the position fields: (new fields, released, remainder).

    ``released * div + remainder == abs(basis) * close`` with ``div = abs(position)`` (1 when
    flat) is the division hint the circuit checks. Open quantities are left alone here.
    """
    s = 1 if is_buy else -1
    pos = f.position
    size = abs(pos)
    same = pos == 0 or (pos > 0) == is_buy
    close = 0 if same else min(qty, size)
    div = size if pos else 1
    released, rem = divmod(abs(f.basis) * close, div)
    direction = 1 if pos > 0 else -1
    collateral = f.collateral + direction * (close * price - released)
    basis = f.basis - (released if f.basis >= 0 else -released) + s * (qty - close) * price
    new = dataclasses.replace(f, collateral=collateral, position=pos + s * qty, basis=basis)
    return new, released, rem


def requirement(position: int, open_buy: int, open_sell: int, m: MarketParams) -> tuple[int, int]:
    """``_requirement`` for one market: (ceil(imf * mark * risk / 10^4), hint remainder)."""
    risk = max(abs(position + open_buy), abs(position - open_sell))
    x = m.imf_bps * m.mark * risk
    req = -(-x // BPS)
    return req, req * BPS - x


#: The markets a step does not trade, each with its parameters (``margin_ok``'s ``others``).
Others = Sequence[tuple[PositionFields, MarketParams]]


def equity(f: AccountFields, m: MarketParams, others: Others = ()) -> int:
    """``_equity``: collateral plus every market's unrealised PnL at its mark."""
    eq = f.collateral + (f.position * m.mark - f.basis if f.position else 0)
    for p, mo in others:
        eq += p.position * mo.mark - p.basis if p.position else 0
    return eq


def _others_requirement(others: Others, *, maintenance: bool = False) -> int:
    """The other markets' requirement, or their maintenance margin (open orders left out)."""
    total = 0
    for p, mo in others:
        if maintenance:
            total += requirement(p.position, 0, 0, mo.maintenance())[0]
        else:
            total += requirement(p.position, p.open_buy, p.open_sell, mo)[0]
    return total


def margin_ok(
    f: AccountFields, is_buy: bool, price: int, qty: int, m: MarketParams, others: Others = ()
) -> bool:
    """``_margin_ok``: the order does not raise the requirement, or equity covers it."""
    before, _ = requirement(f.position, f.open_buy, f.open_sell, m)
    buy, sell = (qty, 0) if is_buy else (0, qty)
    after, _ = requirement(f.position, f.open_buy + buy, f.open_sell + sell, m)
    if after <= before:  # the other markets' terms are on both sides
        return True
    lock_in = max(0, (price - m.mark) if is_buy else (m.mark - price)) * qty
    return equity(f, m, others) - lock_in >= after + _others_requirement(others)


def liquidatable(
    f: AccountFields, is_buy: bool, qty: int, m: MarketParams, others: Others = ()
) -> bool:
    """``_liquidatable``: nothing open in the order's market, the order closes part or all of
    its position (opposite side, ``0 < qty <= |position|``), equity below the maintenance
    margin of every market."""
    if f.open_buy or f.open_sell or not f.position or (f.position < 0) != is_buy:
        return False
    if not 0 < qty <= abs(f.position):
        return False
    maintenance, _ = requirement(f.position, 0, 0, m.maintenance())
    maintenance += _others_requirement(others, maintenance=True)
    return equity(f, m, others) < maintenance


def withdraw_ok(f: AccountFields, amount: int, m: MarketParams, others: Others = ()) -> bool:
    """``_withdraw``'s acceptance: amount <= collateral and equity - amount >= requirement."""
    req, _ = requirement(f.position, f.open_buy, f.open_sell, m)
    req += _others_requirement(others)
    return (
        0 < amount < 1 << AMOUNT_BITS
        and amount <= f.collateral
        and (equity(f, m, others) - amount >= req)
    )


# --- steps -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class StepParams:
    """One account op as the block derives it (``side`` is ``Side.BUY``/``Side.SELL``)."""

    op: AccountOp
    account: int = 0
    side: int = Side.BUY
    price: int = 0
    qty: int = 0
    amount: int = 0
    #: ADD only: Poseidon(pubkey_x, pubkey_y) of the new account
    pubkey_hash: int = 0
    #: an accepted signed command on a signed venue: the nonce rises to ``nonce`` (its
    #: client id), which must be above the account's (``matching.engine`` ``signed_nonces``)
    bump: bool = False
    nonce: int = 0
    #: OPEN_ORDER of a liquidation order: ``liquidatable`` instead of ``margin_ok``, and the
    #: requirement hints at the maintenance rate (the block circuit derives the flag)
    liquidate: bool = False
    #: the market the op trades: an index into the venue's markets (0 with one market)
    market: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class StepWitness:
    """Everything ``AccountStep(A)`` takes, plus the roots it chains."""

    op: AccountOp
    index: int
    old_root: int
    new_root: int
    siblings: tuple[int, ...]
    pubkey_hash: int
    old: AccountFields
    new: AccountFields
    is_buy: int
    price: int
    qty: int
    amount: int
    mark: int
    imf: int
    released: int
    div_rem: int
    req_before: int
    rem_before: int
    req_after: int
    rem_after: int
    bump: int = 0
    nonce_in: int = 0
    #: the tree's tier (``SparseMerkleTree.tier``) before and after: what the circuit reads
    #: and writes instead of the root
    old_tier: tuple[int, ...] = ()
    new_tier: tuple[int, ...] = ()
    #: a liquidation order's OPEN_ORDER, and the market's maintenance rate: the block circuit
    #: derives both (the command's flag, the market), so they are not inputs
    liquidate: int = 0
    mmf: int = 0
    #: Several markets (``AccountStepOpsM(A, W, M)``, M > 1; all empty for one market): the
    #: traded market's index, every market's untraded fields (``AccountState.others``), every
    #: market's parameters, and every market's requirement hint before the op (a liquidation's
    #: at the maintenance rate with open orders left out); ``req_before``/``rem_before`` are the
    #: traded market's, as for one market.
    market: int = 0
    others: tuple[PositionFields, ...] = ()
    params: tuple[MarketParams, ...] = ()
    reqs_before: tuple[tuple[int, int], ...] = ()
    #: the old leaf must have nothing open in any market (the block circuit sets it at the end
    #: of a mass cancel of every market; the traded market's fields are checked there too)
    flat_all: int = 0

    def leaf(self, f: AccountFields) -> int:
        """The leaf of the account with ``f`` in the traded market (the others unchanged)."""
        if not self.others:
            return f.leaf(self.pubkey_hash)
        return AccountState.of(f, self.market, self.others).leaf(self.pubkey_hash)

    def inputs(self) -> dict[str, object]:
        """Circuit inputs by signal name (``AccountStep``'s, or ``AccountStepOpsM``'s)."""
        out = self._inputs()
        if self.others:
            for name in ("mark", "imf", "reqBefore", "remBefore"):
                del out[name]
            enc = [o.encoded() for o in self.others]
            for j, name in enumerate(("Position", "OpenBuy", "OpenSell", "Basis")):
                out[f"other{name}"] = [e[j] for e in enc]
            out |= {
                "market": self.market,
                "marks": [m.mark for m in self.params],
                "imfs": [m.imf_bps for m in self.params],
                "mmfs": [m.mmf_bps for m in self.params],
                "liquidate": self.liquidate,
                "reqBefore": [r for r, _ in self.reqs_before],
                "remBefore": [r for _, r in self.reqs_before],
                "flatAll": self.flat_all,
            }
        return out

    def _inputs(self) -> dict[str, object]:
        old, new = self.old.encoded(), self.new.encoded()
        names = ("Collateral", "Position", "OpenBuy", "OpenSell", "Basis", "Nonce")
        out: dict[str, object] = {
            "op": int(self.op),
            "oldTier": list(self.old_tier),
            "index": self.index,
            "siblings": below_tier(self.siblings),
            "pubkeyHash": self.pubkey_hash,
            "isBuy": self.is_buy,
            "price": self.price,
            "qty": self.qty,
            "amount": self.amount,
            "mark": self.mark,
            "imf": self.imf,
            "released": self.released,
            "divRem": self.div_rem,
            "reqBefore": self.req_before,
            "remBefore": self.rem_before,
            "reqAfter": self.req_after,
            "remAfter": self.rem_after,
            "bumpNonce": self.bump,
            "nonceIn": self.nonce_in,
        }
        for name, o, n in zip(names, old, new, strict=True):
            out[f"old{name}"] = o
            out[f"new{name}"] = n
        return out

    def public_signals(self) -> list[int]:
        """Circom order for the test wrapper ``{public [oldTier]}``: newTier, then oldTier."""
        return [*self.new_tier, *self.old_tier]

    def with_new(self, new: AccountFields) -> StepWitness:
        """The same step claiming other new fields; the new root follows them (tamper tests)."""
        root, tier = self.old_root, self.old_tier
        if self.op != AccountOp.NOP:
            leaf = self.leaf(new)
            root = compute_root(self.index, leaf, self.siblings)
            tier = tuple(tier_update(tier, self.index, leaf, below_tier(self.siblings)))
        return dataclasses.replace(self, new=new, new_root=root, new_tier=tier)


def _margin_hints(
    old: AccountFields, is_buy: bool, qty: int, m: MarketParams
) -> tuple[int, int, int, int]:
    rb, remb = requirement(old.position, old.open_buy, old.open_sell, m)
    buy, sell = (qty, 0) if is_buy else (0, qty)
    ra, rema = requirement(old.position, old.open_buy + buy, old.open_sell + sell, m)
    return rb, remb, ra, rema


def check_step(w: StepWitness, depth: int) -> None:
    """Raise StepConstraintError unless ``w`` satisfies every constraint of AccountStep(depth).

    Mirrors the circuit constraint by constraint (ranges, hints, op rule, Merkle paths), so a
    witness passes here exactly when the circuit accepts it (for in-range integer inputs).
    """

    def need(cond: bool, what: str) -> None:
        if not cond:
            raise StepConstraintError(f"{w.op.name}: {what}")

    need(w.op in AccountOp.__members__.values(), "unknown op")
    need(w.is_buy in (0, 1), "isBuy not boolean")
    need(_fits(w.price, PRICE_BITS) and _fits(w.mark, PRICE_BITS), "price/mark range")
    need(_fits(w.qty, QTY_BITS) and _fits(w.amount, AMOUNT_BITS), "qty/amount range")
    need(_fits(w.imf, BPS_BITS), "imf range")
    need(w.bump in (0, 1) and _fits(w.nonce_in, CL_ORD_ID_BITS), "nonce input range")
    need(w.old.in_range(), "old fields out of range")
    need(w.new.in_range(), "new fields out of range")
    need(len(w.siblings) == 3 * levels_for(depth) and _fits(w.index, depth), "path shape")
    o = w.old
    # ApplyFill's division hint
    pos, size = o.position, abs(o.position)
    same = pos == 0 or (pos > 0) == bool(w.is_buy)
    close = 0 if same else min(w.qty, size)
    div = size if pos else 1
    need(_fits(w.released, 128) and 0 <= w.div_rem < div, "division hint range")
    need(w.released * div + w.div_rem == abs(o.basis) * close, "division hint")
    # Requirement hints (a liquidation's at the maintenance rate)
    need(w.liquidate in (0, 1), "liquidate not boolean")
    m = MarketParams(w.mark, w.imf, w.mmf)
    rate = w.mmf if w.liquidate else w.imf
    need(_fits(rate, BPS_BITS), "rate range")
    hints = [
        (w.req_before, w.rem_before, pos, o.open_buy, o.open_sell, rate, w.mark),
        (
            w.req_after,
            w.rem_after,
            pos,
            o.open_buy + w.is_buy * w.qty,
            o.open_sell + (1 - w.is_buy) * w.qty,
            rate,
            w.mark,
        ),
    ]
    others = _check_others(w, need, hints) if w.others else ()
    for req, rem, p_, ob, os_, r, mk in hints:
        risk = max(abs(p_ + ob), abs(p_ - os_))
        need(_fits(req, REQ_BITS) and 0 <= rem < BPS, "requirement hint range")
        need(req * BPS == r * mk * risk + rem, "requirement hint")
    # The op's rule
    op = w.op
    if op in (AccountOp.OPEN_ORDER, AccountOp.FILL):
        need(w.qty > 0, "qty is 0")
    if op in (AccountOp.DEPOSIT, AccountOp.WITHDRAW):
        need(w.amount > 0, "amount is 0")
    if w.liquidate:
        need(op == AccountOp.OPEN_ORDER, "liquidation outside OPEN_ORDER")
        need(liquidatable(o, bool(w.is_buy), w.qty, m, others), "not liquidatable")
    elif op == AccountOp.OPEN_ORDER:
        need(margin_ok(o, bool(w.is_buy), w.price, w.qty, m, others), "margin")
    if op == AccountOp.WITHDRAW:
        need(w.amount <= o.collateral, "amount exceeds collateral")
        req = w.req_before + sum(r for j, (r, _) in enumerate(w.reqs_before) if j != w.market)
        need(equity(o, m, others) - w.amount >= req, "withdrawal beyond equity")
    if op == AccountOp.ADD:
        need(all(x == PositionFields() for x in w.others), "ADD: another market not flat")
    if w.flat_all:
        need(w.flat_all == 1 and len(w.others) > 1, "flatAll is for several markets, 0 or 1")
        rest = (x for j, x in enumerate(w.others) if j != w.market)
        need(all(x.open_buy == x.open_sell == 0 for x in (o, *rest)), "orders left open")
    if w.bump:
        need(op not in (AccountOp.NOP, AccountOp.ADD), "nonce raised by NOP/ADD")
        need(w.nonce_in > o.nonce, "nonce not above the account's (a replayed signed command)")
    nxt = _next_fields(o, op, bool(w.is_buy), w.price, w.qty, w.amount)
    if w.bump:
        nxt = dataclasses.replace(nxt, nonce=w.nonce_in)
    need(w.new == nxt, "new fields")
    # Merkle paths
    if op == AccountOp.NOP:
        need(w.new_root == w.old_root, "NOP changed the root")
        return
    old_leaf = 0 if op == AccountOp.ADD else w.leaf(o)
    need(compute_root(w.index, old_leaf, w.siblings) == w.old_root, "old leaf not in the tree")
    need(compute_root(w.index, w.leaf(w.new), w.siblings) == w.new_root, "new root")


def _check_others(w: StepWitness, need: Callable[[bool, str], None], hints: list) -> Others:
    """``check_step``'s part for several markets: shapes, the other markets' ranges and
    parameters, and their requirement hints (appended to ``hints``). Returns the rules'
    ``others``."""
    n = len(w.others)
    need(len(w.params) == n and len(w.reqs_before) == n and 0 <= w.market < n, "market shape")
    need(w.params[w.market] == MarketParams(w.mark, w.imf, w.mmf), "traded market's params")
    need(w.reqs_before[w.market] == (w.req_before, w.rem_before), "traded market's hint")
    others = []
    for j, (x, mp, (req, rem)) in enumerate(zip(w.others, w.params, w.reqs_before, strict=True)):
        rate = mp.mmf_bps if w.liquidate else mp.imf_bps
        need(_fits(mp.mark, PRICE_BITS) and _fits(rate, BPS_BITS), "market params range")
        if j == w.market:
            continue
        need(x.in_range(), "another market's fields out of range")
        ob, os_ = (0, 0) if w.liquidate else (x.open_buy, x.open_sell)
        hints.append((req, rem, x.position, ob, os_, rate, mp.mark))
        others.append((x, mp))
    return others


def _next_fields(
    o: AccountFields, op: AccountOp, is_buy: bool, price: int, qty: int, amount: int
) -> AccountFields:
    """The new fields the op's rule gives (no acceptance checks; see ``check_step``)."""
    if op == AccountOp.ADD:
        return AccountFields()
    if op == AccountOp.DEPOSIT:
        return dataclasses.replace(o, collateral=o.collateral + amount)
    if op == AccountOp.WITHDRAW:
        return dataclasses.replace(o, collateral=o.collateral - amount)
    new = o
    if op == AccountOp.FILL:
        new, _, _ = apply_fill(o, is_buy, price, qty)
    delta = {AccountOp.OPEN_ORDER: qty, AccountOp.RELEASE: -qty, AccountOp.FILL: -qty}.get(op, 0)
    if is_buy:
        return dataclasses.replace(new, open_buy=new.open_buy + delta)
    return dataclasses.replace(new, open_sell=new.open_sell + delta)


class _MarketView(Mapping[int, AccountFields]):
    """``AccountTrace.fields``: each account's ``AccountFields`` in one market, read-only."""

    def __init__(self, states: Mapping[int, AccountState], market: int) -> None:
        self._states = states
        self._market = market

    def __getitem__(self, account: int) -> AccountFields:
        return self._states[account].view(self._market)

    def __iter__(self) -> Iterator[int]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)


class AccountTrace:
    """The accounts tree as the circuit sees it, advanced one ``AccountStep`` at a time.

    ``markets`` is the venue's number of markets (M): each step names the one it trades
    (``StepParams.market``) and takes every market's ``MarketParams``."""

    def __init__(self, depth: int, *, markets: int = 1) -> None:
        if markets < 1:
            raise ValueError(f"a venue has at least one market, not {markets}")
        self.depth = depth
        self.markets = markets
        self.tree = SparseMerkleTree(depth)
        self.states: dict[int, AccountState] = {}
        self.pubkey_hash: dict[int, int] = {}
        self._empty = AccountState(markets=(PositionFields(),) * markets)

    @classmethod
    def from_views(
        cls, depth: int, views: Iterable[AccountView], *, markets: int = 1
    ) -> AccountTrace:
        """Start from existing accounts (e.g. an engine snapshot)."""
        t = cls(depth, markets=markets)
        updates = {}
        for v in views:
            if len(v.positions) != markets:
                raise ValueError(
                    f"account {v.account} has {len(v.positions)} markets, not {markets}"
                )
            st = AccountState.from_view(v)
            pk = hash2(v.pubkey_x, v.pubkey_y)
            t.states[v.account] = st
            t.pubkey_hash[v.account] = pk
            updates[v.account] = st.leaf(pk)
        t.tree.set_many(updates)
        return t

    @property
    def root(self) -> int:
        return self.tree.root

    @property
    def fields(self) -> Mapping[int, AccountFields]:
        """Each account's fields in the first market (the only one of a one-market venue)."""
        return _MarketView(self.states, 0)

    def _params(self, m: MarketParams | Sequence[MarketParams]) -> tuple[MarketParams, ...]:
        params = (m,) if isinstance(m, MarketParams) else tuple(m)
        if len(params) != self.markets:
            raise ValueError(f"{len(params)} markets' params for a venue of {self.markets}")
        return params

    def preview(
        self,
        p: StepParams,
        m: MarketParams | Sequence[MarketParams],
        *,
        enforce: bool = True,
    ) -> StepWitness:
        """The witness of ``p`` on the current tree, without applying it. ``m``: the market's
        parameters, or with several markets every market's, in market order.

        With ``enforce`` the rules are applied first and a forbidden op raises StepRejected;
        without, the witness is built anyway (honest hints, so only the rule's constraint
        fails: how tests make "an OPEN_ORDER that fails margin").
        """
        params = self._params(m)
        op = AccountOp(p.op)
        if op == AccountOp.NOP:
            return self.nop(params) if self.markets > 1 else self._nop()
        if not 0 <= p.market < self.markets:
            raise ValueError(f"market index {p.market} outside the venue's {self.markets}")
        k = p.market
        mk = params[k]
        exists = p.account in self.states
        if enforce and exists == (op == AccountOp.ADD):
            raise StepRejected(f"{op.name}: account {p.account} exists={exists}")
        is_buy = p.side == Side.BUY
        if op == AccountOp.ADD:
            st, pk = self._empty, p.pubkey_hash
        else:
            st, pk = self.states[p.account], self.pubkey_hash[p.account]
        old = st.view(k)
        others = [(st.markets[j], params[j]) for j in range(self.markets) if j != k]
        if enforce and p.liquidate:
            if op != AccountOp.OPEN_ORDER or not liquidatable(old, is_buy, p.qty, mk, others):
                raise StepRejected(f"{op.name}: account {p.account} is not liquidatable")
        elif (
            enforce
            and op == AccountOp.OPEN_ORDER
            and not margin_ok(old, is_buy, p.price, p.qty, mk, others)
        ):
            raise StepRejected(f"OPEN_ORDER: margin fails for account {p.account}")
        if enforce and op == AccountOp.WITHDRAW and not withdraw_ok(old, p.amount, mk, others):
            raise StepRejected(f"WITHDRAW: insufficient collateral for account {p.account}")
        if enforce and p.bump and not p.nonce > old.nonce:
            raise StepRejected(f"{op.name}: nonce {p.nonce} not above {old.nonce} (replay)")
        new = _next_fields(old, op, is_buy, p.price, p.qty, p.amount)
        if p.bump:
            new = dataclasses.replace(new, nonce=p.nonce)
        _, released, div_rem = apply_fill(old, is_buy, p.price, p.qty)
        rb, remb, ra, rema = _margin_hints(
            old, is_buy, p.qty, mk.maintenance() if p.liquidate else mk
        )
        multi = self._multi(st, k, params, bool(p.liquidate)) if self.markets > 1 else {}
        siblings = tuple(self.tree.path(p.account))
        old_tier = tuple(self.tree.tier())
        w = StepWitness(
            op=op,
            index=p.account,
            old_root=self.tree.root,
            new_root=0,
            siblings=siblings,
            pubkey_hash=pk,
            old=old,
            new=new,
            is_buy=int(is_buy),
            price=p.price,
            qty=p.qty,
            amount=p.amount,
            mark=mk.mark,
            imf=mk.imf_bps,
            released=released,
            div_rem=div_rem,
            req_before=rb,
            rem_before=remb,
            req_after=ra,
            rem_after=rema,
            bump=int(p.bump),
            nonce_in=p.nonce,
            old_tier=old_tier,
            new_tier=old_tier,
            liquidate=int(p.liquidate),
            mmf=mk.mmf_bps,
            **multi,
        )
        # New fields outside their widths have no leaf (no root can commit them): root 0.
        if new.in_range():
            leaf = w.leaf(new)
            w = dataclasses.replace(
                w,
                new_root=compute_root(p.account, leaf, siblings),
                new_tier=tuple(tier_update(old_tier, p.account, leaf, below_tier(siblings))),
            )
        return w

    @staticmethod
    def _multi(
        st: AccountState, k: int, params: Sequence[MarketParams], liquidate: bool
    ) -> dict[str, object]:
        """A step's several-market fields (``StepWitness.others`` and after) on ``st``."""
        reqs = []
        for x, mp in zip(st.markets, params, strict=True):
            if liquidate:  # the maintenance margin: open orders do not count
                reqs.append(requirement(x.position, 0, 0, mp.maintenance()))
            else:
                reqs.append(requirement(x.position, x.open_buy, x.open_sell, mp))
        return {
            "market": k,
            "others": st.others(k),
            "params": tuple(params),
            "reqs_before": tuple(reqs),
        }

    def _nop(self) -> StepWitness:
        z = AccountFields(-_MONEY_OFF, -_POS_OFF, 0, 0, -_MONEY_OFF, 0)  # all-zero encodings
        root, tier = self.tree.root, tuple(self.tree.tier())
        return StepWitness(
            AccountOp.NOP, 0, root, root, (0,) * (3 * levels_for(self.depth)), 0, z, z,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, old_tier=tier, new_tier=tier,
        )  # fmt: skip

    def step(self, p: StepParams, m: MarketParams | Sequence[MarketParams]) -> StepWitness:
        """Apply one op (rules enforced), check its witness, and return it."""
        w = self.preview(p, m)
        check_step(w, self.depth)
        if w.op == AccountOp.NOP:
            return w
        self._store(w, w.new)
        return w

    def _store(self, w: StepWitness, new: AccountFields) -> None:
        """Write ``new`` into ``w``'s account and market."""
        st = self.states.get(w.index, self._empty)
        nxt = AccountState.of(new, w.market, st.markets)
        _, siblings = self.tree.set_with_path(w.index, nxt.leaf(w.pubkey_hash))
        assert tuple(siblings) == w.siblings, "tree moved"
        self.states[w.index] = nxt
        self.pubkey_hash[w.index] = w.pubkey_hash

    def nop(self, m: MarketParams | Sequence[MarketParams], market: int = 0) -> StepWitness:
        """A NOP witness whose mark/imf are the market's and whose hints match them.

        ``_nop`` (all zeros) suits a standalone ``AccountStep``; inside the block circuit mark and
        imf are bound to the market, and the requirement hints depend on them. With several
        markets, ``market`` is the one the block circuit names for its account writes."""
        params = self._params(m)
        w = self._nop()
        rb, remb, ra, rema = _margin_hints(w.old, False, 0, params[market])
        multi: dict[str, object] = {}
        if self.markets > 1:
            zero = PositionFields(w.old.position, 0, 0, w.old.basis)  # all-zero encodings
            flat = AccountState(w.old.collateral, (zero,) * self.markets)
            multi = self._multi(flat, market, params, False) | {"mmf": params[market].mmf_bps}
        return dataclasses.replace(
            w,
            mark=params[market].mark,
            imf=params[market].imf_bps,
            req_before=rb,
            rem_before=remb,
            req_after=ra,
            rem_after=rema,
            **multi,
        )

    def write(
        self,
        account: int,
        new: AccountFields,
        m: MarketParams | Sequence[MarketParams],
        market: int = 0,
        *,
        flat_all: bool = False,
    ) -> dict[str, object]:
        """Apply and return the inputs of a WRITE step (op ``ACC_OP_WRITE``, block circuit only):
        the account's leaf := ``new`` (the taker's registers: its fields in ``market``), hints
        for qty 0. ``flat_all`` (several markets): the end of a mass cancel of every market,
        which must leave nothing open in any market (StepConstraintError if it does).

        Not an ``AccountOp``: the standalone ``AccountStep`` has no WRITE; the rule that makes
        ``new`` right (fills applied with ``ApplyFill``) is checked by the block circuit."""
        if account not in self.states:
            raise StepRejected(f"WRITE: account {account} does not exist")
        if not new.in_range():
            raise StepConstraintError("WRITE: new fields out of range")
        w = self.preview(StepParams(AccountOp.RELEASE, account, qty=0, market=market), m)
        if flat_all and w.others:
            w = dataclasses.replace(w, flat_all=1)
            rest = (x for j, x in enumerate(w.others) if j != w.market)
            if any(x.open_buy or x.open_sell for x in (w.old, *rest)):
                raise StepConstraintError("WRITE: a mass cancel of every market left orders open")
        return self._overwrite(w, new, ACC_OP_WRITE)

    def open_write(
        self, p: StepParams, new: AccountFields, m: MarketParams | Sequence[MarketParams]
    ) -> dict[str, object]:
        """Apply and return the inputs of an OPEN_WRITE step (op ``ACC_OP_OPEN_WRITE``, block
        circuit only): the OPEN_ORDER ``p`` checked on the account's leaf as it is (margin,
        replay mark; StepRejected if either fails), then the leaf := ``new``, the taker's
        registers after its fills, whose nonce must be the one ``p`` sets."""
        if AccountOp(p.op) != AccountOp.OPEN_ORDER:
            raise ValueError("OPEN_WRITE checks an OPEN_ORDER")
        w = self.preview(p, m)
        if new.nonce != w.new.nonce:
            raise StepConstraintError("OPEN_WRITE: the new nonce is not the one the order sets")
        if not new.in_range():
            raise StepConstraintError("OPEN_WRITE: new fields out of range")
        return self._overwrite(w, new, ACC_OP_OPEN_WRITE)

    def _overwrite(self, w: StepWitness, new: AccountFields, op: int) -> dict[str, object]:
        """Write ``new`` over ``w``'s leaf and return ``w``'s inputs with those fields and
        ``op`` (the block-only ops whose new fields are the caller's)."""
        self._store(w, new)
        inputs = dataclasses.replace(w, new=new, new_root=self.tree.root).inputs()
        inputs["op"] = op
        return inputs

    def run(
        self, ops: Iterable[StepParams], m: MarketParams | Sequence[MarketParams]
    ) -> list[StepWitness]:
        return [self.step(p, m) for p in ops]


# --- ops from a block's events -------------------------------------------------------------------


class OrderLedger:
    """Live orders (id -> account, side, quantity) as the events reveal them, across blocks.

    Cancels name only the order id, and a replace only the new quantity, so the side and the
    quantity being released come from here.
    """

    def __init__(self, orders: Mapping[int, tuple[int, int, int]] | None = None) -> None:
        self.orders: dict[int, list[int]] = {k: list(v) for k, v in (orders or {}).items()}

    def side(self, order_id: int) -> int:
        return self.orders[order_id][1]

    def set_qty(self, order_id: int, qty: int) -> None:
        if qty:
            self.orders[order_id][2] = qty
        else:
            del self.orders[order_id]


def command_ops(
    cmd: Command,
    events: Sequence[Event],
    ledger: OrderLedger,
    markets: Mapping[int, int] | None = None,
) -> list[StepParams]:
    """The account ops of one command, from its events in order (updates ``ledger``).
    ``markets`` maps each market id to its index when the venue has several (a deposit,
    withdrawal or new account names market 0)."""
    ops: list[StepParams] = []

    def at(market: int) -> int:
        return markets[market] if markets is not None else 0

    for ev in events:
        if isinstance(ev, AccountAdded):
            assert isinstance(cmd, AddAccount)
            pk = hash2(cmd.pubkey_x, cmd.pubkey_y)
            ops.append(StepParams(AccountOp.ADD, ev.account, pubkey_hash=pk))
        elif isinstance(ev, CollateralChanged):
            op = AccountOp.DEPOSIT if ev.delta > 0 else AccountOp.WITHDRAW
            ops.append(StepParams(op, ev.account, amount=abs(ev.delta)))
        elif isinstance(ev, OrderAccepted):
            ops.append(
                StepParams(
                    AccountOp.OPEN_ORDER, ev.account, ev.side, ev.price, ev.qty,
                    market=at(ev.market),
                )
            )  # fmt: skip
            ledger.orders[ev.order_id] = [ev.account, ev.side, ev.qty]
        elif isinstance(ev, Trade):
            maker_side = Side.SELL if ev.taker_side == Side.BUY else Side.BUY
            for account, side in (
                (ev.taker_account, ev.taker_side),
                (ev.maker_account, maker_side),
            ):
                fill = StepParams(AccountOp.FILL, account, side, ev.price, ev.qty)
                ops.append(dataclasses.replace(fill, market=at(ev.market)))
            ledger.set_qty(ev.taker_order_id, ev.taker_remaining)
            ledger.set_qty(ev.maker_order_id, ev.maker_remaining)
        elif isinstance(ev, OrderReduced):
            side = ledger.side(ev.order_id)
            ops.append(
                StepParams(
                    AccountOp.RELEASE, ev.account, side, qty=ev.reduced_by, market=at(ev.market)
                )
            )
            ledger.set_qty(ev.order_id, ev.remaining)
        elif isinstance(ev, OrderCancelled):
            side = ledger.side(ev.order_id)
            ops.append(
                StepParams(
                    AccountOp.RELEASE, ev.account, side, qty=ev.remaining, market=at(ev.market)
                )
            )
            del ledger.orders[ev.order_id]
        elif isinstance(ev, OrderReplaced):
            account, side, old_qty = ledger.orders[ev.order_id]
            k = at(ev.market)
            if ev.priority_kept:
                if old_qty != ev.qty:
                    ops.append(
                        StepParams(AccountOp.RELEASE, account, side, qty=old_qty - ev.qty, market=k)
                    )
            else:
                ops.append(StepParams(AccountOp.RELEASE, account, side, qty=old_qty, market=k))
                ops.append(
                    StepParams(AccountOp.OPEN_ORDER, account, side, ev.price, ev.qty, market=k)
                )
            ledger.orders[ev.order_id][2] = ev.qty
        # Rejected, MassCancelled: no account change.
    return ops


def block_ops(block: Block, ledger: OrderLedger) -> list[StepParams]:
    """The account ops of a whole block, command by command (updates ``ledger``)."""
    ops: list[StepParams] = []
    for cmd, events in block.command_events():
        ops += command_ops(cmd, events, ledger)
    return ops
