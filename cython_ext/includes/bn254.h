/* BN254 scalar field arithmetic and circomlib Poseidon(2) for proofs._poseidon.
 *
 * Field: p = 21888242871839275222246405745257275088548364400416034343698204186575808495617
 * (254 bits, so 4p < 2^256). An element is four little-endian 64-bit limbs holding
 * x * 2^256 mod p (Montgomery form, R = 2^256), kept *lazily reduced* in [0, 2p) inside the
 * permutation; only the final output is reduced to [0, p).
 *
 * Bounds (W = 2^64):
 *   - add: a, b < 2p gives a + b < 4p < 2^256 (no carry out); one conditional subtraction of
 *     2p brings it back to [0, 2p).
 *   - Montgomery product (CIOS, one 64-bit word of b per step), a, b < 2p: the running value t
 *     stays < 3p because t' = (t + a * b_i + m p) / W < (3p + 2pW + pW) / W <= 3p, the sum
 *     before the division is < 3p + 3pW < 2^320 (five limbs, nothing dropped), and the result
 *     is (ab + Mp) / R < 4p^2 / R + p < 2p since 4p < R. So no final subtraction is needed.
 *
 * Two implementations of the product compute the same value: a portable one (unsigned
 * __int128 products, _addcarry_u64 carry chains) and one in inline assembly with BMI2 MULX and
 * ADX ADCX/ADOX (two independent carry chains), picked once at run time from CPUID. Each gets
 * its own copy of the permutation (pb_poseidon2_portable / pb_poseidon2_adx) so the product is
 * inlined.
 *
 * Poseidon: t = 3, x^5 S-box, 8 full and 57 partial rounds, state [0, a, b], output lane 0,
 * in the optimised form (constants after the S-box, sparse partial-round matrices) whose
 * constants cython_ext/gen_poseidon_header.py generates from proofs.poseidon_wide.
 *
 * Poseidon(n) for n = 1..5 (pb_poseidon_groups): the same optimised permutation written once
 * for any width T = n + 1 (pb_poseidon_t_impl), instantiated per width with constant T; width 2
 * reuses the hand-written t = 3 code above.
 */
#ifndef PB_BN254_H
#define PB_BN254_H

#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <x86intrin.h>

#include "bn254_poseidon_constants.h"

#if !defined(__SIZEOF_INT128__) || !defined(__x86_64__) || PY_LITTLE_ENDIAN != 1
#error "proofs._poseidon needs x86_64 with unsigned __int128 (gcc or clang)"
#endif

typedef unsigned __int128 pb_u128;
typedef unsigned long long pb_ull; /* the limb type of _addcarry_u64 / _subborrow_u64 */

#define PB_INLINE static inline __attribute__((always_inline))

/* ---- field arithmetic ------------------------------------------------------------------ */

/* r = a - m if a >= m else a, for a < 2^256. Branch-free select. r may alias a. */
PB_INLINE void pb_sub_if_ge(uint64_t r[4], const uint64_t a[4], const uint64_t m[4]) {
    const uint64_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    uint64_t d0, d1, d2, d3;
    unsigned char borrow = _subborrow_u64(0, a0, m[0], (pb_ull *)&d0);
    borrow = _subborrow_u64(borrow, a1, m[1], (pb_ull *)&d1);
    borrow = _subborrow_u64(borrow, a2, m[2], (pb_ull *)&d2);
    borrow = _subborrow_u64(borrow, a3, m[3], (pb_ull *)&d3);
    const uint64_t keep = (uint64_t)0 - borrow; /* all ones when a < m */
    r[0] = (a0 & keep) | (d0 & ~keep);
    r[1] = (a1 & keep) | (d1 & ~keep);
    r[2] = (a2 & keep) | (d2 & ~keep);
    r[3] = (a3 & keep) | (d3 & ~keep);
}

/* r = a + b, lazily reduced: a, b < 2p gives r < 2p. r may alias a or b. */
PB_INLINE void pb_fe_add(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
    uint64_t s[4];
    unsigned char carry = _addcarry_u64(0, a[0], b[0], (pb_ull *)&s[0]);
    carry = _addcarry_u64(carry, a[1], b[1], (pb_ull *)&s[1]);
    carry = _addcarry_u64(carry, a[2], b[2], (pb_ull *)&s[2]);
    _addcarry_u64(carry, a[3], b[3], (pb_ull *)&s[3]); /* no carry out: a + b < 4p < 2^256 */
    pb_sub_if_ge(r, s, PB_BN254_P2);
}

/* w0..w4 = (A0, A1, A2, A3) * B: one row of a schoolbook product (five limbs, exact). */
#define PB_ROW(w0, w1, w2, w3, w4, A0, A1, A2, A3, B)                                   \
    do {                                                                                \
        pb_u128 p0_ = (pb_u128)(A0) * (B), p1_ = (pb_u128)(A1) * (B);                   \
        pb_u128 p2_ = (pb_u128)(A2) * (B), p3_ = (pb_u128)(A3) * (B);                   \
        unsigned char c_;                                                               \
        w0 = (uint64_t)p0_;                                                             \
        c_ = _addcarry_u64(0, (uint64_t)p1_, (uint64_t)(p0_ >> 64), (pb_ull *)&w1);     \
        c_ = _addcarry_u64(c_, (uint64_t)p2_, (uint64_t)(p1_ >> 64), (pb_ull *)&w2);    \
        c_ = _addcarry_u64(c_, (uint64_t)p3_, (uint64_t)(p2_ >> 64), (pb_ull *)&w3);    \
        w4 = (uint64_t)(p3_ >> 64) + c_;                                                \
    } while (0)

/* r = a * b / R mod p, lazily reduced (a, b < 2p gives r < 2p). Portable CIOS. r may alias. */
PB_INLINE void pb_fe_mul_portable(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
    const uint64_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    const uint64_t bs[4] = {b[0], b[1], b[2], b[3]};
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4, w0, w1, w2, w3, w4, m;
    unsigned char c;
    for (int i = 0; i < 4; i++) {
        PB_ROW(w0, w1, w2, w3, w4, a0, a1, a2, a3, bs[i]);
        c = _addcarry_u64(0, t0, w0, (pb_ull *)&t0);
        c = _addcarry_u64(c, t1, w1, (pb_ull *)&t1);
        c = _addcarry_u64(c, t2, w2, (pb_ull *)&t2);
        c = _addcarry_u64(c, t3, w3, (pb_ull *)&t3);
        t4 = w4 + c;
        m = t0 * PB_BN254_PINV;
        PB_ROW(w0, w1, w2, w3, w4, PB_BN254_P[0], PB_BN254_P[1], PB_BN254_P[2], PB_BN254_P[3], m);
        /* The low limb becomes 0 by the choice of m (only its carry is kept): divide by W. */
        c = _addcarry_u64(0, t0, w0, (pb_ull *)&t0);
        c = _addcarry_u64(c, t1, w1, (pb_ull *)&t0);
        c = _addcarry_u64(c, t2, w2, (pb_ull *)&t1);
        c = _addcarry_u64(c, t3, w3, (pb_ull *)&t2);
        _addcarry_u64(c, t4, w4, (pb_ull *)&t3); /* no carry out: the sum is < 2^320 */
    }
    r[0] = t0;
    r[1] = t1;
    r[2] = t2;
    r[3] = t3;
}

/* One CIOS row in ADX assembly: (T0..T4) += (SRC[0..3]) * rdx, with MULX products, ADCX for
 * the low halves and ADOX for the high halves. T4 is 0 on entry. Clobbers rax, flags. */
#define PB_ADX_ROW(SRC, T0, T1, T2, T3, T4)                                                   \
    "xorl %%eax, %%eax\n\t"                                                                 \
    "mulxq 0(" SRC "), %[lo], %[hi]\n\tadcxq %[lo], %[" #T0 "]\n\tadoxq %[hi], %[" #T1 "]\n\t" \
    "mulxq 8(" SRC "), %[lo], %[hi]\n\tadcxq %[lo], %[" #T1 "]\n\tadoxq %[hi], %[" #T2 "]\n\t" \
    "mulxq 16(" SRC "), %[lo], %[hi]\n\tadcxq %[lo], %[" #T2 "]\n\tadoxq %[hi], %[" #T3 "]\n\t" \
    "mulxq 24(" SRC "), %[lo], %[hi]\n\tadcxq %[lo], %[" #T3 "]\n\tadoxq %[hi], %[" #T4 "]\n\t" \
    "adcxq %%rax, %[" #T4 "]\n\t"

/* One CIOS step: add a * b[OFF / 8], then m * p with m = T0 * PINV, which zeroes T0; the
 * caller renames registers so (T1, T2, T3, T4) is the new value and T0 the next zero T4. */
#define PB_ADX_STEP(OFF, T0, T1, T2, T3, T4)                                                  \
    "movq " #OFF "(%[b]), %%rdx\n\t"                                                        \
    PB_ADX_ROW("%[a]", T0, T1, T2, T3, T4)                                                  \
    "movq %[" #T0 "], %%rdx\n\t"                                                            \
    "imulq %[pinv], %%rdx\n\t"                                                              \
    PB_ADX_ROW("%[q]", T0, T1, T2, T3, T4)

/* Same contract as pb_fe_mul_portable; needs BMI2 and ADX (see pb_have_adx). */
PB_INLINE void pb_fe_mul_adx(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
    uint64_t r0, r1, r2, r3, r4, lo, hi;
    __asm__(
        "xorl %k[r0], %k[r0]\n\t"
        "xorl %k[r1], %k[r1]\n\t"
        "xorl %k[r2], %k[r2]\n\t"
        "xorl %k[r3], %k[r3]\n\t"
        "xorl %k[r4], %k[r4]\n\t"
        PB_ADX_STEP(0, r0, r1, r2, r3, r4)
        PB_ADX_STEP(8, r1, r2, r3, r4, r0)
        PB_ADX_STEP(16, r2, r3, r4, r0, r1)
        PB_ADX_STEP(24, r3, r4, r0, r1, r2)
        : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [r4] "=&r"(r4),
          [lo] "=&r"(lo), [hi] "=&r"(hi)
        : [a] "r"(a), [b] "r"(b), [q] "r"(PB_BN254_P), [pinv] "m"(PB_BN254_PINV),
          "m"(*(const uint64_t(*)[4])a), "m"(*(const uint64_t(*)[4])b),
          "m"(*(const uint64_t(*)[4])PB_BN254_P)
        : "rax", "rdx", "cc");
    r[0] = r4;
    r[1] = r0;
    r[2] = r1;
    r[3] = r2;
}

PB_INLINE void pb_fe_mul(uint64_t r[4], const uint64_t a[4], const uint64_t b[4], const int adx) {
    if (adx) {
        pb_fe_mul_adx(r, a, b);
    } else {
        pb_fe_mul_portable(r, a, b);
    }
}

/* 1 iff the plain value a is canonical (a < p). */
static inline int pb_fe_is_canonical(const uint64_t a[4]) {
    for (int i = 3; i >= 0; i--) {
        if (a[i] != PB_BN254_P[i]) return a[i] < PB_BN254_P[i];
    }
    return 0;
}

/* ---- Poseidon(2) -------------------------------------------------------------------------- */

/* x = x^5. */
PB_INLINE void pb_pow5(uint64_t x[4], const int adx) {
    uint64_t x2[4], x4[4];
    pb_fe_mul(x2, x, x, adx);
    pb_fe_mul(x4, x2, x2, adx);
    pb_fe_mul(x, x4, x, adx);
}

/* r = m0 * s0 + m1 * s1 + m2 * s2. Lane 0 is added last: in a partial round s0 has just left
 * the S-box while s1, s2 are ready, so this keeps one addition off the critical path. */
PB_INLINE void pb_dot3(uint64_t r[4], const uint64_t m[3][4], const uint64_t s[3][4],
                       const int adx) {
    uint64_t u[4], v[4];
    pb_fe_mul(u, m[1], s[1], adx);
    pb_fe_mul(v, m[2], s[2], adx);
    pb_fe_add(u, u, v);
    pb_fe_mul(r, m[0], s[0], adx);
    pb_fe_add(r, r, u);
}

/* One full round of the optimised form: S-box on every lane, add c, multiply by m. */
PB_INLINE void pb_full_round(uint64_t s[3][4], const uint64_t c[3][4], const uint64_t m[3][3][4],
                             const int adx) {
    uint64_t out[3][4];
    for (int i = 0; i < 3; i++) {
        pb_pow5(s[i], adx);
        pb_fe_add(s[i], s[i], c[i]);
    }
    for (int i = 0; i < 3; i++) pb_dot3(out[i], m[i], (const uint64_t(*)[4])s, adx);
    memcpy(s, out, sizeof(out));
}

/* out = Poseidon(2)(a, b); a, b (< p) and out (< p) are plain values, not Montgomery form. */
PB_INLINE void pb_poseidon2_impl(uint64_t out[4], const uint64_t a[4], const uint64_t b[4],
                                 const int adx) {
    static const uint64_t one[4] = {1, 0, 0, 0};
    uint64_t s[3][4];
    memcpy(s[0], PB_T3_INITIAL[0], sizeof(s[0]));
    pb_fe_mul(s[1], a, PB_BN254_R2, adx); /* to Montgomery form */
    pb_fe_add(s[1], s[1], PB_T3_INITIAL[1]);
    pb_fe_mul(s[2], b, PB_BN254_R2, adx);
    pb_fe_add(s[2], s[2], PB_T3_INITIAL[2]);

    for (int r = 0; r < 3; r++) pb_full_round(s, PB_T3_FIRST[r], PB_T3_MDS, adx);
    pb_full_round(s, PB_T3_FIRST[3], PB_T3_PRE, adx);

    for (int r = 0; r < PB_T3_PARTIAL_ROUNDS; r++) {
        const uint64_t(*col)[4] = PB_T3_SPARSE_COL[r];
        uint64_t z[4];
        pb_pow5(s[0], adx);
        pb_fe_add(s[0], s[0], PB_T3_PARTIAL[r]);
        pb_dot3(z, PB_T3_SPARSE_ROW[r], (const uint64_t(*)[4])s, adx);
        uint64_t y[4];
        pb_fe_mul(y, col[0], s[0], adx);
        pb_fe_add(s[1], s[1], y);
        pb_fe_mul(y, col[1], s[0], adx);
        pb_fe_add(s[2], s[2], y);
        memcpy(s[0], z, sizeof(z));
    }

    for (int r = 0; r < 3; r++) pb_full_round(s, PB_T3_LAST[r], PB_T3_MDS, adx);
    /* Last round: no constant, and only lane 0 of the output is needed. */
    for (int i = 0; i < 3; i++) pb_pow5(s[i], adx);
    uint64_t y[4];
    pb_dot3(y, PB_T3_MDS[0], (const uint64_t(*)[4])s, adx);
    /* Out of Montgomery form: y * 1 / R < (2p + R p) / R, so at most p; then canonical. */
    pb_fe_mul(out, y, one, adx);
    pb_sub_if_ge(out, out, PB_BN254_P);
}

static void pb_poseidon2_portable(uint64_t out[4], const uint64_t a[4], const uint64_t b[4]) {
    pb_poseidon2_impl(out, a, b, 0);
}

static void pb_poseidon2_adx(uint64_t out[4], const uint64_t a[4], const uint64_t b[4]) {
    pb_poseidon2_impl(out, a, b, 1);
}

/* ---- Poseidon(n), n = 1..5 (state width T = n + 1 = 2..6) --------------------------------- */

/* The same optimised permutation as pb_poseidon2_impl, written once for every width: T is a
 * compile-time constant in each instantiation below (PB_INLINE all the way down), so the loops
 * over lanes unroll as in the hand-written t = 3 version. Constants come flat from the PB_T<T>_*
 * tables of bn254_poseidon_constants.h (same layout for every width). */

/* r = sum_j m[j] * s[j] over T lanes, lane 0 added last (see pb_dot3). */
PB_INLINE void pb_dot_t(uint64_t r[4], const uint64_t *m, const uint64_t s[][4], const int T,
                        const int adx) {
    uint64_t u[4], v[4];
    pb_fe_mul(u, m + 4 * (T - 1), s[T - 1], adx);
    for (int j = T - 2; j >= 1; j--) {
        pb_fe_mul(v, m + 4 * j, s[j], adx);
        pb_fe_add(u, u, v);
    }
    pb_fe_mul(r, m, s[0], adx);
    pb_fe_add(r, r, u);
}

/* One full round: S-box on every lane, add c (T constants), multiply by m (T x T, row-major). */
PB_INLINE void pb_full_round_t(uint64_t s[][4], const uint64_t *c, const uint64_t *m,
                               const int T, const int adx) {
    uint64_t out[PB_POSEIDON_MAX_T][4];
    for (int i = 0; i < T; i++) {
        pb_pow5(s[i], adx);
        pb_fe_add(s[i], s[i], c + 4 * i);
    }
    for (int i = 0; i < T; i++) pb_dot_t(out[i], m + 4 * T * i, (const uint64_t(*)[4])s, T, adx);
    memcpy(s, out, (size_t)T * 32);
}

/* out = Poseidon(T - 1)(in[0..T - 2]); inputs (< p, four limbs each, consecutive) and out
 * (< p) are plain values, not Montgomery form. */
PB_INLINE void pb_poseidon_t_impl(uint64_t out[4], const uint64_t *in, const int T, const int RP,
                                  const uint64_t *initial, const uint64_t *first,
                                  const uint64_t *partial, const uint64_t *last,
                                  const uint64_t *mds, const uint64_t *pre,
                                  const uint64_t *sparse_row, const uint64_t *sparse_col,
                                  const int adx) {
    static const uint64_t one[4] = {1, 0, 0, 0};
    uint64_t s[PB_POSEIDON_MAX_T][4];
    memcpy(s[0], initial, 32);
    for (int i = 1; i < T; i++) {
        pb_fe_mul(s[i], in + 4 * (i - 1), PB_BN254_R2, adx); /* to Montgomery form */
        pb_fe_add(s[i], s[i], initial + 4 * i);
    }

    for (int r = 0; r < 3; r++) pb_full_round_t(s, first + 4 * T * r, mds, T, adx);
    pb_full_round_t(s, first + 4 * T * 3, pre, T, adx);

    for (int r = 0; r < RP; r++) {
        const uint64_t *col = sparse_col + 4 * (T - 1) * r;
        uint64_t z[4], y[4];
        pb_pow5(s[0], adx);
        pb_fe_add(s[0], s[0], partial + 4 * r);
        pb_dot_t(z, sparse_row + 4 * T * r, (const uint64_t(*)[4])s, T, adx);
        for (int i = 1; i < T; i++) {
            pb_fe_mul(y, col + 4 * (i - 1), s[0], adx);
            pb_fe_add(s[i], s[i], y);
        }
        memcpy(s[0], z, sizeof(z));
    }

    for (int r = 0; r < 3; r++) pb_full_round_t(s, last + 4 * T * r, mds, T, adx);
    /* Last round: no constant, and only lane 0 of the output is needed. */
    for (int i = 0; i < T; i++) pb_pow5(s[i], adx);
    uint64_t y[4];
    pb_dot_t(y, mds, (const uint64_t(*)[4])s, T, adx);
    /* Out of Montgomery form, then canonical (as in pb_poseidon2_impl). */
    pb_fe_mul(out, y, one, adx);
    pb_sub_if_ge(out, out, PB_BN254_P);
}

/* pb_poseidon_t<T>_portable / _adx: Poseidon(T - 1) of T - 1 consecutive 4-limb inputs. */
#define PB_DEFINE_POSEIDON_T(T)                                                                \
    static void pb_poseidon_t##T##_portable(uint64_t out[4], const uint64_t *in) {             \
        pb_poseidon_t_impl(out, in, T, PB_T##T##_PARTIAL_ROUNDS, PB_T##T##_INITIAL[0],         \
                           PB_T##T##_FIRST[0][0], PB_T##T##_PARTIAL[0], PB_T##T##_LAST[0][0],  \
                           PB_T##T##_MDS[0][0], PB_T##T##_PRE[0][0],                           \
                           PB_T##T##_SPARSE_ROW[0][0], PB_T##T##_SPARSE_COL[0][0], 0);         \
    }                                                                                          \
    static void pb_poseidon_t##T##_adx(uint64_t out[4], const uint64_t *in) {                  \
        pb_poseidon_t_impl(out, in, T, PB_T##T##_PARTIAL_ROUNDS, PB_T##T##_INITIAL[0],         \
                           PB_T##T##_FIRST[0][0], PB_T##T##_PARTIAL[0], PB_T##T##_LAST[0][0],  \
                           PB_T##T##_MDS[0][0], PB_T##T##_PRE[0][0],                           \
                           PB_T##T##_SPARSE_ROW[0][0], PB_T##T##_SPARSE_COL[0][0], 1);         \
    }

PB_DEFINE_POSEIDON_T(2)
PB_DEFINE_POSEIDON_T(4)
PB_DEFINE_POSEIDON_T(5)
PB_DEFINE_POSEIDON_T(6)

/* Width 2 (T = 3) keeps the hand-written permutation of hash2. */
static void pb_poseidon_t3_portable(uint64_t out[4], const uint64_t *in) {
    pb_poseidon2_impl(out, in, in + 4, 0);
}

static void pb_poseidon_t3_adx(uint64_t out[4], const uint64_t *in) {
    pb_poseidon2_impl(out, in, in + 4, 1);
}

/* Poseidon(n) of n consecutive 4-limb inputs. */
typedef void (*pb_poseidon_n_fn)(uint64_t out[4], const uint64_t *in);

#define PB_POSEIDON_MAX_INPUTS (PB_POSEIDON_MAX_T - 1)

/* Indexed by the number of inputs n = 1..PB_POSEIDON_MAX_INPUTS (entry 0 unused). */
static const pb_poseidon_n_fn PB_POSEIDON_N_PORTABLE[PB_POSEIDON_MAX_INPUTS + 1] = {
    NULL, pb_poseidon_t2_portable, pb_poseidon_t3_portable, pb_poseidon_t4_portable,
    pb_poseidon_t5_portable, pb_poseidon_t6_portable};
static const pb_poseidon_n_fn PB_POSEIDON_N_ADX[PB_POSEIDON_MAX_INPUTS + 1] = {
    NULL, pb_poseidon_t2_adx, pb_poseidon_t3_adx, pb_poseidon_t4_adx, pb_poseidon_t5_adx,
    pb_poseidon_t6_adx};

/* out[4 * i ..] = Poseidon(n)(in[4 * n * i ..]) for i < groups; n in 1..PB_POSEIDON_MAX_INPUTS. */
static void pb_poseidon_groups(uint64_t *out, const uint64_t *in, size_t groups, int n, int adx) {
    const pb_poseidon_n_fn f = adx ? PB_POSEIDON_N_ADX[n] : PB_POSEIDON_N_PORTABLE[n];
    for (size_t i = 0; i < groups; i++) f(out + 4 * i, in + 4 * (size_t)n * i);
}

/* 1 iff this CPU has BMI2 (MULX) and ADX (ADCX/ADOX). */
static int pb_have_adx(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("adx");
}

/* ---- Python int <-> limbs ------------------------------------------------------------------ */

/* Read a Python int in [0, p) into limbs (little-endian). Returns 0, or -1 with TypeError
 * (not an int) or ValueError (negative or >= p) set. */
static int pb_fe_from_py(PyObject *o, uint64_t a[4]) {
    if (!PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "field element must be an int, got %.100s",
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    if (_PyLong_Sign(o) < 0 || _PyLong_NumBits(o) > 256) goto out_of_range;
#if PY_VERSION_HEX >= 0x030D0000
    if (_PyLong_AsByteArray((PyLongObject *)o, (unsigned char *)a, 32, 1, 0, 1) < 0) return -1;
#else
    if (_PyLong_AsByteArray((PyLongObject *)o, (unsigned char *)a, 32, 1, 0) < 0) return -1;
#endif
    if (!pb_fe_is_canonical(a)) goto out_of_range;
    return 0;
out_of_range:
    PyErr_SetString(PyExc_ValueError, "field element is not in [0, p)");
    return -1;
}

/* New reference to the Python int with limbs a (little-endian, unsigned). */
static PyObject *pb_fe_to_py(const uint64_t a[4]) {
    return _PyLong_FromByteArray((const unsigned char *)a, 32, 1, 0);
}

#endif /* PB_BN254_H */
