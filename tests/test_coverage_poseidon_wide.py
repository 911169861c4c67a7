"""proofs.poseidon_wide against circomlib's constants, a textbook Poseidon, light-poseidon
and circomlibjs."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import groth16py
import light_poseidon_python
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs import _poseidon_constants as raw
from proofs import gen_poseidon_constants as gen
from proofs.poseidon_wide import (
    FIELD_MODULUS,
    MAX_INPUTS,
    PoseidonInputError,
    _optimised,
    poseidon,
)
from tests.node_helpers import circomlibjs_poseidon

P = FIELD_MODULUS
LIB = Path(groth16py.circomlib_path(2))
WIDTHS = range(2, 18)
field = st.integers(min_value=0, max_value=P - 1)


@cache
def vendored(name: str) -> dict[str, dict[int, list[int]]]:
    """``{function: {t: flat list of numbers}}`` from a vendored poseidon_constants file."""
    text = re.sub(r"//[^\n]*", "", (LIB / name).read_text(encoding="utf-8"))
    out: dict[str, dict[int, list[int]]] = {}
    heads = list(re.finditer(r"function\s+(POSEIDON_\w+)\s*\(t\)\s*\{", text))
    for head, nxt in zip(heads, [*heads[1:], None], strict=True):
        body = text[head.end() : nxt.start() if nxt else len(text)]
        for m in re.finditer(r"t\s*==\s*(\d+)\s*\)\s*\{\s*return(.*?);", body, re.S):
            nums = [int(tok, 0) for tok in re.findall(r"0x[0-9a-fA-F]+|\d+", m.group(2))]
            out.setdefault(head.group(1), {})[int(m.group(1))] = nums
    return out


def textbook(inputs: list[int]) -> int:
    """Unoptimised Poseidon (the paper's round structure) from the raw constants."""
    t = len(inputs) + 1
    c, m = raw.ROUND_CONSTANTS[t], raw.MDS[t]
    rounds_p = gen.PARTIAL_ROUNDS[t]
    s = [0, *inputs]
    for r in range(8 + rounds_p):
        s = [(x + c[r * t + i]) % P for i, x in enumerate(s)]
        if r < 4 or r >= 4 + rounds_p:
            s = [pow(x, 5, P) for x in s]
        else:
            s[0] = pow(s[0], 5, P)
        s = [sum(m[i][j] * s[j] for j in range(t)) % P for i in range(t)]
    return s[0]


# --- parameters ---------------------------------------------------------------------------


def test_vendored_files_cover_all_widths() -> None:
    old, new = vendored("poseidon_constants_old.circom"), vendored("poseidon_constants.circom")
    assert set(old) == {"POSEIDON_C", "POSEIDON_M"}
    assert set(new) == {"POSEIDON_C", "POSEIDON_S", "POSEIDON_M", "POSEIDON_P"}
    for table in (*old.values(), *new.values()):
        assert sorted(table) == list(WIDTHS)


@pytest.mark.parametrize("t", WIDTHS)
def test_grain_generation_matches_circomlib_raw_constants(t: int) -> None:
    constants, mds = gen.generate(t)
    old = vendored("poseidon_constants_old.circom")
    assert constants == old["POSEIDON_C"][t]
    assert [x for row in mds for x in row] == old["POSEIDON_M"][t]
    assert len(constants) == (8 + gen.PARTIAL_ROUNDS[t]) * t


def test_committed_module_is_the_generator_output() -> None:
    source = Path(raw.__file__).read_text(encoding="utf-8")
    assert source == gen.render_module(), "rerun: python -m proofs.gen_poseidon_constants"


@pytest.mark.parametrize("t", WIDTHS)
def test_derived_optimised_form_equals_circomlib(t: int) -> None:
    """Our derivation of the sparse form reproduces circomlib's C, S, M, P exactly (the
    circuit's Mix reads M[j][i], so its M and P are the transposes of ours)."""
    o = _optimised(t)
    new = vendored("poseidon_constants.circom")
    flat_c = [*o.initial, *(x for v in o.first for x in v), *o.partial]
    flat_c += [x for v in o.last for x in v]
    assert flat_c == new["POSEIDON_C"][t]
    assert [x for row, col in o.sparse for x in (*row, *col)] == new["POSEIDON_S"][t]
    assert [o.mds[j][i] for i in range(t) for j in range(t)] == new["POSEIDON_M"][t]
    assert [o.pre[j][i] for i in range(t) for j in range(t)] == new["POSEIDON_P"][t]


def test_grain_rejects_oversized_seed() -> None:
    with pytest.raises(ValueError, match="overflow"):
        gen.Grain(field=1, sbox=0, n=1 << 12, t=3, r_f=8, r_p=57)
    with pytest.raises(ValueError, match="width"):
        gen.generate(18)


# --- hash values --------------------------------------------------------------------------


def test_published_value() -> None:
    expected = 7853200120776062878684798364095072458815029376092732009249414926327459813530
    assert poseidon([1, 2]) == expected
    assert int(light_poseidon_python.poseidon_hash([1, 2])) == expected


@settings(max_examples=40, deadline=None)
@given(st.tuples(field, field))
def test_two_inputs_match_light_poseidon(pair: tuple[int, int]) -> None:
    assert poseidon(list(pair)) == int(light_poseidon_python.poseidon_hash(list(pair)))


@settings(max_examples=60, deadline=None)
@given(st.lists(field, min_size=1, max_size=MAX_INPUTS))
def test_optimised_equals_textbook(inputs: list[int]) -> None:
    assert poseidon(inputs) == textbook(inputs)


def test_all_widths_match_circomlibjs() -> None:
    cases = [list(range(1, n + 1)) for n in range(1, MAX_INPUTS + 1)]
    cases += [[P - 1 - i for i in range(n)] for n in range(1, MAX_INPUTS + 1)]
    cases += [[0] * 5, [2**253 + 17, 3, 5, 7, 11]]
    assert [poseidon(xs) for xs in cases] == circomlibjs_poseidon(cases)


# --- input validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([], "1..16"),
        ([0] * 17, "1..16"),
        ([P], "outside"),
        ([-1], "outside"),
        ([1, 2.0], "not int"),
        ([True], "not int"),
        ("12", "sequence"),
        (7, "sequence"),
    ],
)
def test_rejects_bad_inputs(inputs: object, message: str) -> None:
    with pytest.raises(PoseidonInputError, match=message):
        poseidon(inputs)  # type: ignore[arg-type]
    assert issubclass(PoseidonInputError, ValueError)


def test_accepts_tuples_and_extremes() -> None:
    assert poseidon((P - 1,)) == textbook([P - 1])
    assert poseidon([0] * MAX_INPUTS) == textbook([0] * MAX_INPUTS)
