// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {Groth16Verifier} from "./Groth16Verifier.sol";
import {IBatchVerifier} from "./interfaces/IBatchVerifier.sol";

/// @title BatchVerifier
/// @notice Groth16 verifier (BN254) of the ProvenBook batch circuit: K consecutive blocks in
/// one proof, with 5K + 1 public inputs (IBatchVerifier). One verification pays the 4-pair
/// pairing (181k gas) once for the K blocks; each public input adds an ecMul and an ecAdd
/// (6,150 gas).
/// @dev K follows from the key: its IC has 5K + 2 points. They do not fit immutables for every
/// K, and storage would cost 2,100 gas per cold word (about 100k at K = 4), so they are the
/// code of a data contract deployed by the constructor (a STOP byte, then the points), read
/// with one EXTCODECOPY: 2,600 gas for the cold account and 3 gas a word.
contract BatchVerifier is IBatchVerifier, Groth16Verifier {
    /// @inheritdoc IBatchVerifier
    uint256 public immutable blocks;
    /// @dev The data contract holding IC[0 .. 5K + 1] (x0, y0, x1, y1, ...).
    address private immutable IC;

    /// @notice The key's IC is not 5K + 2 points for some K in 2..64 (a key with K = 1 would
    /// be the block circuit's, whose six inputs are in another order).
    error BadKeyShape(uint256 words);

    /// @param alpha1 alpha in G1 (x, y).
    /// @param beta2 beta in G2 (x.c1, x.c0, y.c1, y.c0).
    /// @param gamma2 gamma in G2, same order.
    /// @param delta2 delta in G2, same order.
    /// @param ic IC[0 .. 5K + 1] in G1 (x0, y0, x1, y1, ...).
    constructor(
        uint256[2] memory alpha1,
        uint256[4] memory beta2,
        uint256[4] memory gamma2,
        uint256[4] memory delta2,
        uint256[] memory ic
    ) Groth16Verifier(alpha1, beta2, gamma2, delta2) {
        uint256 n = ic.length;
        if (n < 24 || n > 644 || n % 10 != 4) revert BadKeyShape(n);
        blocks = (n - 4) / 10;
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
        uint256 n = 5 * blocks + 1;
        if (publicInputs.length != n) revert BadInputCount(n, publicInputs.length);
        return _verifyOne(proof, publicInputs, _loadIc(IC, 2 * n + 2));
    }
}
