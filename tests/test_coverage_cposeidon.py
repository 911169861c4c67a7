"""Compiled Poseidon (``proofs._poseidon``) against light-poseidon and the Python reference.

Poseidon(2) is checked against light-poseidon and ``proofs.poseidon_wide``; Poseidon(1..5)
(``hash_n``/``hash_groups``) against ``proofs.poseidon_wide`` and circomlibjs, and against
light-poseidon at width 2: light-poseidon-python 0.1.10's ``Hasher`` takes exactly 2 inputs.

Skipped as a whole when the extension is not built (``BUILD_EXTENSION=no``): ``proofs.poseidon``
then runs on light-poseidon alone.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import light_poseidon_python
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofs import merkle, poseidon
from proofs.merkle import SparseMerkleTree
from proofs.poseidon_wide import poseidon as reference_poseidon
from tests.node_helpers import circomlibjs_poseidon

cposeidon = pytest.importorskip("proofs._poseidon")

P = poseidon.FIELD_MODULUS
ROOT = Path(__file__).resolve().parent.parent
CIRCOMLIB_POSEIDON_1_2 = (
    7853200120776062878684798364095072458815029376092732009249414926327459813530
)
_LIGHT = light_poseidon_python.Hasher(2)


def light_hash2(a: int, b: int) -> int:
    return int(_LIGHT.hash([a, b]))


# Edge values: 0, 1, p - 1, limb and 2^253 / 2^254 boundaries below p.
EDGES = sorted(
    {0, 1, 2, P - 1, P - 2, (1 << 253) - 1, 1 << 253, (1 << 253) + 1, P - (1 << 64)}
    | {(1 << k) - 1 for k in (63, 64, 65, 127, 128, 191, 192, 252)}
    | {1 << k for k in (63, 64, 128, 192, 252)}
    | {(1 << 254) - P, P - ((1 << 254) - P)}
)
assert all(0 <= x < P for x in EDGES)

field = st.one_of(
    st.sampled_from(EDGES),
    st.integers(min_value=0, max_value=P - 1),
    st.integers(min_value=P - (1 << 70), max_value=P - 1),  # just below p
    st.integers(min_value=(1 << 253) - (1 << 70), max_value=(1 << 253) + (1 << 70)),
)


def test_module_surface() -> None:
    assert cposeidon.__all__ == [
        "ARITHMETIC",
        "FIELD_MODULUS",
        "WIDTHS",
        "babyjub_unpack_point",
        "eddsa_poseidon_verify",
        "hash2",
        "hash_groups",
        "hash_n",
        "hash_pairs",
    ]
    assert cposeidon.ARITHMETIC in ("adx", "portable")
    assert cposeidon.FIELD_MODULUS == P
    assert cposeidon.WIDTHS == (1, 2, 3, 4, 5)
    assert poseidon.BACKEND == "compiled"
    assert poseidon.COMPILED_WIDTHS == (1, 2, 3, 4, 5)
    assert poseidon._backend_hash2 is cposeidon.hash2
    assert poseidon._backend_hash_n is cposeidon.hash_n
    assert poseidon._backend_hash_groups is cposeidon.hash_groups


def test_circomlib_vector() -> None:
    assert cposeidon.hash2(1, 2) == CIRCOMLIB_POSEIDON_1_2
    assert poseidon.hash2(1, 2) == CIRCOMLIB_POSEIDON_1_2
    assert cposeidon.hash_pairs([1, 2]) == [CIRCOMLIB_POSEIDON_1_2]


@pytest.mark.parametrize("a", EDGES)
def test_edges_match_light_poseidon(a: int) -> None:
    for b in EDGES:
        expected = light_hash2(a, b)
        assert cposeidon.hash2(a, b) == expected
        assert cposeidon._hash2_portable(a, b) == expected


@given(field, field)
def test_matches_light_poseidon_and_reference(a: int, b: int) -> None:
    expected = light_hash2(a, b)
    assert cposeidon.hash2(a, b) == expected
    assert cposeidon._hash2_portable(a, b) == expected  # the non-ADX product, on any CPU
    assert reference_poseidon([a, b]) == expected


@given(st.lists(field, max_size=40).filter(lambda xs: len(xs) % 2 == 0))
def test_hash_pairs_is_repeated_hash2(flat: list[int]) -> None:
    expected = [cposeidon.hash2(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
    assert cposeidon.hash_pairs(flat) == expected
    assert poseidon.hash_pairs(flat) == expected
    assert poseidon._light_hash_pairs(flat) == expected


def test_hash_pairs_large_batch() -> None:
    rng = random.Random(7)
    flat = [rng.randrange(P) for _ in range(2048)]
    expected = [light_hash2(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
    assert cposeidon.hash_pairs(flat) == expected


def test_output_is_exact_int() -> None:
    out = cposeidon.hash2(0, 0)
    assert type(out) is int and 0 <= out < P
    assert all(type(x) is int for x in cposeidon.hash_pairs([0, 0, 1, 2]))


@pytest.mark.parametrize("bad", [-1, P, P + 1, (1 << 256) - 1, 1 << 256, -(1 << 300)])
def test_out_of_field_is_rejected_not_reduced(bad: int) -> None:
    with pytest.raises(ValueError):
        cposeidon.hash2(bad, 1)
    with pytest.raises(ValueError):
        cposeidon.hash2(1, bad)
    with pytest.raises(ValueError):
        cposeidon.hash_pairs([1, 2, bad, 3])
    with pytest.raises(poseidon.FieldRangeError):
        poseidon.hash_pairs([1, bad])


@pytest.mark.parametrize("bad", [1.0, "1", None, b"\x01"])
def test_non_ints_are_rejected(bad: object) -> None:
    with pytest.raises(TypeError):
        cposeidon.hash2(bad, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cposeidon.hash_pairs([1, bad])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        poseidon.hash_pairs([1, bad])  # type: ignore[list-item]


def test_hash_pairs_argument_shape() -> None:
    assert cposeidon.hash_pairs([]) == []
    assert poseidon.hash_pairs([]) == []
    with pytest.raises(ValueError, match="even"):
        cposeidon.hash_pairs([1, 2, 3])
    with pytest.raises(ValueError, match="even"):
        poseidon.hash_pairs([1, 2, 3])
    with pytest.raises(TypeError):
        cposeidon.hash_pairs((1, 2))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cposeidon.hash_pairs(None)  # type: ignore[arg-type]


def _naive_root(depth: int, leaves: dict[int, int], hash4: object) -> int:
    """Root of a full 4-ary tree of ``2**depth`` leaves (even depth), hashed level by level
    with the given ``hash4`` of a list of four children."""
    level = [leaves.get(i, 0) for i in range(1 << depth)]
    while len(level) > 1:
        level = [hash4(level[i : i + 4]) for i in range(0, len(level), 4)]  # type: ignore[operator]
    return level[0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_merkle_root_matches_reference(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    depth = 6
    batches = [
        {rng.randrange(1 << depth): rng.choice([0, rng.randrange(P), P - 1]) for _ in range(9)}
        for _ in range(5)
    ]
    compiled = SparseMerkleTree(depth)
    for batch in batches:
        compiled.set_many(batch)
        compiled._check()
    leaves = dict(compiled.items())
    # Independent root with the pure-Python Poseidon(4) called directly.
    assert compiled.root == _naive_root(depth, leaves, reference_poseidon)

    # The same updates through the fallback backends (as when the extension is not built).
    monkeypatch.setattr(poseidon, "COMPILED_WIDTHS", ())
    monkeypatch.setattr(poseidon, "_backend_hash2", poseidon._light_hash2)
    monkeypatch.setattr(poseidon, "_backend_hash_pairs", poseidon._light_hash_pairs)
    monkeypatch.setattr(merkle, "_ZEROS", [0])  # recompute the zero hashes on the fallback
    fallback = SparseMerkleTree(depth)
    for batch in batches:
        fallback.set_many(batch)
        fallback._check()
    assert fallback.root == compiled.root
    assert fallback.hash_count == compiled.hash_count
    assert fallback.path(5) == compiled.path(5)


def test_generated_header_is_current() -> None:
    script = ROOT / "cython_ext" / "gen_poseidon_header.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_bounds_directives_are_justified() -> None:
    """Every boundscheck(False)/wraparound(False) sits under a comment saying why it is safe."""
    lines = (ROOT / "cython_ext" / "_poseidon.pyx").read_text().splitlines()
    for i, line in enumerate(lines):
        if "boundscheck(False)" in line or "wraparound(False)" in line:
            above = lines[max(0, i - 6) : i]
            assert any("boundscheck/wraparound off:" in x for x in above), f"line {i + 1}"


def test_fallback_module_without_extension() -> None:
    """``proofs.poseidon`` imports and computes the same digests when the extension is absent."""
    code = (
        "import sys; sys.modules['proofs._poseidon'] = None\n"
        "from proofs import poseidon\n"
        "assert poseidon.BACKEND == 'light-poseidon', poseidon.BACKEND\n"
        "assert poseidon.COMPILED_WIDTHS == (), poseidon.COMPILED_WIDTHS\n"
        "print(poseidon.hash2(1, 2), poseidon.hash_pairs([0, 0, 1, 2]))\n"
        "print([poseidon.hash_n(list(range(1, n + 1))) for n in range(1, 6)])\n"
        "print([poseidon.hash_groups(list(range(12)), w) for w in (1, 2, 3, 4)])\n"
    )
    lines = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.splitlines()
    out = lines[0].split(maxsplit=1)
    assert int(out[0]) == CIRCOMLIB_POSEIDON_1_2
    assert out[1].strip() == str(cposeidon.hash_pairs([0, 0, 1, 2]))
    assert lines[1] == str([cposeidon.hash_n(list(range(1, n + 1))) for n in range(1, 6)])
    assert lines[2] == str([cposeidon.hash_groups(list(range(12)), w) for w in (1, 2, 3, 4)])


def _fold(xs: list[int]) -> int:
    acc = light_hash2(xs[0], xs[1])
    for x in xs[2:]:
        acc = light_hash2(acc, x)
    return acc


@given(st.lists(st.lists(field, min_size=2, max_size=6), max_size=8))
def test_hash_chains_is_repeated_hash_chain(chains: list[list[int]]) -> None:
    expected = [_fold(xs) for xs in chains]
    assert cposeidon.hash_chains(chains) == expected
    assert poseidon.hash_chains(chains) == expected
    assert poseidon._light_hash_chains(chains) == expected
    assert [poseidon.hash_chain(xs) for xs in chains] == expected


def test_hash_chains_batch_and_int_subclasses() -> None:
    rng = random.Random(11)
    chains = [[rng.randrange(P) for _ in range(rng.randrange(2, 9))] for _ in range(300)]
    assert cposeidon.hash_chains(chains) == [_fold(xs) for xs in chains]

    class U(int):
        pass

    assert poseidon.hash_chains([(U(3), U(4), 5)]) == [_fold([3, 4, 5])]
    assert poseidon.hash_chain([U(1), U(2)]) == CIRCOMLIB_POSEIDON_1_2
    assert poseidon.hash_chain([1, 2]) == CIRCOMLIB_POSEIDON_1_2


def test_hash_chains_argument_checks() -> None:
    assert cposeidon.hash_chains([]) == []
    assert poseidon.hash_chains([]) == []
    for bad_len in ([], [1]):
        with pytest.raises(ValueError, match="at least 2"):
            cposeidon.hash_chains([[1, 2], bad_len])
        with pytest.raises(ValueError, match="at least 2"):
            poseidon.hash_chains([[1, 2], bad_len])
    with pytest.raises(ValueError):
        cposeidon.hash_chains([[1, P]])
    with pytest.raises(poseidon.FieldRangeError):
        poseidon.hash_chains([[1, 2], [P, 1]])
    with pytest.raises(poseidon.FieldRangeError):
        poseidon.hash_chain([1, -1])
    with pytest.raises(TypeError):
        poseidon.hash_chains([[1, True]])
    with pytest.raises(TypeError):
        cposeidon.hash_chains([[1, "2"]])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        cposeidon.hash_chains([(1, 2)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        cposeidon.hash_chains(None)  # type: ignore[arg-type]
    with pytest.raises(poseidon.FieldRangeError):
        poseidon.hash_pairs([1, P])


def test_backends_without_compiled_hash_chains(monkeypatch: pytest.MonkeyPatch) -> None:
    """The light backend of ``hash_chains`` (used when the extension is absent or older)."""
    monkeypatch.setattr(poseidon, "_backend_hash_chains", poseidon._light_hash_chains)
    assert poseidon.hash_chain([1, 2, 3]) == _fold([1, 2, 3])
    assert poseidon.hash_chains([[0, 0], [5, 6, 7]]) == [_fold([0, 0]), _fold([5, 6, 7])]


# --- Poseidon(1..5): hash_n / hash_groups ---------------------------------------------------

WIDTHS = (1, 2, 3, 4, 5)


def _cases(n: int) -> list[list[int]]:
    """Inputs of width ``n``: all zeros, all p - 1, mixed edges and seeded random values."""
    rng = random.Random(1000 + n)
    cases = [[0] * n, [P - 1] * n, list(range(1, n + 1)), [P - 1 - i for i in range(n)]]
    cases += [[rng.choice(EDGES) for _ in range(n)] for _ in range(6)]
    cases += [[rng.randrange(P) for _ in range(n)] for _ in range(6)]
    return cases


@pytest.mark.parametrize("n", WIDTHS)
def test_hash_n_matches_reference(n: int) -> None:
    for xs in _cases(n):
        expected = reference_poseidon(xs)
        assert cposeidon.hash_n(xs) == expected, xs
        assert cposeidon.hash_n(xs, True) == expected, xs  # the non-ADX product, on any CPU
        assert poseidon.hash_n(xs) == expected, xs
        if n == 2:
            assert light_hash2(*xs) == expected
            assert cposeidon.hash2(*xs) == expected


@given(st.sampled_from(WIDTHS).flatmap(lambda n: st.lists(field, min_size=n, max_size=n)))
def test_hash_n_matches_reference_random(xs: list[int]) -> None:
    expected = reference_poseidon(xs)
    assert cposeidon.hash_n(xs) == expected
    assert cposeidon.hash_n(xs, True) == expected


def test_hash_n_matches_circomlibjs() -> None:
    """An independent reference for widths 1..5 (light-poseidon only does width 2)."""
    cases = [xs for n in WIDTHS for xs in _cases(n)[:6]]
    assert [cposeidon.hash_n(xs) for xs in cases] == circomlibjs_poseidon(cases)


@pytest.mark.parametrize("width", WIDTHS)
def test_hash_groups_is_repeated_hash_n(width: int) -> None:
    rng = random.Random(width)
    flat = [rng.choice([0, P - 1, rng.randrange(P)]) for _ in range(width * 37)]
    expected = [reference_poseidon(flat[i : i + width]) for i in range(0, len(flat), width)]
    assert cposeidon.hash_groups(flat, width) == expected
    assert cposeidon.hash_groups(flat, width, True) == expected
    assert poseidon.hash_groups(flat, width) == expected
    assert poseidon._wide_hash_groups(flat, width) == expected
    if width == 2:
        assert cposeidon.hash_pairs(flat) == expected


def test_hash_groups_large_batch() -> None:
    rng = random.Random(5)
    flat = [rng.randrange(P) for _ in range(4 * 1024)]
    out = cposeidon.hash_groups(flat, 4)
    assert len(out) == 1024 and all(type(x) is int and 0 <= x < P for x in out)
    for i in (0, 1, 511, 1023):
        assert out[i] == reference_poseidon(flat[4 * i : 4 * i + 4])


def test_hash_n_argument_checks() -> None:
    for bad_len in ([], [1] * 6, [0] * 17):
        with pytest.raises(ValueError, match=r"1\.\.5 inputs"):
            cposeidon.hash_n(bad_len)
    for bad in (-1, P, 1 << 256):
        with pytest.raises(ValueError):
            cposeidon.hash_n([1, 2, bad])
    with pytest.raises(TypeError):
        cposeidon.hash_n([1, "2"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        cposeidon.hash_n((1, 2))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cposeidon.hash_n(None)  # type: ignore[arg-type]


def test_hash_groups_argument_checks() -> None:
    assert cposeidon.hash_groups([], 4) == []
    for width in (0, 6, -1):
        with pytest.raises(ValueError, match=r"1\.\.5 inputs"):
            cposeidon.hash_groups([1] * 12, width)
    with pytest.raises(ValueError, match="multiple of 4"):
        cposeidon.hash_groups([1] * 6, 4)
    with pytest.raises(ValueError):
        cposeidon.hash_groups([1, 2, 3, P], 4)
    with pytest.raises(TypeError):
        cposeidon.hash_groups([1, 2, 3, 4.0], 4)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        cposeidon.hash_groups((1, 2, 3, 4), 4)  # type: ignore[arg-type]


def test_fallback_hash_n_and_hash_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """The public functions on the fallback backends (extension absent or older)."""
    monkeypatch.setattr(poseidon, "COMPILED_WIDTHS", ())
    monkeypatch.setattr(poseidon, "_backend_hash2", poseidon._light_hash2)
    monkeypatch.setattr(poseidon, "_backend_hash_pairs", poseidon._light_hash_pairs)
    for n in WIDTHS:
        xs = _cases(n)[-1]
        assert poseidon.hash_n(xs) == cposeidon.hash_n(xs)
        flat = xs * 3
        assert poseidon.hash_groups(flat, n) == cposeidon.hash_groups(flat, n)
