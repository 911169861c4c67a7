"""The embedded chain's native pairing and ecMul precompiles (``oracle.pairing``) against
py-evm's own.

Pairing: the same answer on products that are one and products that are not, for 0 to 4 pairs
and with points at infinity. ecMul: the same point for scalars at and around the group order,
the point at infinity, short and long inputs. Both: the same refusal (``VMError``) for every
invalid input py-evm refuses, the same gas, and the embedded chain really runs them.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth.exceptions import VMError
from eth.precompiles.ecmul import ecmul as pyevm_ecmul
from eth.precompiles.ecpairing import ecpairing as pyevm_ecpairing
from eth_utils.toolz import curry
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc import optimized_bn128 as bn128

from oracle import pairing
from oracle.chain import open_chain

pytestmark = pytest.mark.skipif(not pairing.AVAILABLE, reason="zksnake has no wheel here")

P = bn128.field_modulus
R = bn128.curve_order
GAS = {"gas_cost_base": 45_000, "gas_cost_per_point": 34_000}  # EIP-1108


def _g1(k: int) -> bytes:
    if k % R == 0:
        return bytes(64)
    x, y = bn128.normalize(bn128.multiply(bn128.G1, k))
    return int(x).to_bytes(32, "big") + int(y).to_bytes(32, "big")


def _g2_raw(x: Any, y: Any) -> bytes:
    """EVM layout: imaginary part first."""
    return b"".join(int(c).to_bytes(32, "big") for c in (x.coeffs[1], x.coeffs[0],
                                                           y.coeffs[1], y.coeffs[0]))  # fmt: skip


def _g2(k: int) -> bytes:
    if k % R == 0:
        return bytes(128)
    return _g2_raw(*bn128.normalize(bn128.multiply(bn128.G2, k)))


class _Msg:
    def __init__(self, data: bytes) -> None:
        self.data = self.data_as_bytes = data


class _Computation:
    """What a precompile touches of a py-evm computation: the input, gas, the output."""

    def __init__(self, data: bytes) -> None:
        self.msg = _Msg(data)
        self.gas = 0
        self.output = b""

    def consume_gas(self, amount: int, reason: str) -> None:
        self.gas += amount


def _both(data: bytes, theirs: Any = None, ours: Any = None) -> tuple[Any, Any]:
    """(py-evm's result, ours), each (output, gas) or the exception type; the pairing check
    unless other precompiles are given."""
    out = []
    for fn in (theirs or pyevm_ecpairing(**GAS), ours or curry(pairing.native_ecpairing, **GAS)):
        c = _Computation(data)
        try:
            fn(c)
            out.append((c.output, c.gas))
        except VMError:
            out.append(VMError)
    return out[0], out[1]


def test_valid_products_agree_with_py_evm() -> None:
    rng = random.Random(20261127)
    cases = [b""]  # no pairs: the empty product is one
    for n in (1, 4):
        ks = [(rng.randrange(1, R), rng.randrange(1, R)) for _ in range(n - 1)]
        # the last pair cancels the others: e(-sum(a*b) G1, G2)
        last = -sum(a * b for a, b in ks) % R
        pairs = [_g1(a) + _g2(b) for a, b in ks] + [_g1(last) + _g2(1)]
        cases.append(b"".join(pairs))  # one
        cases.append(b"".join(pairs[:-1]) + _g1(last + 1) + _g2(1))  # off by one: not one
    cases.append(_g1(0) + _g2(7) + _g1(3) + _g2(0))  # infinities only: one
    cases.append(_g1(5) + _g2(0) + _g1(2) + _g2(3))  # one live pair: not one
    answers = []
    for data in cases:
        theirs, ours = _both(data)
        assert ours == theirs, data.hex()
        answers.append(ours[0][-1])
    assert answers.count(1) == 4 and answers.count(0) == 3  # both answers were exercised


def _sqrt_fq2(a: Any) -> Any | None:
    """A square root in F_p^2 (p = 3 mod 4), or None (Adj and Rodriguez-Henriquez, alg. 9)."""
    a1 = a ** ((P - 3) // 4)
    alpha = a1 * a1 * a
    if alpha**P * alpha == bn128.FQ2([P - 1, 0]):
        return None
    x0 = a1 * a
    if alpha == bn128.FQ2([P - 1, 0]):
        return bn128.FQ2([0, 1]) * x0
    return (bn128.FQ2([1, 0]) + alpha) ** ((P - 1) // 2) * x0


def _twist_point_outside_the_subgroup() -> bytes:
    rng = random.Random(7)
    while True:
        x = bn128.FQ2([rng.randrange(P), rng.randrange(P)])
        y = _sqrt_fq2(x**3 + bn128.b2)
        if y is None:
            continue
        assert y * y == x**3 + bn128.b2
        assert bn128.multiply((x, y, bn128.FQ2.one()), R)[-1] != bn128.FQ2.zero()
        return _g2_raw(x, y)


def test_invalid_inputs_are_refused_as_py_evm_refuses_them() -> None:
    good = _g1(3) + _g2(4)
    word = P.to_bytes(32, "big")
    bad = {
        "G1 x = p": word + good[32:],
        "G1 off the curve": (1).to_bytes(32, "big") + (3).to_bytes(32, "big") + good[64:],
        "G2 coordinate = p": good[:64] + word + good[96:],
        "G2 off the twist": good[:64] + bytes(31) + b"\x01" + good[96:],
        "G2 outside the subgroup": good[:64] + _twist_point_outside_the_subgroup(),
        "not a whole pair": good[:-1],
    }
    for what, data in bad.items():
        theirs, ours = _both(good + data)
        assert theirs is VMError and ours is VMError, what
    # the G2 point outside the subgroup is refused even beside the point at infinity (whose
    # pair contributes nothing), and with its y negated; a valid pair list still passes
    outside = bad["G2 outside the subgroup"][64:]
    theirs, ours = _both(good + _g1(0) + outside)
    assert ours is VMError and theirs is VMError
    y_i, y_r = (int.from_bytes(outside[i : i + 32], "big") for i in (64, 96))
    negated = outside[:64] + ((-y_i) % P).to_bytes(32, "big") + ((-y_r) % P).to_bytes(32, "big")
    theirs, ours = _both(good + _g1(5) + negated)
    assert ours is VMError and theirs is VMError
    assert _both(good + _g1(-12 % R) + _g2(1)) == ((bytes(31) + b"\x01", 45_000 + 2 * 34_000),) * 2


_VALID = _g1(3) + _g2(4) + _g1(-12 % R) + _g2(1)  # e(3 G1, 4 G2) e(-12 G1, G2) = 1


@settings(max_examples=40, deadline=None)
@given(st.integers(0, len(_VALID) - 1), st.integers(1, 255), st.booleans())
def test_a_changed_byte_gets_py_evms_answer(at: int, xor: int, as_ecmul: bool) -> None:
    """One byte of a passing input changed: both refuse it, or both give the same answer."""
    data = bytearray(_VALID)
    data[at] ^= xor
    if as_ecmul:  # the same bytes as an ecMul input: its first 96 bytes
        mul = (pyevm_ecmul(gas_cost=6_000), curry(pairing.native_ecmul, gas_cost=6_000))
        theirs, ours = _both(bytes(data[:96]), *mul)
    else:
        theirs, ours = _both(bytes(data))
    assert ours == theirs


def test_ecmul_agrees_with_py_evm() -> None:
    rng = random.Random(5)
    mul = (pyevm_ecmul(gas_cost=6_000), curry(pairing.native_ecmul, gas_cost=6_000))
    point = _g1(rng.randrange(1, R))
    scalars = [0, 1, 2, R - 1, R, R + 5, 2**256 - 1, rng.randrange(2**256)]
    cases = [point + m.to_bytes(32, "big") for m in scalars]
    cases += [
        _g1(0) + (7).to_bytes(32, "big"),  # the point at infinity
        point + b"\x05",  # short: right-padded, scalar 5 << 248
        point,  # no scalar: 0
        point + (3).to_bytes(32, "big") + b"\xff" * 8,  # long: the rest ignored
        b"",  # all zeros
    ]
    for data in cases:
        theirs, ours = _both(data, *mul)
        assert ours == theirs and ours[1] == 6_000, data.hex()
    assert _both(point + (R - 1).to_bytes(32, "big"), *mul)[1][0] != point  # not a no-op
    word = P.to_bytes(32, "big")
    for bad in (word + point[32:], point[:32] + (point[63] ^ 1).to_bytes(32, "big")):
        assert _both(bad + (3).to_bytes(32, "big"), *mul) == (VMError, VMError)
    assert _both(point[:40], *mul) == (VMError, VMError)  # y cut short: padded off the curve


def test_the_embedded_chain_runs_the_native_precompiles() -> None:
    with open_chain("embedded") as chain:
        backend = chain.w3.provider.ethereum_tester.backend  # type: ignore[union-attr]
        for _, vm in type(backend.chain).vm_configuration:
            table = vm._state_class.computation_class.get_precompiles()
            entry = table[pairing.PAIRING_ADDRESS]
            assert entry.func is pairing.native_ecpairing and entry.keywords == GAS
            entry = table[pairing.ECMUL_ADDRESS]
            assert entry.func is pairing.native_ecmul and entry.keywords == {"gas_cost": 6_000}
        to = "0x" + pairing.ECMUL_ADDRESS.hex()
        assert chain.w3.eth.call({"to": to, "data": _g1(1) + (12).to_bytes(32, "big")}) == _g1(12)
        # a pairing check through a real call: the precompile answers one for e(3G1,4G2)e(-12G1,G2)
        data = _g1(3) + _g2(4) + _g1(-12 % R) + _g2(1)
        to = "0x" + pairing.PAIRING_ADDRESS.hex()
        assert chain.w3.eth.call({"to": to, "data": data}) == bytes(31) + b"\x01"
        assert chain.w3.eth.estimate_gas({"to": to, "data": data}) > 45_000 + 2 * 34_000


def test_without_zksnake_the_vm_keeps_py_evms_precompiles(monkeypatch: pytest.MonkeyPatch) -> None:
    from eth.vm.forks.prague import PragueVM

    native = pairing.with_native_curve_ops(PragueVM)
    assert native is not PragueVM and pairing.with_native_curve_ops(native) is native  # once
    monkeypatch.setattr(pairing, "_native", None)
    assert pairing.with_native_curve_ops(PragueVM) is PragueVM
