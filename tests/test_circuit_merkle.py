"""MerkleRoot / MerkleUpdate / MerkleUpdateIfEnabled in-circuit, against proofs.merkle."""

from __future__ import annotations

import random
from pathlib import Path

import groth16py
import pytest

from proofs.circom import CompiledCircuit, compile_circuit
from proofs.merkle import SparseMerkleTree, compute_root, levels_for, tier_levels, zero_hashes
from proofs.poseidon import FIELD_MODULUS

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "circuits"
DEPTH = 8
LEVELS = levels_for(DEPTH)


def _compile(name: str) -> CompiledCircuit:
    return compile_circuit(ROOT / "tests" / "circuits" / f"{name}_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def root8() -> CompiledCircuit:
    return _compile("merkle_root8")


@pytest.fixture(scope="module")
def update8() -> CompiledCircuit:
    return _compile("merkle_update8")


@pytest.fixture(scope="module")
def update5() -> CompiledCircuit:
    return _compile("merkle_update5")


@pytest.fixture(scope="module")
def update_if8() -> CompiledCircuit:
    return _compile("merkle_update_if8")


def _tree(seed: int = 3, depth: int = DEPTH) -> SparseMerkleTree:
    rng = random.Random(seed)
    tree = SparseMerkleTree(depth)
    tree.set_many({rng.randrange(1 << depth): rng.randrange(FIELD_MODULUS) for _ in range(20)})
    return tree


def test_merkle_root_empty_tree(root8: CompiledCircuit) -> None:
    empty_root = zero_hashes(LEVELS)[LEVELS]
    siblings = [z for z in zero_hashes(LEVELS)[:LEVELS] for _ in range(3)]
    proof = root8.prove({"leaf": 0, "index": 0, "siblings": siblings}, [empty_root])
    assert root8.verify(proof, [empty_root])


def test_merkle_root_matches_tree(root8: CompiledCircuit) -> None:
    tree = _tree()
    for index in (0, 1, 2, 3, 170, 255):
        leaf = tree.get(index)
        inputs = {"leaf": leaf, "index": index, "siblings": tree.path(index)}
        proof = root8.prove(inputs, [tree.root])
        assert root8.verify(proof, [tree.root])
        assert not root8.verify(proof, [tree.root + 1])


def test_merkle_root_rejects_index_out_of_range(root8: CompiledCircuit) -> None:
    # Index 256 would alias index 0 if Num2Bits(8) did not constrain it.
    tree = _tree()
    inputs = {"leaf": tree.get(0), "index": 1 << DEPTH, "siblings": tree.path(0)}
    with pytest.raises(groth16py.WitnessError):
        root8.prove(inputs, [tree.root])


def _step(tree: SparseMerkleTree, index: int, value: int) -> tuple[dict[str, object], int, int]:
    old_root = tree.root
    old_leaf, siblings = tree.set_with_path(index, value)
    inputs = {
        "oldRoot": old_root,
        "oldLeaf": old_leaf,
        "newLeaf": value,
        "index": index,
        "siblings": siblings,
    }
    return inputs, old_root, tree.root


def test_merkle_update_chain_matches_tree(update8: CompiledCircuit) -> None:
    tree = _tree()
    # Sequential steps of one block: each step's newRoot is the next step's oldRoot.
    for index, value in [(5, 1), (5, 2), (200, 0), (255, FIELD_MODULUS - 1)]:
        inputs, old_root, new_root = _step(tree, index, value)
        # Public signals: outputs first (newRoot), then public inputs (oldRoot).
        proof = update8.prove(inputs, [new_root, old_root])
        assert update8.verify(proof, [new_root, old_root])
        assert not update8.verify(proof, [new_root, (old_root + 1) % FIELD_MODULUS])
        if new_root != old_root:
            assert not update8.verify(proof, [old_root, new_root])
    tree._check()


def test_merkle_update_odd_depth(update5: CompiledCircuit) -> None:
    # Depth 5: three levels, the top one with children 2 and 3 always empty (index bit 5 is 0).
    tree = _tree(4, depth=5)
    for index, value in [(0, 3), (31, 4), (16, 0), (21, 9)]:
        inputs, old_root, new_root = _step(tree, index, value)
        proof = update5.prove(inputs, [new_root, old_root])
        assert update5.verify(proof, [new_root, old_root])
    # Index 32 is outside 2^5 even though three levels could address 64 leaves.
    inputs, old_root, new_root = _step(tree, 0, 5)
    with pytest.raises(groth16py.WitnessError):
        update5.prove({**inputs, "index": 32}, [new_root, old_root])


@pytest.mark.parametrize("tamper", ["sibling", "old_leaf", "old_root", "index"])
def test_merkle_update_must_fail(update8: CompiledCircuit, tamper: str) -> None:
    tree = _tree()
    inputs, old_root, new_root = _step(tree, 77, 1234)
    if tamper == "sibling":
        siblings = list(inputs["siblings"])  # type: ignore[call-overload]
        siblings[3] = (siblings[3] + 1) % FIELD_MODULUS
        inputs["siblings"] = siblings
    elif tamper == "old_leaf":
        inputs["oldLeaf"] = (int(inputs["oldLeaf"]) + 1) % FIELD_MODULUS  # type: ignore[call-overload]
    elif tamper == "old_root":
        inputs["oldRoot"] = (int(inputs["oldRoot"]) + 1) % FIELD_MODULUS  # type: ignore[call-overload]
    else:
        inputs["index"] = 78
    with pytest.raises(groth16py.WitnessError):
        update8.prove(inputs, [new_root, old_root])


def test_merkle_update_if_enabled(update_if8: CompiledCircuit) -> None:
    tree = _tree()
    inputs, old_root, new_root = _step(tree, 9, 99)
    proof = update_if8.prove({"enabled": 1, **inputs}, [new_root, 1, old_root])
    # Public signals: newRoot, then enabled, oldRoot.
    assert update_if8.verify(proof, [new_root, 1, old_root])
    assert not update_if8.verify(proof, [old_root, 1, old_root])


def test_merkle_update_if_disabled_is_noop(update_if8: CompiledCircuit) -> None:
    root = _tree().root
    # Padding slot: all-zero witness, root carried through unchanged.
    padding = {
        "enabled": 0,
        "oldRoot": root,
        "oldLeaf": 0,
        "newLeaf": 0,
        "index": 0,
        "siblings": [0] * (3 * LEVELS),
    }
    proof = update_if8.prove(padding, [root, 0, root])
    assert update_if8.verify(proof, [root, 0, root])
    # Even a garbage newLeaf cannot move the root while disabled.
    junk = [7] * (3 * LEVELS)
    proof = update_if8.prove({**padding, "newLeaf": 5, "siblings": junk}, [root, 0, root])
    assert update_if8.verify(proof, [root, 0, root])
    assert not update_if8.verify(proof, [compute_root(0, 5, junk), 0, root])


@pytest.mark.parametrize("enabled", [1, 2])
def test_merkle_update_if_must_fail(update_if8: CompiledCircuit, enabled: int) -> None:
    tree = _tree()
    inputs, old_root, new_root = _step(tree, 9, 99)
    if enabled == 1:
        inputs["oldLeaf"] = 12345  # wrong old leaf while enabled
    with pytest.raises(groth16py.WitnessError):
        update_if8.prove({"enabled": enabled, **inputs}, [new_root, enabled, old_root])


# --- tiers: the block circuit's register-held top levels (proofs.merkle.tier_levels) ---------


@pytest.fixture(scope="module")
def tier_update8() -> CompiledCircuit:
    return _compile("merkle_tier_update8")


@pytest.fixture(scope="module")
def tier_update5() -> CompiledCircuit:
    return _compile("merkle_tier_update5")


def _tier_step(
    tree: SparseMerkleTree, index: int, value: int
) -> tuple[dict[str, object], list[int], list[int]]:
    """A write's tier witness: the path below the tier only; (inputs, tier before, after)."""
    below = 3 * (tree.levels - tier_levels(tree.depth))
    old_tier = tree.tier()
    inputs, _, _ = _step(tree, index, value)
    del inputs["oldRoot"]
    inputs["siblings"] = inputs["siblings"][:below]  # type: ignore[index]
    return {"oldTier": old_tier, **inputs}, old_tier, tree.tier()


def test_tier_shape() -> None:
    # two register levels from three levels up, one below, and never the whole path
    assert [tier_levels(d) for d in (1, 2, 3, 4, 5, 6, 12, 16, 24)] == [0, 0, 1, 1, 2, 2, 2, 2, 2]
    tree = _tree()
    assert len(tree.tier()) == 16 and tree.nodes(tree.levels) == [tree.root]
    assert tree.nodes(0)[170] == tree.get(170)
    with pytest.raises(ValueError):
        tree.nodes(tree.levels + 1)


@pytest.mark.parametrize("depth", [5, 8])
def test_tier_update_chain_matches_tree(
    depth: int, tier_update8: CompiledCircuit, tier_update5: CompiledCircuit
) -> None:
    circuit = tier_update8 if depth == 8 else tier_update5
    tree = _tree(5, depth=depth)
    top = (1 << depth) - 1
    # writes under different tier nodes and twice under the same one, a clear, an insert
    for index, value in [(5, 1), (top, 2), (6, 3), (5, 0), (top // 2, FIELD_MODULUS - 1)]:
        inputs, before, after = _tier_step(tree, index, value)
        proof = circuit.prove({"enabled": 1, **inputs}, [*after, 1, *before])
        assert circuit.verify(proof, [*after, 1, *before])
        assert not circuit.verify(proof, [*before, 1, *before]) or before == after
    tree._check()


def test_tier_update_disabled_is_noop(tier_update8: CompiledCircuit) -> None:
    tree = _tree()
    tier = tree.tier()
    junk = {"oldTier": tier, "oldLeaf": 3, "newLeaf": 5, "index": 77, "siblings": [7] * 6}
    proof = tier_update8.prove({"enabled": 0, **junk}, [*tier, 0, *tier])
    assert tier_update8.verify(proof, [*tier, 0, *tier])


@pytest.mark.parametrize("tamper", ["sibling", "old_leaf", "tier_node", "other_node", "index"])
def test_tier_update_must_fail(tier_update8: CompiledCircuit, tamper: str) -> None:
    tree = _tree()
    inputs, before, after = _tier_step(tree, 77, 1234)
    node = 77 >> 4  # the tier node above leaf 77 (two levels below it)
    if tamper == "sibling":
        inputs["siblings"] = [*inputs["siblings"][:3], 1, *inputs["siblings"][4:]]  # type: ignore[index]
    elif tamper == "old_leaf":
        inputs["oldLeaf"] = int(inputs["oldLeaf"]) + 1  # type: ignore[call-overload]
    elif tamper == "tier_node":
        before = [*before]
        before[node] += 1
        inputs["oldTier"] = before
    elif tamper == "other_node":
        # the write may only change its own tier node: claim another one changed too
        after = [*after]
        after[(node + 1) % 16] += 1
    else:
        inputs["index"] = 77 + 16  # same path below, another tier node
    with pytest.raises(groth16py.WitnessError):
        tier_update8.prove({"enabled": 1, **inputs}, [*after, 1, *before])


def test_tier_root_matches_tree() -> None:
    circuit = _compile("tier_root2")
    for depth in (5, 8):
        tree = _tree(6, depth=depth)
        tier = tree.tier()
        proof = circuit.prove({"tier": tier}, [tree.root, *tier])
        assert circuit.verify(proof, [tree.root, *tier])
        assert not circuit.verify(proof, [tree.root + 1, *tier])
