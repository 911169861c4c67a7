"""Sparse binary Merkle tree over Poseidon ``hash2``, updated incrementally once per block.

Shape: ``depth`` levels of internal nodes above ``2**depth`` leaves indexed ``0 .. 2**depth - 1``.
Level 0 holds the leaves, level ``depth`` the root. A node at level ``l`` and position ``i`` has
children ``(l - 1, 2i)`` (left) and ``(l - 1, 2i + 1)`` (right) and value
``hash2(left, right)``. An empty leaf is 0, so an empty subtree of height ``l`` hashes to the
precomputed ``zero_hashes(...)[l]`` and never needs to be stored or hashed again.

Why the API looks like this: proving cost is dominated by Poseidon calls, in Python as in the
circuit, so a block's leaf writes go through ``set_many``, which hashes every touched internal
node at most once (shared upper paths once), hashing each level's nodes in one ``hash_pairs``
call, and ``hash_count`` exposes the number of Poseidon hashes to tests and benchmarks. Only
nodes of non-empty subtrees are stored, one dict per level, so depth 20-32 trees cost memory
proportional to the number of non-empty leaves times the depth.

Path convention, shared with ``MerkleRoot``/``MerkleUpdate`` in ``proofs/circuits/merkle.circom``:
``path(index)`` lists the siblings bottom-up, and bit ``l`` of ``index`` (least significant first)
says whether the running node is the right child (1) or the left child (0) at level ``l``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .poseidon import FieldRangeError, check_field, hash2, hash_pairs

__all__ = [
    "MAX_DEPTH",
    "SparseMerkleTree",
    "compute_root",
    "zero_hashes",
]

MAX_DEPTH: int = 252
"""Deepest supported tree: a leaf index must decompose into ``depth`` bits in-circuit without
wrapping around p, and ``Num2Bits(n)`` is unique only for ``n <= 253``."""

_ZEROS: list[int] = [0]


def zero_hashes(depth: int) -> tuple[int, ...]:
    """Return ``(z0, ..., z_depth)``: ``z0 = 0`` (empty leaf), ``z(l+1) = hash2(zl, zl)``.

    ``z_l`` is the root of an all-empty subtree of height ``l``; the list is computed once per
    process and shared by every tree, whatever its depth.
    """
    if not 0 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be in [0, {MAX_DEPTH}], got {depth}")
    while len(_ZEROS) <= depth:
        _ZEROS.append(hash2(_ZEROS[-1], _ZEROS[-1]))
    return tuple(_ZEROS[: depth + 1])


def _check_index(index: int, depth: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"leaf index must be an int, got {type(index).__name__}")
    if not 0 <= index < (1 << depth):
        raise IndexError(f"leaf index {index} out of range for depth {depth}")
    return int(index)


def compute_root(index: int, leaf: int, siblings: Sequence[int]) -> int:
    """Root implied by ``leaf`` at ``index`` with bottom-up ``siblings`` (tree depth =
    ``len(siblings)``). This is exactly what circuit ``MerkleRoot(depth)`` computes."""
    depth = len(siblings)
    index = _check_index(index, depth)
    node = check_field(leaf, "leaf")
    for level, sibling in enumerate(siblings):
        if (index >> level) & 1:
            node = hash2(sibling, node)
        else:
            node = hash2(node, sibling)
    return node


class SparseMerkleTree:
    """Sparse Merkle tree of fixed ``depth`` with batched incremental updates.

    >>> t = SparseMerkleTree(4)
    >>> t.root == zero_hashes(4)[4]
    True
    >>> t.set(5, 42)
    >>> SparseMerkleTree.verify_path(t.root, 5, 42, t.path(5))
    True
    """

    __slots__ = ("_depth", "_levels", "_zeros", "hash_count")

    def __init__(self, depth: int) -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"depth must be an int in [1, {MAX_DEPTH}], got {depth!r}")
        self._depth = depth
        self._zeros = zero_hashes(depth)
        # _levels[l] maps position -> value for every node at level l whose subtree holds a
        # non-empty leaf; absent means "empty subtree", i.e. value self._zeros[l].
        self._levels: list[dict[int, int]] = [{} for _ in range(depth + 1)]
        self.hash_count: int = 0
        """Poseidon calls made by updates of this tree (zero hashes excluded), for cost tests."""

    # -- read side ---------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Number of levels above the leaves (= siblings per path)."""
        return self._depth

    @property
    def capacity(self) -> int:
        """Number of leaf slots, ``2**depth``."""
        return 1 << self._depth

    @property
    def root(self) -> int:
        """Current root; the empty tree's root is ``zero_hashes(depth)[depth]``."""
        return self._levels[self._depth].get(0, self._zeros[self._depth])

    def __len__(self) -> int:
        """Number of non-empty leaves."""
        return len(self._levels[0])

    def __repr__(self) -> str:
        return f"SparseMerkleTree(depth={self._depth}, leaves={len(self)}, root={self.root:#x})"

    def get(self, index: int) -> int:
        """Leaf value at ``index`` (0 when empty)."""
        index = _check_index(index, self._depth)
        return self._levels[0].get(index, 0)

    def items(self) -> list[tuple[int, int]]:
        """Non-empty leaves as ``(index, value)`` pairs in index order."""
        return sorted(self._levels[0].items())

    def path(self, index: int) -> list[int]:
        """Siblings of leaf ``index``, bottom-up (``depth`` values), as the circuits take them."""
        index = _check_index(index, self._depth)
        out = []
        for level in range(self._depth):
            sibling = (index >> level) ^ 1
            out.append(self._levels[level].get(sibling, self._zeros[level]))
        return out

    @staticmethod
    def verify_path(root: int, index: int, leaf: int, siblings: Sequence[int]) -> bool:
        """True iff ``leaf`` sits at ``index`` under ``root`` with these bottom-up siblings.

        Returns False (rather than raising) for an out-of-range index or non-field values, since
        a verifier is asked about untrusted data and "no" is the answer.
        """
        try:
            return compute_root(index, leaf, siblings) == root
        except (IndexError, FieldRangeError, TypeError):
            return False

    # -- write side --------------------------------------------------------------------------

    def set(self, index: int, value: int) -> None:
        """Write one leaf (``value`` 0 clears it); costs at most ``depth`` hashes."""
        self.set_many({index: value})

    def set_with_path(self, index: int, value: int) -> tuple[int, list[int]]:
        """Write one leaf and return ``(old_value, siblings)``: the witness of one sequential
        ``MerkleUpdate`` step (the siblings are the same before and after the write)."""
        old = self.get(index)
        siblings = self.path(index)
        self.set_many({index: value})
        return old, siblings

    def set_many(self, updates: Mapping[int, int]) -> None:
        """Write several leaves and recompute the root, hashing each touched node once.

        All indices and values are validated before anything changes, so a bad update leaves the
        tree untouched. Writes that do not change a leaf are dropped. Going up level by level,
        the set of touched positions is deduplicated, so nodes shared by several updated leaves
        (the upper path) are hashed once per batch, all of a level's nodes in one ``hash_pairs``
        call; a node whose children are both empty takes the precomputed zero hash without a
        Poseidon call.
        """
        depth = self._depth
        leaves = self._levels[0]
        changed: dict[int, int] = {}
        for index, value in updates.items():
            index = _check_index(index, depth)
            value = check_field(value, "leaf")
            if leaves.get(index, 0) != value:
                changed[index] = value
        if not changed:
            return
        for index, value in changed.items():
            if value:
                leaves[index] = value
            else:
                del leaves[index]
        touched: Iterable[int] = changed.keys()
        zeros = self._zeros
        for level in range(depth):
            below = self._levels[level]
            above = self._levels[level + 1]
            zero_below = zeros[level]
            parents = {pos >> 1 for pos in touched}
            # One hash_pairs call per level: the children of every touched non-empty parent.
            hashed: list[int] = []
            flat: list[int] = []
            for parent in parents:
                left = below.get(2 * parent)
                right = below.get(2 * parent + 1)
                if left is None and right is None:
                    above.pop(parent, None)  # empty subtree: implicit zero hash
                    continue
                hashed.append(parent)
                flat.append(zero_below if left is None else left)
                flat.append(zero_below if right is None else right)
            if hashed:
                above.update(zip(hashed, hash_pairs(flat), strict=True))
                self.hash_count += len(hashed)
            touched = parents

    # -- persistence -------------------------------------------------------------------------

    def snapshot(self) -> dict[int, int]:
        """Non-empty leaves as a plain ``{index: value}`` dict: all a restart needs, since the
        internal nodes are a pure function of the leaves (see ``from_snapshot``)."""
        return dict(self._levels[0])

    @classmethod
    def from_snapshot(cls, depth: int, leaves: Mapping[int, int]) -> SparseMerkleTree:
        """Rebuild a tree from ``snapshot()`` output in one batch (each node hashed once)."""
        tree = cls(depth)
        tree.set_many(leaves)
        return tree

    # -- invariants --------------------------------------------------------------------------

    def _check(self) -> None:
        """Recompute every stored node from the leaves and assert the structure is consistent.

        Checks: indices in range, leaf values non-zero field elements, each stored internal node
        present exactly when its subtree has a non-empty leaf and equal to the hash of its
        children, and nothing else stored. Cost is one hash per stored internal node. Raises
        AssertionError with a dump of the offending level on failure.
        """
        depth = self._depth
        assert len(self._levels) == depth + 1, f"expected {depth + 1} levels"
        assert len(self._zeros) == depth + 1 and self._zeros[0] == 0
        for index, value in self._levels[0].items():
            assert 0 <= index < (1 << depth), f"leaf index {index} out of range"
            assert value != 0, f"empty leaf {index} stored explicitly"
            check_field(value, "stored leaf")
        for level in range(depth):
            below = self._levels[level]
            expected: dict[int, int] = {}
            for parent in {pos >> 1 for pos in below}:
                left = below.get(2 * parent, self._zeros[level])
                right = below.get(2 * parent + 1, self._zeros[level])
                expected[parent] = hash2(left, right)
            stored = self._levels[level + 1]
            if stored != expected:
                extra = sorted(set(stored) - set(expected))
                missing = sorted(set(expected) - set(stored))
                wrong = sorted(p for p in set(stored) & set(expected) if stored[p] != expected[p])
                raise AssertionError(
                    f"level {level + 1} inconsistent: extra={extra} missing={missing} "
                    f"wrong={wrong}; below={dict(sorted(below.items()))} "
                    f"stored={dict(sorted(stored.items()))}"
                )
        if depth and not self._levels[0]:
            assert self.root == self._zeros[depth]
