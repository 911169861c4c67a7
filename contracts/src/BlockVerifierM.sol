// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {Groth16Verifier} from "./Groth16Verifier.sol";
import {IBlockVerifierM} from "./interfaces/IBlockVerifierM.sol";

/// @title BlockVerifierM
/// @notice Groth16 verifier (BN254) of the block circuit of a venue of M >= 2 markets, whose
/// 4 + 2M public inputs are (preStateRoot, postStateRoot, commandCommitment, meta,
/// settle[M], cumPriceTime[M]) (IBlockVerifierM). BlockVerifier is the one-market verifier.
/// @dev M follows from the key: its IC has 2M + 5 points, kept in a data contract as
/// BatchVerifier keeps its own (Groth16Verifier._storeIc says why).
contract BlockVerifierM is IBlockVerifierM, Groth16Verifier {
    /// @inheritdoc IBlockVerifierM
    uint256 public immutable markets;
    /// @dev The data contract holding IC[0 .. 2M + 4] (x0, y0, x1, y1, ...).
    address private immutable IC;

    /// @notice The key's IC is not 2M + 5 points for some M in 2..64 (M = 1 is BlockVerifier's
    /// key, six public inputs).
    error BadKeyShape(uint256 words);

    /// @param alpha1 alpha in G1 (x, y).
    /// @param beta2 beta in G2 (x.c1, x.c0, y.c1, y.c0).
    /// @param gamma2 gamma in G2, same order.
    /// @param delta2 delta in G2, same order.
    /// @param ic IC[0 .. 2M + 4] in G1 (x0, y0, x1, y1, ...).
    constructor(
        uint256[2] memory alpha1,
        uint256[4] memory beta2,
        uint256[4] memory gamma2,
        uint256[4] memory delta2,
        uint256[] memory ic
    ) Groth16Verifier(alpha1, beta2, gamma2, delta2) {
        uint256 n = ic.length;
        if (n < 18 || n > 266 || n % 4 != 2) revert BadKeyShape(n);
        markets = (n - 10) / 4;
        IC = _storeIc(ic);
    }

    /// @notice The number of public inputs of one proof: 4 + 2M.
    function publicInputCount() public view returns (uint256) {
        return 4 + 2 * markets;
    }

    /// @inheritdoc IBlockVerifierM
    /// @dev Reverts on malformed arguments (proof length, input count, an input outside the
    /// scalar field) and when too little gas is left for a precompile (InsufficientGas). With
    /// enough gas, a proof that does not verify returns false.
    function verifyProof(bytes calldata proof, uint256[] calldata publicInputs)
        external
        view
        returns (bool)
    {
        uint256 n = publicInputCount();
        if (publicInputs.length != n) revert BadInputCount(n, publicInputs.length);
        return _verifyOne(proof, publicInputs, _loadIc(IC, 2 * n + 2));
    }

    /// @inheritdoc IBlockVerifierM
    /// @dev Reverts like verifyProof, and with BadProofLength / BadInputCount when `proofs` is
    /// not K >= 1 whole proofs or `publicInputs` not (4 + 2M)K inputs.
    function verifyProofs(bytes calldata proofs, uint256[] calldata publicInputs)
        external
        view
        returns (bool)
    {
        return _verifyMany(proofs, publicInputs, _loadIc(IC, 2 * publicInputCount() + 2));
    }
}
