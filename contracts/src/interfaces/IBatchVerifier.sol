// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

/// @title IBatchVerifier
/// @notice A Groth16 verifier of the ProvenBook batch circuit: K consecutive blocks of a venue
/// of M markets in one proof, K(3 + 2M) + 1 public inputs (5K + 1 for one market;
/// proofs/circuits/batch.circom).
interface IBatchVerifier {
    /// @notice K, the number of blocks each proof covers.
    function blocks() external view returns (uint256);

    /// @notice M, the number of markets each block settles.
    function markets() external view returns (uint256);

    /// @notice True iff `proof` (256 bytes) proves the batch circuit for `publicInputs` =
    /// root_0, then per block: commandCommitment, meta, settle[M], cumPriceTime[M], root_{k+1}
    /// (block k's pre-state root is root_k, its post-state root root_{k+1}).
    function verifyProof(bytes calldata proof, uint256[] calldata publicInputs)
        external
        view
        returns (bool);
}
