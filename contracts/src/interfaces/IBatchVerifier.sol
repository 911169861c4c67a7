// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

/// @title IBatchVerifier
/// @notice A Groth16 verifier of the ProvenBook batch circuit: K consecutive blocks in one
/// proof, 5K + 1 public inputs (proofs/circuits/batch.circom).
interface IBatchVerifier {
    /// @notice K, the number of blocks each proof covers.
    function blocks() external view returns (uint256);

    /// @notice True iff `proof` (256 bytes) proves the batch circuit for `publicInputs` =
    /// root_0, then per block: commandCommitment, meta, settle, cumPriceTime, root_{k+1}
    /// (block k's pre-state root is root_k, its post-state root root_{k+1}).
    function verifyProof(bytes calldata proof, uint256[] calldata publicInputs)
        external
        view
        returns (bool);
}
