# C externs of includes/pb_idmap.h (integer-keyed hash maps); included by ../_core.pxd.

from cpython.object cimport PyObject
from libc.stdint cimport int64_t, uint64_t


cdef extern from "includes/pb_idmap.h":
    ctypedef struct pb_idmap:
        Py_ssize_t n
    PyObject* pb_idmap_get(const pb_idmap* m, int64_t key) noexcept nogil
    int pb_idmap_set(pb_idmap* m, int64_t key, PyObject* val) except -1
    PyObject* pb_idmap_pop(pb_idmap* m, int64_t key) noexcept
    size_t pb_idmap_capacity(const pb_idmap* m) noexcept nogil
    PyObject* pb_idmap_slot(const pb_idmap* m, size_t i) noexcept nogil
    void pb_idmap_clear(pb_idmap* m) noexcept

    ctypedef struct pb_clmap_entry:
        uint64_t cl
        int64_t acct
        int64_t n
    ctypedef struct pb_clmap:
        Py_ssize_t n
    pb_clmap_entry* pb_clmap_find(const pb_clmap* m, int64_t acct, uint64_t cl) noexcept nogil
    int pb_clmap_set(pb_clmap* m, int64_t acct, uint64_t cl, int64_t n) except -1
    int pb_clmap_del(pb_clmap* m, int64_t acct, uint64_t cl) noexcept nogil
    size_t pb_clmap_capacity(const pb_clmap* m) noexcept nogil
    pb_clmap_entry* pb_clmap_slot(const pb_clmap* m, size_t i) noexcept nogil
    void pb_clmap_free(pb_clmap* m) noexcept nogil
