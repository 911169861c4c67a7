"""Sparse quaternary Merkle tree over Poseidon, updated incrementally once per block.

Shape: ``2**depth`` leaves indexed ``0 .. 2**depth - 1`` under ``levels = ceil(depth / 2)``
levels of 4-ary internal nodes. Level 0 holds the leaves, level ``levels`` the root. A node at
level ``l`` and position ``i`` has children ``(l - 1, 4i + j)`` for ``j = 0..3`` and value
``hash_n([c0, c1, c2, c3])`` (circomlib ``Poseidon(4)``). An empty leaf is 0, so an empty
subtree of height ``l`` hashes to the precomputed ``zero_hashes(...)[l]`` and is never stored.
With an odd ``depth`` the root's children 2 and 3 are always empty (the index has a top bit
less), which is exactly the circuit's index decomposition padded with a zero bit.

Why four children: a Merkle write costs two hashes per level in the circuit, and one
``Poseidon(4)`` (297 constraints) replaces two levels of ``Poseidon(2)`` (2 x 240), so a leaf
write of a depth-16 tree costs 8 x (2 x 297 + 13) = 4,856 constraints instead of 7,728
(``proofs/circuits/merkle.circom``). Python hashes fewer, wider nodes too.

Why the API looks like this: proving cost is dominated by Poseidon calls, in Python as in the
circuit, so a block's leaf writes go through ``set_many``, which hashes every touched internal
node at most once (shared upper paths once), hashing each level's nodes in one ``hash_groups``
call, and ``hash_count`` exposes the number of Poseidon hashes to tests and benchmarks. Only
nodes of non-empty subtrees are stored, one dict per level, so deep trees cost memory
proportional to the number of non-empty leaves times the number of levels.

Path convention, shared with ``MerkleRoot``/``MerkleUpdate`` in ``proofs/circuits/merkle.circom``:
``path(index)`` lists, bottom-up, the three siblings of the running node at each level, in child
order with the running node's own position left out (``3 * levels`` values); the running node's
position at level ``l`` is bits ``2l`` and ``2l + 1`` of ``index`` (least significant first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .poseidon import check_field, hash_groups, hash_n

__all__ = [
    "ARITY",
    "MAX_DEPTH",
    "SparseMerkleTree",
    "below_tier",
    "compute_root",
    "levels_for",
    "tier_levels",
    "tier_update",
    "zero_hashes",
]

ARITY: int = 4
"""Children per internal node."""

MAX_DEPTH: int = 252
"""Deepest supported tree (index bits): a leaf index must decompose into ``depth`` bits
in-circuit without wrapping around p, and ``Num2Bits(n)`` is unique only for ``n <= 253``."""

_ZEROS: list[int] = [0]


def levels_for(depth: int) -> int:
    """Internal levels of a tree of ``2**depth`` leaves: ``ceil(depth / 2)``."""
    return (depth + 1) // 2


def tier_levels(depth: int) -> int:
    """Top levels of a depth-``depth`` tree that the block circuit keeps in registers (its
    "tier": the ``4**t`` nodes ``t`` levels under the root), ``min(2, levels - 1)``.

    A block's writes then hash only the ``levels - t`` levels under the tier, and the tier is
    hashed up to the root once at the block's start and once at its end (``TierRoot``), which
    is the circuit's way of hashing shared upper paths once per block. Two levels is the
    measured optimum for production blocks (``proofs/circuits/BLOCK.md``, "Tiers"); at least one
    level stays in every path so that small test trees still exercise it."""
    return _tier_of(levels_for(depth))


def _tier_of(levels: int) -> int:
    return min(2, levels - 1) if levels else 0


def below_tier(siblings: Sequence[int]) -> list[int]:
    """The part of a bottom-up path (``path``) that a block circuit's write hashes: the levels
    under the tier (``tier_levels``), the first ``3 * (levels - tier_levels)`` siblings."""
    levels = len(siblings) // 3
    return list(siblings[: 3 * (levels - _tier_of(levels))])


def tier_update(tier: Sequence[int], index: int, leaf: int, siblings: Sequence[int]) -> list[int]:
    """The tier after writing ``leaf`` at ``index`` with the path under the tier (``below_tier``):
    what circuit ``MerkleTierUpdateIfEnabled`` outputs when enabled (the old leaf unchecked)."""
    below = len(siblings) // 3
    node = check_field(leaf, "leaf")
    for level in range(below):
        sibs = [check_field(s, "sibling") for s in siblings[3 * level : 3 * level + 3]]
        node = hash_n(_children(node, (index >> (2 * level)) & 3, sibs))
    out = list(tier)
    out[index >> (2 * below)] = node
    return out


def zero_hashes(levels: int) -> tuple[int, ...]:
    """Return ``(z0, ..., z_levels)``: ``z0 = 0`` (empty leaf), ``z(l+1) = hash_n([zl] * 4)``.

    ``z_l`` is the root of an all-empty subtree of height ``l`` (levels, not bits); the list is
    computed once per process and shared by every tree, whatever its depth.
    """
    if not 0 <= levels <= levels_for(MAX_DEPTH):
        raise ValueError(f"levels must be in [0, {levels_for(MAX_DEPTH)}], got {levels}")
    while len(_ZEROS) <= levels:
        _ZEROS.append(hash_n([_ZEROS[-1]] * ARITY))
    return tuple(_ZEROS[: levels + 1])


def _check_index(index: int, depth: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"leaf index must be an int, got {type(index).__name__}")
    if not 0 <= index < (1 << depth):
        raise IndexError(f"leaf index {index} out of range for depth {depth}")
    return int(index)


def _children(node: int, position: int, siblings: Sequence[int]) -> list[int]:
    """The four children of a level: ``siblings`` (three) with ``node`` at ``position``."""
    out = list(siblings)
    out.insert(position, node)
    return out


def compute_root(index: int, leaf: int, siblings: Sequence[int], depth: int | None = None) -> int:
    """Root implied by ``leaf`` at ``index`` with bottom-up ``siblings`` (three per level). This
    is exactly what circuit ``MerkleRoot(depth)`` computes; ``depth`` (index bits) defaults to
    ``2 * levels`` and bounds the index."""
    if len(siblings) % 3:
        raise ValueError(f"siblings come in threes per level, got {len(siblings)}")
    levels = len(siblings) // 3
    depth = 2 * levels if depth is None else depth
    if levels_for(depth) != levels:
        raise ValueError(f"{levels} levels of siblings do not fit depth {depth}")
    index = _check_index(index, depth)
    node = check_field(leaf, "leaf")
    for level in range(levels):
        sibs = [check_field(s, "sibling") for s in siblings[3 * level : 3 * level + 3]]
        node = hash_n(_children(node, (index >> (2 * level)) & 3, sibs))
    return node


class SparseMerkleTree:
    """Sparse Merkle tree of fixed ``depth`` with batched incremental updates.

    >>> t = SparseMerkleTree(4)
    >>> t.root == zero_hashes(2)[2]
    True
    >>> t.set(5, 42)
    >>> SparseMerkleTree.verify_path(t.root, 5, 42, t.path(5))
    True
    """

    __slots__ = ("_depth", "_height", "_levels", "_zeros", "hash_count")

    def __init__(self, depth: int) -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"depth must be an int in [1, {MAX_DEPTH}], got {depth!r}")
        self._depth = depth
        self._height = levels_for(depth)
        self._zeros = zero_hashes(self._height)
        # _levels[l] maps position -> value for every node at level l whose subtree holds a
        # non-empty leaf; absent means "empty subtree", i.e. value self._zeros[l].
        self._levels: list[dict[int, int]] = [{} for _ in range(self._height + 1)]
        self.hash_count: int = 0
        """Poseidon calls made by updates of this tree (zero hashes excluded), for cost tests."""

    # -- read side ---------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Bits of a leaf index (``capacity = 2**depth``)."""
        return self._depth

    @property
    def levels(self) -> int:
        """Internal 4-ary levels above the leaves (``3 * levels`` siblings per path)."""
        return self._height

    @property
    def capacity(self) -> int:
        """Number of leaf slots, ``2**depth``."""
        return 1 << self._depth

    @property
    def root(self) -> int:
        """Current root; the empty tree's root is ``zero_hashes(levels)[levels]``."""
        return self._levels[self._height].get(0, self._zeros[self._height])

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

    def nodes(self, level: int) -> list[int]:
        """Every node at ``level`` (0: the leaves, ``levels``: the root) left to right, empty
        subtrees as their zero hash: ``4**(levels - level)`` values."""
        if not 0 <= level <= self._height:
            raise ValueError(f"level must be in [0, {self._height}], got {level}")
        nodes, zero = self._levels[level], self._zeros[level]
        return [nodes.get(i, zero) for i in range(1 << (2 * (self._height - level)))]

    def tier(self) -> list[int]:
        """The block circuit's register tier: the nodes ``tier_levels(depth)`` levels under the
        root, left to right (``nodes(levels - tier_levels(depth))``)."""
        return self.nodes(self._height - tier_levels(self._depth))

    def path(self, index: int) -> list[int]:
        """Siblings of leaf ``index``, bottom-up, three per level in child order without the
        running node (``3 * levels`` values), as the circuits take them."""
        index = _check_index(index, self._depth)
        out = []
        for level in range(self._height):
            pos = index >> (2 * level)
            nodes, zero = self._levels[level], self._zeros[level]
            base = pos & ~3
            out.extend(nodes.get(base + j, zero) for j in range(ARITY) if base + j != pos)
        return out

    @staticmethod
    def verify_path(root: int, index: int, leaf: int, siblings: Sequence[int]) -> bool:
        """True iff ``leaf`` sits at ``index`` under ``root`` with these bottom-up siblings.

        Returns False (rather than raising) for an out-of-range index or non-field values, since
        a verifier is asked about untrusted data and "no" is the answer.
        """
        try:
            return compute_root(index, leaf, siblings) == root
        except (IndexError, TypeError, ValueError):  # FieldRangeError is a ValueError
            return False

    # -- write side --------------------------------------------------------------------------

    def set(self, index: int, value: int) -> None:
        """Write one leaf (``value`` 0 clears it); costs at most ``levels`` hashes."""
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
        (the upper path) are hashed once per batch, all of a level's nodes in one ``hash_groups``
        call; a node whose children are all empty takes the precomputed zero hash without a
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
        for level in range(self._height):
            below = self._levels[level]
            above = self._levels[level + 1]
            zero_below = zeros[level]
            parents = {pos >> 2 for pos in touched}
            # One hash_groups call per level: the children of every touched non-empty parent.
            hashed: list[int] = []
            flat: list[int] = []
            for parent in parents:
                kids = [below.get(4 * parent + j) for j in range(ARITY)]
                if kids == [None] * ARITY:
                    above.pop(parent, None)  # empty subtree: implicit zero hash
                    continue
                hashed.append(parent)
                flat.extend(zero_below if k is None else k for k in kids)
            if hashed:
                above.update(zip(hashed, hash_groups(flat, ARITY), strict=True))
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
        depth, height = self._depth, self._height
        assert len(self._levels) == height + 1, f"expected {height + 1} levels"
        assert len(self._zeros) == height + 1 and self._zeros[0] == 0
        for index, value in self._levels[0].items():
            assert 0 <= index < (1 << depth), f"leaf index {index} out of range"
            assert value != 0, f"empty leaf {index} stored explicitly"
            check_field(value, "stored leaf")
        for level in range(height):
            below = self._levels[level]
            zero = self._zeros[level]
            expected: dict[int, int] = {}
            for parent in {pos >> 2 for pos in below}:
                expected[parent] = hash_n([below.get(4 * parent + j, zero) for j in range(ARITY)])
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
        if not self._levels[0]:
            assert self.root == self._zeros[height]
