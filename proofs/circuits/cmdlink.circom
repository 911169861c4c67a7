pragma circom 2.0.0;

// CmdLink(N, F): when `begin` = 1, val[] equals the fields of one of the N slots; when
// `begin` = 0 nothing is checked (a step that continues a command keeps its fields in
// registers). By convention field 0 is the slot's rank among the block's accepted commands and
// field 1 its accepted flag, and the caller passes val[0] = the command's index and val[1] = 1:
// accepted slots have distinct ranks, so the selected slot is the index-th accepted command,
// and a rejected slot (flag 0) can never be selected. No such slot: unsatisfiable.
// sel is one-hot iff begin: sel boolean, sum = begin. Each field costs N products
// sel_i * (slots[i][f] - val[f]), whose sum is (slots[i*][f] - val[f]) for the selected i*.
// Cost N * (F + 1).
template CmdLink(N, F) {
    assert(N >= 1 && N < (1 << 16));
    assert(F >= 2);
    signal input begin;       // boolean (the caller's)
    signal input val[F];
    signal input slots[N][F];

    signal sel[N];
    var selSum = 0;
    for (var i = 0; i < N; i++) {
        sel[i] <-- (begin == 1 && slots[i][0] == val[0] && slots[i][1] == val[1]) ? 1 : 0;
        sel[i] * (sel[i] - 1) === 0;
        selSum += sel[i];
    }
    selSum === begin;
    signal d[F][N];
    for (var f = 0; f < F; f++) {
        var acc = 0;
        for (var i = 0; i < N; i++) {
            d[f][i] <== sel[i] * (slots[i][f] - val[f]);
            acc += d[f][i];
        }
        acc === 0;
    }
}
