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
    /// @notice The data contract of the key's IC could not be created.
    error KeyStoreFailed();

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
        for (uint256 i = 0; i < n; i++) if (ic[i] >= Q) revert KeyOutOfField();
        blocks = (n - 4) / 10;
        bytes memory runtime = abi.encodePacked(hex"00", ic);
        // init code: copy the runtime that follows these 12 bytes to memory and return it
        bytes memory init = abi.encodePacked(
            hex"61", uint16(runtime.length), hex"80600c6000396000f3", runtime
        );
        address store;
        assembly ("memory-safe") {
            store := create(0, add(init, 0x20), mload(init))
        }
        if (store == address(0)) revert KeyStoreFailed();
        IC = store;
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
        (uint256[8] memory w, bool ok) = _decodeProof(proof);
        uint256 n = 5 * blocks + 1;
        if (publicInputs.length != n) revert BadInputCount(n, publicInputs.length);
        for (uint256 i = 0; i < n; i++) {
            if (publicInputs[i] >= R) revert InputOutOfField(i, publicInputs[i]);
        }
        if (!ok) return false;

        uint256[] memory ic = new uint256[](2 * n + 2);
        address store = IC;
        assembly ("memory-safe") {
            extcodecopy(store, add(ic, 0x20), 1, mul(mload(ic), 0x20))
        }
        // vk_x = IC0 + sum(input[i] * IC[i + 1])
        uint256[4] memory acc = [ic[0], ic[1], uint256(0), uint256(0)];
        for (uint256 i = 0; i < n; i++) {
            if (!_mulAdd(acc, ic[2 * i + 2], ic[2 * i + 3], publicInputs[i])) return false;
        }
        return _pairing(w, acc[0], acc[1]);
    }
}
