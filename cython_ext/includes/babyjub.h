/* Baby Jubjub, circomlib EdDSA-Poseidon verification and point decompression for
 * proofs._poseidon.
 *
 * Why here: verifying an order signature in pure Python (proofs.eddsa) costs about 2 ms, and
 * the venue verifies every signed order twice (gateway and node). The curve's base field is
 * the BN254 scalar field p, exactly the field bn254.h implements, so the curve arithmetic and
 * the Poseidon(5) of the challenge reuse its Montgomery product and permutation.
 *
 * This computes the same verdict as proofs.eddsa.verify_poseidon for inputs it has already
 * screened (message, key and R8 coordinates and S are ints in [0, p)), with the same checks in
 * the same order: A on the curve, x(8A) != 0, R8 on the curve, then
 * S * Base8 == R8 + h * (8A) with h = Poseidon(R8.x, R8.y, A.x, A.y, msg).
 *
 * Curve: A x^2 + y^2 = 1 + D x^2 y^2, A = 168700, D = 168696 (A square, D non-square, so the
 * addition law below is complete: no exceptional inputs, and Z never becomes 0 for points on
 * the curve). Points are extended twisted Edwards coordinates (X:Y:Z:T), x = X/Z, y = Y/Z,
 * xy = T/Z, each coordinate in Montgomery form and lazily reduced in [0, 2p) like bn254.h.
 * Two points are equal iff X1 Z2 == X2 Z1 and Y1 Z2 == Y2 Z1 (no inversion needed).
 *
 * Point decompression (pb_bj_unpack_*) is babyjub.unpack_point's x from (y, sign): the square
 * root (Tonelli-Shanks, p - 1 = 2^28 q; one exponentiation plus the loop, some 600 field
 * products) takes about 10 us here against about 200 us for the Python big-integer version,
 * which made decoding a signature cost more than verifying it.
 *
 * Nothing here is constant-time in the scalars (window lookups and skipped zero nibbles
 * depend on them): verification handles only public data.
 */
#ifndef PB_BABYJUB_H
#define PB_BABYJUB_H

#include "bn254.h"

typedef struct {
    uint64_t x[4], y[4], z[4], t[4];
} pb_bj_point;

/* Curve constants in Montgomery form and the fixed-base table, filled by pb_bj_init. */
static uint64_t PB_BJ_A[4], PB_BJ_D[4], PB_BJ_ONE[4];
/* PB_BJ_BASE8_TABLE[i][j] = j * 16^i * Base8, for the 64 nibbles of a 256-bit scalar. */
static pb_bj_point PB_BJ_BASE8_TABLE[64][16];
static int pb_bj_ready = 0;

/* Base8 (circomlib BASE8, generator of the prime-order subgroup), plain little-endian limbs:
 * x = 5299619240641551281634865583518297030282874472190772894086521144482721001553,
 * y = 16950150798460657717958625567821834550301663161624707787222815936182638968203. */
static const uint64_t PB_BJ_BASE8_X[4] = {0x2893f3f6bb957051ULL, 0x2ab8d8010534e0b6ULL,
                                          0x4eacb2e09d6277c1ULL, 0x0bb77a6ad63e739bULL};
static const uint64_t PB_BJ_BASE8_Y[4] = {0x4b3c257a872d7d8bULL, 0xfce0051fb9e13377ULL,
                                          0x25572e1cd16bf9edULL, 0x25797203f7a0b249ULL};

/* ---- field helpers on top of bn254.h ------------------------------------------------------ */

/* r = a - b, lazily reduced: a, b < 2p gives r < 2p. 2p - b is in (0, 2p], so a + (2p - b)
 * < 4p < 2^256 and pb_fe_add's single conditional subtraction of 2p suffices. */
PB_INLINE void pb_fe_sub(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
    uint64_t nb[4];
    unsigned char borrow = _subborrow_u64(0, PB_BN254_P2[0], b[0], (pb_ull *)&nb[0]);
    borrow = _subborrow_u64(borrow, PB_BN254_P2[1], b[1], (pb_ull *)&nb[1]);
    borrow = _subborrow_u64(borrow, PB_BN254_P2[2], b[2], (pb_ull *)&nb[2]);
    _subborrow_u64(borrow, PB_BN254_P2[3], b[3], (pb_ull *)&nb[3]); /* no borrow: b < 2p */
    pb_fe_add(r, a, nb);
}

/* 1 iff a == b as field elements (both lazily reduced Montgomery values in [0, 2p)). */
PB_INLINE int pb_fe_eq(const uint64_t a[4], const uint64_t b[4]) {
    uint64_t ca[4], cb[4];
    pb_sub_if_ge(ca, a, PB_BN254_P);
    pb_sub_if_ge(cb, b, PB_BN254_P);
    return memcmp(ca, cb, sizeof(ca)) == 0;
}

/* 1 iff a == 0 as a field element (a lazily reduced in [0, 2p)). */
PB_INLINE int pb_fe_is_zero(const uint64_t a[4]) {
    uint64_t c[4];
    pb_sub_if_ge(c, a, PB_BN254_P);
    return (c[0] | c[1] | c[2] | c[3]) == 0;
}

/* ---- curve arithmetic ------------------------------------------------------------------- */

PB_INLINE void pb_bj_identity(pb_bj_point *r) {
    memset(r->x, 0, 32);
    memcpy(r->y, PB_BJ_ONE, 32);
    memcpy(r->z, PB_BJ_ONE, 32);
    memset(r->t, 0, 32);
}

/* r = p + q: Hisil-Wong-Carter-Dawson 2008 "add-2008-hwcd", the formula of babyjub._ext_add
 * (complete here, so it also doubles). r may alias p or q. With with_t = 0, r->t is left
 * stale: only an addition reads T, so a result that is doubled next skips that product. */
PB_INLINE void pb_bj_add_t(pb_bj_point *r, const pb_bj_point *p, const pb_bj_point *q,
                           const int with_t, const int adx) {
    uint64_t a[4], b[4], c[4], d[4], e[4], f[4], g[4], h[4], u[4], v[4];
    pb_fe_mul(a, p->x, q->x, adx);
    pb_fe_mul(b, p->y, q->y, adx);
    pb_fe_mul(c, p->t, q->t, adx);
    pb_fe_mul(c, c, PB_BJ_D, adx);
    pb_fe_mul(d, p->z, q->z, adx);
    pb_fe_add(u, p->x, p->y);
    pb_fe_add(v, q->x, q->y);
    pb_fe_mul(e, u, v, adx);
    pb_fe_sub(e, e, a);
    pb_fe_sub(e, e, b);
    pb_fe_sub(f, d, c);
    pb_fe_add(g, d, c);
    pb_fe_mul(u, a, PB_BJ_A, adx);
    pb_fe_sub(h, b, u);
    pb_fe_mul(r->x, e, f, adx);
    pb_fe_mul(r->y, g, h, adx);
    pb_fe_mul(r->z, f, g, adx);
    if (with_t) pb_fe_mul(r->t, e, h, adx);
}

PB_INLINE void pb_bj_add(pb_bj_point *r, const pb_bj_point *p, const pb_bj_point *q,
                         const int adx) {
    pb_bj_add_t(r, p, q, 1, adx);
}

/* r = 2p: "dbl-2008-hwcd", the formula of babyjub._ext_double (reads no T). r may alias p.
 * with_t = 0 leaves r->t stale, as in pb_bj_add_t. */
PB_INLINE void pb_bj_double_t(pb_bj_point *r, const pb_bj_point *p, const int with_t,
                              const int adx) {
    uint64_t a[4], b[4], c[4], d[4], e[4], f[4], g[4], h[4], u[4];
    pb_fe_mul(a, p->x, p->x, adx);
    pb_fe_mul(b, p->y, p->y, adx);
    pb_fe_mul(c, p->z, p->z, adx);
    pb_fe_add(c, c, c);
    pb_fe_mul(d, a, PB_BJ_A, adx);
    pb_fe_add(u, p->x, p->y);
    pb_fe_mul(e, u, u, adx);
    pb_fe_sub(e, e, a);
    pb_fe_sub(e, e, b);
    pb_fe_add(g, d, b);
    pb_fe_sub(f, g, c);
    pb_fe_sub(h, d, b);
    pb_fe_mul(r->x, e, f, adx);
    pb_fe_mul(r->y, g, h, adx);
    pb_fe_mul(r->z, f, g, adx);
    if (with_t) pb_fe_mul(r->t, e, h, adx);
}

PB_INLINE void pb_bj_double(pb_bj_point *r, const pb_bj_point *p, const int adx) {
    pb_bj_double_t(r, p, 1, adx);
}

/* 1 iff affine (x, y) (Montgomery form) satisfies A x^2 + y^2 == 1 + D x^2 y^2. */
PB_INLINE int pb_bj_on_curve(const uint64_t x[4], const uint64_t y[4], const int adx) {
    uint64_t x2[4], y2[4], lhs[4], rhs[4];
    pb_fe_mul(x2, x, x, adx);
    pb_fe_mul(y2, y, y, adx);
    pb_fe_mul(lhs, x2, PB_BJ_A, adx);
    pb_fe_add(lhs, lhs, y2);
    pb_fe_mul(rhs, x2, y2, adx);
    pb_fe_mul(rhs, rhs, PB_BJ_D, adx);
    pb_fe_add(rhs, rhs, PB_BJ_ONE);
    return pb_fe_eq(lhs, rhs);
}

/* r = (x, y) in extended coordinates (Montgomery inputs). */
PB_INLINE void pb_bj_from_affine(pb_bj_point *r, const uint64_t x[4], const uint64_t y[4],
                                 const int adx) {
    memcpy(r->x, x, 32);
    memcpy(r->y, y, 32);
    memcpy(r->z, PB_BJ_ONE, 32);
    pb_fe_mul(r->t, x, y, adx);
}

/* 1 iff p == q as curve points. */
PB_INLINE int pb_bj_eq(const pb_bj_point *p, const pb_bj_point *q, const int adx) {
    uint64_t l[4], r[4];
    pb_fe_mul(l, p->x, q->z, adx);
    pb_fe_mul(r, q->x, p->z, adx);
    if (!pb_fe_eq(l, r)) return 0;
    pb_fe_mul(l, p->y, q->z, adx);
    pb_fe_mul(r, q->y, p->z, adx);
    return pb_fe_eq(l, r);
}

/* Nibble i (4 bits, i = 0 least significant) of a plain 256-bit scalar. */
PB_INLINE unsigned pb_nibble(const uint64_t k[4], int i) {
    return (unsigned)(k[i >> 4] >> (4 * (i & 15))) & 0xF;
}

/* r = k * p for a plain 256-bit scalar k: 4-bit fixed window, as babyjub.mul (not reduced
 * modulo l, so it is exact for points outside the prime-order subgroup too). */
PB_INLINE void pb_bj_mul(pb_bj_point *r, const pb_bj_point *p, const uint64_t k[4],
                         const int adx) {
    pb_bj_point table[16], acc;
    pb_bj_identity(&table[0]);
    table[1] = *p;
    for (int j = 2; j < 16; j++) pb_bj_add(&table[j], &table[j - 1], p, adx);
    int top = 63;
    while (top >= 0 && pb_nibble(k, top) == 0) top--;
    pb_bj_identity(&acc);
    for (int i = top; i >= 0; i--) {
        unsigned n = pb_nibble(k, i);
        /* T is read only by an addition: by the one after the fourth doubling when n != 0,
         * and by the caller after the last nibble (i == 0). Doublings read no T. */
        if (i != top) {
            for (int d = 0; d < 3; d++) pb_bj_double_t(&acc, &acc, 0, adx);
            pb_bj_double_t(&acc, &acc, n != 0 || i == 0, adx);
        }
        if (n) pb_bj_add_t(&acc, &acc, &table[n], i == 0, adx);
    }
    *r = acc;
}

/* r = k * Base8 for a plain 256-bit scalar k, from the fixed-base table (as babyjub.mul_base8;
 * no reduction modulo l is needed since Base8 has order l). */
PB_INLINE void pb_bj_mul_base8(pb_bj_point *r, const uint64_t k[4], const int adx) {
    pb_bj_identity(r);
    for (int i = 0; i < 64; i++) {
        unsigned n = pb_nibble(k, i);
        if (n) pb_bj_add(r, r, &PB_BJ_BASE8_TABLE[i][n], adx);
    }
}

/* ---- point decompression (babyjub.unpack_point) ----------------------------------------- */

/* Refusals of pb_bj_unpack, in the order proofs.babyjub.unpack_point makes them. */
#define PB_BJ_UNPACK_OK 0
#define PB_BJ_UNPACK_Y_NOT_BELOW_P (-1)   /* "packed y is not below the field modulus" */
#define PB_BJ_UNPACK_NO_POINT (-2)        /* "no point has this y" (A - D y^2 == 0, or no root) */
#define PB_BJ_UNPACK_NON_CANONICAL (-3)   /* "non-canonical encoding: sign bit set with x = 0" */

/* Square-root constants, filled by pb_bj_init from p: p - 1 = 2^28 q with q odd.
 * PB_BJ_SQRT_E = (q - 1) / 2 = (p - 1) >> 29 (plain), PB_BJ_HALF = (p - 1) / 2 (plain; x above it
 * is "negative"), PB_BJ_TS_C = 5^q (Montgomery form; 5 is the least non-residue, so 5^q
 * generates the 2-Sylow subgroup: babyjub._TS_C). */
#define PB_BJ_TS_S 28
static uint64_t PB_BJ_SQRT_E[4], PB_BJ_HALF[4], PB_BJ_TS_C[4];
/* PB_BJ_TS_CPOW[i] = PB_BJ_TS_C^(2^i), i = 0..28 (Montgomery form): the loop's b and c. */
static uint64_t PB_BJ_TS_CPOW[PB_BJ_TS_S + 1][4];

/* r = a >> k for plain 256-bit a and 0 < k < 64. */
static inline void pb_shr(uint64_t r[4], const uint64_t a[4], const int k) {
    for (int i = 0; i < 3; i++) r[i] = (a[i] >> k) | (a[i + 1] << (64 - k));
    r[3] = a[3] >> k;
}

/* 1 iff plain a > plain b. */
static inline int pb_gt(const uint64_t a[4], const uint64_t b[4]) {
    for (int i = 3; i >= 0; i--) {
        if (a[i] != b[i]) return a[i] > b[i];
    }
    return 0;
}

/* r = p - a for plain a in [0, p]. */
static inline void pb_neg_plain(uint64_t r[4], const uint64_t a[4]) {
    unsigned char borrow = _subborrow_u64(0, PB_BN254_P[0], a[0], (pb_ull *)&r[0]);
    borrow = _subborrow_u64(borrow, PB_BN254_P[1], a[1], (pb_ull *)&r[1]);
    borrow = _subborrow_u64(borrow, PB_BN254_P[2], a[2], (pb_ull *)&r[2]);
    _subborrow_u64(borrow, PB_BN254_P[3], a[3], (pb_ull *)&r[3]); /* no borrow: a <= p */
}

/* r = a^(2^n) (Montgomery form). r may alias a. */
PB_INLINE void pb_fe_sqr_n(uint64_t r[4], const uint64_t a[4], int n, const int adx) {
    if (r != a) memcpy(r, a, 32);
    while (n-- > 0) pb_fe_mul(r, r, r, adx);
}

/* r = a^e for a plain 256-bit exponent e (a and r in Montgomery form), 4-bit fixed window.
 * PB_BJ_ONE must be set. r may alias a. */
PB_INLINE void pb_fe_pow(uint64_t r[4], const uint64_t a[4], const uint64_t e[4], const int adx) {
    uint64_t table[16][4], acc[4];
    memcpy(table[0], PB_BJ_ONE, 32);
    memcpy(table[1], a, 32);
    for (int j = 2; j < 16; j++) pb_fe_mul(table[j], table[j - 1], a, adx);
    int top = 63;
    while (top >= 0 && pb_nibble(e, top) == 0) top--;
    memcpy(acc, PB_BJ_ONE, 32);
    for (int i = top; i >= 0; i--) {
        unsigned n = pb_nibble(e, i);
        if (i != top) pb_fe_sqr_n(acc, acc, 4, adx);
        if (n) pb_fe_mul(acc, acc, table[n], adx);
    }
    memcpy(r, acc, 32);
}

/* Fill the square-root constants (part of pb_bj_init, after PB_BJ_ONE). */
static void pb_bj_init_sqrt(const int adx) {
    static const uint64_t five_plain[4] = {5, 0, 0, 0};
    uint64_t pm1[4], q[4], five[4];
    memcpy(pm1, PB_BN254_P, 32);
    pm1[0] -= 1; /* p is odd: no borrow */
    pb_shr(PB_BJ_HALF, pm1, 1);
    pb_shr(PB_BJ_SQRT_E, pm1, PB_BJ_TS_S + 1);
    pb_shr(q, pm1, PB_BJ_TS_S);
    pb_fe_mul(five, five_plain, PB_BN254_R2, adx);
    pb_fe_pow(PB_BJ_TS_C, five, q, adx);
    memcpy(PB_BJ_TS_CPOW[0], PB_BJ_TS_C, 32);
    for (int i = 1; i <= PB_BJ_TS_S; i++) {
        pb_fe_mul(PB_BJ_TS_CPOW[i], PB_BJ_TS_CPOW[i - 1], PB_BJ_TS_CPOW[i - 1], adx);
    }
}

/* r = a square root of u / v (Montgomery form, v != 0), returning 1, or 0 when u / v is a
 * non-residue. The Tonelli-Shanks of babyjub._sqrt on n = u / v, with its start values
 * computed without an inversion (RFC 9380 appendix F.2.1.1, sqrt_ratio): one exponentiation
 * by (q - 1) / 2 of u v^(2^29 - 1) gives tv = u^e v^(-e - 1) with e = (q - 1) / 2 (exponents
 * of v taken mod p - 1 = 2^28 q), hence w = tv v = n^e, r = tv u = n^((q + 1) / 2) and
 * t = w r = n^q, the loop's start. Which of the two roots comes out does not matter: the
 * caller normalises it. u == 0 is the caller's (t would be 0 and the loop never end). */
PB_INLINE int pb_fe_sqrt_ratio(uint64_t r[4], const uint64_t u[4], const uint64_t v[4],
                               const int adx) {
    uint64_t x2[4], x4[4], x8[4], x28[4], tmp[4], tv[4], w[4], t[4], t2[4];
    /* x28 = v^(2^28 - 1) by an addition chain (27 squarings, 6 products). */
    pb_fe_mul(x2, v, v, adx);
    pb_fe_mul(x2, x2, v, adx);                 /* v^3 */
    pb_fe_sqr_n(x4, x2, 2, adx);
    pb_fe_mul(x4, x4, x2, adx);                /* v^(2^4 - 1) */
    pb_fe_sqr_n(x8, x4, 4, adx);
    pb_fe_mul(x8, x8, x4, adx);                /* v^(2^8 - 1) */
    pb_fe_sqr_n(tmp, x8, 8, adx);
    pb_fe_mul(tmp, tmp, x8, adx);              /* v^(2^16 - 1) */
    pb_fe_sqr_n(tmp, tmp, 8, adx);
    pb_fe_mul(tmp, tmp, x8, adx);              /* v^(2^24 - 1) */
    pb_fe_sqr_n(tmp, tmp, 4, adx);
    pb_fe_mul(x28, tmp, x4, adx);              /* v^(2^28 - 1) */
    pb_fe_mul(tmp, x28, x28, adx);
    pb_fe_mul(tmp, tmp, v, adx);               /* v^(2^29 - 1) */
    pb_fe_mul(tmp, tmp, u, adx);
    pb_fe_pow(tv, tmp, PB_BJ_SQRT_E, adx);
    pb_fe_mul(tv, tv, x28, adx);               /* u^e v^(-e - 1) */
    pb_fe_mul(w, tv, v, adx);
    pb_fe_mul(r, tv, u, adx);
    pb_fe_mul(t, w, r, adx);
    /* babyjub._sqrt's loop. Its c is always C^(2^(28 - m)) (C = PB_BJ_TS_C: true at the
     * start, and the new c = b^2 with b = c^(2^(m - i - 1)) = C^(2^(27 - i)) is
     * C^(2^(28 - i)) for the new m = i), so b and c are table entries, not squarings. */
    int m = PB_BJ_TS_S;
    while (!pb_fe_eq(t, PB_BJ_ONE)) {
        /* Least i with t^(2^i) == 1; i == m means t has order 2^m: n is a non-residue. */
        int i = 0;
        memcpy(t2, t, 32);
        while (!pb_fe_eq(t2, PB_BJ_ONE)) {
            pb_fe_mul(t2, t2, t2, adx);
            if (++i == m) return 0;
        }
        m = i;
        pb_fe_mul(t, t, PB_BJ_TS_CPOW[PB_BJ_TS_S - i], adx);
        pb_fe_mul(r, r, PB_BJ_TS_CPOW[PB_BJ_TS_S - 1 - i], adx);
    }
    return 1;
}

/* x (plain, < p) of the point packed as (y, sign): babyjub.unpack_point after its byte checks.
 * y is the plain 255-bit value with the sign bit already removed. Returns PB_BJ_UNPACK_OK or a
 * refusal, with the checks of the Python code in its order: y < p, A - D y^2 != 0, a square
 * root of (1 - y^2) / (A - D y^2) exists, then the root x <= (p - 1) / 2 is taken (p - x when
 * the sign bit is set, refused when x == 0). pb_bj_init must have run. */
PB_INLINE int pb_bj_unpack_impl(uint64_t x_out[4], const uint64_t y_plain[4], const int sign,
                                const int adx) {
    static const uint64_t one_plain[4] = {1, 0, 0, 0};
    uint64_t y[4], y2[4], u[4], v[4], r[4];
    if (!pb_fe_is_canonical(y_plain)) return PB_BJ_UNPACK_Y_NOT_BELOW_P;
    pb_fe_mul(y, y_plain, PB_BN254_R2, adx); /* to Montgomery form */
    pb_fe_mul(y2, y, y, adx);
    pb_fe_mul(v, y2, PB_BJ_D, adx);
    pb_fe_sub(v, PB_BJ_A, v);                /* A - D y^2 */
    if (pb_fe_is_zero(v)) return PB_BJ_UNPACK_NO_POINT; /* cannot happen: A / D non-residue */
    pb_fe_sub(u, PB_BJ_ONE, y2);             /* 1 - y^2 */
    if (pb_fe_is_zero(u)) {
        memset(x_out, 0, 32); /* y = +-1: x = 0 (babyjub._sqrt's n == 0) */
    } else {
        if (!pb_fe_sqrt_ratio(r, u, v, adx)) return PB_BJ_UNPACK_NO_POINT;
        pb_fe_mul(x_out, r, one_plain, adx); /* out of Montgomery form: <= p ... */
        pb_sub_if_ge(x_out, x_out, PB_BN254_P); /* ... then canonical */
    }
    if (pb_gt(x_out, PB_BJ_HALF)) pb_neg_plain(x_out, x_out);
    if (sign) {
        if ((x_out[0] | x_out[1] | x_out[2] | x_out[3]) == 0) return PB_BJ_UNPACK_NON_CANONICAL;
        pb_neg_plain(x_out, x_out);
    }
    return PB_BJ_UNPACK_OK;
}

static int pb_bj_unpack_portable(uint64_t x_out[4], const uint64_t y[4], int sign) {
    return pb_bj_unpack_impl(x_out, y, sign, 0);
}

static int pb_bj_unpack_adx(uint64_t x_out[4], const uint64_t y[4], int sign) {
    return pb_bj_unpack_impl(x_out, y, sign, 1);
}

/* Fill the constants and the Base8 table (about 1,200 point operations, once per process).
 * Not thread-safe: the caller runs it once, holding the GIL, before any verification. */
static void pb_bj_init(const int adx) {
    static const uint64_t a_plain[4] = {168700, 0, 0, 0};
    static const uint64_t d_plain[4] = {168696, 0, 0, 0};
    static const uint64_t one_plain[4] = {1, 0, 0, 0};
    uint64_t bx[4], by[4];
    pb_bj_point step;
    if (pb_bj_ready) return;
    pb_fe_mul(PB_BJ_A, a_plain, PB_BN254_R2, adx);
    pb_fe_mul(PB_BJ_D, d_plain, PB_BN254_R2, adx);
    pb_fe_mul(PB_BJ_ONE, one_plain, PB_BN254_R2, adx);
    pb_bj_init_sqrt(adx);
    pb_fe_mul(bx, PB_BJ_BASE8_X, PB_BN254_R2, adx);
    pb_fe_mul(by, PB_BJ_BASE8_Y, PB_BN254_R2, adx);
    pb_bj_from_affine(&step, bx, by, adx);
    for (int i = 0; i < 64; i++) {
        pb_bj_identity(&PB_BJ_BASE8_TABLE[i][0]);
        PB_BJ_BASE8_TABLE[i][1] = step;
        for (int j = 2; j < 16; j++) {
            pb_bj_add(&PB_BJ_BASE8_TABLE[i][j], &PB_BJ_BASE8_TABLE[i][j - 1], &step, adx);
        }
        for (int d = 0; d < 4; d++) pb_bj_double(&step, &step, adx);
    }
    pb_bj_ready = 1;
}

/* ---- EdDSA-Poseidon verification ----------------------------------------------------------- */

#define PB_EDDSA_VALID 1
#define PB_EDDSA_INVALID 0
#define PB_EDDSA_KEY_NOT_ON_CURVE (-1)
#define PB_EDDSA_KEY_SMALL_ORDER (-2)
#define PB_EDDSA_R8_NOT_ON_CURVE (-3)

/* in: six plain 4-limb values, each < p: R8.x, R8.y, A.x, A.y, msg (the Poseidon(5) inputs,
 * in that order) then S. Returns one of the PB_EDDSA_* codes; pb_bj_init must have run. */
PB_INLINE int pb_eddsa_poseidon_verify_impl(const uint64_t in[24], const int adx) {
    uint64_t ax[4], ay[4], rx[4], ry[4], h[4];
    pb_bj_point a8, r8, right, left;
    const uint64_t *s = in + 20;

    pb_fe_mul(ax, in + 8, PB_BN254_R2, adx); /* to Montgomery form */
    pb_fe_mul(ay, in + 12, PB_BN254_R2, adx);
    if (!pb_bj_on_curve(ax, ay, adx)) return PB_EDDSA_KEY_NOT_ON_CURVE;
    pb_bj_from_affine(&a8, ax, ay, adx);
    for (int d = 0; d < 3; d++) pb_bj_double(&a8, &a8, adx);
    /* x(8A) = X / Z with Z != 0, so x(8A) == 0 iff X == 0. */
    if (pb_fe_is_zero(a8.x)) return PB_EDDSA_KEY_SMALL_ORDER;

    pb_fe_mul(rx, in, PB_BN254_R2, adx);
    pb_fe_mul(ry, in + 4, PB_BN254_R2, adx);
    if (!pb_bj_on_curve(rx, ry, adx)) return PB_EDDSA_R8_NOT_ON_CURVE;
    pb_bj_from_affine(&r8, rx, ry, adx);

    if (adx) {
        pb_poseidon_t6_adx(h, in);
    } else {
        pb_poseidon_t6_portable(h, in);
    }
    pb_bj_mul(&right, &a8, h, adx);
    pb_bj_add(&right, &r8, &right, adx);
    pb_bj_mul_base8(&left, s, adx);
    return pb_bj_eq(&left, &right, adx) ? PB_EDDSA_VALID : PB_EDDSA_INVALID;
}

static int pb_eddsa_poseidon_verify_portable(const uint64_t in[24]) {
    return pb_eddsa_poseidon_verify_impl(in, 0);
}

static int pb_eddsa_poseidon_verify_adx(const uint64_t in[24]) {
    return pb_eddsa_poseidon_verify_impl(in, 1);
}

#endif /* PB_BABYJUB_H */
