# C-level declarations of the Cython matching engine, included by _core.pyx.
#
# Cython looks up a module's own .pxd by its full name (matching._core: a file named
# "matching._core.pxd" next to the .pyx), so this file is textually included instead and
# the cdef classes are declared with their implementation in _core.pyx.

from cpython.object cimport PyObject
from libc.stdint cimport int64_t, uint64_t


cdef extern from "includes/pb_int128.h":
    # Cython only needs an integer type of the right signedness here; the C code uses the
    # real 128-bit type. All arithmetic that can leave 64 bits goes through these helpers.
    ctypedef long long pb_i128
    bint pb_add(pb_i128 a, pb_i128 b, pb_i128* r) nogil
    bint pb_sub(pb_i128 a, pb_i128 b, pb_i128* r) nogil
    bint pb_mul(pb_i128 a, pb_i128 b, pb_i128* r) nogil
    pb_i128 pb_abs(pb_i128 a) nogil
    pb_i128 pb_mul64(int64_t a, int64_t b) nogil
    object pb_i128_to_py(pb_i128 v)
    int pb_py_to_i128(object o, pb_i128* out) except -1
    int pb_cmp_i64(const void* a, const void* b) noexcept nogil
    PyObject* pb_slot(PyObject* obj, Py_ssize_t offset) nogil


include "includes/pb_fast.pxd"
include "includes/pb_idmap.pxd"


cdef struct Level:
    # one price level: FIFO of _COrder (borrowed pointers; CEngine.orders owns them)
    int64_t price
    PyObject* head
    PyObject* tail


cdef struct BookSide:
    # levels sorted by key ascending (key = price for bids, -price for asks): best is last
    Level** lv
    Py_ssize_t n
    Py_ssize_t cap
    bint is_bid
    int64_t count  # resting orders (capacity limit)


cdef struct Pos:
    pb_i128 position
    pb_i128 basis
    pb_i128 open_buy
    pb_i128 open_sell


cdef struct IdVec:
    # ids touched since the last drain; deduplicated lazily (sort + unique)
    int64_t* data
    Py_ssize_t n
    Py_ssize_t cap
    Py_ssize_t compact_at
