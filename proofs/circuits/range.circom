pragma circom 2.0.0;

include "bitify.circom";
include "comparators.circom";

// RangeCheck(n): constrains in < 2^n. Cost n constraints (Num2Bits).
template RangeCheck(n) {
    assert(n >= 1 && n <= 252);
    signal input in;

    component bits = Num2Bits(n);
    bits.in <== in;
}

// SafeLessThan(n): out = (in[0] < in[1]) for inputs range-checked to n bits. circomlib's
// LessThan(n) assumes in[0], in[1] < 2^n and returns a wrong answer (no failure) otherwise;
// this variant fails instead. Cost 3n + 1; use plain LessThan(n) (n + 1) where the inputs are
// already range-checked, e.g. unpacked fields.
template SafeLessThan(n) {
    assert(n >= 1 && n <= 252);
    signal input in[2];
    signal output out;

    component range0 = RangeCheck(n);
    component range1 = RangeCheck(n);
    range0.in <== in[0];
    range1.in <== in[1];
    component lt = LessThan(n);
    lt.in[0] <== in[0];
    lt.in[1] <== in[1];
    out <== lt.out;
}
