"""The on-chain Poseidon hashers equal circomlib's (our Python ``hash_n``) and refuse non-field
inputs; the committed Solidity is exactly the generator's output."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from oracle.artifacts import load_artifact
from oracle.chain import Chain, open_chain
from oracle.reverts import ContractRevert, raising_reverts
from proofs import gen_poseidon_sol
from proofs.poseidon import FIELD_MODULUS, hash_n

P = FIELD_MODULUS


@pytest.fixture(scope="module")
def hashers() -> Iterator[tuple[Chain, dict[int, object]]]:
    with open_chain("embedded") as chain:
        yield (
            chain,
            {t: chain.deploy(load_artifact(f"PoseidonT{t}")) for t in gen_poseidon_sol.WIDTHS},
        )


def test_committed_solidity_is_the_generator_output() -> None:
    assert gen_poseidon_sol.OUTPUT.read_text() == gen_poseidon_sol.render(), (
        "run `python -m proofs.gen_poseidon_sol` and recompile (contracts/compile.cjs)"
    )


@pytest.mark.parametrize("t", gen_poseidon_sol.WIDTHS)
def test_hashers_equal_circomlib_poseidon(hashers: tuple[Chain, dict], t: int) -> None:
    _, contracts = hashers
    rng = random.Random(t)
    n = t - 1
    vectors = [[0] * n, [P - 1] * n, list(range(1, n + 1))]
    vectors += [[rng.randrange(P) for _ in range(n)] for _ in range(4)]
    for xs in vectors:
        assert contracts[t].functions.poseidon(xs).call() == hash_n(xs), xs  # type: ignore[attr-defined]


@pytest.mark.parametrize("t", gen_poseidon_sol.WIDTHS)
def test_hashers_refuse_inputs_outside_the_field(hashers: tuple[Chain, dict], t: int) -> None:
    _, contracts = hashers
    abi = load_artifact(f"PoseidonT{t}").abi
    for index in range(t - 1):
        xs = [1] * (t - 1)
        xs[index] = P  # equal to 0 mod p: must not hash like 0
        with pytest.raises(ContractRevert) as err:
            raising_reverts(abi, contracts[t].functions.poseidon(xs).call)  # type: ignore[attr-defined]
        assert err.value.name == "InputOutOfField" and err.value.values == (index,)
