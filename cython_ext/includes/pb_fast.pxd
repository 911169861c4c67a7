# C externs of includes/pb_fast.h (hot-path helpers); included by ../_core.pxd.

from cpython.object cimport PyObject


cdef extern from "includes/pb_fast.h":
    bint pb_long_small(object o, long long* out) noexcept
    object pb_int_subtype(object tp, object v)
    void pb_slot_set(object obj, Py_ssize_t offset, object value) noexcept
    ctypedef void* pb_noargs_fn
    pb_noargs_fn pb_noargs_method(object descr) noexcept
    object pb_call_noargs(pb_noargs_fn fn, object self)
    void pb_prefetch(const void* p) noexcept nogil
    void pb_prefetch2(const void* p) noexcept nogil
