"""Compiled circomlib ``Poseidon(2)`` over BN254 (built from ``cython_ext/_poseidon.pyx``).

Callers validate inputs (``proofs.poseidon`` does); a non-int raises TypeError and an int outside
[0, p) raises ValueError, never a silent reduction modulo p.
"""

__all__ = ["ARITHMETIC", "FIELD_MODULUS", "hash2", "hash_pairs"]

ARITHMETIC: str
"""Field product in use on this CPU: ``"adx"`` (BMI2/ADX assembly) or ``"portable"`` (C)."""
FIELD_MODULUS: int

def hash2(a: int, b: int) -> int:
    """circomlib ``Poseidon(2)([a, b])`` of two field elements in [0, p)."""

def hash_pairs(flat: list[int]) -> list[int]:
    """``[hash2(flat[0], flat[1]), hash2(flat[2], flat[3]), ...]`` in one call (even length)."""

def hash_chains(chains: list[list[int]]) -> list[int]:
    """``[hash_chain(c) for c in chains]`` (left folds of ``hash2``, each chain >= 2 elements)
    in one call; not in ``__all__`` (``proofs.poseidon.hash_chains`` is the public entry)."""
