"""State commitment, hashing, signatures and circuits: everything a verifier needs, no I/O.

The state root of a block (``PoseidonState``), Poseidon over BN254 with circomlib's constants
(``hash2``/``hash_chain``, compiled when ``proofs._poseidon`` is built), EdDSA-Poseidon on Baby
Jubjub (``proofs.eddsa``) and what a command's signature covers (``proofs.signing``), and the
circuits with their Python models (``proofs/circuits/``, ``booktrace``, ``accounttrace``,
``commandtrace``). ``proofs.circom`` is the one module that touches a cache directory (compiled
circuits and development keys).
"""

from .poseidon import FIELD_MODULUS, hash2, hash_chain
from .state import CommitmentSnapshot, PoseidonState, command_hash

__all__ = [
    "FIELD_MODULUS",
    "CommitmentSnapshot",
    "PoseidonState",
    "command_hash",
    "hash2",
    "hash_chain",
]
