/* Integer-keyed hash maps for the Cython matching engine (matching._core).
 *
 * pb_idmap: int64 -> object.
 *
 * The engine's order index: order id -> resting order. A Python dict keyed by the id objects
 * compares the stored key object on every lookup by another (equal) int object, and those
 * objects are cold; here keys are plain integers. Open addressing with linear probing,
 * Fibonacci hashing, deletion by backward shift (no tombstones), load factor <= 1/2. The map
 * owns one reference to each value.
 */
#ifndef PB_IDMAP_H
#define PB_IDMAP_H

#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    int64_t key;
    PyObject *val; /* NULL: empty slot */
} pb_idmap_entry;

typedef struct {
    pb_idmap_entry *t;
    size_t mask;  /* capacity - 1 (capacity is a power of two); 0 when unallocated */
    int shift;    /* 64 - log2(capacity) */
    Py_ssize_t n; /* live entries */
} pb_idmap;

static inline size_t pb_idmap_home(const pb_idmap *m, int64_t key) {
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> m->shift);
}

/* Borrowed value for key, or NULL. */
static inline PyObject *pb_idmap_get(const pb_idmap *m, int64_t key) {
    size_t i;
    if (m->t == NULL) return NULL;
    i = pb_idmap_home(m, key);
    for (;;) {
        PyObject *v = m->t[i].val;
        if (v == NULL) return NULL;
        if (m->t[i].key == key) return v;
        i = (i + 1) & m->mask;
    }
}

static int pb_idmap_grow(pb_idmap *m) {
    size_t cap = m->t ? (m->mask + 1) * 2 : 1024, i, j;
    int bits = 0;
    pb_idmap_entry *old = m->t, *t;
    size_t oldcap = m->t ? m->mask + 1 : 0;
    while (((size_t)1 << bits) < cap) bits++;
    t = (pb_idmap_entry *)calloc(cap, sizeof(pb_idmap_entry));
    if (t == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    m->t = t;
    m->mask = cap - 1;
    m->shift = 64 - bits;
    for (i = 0; i < oldcap; i++) {
        if (old[i].val == NULL) continue;
        j = pb_idmap_home(m, old[i].key);
        while (t[j].val != NULL) j = (j + 1) & m->mask;
        t[j] = old[i];
    }
    free(old);
    return 0;
}

/* Insert or replace (the map takes a new reference to val); -1 on memory error. */
static int pb_idmap_set(pb_idmap *m, int64_t key, PyObject *val) {
    size_t i;
    PyObject *old;
    if (m->t == NULL || (size_t)(m->n + 1) * 2 > m->mask + 1) {
        if (pb_idmap_grow(m) < 0) return -1;
    }
    i = pb_idmap_home(m, key);
    while (m->t[i].val != NULL) {
        if (m->t[i].key == key) {
            old = m->t[i].val;
            Py_INCREF(val);
            m->t[i].val = val;
            Py_DECREF(old);
            return 0;
        }
        i = (i + 1) & m->mask;
    }
    Py_INCREF(val);
    m->t[i].key = key;
    m->t[i].val = val;
    m->n++;
    return 0;
}

/* Remove key; returns the value's reference (the caller releases it), or NULL if absent. */
static PyObject *pb_idmap_pop(pb_idmap *m, int64_t key) {
    size_t i, j, k;
    PyObject *v;
    if (m->t == NULL) return NULL;
    i = pb_idmap_home(m, key);
    for (;;) {
        v = m->t[i].val;
        if (v == NULL) return NULL;
        if (m->t[i].key == key) break;
        i = (i + 1) & m->mask;
    }
    j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        if (m->t[j].val == NULL) break;
        k = pb_idmap_home(m, m->t[j].key);
        /* move the entry back to the hole unless its home lies cyclically in (i, j] */
        if (((j - k) & m->mask) >= ((j - i) & m->mask)) {
            m->t[i] = m->t[j];
            i = j;
        }
    }
    m->t[i].val = NULL;
    m->n--;
    return v;
}

/* Iteration: the value in slot i (borrowed; NULL if empty) for i in [0, capacity). */
static inline size_t pb_idmap_capacity(const pb_idmap *m) { return m->t ? m->mask + 1 : 0; }
static inline PyObject *pb_idmap_slot(const pb_idmap *m, size_t i) { return m->t[i].val; }

static void pb_idmap_clear(pb_idmap *m) {
    size_t i, cap = pb_idmap_capacity(m);
    pb_idmap_entry *t = m->t;
    m->t = NULL;
    m->mask = 0;
    m->shift = 64;
    m->n = 0;
    for (i = 0; i < cap; i++) Py_XDECREF(t[i].val);
    free(t);
}

/* (account, client order id) -> n, the number of live orders of the account carrying that
 * id (1 while the engine keeps ids unique): the engine's client-order-id index. Client order
 * ids are in [1, 2**64) (0 means "none" and is never stored), so cl == 0 marks an empty
 * slot. Same scheme as pb_idmap. */
typedef struct {
    uint64_t cl;
    int64_t acct;
    int64_t n;
} pb_clmap_entry;

typedef struct {
    pb_clmap_entry *t;
    size_t mask;
    int shift;
    Py_ssize_t n;
} pb_clmap;

static inline size_t pb_clmap_home(const pb_clmap *m, int64_t acct, uint64_t cl) {
    uint64_t h = (cl ^ ((uint64_t)acct * 0xC2B2AE3D27D4EB4Full)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> m->shift);
}

/* The entry for (acct, cl), or NULL. */
static inline pb_clmap_entry *pb_clmap_find(const pb_clmap *m, int64_t acct, uint64_t cl) {
    size_t i;
    if (m->t == NULL) return NULL;
    i = pb_clmap_home(m, acct, cl);
    for (;;) {
        pb_clmap_entry *e = &m->t[i];
        if (e->cl == 0) return NULL;
        if (e->cl == cl && e->acct == acct) return e;
        i = (i + 1) & m->mask;
    }
}

static int pb_clmap_grow(pb_clmap *m) {
    size_t cap = m->t ? (m->mask + 1) * 2 : 1024, i, j;
    int bits = 0;
    pb_clmap_entry *old = m->t, *t;
    size_t oldcap = m->t ? m->mask + 1 : 0;
    while (((size_t)1 << bits) < cap) bits++;
    t = (pb_clmap_entry *)calloc(cap, sizeof(pb_clmap_entry));
    if (t == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    m->t = t;
    m->mask = cap - 1;
    m->shift = 64 - bits;
    for (i = 0; i < oldcap; i++) {
        if (old[i].cl == 0) continue;
        j = pb_clmap_home(m, old[i].acct, old[i].cl);
        while (t[j].cl != 0) j = (j + 1) & m->mask;
        t[j] = old[i];
    }
    free(old);
    return 0;
}

/* Insert or replace; -1 on memory error. cl must not be 0. */
static int pb_clmap_set(pb_clmap *m, int64_t acct, uint64_t cl, int64_t n) {
    size_t i;
    if (m->t == NULL || (size_t)(m->n + 1) * 2 > m->mask + 1) {
        if (pb_clmap_grow(m) < 0) return -1;
    }
    i = pb_clmap_home(m, acct, cl);
    while (m->t[i].cl != 0) {
        if (m->t[i].cl == cl && m->t[i].acct == acct) {
            m->t[i].n = n;
            return 0;
        }
        i = (i + 1) & m->mask;
    }
    m->t[i].cl = cl;
    m->t[i].acct = acct;
    m->t[i].n = n;
    m->n++;
    return 0;
}

/* Remove (acct, cl); 1 if it was there, 0 if not. */
static int pb_clmap_del(pb_clmap *m, int64_t acct, uint64_t cl) {
    size_t i, j, k;
    pb_clmap_entry *e = pb_clmap_find(m, acct, cl);
    if (e == NULL) return 0;
    i = (size_t)(e - m->t);
    j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        if (m->t[j].cl == 0) break;
        k = pb_clmap_home(m, m->t[j].acct, m->t[j].cl);
        if (((j - k) & m->mask) >= ((j - i) & m->mask)) {
            m->t[i] = m->t[j];
            i = j;
        }
    }
    m->t[i].cl = 0;
    m->n--;
    return 1;
}

static inline size_t pb_clmap_capacity(const pb_clmap *m) { return m->t ? m->mask + 1 : 0; }
static inline pb_clmap_entry *pb_clmap_slot(const pb_clmap *m, size_t i) { return &m->t[i]; }

static void pb_clmap_free(pb_clmap *m) {
    free(m->t);
    m->t = NULL;
    m->mask = 0;
    m->shift = 64;
    m->n = 0;
}

#endif
