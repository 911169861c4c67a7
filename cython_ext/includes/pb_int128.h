/* 128-bit integer helpers for the Cython matching engine (matching._core).
 *
 * Every helper that can overflow returns non-zero on overflow instead of wrapping, so the
 * engine can fall back to exact Python-int arithmetic. Conversions to and from Python ints
 * are exact for the whole signed 128-bit range.
 */
#ifndef PB_INT128_H
#define PB_INT128_H

#include <Python.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

typedef __int128 pb_i128;

static inline int pb_add(pb_i128 a, pb_i128 b, pb_i128 *r) { return __builtin_add_overflow(a, b, r); }
static inline int pb_sub(pb_i128 a, pb_i128 b, pb_i128 *r) { return __builtin_sub_overflow(a, b, r); }
static inline int pb_mul(pb_i128 a, pb_i128 b, pb_i128 *r) { return __builtin_mul_overflow(a, b, r); }
static inline pb_i128 pb_abs(pb_i128 a) { return a < 0 ? -a : a; }
/* a * b for 64-bit operands: always exact in 128 bits. */
static inline pb_i128 pb_mul64(int64_t a, int64_t b) { return (pb_i128)a * (pb_i128)b; }

static PyObject *pb_i128_to_py(pb_i128 v) {
    if (v >= (pb_i128)LLONG_MIN && v <= (pb_i128)LLONG_MAX) {
        return PyLong_FromLongLong((long long)v);
    }
    return _PyLong_FromByteArray((const unsigned char *)&v, sizeof(v), PY_LITTLE_ENDIAN, 1);
}

/* Exact conversion; -1 with OverflowError when |o| does not fit in a signed 128-bit int. */
static int pb_py_to_i128(PyObject *o, pb_i128 *out) {
    int overflow = 0;
    long long small = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (small == -1 && PyErr_Occurred()) return -1;
    if (!overflow) {
        *out = (pb_i128)small;
        return 0;
    }
    PyObject *idx = PyNumber_Index(o);
    if (idx == NULL) return -1;
    pb_i128 v = 0;
#if PY_VERSION_HEX >= 0x030D0000
    int rc = _PyLong_AsByteArray((PyLongObject *)idx, (unsigned char *)&v, sizeof(v),
                                 PY_LITTLE_ENDIAN, 1, 1);
#else
    int rc = _PyLong_AsByteArray((PyLongObject *)idx, (unsigned char *)&v, sizeof(v),
                                 PY_LITTLE_ENDIAN, 1);
#endif
    Py_DECREF(idx);
    if (rc < 0) return -1;
    *out = v;
    return 0;
}

static int pb_cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Read an object slot (a msgspec Struct field stored like __slots__) without a lookup. */
static inline PyObject *pb_slot(PyObject *obj, Py_ssize_t offset) {
    return *(PyObject **)((char *)obj + offset);
}

#endif
