"""Deterministic tests of proofs.merkle.SparseMerkleTree against a dense reference."""

from __future__ import annotations

import doctest
import random
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs import merkle
from proofs.merkle import MAX_DEPTH, SparseMerkleTree, compute_root, zero_hashes
from proofs.poseidon import FIELD_MODULUS, FieldRangeError, hash2

# zero_hashes(4) computed here; z1 = Poseidon(0, 0) is circomlib's published value, and z8 is
# cross-checked in-circuit (empty MerkleRoot(8)) by tests/test_circuit_merkle.py.
ZEROS_4 = (
    0,
    14744269619966411208579211824598458697587494354926760081771325075741142829156,
    7423237065226347324353380772367382631490014989348495481811164164159255474657,
    11286972368698509976183087595462810875513684078608517520839298933882497716792,
    3607627140608796879659380071776844901612302623152076817094415224584923813162,
)


def dense_root(depth: int, leaves: dict[int, int]) -> int:
    """Independent reference: hash every node of the full tree."""
    level = [leaves.get(i, 0) for i in range(1 << depth)]
    while len(level) > 1:
        level = [hash2(level[i], level[i + 1]) for i in range(0, len(level), 2)]
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
            "MAX_DEPTH",
            "SparseMerkleTree",
            "compute_root",
            "zero_hashes",
        }
    )


def test_zero_hashes_pinned() -> None:
    assert zero_hashes(4) == ZEROS_4
    assert zero_hashes(0) == (0,)
    assert zero_hashes(10)[:5] == ZEROS_4
    with pytest.raises(ValueError):
        zero_hashes(MAX_DEPTH + 1)


def test_empty_tree() -> None:
    t = SparseMerkleTree(4)
    assert t.root == ZEROS_4[4] == dense_root(4, {})
    assert len(t) == 0 and t.capacity == 16 and t.depth == 4
    assert t.path(3) == list(ZEROS_4[:4])
    assert t.hash_count == 0
    t._check()


@pytest.mark.parametrize("depth", [0, -1, MAX_DEPTH + 1, True, 2.0])
def test_bad_depth(depth: object) -> None:
    with pytest.raises(ValueError):
        SparseMerkleTree(depth)  # type: ignore[arg-type]


def test_set_get_and_dense_agreement() -> None:
    rng = random.Random(1)
    t = SparseMerkleTree(4)
    ref: dict[int, int] = {}
    for _ in range(40):
        i = rng.randrange(16)
        v = rng.choice([0, 1, rng.randrange(FIELD_MODULUS)])
        t.set(i, v)
        ref[i] = v
        t._check()
        assert t.get(i) == v
        assert t.root == dense_root(4, ref)
        assert SparseMerkleTree.verify_path(t.root, i, v, t.path(i))
    assert t.snapshot() == {i: v for i, v in ref.items() if v}


def test_clearing_everything_returns_to_empty_root() -> None:
    t = SparseMerkleTree(6)
    t.set_many({1: 5, 40: 6, 63: 7})
    t.set_many({1: 0, 40: 0, 63: 0})
    t._check()
    assert t.root == zero_hashes(6)[6]
    assert all(not level for level in t._levels)


def test_set_many_hashes_each_touched_node_once() -> None:
    depth = 8
    t = SparseMerkleTree(depth)
    # Two sibling leaves: one shared path of `depth` nodes.
    t.set_many({4: 1, 5: 2})
    assert t.hash_count == depth
    # Four leaves under one level-2 node: 2 level-1 nodes + (depth - 1) shared nodes.
    before = t.hash_count
    t.set_many({8: 1, 9: 2, 10: 3, 11: 4})
    assert t.hash_count - before == 2 + (depth - 1)
    # Leaves 0 and 255 share only the root.
    before = t.hash_count
    t.set_many({0: 7, 255: 7})
    assert t.hash_count - before == 2 * (depth - 1) + 1
    # Same leaves one by one cost a full path each.
    u = SparseMerkleTree(depth)
    for i, v in {4: 1, 5: 2, 8: 1, 9: 2, 10: 3, 11: 4, 0: 7, 255: 7}.items():
        u.set(i, v)
    assert u.hash_count == 8 * depth > t.hash_count
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
    assert t.hash_count - before[0] == 1  # only the root mixes the two halves
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
    assert compute_root(9, 12, siblings) == old_root
    assert compute_root(9, 99, siblings) == t.root
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
    t._levels[1][5] = 3
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
