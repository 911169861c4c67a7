# cython: language_level=3, embedsignature=True
"""The Cython matching engine: a drop-in for ``matching.engine.ReferenceEngine``.

``CEngine`` applies the reference engine's rules (which are the specification) on C data
structures and emits the very same ``matching.types`` event structs, views, summaries and
snapshots, so every encoding is byte-identical.

Data structures:

- a resting order is a ``_COrder`` (C integer fields plus the command's own field objects,
  which events and views echo exactly as the reference does); ``CEngine.orders``, a C hash
  map keyed by the 64-bit order id (``includes/pb_idmap.h``), maps order id to order and
  owns it;
- a price level is a C struct holding an intrusive doubly-linked FIFO of orders; each book
  side is a C array of levels sorted by key (price for bids, -price for asks) so the best
  level is the last element: matching pops from the end and new levels near the touch are
  inserted with a short ``memmove``;
- an account keeps a C array of per-market positions (128-bit integers) and an intrusive
  list of its live orders; ``CEngine.cls``, a C hash map keyed by (account, client order id),
  indexes the live client order ids (which are in [1, 2**64));
- touched order and account ids go to C vectors that are sorted and deduplicated lazily.

Arithmetic: prices, quantities, sequence numbers and order ids fit in 64 bits (the engine's
range limits); positions, open quantities, cost basis, collateral and block notional use
128-bit integers with overflow-checked helpers. Transient products that could exceed 128 bits
(margin terms, released basis) fall back to exact Python ints; stored values that would exceed
128 bits raise ``OverflowError`` (unreachable below 2**31 commands).
"""

cimport cython
from cpython.dict cimport PyDict_DelItem, PyDict_GetItem, PyDict_SetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport Py_TYPE, PyObject, PyObject_IsTrue
from cpython.long cimport PyLong_AsUnsignedLongLong, PyLong_Check
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort, realloc
from libc.string cimport memmove, memset

from gc import is_tracked as _gc_is_tracked

from matching.engine import (
    BPS as _PY_BPS,
    MAX_ACCOUNTS as _PY_MAX_ACCOUNTS,
    MAX_AMOUNT,
    MAX_CL_ORD_ID,
    MAX_SEQ as _PY_MAX_SEQ,
    MAX_TS,
    AccountView,
    EngineError,
    EngineSnapshot,
    MarketStateView,
    OrderView,
    PositionView,
    check_markets,
)
from matching.types import (
    AccountAdded,
    AddAccount,
    BigInt,
    CancelOrder,
    CancelReason,
    CollateralChanged,
    Deposit,
    MarketSummary,
    MassCancel,
    MassCancelled,
    OrderAccepted,
    OrderCancelled,
    OrderReduced,
    OrderReplaced,
    PlaceOrder,
    Rejected,
    ReplaceOrder,
    ResultCode,
    Side,
    Trade,
    Withdraw,
)

include "_core.pxd"

__all__ = ["CEngine"]


cdef extern from "Python.h":
    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1

    ctypedef struct PyMemberDef:
        const char* name
        int type
        Py_ssize_t offset
        int flags

    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member


# --- constants ---------------------------------------------------------------------------

cdef int64_t BUY = 1
cdef int64_t LIMIT = 1
cdef int64_t MARKET = 2
cdef int64_t LIQUIDATION = 3
cdef int64_t GTC = 1
cdef int64_t IOC = 3
cdef int64_t FOK = 4
cdef int64_t STP_CANCEL_TAKER = 0
cdef int64_t STP_CANCEL_MAKER = 1
cdef int64_t STP_CANCEL_BOTH = 2
cdef int64_t STP_DECREMENT = 3
cdef int64_t C_BPS = _PY_BPS
cdef int64_t C_MAX_ACCOUNTS = _PY_MAX_ACCOUNTS
cdef int64_t C_MAX_SEQ = _PY_MAX_SEQ

cdef int OK = 0
cdef int UNKNOWN_MARKET = ResultCode.UNKNOWN_MARKET
cdef int INVALID_QUANTITY = ResultCode.INVALID_QUANTITY
cdef int QUANTITY_OFF_LOT = ResultCode.QUANTITY_OFF_LOT
cdef int INVALID_PRICE = ResultCode.INVALID_PRICE
cdef int PRICE_OFF_TICK = ResultCode.PRICE_OFF_TICK
cdef int PRICE_OUT_OF_BAND = ResultCode.PRICE_OUT_OF_BAND
cdef int INVALID_ORDER_FLAGS = ResultCode.INVALID_ORDER_FLAGS
cdef int UNKNOWN_ORDER = ResultCode.UNKNOWN_ORDER
cdef int NOT_ORDER_OWNER = ResultCode.NOT_ORDER_OWNER
cdef int DUPLICATE_CLIENT_ORDER_ID = ResultCode.DUPLICATE_CLIENT_ORDER_ID
cdef int STALE_NONCE = ResultCode.STALE_NONCE
cdef int UNKNOWN_ACCOUNT = ResultCode.UNKNOWN_ACCOUNT
cdef int ACCOUNT_EXISTS = ResultCode.ACCOUNT_EXISTS
cdef int INVALID_AMOUNT = ResultCode.INVALID_AMOUNT
cdef int INVALID_ACCOUNT_ID = ResultCode.INVALID_ACCOUNT_ID
cdef int INSUFFICIENT_MARGIN = ResultCode.INSUFFICIENT_MARGIN
cdef int INSUFFICIENT_COLLATERAL = ResultCode.INSUFFICIENT_COLLATERAL
cdef int POST_ONLY_WOULD_CROSS = ResultCode.POST_ONLY_WOULD_CROSS
cdef int FOK_NOT_FILLABLE = ResultCode.FOK_NOT_FILLABLE
cdef int BOOK_FULL = ResultCode.BOOK_FULL
cdef int TOO_MANY_ORDERS = ResultCode.TOO_MANY_ORDERS
cdef int NOT_LIQUIDATABLE = ResultCode.NOT_LIQUIDATABLE

# Enum-valued event fields are plain ints (equal, and encoded the same, as the reference's
# IntEnum members): an IntEnum member is a GC-tracked object, and a struct holding one is
# tracked too, which makes a large batch's event list expensive for the cyclic GC.
cdef object R_USER = int(CancelReason.USER)
cdef object R_IOC = int(CancelReason.IOC_REMAINDER)
cdef object R_SELF = int(CancelReason.SELF_TRADE)
cdef object R_MATCH_LIMIT = int(CancelReason.MATCH_LIMIT)
cdef object R_MASS = int(CancelReason.MASS_CANCEL)

cdef object _OrderAccepted = OrderAccepted
cdef object _Trade = Trade
cdef object _OrderCancelled = OrderCancelled
cdef object _OrderReplaced = OrderReplaced
cdef object _OrderReduced = OrderReduced
cdef object _Rejected = Rejected
cdef object _CollateralChanged = CollateralChanged
cdef object _AccountAdded = AccountAdded
cdef object _MassCancelled = MassCancelled
cdef object _OrderView = OrderView
cdef object _PositionView = PositionView
cdef object _AccountView = AccountView
cdef object _MarketStateView = MarketStateView
cdef object _MarketSummary = MarketSummary
cdef object _EngineError = EngineError

# Command kinds, by exact type; subclasses are dispatched by isinstance like the reference.
cdef enum:
    K_PLACE = 1
    K_CANCEL = 2
    K_REPLACE = 3
    K_MASS = 4
    K_DEPOSIT = 5
    K_WITHDRAW = 6
    K_ADD = 7
    MAXF = 13
    SUBCLASS = 100

cdef object _KINDS = (
    (PlaceOrder, K_PLACE),
    (CancelOrder, K_CANCEL),
    (ReplaceOrder, K_REPLACE),
    (MassCancel, K_MASS),
    (Deposit, K_DEPOSIT),
    (Withdraw, K_WITHDRAW),
    (AddAccount, K_ADD),
)
cdef PyObject* T_PLACE = <PyObject*>PlaceOrder
cdef PyObject* T_CANCEL = <PyObject*>CancelOrder
cdef PyObject* T_REPLACE = <PyObject*>ReplaceOrder
cdef PyObject* T_MASS = <PyObject*>MassCancel
cdef PyObject* T_DEPOSIT = <PyObject*>Deposit
cdef PyObject* T_WITHDRAW = <PyObject*>Withdraw
cdef PyObject* T_ADD = <PyObject*>AddAccount

# Field slot offsets of each command struct (index = kind); -1: use getattr.
cdef Py_ssize_t OFFS[8][MAXF]
cdef int NFIELDS[8]
cdef bint ALL_SLOTS[8]  # every field of the kind has a slot offset
cdef list _FIELD_NAMES = [()] * 8


cdef void _init_offsets() except *:
    cdef int kind, i
    cdef object desc
    for cls, kind in _KINDS:
        names = tuple(cls.__struct_fields__)
        _FIELD_NAMES[kind] = names
        NFIELDS[kind] = len(names)
        ALL_SLOTS[kind] = True
        for i in range(len(names)):
            desc = cls.__dict__.get(names[i])
            OFFS[kind][i] = -1
            if type(desc).__name__ == "member_descriptor":
                OFFS[kind][i] = (<PyMemberDescrObject*>desc).d_member.offset
            else:
                ALL_SLOTS[kind] = False


_init_offsets()


# Rejected events without the Python-level __post_init__ (see ``reject``): a bound
# ``__copy__`` of a template (msgspec copies the fields and the untracked GC state and does
# not run __post_init__), the field slot offsets, and the result codes as int objects.
cdef object _BigInt = BigInt
cdef object _REJ_COPY = None
cdef object _REJ_TEMPLATE = None
cdef pb_noargs_fn _REJ_COPY_FN = NULL  # the C function behind ``Rejected.__copy__``
cdef Py_ssize_t REJ_OFFS[4]
cdef int N_CODES = 0
cdef int CODE_VAL[64]
cdef PyObject* CODE_OBJ[64]
cdef list _CODE_KEEP = [int(c) for c in ResultCode]


cdef void _init_rejected() except *:
    global _REJ_COPY, _REJ_TEMPLATE, _REJ_COPY_FN, N_CODES
    cdef int i
    for i in range(min(len(_CODE_KEEP), 64)):
        CODE_VAL[i] = _CODE_KEEP[i]
        CODE_OBJ[i] = <PyObject*>_CODE_KEEP[i]
        N_CODES = i + 1
    if tuple(Rejected.__struct_fields__) != ("seq", "account", "code", "ref"):
        return
    for i, name in enumerate(Rejected.__struct_fields__):
        desc = Rejected.__dict__.get(name)
        if type(desc).__name__ != "member_descriptor":
            return
        REJ_OFFS[i] = (<PyMemberDescrObject*>desc).d_member.offset
    template = Rejected(0, 0, 0, 0)
    probe = template.__copy__()
    if _gc_is_tracked(template) or _gc_is_tracked(probe) or type(probe.ref) is not BigInt:
        return
    _REJ_COPY = template.__copy__
    _REJ_TEMPLATE = template
    _REJ_COPY_FN = pb_noargs_method(type(template).__copy__)


_init_rejected()


# --- small helpers -----------------------------------------------------------------------

cdef inline bint as64(object o, int64_t* out) except -1:
    """Read an int into 64 bits; False (with the value clamped by sign) when it is bigger."""
    cdef int ovf = 0
    cdef long long v
    if pb_long_small(o, &v):  # an int below 2**63 in magnitude, read without a call
        out[0] = v
        return True
    v = PyLong_AsLongLongAndOverflow(o, &ovf)
    if ovf:
        out[0] = INT64_MAX if ovf > 0 else INT64_MIN
        return False
    out[0] = v
    return True


cdef inline object i2py(pb_i128 v):
    return pb_i128_to_py(v)


cdef inline pb_i128 py2i(object o) except? -1:
    cdef pb_i128 v = 0
    pb_py_to_i128(o, &v)
    return v


cdef int _overflow(str what) except -1:
    raise OverflowError(f"{what} exceeds the 128-bit range of the Cython engine")


cdef inline int64_t side_key(BookSide* s, int64_t price) noexcept nogil:
    return price if s.is_bid else -price


cdef inline Py_ssize_t side_lower_bound(BookSide* s, int64_t key) noexcept nogil:
    """First index whose level key is >= key."""
    cdef Py_ssize_t lo = 0, hi = s.n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if side_key(s, s.lv[mid].price) < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline _COrder side_best(BookSide* s):
    if s.n == 0:
        return None
    return <_COrder>s.lv[s.n - 1].head


cdef int side_add(BookSide* s, _COrder o) except -1:
    """Append ``o`` to the back of its price level (creating the level)."""
    cdef int64_t key = side_key(s, o.price)
    cdef Py_ssize_t i
    cdef Level* lv
    cdef Level** grown
    if s.n and s.lv[s.n - 1].price == o.price:
        lv = s.lv[s.n - 1]  # fast path: the touch
    else:
        i = side_lower_bound(s, key)
        if i < s.n and s.lv[i].price == o.price:
            lv = s.lv[i]
        else:
            if s.n == s.cap:
                grown = <Level**>realloc(s.lv, (s.cap * 2 + 16) * sizeof(Level*))
                if grown == NULL:
                    raise MemoryError()
                s.lv = grown
                s.cap = s.cap * 2 + 16
            lv = <Level*>malloc(sizeof(Level))
            if lv == NULL:
                raise MemoryError()
            lv.price = o.price
            lv.head = NULL
            lv.tail = NULL
            memmove(&s.lv[i + 1], &s.lv[i], (s.n - i) * sizeof(Level*))
            s.lv[i] = lv
            s.n += 1
    o.level = lv
    s.count += 1
    o.next = NULL
    o.prev = lv.tail
    if lv.tail != NULL:
        (<_COrder>lv.tail).next = <PyObject*>o
    else:
        lv.head = <PyObject*>o
    lv.tail = <PyObject*>o
    return 0


cdef int side_remove(BookSide* s, _COrder o) except -1:
    cdef Level* lv = o.level
    cdef Py_ssize_t i
    if o.prev != NULL:
        (<_COrder>o.prev).next = o.next
    else:
        lv.head = o.next
    if o.next != NULL:
        (<_COrder>o.next).prev = o.prev
    else:
        lv.tail = o.prev
    o.prev = NULL
    o.next = NULL
    o.level = NULL
    s.count -= 1
    if lv.head == NULL:
        if s.lv[s.n - 1] == lv:
            i = s.n - 1
        else:
            i = side_lower_bound(s, side_key(s, lv.price))
        assert s.lv[i] == lv
        memmove(&s.lv[i], &s.lv[i + 1], (s.n - i - 1) * sizeof(Level*))
        s.n -= 1
        free(lv)
    return 0


cdef void side_free(BookSide* s) noexcept:
    cdef Py_ssize_t i
    for i in range(s.n):
        free(s.lv[i])
    free(s.lv)
    s.lv = NULL
    s.n = 0
    s.cap = 0


cdef list side_orders(BookSide* s):
    """Orders of a side in priority order (best level first, FIFO within a level)."""
    cdef list out = []
    cdef Py_ssize_t i
    cdef PyObject* p
    i = s.n - 1
    while i >= 0:
        p = s.lv[i].head
        while p != NULL:
            out.append(<object>p)
            p = (<_COrder>p).next
        i -= 1
    return out


cdef int vec_compact(IdVec* v) noexcept nogil:
    cdef Py_ssize_t i, j = 0
    if v.n == 0:
        return 0
    qsort(v.data, v.n, sizeof(int64_t), pb_cmp_i64)
    for i in range(1, v.n):
        if v.data[i] != v.data[j]:
            j += 1
            v.data[j] = v.data[i]
    v.n = j + 1
    return 0


cdef inline int vec_push(IdVec* v, int64_t x) except -1:
    cdef int64_t* grown
    cdef Py_ssize_t cap
    if v.n == v.cap:
        # entries are unique (objects remember the epoch they were recorded in)
        if True:
            cap = v.cap * 2 + 1024
            grown = <int64_t*>realloc(v.data, cap * sizeof(int64_t))
            if grown == NULL:
                raise MemoryError()
            v.data = grown
            v.cap = cap
    v.data[v.n] = x
    v.n += 1
    return 0


cdef list vec_drain(IdVec* v):
    cdef list out = []
    cdef Py_ssize_t i
    vec_compact(v)
    for i in range(v.n):
        out.append(v.data[i])
    v.n = 0
    return out


@cython.cdivision(True)
cdef inline int64_t ceil_div_bps(pb_i128 x, pb_i128* out) noexcept nogil:
    """ceil(x / BPS) with Python's rounding (``-(-x // BPS)``) for any sign."""
    cdef pb_i128 q
    cdef int64_t x64, q64
    if x >= INT64_MIN and x <= INT64_MAX:
        # the common case: a 64-bit division instead of the 128-bit library call
        x64 = <int64_t>x
        q64 = x64 / 10000
        if x64 > 0 and x64 % 10000 != 0:
            q64 += 1
        out[0] = q64
        return 0
    q = x / 10000
    if x > 0 and x % 10000 != 0:
        q += 1
    out[0] = q
    return 0


# --- cdef classes ------------------------------------------------------------------------

@cython.final
@cython.no_gc
@cython.freelist(1024)  # orders come and go all the time; at most 1024 kept for reuse
cdef class _COrder:
    cdef int64_t oid, acct, price, qty, priority, side
    cdef int midx
    cdef uint64_t touched  # CEngine.epoch when last recorded as touched
    # the command's own objects, echoed into events and views like the reference does
    cdef object oid_o, acct_o, market_o, price_o, cl_o
    cdef Level* level
    cdef PyObject* prev
    cdef PyObject* next
    cdef PyObject* aprev
    cdef PyObject* anext

    def __repr__(self):
        return (
            f"_COrder(id={self.oid}, account={self.acct}, midx={self.midx}, side={self.side}, "
            f"price={self.price}, qty={self.qty}, priority={self.priority}, cl={self.cl_o!r})"
        )

    def view(self):
        return oview(self)


cdef inline object oview(_COrder o):
    return _OrderView(
        o.oid_o, o.acct_o, o.market_o, o.side, o.price_o, o.qty, o.priority, o.cl_o
    )


@cython.final
cdef class _CAccount:
    cdef int64_t id
    cdef uint64_t touched  # CEngine.epoch when last recorded as touched
    cdef object id_o, pkx, pky
    # the replay guard (the reference's "Replay"): the accepted command's own cl_ord_id
    # object, echoed into views as the reference does
    cdef object nonce
    cdef pb_i128 collateral
    cdef Pos* pos
    cdef int npos
    cdef PyObject* ohead
    cdef Py_ssize_t norders

    def __dealloc__(self):
        free(self.pos)


@cython.final
cdef class _CMarket:
    cdef int64_t mid, tick, lot, min_price, max_price, max_qty, imf, mmf, band, mark
    cdef object config, mid_o, cum_o, last_close_o, notional_spill
    cdef pb_i128 notional, volume
    cdef int64_t trades
    cdef BookSide bids, asks

    def __dealloc__(self):
        side_free(&self.bids)
        side_free(&self.asks)


cdef _CAccount new_account(object id_o, int64_t aid, object pkx, object pky, int nm):
    cdef _CAccount a = _CAccount.__new__(_CAccount)
    a.id = aid
    a.id_o = id_o
    a.pkx = pkx
    a.pky = pky
    a.nonce = 0
    a.collateral = 0
    a.pos = <Pos*>calloc(nm if nm else 1, sizeof(Pos))
    if a.pos == NULL:
        raise MemoryError()
    a.npos = nm
    a.ohead = NULL
    a.norders = 0
    return a


cdef inline void acct_link(_CAccount a, _COrder o) noexcept:
    o.aprev = NULL
    o.anext = a.ohead
    if a.ohead != NULL:
        (<_COrder>a.ohead).aprev = <PyObject*>o
    a.ohead = <PyObject*>o
    a.norders += 1


cdef inline void acct_unlink(_CAccount a, _COrder o) noexcept:
    if o.aprev != NULL:
        (<_COrder>o.aprev).anext = o.anext
    else:
        a.ohead = o.anext
    if o.anext != NULL:
        (<_COrder>o.anext).aprev = o.aprev
    o.aprev = NULL
    o.anext = NULL
    a.norders -= 1


cdef int _cmp_order_ids(const void* x, const void* y) noexcept nogil:
    cdef int64_t a = (<_COrder>(<PyObject**>x)[0]).oid
    cdef int64_t b = (<_COrder>(<PyObject**>y)[0]).oid
    return (a > b) - (a < b)


# --- engine internals (module-level cdef functions: no vtable) -----------------------------

cdef inline int find_market(CEngine e, object market_o) except -2:
    """Index of the market with this id, -1 if there is none."""
    cdef int64_t mid
    cdef int lo = 0, hi = e.nm, m
    if not as64(market_o, &mid):
        return -1
    while lo < hi:
        m = (lo + hi) >> 1
        if e.mids[m] < mid:
            lo = m + 1
        else:
            hi = m
    if lo < e.nm and e.mids[lo] == mid:
        return lo
    return -1


cdef inline _CMarket mkt(CEngine e, int i):
    return <_CMarket>PyList_GET_ITEM(e._mk, i)


cdef inline _CAccount find_account(CEngine e, object acct_o):
    cdef int64_t aid
    if not as64(acct_o, &aid) or aid < 0 or aid >= PyList_GET_SIZE(e._accts):
        return None
    return <_CAccount>PyList_GET_ITEM(e._accts, aid)


cdef inline _CAccount acct_by_id(CEngine e, int64_t aid):
    return <_CAccount>PyList_GET_ITEM(e._accts, aid)


cdef int reject(CEngine e, object seq_o, object acct_o, int code, object ref) except -1:
    """Append ``Rejected(seq, account, code, ref)``.

    ``Rejected.__post_init__`` (Python code) turns ``ref`` into a ``BigInt``; for plain int
    fields the fast path builds the very same struct (a copy of an untracked template, fields
    stored in their slots) and does that conversion in C, ``int.__new__(BigInt, ref)``.
    """
    cdef object ev, big
    cdef int64_t v
    cdef int i
    # Only plain int fields: a struct holding a GC-typed value (a BigInt passed in, say) is
    # GC-tracked by the constructor, and the full constructor keeps that exact.
    if (
        _REJ_COPY is not None and type(seq_o) is int and type(acct_o) is int
        and type(ref) is int and as64(ref, &v)
    ):
        big = pb_int_subtype(_BigInt, ref)
        if _REJ_COPY_FN != NULL:
            ev = pb_call_noargs(_REJ_COPY_FN, _REJ_TEMPLATE)
        else:
            ev = _REJ_COPY()
        pb_slot_set(ev, REJ_OFFS[0], seq_o)
        pb_slot_set(ev, REJ_OFFS[1], acct_o)
        for i in range(N_CODES):
            if CODE_VAL[i] == code:
                pb_slot_set(ev, REJ_OFFS[2], <object>CODE_OBJ[i])
                break
        else:
            pb_slot_set(ev, REJ_OFFS[2], code)
        pb_slot_set(ev, REJ_OFFS[3], big)
        e._ev.append(ev)
        return 0
    e._ev.append(_Rejected(seq_o, acct_o, code, ref))
    return 0


@cython.cdivision(True)
cdef int check_price(_CMarket m, object price_o) except -2:
    cdef int64_t price
    cdef pb_i128 diff
    if not as64(price_o, &price):
        if price_o <= 0:
            return INVALID_PRICE
        if price_o % m.tick:
            return PRICE_OFF_TICK
        return PRICE_OUT_OF_BAND
    if price <= 0:
        return INVALID_PRICE
    if price % m.tick:
        return PRICE_OFF_TICK
    if price < m.min_price or price > m.max_price:
        return PRICE_OUT_OF_BAND
    if m.band:
        diff = <pb_i128>price - <pb_i128>m.mark
        if pb_abs(diff) * C_BPS > pb_mul64(m.band, m.mark):
            return PRICE_OUT_OF_BAND
    return OK


@cython.cdivision(True)
cdef int check_qty(_CMarket m, object qty_o) except -2:
    cdef int64_t qty
    if not as64(qty_o, &qty):
        return INVALID_QUANTITY
    if qty <= 0 or qty > m.max_qty:
        return INVALID_QUANTITY
    if qty % m.lot:
        return QUANTITY_OFF_LOT
    return OK


cdef inline bint stale(CEngine e, object seq_o, object acct_o, object cl_o) except -1:
    """The reference's ``_stale``: with ``signed_nonces``, reject (``STALE_NONCE``, ref the
    client id) and return True when the account exists and ``cl_o`` is not above its nonce
    (a replayed signed intent); an unknown account is left to the command's own check."""
    cdef _CAccount a
    cdef long long cl, n
    cdef bint fresh
    if not e.c_signed:
        return False
    a = find_account(e, acct_o)
    if a is None:
        return False
    if pb_long_small(cl_o, &cl) and pb_long_small(a.nonce, &n):
        fresh = cl > n
    else:
        fresh = cl_o > a.nonce  # beyond 63 bits (or not an int): Python's comparison
    if fresh:
        return False
    reject(e, seq_o, acct_o, STALE_NONCE, cl_o)
    return True


cdef inline int accept_nonce(CEngine e, _CAccount a, object cl_o) except -1:
    """An accepted signed command raises its account's nonce (the reference's
    ``_accept_nonce``)."""
    if e.c_signed:
        a.nonce = cl_o
        touch_account(e, a)
    return 0


cdef inline bint cl_in_range(object cl_o) except -1:
    cdef int64_t cl
    if as64(cl_o, &cl):
        return cl >= 0
    return 0 <= cl_o <= MAX_CL_ORD_ID


# --- margin ------------------------------------------------------------------------------

cdef inline bint term(_CMarket m, Pos* p, pb_i128 buy, pb_i128 sell, pb_i128* out) noexcept:
    """One market's initial margin; True on 128-bit overflow (caller falls back)."""
    cdef pb_i128 ob = p.open_buy + buy
    cdef pb_i128 os_ = p.open_sell + sell
    cdef pb_i128 r1 = pb_abs(p.position + ob)
    cdef pb_i128 r2 = pb_abs(p.position - os_)
    cdef pb_i128 risk = r1 if r1 > r2 else r2
    cdef pb_i128 x
    if risk == 0:
        out[0] = 0
        return False
    if pb_mul(pb_mul64(m.imf, m.mark), risk, &x):
        return True
    ceil_div_bps(x, out)
    return False


cdef object py_requirement(CEngine e, _CAccount a, int midx, object buy, object sell):
    """The reference's ``_requirement`` in Python ints (overflow fallback)."""
    cdef int i
    cdef _CMarket m
    cdef Pos* p
    total = 0
    for i in range(e.nm):
        p = &a.pos[i]
        ob = i2py(p.open_buy)
        os_ = i2py(p.open_sell)
        pos = i2py(p.position)
        if i == midx:
            ob += buy
            os_ += sell
        risk = max(abs(pos + ob), abs(pos - os_))
        if risk:
            m = mkt(e, i)
            total += -(-((<object>m.imf) * m.mark * risk) // C_BPS)
    return total


cdef object py_equity(CEngine e, _CAccount a):
    cdef int i
    eq = i2py(a.collateral)
    for i in range(e.nm):
        if a.pos[i].position:
            eq += i2py(a.pos[i].position) * mkt(e, i).mark - i2py(a.pos[i].basis)
    return eq


cdef inline bint requirement(CEngine e, _CAccount a, int midx, pb_i128 buy, pb_i128 sell,
                             pb_i128* out) noexcept:
    """Total initial margin with ``buy``/``sell`` added to market ``midx``; True on overflow."""
    cdef pb_i128 total = 0, t
    cdef int i
    for i in range(e.nm):
        if i == midx:
            if term(mkt(e, i), &a.pos[i], buy, sell, &t):
                return True
        elif term(mkt(e, i), &a.pos[i], 0, 0, &t):
            return True
        if pb_add(total, t, &total):
            return True
    out[0] = total
    return False


cdef inline bint equity(CEngine e, _CAccount a, pb_i128* out) noexcept:
    cdef pb_i128 eq = a.collateral, v
    cdef int i
    cdef Pos* p
    for i in range(e.nm):
        p = &a.pos[i]
        if p.position:
            if pb_mul(p.position, mkt(e, i).mark, &v):
                return True
            if pb_sub(v, p.basis, &v) or pb_add(eq, v, &eq):
                return True
    out[0] = eq
    return False


cdef bint margin_ok(CEngine e, _CAccount a, int midx, bint is_buy, int64_t price,
                    int64_t qty) except -1:
    """The reference's ``_margin_ok``: only the order's market term can change."""
    cdef _CMarket m = mkt(e, midx)
    cdef Pos* p = &a.pos[midx]
    cdef pb_i128 buy = qty if is_buy else 0
    cdef pb_i128 sell = 0 if is_buy else qty
    cdef pb_i128 tb, ta, after, eq, lock_in, diff
    if not term(m, p, 0, 0, &tb) and not term(m, p, buy, sell, &ta):
        if ta <= tb:
            return True
        diff = (<pb_i128>price - m.mark) if is_buy else (<pb_i128>m.mark - price)
        if diff < 0:
            diff = 0
        if (
            not requirement(e, a, midx, buy, sell, &after)
            and not equity(e, a, &eq)
            and not pb_mul(diff, qty, &lock_in)
            and not pb_sub(eq, lock_in, &eq)
        ):
            return eq >= after
    # exact fallback in Python ints
    pbuy = qty if is_buy else 0
    psell = 0 if is_buy else qty
    before_py = py_requirement(e, a, -1, 0, 0)
    after_py = py_requirement(e, a, midx, pbuy, psell)
    if after_py <= before_py:
        return True
    mark = <object>m.mark
    pprice = <object>price
    lock = max(0, pprice - mark) * qty if is_buy else max(0, mark - pprice) * qty
    return py_equity(e, a) - lock >= after_py


# --- state changes -----------------------------------------------------------------------

cdef inline int touch_order(CEngine e, _COrder o) except -1:
    if o.touched != e.epoch:
        o.touched = e.epoch
        vec_push(&e.t_orders, o.oid)
    return 0


cdef inline int touch_account(CEngine e, _CAccount a) except -1:
    if a.touched != e.epoch:
        a.touched = e.epoch
        vec_push(&e.t_accts, a.id)
    return 0


@cython.cdivision(True)
cdef int fill(_CAccount a, int midx, bint is_buy, int64_t price, int64_t q) except -1:
    """Apply a fill of ``q`` lots at ``price`` to ``a``'s position; realise PnL."""
    cdef Pos* p = &a.pos[midx]
    cdef pb_i128 pos = p.position, size, close, released, absb, prod, pnl, rest
    cdef pb_i128 s = 1 if is_buy else -1
    if pos == 0 or (pos > 0) == (s > 0):
        p.position = pos + s * q
        if pb_add(p.basis, s * pb_mul64(q, price), &p.basis):
            _overflow("cost basis")
        return 0
    size = pb_abs(pos)
    close = q if q < size else size
    absb = pb_abs(p.basis)
    if pb_mul(absb, close, &prod):
        released = py2i((i2py(absb) * i2py(close)) // i2py(size))
    else:
        # both non-negative: C division is floor division (64-bit when both fit)
        if prod <= INT64_MAX and size <= INT64_MAX:
            released = <int64_t>prod / <int64_t>size
        else:
            released = prod / size
    pnl = close * price - released
    if pos < 0:
        pnl = -pnl
    if pb_add(a.collateral, pnl, &a.collateral):
        _overflow("collateral")
    if p.basis >= 0:
        p.basis -= released
    else:
        p.basis += released
    p.position = pos + s * close
    rest = q - close
    if rest:
        p.position += s * rest
        if pb_add(p.basis, s * rest * price, &p.basis):
            _overflow("cost basis")
    return 0


cdef inline int release(CEngine e, _COrder o, int64_t qty) except -1:
    cdef Pos* p = &acct_by_id(e, o.acct).pos[o.midx]
    if o.side == BUY:
        p.open_buy -= qty
    else:
        p.open_sell -= qty
    return 0


cdef int rest_order(CEngine e, _COrder o) except -1:
    cdef _CMarket m = mkt(e, o.midx)
    cdef _CAccount a = acct_by_id(e, o.acct)
    cdef Pos* p
    side_add(&m.bids if o.side == BUY else &m.asks, o)
    pb_idmap_set(&e.orders, o.oid, <PyObject*>o)
    acct_link(a, o)
    cl_add(e, a.id, o.cl_o)
    p = &a.pos[o.midx]
    if o.side == BUY:
        p.open_buy += o.qty
    else:
        p.open_sell += o.qty
    touch_order(e, o)
    touch_account(e, a)
    return 0


cdef int cl_add(CEngine e, int64_t acct, object cl_o) except -1:
    """One more live order of ``acct`` carries client id ``cl_o`` (0: none). ``cls`` counts
    them: 1 each with ``unique_cl_ord_ids``, more without (the reference's ``cl_ord_ids``)."""
    cdef pb_clmap_entry* ce
    if not cl_o:
        return 0
    ce = pb_clmap_find(&e.cls, acct, cl_key(cl_o))
    if ce != NULL:
        ce.n += 1
    else:
        pb_clmap_set(&e.cls, acct, cl_key(cl_o), 1)
    return 0


cdef int cl_drop(CEngine e, int64_t acct, object cl_o) except -1:
    cdef pb_clmap_entry* ce
    if not cl_o:
        return 0
    ce = pb_clmap_find(&e.cls, acct, cl_key(cl_o))
    if ce == NULL:
        raise KeyError(cl_o)
    if ce.n > 1:
        ce.n -= 1
    else:
        pb_clmap_del(&e.cls, acct, cl_key(cl_o))
    return 0


cdef int unlink(CEngine e, _COrder o) except -1:
    """Take a resting order out of every index (its open quantity is already released)."""
    cdef _CMarket m = mkt(e, o.midx)
    cdef _CAccount a = acct_by_id(e, o.acct)
    side_remove(&m.bids if o.side == BUY else &m.asks, o)
    orders_pop(e, o.oid)
    acct_unlink(a, o)
    cl_drop(e, a.id, o.cl_o)
    touch_order(e, o)
    touch_account(e, a)
    return 0


cdef int remove_order(CEngine e, _COrder o, object reason, object seq_o) except -1:
    release(e, o, o.qty)
    unlink(e, o)
    e._ev.append(_OrderCancelled(seq_o, o.oid_o, o.acct_o, o.market_o, o.qty, reason))
    return 0


cdef int reduce_order(CEngine e, _COrder o, int64_t d, object seq_o) except -1:
    release(e, o, d)
    o.qty -= d
    e._ev.append(_OrderReduced(seq_o, o.oid_o, o.acct_o, o.market_o, d, o.qty))
    touch_order(e, o)
    touch_account(e, acct_by_id(e, o.acct))
    if o.qty == 0:
        unlink(e, o)
    return 0


cdef inline bint crosses(bint is_buy, int64_t price, _COrder maker) noexcept:
    if maker is None:
        return False
    return maker.price <= price if is_buy else maker.price >= price


cdef bint fok_fillable(int64_t account, bint is_buy, int64_t price, int64_t qty, int64_t stp,
                       BookSide* opp, int64_t left) noexcept:
    """Dry run of ``execute``: would the order fill completely by trades alone, touching at
    most ``left`` makers (-1: any number)?"""
    cdef Py_ssize_t i = opp.n - 1
    cdef PyObject* p
    cdef _COrder maker
    while i >= 0:
        p = opp.lv[i].head
        while p != NULL:
            maker = <_COrder>p
            if not crosses(is_buy, price, maker) or left == 0:
                return False
            left -= 1
            if maker.acct == account:
                if stp != STP_CANCEL_MAKER:
                    return False  # taker cancelled or decremented: not filled by trades
            else:
                qty -= maker.qty if maker.qty < qty else qty
                if qty == 0:
                    return True
            p = maker.next
        i -= 1
    return False


cdef int execute(CEngine e, object seq_o, _COrder taker, int64_t stp, bint rests) except -1:
    """Match ``taker`` against the opposite side, then rest or cancel what is left."""
    cdef _CMarket m = mkt(e, taker.midx)
    cdef bint is_buy = taker.side == BUY
    cdef BookSide* opp = &m.asks if is_buy else &m.bids
    cdef _CAccount ta = acct_by_id(e, taker.acct)
    cdef _CAccount ma
    cdef _COrder maker
    cdef Pos* mp
    cdef int64_t q, d, price
    cdef pb_i128 notional
    cdef list events = e._ev
    cdef int64_t left = e.c_max_matches
    while taker.qty:
        if opp.n == 0:
            break
        maker = <_COrder>opp.lv[opp.n - 1].head
        if not (maker.price <= taker.price if is_buy else maker.price >= taker.price):
            break
        if left == 0:  # still crossing: the rest may neither trade on nor rest
            events.append(_OrderCancelled(
                seq_o, taker.oid_o, taker.acct_o, taker.market_o, taker.qty, R_MATCH_LIMIT
            ))
            taker.qty = 0
            return 0
        left -= 1
        if maker.acct == taker.acct:
            if stp == STP_CANCEL_MAKER:
                remove_order(e, maker, R_SELF, seq_o)
                continue
            if stp == STP_DECREMENT:
                d = taker.qty if taker.qty < maker.qty else maker.qty
                taker.qty -= d
                events.append(_OrderReduced(
                    seq_o, taker.oid_o, taker.acct_o, taker.market_o, d, taker.qty
                ))
                reduce_order(e, maker, d, seq_o)
                continue
            if stp == STP_CANCEL_BOTH:
                remove_order(e, maker, R_SELF, seq_o)
            events.append(_OrderCancelled(
                seq_o, taker.oid_o, taker.acct_o, taker.market_o, taker.qty, R_SELF
            ))
            taker.qty = 0
            return 0
        q = taker.qty if taker.qty < maker.qty else maker.qty
        price = maker.price
        taker.qty -= q
        maker.qty -= q
        ma = acct_by_id(e, maker.acct)
        mp = &ma.pos[taker.midx]
        if maker.side == BUY:
            mp.open_buy -= q
        else:
            mp.open_sell -= q
        fill(ta, taker.midx, is_buy, price, q)
        fill(ma, taker.midx, maker.side == BUY, price, q)
        notional = pb_mul64(price, q)
        if pb_add(m.notional, notional, &m.notional):
            m.notional_spill = m.notional_spill + i2py(m.notional)
            m.notional = notional
        m.volume += q
        m.trades += 1
        events.append(_Trade(
            seq_o, m.mid_o, taker.oid_o, maker.oid_o, taker.acct_o, maker.acct_o,
            taker.side, maker.price_o, q, taker.qty, maker.qty,
        ))
        touch_order(e, maker)
        touch_account(e, ma)
        touch_account(e, ta)
        if maker.qty == 0:
            unlink(e, maker)
    if taker.qty:
        if rests:
            rest_order(e, taker)
        else:
            events.append(_OrderCancelled(
                seq_o, taker.oid_o, taker.acct_o, taker.market_o, taker.qty, R_IOC
            ))
    return 0

cdef bint under_maintenance(CEngine e, _CAccount a) except -1:
    """Equity below maintenance margin (the reference's ``_equity < _maintenance``), in 128-bit
    arithmetic, exact in Python ints when that would overflow."""
    cdef pb_i128 eq, total = 0, t, x
    cdef int i
    if not equity(e, a, &eq):
        for i in range(e.nm):
            if a.pos[i].position:
                if pb_mul(pb_mul64(mkt(e, i).mmf, mkt(e, i).mark), pb_abs(a.pos[i].position), &x):
                    break
                ceil_div_bps(x, &t)
                if pb_add(total, t, &total):
                    break
        else:
            return eq < total
    maintenance = 0
    for i in range(e.nm):
        if a.pos[i].position:
            x_py = (<object>mkt(e, i).mmf) * mkt(e, i).mark * abs(i2py(a.pos[i].position))
            maintenance += -(-x_py // C_BPS)
    return py_equity(e, a) < maintenance


cdef bint liquidatable(CEngine e, _CAccount a, int midx, bint is_buy, int64_t qty) except -1:
    """The reference's ``_liquidatable``."""
    cdef Pos* p = &a.pos[midx]
    if p.open_buy or p.open_sell or p.position == 0:
        return False
    if is_buy != (p.position < 0) or qty > pb_abs(p.position):
        return False
    return under_maintenance(e, a)


# --- commands ----------------------------------------------------------------------------

cdef int do_place(CEngine e, PyObject** f) except -1:
    # seq, ts, account, market, cl_ord_id, side, order_type, tif, price, qty, post_only, stp
    cdef object seq_o = <object>f[0]
    cdef object acct_o = <object>f[2]
    cdef object market_o = <object>f[3]
    cdef object cl_o = <object>f[4]
    cdef object side_o = <object>f[5]
    cdef object price_o = <object>f[8]
    cdef object qty_o = <object>f[9]
    cdef _CAccount a = find_account(e, acct_o)
    cdef int midx, code
    cdef _CMarket m
    cdef int64_t side = 0, otype = 0, tif = 0, stp = 0, price = 0, qty = 0, seq = 0
    cdef bint post_only = False, ok_flags, is_buy = False, liq
    cdef BookSide* opp
    cdef BookSide* own
    cdef _COrder o
    if a is None:
        return reject(e, seq_o, acct_o, UNKNOWN_ACCOUNT, cl_o)
    # a liquidation is the venue's, not a signed intent: no replay mark (module docstring)
    liq = as64(<object>f[6], &otype) and otype == LIQUIDATION
    if not liq and stale(e, seq_o, acct_o, cl_o):
        return 0
    midx = find_market(e, market_o)
    if midx < 0:
        return reject(e, seq_o, acct_o, UNKNOWN_MARKET, cl_o)
    m = mkt(e, midx)
    code = check_qty(m, qty_o)
    if code == OK:
        code = check_price(m, price_o)
    if code == OK:
        # _flags_ok
        as64(side_o, &side)
        as64(<object>f[6], &otype)
        as64(<object>f[7], &tif)
        as64(<object>f[11], &stp)
        post_only = PyObject_IsTrue(<object>f[10])
        if (side != 1 and side != 2) or stp < 0 or stp > 3:
            ok_flags = False
        elif tif != GTC and tif != IOC and tif != FOK:
            ok_flags = False
        elif otype == MARKET:
            ok_flags = tif != GTC and not post_only
        elif otype == LIQUIDATION:  # the venue's: no client id
            ok_flags = tif == IOC and not post_only and cl_o == 0
        elif otype != LIMIT:
            ok_flags = False
        else:
            ok_flags = not (post_only and tif != GTC)
        if not ok_flags:
            code = INVALID_ORDER_FLAGS
    if code == OK and not cl_in_range(cl_o):
        code = INVALID_ORDER_FLAGS
    if code == OK and e.c_unique_cl and cl_o and pb_clmap_find(&e.cls, a.id, cl_key(cl_o)) != NULL:
        code = DUPLICATE_CLIENT_ORDER_ID
    if code == OK:
        as64(price_o, &price)
        as64(qty_o, &qty)
        is_buy = side == BUY
        if liq:
            if not liquidatable(e, a, midx, is_buy, qty):
                code = NOT_LIQUIDATABLE
        elif not margin_ok(e, a, midx, is_buy, price, qty):
            code = INSUFFICIENT_MARGIN
    if code == OK and otype == LIMIT and tif == GTC:
        own = &m.bids if is_buy else &m.asks
        if own.count >= e.max_resting:
            code = BOOK_FULL
        elif 0 < e.c_max_open <= a.norders:
            code = TOO_MANY_ORDERS
    if code == OK:
        opp = &m.asks if is_buy else &m.bids
        if post_only and crosses(is_buy, price, side_best(opp)):
            code = POST_ONLY_WOULD_CROSS
        elif tif == FOK and not fok_fillable(a.id, is_buy, price, qty, stp, opp, e.c_max_matches):
            code = FOK_NOT_FILLABLE
    if code != OK:
        return reject(e, seq_o, acct_o, code, cl_o)
    if not liq:
        accept_nonce(e, a, cl_o)
    as64(seq_o, &seq)
    o = _COrder.__new__(_COrder)
    o.oid = seq
    o.acct = a.id
    o.midx = midx
    o.side = side
    o.price = price
    o.qty = qty
    o.priority = seq
    o.oid_o = seq_o
    o.acct_o = acct_o
    o.market_o = market_o
    o.price_o = price_o
    o.cl_o = cl_o
    e._ev.append(_OrderAccepted(seq_o, seq_o, acct_o, market_o, cl_o, side, price_o, qty_o))
    execute(e, seq_o, o, stp, otype == LIMIT and tif == GTC)
    return 0


cdef inline uint64_t cl_key(object cl_o) except? 0:
    """A client order id in [1, 2**64) as the key of ``CEngine.cls``."""
    cdef long long small
    if pb_long_small(cl_o, &small):
        return <uint64_t>small
    return PyLong_AsUnsignedLongLong(cl_o)


cdef PyObject* orders_get(CEngine e, object oid_o) except? NULL:
    """The resting order with this id (borrowed), NULL if none: ``dict.get`` semantics."""
    cdef int64_t oid
    cdef long long small
    cdef size_t i
    cdef PyObject* p
    if pb_long_small(oid_o, &small):
        return pb_idmap_get(&e.orders, small)
    if PyLong_Check(oid_o):
        if as64(oid_o, &oid):
            return pb_idmap_get(&e.orders, oid)
        return NULL  # beyond 64 bits: no order has such an id
    # Any other key (a float, ...) is looked up like a dict key: equal hash, then equal.
    h = hash(oid_o)
    for i in range(pb_idmap_capacity(&e.orders)):
        p = pb_idmap_slot(&e.orders, i)
        if p != NULL and hash((<_COrder>p).oid_o) == h and (<_COrder>p).oid_o == oid_o:
            return p
    return NULL


cdef int orders_pop(CEngine e, int64_t oid) except -1:
    cdef PyObject* p = pb_idmap_pop(&e.orders, oid)
    if p == NULL:
        raise KeyError(oid)
    Py_XDECREF(p)
    return 0


cdef dict orders_dict(CEngine e):
    """The order index as a dict (for ``_check``)."""
    cdef dict out = {}
    cdef size_t i
    cdef PyObject* p
    for i in range(pb_idmap_capacity(&e.orders)):
        p = pb_idmap_slot(&e.orders, i)
        if p != NULL:
            out[(<_COrder>p).oid_o] = <object>p
    assert len(out) == e.orders.n, ("order map size", len(out), e.orders.n)
    return out


cdef _COrder find_own(CEngine e, object seq_o, object acct_o, object market_o, object oid_o):
    cdef _CAccount a = find_account(e, acct_o)
    cdef int midx
    cdef PyObject* p
    cdef _COrder o
    if a is None:
        reject(e, seq_o, acct_o, UNKNOWN_ACCOUNT, oid_o)
        return None
    midx = find_market(e, market_o)
    if midx < 0:
        reject(e, seq_o, acct_o, UNKNOWN_MARKET, oid_o)
        return None
    p = orders_get(e, oid_o)
    if p == NULL or (<_COrder>p).midx != midx:
        reject(e, seq_o, acct_o, UNKNOWN_ORDER, oid_o)
        return None
    o = <_COrder>p
    if o.acct != a.id:
        reject(e, seq_o, acct_o, NOT_ORDER_OWNER, oid_o)
        return None
    return o


cdef int do_cancel(CEngine e, PyObject** f) except -1:
    # seq, ts, account, market, order_id
    cdef object seq_o = <object>f[0]
    cdef _COrder o = find_own(e, seq_o, <object>f[2], <object>f[3], <object>f[4])
    if o is not None:
        remove_order(e, o, R_USER, seq_o)
    return 0


cdef int do_replace(CEngine e, PyObject** f) except -1:
    # seq, ts, account, market, order_id, price, qty, cl_ord_id
    cdef object seq_o = <object>f[0]
    cdef object acct_o = <object>f[2]
    cdef object oid_o = <object>f[4]
    cdef object price_o = <object>f[5]
    cdef object qty_o = <object>f[6]
    cdef object cmd_cl = <object>f[7]
    cdef _COrder o
    cdef _CMarket m
    cdef _CAccount a
    cdef int code
    cdef int64_t price, qty, seq
    cdef bint price_fits, keeps, ok
    cdef Pos* p
    if stale(e, seq_o, acct_o, cmd_cl):
        return 0
    o = find_own(e, seq_o, acct_o, <object>f[3], oid_o)
    if o is None:
        return 0
    m = mkt(e, o.midx)
    a = acct_by_id(e, o.acct)
    price_fits = as64(price_o, &price)
    as64(qty_o, &qty)
    code = check_qty(m, qty_o)
    if code == OK and (not price_fits or price != o.price):
        code = check_price(m, price_o)
    new_cl = cmd_cl or o.cl_o
    if code == OK and not cl_in_range(new_cl):
        code = INVALID_ORDER_FLAGS
    if (
        code == OK and e.c_unique_cl and new_cl != o.cl_o and new_cl
        and pb_clmap_find(&e.cls, a.id, cl_key(new_cl)) != NULL
    ):
        code = DUPLICATE_CLIENT_ORDER_ID
    keeps = price_fits and price == o.price and qty <= o.qty
    if code == OK and not keeps:
        # Check margin as if the old order were gone and the new one placed.
        release(e, o, o.qty)
        try:
            ok = margin_ok(e, a, o.midx, o.side == BUY, price, qty)
        finally:
            p = &a.pos[o.midx]
            if o.side == BUY:
                p.open_buy += o.qty
            else:
                p.open_sell += o.qty
        if not ok:
            code = INSUFFICIENT_MARGIN
    if code != OK:
        return reject(e, seq_o, acct_o, code, oid_o)
    accept_nonce(e, a, cmd_cl)
    if new_cl != o.cl_o:
        cl_drop(e, a.id, o.cl_o)
        cl_add(e, a.id, new_cl)
        o.cl_o = new_cl
    if keeps:
        release(e, o, o.qty - qty)
        o.qty = qty
        touch_order(e, o)
        touch_account(e, a)
        e._ev.append(_OrderReplaced(
            seq_o, o.oid_o, o.acct_o, o.market_o, new_cl, o.price_o, o.qty, True
        ))
        return 0
    release(e, o, o.qty)
    unlink(e, o)
    as64(seq_o, &seq)
    o.price = price
    o.price_o = price_o
    o.qty = qty
    o.priority = seq
    e._ev.append(_OrderReplaced(
        seq_o, o.oid_o, o.acct_o, o.market_o, new_cl, o.price_o, o.qty, False
    ))
    # The moved order is a GTC limit order again: it may trade if it now crosses.
    # Its own STP mode is not stored, so a replace that crosses itself cancels the taker.
    execute(e, seq_o, o, STP_CANCEL_TAKER, True)
    return 0


cdef int do_mass_cancel(CEngine e, PyObject** f) except -1:
    # seq, ts, account, market
    cdef object seq_o = <object>f[0]
    cdef object acct_o = <object>f[2]
    cdef object market_o = <object>f[3]
    cdef _CAccount a = find_account(e, acct_o)
    cdef int midx = -1
    cdef int64_t mid, count = 0
    cdef bint all_markets
    cdef PyObject** buf
    cdef PyObject* p
    cdef Py_ssize_t n = 0, i
    cdef list keep
    cdef _COrder o
    if a is None:
        return reject(e, seq_o, acct_o, UNKNOWN_ACCOUNT, market_o)
    all_markets = as64(market_o, &mid) and mid == 0
    if not all_markets:
        midx = find_market(e, market_o)
        if midx < 0:
            return reject(e, seq_o, acct_o, UNKNOWN_MARKET, market_o)
    if a.norders:
        keep = []
        buf = <PyObject**>malloc(a.norders * sizeof(PyObject*))
        if buf == NULL:
            raise MemoryError()
        try:
            p = a.ohead
            while p != NULL:
                keep.append(<object>p)
                buf[n] = p
                n += 1
                p = (<_COrder>p).anext
            qsort(buf, n, sizeof(PyObject*), _cmp_order_ids)
            for i in range(n):
                o = <_COrder>buf[i]
                if all_markets or o.midx == midx:
                    remove_order(e, o, R_MASS, seq_o)
                    count += 1
        finally:
            free(buf)
    # Closes the command even when nothing was open (the FIX mass-cancel report).
    e._ev.append(_MassCancelled(seq_o, a.id_o, market_o, count))
    return 0


cdef inline bint amount_ok(object amount_o) except -1:
    cdef int64_t v
    if as64(amount_o, &v):
        return v > 0
    return 0 < amount_o <= MAX_AMOUNT


cdef int do_deposit(CEngine e, PyObject** f) except -1:
    # seq, ts, account, amount
    cdef object seq_o = <object>f[0]
    cdef object acct_o = <object>f[2]
    cdef object amount_o = <object>f[3]
    cdef _CAccount a = find_account(e, acct_o)
    if a is None:
        return reject(e, seq_o, acct_o, UNKNOWN_ACCOUNT, acct_o)
    if not amount_ok(amount_o):
        return reject(e, seq_o, acct_o, INVALID_AMOUNT, amount_o)
    if pb_add(a.collateral, py2i(amount_o), &a.collateral):
        _overflow("collateral")
    touch_account(e, a)
    e._ev.append(_CollateralChanged(seq_o, a.id_o, amount_o, i2py(a.collateral)))
    return 0


cdef int do_withdraw(CEngine e, PyObject** f) except -1:
    # seq, ts, account, amount, cl_ord_id
    cdef object seq_o = <object>f[0]
    cdef object acct_o = <object>f[2]
    cdef object amount_o = <object>f[3]
    cdef object cl_o = <object>f[4]
    cdef _CAccount a = find_account(e, acct_o)
    cdef pb_i128 amount, eq, req
    cdef bint refuse
    if a is None:
        return reject(e, seq_o, acct_o, UNKNOWN_ACCOUNT, acct_o)
    if stale(e, seq_o, acct_o, cl_o):
        return 0
    if e.c_signed and not cl_in_range(cl_o):
        # out of the committed width, as for an order's client id
        return reject(e, seq_o, acct_o, INVALID_ORDER_FLAGS, cl_o)
    if not amount_ok(amount_o):
        return reject(e, seq_o, acct_o, INVALID_AMOUNT, amount_o)
    amount = py2i(amount_o)
    if amount > a.collateral:
        refuse = True
    elif (
        not equity(e, a, &eq)
        and not requirement(e, a, -1, 0, 0, &req)
        and not pb_sub(eq, amount, &eq)
    ):
        refuse = eq < req
    else:
        refuse = py_equity(e, a) - amount_o < py_requirement(e, a, -1, 0, 0)
    if refuse:
        return reject(e, seq_o, acct_o, INSUFFICIENT_COLLATERAL, amount_o)
    a.collateral -= amount
    touch_account(e, a)
    accept_nonce(e, a, cl_o)
    e._ev.append(_CollateralChanged(seq_o, a.id_o, -amount_o, i2py(a.collateral)))
    return 0


cdef int add_account(CEngine e, object acct_o, int64_t aid, object pkx, object pky) except -1:
    cdef list accts = e._accts
    if aid >= PyList_GET_SIZE(accts):
        accts.extend([None] * (aid + 1 - PyList_GET_SIZE(accts)))
    accts[aid] = new_account(acct_o, aid, pkx, pky, e.nm)
    return 0


cdef int do_add_account(CEngine e, PyObject** f) except -1:
    # seq, ts, account, pubkey_x, pubkey_y
    cdef object seq_o = <object>f[0]
    cdef object acct_o = <object>f[2]
    cdef int64_t aid
    if not as64(acct_o, &aid) or not 0 <= aid < e.c_max_accounts:
        return reject(e, seq_o, acct_o, INVALID_ACCOUNT_ID, acct_o)
    if find_account(e, acct_o) is not None:
        return reject(e, seq_o, acct_o, ACCOUNT_EXISTS, acct_o)
    add_account(e, acct_o, aid, <object>f[3], <object>f[4])
    touch_account(e, acct_by_id(e, aid))
    e._ev.append(_AccountAdded(seq_o, acct_o))
    return 0


cdef int command_kind(object cmd) except -1:
    cdef PyObject* t = <PyObject*>Py_TYPE(cmd)
    if t == T_PLACE:
        return K_PLACE
    if t == T_CANCEL:
        return K_CANCEL
    if t == T_REPLACE:
        return K_REPLACE
    if t == T_MASS:
        return K_MASS
    if t == T_DEPOSIT:
        return K_DEPOSIT
    if t == T_WITHDRAW:
        return K_WITHDRAW
    if t == T_ADD:
        return K_ADD
    for cls, kind in _KINDS:
        if isinstance(cmd, cls):
            return SUBCLASS + <int>kind  # a subclass: read its fields by name
    return 0


cdef inline void prefetch_fields(PyObject* cmd) noexcept:
    """Cache hint for a command's field objects (exact command types only)."""
    cdef PyObject* t = <PyObject*>Py_TYPE(<object>cmd)
    cdef int kind, i
    cdef PyObject* v
    if t == T_PLACE:
        kind = K_PLACE
    elif t == T_CANCEL:
        kind = K_CANCEL
    elif t == T_REPLACE:
        kind = K_REPLACE
    else:
        return
    for i in range(NFIELDS[kind]):
        if OFFS[kind][i] >= 0:
            v = pb_slot(cmd, OFFS[kind][i])
            if v != NULL:
                pb_prefetch(v)


cdef int process_one(CEngine e, object cmd) except -1:
    """``ReferenceEngine.process`` minus the result list (events go to ``e._ev``)."""
    cdef int kind = command_kind(cmd)
    cdef int nf, i
    cdef bint exact = kind < SUBCLASS, missing
    cdef PyObject* f[MAXF]
    cdef PyObject* v
    cdef int64_t seq, its
    cdef uint64_t ts
    cdef object seq_o, ts_o
    if kind >= SUBCLASS:
        kind -= SUBCLASS
    if kind:
        nf = NFIELDS[kind]
        missing = True
        if exact and ALL_SLOTS[kind]:
            # the common case: every field straight from its slot
            missing = False
            for i in range(nf):
                f[i] = pb_slot(<PyObject*>cmd, OFFS[kind][i])
                missing |= f[i] == NULL
        for i in range(nf if missing else 0):
            v = NULL
            if exact and OFFS[kind][i] >= 0:
                v = pb_slot(<PyObject*>cmd, OFFS[kind][i])
            if v == NULL:
                value = getattr(cmd, _FIELD_NAMES[kind][i])
                e._keep.append(value)
                v = <PyObject*>value
            f[i] = v
        seq_o = <object>f[0]
        ts_o = <object>f[1]
    else:
        seq_o = cmd.seq
        ts_o = cmd.ts
    if not as64(seq_o, &seq) or seq != e._seq + 1 or seq > C_MAX_SEQ:
        raise _EngineError(f"command seq {seq_o} does not follow {e._seq}")
    if as64(ts_o, &its) and its >= 0:
        ts = <uint64_t>its
        if ts < e._ts:
            raise _EngineError(f"command ts {ts_o} is before the previous {e._ts}")
    else:
        if not (e._ts <= ts_o <= MAX_TS):
            raise _EngineError(f"command ts {ts_o} is before the previous {e._ts}")
        ts = ts_o
    e._seq = seq
    e._ts = ts
    if kind == K_PLACE:
        do_place(e, f)
    elif kind == K_CANCEL:
        do_cancel(e, f)
    elif kind == K_REPLACE:
        do_replace(e, f)
    elif kind == K_MASS:
        do_mass_cancel(e, f)
    elif kind == K_DEPOSIT:
        do_deposit(e, f)
    elif kind == K_WITHDRAW:
        do_withdraw(e, f)
    elif kind == K_ADD:
        do_add_account(e, f)
    else:
        raise _EngineError(f"unknown command {cmd!r}")
    if e._keep:
        e._keep.clear()
    return 0


# --- the engine --------------------------------------------------------------------------

@cython.final
cdef class CEngine:
    cdef list _mk
    cdef int nm
    cdef int64_t* mids
    cdef tuple _configs
    cdef list _accts
    cdef pb_idmap orders  # order id -> _COrder (owns a reference to each)
    cdef pb_clmap cls  # (account id, client order id) -> live orders carrying it (cl_add)
    cdef int64_t _seq
    cdef uint64_t _ts
    cdef IdVec t_orders, t_accts
    cdef uint64_t epoch  # advanced by drain_touched; objects record it when touched
    cdef list _ev
    cdef list _keep
    cdef int64_t c_max_accounts, max_resting, c_max_matches, c_max_open
    cdef bint c_signed, c_unique_cl
    cdef readonly object max_accounts, max_resting_per_side, max_matches, max_open_orders
    cdef readonly object signed_nonces, unique_cl_ord_ids

    """Deterministic price-time-priority engine in C; the reference engine is the spec."""

    def __cinit__(self):
        self.mids = NULL
        self.t_orders.data = NULL
        memset(&self.orders, 0, sizeof(pb_idmap))
        memset(&self.cls, 0, sizeof(pb_clmap))
        self.t_accts.data = NULL

    def __init__(self, markets, *, max_accounts=_PY_MAX_ACCOUNTS, max_resting_per_side=1 << 48,
                 max_matches=0, max_open_orders=0, signed_nonces=False,
                 unique_cl_ord_ids=True):
        """``max_accounts``, ``max_resting_per_side``, ``max_matches``, ``max_open_orders``,
        ``signed_nonces``, ``unique_cl_ord_ids``: as for ``ReferenceEngine``."""
        cdef int i
        cdef _CMarket m
        if (not 0 < max_accounts <= _PY_MAX_ACCOUNTS or max_resting_per_side < 1
                or max_matches < 0 or max_open_orders < 0):
            raise EngineError("invalid engine limits")
        self.max_open_orders = max_open_orders
        self.signed_nonces = bool(signed_nonces)
        self.c_signed = self.signed_nonces
        self.unique_cl_ord_ids = bool(unique_cl_ord_ids)
        self.c_unique_cl = self.unique_cl_ord_ids
        self.c_max_open = max_open_orders if max_open_orders < INT64_MAX else INT64_MAX
        self.max_accounts = max_accounts
        self.max_resting_per_side = max_resting_per_side
        self.max_matches = max_matches
        # -1: unlimited (a count that never reaches 0)
        self.c_max_matches = max_matches if 0 < max_matches < INT64_MAX else -1
        self.c_max_accounts = max_accounts
        self.max_resting = max_resting_per_side if max_resting_per_side < INT64_MAX else INT64_MAX
        check_markets(markets)  # the reference engine's own check, once per engine
        self._configs = tuple(markets)
        self.nm = len(self._configs)
        self.mids = <int64_t*>malloc(self.nm * sizeof(int64_t))
        if self.mids == NULL:
            raise MemoryError()
        self._mk = []
        for i in range(self.nm):
            mc = self._configs[i]
            m = _CMarket.__new__(_CMarket)
            m.config = mc
            m.mid_o = mc.market_id
            m.mid = mc.market_id
            m.tick = mc.tick_size
            m.lot = mc.lot_size
            m.min_price = mc.min_price
            m.max_price = mc.max_price
            m.max_qty = mc.max_qty
            m.imf = mc.imf_bps
            m.mmf = mc.mmf_bps
            # a band this wide never binds (|price - mark| * BPS < 2**63 <= band * mark)
            m.band = mc.band_bps if mc.band_bps < INT64_MAX else INT64_MAX
            m.mark = mc.initial_price
            m.cum_o = 0
            m.last_close_o = 0
            m.notional_spill = 0
            m.notional = 0
            m.volume = 0
            m.trades = 0
            m.bids.is_bid = True
            m.asks.is_bid = False
            self.mids[i] = m.mid
            self._mk.append(m)
        self._accts = []
        self._seq = 0
        self._ts = 0
        self.t_orders.compact_at = 4096
        self.t_accts.compact_at = 4096
        self._ev = []
        self._keep = []
        self.epoch = 1

    def __dealloc__(self):
        free(self.mids)
        free(self.t_orders.data)
        pb_idmap_clear(&self.orders)
        pb_clmap_free(&self.cls)
        free(self.t_accts.data)

    # --- public API -------------------------------------------------------------------

    @property
    def last_seq(self):
        return self._seq

    @property
    def last_ts(self):
        return self._ts

    def market_configs(self):
        return self._configs

    def process(self, cmd):
        """Apply one command; return the events it caused (at least one)."""
        cdef list events = []
        self._ev = events
        process_one(self, cmd)
        return events

    def process_batch(self, cmds):
        """Apply commands in order; return all their events (no Python call per command)."""
        cdef list out = []
        cdef Py_ssize_t i, n
        self._ev = out
        if type(cmds) is list or type(cmds) is tuple:
            seq = cmds
        else:
            seq = list(cmds)
        n = len(seq)
        if type(seq) is list:
            i = 0
            # the size is read again each time: a command's own code could shrink the list
            while i < PyList_GET_SIZE(seq):
                if i + 4 < PyList_GET_SIZE(seq):
                    pb_prefetch2(PyList_GET_ITEM(seq, i + 4))
                if i + 2 < PyList_GET_SIZE(seq):
                    prefetch_fields(PyList_GET_ITEM(seq, i + 2))
                process_one(self, <object>PyList_GET_ITEM(seq, i))
                i += 1
        else:
            for i in range(n):
                process_one(self, seq[i])
        return out

    def end_block(self, close_ts):
        """Close the current block: settle each market's price and reset block counters."""
        cdef _CMarket m
        if not self._ts <= close_ts <= MAX_TS:
            raise EngineError(f"block close {close_ts} is before the last command {self._ts}")
        out = []
        for m in self._mk:
            if close_ts < m.last_close_o:
                raise EngineError("block close time went backwards")
            carried = m.volume == 0
            volume = i2py(m.volume)
            notional = m.notional_spill + i2py(m.notional)
            if not carried:
                # VWAP rounded half up: exact in integers.
                m.mark = (2 * notional + volume) // (2 * volume)
            # Time weights in milliseconds: integers, and u64-sized for realistic prices.
            m.cum_o = m.cum_o + m.mark * (close_ts // 1_000_000 - m.last_close_o // 1_000_000)
            m.last_close_o = close_ts
            out.append(
                _MarketSummary(
                    m.config.market_id, m.mark, carried, volume, notional, m.trades, m.cum_o
                )
            )
            m.notional = 0
            m.notional_spill = 0
            m.volume = 0
            m.trades = 0
        self._ts = close_ts  # the next block's commands come after its close (the reference)
        return tuple(out)

    def drain_touched(self):
        """Order ids and account ids changed since the last call, sorted."""
        self.epoch += 1
        return vec_drain(&self.t_orders), vec_drain(&self.t_accts)

    def order_view(self, order_id):
        cdef PyObject* p = orders_get(self, order_id)
        if p == NULL:
            return None
        return (<_COrder>p).view()

    def has_live_cl_ord_id(self, account, cl_ord_id):
        """As ``ReferenceEngine.has_live_cl_ord_id``."""
        cdef _CAccount a = find_account(self, account)
        if a is None or not cl_in_range(cl_ord_id) or not cl_ord_id:
            return False
        return pb_clmap_find(&self.cls, a.id, cl_key(cl_ord_id)) != NULL

    def account_view(self, account):
        cdef _CAccount a = find_account(self, account)
        cdef int i
        cdef Pos* p
        if a is None:
            return None
        positions = []
        for i in range(self.nm):
            p = &a.pos[i]
            positions.append(_PositionView(
                mkt(self, i).mid_o, i2py(p.position), i2py(p.basis), i2py(p.open_buy),
                i2py(p.open_sell),
            ))
        return _AccountView(
            a.id_o, i2py(a.collateral), a.pkx, a.pky, tuple(positions), a.nonce
        )

    def market_state(self, market):
        cdef int i = find_market(self, market)
        cdef _CMarket m
        if i < 0:
            raise KeyError(market)
        m = mkt(self, i)
        return _MarketStateView(market, m.mark, m.cum_o, m.last_close_o)

    def book(self, market, side):
        """Resting orders of one side in priority order (best first)."""
        cdef int i = find_market(self, market)
        cdef _CMarket m
        cdef _COrder o
        if i < 0:
            raise KeyError(market)
        m = mkt(self, i)
        orders = side_orders(&m.bids if side == Side.BUY else &m.asks)
        return [oview(o) for o in orders]

    def account_ids(self):
        cdef _CAccount a
        return [a.id_o for a in self._accts if a is not None]

    def under_maintenance(self):
        """Accounts with a position whose equity is below their maintenance margin, by id;
        as ``ReferenceEngine.under_maintenance``. O(accounts), in C for all but overflows."""
        cdef _CAccount a
        cdef int i
        out = []
        for a in self._accts:
            if a is None:
                continue
            for i in range(self.nm):
                if a.pos[i].position:
                    if under_maintenance(self, a):
                        out.append(a.id_o)
                    break
        return out

    # --- read-only queries for the block builder's step bound (``proofs.steps``) --------

    def crossing_count(self, market, side, price, cap, qty=0, account=-1):
        """Resting orders a taker of ``side`` with limit ``price`` would cross in ``market``,
        counted up to ``cap`` (>= 0), and with ``qty`` > 0 only until the counted orders not
        of ``account`` hold ``qty``; as ``ReferenceEngine.crossing_count``. O(cap)."""
        cdef int i
        cdef _CMarket m
        cdef BookSide* opp
        cdef bint is_buy
        cdef int64_t c_price, c_cap, c_qty, c_acct, count = 0, filled = 0
        cdef Py_ssize_t li
        cdef PyObject* p
        if cap < 0 or qty < 0:
            raise ValueError("cap and qty must be >= 0")
        as64(qty, &c_qty)
        as64(account, &c_acct)
        i = find_market(self, market)
        if i < 0:
            return 0
        m = mkt(self, i)
        is_buy = side == Side.BUY
        opp = &m.asks if is_buy else &m.bids
        # clamped by sign when beyond 64 bits: still exact against book prices (< 2**40)
        as64(price, &c_price)
        as64(cap, &c_cap)
        li = opp.n - 1  # the best level is last
        while li >= 0 and count < c_cap and not (c_qty and filled >= c_qty):
            if not (opp.lv[li].price <= c_price if is_buy else opp.lv[li].price >= c_price):
                break  # levels are in priority order: no later one crosses either
            p = opp.lv[li].head
            while p != NULL and count < c_cap and not (c_qty and filled >= c_qty):
                count += 1
                if (<_COrder>p).acct != c_acct:
                    filled += (<_COrder>p).qty
                p = (<_COrder>p).next
            li -= 1
        return count

    def open_orders(self, account, market):
        """Resting orders of ``account`` in ``market`` (every market for ``ALL_MARKETS``);
        as ``ReferenceEngine.open_orders``."""
        cdef _CAccount a = find_account(self, account)
        cdef int i
        cdef int64_t mid
        cdef Py_ssize_t count = 0
        cdef PyObject* p
        if a is None:
            return 0
        if as64(market, &mid) and mid == 0:  # ALL_MARKETS, read as do_mass_cancel does
            return a.norders
        i = find_market(self, market)
        if i < 0:
            return 0
        p = a.ohead
        while p != NULL:
            if (<_COrder>p).midx == i:
                count += 1
            p = (<_COrder>p).anext
        return count

    def snapshot(self):
        cdef _CMarket m
        cdef _COrder o
        orders = []
        for m in self._mk:
            orders.extend([oview(o) for o in side_orders(&m.bids)])
            orders.extend([oview(o) for o in side_orders(&m.asks)])
        return EngineSnapshot(
            self._configs,
            tuple([self.market_state(m.mid_o) for m in self._mk]),
            tuple([self.account_view(aid) for aid in self.account_ids()]),
            tuple(orders),
            self._seq,
            self._ts,
        )

    @classmethod
    def from_snapshot(cls, snap, **limits):
        cdef CEngine eng = cls(snap.markets, **limits)
        cdef _CMarket m
        cdef _CAccount a
        cdef _COrder o
        cdef int i
        cdef int64_t aid
        for ms in snap.market_states:
            i = find_market(eng, ms.market)
            if i < 0:
                raise KeyError(ms.market)
            m = mkt(eng, i)
            m.mark = ms.mark
            m.cum_o = int(ms.cum_price_time)
            m.last_close_o = ms.last_close_ts
        for av in snap.accounts:
            if not as64(av.account, &aid) or not 0 <= aid < eng.c_max_accounts:
                raise EngineError(f"snapshot account id {av.account} is out of range")
            add_account(eng, av.account, aid, av.pubkey_x, av.pubkey_y)
            a = acct_by_id(eng, aid)
            a.collateral = py2i(int(av.collateral))
            a.nonce = av.nonce
            for pv in av.positions:
                i = find_market(eng, pv.market)
                if i < 0:
                    raise KeyError(pv.market)
                # open_buy/open_sell are rebuilt by resting the orders below
                a.pos[i].position = py2i(pv.position)
                a.pos[i].basis = py2i(int(pv.basis))
        for ov in snap.orders:
            i = find_market(eng, ov.market)
            if i < 0:
                raise KeyError(ov.market)
            a = find_account(eng, ov.account)
            if a is None:
                raise KeyError(ov.account)
            o = _COrder.__new__(_COrder)
            o.oid = ov.order_id
            o.acct = a.id
            o.midx = i
            o.side = ov.side
            o.price = ov.price
            o.qty = ov.qty
            o.priority = ov.priority
            o.oid_o = ov.order_id
            o.acct_o = ov.account
            o.market_o = ov.market
            o.price_o = ov.price
            o.cl_o = ov.cl_ord_id
            rest_order(eng, o)
        eng._seq = snap.last_seq
        eng._ts = snap.last_ts
        for av in snap.accounts:
            if eng.account_view(av.account) != av:
                raise EngineError(f"snapshot is inconsistent for account {av.account}")
        eng.t_orders.n = 0
        eng.t_accts.n = 0
        eng.epoch += 1
        return eng

    # --- invariants -------------------------------------------------------------------

    def _check(self):
        """Assert every invariant (O(state)); dumps the offending item on failure."""
        cdef _CMarket m
        cdef _CAccount a
        cdef _COrder o, prev_o
        cdef BookSide* s
        cdef Py_ssize_t li
        cdef int i, k
        cdef Level* lv
        cdef PyObject* p
        cdef size_t j
        cdef pb_clmap_entry* ce
        seen = set()
        orders = orders_dict(self)
        cl_index = {}  # account id -> {client order id: live orders carrying it}
        for j in range(pb_clmap_capacity(&self.cls)):
            ce = pb_clmap_slot(&self.cls, j)
            if ce.cl:
                assert ce.cl not in cl_index.setdefault(ce.acct, {}), ("cl twice", ce.acct, ce.cl)
                assert ce.n >= 1 and (ce.n == 1 or not self.c_unique_cl), ("cl count", ce.n)
                cl_index[ce.acct][ce.cl] = ce.n
        assert sum(len(d) for d in cl_index.values()) == self.cls.n, "client order id map size"
        for i in range(self.nm):
            m = mkt(self, i)
            assert self.mids[i] == m.mid, ("market index", i)
            for k in range(2):
                s = &m.bids if k == 0 else &m.asks
                assert bool(s.is_bid) == (k == 0)
                prev = None
                count = 0
                for li in range(s.n):
                    lv = s.lv[li]
                    assert lv.head != NULL and lv.tail != NULL, ("empty level", m.mid, lv.price)
                    if li:
                        assert side_key(s, s.lv[li - 1].price) < side_key(s, lv.price), (
                            "levels out of order", m.mid, lv.price
                        )
                    assert (<_COrder>lv.head).prev == NULL and (<_COrder>lv.tail).next == NULL
                for o in side_orders(s):
                    assert o.midx == i and o.qty > 0, oview(o)
                    count += 1
                    assert (o.side == BUY) == bool(s.is_bid), oview(o)
                    assert o.level != NULL and o.level.price == o.price, oview(o)
                    assert orders.get(o.oid_o) is o, oview(o)
                    assert o.oid_o == o.oid and o.price_o == o.price, oview(o)
                    if o.next != NULL:
                        assert (<_COrder>o.next).prev == <PyObject*>o, oview(o)
                    key = (-side_key(s, o.price), o.priority)  # best first
                    assert prev is None or prev < key, (prev, oview(o))
                    prev = key
                    seen.add(o.oid)
                assert count == s.count, ("side count", m.mid, k, count, s.count)
            bb, ba = side_best(&m.bids), side_best(&m.asks)
            assert bb is None or ba is None or bb.price < ba.price, ("crossed", m.mid)
        assert seen == set(orders), "order index out of sync with books"
        net = [0] * self.nm
        for a in self._accts:
            if a is None:
                continue
            ob = [0] * self.nm
            os_ = [0] * self.nm
            live = set()
            for o in orders.values():
                if o.acct == a.id:
                    live.add(o.oid)
                    if o.side == BUY:
                        ob[o.midx] += o.qty
                    else:
                        os_[o.midx] += o.qty
            for i in range(self.nm):
                pos = i2py(a.pos[i].position)
                net[i] += pos
                got = (i2py(a.pos[i].open_buy), i2py(a.pos[i].open_sell))
                assert got == (ob[i], os_[i]), (a.id, i, got, ob[i], os_[i])
                assert pos != 0 or a.pos[i].basis == 0, (a.id, i, i2py(a.pos[i].basis))
            linked = set()
            p = a.ohead
            while p != NULL:
                o = <_COrder>p
                assert o.acct == a.id, oview(o)
                if o.anext != NULL:
                    assert (<_COrder>o.anext).aprev == p, oview(o)
                linked.add(o.oid)
                p = o.anext
            assert linked == live and len(live) == a.norders, (a.id, linked, live)
            cl_ord_ids = cl_index.get(a.id, {})
            counts = {}
            for x in orders.values():
                if (<_COrder>x).acct == a.id and (<_COrder>x).cl_o:
                    counts[(<_COrder>x).cl_o] = counts.get((<_COrder>x).cl_o, 0) + 1
            assert cl_ord_ids == counts, (a.id, cl_ord_ids, counts)
            # the nonce only rises, and every live client id was a nonce when it was accepted
            assert 0 <= a.nonce <= MAX_CL_ORD_ID, (a.id, a.nonce)
            stale_ids = [cl for cl in cl_ord_ids if cl > a.nonce] if self.c_signed else []
            assert not stale_ids, (a.id, a.nonce, stale_ids)
        for i in range(self.nm):
            assert net[i] == 0, ("positions do not net to zero", self.mids[i], net[i])
