pragma circom 2.0.0;

// CmdLink(N, F): when `begin` = 1, val[] equals slots[index][] (one-hot selection over N slots);
// when `begin` = 0 nothing is checked (a step that continues a command keeps its fields in
// registers). A beginning step with index >= N is unsatisfiable (no slot to select).
// sel is one-hot with its 1 at `index` iff begin: sel boolean, sum = begin, sum i*sel_i =
// begin*index. Each field costs N products sel_i * (slots[i][f] - val[f]), whose sum is
// sel_index * (slots[index][f] - val[f]). Cost N * (F + 1) + 1.
template CmdLink(N, F) {
    assert(N >= 1 && N < (1 << 16));
    assert(F >= 1);
    signal input index;
    signal input begin;       // boolean (the caller's)
    signal input val[F];
    signal input slots[N][F];

    signal sel[N];
    var selSum = 0;
    var selIdx = 0;
    for (var i = 0; i < N; i++) {
        sel[i] <-- (begin == 1 && index == i) ? 1 : 0;
        sel[i] * (sel[i] - 1) === 0;
        selSum += sel[i];
        selIdx += i * sel[i];
    }
    selSum === begin;
    signal at <== begin * index;
    selIdx === at;
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
