"""Deterministic tests of proofs.merkle.SparseMerkleTree against a dense reference."""

from __future__ import annotations

import doctest
import random
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs import merkle
from proofs.merkle import (
    MAX_DEPTH,
    SparseMerkleTree,
    compute_root,
    levels_for,
    zero_hashes,
)
from proofs.poseidon import FIELD_MODULUS, FieldRangeError
from proofs.poseidon_wide import poseidon

# zero_hashes(3) from the slow reference Poseidon (proofs.poseidon_wide); z2 is cross-checked
# in-circuit (empty MerkleRoot(4)) by tests/test_circuit_merkle.py.
ZEROS_3 = (
    0,
    2351654555892372227640888372176282444150254868378439619268573230312091195718,
    13867732332339151465497925642082178974038372652152621168903203076445231043372,
    12482638920258770416445069396084160696706909713694235655126678204295434816978,
)


def dense_root(depth: int, leaves: dict[int, int]) -> int:
    """Independent reference: hash every node of the full 4-ary tree with the slow Poseidon.
    An odd depth is the tree of the next even depth whose upper half of leaves stays empty."""
    level = [leaves.get(i, 0) for i in range(4 ** levels_for(depth))]
    while len(level) > 1:
        level = [poseidon(level[i : i + 4]) for i in range(0, len(level), 4)]
    return level[0]


def test_exports() -> None:
    public = {
        name
        for name, value in vars(merkle).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", merkle.__name__) == merkle.__name__
    }
    assert (
        set(merkle.__all__)
        == public
        == {
            "ARITY",
            "MAX_DEPTH",
            "SparseMerkleTree",
            "below_tier",
            "compute_root",
            "levels_for",
            "tier_levels",
            "tier_update",
            "zero_hashes",
        }
    )


def test_zero_hashes_pinned() -> None:
    assert zero_hashes(3) == ZEROS_3
    assert zero_hashes(0) == (0,)
    assert zero_hashes(10)[:4] == ZEROS_3
    with pytest.raises(ValueError):
        zero_hashes(levels_for(MAX_DEPTH) + 1)
    assert [levels_for(d) for d in (1, 2, 3, 12, 16, 17)] == [1, 1, 2, 6, 8, 9]


def test_empty_tree() -> None:
    t = SparseMerkleTree(4)
    assert t.root == ZEROS_3[2] == dense_root(4, {})
    assert len(t) == 0 and t.capacity == 16 and t.depth == 4 and t.levels == 2
    assert t.path(3) == [0, 0, 0, ZEROS_3[1], ZEROS_3[1], ZEROS_3[1]]
    assert t.hash_count == 0
    t._check()


@pytest.mark.parametrize("depth", [0, -1, MAX_DEPTH + 1, True, 2.0])
def test_bad_depth(depth: object) -> None:
    with pytest.raises(ValueError):
        SparseMerkleTree(depth)  # type: ignore[arg-type]


@pytest.mark.parametrize("depth", [3, 4])
def test_set_get_and_dense_agreement(depth: int) -> None:
    rng = random.Random(depth)
    t = SparseMerkleTree(depth)
    ref: dict[int, int] = {}
    for _ in range(30):
        i = rng.randrange(1 << depth)
        v = rng.choice([0, 1, rng.randrange(FIELD_MODULUS)])
        t.set(i, v)
        ref[i] = v
        t._check()
        assert t.get(i) == v
        assert t.root == dense_root(depth, ref)
        assert SparseMerkleTree.verify_path(t.root, i, v, t.path(i))
        assert compute_root(i, v, t.path(i), depth) == t.root
    assert t.snapshot() == {i: v for i, v in ref.items() if v}


def test_path_order_is_child_order_without_the_node() -> None:
    t = SparseMerkleTree(2)  # one level: the root hashes the four leaves
    t.set_many({0: 10, 1: 11, 2: 12, 3: 13})
    assert t.path(0) == [11, 12, 13]
    assert t.path(2) == [10, 11, 13]
    assert t.root == poseidon([10, 11, 12, 13])
    u = SparseMerkleTree(1)  # odd depth: children 2, 3 of the root are always empty
    u.set_many({0: 5, 1: 6})
    assert u.root == poseidon([5, 6, 0, 0]) and u.path(1) == [5, 0, 0]
    with pytest.raises(IndexError):
        u.set(2, 1)


def test_clearing_everything_returns_to_empty_root() -> None:
    t = SparseMerkleTree(6)
    t.set_many({1: 5, 40: 6, 63: 7})
    t.set_many({1: 0, 40: 0, 63: 0})
    t._check()
    assert t.root == zero_hashes(3)[3]
    assert all(not level for level in t._levels)


def test_set_many_hashes_each_touched_node_once() -> None:
    depth = 8  # 4 levels
    t = SparseMerkleTree(depth)
    # Two leaves under one bottom node: one shared path of 4 nodes.
    t.set_many({4: 1, 7: 2})
    assert t.hash_count == 4
    # Leaves under two bottom nodes of one level-2 node: 2 + 3 shared.
    before = t.hash_count
    t.set_many({8: 1, 9: 2, 12: 3, 13: 4})
    assert t.hash_count - before == 2 + 3
    # Leaves 0 and 255 share only the root.
    before = t.hash_count
    t.set_many({0: 7, 255: 7})
    assert t.hash_count - before == 2 * 3 + 1
    # Same leaves one by one cost a full path each.
    u = SparseMerkleTree(depth)
    for i, v in {4: 1, 7: 2, 8: 1, 9: 2, 12: 3, 13: 4, 0: 7, 255: 7}.items():
        u.set(i, v)
    assert u.hash_count == 8 * 4 > t.hash_count
    assert u.root == t.root
    t._check()


def test_unchanged_writes_and_full_clears_cost_nothing() -> None:
    t = SparseMerkleTree(8)
    t.set_many({3: 9, 200: 1})
    before = (t.hash_count, t.root)
    t.set_many({3: 9, 200: 1, 17: 0})
    assert (t.hash_count, t.root) == before
    # Clearing the only leaf under a subtree takes zero hashes until the shared part.
    t.set(200, 0)
    assert t.hash_count - before[0] == 1  # only the root mixes the two subtrees
    t._check()


def test_set_many_is_atomic_on_bad_input() -> None:
    t = SparseMerkleTree(4)
    t.set(1, 1)
    root = t.root
    for bad in ({2: 5, 16: 1}, {2: 5, 3: FIELD_MODULUS}, {2: 5, -1: 1}):
        with pytest.raises((IndexError, FieldRangeError)):
            t.set_many(bad)
        assert t.root == root and t.get(2) == 0
    with pytest.raises(TypeError):
        t.set_many({True: 1})
    t._check()


def test_set_with_path_is_update_witness() -> None:
    t = SparseMerkleTree(5)
    t.set_many({3: 11, 9: 12})
    old_root = t.root
    old, siblings = t.set_with_path(9, 99)
    assert old == 12
    assert compute_root(9, 12, siblings, 5) == old_root
    assert compute_root(9, 99, siblings, 5) == t.root
    assert siblings == t.path(9)


def test_verify_path_rejects() -> None:
    t = SparseMerkleTree(4)
    t.set_many({2: 20, 7: 70})
    path = t.path(2)
    assert SparseMerkleTree.verify_path(t.root, 2, 20, path)
    assert not SparseMerkleTree.verify_path(t.root, 2, 21, path)
    assert not SparseMerkleTree.verify_path(t.root, 3, 20, path)
    assert not SparseMerkleTree.verify_path(t.root, 16, 20, path)
    assert not SparseMerkleTree.verify_path(t.root, 2, FIELD_MODULUS, path)
    bad = list(path)
    bad[2] += 1
    assert not SparseMerkleTree.verify_path(t.root, 2, 20, bad)
    assert not SparseMerkleTree.verify_path(t.root, 2, 20, path[:-1])
    assert not SparseMerkleTree.verify_path(t.root, 2, 20, path[:-3])
    with pytest.raises(ValueError, match="depth"):
        compute_root(2, 20, path, 6)


def test_snapshot_roundtrip_rebuilds_tree() -> None:
    rng = random.Random(7)
    t = SparseMerkleTree(20)
    t.set_many({rng.randrange(1 << 20): rng.randrange(1, 1 << 64) for _ in range(50)})
    snap = t.snapshot()
    assert all(isinstance(k, int) and isinstance(v, int) for k, v in snap.items())
    u = SparseMerkleTree.from_snapshot(20, snap)
    assert u.root == t.root
    assert u.snapshot() == snap
    u._check()


def test_check_detects_corruption() -> None:
    t = SparseMerkleTree(4)
    t.set_many({1: 1, 9: 2})
    t._levels[2][0] += 1
    with pytest.raises(AssertionError, match="level 2"):
        t._check()
    t = SparseMerkleTree(4)
    t.set(1, 1)
    t._levels[1][3] = 3
    with pytest.raises(AssertionError, match="extra"):
        t._check()


def test_repr() -> None:
    assert "depth=4" in repr(SparseMerkleTree(4))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.integers(min_value=0, max_value=31),
            st.sampled_from([0, 1, 2, FIELD_MODULUS - 1]),
            max_size=6,
        ),
        max_size=5,
    )
)
def test_batches_match_dense_reference(batches: list[dict[int, int]]) -> None:
    t = SparseMerkleTree(5)
    ref: dict[int, int] = {}
    for batch in batches:
        t.set_many(batch)
        ref.update(batch)
        t._check()
        assert t.root == dense_root(5, ref)


def test_docstring_examples() -> None:
    result = doctest.testmod(merkle)
    assert result.attempted > 0 and result.failed == 0


def test_tier_helpers_match_the_tree() -> None:
    # the tier is the level tier_levels under the root; a write's tier follows from the path
    # under it, and the tier hashes back to the root
    rng = random.Random(11)
    for depth in (3, 4, 5, 8, 12):
        tree = SparseMerkleTree(depth)
        tree.set_many({rng.randrange(1 << depth): rng.randrange(1, 1 << 200) for _ in range(9)})
        t = merkle.tier_levels(depth)
        assert tree.tier() == tree.nodes(tree.levels - t) and len(tree.tier()) == 4**t
        index, leaf = rng.randrange(1 << depth), rng.randrange(1, 1 << 200)
        path = tree.path(index)
        below = merkle.below_tier(path)
        assert below == path[: 3 * (tree.levels - t)]
        expected = merkle.tier_update(tree.tier(), index, leaf, below)
        tree.set(index, leaf)
        assert tree.tier() == expected
        level = tree.tier()
        while len(level) > 1:
            level = [merkle.hash_n(level[i : i + 4]) for i in range(0, len(level), 4)]
        assert level == [tree.root]
    assert merkle.below_tier([]) == []
