pragma circom 2.0.0;

include "bitify.circom";

// Bit packing of several small fields into one field element, first field in the lowest bits:
//   packed = v[0] + v[1] * 2^w[0] + v[2] * 2^(w[0] + w[1]) + ...
// the layout of proofs.poseidon.pack. Every v[i] is range-checked to w[i] bits and the widths
// total at most 253 bits, so packed < 2^253 < p: no wrap-around, exactly one encoding per value.
// Cost: sum(widths) constraints (one per bit).

// Unpack(n, widths): split a packed element into its n fields; fails for any input with bits
// above sum(widths) (no valid unpacking exists).
template Unpack(n, widths) {
    assert(n >= 1);
    signal input in;
    signal output out[n];

    component range[n];
    var packed = 0;
    var shift = 0;
    for (var i = 0; i < n; i++) {
        assert(widths[i] >= 1);
        // Hint, constrained by the range check below and the sum check after the loop.
        out[i] <-- (in >> shift) & ((1 << widths[i]) - 1);
        range[i] = Num2Bits(widths[i]);
        range[i].in <== out[i];
        packed += out[i] * (1 << shift);
        shift += widths[i];
    }
    assert(shift <= 253);
    packed === in;
}

// Pack(n, widths): the inverse; range-checks each in[i] to widths[i] bits and outputs the
// packed element.
template Pack(n, widths) {
    assert(n >= 1);
    signal input in[n];
    signal output out;

    component range[n];
    var packed = 0;
    var shift = 0;
    for (var i = 0; i < n; i++) {
        assert(widths[i] >= 1);
        range[i] = Num2Bits(widths[i]);
        range[i].in <== in[i];
        packed += in[i] * (1 << shift);
        shift += widths[i];
    }
    assert(shift <= 253);
    out <== packed;
}
