pragma circom 2.0.0;

include "block.circom";

// BlockBatch(K, N, S, D, A, CFG, SIGNED, R): K consecutive blocks of one venue in one proof,
// so that one on-chain verification covers K blocks (DESIGN §5; BLOCK.md, "Batches of K
// blocks"). Each block is the unchanged Block(N, S, D, A, CFG, SIGNED, R); the batch adds
// only the chain: block k's post-state root is block k+1's pre-state root, the same public
// signal. The state root commits to height, marks, close time and the TWAP accumulator, so
// the chained roots carry everything one block hands the next (Poseidon collision
// resistance, as for a single block's roots).
//
// Public: pub[5K + 1] = root_0, then per block k: cmdCommitment, meta, settle, cumPriceTime,
// root_{k+1}. Block k's six inputs are pub[5k .. 5k + 5], its pre-state root first and its
// post-state root last (proofs/batch.py: batch_public_signals). Every other input is
// Block's own with a leading [K] (tests/test_circuit_batch.py checks the lists agree).
template BlockBatch(K, N, S, D, A, CFG, SIGNED, R) {
    assert(K >= 1);
    signal input pub[5 * K + 1];
    signal input accTier0[K][TierWidth(A)];
    signal input bidTier0[K][TierWidth(D)];
    signal input bidHead0[K];
    signal input askTier0[K][TierWidth(D)];
    signal input askHead0[K];
    signal input mark[K];
    signal input lastCloseTs[K];
    signal input cumPriceTime0[K];
    signal input height[K];
    signal input closeTs[K];
    signal input commandCount[K];
    signal input firstSeq[K];
    signal input settleHints[K][6];
    signal input active[K][N];
    signal input accepted[K][N];
    signal input slotCmd[K][N][BC_COUNT()];
    signal input pvHints[K][N][4];
    signal input signer[K][N][2];
    signal input sigOn[K][N];
    signal input sig[K][N][3];
    signal input kind[K][S];
    signal input cmd[K][S][CV_COUNT()];
    signal input linkFlag[K][S];
    signal input stpRead[K][S];
    signal input stpReduce[K][S];
    signal input isBid[K][S];
    signal input bookIndex[K][S];
    signal input siblings[K][S][TierSiblings(D)];
    signal input oldOrder[K][S][10];
    signal input newOrder[K][S][10];
    signal input link[K][S][3];
    signal input q[K][S];
    signal input accIndex[K][S];
    signal input accSiblings[K][S][TierSiblings(A)];
    signal input pubkeyHash[K][S];
    signal input accOld[K][S][6];
    signal input accNew[K][S][6];
    signal input accIsBuy[K][S];
    signal input accPrice[K][S];
    signal input accQty[K][S];
    signal input accAmount[K][S];
    signal input accHints[K][S][6];
    signal input takerHints[K][S][2];
    signal input takerPre[K][S][6];

    component b[K];
    for (var k = 0; k < K; k++) {
        b[k] = Block(N, S, D, A, CFG, SIGNED, R);
        // the chain: root_{k+1} is block k's post-state and block k+1's pre-state
        b[k].preRoot <== pub[5 * k];
        b[k].cmdCommitment <== pub[5 * k + 1];
        b[k].meta <== pub[5 * k + 2];
        b[k].settle <== pub[5 * k + 3];
        b[k].cumPriceTime <== pub[5 * k + 4];
        b[k].postRoot <== pub[5 * k + 5];
        b[k].accTier0 <== accTier0[k];
        b[k].bidTier0 <== bidTier0[k];
        b[k].bidHead0 <== bidHead0[k];
        b[k].askTier0 <== askTier0[k];
        b[k].askHead0 <== askHead0[k];
        b[k].mark <== mark[k];
        b[k].lastCloseTs <== lastCloseTs[k];
        b[k].cumPriceTime0 <== cumPriceTime0[k];
        b[k].height <== height[k];
        b[k].closeTs <== closeTs[k];
        b[k].commandCount <== commandCount[k];
        b[k].firstSeq <== firstSeq[k];
        b[k].settleHints <== settleHints[k];
        b[k].active <== active[k];
        b[k].accepted <== accepted[k];
        b[k].slotCmd <== slotCmd[k];
        b[k].pvHints <== pvHints[k];
        b[k].signer <== signer[k];
        b[k].sigOn <== sigOn[k];
        b[k].sig <== sig[k];
        b[k].kind <== kind[k];
        b[k].cmd <== cmd[k];
        b[k].linkFlag <== linkFlag[k];
        b[k].stpRead <== stpRead[k];
        b[k].stpReduce <== stpReduce[k];
        b[k].isBid <== isBid[k];
        b[k].bookIndex <== bookIndex[k];
        b[k].siblings <== siblings[k];
        b[k].oldOrder <== oldOrder[k];
        b[k].newOrder <== newOrder[k];
        b[k].link <== link[k];
        b[k].q <== q[k];
        b[k].accIndex <== accIndex[k];
        b[k].accSiblings <== accSiblings[k];
        b[k].pubkeyHash <== pubkeyHash[k];
        b[k].accOld <== accOld[k];
        b[k].accNew <== accNew[k];
        b[k].accIsBuy <== accIsBuy[k];
        b[k].accPrice <== accPrice[k];
        b[k].accQty <== accQty[k];
        b[k].accAmount <== accAmount[k];
        b[k].accHints <== accHints[k];
        b[k].takerHints <== takerHints[k];
        b[k].takerPre <== takerPre[k];
    }
}


// BlockBatchM(K, N, S, D, A, M, CFGS, SIGNED, R): BlockBatch for a venue of M markets, K
// unchanged BlockM(N, S, D, A, M, CFGS, SIGNED, R) chained the same way. A block has 4 + 2M
// public inputs, so the batch has K(3 + 2M) + 1: root_0, then per block k: cmdCommitment,
// meta, settle[M], cumPriceTime[M], root_{k+1} (at M = 1, BlockBatch's layout). Every other
// input is BlockM's own with a leading [K] (tests/test_circuit_batch.py checks the lists
// agree). BlockBatch stays the one-market template: its inputs are Block's, which the
// one-market witness builder writes.
template BlockBatchM(K, N, S, D, A, M, CFGS, SIGNED, R) {
    assert(K >= 1 && M >= 1);
    var W = 3 + 2 * M;   // public signals per block after root_0
    signal input pub[W * K + 1];
    signal input touched[K];
    signal input accTier0[K][TierWidth(A)];
    signal input bidTier0[K][TierWidth(D)];
    signal input bidHead0[K];
    signal input askTier0[K][TierWidth(D)];
    signal input askHead0[K];
    signal input bidSide[K][M];
    signal input askSide[K][M];
    signal input marks[K][M];
    signal input lastCloseTs[K][M];
    signal input cumPriceTime0[K][M];
    signal input height[K];
    signal input closeTs[K];
    signal input commandCount[K];
    signal input firstSeq[K];
    signal input settleHints[K][M][6];
    signal input active[K][N];
    signal input accepted[K][N];
    signal input slotCmd[K][N][BC_COUNT()];
    signal input pvHints[K][N][4];
    signal input signer[K][N][2];
    signal input sigOn[K][N];
    signal input sig[K][N][3];
    signal input kind[K][S];
    signal input cmd[K][S][CV_COUNT()];
    signal input linkFlag[K][S];
    signal input stpRead[K][S];
    signal input stpReduce[K][S];
    signal input isBid[K][S];
    signal input bookIndex[K][S];
    signal input siblings[K][S][TierSiblings(D)];
    signal input oldOrder[K][S][10];
    signal input newOrder[K][S][10];
    signal input link[K][S][3];
    signal input q[K][S];
    signal input accIndex[K][S];
    signal input accSiblings[K][S][TierSiblings(A)];
    signal input pubkeyHash[K][S];
    signal input accOld[K][S][6];
    signal input accNew[K][S][6];
    signal input accIsBuy[K][S];
    signal input accPrice[K][S];
    signal input accQty[K][S];
    signal input accAmount[K][S];
    signal input accHints[K][S][6];
    signal input takerHints[K][S][2];
    signal input takerPre[K][S][6];
    signal input accOther[K][S][M][4];
    signal input accReqs[K][S][M][2];

    component b[K];
    for (var k = 0; k < K; k++) {
        b[k] = BlockM(N, S, D, A, M, CFGS, SIGNED, R);
        // the chain: root_{k+1} is block k's post-state and block k+1's pre-state
        b[k].preRoot <== pub[W * k];
        b[k].cmdCommitment <== pub[W * k + 1];
        b[k].meta <== pub[W * k + 2];
        for (var m = 0; m < M; m++) {
            b[k].settle[m] <== pub[W * k + 3 + m];
            b[k].cumPriceTime[m] <== pub[W * k + 3 + M + m];
        }
        b[k].postRoot <== pub[W * k + W];
        b[k].touched <== touched[k];
        b[k].accTier0 <== accTier0[k];
        b[k].bidTier0 <== bidTier0[k];
        b[k].bidHead0 <== bidHead0[k];
        b[k].askTier0 <== askTier0[k];
        b[k].askHead0 <== askHead0[k];
        b[k].bidSide <== bidSide[k];
        b[k].askSide <== askSide[k];
        b[k].marks <== marks[k];
        b[k].lastCloseTs <== lastCloseTs[k];
        b[k].cumPriceTime0 <== cumPriceTime0[k];
        b[k].height <== height[k];
        b[k].closeTs <== closeTs[k];
        b[k].commandCount <== commandCount[k];
        b[k].firstSeq <== firstSeq[k];
        b[k].settleHints <== settleHints[k];
        b[k].active <== active[k];
        b[k].accepted <== accepted[k];
        b[k].slotCmd <== slotCmd[k];
        b[k].pvHints <== pvHints[k];
        b[k].signer <== signer[k];
        b[k].sigOn <== sigOn[k];
        b[k].sig <== sig[k];
        b[k].kind <== kind[k];
        b[k].cmd <== cmd[k];
        b[k].linkFlag <== linkFlag[k];
        b[k].stpRead <== stpRead[k];
        b[k].stpReduce <== stpReduce[k];
        b[k].isBid <== isBid[k];
        b[k].bookIndex <== bookIndex[k];
        b[k].siblings <== siblings[k];
        b[k].oldOrder <== oldOrder[k];
        b[k].newOrder <== newOrder[k];
        b[k].link <== link[k];
        b[k].q <== q[k];
        b[k].accIndex <== accIndex[k];
        b[k].accSiblings <== accSiblings[k];
        b[k].pubkeyHash <== pubkeyHash[k];
        b[k].accOld <== accOld[k];
        b[k].accNew <== accNew[k];
        b[k].accIsBuy <== accIsBuy[k];
        b[k].accPrice <== accPrice[k];
        b[k].accQty <== accQty[k];
        b[k].accAmount <== accAmount[k];
        b[k].accHints <== accHints[k];
        b[k].takerHints <== takerHints[k];
        b[k].takerPre <== takerPre[k];
        b[k].accOther <== accOther[k];
        b[k].accReqs <== accReqs[k];
    }
}
