"""Witness builder of the v1 block circuit (``proofs/circuits/block.circom``).

``BlockProverState`` holds what the circuit needs of the state before a block (both book sides as
``booktrace.BookSide``, the accounts as ``accounttrace.AccountTrace``, the market's mark and
accumulators, and a ``PoseidonState`` for the slot rule and the cross-check of every root) and
advances block by block: ``advance(block, params)`` turns the block's commands and events into
the circuit's steps and returns a ``BlockWitness`` (inputs of ``Block(N, S, D, A)``, the public
signals, and every step with its registers before and after, which ``BlockStep(D, A, NONCES)``
proves on its own). ``block_witness`` is the same on a copy (pure). ``public_signals(header)``
is what a verifier computes from a header alone.

The schedule of steps per command (the step kinds of block.circom) is this module's decision;
the checks inside a step are the book/account models' (``BookSide.step``, ``AccountTrace.step``,
reused, not restated):

    rejected command, or (unsigned venue) an IOC/FOK/STP order that
    trades nothing                         none: only chained in its slot (accepted 0) 0 steps
    PlaceOrder resting without trading     REST_BEGIN (INSERT_HEAD | LINK) [+ PUT]     1-2
    PlaceOrder trading k times, the first  FILL_BEGIN, FILL x (k - 1), then
    match a fill                           END | REST [+ PUT] (OPEN_WRITE at the end)  k+1 (+1)
    PlaceOrder trading k times, the first  PLACE, STP_* / FILL x k, then
    match its own order                    END | REST [+ PUT]                          k+2 (+1)
    CancelOrder                            CANCEL_HEAD | CANCEL_DETACH + CANCEL_RELINK 1-2
    AddAccount / Deposit / Withdraw        ADD / DEPOSIT / WITHDRAW                    1
    MassCancel                             MC_BEGIN, per order MC_HEAD | MC_DETACH +
                                           MC_RELINK, MC_END (nothing open is left)    2 + 1-2 each
    ReplaceOrder keeping priority          RP_KEEP (REDUCE + RELEASE)                  1
    ReplaceOrder that moves                RP_HEAD | RP_DETACH + RP_RELINK (removal +
                                           RELEASE), then RP_REST [+ PUT] or RP_PLACE,
                                           FILL x k, END | REST [+ PUT]                2-3, k+3-5
    self-trade prevention in a taker       STP_MAKER (CANCEL_MAKER: own head removed),
                                           STP_BOTH (CANCEL_BOTH: removed, taker ends),
                                           STP_DEC (DECREMENT: head reduced/removed)   1 each

Layout (``BlockParams.ratio`` R): step ``i`` is full iff ``i % R == 0``, else order-only, and
only the kinds in ``FULL_KINDS`` write an account. A step of such a kind that would fall on an
order-only position is preceded by fillers: NOP between commands, SKIP inside one (both change
nothing). With R = 2 the common two-step patterns (REST_BEGIN + PUT, CANCEL_DETACH +
CANCEL_RELINK) fill one full and one order-only step; a taker's FILLs (FILL_BEGIN too) each take
a full step and a SKIP. ``steps_per_command`` counts fillers, ``command_kinds`` does not.

Why an order that trades needs an END of its own: the account slot of a FILL step writes the
maker, so the taker's fields live in registers (updated with ``ApplyFill`` per fill) and are
written once at the end. When its first match is a fill, it begins with that fill
(FILL_BEGIN): its leaf fields come in as a witness, and its final write is OPEN_WRITE, which
checks the pre-trade margin on the still untouched leaf and that the leaf is those fields.
Otherwise a PLACE step's account write reserves the order first (OPEN_ORDER with the pre-trade
margin check, BLOCK.md). An order that does not trade needs neither: its OPEN_ORDER is its only
account write and it rests in the same step.

A moved replace is the engine's ``_replace``: the old order's quantity is released with its
removal, the margin is checked by RP_PLACE/RP_REST's OPEN_ORDER on the released account, and the
order re-enters as a GTC limit taker with its order id and side, STP cancel-taker. The STP
steps change the taker's own account, whose fields are the registers: they release the head's
quantity there (and DECREMENT the taker's own reservation), written by the final WRITE.

Commands sit in N slots (``CmdSlot``: hash and chain, seq/ts, ``PlaceValid``, the signer key,
and with ``BlockParams.signed`` the EdDSA-Poseidon signature of every accepted PlaceOrder,
ReplaceOrder and Withdraw over its intent, ``proofs.signing``); a step carries the command's
view (``CV_*`` of cmdslot.circom), which its beginning step links to the slot. Signers' keys
come from the account state (``BlockProverState.pubkeys``), signatures from the commands'
``sig``: a signed block whose accepted signed command has a missing or malformed signature
raises ``proofs.signing.SignatureEncodingError``, a signature that is not the account's over
that intent ``InvalidCommandSignatureError`` (both ``SigningError``, a ``ValueError``).

Several markets (``BlockM``): a block opens the one market whose book its events change
(``touched_market``), and every account write sees all markets (``AccountTrace(markets=M)``).
Not supported by the circuit (``UnsupportedInCircuit`` names the reason): a block that changes
the books of two markets, and a block needing more than S positions. Rejected commands of any
type are supported. Pure: no I/O.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter, deque
from collections.abc import Sequence
from enum import IntEnum

from matching.block import Block, BlockHeader, book_markets
from matching.engine import EngineSnapshot, MarketStateView
from matching.types import (
    ALL_MARKETS,
    AccountAdded,
    AddAccount,
    CancelOrder,
    CancelReason,
    CollateralChanged,
    Command,
    Deposit,
    Event,
    MarketConfig,
    MassCancel,
    OrderAccepted,
    OrderCancelled,
    OrderReduced,
    OrderReplaced,
    OrderType,
    PlaceOrder,
    Rejected,
    ReplaceOrder,
    Side,
    StpMode,
    TimeInForce,
    Trade,
    Withdraw,
)

from .accounttrace import (
    AccountFields,
    AccountOp,
    AccountTrace,
    MarketParams,
    StepParams,
    StepWitness,
    apply_fill,
)
from .booktrace import (
    NO_PENDING,
    BookOp,
    BookSide,
    OpKind,
    Step,
    StepOp,
    derive_ops,
    final_slots,
    pack_head,
)
from .commandtrace import (
    COMMAND_INPUTS,
    command_inputs,
    meta_element,
    place_valid_outputs,
    settle_element,
    settle_inputs,
)
from .eddsa import Signature, private_to_public, sign_poseidon
from .merkle import below_tier, levels_for, tier_levels
from .poseidon import FIELD_MODULUS, hash2
from .signing import is_liquidation, require_command_signature
from .state import CommitmentSnapshot, PoseidonState, command_hash

__all__ = [
    "FULL_KINDS",
    "VIEW_COUNT",
    "BlockParams",
    "BlockProverState",
    "BlockWitness",
    "Reg",
    "StepKind",
    "StepRecord",
    "UnsupportedInCircuit",
    "block_witness",
    "public_signals",
    "steps_per_command",
]


class Reg:
    """Register indices between steps (``BR_*`` in block.circom): the fixed registers, then the
    tiers of the account tree and of the bid and ask slot trees (``tiers``)."""

    BID_HEAD, ASK_HEAD, PEND, PEND_SIDE, INDEX, CMD = 0, 3, 6, 13, 14, 15
    REMAINING, TAKER, NOTIONAL, VOLUME, TRADES, OPEN = 23, 24, 29, 30, 31, 32
    RP_BUY, RP_CL, RP_PHASE, MATCHES, NONCE, SNAP, DEFER, FIXED = 33, 34, 35, 36, 37, 38, 44, 45

    @staticmethod
    def tiers(order_depth: int, account_depth: int) -> tuple[int, int, int, int]:
        """``(account tier, bid tier, ask tier, register count)`` of ``Block(…, D, A, …)``."""
        ta, td = 4 ** tier_levels(account_depth), 4 ** tier_levels(order_depth)
        return Reg.FIXED, Reg.FIXED + ta, Reg.FIXED + ta + td, Reg.FIXED + ta + 2 * td


#: ``cfg[8]`` of a venue without a match limit (a 16-bit value no step count reaches).
_NO_MATCH_LIMIT = (1 << 16) - 1
#: Length of a command's view (``CV_COUNT`` in cmdslot.circom) and its flag bits (``CF_*``).
VIEW_COUNT = 8
_CF_REP, _CF_BUY, _CF_RESTS, _CF_FOK, _CF_POST, _CF_STP = 3, 4, 5, 6, 7, 8
_CF_MARKET_OK, _CF_ORDER_OK, _CF_PRICE_OK, _CF_SIGNED, _CF_LIQ = 10, 11, 12, 13, 14
#: A fixed key and signature for slots whose verifier is off (it still needs curve points).
_PAD_KEY = bytes(32)
_MONEY_OFF = 1 << 127
_POS_OFF = 1 << 63


class UnsupportedInCircuit(ValueError):
    """The block holds something the v1 block circuit cannot prove (the message says what)."""


def touched_market(block: Block, markets: Sequence[MarketConfig]) -> int:
    """The index in ``markets`` of the one market whose book ``block`` changes (0 when it
    changes none); UnsupportedInCircuit when it changes two, because the block circuit opens
    one market per block (``BlockM``)."""
    ids = book_markets(block.events)
    index = {m.market_id: i for i, m in enumerate(markets)}
    if len(ids) > 1:
        raise UnsupportedInCircuit(
            f"block {block.header.height} changes the books of markets {sorted(ids)}: the block "
            "circuit opens one market per block"
        )
    return index[ids.pop()] if ids else 0


class StepKind(IntEnum):
    """Step kinds of ``BlockStep`` (``BK_*`` in block.circom)."""

    NOP = 0
    SKIP = 1
    PLACE = 2
    FILL = 3
    END = 4
    REST_BEGIN = 5
    REST = 6
    PUT = 7
    CANCEL_HEAD = 8
    CANCEL_DETACH = 9
    CANCEL_RELINK = 10
    ADD = 11
    DEPOSIT = 12
    WITHDRAW = 13
    MC_BEGIN = 14
    MC_HEAD = 15
    MC_DETACH = 16
    MC_RELINK = 17
    MC_END = 18
    RP_KEEP = 19
    RP_HEAD = 20
    RP_DETACH = 21
    RP_RELINK = 22
    RP_PLACE = 23
    RP_REST = 24
    STP_MAKER = 25
    STP_BOTH = 26
    STP_DEC = 27
    FILL_BEGIN = 28


_BEGINS = {
    StepKind.PLACE,
    StepKind.REST_BEGIN,
    StepKind.CANCEL_HEAD,
    StepKind.CANCEL_DETACH,
    StepKind.ADD,
    StepKind.DEPOSIT,
    StepKind.WITHDRAW,
    StepKind.MC_BEGIN,
    StepKind.RP_KEEP,
    StepKind.RP_HEAD,
    StepKind.RP_DETACH,
    StepKind.FILL_BEGIN,
}
#: beginning kinds of an accepted signed command: its slot checks the signature
_SIGNED_BEGINS = {
    StepKind.FILL_BEGIN,
    StepKind.PLACE,
    StepKind.REST_BEGIN,
    StepKind.WITHDRAW,
    StepKind.RP_KEEP,
    StepKind.RP_HEAD,
    StepKind.RP_DETACH,
}
#: kinds that write an account or begin a command: they run only on full steps (s % ratio
#: == 0), which alone link to command slots; the others (NOP, SKIP, PUT, the RELINKs,
#: STP_MAKER, STP_DEC) also on order-only steps
FULL_KINDS = frozenset({
    StepKind.PLACE, StepKind.FILL, StepKind.END, StepKind.REST_BEGIN, StepKind.REST,
    StepKind.CANCEL_HEAD, StepKind.CANCEL_DETACH, StepKind.ADD, StepKind.DEPOSIT,
    StepKind.WITHDRAW, StepKind.MC_BEGIN, StepKind.MC_HEAD, StepKind.MC_DETACH, StepKind.MC_END,
    StepKind.RP_KEEP, StepKind.RP_HEAD, StepKind.RP_DETACH, StepKind.RP_PLACE,
    StepKind.RP_REST, StepKind.STP_BOTH, StepKind.FILL_BEGIN,
})  # fmt: skip
_FILLERS = (StepKind.NOP, StepKind.SKIP)
#: steps that touch a maker: what the engine's ``max_matches`` counts (``BR_MATCHES``)
_MATCH_KINDS = {
    StepKind.FILL,
    StepKind.FILL_BEGIN,
    StepKind.STP_MAKER,
    StepKind.STP_BOTH,
    StepKind.STP_DEC,
}
_PLACE_KINDS = {
    StepKind.FILL_BEGIN,
    StepKind.PLACE,
    StepKind.FILL,
    StepKind.END,
    StepKind.REST_BEGIN,
    StepKind.REST,
    StepKind.PUT,
    StepKind.RP_PLACE,
    StepKind.RP_REST,
    StepKind.STP_MAKER,
    StepKind.STP_BOTH,
    StepKind.STP_DEC,
}


@dataclasses.dataclass(frozen=True, slots=True)
class _Taker:
    """The order that executes: a PlaceOrder, or the order a ReplaceOrder moved (same id and
    side, GTC limit, STP cancel-taker)."""

    cmd: PlaceOrder | ReplaceOrder
    order_id: int
    side: Side
    stp: int
    rests: bool


@dataclasses.dataclass(frozen=True, slots=True)
class BlockParams:
    """Circuit size and the one market it proves: ``Block(n, s, order_depth, account_depth,
    cfg, signed, ratio)``; ``signed``: the circuit checks the commands' signatures; ``ratio``:
    step ``i`` is full (order and account slot) iff ``i % ratio == 0``, else order-only."""

    n: int
    s: int
    order_depth: int
    account_depth: int
    market: MarketConfig
    signed: bool = False
    #: the venue's engine limit of makers per taker command (0: none), ``cfg[8]``
    max_matches: int = 0
    ratio: int = 1
    #: a venue of several markets: the ones after ``market``, in genesis order
    #: (``BlockM(…, M, CFGS, …)``: a block opens the one market its commands touch)
    more_markets: tuple[MarketConfig, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.n < 1 << 16:
            raise ValueError("need 1 <= n < 2^16")
        if not (1 <= self.ratio <= self.s and self.s % self.ratio == 0):
            raise ValueError("the step count must be a positive multiple of the ratio")
        if not (1 <= self.order_depth <= 24 and 1 <= self.account_depth <= 32):
            raise ValueError("depths out of the circuit's range")
        bits = (16, 40, 48, 40, 40, 48, 64, 14, 16, 14)
        for m in self.markets:
            if not all(0 <= v < 1 << b for v, b in zip(self.cfg(m), bits, strict=True)):
                raise ValueError("market configuration outside the circuit's ranges")
            if m.tick_size < 1 or m.lot_size < 1:
                raise ValueError("tick and lot must be positive")
        if len({m.market_id for m in self.markets}) != len(self.markets):
            raise ValueError("two markets with one id")
        if not 0 <= self.max_matches < _NO_MATCH_LIMIT or self.max_matches >= self.s:
            raise ValueError("max_matches must be 0 (none) or below the step count")

    @property
    def markets(self) -> tuple[MarketConfig, ...]:
        """Every market the circuit proves, in genesis order."""
        return (self.market, *self.more_markets)

    def cfg(self, market: MarketConfig | None = None) -> list[int]:
        """The circuit's ``cfg`` signal of ``market`` (default: the first): id, tick, lot,
        min/max price, max qty, band, imf, the match limit (``_NO_MATCH_LIMIT`` when there is
        none: no count of steps reaches it), and mmf (a liquidation order's maintenance rate)."""
        m = market or self.market
        return [
            m.market_id,
            m.tick_size,
            m.lot_size,
            m.min_price,
            m.max_price,
            m.max_qty,
            m.band_bps,
            m.imf_bps,
            self.max_matches or _NO_MATCH_LIMIT,
            m.mmf_bps,
        ]


@dataclasses.dataclass(frozen=True, slots=True)
class StepRecord:
    """One step: its kind, its witness (``BlockStep`` input names), registers before/after."""

    kind: StepKind
    inputs: dict[str, object]
    regs_in: tuple[int, ...]
    regs_out: tuple[int, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class BlockWitness:
    """Inputs and public signals of ``Block(N, S, D, A)`` for one block, and its steps."""

    inputs: dict[str, object]
    public_signals: list[int]
    steps: tuple[StepRecord, ...]
    #: number of steps each command took (its fillers included), in command order
    steps_per_command: tuple[int, ...]
    #: the step-kind pattern of each command without fillers, e.g. ("PLACE", "FILL", "END");
    #: () for a command that changes nothing
    command_kinds: tuple[tuple[str, ...], ...]
    context: dict[str, object]
    #: per command (slot): its ``CmdSlot`` outputs, hash then view
    slot_outputs: tuple[tuple[int, ...], ...] = ()

    def slot_inputs(self, i: int) -> tuple[dict[str, object], list[int]]:
        """Inputs and public signals of the standalone ``CmdSlot`` wrapper
        ``{public [cfg, mark, firstSeq, index, prevTs]}`` for command ``i``."""
        ctx = {k: self.context[k] for k in ("cfg", "mark", "firstSeq")}
        prev = self.inputs["slotCmd"][i - 1][2] if i else 0  # type: ignore[index]
        inputs: dict[str, object] = {**ctx, "index": i, "prevTs": prev}
        for name in ("active", "slotCmd", "pvHints", "signer", "sigOn", "sig"):
            inputs["cmd" if name == "slotCmd" else name] = self.inputs[name][i]  # type: ignore[index]
        cfg = ctx["cfg"]
        assert isinstance(cfg, list)
        cfg = cfg[:8]  # the slot's market fields (not the match limit)
        inputs["cfg"] = cfg
        public = [*self.slot_outputs[i], *cfg, ctx["mark"], ctx["firstSeq"], i, prev]
        return inputs, [int(v) for v in public]  # type: ignore[call-overload]

    def step_inputs(self, i: int) -> tuple[dict[str, object], list[int]]:
        """Inputs and public signals of the standalone ``BlockStep`` wrapper
        ``{public [cfg, mark, r]}`` for step ``i`` (outputs first: out, begins); a full step's
        wrapper is ``BlockStep(D, A, NONCES, 1)``, an order-only step's ``(…, 0)``."""
        st = self.steps[i]
        ctx = {k: self.context[k] for k in ("cfg", "mark")}
        cfg = ctx["cfg"]
        assert isinstance(cfg, list)
        # one market: the several-market inputs, which BlockStep(…, 1) does not read
        one = {"market": 0, "marks": [ctx["mark"]], "imfs": [cfg[7]], "mmfs": [cfg[9]],
               "accOther": [[0] * 4], "accReqs": [[0, 0]]}  # fmt: skip
        inputs = {**ctx, "r": list(st.regs_in), **one, **st.inputs}
        begins = int(st.kind in _BEGINS)
        public = [*st.regs_out, begins, *cfg, ctx["mark"], *st.regs_in]
        return inputs, [int(v) for v in public]  # type: ignore[call-overload]


def public_signals(header: BlockHeader) -> list[int]:
    """The block circuit's public signals from a header alone (what a verifier recomputes):
    preRoot, postRoot, cmdCommitment, meta, settle, cumPriceTime (BLOCK.md); with several
    markets, settle and cumPriceTime per market, in genesis order."""
    if not header.markets:
        raise UnsupportedInCircuit("a block of no market")
    return [
        int(header.pre_state_root),
        int(header.post_state_root),
        int(header.command_commitment),
        meta_element(header),
        *(settle_element(s) for s in header.markets),
        *(int(s.cum_price_time) for s in header.markets),
    ]


def _cmd_fields(cmd: Command | None) -> list[int]:
    """The 17 ``cmd`` signals (type first, then ``COMMAND_INPUTS``); None: a padding encoding
    (MassCancel with every field 0, which ``CommandHash`` accepts)."""
    if cmd is None:
        return [4] + [0] * len(COMMAND_INPUTS)
    d = command_inputs(cmd)
    return [d["type"], *(d[k] for k in COMMAND_INPUTS)]


def _flags(cmd: Command, market: MarketConfig, mark: int, sig_on: bool) -> int:
    """The slot's ``view[CV_FLAGS]``: type code, decoded codes, market match, ``PlaceValid``
    outputs, signature checked (bit layout ``CF_*`` of cmdslot.circom)."""
    d = command_inputs(cmd)
    qty_ok, price_ok, _, valid = place_valid_outputs(market, mark, cmd)
    mass_all = isinstance(cmd, MassCancel) and d["market"] == 0
    m_ok = d["market"] == market.market_id or mass_all
    rep = isinstance(cmd, ReplaceOrder)
    # CF_MASS_ALL shares the bit: the types exclude each other
    order_ok = valid if isinstance(cmd, PlaceOrder) else qty_ok if rep else mass_all
    if is_liquidation(cmd) and d["clOrdId"]:
        order_ok = 0  # a liquidation order carries no client id
    gtc_limit = d["tif"] == TimeInForce.GTC and d["orderType"] == OrderType.LIMIT
    bits = {
        _CF_REP: rep,
        _CF_BUY: d["side"] == Side.BUY,
        _CF_RESTS: gtc_limit or rep,
        _CF_FOK: d["tif"] == TimeInForce.FOK,
        _CF_POST: d["postOnly"],
        _CF_MARKET_OK: m_ok,
        _CF_ORDER_OK: order_ok,
        _CF_PRICE_OK: price_ok,
        _CF_SIGNED: sig_on,
        _CF_LIQ: is_liquidation(cmd),
    }
    return sum(int(v) << b for b, v in bits.items()) + d["type"] + ((d["stp"] & 3) << _CF_STP)


def _pad_signature() -> tuple[tuple[int, int], Signature]:
    """A valid key and signature (of 0) for slots whose verifier is disabled."""
    return private_to_public(_PAD_KEY), sign_poseidon(_PAD_KEY, 0)


def _place_hints(cmd: Command | None, market: MarketConfig) -> list[int]:
    """``PlaceValid`` hints of the positive parts of price and qty (0 where absent)."""
    p = max(int(getattr(cmd, "price", 0)), 0)
    q = max(int(getattr(cmd, "qty", 0)), 0)
    return [p // market.tick_size, p % market.tick_size, q // market.lot_size, q % market.lot_size]


def _acc_inputs(w: StepWitness | dict[str, object]) -> dict[str, object]:
    """Rename ``AccountStep`` inputs to the block step's (``acc*``)."""
    d = w.inputs() if isinstance(w, StepWitness) else w
    names = ("Collateral", "Position", "OpenBuy", "OpenSell", "Basis", "Nonce")
    multi: dict[str, object] = {}
    if isinstance(d["reqBefore"], list):  # several markets (AccountStepOpsM's inputs)
        k = d["market"]
        assert isinstance(k, int)
        rb, remb = d["reqBefore"], d["remBefore"]
        assert isinstance(rb, list) and isinstance(remb, list)
        others = [d[f"other{n}"] for n in ("Position", "OpenBuy", "OpenSell", "Basis")]
        multi = {
            "accOther": [list(x) for x in zip(*others, strict=True)],  # type: ignore[call-overload]
            "accReqs": [[r, m] for r, m in zip(rb, remb, strict=True)],
        }
        d = {**d, "reqBefore": rb[k], "remBefore": remb[k]}
    return {
        "accIndex": d["index"],
        "accSiblings": d["siblings"],
        "pubkeyHash": d["pubkeyHash"],
        "accOld": [d[f"old{n}"] for n in names],
        "accNew": [d[f"new{n}"] for n in names],
        "accIsBuy": d["isBuy"],
        "accPrice": d["price"],
        "accQty": d["qty"],
        "accAmount": d["amount"],
        "accHints": [
            d[k] for k in ("released", "divRem", "reqBefore", "remBefore", "reqAfter", "remAfter")
        ],
        **multi,
        "_op": d["op"],
    }


class BlockProverState:
    """The state before the next block, as the block circuit sees it; advanced block by block.

    With several markets every market's books are kept; ``config``, ``sides`` and ``market``
    name the one market a block opens (``touched``, set by the builder per block)."""

    def __init__(
        self,
        market: MarketConfig | Sequence[MarketConfig],
        *,
        order_depth: int,
        account_depth: int,
    ) -> None:
        """Genesis: empty books and accounts, each market at its initial price."""
        configs = (market,) if isinstance(market, MarketConfig) else tuple(market)
        if not configs:
            raise ValueError("a venue has at least one market")
        self.configs = configs
        self.poseidon = PoseidonState(
            list(configs), account_depth=account_depth, order_depth=order_depth
        )
        self.books = {
            c.market_id: {
                Side.BUY: BookSide(order_depth, True),
                Side.SELL: BookSide(order_depth, False),
            }
            for c in configs
        }
        self.accounts = AccountTrace(account_depth, markets=len(configs))
        #: account -> its registered key (pubkey_x, pubkey_y): the signers' keys
        self.pubkeys: dict[int, tuple[int, int]] = {}
        self.market_states = {
            c.market_id: MarketStateView(c.market_id, c.initial_price, 0, 0) for c in configs
        }
        #: the index of the market ``config``, ``sides`` and ``market`` name
        self.touched = 0
        self.height = 0

    @property
    def config(self) -> MarketConfig:
        return self.configs[self.touched]

    @property
    def sides(self) -> dict[Side, BookSide]:
        return self.books[self.config.market_id]

    @property
    def market(self) -> MarketStateView:
        return self.market_states[self.config.market_id]

    @classmethod
    def from_snapshots(
        cls,
        engine: EngineSnapshot,
        commitment: CommitmentSnapshot,
        *,
        order_depth: int,
        account_depth: int,
    ) -> BlockProverState:
        """The state after a persisted block (engine snapshot + commitment snapshot)."""
        st = cls(engine.markets, order_depth=order_depth, account_depth=account_depth)
        st.poseidon = PoseidonState.restore(
            engine, commitment, account_depth=account_depth, order_depth=order_depth
        )
        for c in engine.markets:
            for s in (Side.BUY, Side.SELL):
                st.books[c.market_id][s] = BookSide.from_snapshots(
                    engine, commitment, c.market_id, s, order_depth
                )
        st.accounts = AccountTrace.from_views(
            account_depth, engine.accounts, markets=len(st.configs)
        )
        st.pubkeys = {v.account: (int(v.pubkey_x), int(v.pubkey_y)) for v in engine.accounts}
        st.market_states = {ms.market: ms for ms in engine.market_states}
        st.height = commitment.height
        return st

    def copy(self) -> BlockProverState:
        return copy.deepcopy(self)

    @property
    def root(self) -> int:
        """The state root as the circuit's registers give it (checked against the commitment)."""
        return self.poseidon.root

    def advance(self, block: Block, params: BlockParams) -> BlockWitness:
        """Build the block's witness and move this state past the block.

        Raises UnsupportedInCircuit for what v1 cannot prove, ValueError if the block does not
        follow this state or needs more than ``params`` allows; on any exception this object
        may be half-advanced (use ``block_witness`` for an all-or-nothing call)."""
        return _Builder(self, block, params).run()


def block_witness(
    pre_state: BlockProverState, block: Block, params: BlockParams
) -> tuple[dict[str, object], list[int]]:
    """Inputs and public signals of ``Block(N, S, D, A)`` for ``block`` on ``pre_state``
    (which is not changed)."""
    w = pre_state.copy().advance(block, params)
    return w.inputs, w.public_signals


class _Builder:
    """Walks one block's commands and events and emits the circuit's steps."""

    def __init__(self, st: BlockProverState, block: Block, params: BlockParams) -> None:
        self.st, self.block, self.p = st, block, params
        h = block.header
        if params.markets != st.configs:
            raise ValueError("params are for other markets than the state")
        if (params.order_depth, params.account_depth) != (
            st.poseidon.order_depth,
            st.poseidon.account_depth,
        ):
            raise ValueError("params' tree depths differ from the state's")
        if h.height != st.height + 1 or int(h.pre_state_root) != st.root:
            raise ValueError(f"block {h.height} does not follow the state at {st.height}")
        if tuple(s.market for s in h.markets) != tuple(c.market_id for c in st.configs):
            raise ValueError(f"block {h.height} settles other markets than the state's")
        if len(block.commands) > params.n:
            raise UnsupportedInCircuit(f"{len(block.commands)} commands > N = {params.n}")
        # the one market the block opens; the account writes see every market's parameters
        st.touched = self.k = touched_market(block, st.configs)
        self.params_all = tuple(
            MarketParams(st.market_states[c.market_id].mark, c.imf_bps, c.mmf_bps)
            for c in st.configs
        )
        self.mk = self.params_all[self.k]
        self.m: MarketParams | tuple[MarketParams, ...] = (
            self.mk if len(st.configs) == 1 else self.params_all
        )
        self.pre_sides = st.poseidon.side_roots()
        self.prev_markets = tuple(st.market_states[c.market_id] for c in st.configs)
        # a filler's witness: no book write, no account write (only order-only positions
        # take fillers, where the account inputs are not read)
        acc_nop = _acc_inputs(st.accounts.nop(self.m, self.k))
        acc_nop.pop("_op")
        self._filler: dict[str, object] = {
            "linkFlag": 0, "stpRead": 0, "stpReduce": 0, "bookIndex": 0,
            "siblings": below_tier([0] * (3 * levels_for(params.order_depth))),
            "oldOrder": [0] * 10, "newOrder": [0] * 10, "link": [0, 0, 0], "q": 0,
            **acc_nop, "takerHints": [0, 0], "takerPre": [0] * 6,
        }  # fmt: skip
        self.pre = {
            "accTier0": st.accounts.tree.tier(),
            "bidTier0": st.sides[Side.BUY].tree.tier(),
            "bidHead0": pack_head(st.sides[Side.BUY].head),
            "askTier0": st.sides[Side.SELL].tree.tier(),
            "askHead0": pack_head(st.sides[Side.SELL].head),
        }
        self.reg_count = Reg.tiers(params.order_depth, params.account_depth)[3]
        # registers (those not read off the trees)
        self.chain = 0
        self.index = 0
        self.cmd: list[int] = [0] * VIEW_COUNT
        self.cur: Command | None = None
        self.slots: list[dict[str, object]] = []
        self.slot_outputs: list[tuple[int, ...]] = []
        self._pad = _pad_signature() if params.signed else None
        self.remaining = 0
        self.taker = AccountFields()
        self.taker_enc: tuple[int, ...] = (_MONEY_OFF, _POS_OFF, 0, 0, _MONEY_OFF, 0)
        self.notional = self.volume = self.trades = 0
        self.open = 0
        self.pend_side = 0
        self.t_buy = False
        self.rp_buy = 0
        self.rp_cl = 0
        self.rp_phase = 0
        self.matches = 0
        #: FILL_BEGIN: the taker's leaf fields (offset-encoded) and "its end is OPEN_WRITE"
        self.snap: tuple[int, ...] = (0,) * 6
        self.defer = 0
        self.open_params = StepParams(AccountOp.NOP)
        self.steps: list[StepRecord] = []
        self._regs_before: tuple[int, ...] = ()
        self.queues: dict[int, deque[BookOp]] = {}

    def _sp(self, *args: object, **kwargs: object) -> StepParams:
        """An account op of this block: in the market it opens."""
        return StepParams(*args, market=self.k, **kwargs)  # type: ignore[arg-type]

    # -- registers ---------------------------------------------------------------------------

    def _regs(self) -> tuple[int, ...]:
        bids, asks = self.st.sides[Side.BUY], self.st.sides[Side.SELL]
        pend = bids.pending if bids.pending != NO_PENDING else asks.pending
        return (
            *bids.head,
            *asks.head,
            pend[0], *pend[1], *pend[2], self.pend_side,
            self.index,
            *self.cmd,
            self.remaining,
            *self.taker_enc[:5],
            self.notional, self.volume, self.trades,
            self.open,
            self.rp_buy, self.rp_cl, self.rp_phase,
            self.matches,
            self.taker_enc[5],
            *self.snap, self.defer,
            *self.st.accounts.tree.tier(), *bids.tree.tier(), *asks.tree.tier(),
        )  # fmt: skip

    # -- one step ----------------------------------------------------------------------------

    def _emit(
        self,
        kind: StepKind,
        cmd: Command | None,
        book: Step | None,
        acc: StepWitness | dict[str, object] | None,
        *,
        opens: bool,
        nop_side: int = Side.BUY,
        link_flag: int = 0,
        stp_read: int = 0,
        stp_reduce: int = 0,
        rel_opp: int = 0,
        rel_own: int = 0,
        taker_pre: tuple[int, ...] = (0,) * 6,
    ) -> None:
        """Record one step. ``book``/``acc`` are the already-applied slot writes (None: NOP);
        ``opens``: the command continues after this step; ``rel_opp``/``rel_own``: STP releases
        of the taker's open quantity on the opposite/own side (own also off ``remaining``);
        ``taker_pre``: FILL_BEGIN's witness, the taker's leaf fields (offset-encoded).
        A kind that writes an account on an order-only position is preceded by fillers."""
        regs_in = self._regs_before
        if kind in FULL_KINDS and len(self.steps) % self.p.ratio:
            regs_in = self._fill(regs_in, StepKind.NOP if kind in _BEGINS else StepKind.SKIP)
        if book is None:
            book = self.st.sides[nop_side].nop()
        acc_in = _acc_inputs(acc if acc is not None else self.st.accounts.nop(self.m, self.k))
        acc_in.pop("_op")
        if kind in _BEGINS:
            assert cmd is not None
            self.chain = hash2(self.chain, command_hash(cmd))
            self.index += 1
            signed = kind in _SIGNED_BEGINS and not is_liquidation(cmd)
            self.cur, self.cmd = cmd, self._slot(cmd, signed)
        elif cmd is None:
            self.cur, self.cmd = None, [0] * VIEW_COUNT
        else:
            assert cmd is self.cur, "a continuation step of another command"
        fields = self.cmd
        t_buy = kind in _PLACE_KINDS and self.t_buy
        f_price, f_qty = book.fill[0], book.fill[1]
        new_taker, released, rem = apply_fill(self.taker, t_buy, f_price, f_qty)
        inputs: dict[str, object] = {
            "kind": int(kind),
            "cmd": fields,
            "linkFlag": link_flag,
            "stpRead": stp_read,
            "stpReduce": stp_reduce,
            "isBid": int(book.is_bid),
            "bookIndex": book.index,
            "siblings": below_tier(book.siblings),
            "oldOrder": list(book.old_order),
            "newOrder": list(book.new_order),
            "link": list(book.link),
            "q": book.q,
            **acc_in,
            "takerHints": [released, rem],
            "takerPre": list(taker_pre),
        }
        if f_qty:
            side = "open_buy" if t_buy else "open_sell"
            new_taker = dataclasses.replace(new_taker, **{side: getattr(new_taker, side) - f_qty})
            self.taker = new_taker
            self.taker_enc = new_taker.encoded()
            self.remaining -= f_qty
            self.notional += f_price * f_qty
            self.volume += f_qty
            self.trades += 1
        if rel_opp or rel_own:
            own, opp = ("open_buy", "open_sell") if t_buy else ("open_sell", "open_buy")
            t = self.taker
            t = dataclasses.replace(t, **{own: getattr(t, own) - rel_own})
            t = dataclasses.replace(t, **{opp: getattr(t, opp) - rel_opp})
            self.taker, self.taker_enc = t, t.encoded()
            self.remaining -= rel_own
        if kind in (StepKind.RP_HEAD, StepKind.RP_DETACH):
            assert isinstance(cmd, ReplaceOrder)
            self.rp_buy = int(book.is_bid)
            self.rp_cl = cmd.cl_ord_id or book.old_order[6]
        self.rp_phase = int(kind in (StepKind.RP_HEAD, StepKind.RP_RELINK))
        if kind in _BEGINS:
            self.matches = 0
            self.defer = int(kind == StepKind.FILL_BEGIN)
            if self.defer:
                self.snap = taker_pre
        self.matches += kind in _MATCH_KINDS
        self.pend_side = int(book.is_bid)
        self.open = int(opens)
        regs_out = self._regs()
        assert len(regs_out) == self.reg_count
        self.steps.append(StepRecord(kind, inputs, regs_in, regs_out))

    def _fill(self, regs: tuple[int, ...], kind: StepKind) -> tuple[int, ...]:
        """Fillers (NOP between commands, SKIP inside one) from registers ``regs`` up to the
        next full position; they change nothing. The next step's registers before are the last
        filler's after (returned). No book half-operation is pending here: the second halves
        (PUT, RELINK) run on any position, right after their first."""
        while len(self.steps) % self.p.ratio:
            inputs: dict[str, object] = {
                **self._filler,
                "kind": int(kind),
                "cmd": list(regs[Reg.CMD : Reg.CMD + VIEW_COUNT]),
                "isBid": regs[Reg.PEND_SIDE],
            }
            self.steps.append(StepRecord(kind, inputs, regs, regs))
        return regs

    def _slot(self, cmd: Command, sig_on: bool, accepted: bool = True) -> list[int]:
        """Record ``cmd``'s slot (the next one) and return its view (``CV_*``). ``sig_on``: an
        accepted signed command, whose signature the slot checks when the circuit is signed
        (a missing, malformed or foreign signature raises a ``SigningError`` here).
        ``accepted``: it executes (a rejected command is only chained)."""
        # a liquidation order is not signed, but its steps read the account's key like an
        # order's (the disabled verifier takes any key on the curve)
        own_key = sig_on or (accepted and is_liquidation(cmd))
        signer = self.st.pubkeys.get(cmd.account, (0, 0)) if own_key else (0, 0)
        sig = [0, 0, 0]
        if self._pad is not None:
            pad_key, pad_sig = self._pad
            if sig_on:
                if cmd.account not in self.st.pubkeys:
                    raise ValueError(f"command {cmd.seq}: account {cmd.account} has no key")
                s = require_command_signature(cmd, *signer)
            else:
                signer, s = (signer if own_key else pad_key), pad_sig
            sig = [s.S, s.R8[0], s.R8[1]]
        d = command_inputs(cmd)
        self.slots.append(
            {
                "accepted": int(accepted),
                "slotCmd": _cmd_fields(cmd),
                "pvHints": _place_hints(cmd, self.st.config),
                "signer": list(signer),
                "sigOn": int(sig_on),
                "sig": sig,
            }
        )
        key = (d["pubkeyX"], d["pubkeyY"]) if isinstance(cmd, AddAccount) else signer
        view = [
            d["account"],
            d["clOrdId"],
            d["price"],
            d["qty"],
            (d["orderId"] + d["amount"] + (d["seq"] if isinstance(cmd, PlaceOrder) else 0))
            % FIELD_MODULUS,
            hash2(*key),
            _flags(cmd, self.st.config, self.mk.mark, sig_on),
            d["seq"],
        ]
        self.slot_outputs.append((command_hash(cmd), *view))
        return view

    def _slot_inputs(self) -> dict[str, object]:
        """The N slots' inputs: the block's commands, then inactive padding (a MassCancel of
        zeros at ``close_ts``, which keeps the slots ordered by ts; the pad key and signature)."""
        pad_key, pad_sig = self._pad or ((0, 0), None)
        pad_cmd = _cmd_fields(None)
        pad_cmd[2] = self.block.header.close_ts
        pad = {
            "accepted": 0,
            "slotCmd": pad_cmd,
            "pvHints": [0, 0, 0, 0],
            "signer": list(pad_key),
            "sigOn": 0,
            "sig": [pad_sig.S, *pad_sig.R8] if pad_sig is not None else [0, 0, 0],
        }
        slots = self.slots + [pad] * (self.p.n - len(self.slots))
        out: dict[str, object] = {"active": [int(i < len(self.slots)) for i in range(self.p.n)]}
        for name in pad:
            out[name] = [s[name] for s in slots]
        return out

    def _begin_regs(self) -> None:
        self._regs_before = self._regs()

    def _step(
        self,
        kind: StepKind,
        cmd: Command | None,
        book: Step | None,
        acc: StepWitness | dict[str, object] | None,
        **kw: object,
    ) -> None:
        self._begin_regs()
        self._emit(kind, cmd, book, acc, **kw)  # type: ignore[arg-type]

    # -- the block ---------------------------------------------------------------------------

    def run(self) -> BlockWitness:
        st, block, h = self.st, self.block, self.block.header
        mid = st.config.market_id
        summary = h.markets[self.k]
        afters = [
            MarketStateView(s.market, s.price, s.cum_price_time, h.close_ts) for s in h.markets
        ]
        post = st.poseidon.apply(h.height, block.diff, afters)
        if post != int(h.post_state_root):
            raise ValueError(f"block {h.height}: the diff does not give the header's post root")
        for s in (Side.BUY, Side.SELL):
            final = final_slots(st.poseidon, mid, s)
            self.queues[s] = deque(derive_ops(st.sides[s], block, mid, s, final))
        per_command: list[int] = []
        kinds: list[tuple[str, ...]] = []
        for cmd, events in block.command_events():
            n0 = len(self.steps)
            self._command(cmd, events)
            per_command.append(len(self.steps) - n0)
            kinds.append(tuple(s.kind.name for s in self.steps[n0:] if s.kind not in _FILLERS))
        if any(self.queues[s] for s in self.queues):
            raise ValueError("book operations left over: events and book disagree")
        real = len(self.steps)
        if real > self.p.s:
            raise UnsupportedInCircuit(f"block {h.height} needs {real} steps > S = {self.p.s}")
        while len(self.steps) < self.p.s:
            self._step(StepKind.NOP, None, None, None, opens=False)
        if (self.notional, self.volume, self.trades) != (
            int(summary.notional),
            summary.volume,
            summary.trade_count,
        ):
            raise ValueError("fills disagree with the header's summary")
        if st.accounts.root != st.poseidon.accounts.root or any(
            st.sides[s].root != st.poseidon._sides[(mid, s)].root() for s in st.sides
        ):
            raise ValueError("the circuit's trees disagree with the commitment after the block")
        sides = st.poseidon.side_roots()
        if any(sides[c] != self.pre_sides[c] for c in sides if c != mid):
            raise ValueError("a market the block does not open changed")
        if self.chain != int(h.command_commitment) or len(self.slots) != h.command_count:
            raise ValueError("command chain disagrees with the header")
        # every market settles: the one the block opens on its fills, the others on none
        hints = []
        for i, prev in enumerate(self.prev_markets):
            acc = (self.notional, self.volume, self.trades) if i == self.k else (0, 0, 0)
            settle = settle_inputs(*acc, prev, h.close_ts)
            hints.append(
                [settle[k] for k in ("q", "r", "closeMs", "closeRem", "lastMs", "lastRem")]
            )
        ctx: dict[str, object] = {
            "cfg": self.p.cfg(st.config),
            "mark": self.mk.mark,
            "firstSeq": h.first_seq,
            "closeTs": h.close_ts,
        }
        pub = public_signals(h)
        n = len(self.prev_markets)
        inputs: dict[str, object] = {
            "preRoot": pub[0],
            "postRoot": pub[1],
            "cmdCommitment": pub[2],
            "meta": pub[3],
            **self.pre,
            "height": h.height,
            "closeTs": h.close_ts,
            "commandCount": h.command_count,
            "firstSeq": h.first_seq,
        }
        if n == 1:  # Block's one-market interface
            inputs |= {
                "settle": pub[4],
                "cumPriceTime": pub[5],
                "mark": self.mk.mark,
                "lastCloseTs": self.prev_markets[0].last_close_ts,
                "cumPriceTime0": int(self.prev_markets[0].cum_price_time),
                "settleHints": hints[0],
            }
        else:  # BlockM's: per market, and the other markets' side roots
            inputs |= {
                "settle": pub[4 : 4 + n],
                "cumPriceTime": pub[4 + n :],
                "touched": self.k,
                "bidSide": [0 if i == self.k else self.pre_sides[c.market_id][0]
                            for i, c in enumerate(st.configs)],
                "askSide": [0 if i == self.k else self.pre_sides[c.market_id][1]
                            for i, c in enumerate(st.configs)],
                "marks": [m.mark for m in self.prev_markets],
                "lastCloseTs": [m.last_close_ts for m in self.prev_markets],
                "cumPriceTime0": [int(m.cum_price_time) for m in self.prev_markets],
                "settleHints": hints,
            }  # fmt: skip
        inputs.update(self._slot_inputs())
        for name in self.steps[0].inputs:
            inputs[name] = [s.inputs[name] for s in self.steps]
        st.market_states = {a.market: a for a in afters}
        st.height = h.height
        return BlockWitness(
            inputs,
            pub,
            tuple(self.steps),
            tuple(per_command),
            tuple(kinds),
            ctx,
            tuple(self.slot_outputs),
        )

    # -- commands ----------------------------------------------------------------------------

    def _nonce(self, p: StepParams, cmd: Command) -> StepParams:
        """``p`` raising the replay mark when ``cmd`` is an accepted PlaceOrder, ReplaceOrder or
        Withdraw of a signed venue (``BlockStep`` NONCES): at its one account write that does."""
        if is_liquidation(cmd):
            return dataclasses.replace(p, liquidate=True)  # the venue's: no replay mark
        if self.p.signed and isinstance(cmd, PlaceOrder | ReplaceOrder | Withdraw):
            return dataclasses.replace(p, bump=True, nonce=cmd.cl_ord_id)
        return p

    def _take(self, side: int, kinds: tuple[OpKind, ...], order_id: int) -> BookOp:
        q = self.queues[side]
        if not q or q[0].kind not in kinds or (order_id and q[0].order_id != order_id):
            raise ValueError(f"book operation for order {order_id} not next on side {side}")
        return q.popleft()

    def _reject(self, cmd: Command) -> None:
        """A command that changes nothing: chained in its slot, no step (BLOCK.md)."""
        self.chain = hash2(self.chain, command_hash(cmd))
        self._slot(cmd, False, accepted=False)

    def _command(self, cmd: Command, events: Sequence[Event]) -> None:
        if any(isinstance(e, Rejected) for e in events):
            self._reject(cmd)
            return
        if isinstance(cmd, AddAccount):
            (ev,) = events
            assert isinstance(ev, AccountAdded)
            self._begin_regs()
            w = self.st.accounts.step(
                self._sp(AccountOp.ADD, cmd.account, pubkey_hash=hash2(cmd.pubkey_x, cmd.pubkey_y)),
                self.m,
            )
            self.st.pubkeys[cmd.account] = (int(cmd.pubkey_x), int(cmd.pubkey_y))
            self._emit(StepKind.ADD, cmd, None, w, opens=False)
        elif isinstance(cmd, Deposit | Withdraw):
            (ev,) = events
            assert isinstance(ev, CollateralChanged)
            op = AccountOp.DEPOSIT if isinstance(cmd, Deposit) else AccountOp.WITHDRAW
            self._begin_regs()
            p = self._nonce(self._sp(op, cmd.account, amount=cmd.amount), cmd)
            w = self.st.accounts.step(p, self.m)
            kind = StepKind.DEPOSIT if isinstance(cmd, Deposit) else StepKind.WITHDRAW
            self._emit(kind, cmd, None, w, opens=False)
        elif isinstance(cmd, CancelOrder):
            self._cancel(cmd, events)
        elif isinstance(cmd, PlaceOrder):
            self._place(cmd, events)
        elif isinstance(cmd, ReplaceOrder):
            self._replace(cmd, events)
        elif isinstance(cmd, MassCancel):
            self._mass_cancel(cmd, events)
        else:  # pragma: no cover - Command is a closed union
            raise UnsupportedInCircuit(f"unknown command {cmd!r}")

    def _remove(
        self,
        cmd: CancelOrder | MassCancel | ReplaceOrder,
        order_id: int,
        kinds: tuple[StepKind, ...],
        *,
        last_opens: bool,
    ) -> None:
        """Remove ``order_id`` from its side as (HEAD) or (DETACH, RELINK) steps of ``kinds``
        and release its quantity on the owner's account (at HEAD or DETACH: the account write
        comes first, the order-only RELINK second)."""
        side = next(
            (s for s in self.queues if self.queues[s] and self.queues[s][0].order_id == order_id),
            None,
        )
        if side is None:
            raise ValueError(f"cancel of order {order_id}: no book operation")
        op = self._take(side, (OpKind.REMOVE_HEAD, OpKind.REMOVE_AFTER), order_id)
        book = self.st.sides[side]
        head_kind, detach_kind, relink_kind = kinds
        self._begin_regs()
        head = op.kind == OpKind.REMOVE_HEAD
        bst = book.apply(op)[0] if head else book.step(StepOp.DETACH, op.slot)
        w = self.st.accounts.step(
            self._sp(AccountOp.RELEASE, cmd.account, side, qty=bst.old_order[1]), self.m
        )
        self._emit(
            head_kind if head else detach_kind, cmd, bst, w, opens=last_opens if head else True
        )
        if not head:
            self._begin_regs()
            relink = book.step(StepOp.RELINK, op.pred)
            self._emit(relink_kind, cmd, relink, None, opens=last_opens)

    def _mass_cancel(self, cmd: MassCancel, events: Sequence[Event]) -> None:
        """MC_BEGIN, a removal per cancelled order, MC_END (the account has nothing open)."""
        self._step(StepKind.MC_BEGIN, cmd, None, None, opens=True)
        for ev in events:
            if isinstance(ev, OrderCancelled):
                self._remove(
                    cmd,
                    ev.order_id,
                    (StepKind.MC_HEAD, StepKind.MC_DETACH, StepKind.MC_RELINK),
                    last_opens=True,
                )
        self._begin_regs()
        own = self.st.accounts.states[cmd.account].view(self.k)
        # of every market: nothing open may be left in any (the circuit's flatAll)
        every = cmd.market == ALL_MARKETS
        w = self.st.accounts.write(cmd.account, own, self.m, self.k, flat_all=every)
        self._emit(StepKind.MC_END, cmd, None, w, opens=False)

    def _cancel(self, cmd: CancelOrder, events: Sequence[Event]) -> None:
        (ev,) = events
        assert isinstance(ev, OrderCancelled) and ev.order_id == cmd.order_id
        kinds = (StepKind.CANCEL_HEAD, StepKind.CANCEL_DETACH, StepKind.CANCEL_RELINK)
        self._remove(cmd, cmd.order_id, kinds, last_opens=False)

    def _replace(self, cmd: ReplaceOrder, events: Sequence[Event]) -> None:
        """RP_KEEP (REDUCE + RELEASE), or the removal (RP_HEAD | RP_DETACH + RP_RELINK) and the
        moved order as a taker: RP_PLACE + FILL.../END/REST, or RP_REST [+ PUT]."""
        ev = events[0]
        assert isinstance(ev, OrderReplaced) and ev.order_id == cmd.order_id
        oid = cmd.order_id
        queues = self.queues
        side = next((s for s in queues if queues[s] and queues[s][0].order_id == oid), None)
        if side is None:
            raise ValueError(f"replace of order {oid}: no book operation")
        if ev.priority_kept:
            op = self._take(side, (OpKind.REDUCE,), cmd.order_id)
            self._begin_regs()
            (bst,) = self.st.sides[side].apply(op)
            p = self._nonce(self._sp(AccountOp.RELEASE, cmd.account, side, qty=op.qty), cmd)
            w = self.st.accounts.step(p, self.m)
            self._emit(StepKind.RP_KEEP, cmd, bst, w, opens=False)
            return
        kinds = (StepKind.RP_HEAD, StepKind.RP_DETACH, StepKind.RP_RELINK)
        self._remove(cmd, cmd.order_id, kinds, last_opens=True)
        taker = _Taker(cmd, cmd.order_id, Side(side), 0, True)
        self._execute(taker, events[1:], StepKind.RP_PLACE, StepKind.RP_REST)

    def _place(self, cmd: PlaceOrder, events: Sequence[Event]) -> None:
        acc_ev = events[0]
        assert isinstance(acc_ev, OrderAccepted) and acc_ev.order_id == cmd.seq
        rests = cmd.order_type == OrderType.LIMIT and cmd.tif == TimeInForce.GTC
        taker = _Taker(cmd, cmd.seq, cmd.side, cmd.stp, rests)
        self._execute(taker, events[1:], StepKind.PLACE, StepKind.REST_BEGIN)

    def _execute(
        self, tk: _Taker, events: Sequence[Event], place: StepKind, rest_begin: StepKind
    ) -> None:
        """The taker's steps from its load (``place``, or ``rest_begin`` when it rests without
        touching the opposite side) to its END/REST/STP_BOTH."""
        cmd = tk.cmd
        own = tk.side
        opp = Side.SELL if own == Side.BUY else Side.BUY
        self.t_buy = own == Side.BUY
        taker_cancel = next(
            (e for e in events if isinstance(e, OrderCancelled) and e.order_id == tk.order_id),
            None,
        )
        acts = [
            e
            for e in events
            if isinstance(e, Trade)
            or (isinstance(e, OrderCancelled | OrderReduced) and e.order_id != tk.order_id)
        ]
        unchanged = not self.p.signed or is_liquidation(cmd)
        if not acts and taker_cancel is not None and place == StepKind.PLACE and unchanged:
            # An order cancelled before it touches the book changes nothing: no step.
            # (Not on a signed venue: its acceptance raised the account's replay mark, so it
            # is PLACE + END, which writes that; a liquidation raises none.)
            self._reject(cmd)
            return
        self._begin_regs()
        p = self._nonce(self._sp(AccountOp.OPEN_ORDER, cmd.account, own, cmd.price, cmd.qty), cmd)
        # a PlaceOrder whose first match is a fill begins with it (FILL_BEGIN): its reservation
        # is checked, not written, here, and its final write is OPEN_WRITE (``_write_taker``)
        fill_begin = place == StepKind.PLACE and bool(acts) and isinstance(acts[0], Trade)
        state = self.st.accounts.states.get(cmd.account)
        pre = state.view(self.k) if state is not None else None
        if fill_begin:
            assert pre is not None
            w = self.st.accounts.preview(p, self.m)
            self.open_params = p
        else:
            w = self.st.accounts.step(p, self.m)
        self.taker, self.taker_enc, self.remaining = w.new, w.new.encoded(), cmd.qty
        if not acts and taker_cancel is None:
            assert tk.rests
            self._rest(rest_begin, tk, w)
            return
        if not fill_begin:
            self._emit(place, cmd, None, w, opens=True)
        both = False
        for i, e in enumerate(acts):
            self._begin_regs()
            book = self.st.sides[opp]
            if isinstance(e, Trade):
                op = self._take(opp, (OpKind.FILL_HEAD,), e.maker_order_id)
                (bst,) = book.apply(op)
                mw = self.st.accounts.step(
                    self._sp(AccountOp.FILL, e.maker_account, opp, e.price, e.qty), self.m
                )
                if fill_begin and i == 0:
                    assert pre is not None
                    self._emit(
                        StepKind.FILL_BEGIN, cmd, bst, mw, opens=True, taker_pre=pre.encoded()
                    )
                else:
                    self._emit(StepKind.FILL, cmd, bst, mw, opens=True)
            elif isinstance(e, OrderCancelled):
                if tk.stp not in (StpMode.CANCEL_MAKER, StpMode.CANCEL_BOTH):
                    raise UnsupportedInCircuit(f"maker cancelled with STP mode {tk.stp}")
                op = self._take(opp, (OpKind.REMOVE_HEAD,), e.order_id)
                (bst,) = book.apply(op)
                qty = bst.old_order[1]
                if tk.stp == StpMode.CANCEL_MAKER:
                    self._emit(StepKind.STP_MAKER, cmd, bst, None, opens=True, rel_opp=qty)
                    continue
                both = True
                final = self._final(cmd.account, own, rel_opp=qty)
                fw = self._write_taker(cmd.account, final)
                self._emit(StepKind.STP_BOTH, cmd, bst, fw, opens=False, rel_opp=qty)
            else:
                if tk.stp != StpMode.DECREMENT:
                    raise UnsupportedInCircuit(f"maker reduced with STP mode {tk.stp}")
                d = e.reduced_by
                op = self._take(opp, (OpKind.REDUCE, OpKind.REMOVE_HEAD), e.order_id)
                (bst,) = book.apply(op)
                red = int(op.kind == OpKind.REDUCE)
                self._emit(
                    StepKind.STP_DEC, cmd, bst, None, opens=True, stp_reduce=red,
                    rel_opp=d, rel_own=d,
                )  # fmt: skip
        if both:
            return
        self._begin_regs()
        if taker_cancel is not None and taker_cancel.reason == CancelReason.SELF_TRADE:
            if tk.stp != StpMode.CANCEL_TAKER:
                raise UnsupportedInCircuit(f"self-trade prevention mode {tk.stp} ended the taker")
            side = self.st.sides[opp]
            read = side.step(StepOp.REDUCE, side.head[0] - 1, q=0)
            self._end(cmd, own, read)
        elif taker_cancel is None and self.remaining > 0:
            self._rest(StepKind.REST, tk, None)
        else:
            self._end(cmd, own, None)

    def _final(self, account: int, own: Side, *, rel_opp: int = 0) -> AccountFields:
        """The taker's fields as its final WRITE stores them: the registers, less ``rel_opp``
        on the opposite side and the cancelled remainder on its own."""
        o_own, o_opp = ("open_buy", "open_sell") if own == Side.BUY else ("open_sell", "open_buy")
        t = self.taker
        t = dataclasses.replace(t, **{o_opp: getattr(t, o_opp) - rel_opp})
        return dataclasses.replace(t, **{o_own: getattr(t, o_own) - self.remaining})

    def _write_taker(self, account: int, new: AccountFields) -> dict[str, object]:
        """The taker's final account write: WRITE, or OPEN_WRITE when it began by FILL_BEGIN
        (which checks the reservation it skipped on the still untouched leaf)."""
        if self.defer:
            return self.st.accounts.open_write(self.open_params, new, self.m)
        return self.st.accounts.write(account, new, self.m, self.k)

    def _end(self, cmd: PlaceOrder | ReplaceOrder, own: Side, read: Step | None) -> None:
        w = self._write_taker(cmd.account, self._final(cmd.account, own))
        opp = Side.SELL if own == Side.BUY else Side.BUY
        self._emit(
            StepKind.END, cmd, read, w, opens=False, nop_side=opp, stp_read=int(read is not None)
        )

    def _rest(self, kind: StepKind, tk: _Taker, begin_w: StepWitness | None) -> None:
        """REST_BEGIN/RP_REST/REST (+ PUT): the insert op is the next one on the taker's side.
        ``_begin_regs`` has been called; for REST the taker's registers are written."""
        cmd, own = tk.cmd, tk.side
        op = self._take(own, (OpKind.INSERT_HEAD, OpKind.INSERT_AFTER), tk.order_id)
        book = self.st.sides[own]
        acc: StepWitness | dict[str, object] | None = begin_w
        if begin_w is None:
            acc = self._write_taker(cmd.account, self.taker)
        if op.kind == OpKind.INSERT_HEAD:
            (ins,) = book.apply(op)
            self._emit(kind, cmd, ins, acc, opens=False)
            return
        assert op.order is not None
        x = (op.slot + 1, op.order.price, op.order.priority)
        lk = book.step(StepOp.LINK, op.pred, link=x)
        self._emit(kind, cmd, lk, acc, opens=True, link_flag=1)
        self._begin_regs()
        put = book.step(StepOp.PUT, op.slot, order=op.order)
        self._emit(StepKind.PUT, cmd, put, None, opens=False)


def steps_per_command(witnesses: Sequence[BlockWitness]) -> Counter[str]:
    """Histogram of step patterns over blocks (for the measurements in BLOCK.md)."""
    c: Counter[str] = Counter()
    for w in witnesses:
        for k in w.command_kinds:
            c["+".join(k)] += 1
    return c
