// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {Groth16Verifier} from "./Groth16Verifier.sol";
import {IBatchVerifier} from "./interfaces/IBatchVerifier.sol";

/// @title BatchVerifier
/// @notice Groth16 verifier (BN254) of the ProvenBook batch circuit: K consecutive blocks of a
/// venue of M markets in one proof, with K(3 + 2M) + 1 public inputs (5K + 1 for one market;
/// IBatchVerifier). One verification pays the 4-pair pairing (181k gas) once for the K
/// blocks; each public input adds an ecMul and an ecAdd (6,150 gas).
/// @dev M is given (a key's size alone cannot tell K from M: 36 inputs are K = 7 blocks of one
/// market or K = 5 of two), K follows from the key: its IC has K(3 + 2M) + 2 points. They do
/// not fit immutables for every K, and storage would cost 2,100 gas per cold word (about 100k
/// at K = 4), so they are the code of a data contract deployed by the constructor (a STOP
/// byte, then the points), read with one EXTCODECOPY: 2,600 gas for the cold account and 3 gas
/// a word.
contract BatchVerifier is IBatchVerifier, Groth16Verifier {
    /// @inheritdoc IBatchVerifier
    uint256 public immutable blocks;
    /// @inheritdoc IBatchVerifier
    uint256 public immutable markets;
    /// @dev The data contract holding IC[0 .. K(3 + 2M) + 1] (x0, y0, x1, y1, ...).
    address private immutable IC;

    /// @notice The key's IC is not K(3 + 2M) + 2 points for some K in 2..64 and the given M in
    /// 1..64 (a key with K = 1 would be the block circuit's, whose inputs are in another order).
    error BadKeyShape(uint256 words);

    /// @param alpha1 alpha in G1 (x, y).
    /// @param beta2 beta in G2 (x.c1, x.c0, y.c1, y.c0).
    /// @param gamma2 gamma in G2, same order.
    /// @param delta2 delta in G2, same order.
    /// @param ic IC[0 .. K(3 + 2M) + 1] in G1 (x0, y0, x1, y1, ...).
    /// @param markets_ M, the markets each block settles
    constructor(
        uint256[2] memory alpha1,
        uint256[4] memory beta2,
        uint256[4] memory gamma2,
        uint256[4] memory delta2,
        uint256[] memory ic,
        uint256 markets_
    ) Groth16Verifier(alpha1, beta2, gamma2, delta2) {
        uint256 n = ic.length;
        uint256 w = 3 + 2 * markets_; // public inputs per block after root_0
        // IC has (public inputs + 1) points of two words: 2(Kw + 2) words
        if (markets_ == 0 || markets_ > 64 || n % 2 != 0 || n < 4 || (n / 2 - 2) % w != 0) {
            revert BadKeyShape(n);
        }
        uint256 k = (n / 2 - 2) / w;
        if (k < 2 || k > 64) revert BadKeyShape(n);
        blocks = k;
        markets = markets_;
        IC = _storeIc(ic);
    }

    /// @inheritdoc IBatchVerifier
    /// @dev Reverts on malformed arguments (proof length, input count, an input outside the
    /// scalar field) and when too little gas is left for a precompile (InsufficientGas). With
    /// enough gas, a proof that does not verify returns false.
    function verifyProof(bytes calldata proof, uint256[] calldata publicInputs)
        external
        view
        returns (bool)
    {
        uint256 n = (3 + 2 * markets) * blocks + 1;
        if (publicInputs.length != n) revert BadInputCount(n, publicInputs.length);
        return _verifyOne(proof, publicInputs, _loadIc(IC, 2 * n + 2));
    }
}
