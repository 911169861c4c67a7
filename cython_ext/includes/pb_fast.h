/* Hot-path helpers for the Cython matching engine (matching._core).
 *
 * - pb_long_small: read an int with |v| < 2**63 without a call, from the digits of a
 *   CPython 3.11 int (any int subclass, e.g. an IntEnum member or a bool); other values,
 *   other objects and other CPython versions report "not read" and the caller uses the
 *   exact C-API path.
 * - pb_int_subtype: ``int.__new__(tp, v)`` (what ``super().__new__(cls, v)`` does in an int
 *   subclass's __new__), without the Python-level __new__ of ``tp``.
 * - pb_noargs_method, pb_call_noargs: call a METH_NOARGS method's C function directly.
 * - pb_slot_set: store a new reference in an object slot, releasing the old one.
 * - pb_prefetch, pb_prefetch2: cache prefetch hints for one or two cache lines.
 */
#ifndef PB_FAST_H
#define PB_FAST_H

#include <Python.h>

static inline int pb_long_small(PyObject *o, long long *out) {
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 && PYLONG_BITS_IN_DIGIT == 30
    if (PyLong_Check(o)) {
        const digit *d = ((PyLongObject *)o)->ob_digit;
        switch (Py_SIZE(o)) {
        case 0:
            *out = 0;
            return 1;
        case 1:
            *out = (long long)d[0];
            return 1;
        case -1:
            *out = -(long long)d[0];
            return 1;
        case 2:
            *out = (long long)d[0] | ((long long)d[1] << 30);
            return 1;
        case -2:
            *out = -((long long)d[0] | ((long long)d[1] << 30));
            return 1;
        case 3:
        case -3:
            if (d[2] >= 8) return 0; /* |v| >= 2**63 */
            *out = (long long)d[0] | ((long long)d[1] << 30) | ((long long)d[2] << 60);
            if (Py_SIZE(o) < 0) *out = -*out;
            return 1;
        default:
            return 0;
        }
    }
#else
    (void)o;
    (void)out;
/* Prefetch hints (no effect on results): the batch loop asks for the next commands' memory
 * a few iterations ahead, since a pre-built command list is usually cold in the cache. */
static inline void pb_prefetch2(const void *p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
    __builtin_prefetch((const char *)p + 64);
#else
    (void)p;
#endif
}

static inline void pb_prefetch(const void *p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

#endif
    return 0;
}

static PyObject *pb_int_subtype(PyObject *tp, PyObject *v) {
    PyObject *args, *r;
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    if (PyLong_CheckExact(v)) {
        /* what long_subtype_new does for an exact int: copy the size and the digits */
        Py_ssize_t size = Py_SIZE(v), n = size < 0 ? -size : size, i;
        PyLongObject *out;
        if (n == 0) n = 1;
        out = (PyLongObject *)((PyTypeObject *)tp)->tp_alloc((PyTypeObject *)tp, n);
        if (out == NULL) return NULL;
        Py_SET_SIZE(out, size);
        for (i = 0; i < n; i++) out->ob_digit[i] = ((PyLongObject *)v)->ob_digit[i];
        return (PyObject *)out;
    }
#endif
    args = PyTuple_Pack(1, v);
    if (args == NULL) return NULL;
    r = PyLong_Type.tp_new((PyTypeObject *)tp, args, NULL);
    Py_DECREF(args);
    return r;
}

/* The C function of a METH_NOARGS method descriptor (e.g. a type's ``__copy__``), or NULL. */
typedef PyObject *(*pb_noargs_fn)(PyObject *, PyObject *);

static pb_noargs_fn pb_noargs_method(PyObject *descr) {
    PyMethodDef *d;
    if (Py_TYPE(descr) != &PyMethodDescr_Type) return NULL;
    d = ((PyMethodDescrObject *)descr)->d_method;
    if ((d->ml_flags & ~METH_COEXIST) != METH_NOARGS) return NULL;
    return (pb_noargs_fn)(void (*)(void))d->ml_meth;
}

static inline PyObject *pb_call_noargs(pb_noargs_fn fn, PyObject *self) { return fn(self, NULL); }

static inline void pb_slot_set(PyObject *obj, Py_ssize_t offset, PyObject *value) {
    PyObject **slot = (PyObject **)((char *)obj + offset);
    PyObject *old = *slot;
    Py_INCREF(value);
    *slot = value;
    Py_XDECREF(old);
}

/* Prefetch hints (no effect on results): the batch loop asks for the next commands' memory
 * a few iterations ahead, since a pre-built command list is usually cold in the cache. */
static inline void pb_prefetch2(const void *p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
    __builtin_prefetch((const char *)p + 64);
#else
    (void)p;
#endif
}

static inline void pb_prefetch(const void *p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

#endif
