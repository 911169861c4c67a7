"""The embedded chain's BN254 pairing check (precompile 0x08) and scalar multiplication
(0x07), computed natively.

Why: py-evm computes ecPairing with py-ecc in pure Python: about 0.15 s per pair for the
Miller loop, 0.3 s for the final exponentiation and 0.04 s per G2 subgroup check, so the four
pairs of one Groth16 verification cost over a second, paid by every proof the embedded chain
verifies (and twice per transaction: the gas estimate runs it too). Here the subgroup checks,
the product of the pairings and the final exponentiation run in arkworks (``zksnake``), a few
milliseconds for four pairs. The verifier also runs one ecMul per public input, 7.5 ms each
in py-ecc (six to eight per block); natively a fraction of a millisecond.

What stays py-evm's, so that the embedded chain keeps answering as before:

- the input layout (192-byte pairs, G2 coordinates imaginary part first) and the gas: the
  native function is curried with the gas arguments of the fork's own precompile entry;
- every validity rule: coordinates below p and each point on its curve (or (0, 0) for the
  point at infinity), checked with py-ecc exactly as py-evm checks them, then the G2 point in
  the order-r subgroup (arkworks' checked decompression, see ``_native_g2``). An input
  py-evm refuses is refused with the same ``VMError``, and only points known to be valid
  reach the native constructors (which would panic on others).

ecMul keeps py-evm's rules too: the input right-padded to 96 bytes, the point checked as
above, any 256-bit scalar (reduced modulo r here, which gives the same point: G1 has
cofactor 1), (0, 0) for the point at infinity.

``tests/test_coverage_pairing.py`` compares these precompiles with py-evm's on valid and
invalid inputs. Without ``zksnake`` (a platform without its wheel) the chain keeps py-evm's.
"""

from __future__ import annotations

from typing import Any

from eth import constants
from eth._utils.bn128 import validate_point
from eth.exceptions import VMError
from eth_utils import ValidationError
from eth_utils.toolz import curry
from py_ecc import optimized_bn128 as bn128

try:
    from zksnake._algebra import ec_bn254 as _native
except ImportError:  # no wheel for this platform: py-evm's precompile stays
    _native = None

__all__ = [
    "AVAILABLE",
    "ECMUL_ADDRESS",
    "PAIRING_ADDRESS",
    "native_ecmul",
    "native_ecpairing",
    "with_native_curve_ops",
]

AVAILABLE = _native is not None
ECMUL_ADDRESS = b"\x00" * 19 + b"\x07"
PAIRING_ADDRESS = b"\x00" * 19 + b"\x08"
_PAIR_BYTES = 192
_ONE = (
    _native.multi_pairing([_native.g1(), -_native.g1()], [_native.g2(), _native.g2()])
    if _native is not None
    else None
)
"""One in the target group (e(G1, G2) * e(-G1, G2)), what a passing check's product equals."""


def _word(data: bytes, i: int) -> int:
    return int.from_bytes(data[32 * i : 32 * i + 32], "big")


def _native_g2(x_r: int, x_i: int, y_r: int, y_i: int) -> Any:
    """The point (x, y) of the twist (on the curve: checked before) as arkworks' point, or None
    when it is outside the subgroup of order r. arkworks' checked decompression of x refuses
    exactly those points with a ``ValueError``; it picks one of the two y (and -Q is in the
    subgroup iff Q is), so the other one is its negation. One subgroup check per point: the
    point constructor would check again (and panic)."""
    try:
        q = _native.PointG2.from_bytes(x_r.to_bytes(32, "little") + x_i.to_bytes(32, "little"))
    except ValueError:
        return None
    return q if q.y == [y_r, y_i] else -q


def pairing_check(data: bytes) -> bool:
    """Whether the product of the pairings of ``data``'s pairs is one; ``ValidationError`` for
    an invalid pair (py-evm's rules, see the module docstring). ``len(data)`` is a multiple of
    192, checked by the caller."""
    g1: list[Any] = []
    g2: list[Any] = []
    for start in range(0, len(data), _PAIR_BYTES):
        pair = data[start : start + _PAIR_BYTES]
        x1, y1, x2_i, x2_r, y2_i, y2_r = (_word(pair, i) for i in range(6))
        validate_point(x1, y1)
        if max(x2_i, x2_r, y2_i, y2_r) >= bn128.field_modulus:
            raise ValidationError("value greater than field modulus")
        if x2_i == x2_r == y2_i == y2_r == 0:
            continue  # Q at infinity: the pair's pairing is one
        x, y = bn128.FQ2([x2_r, x2_i]), bn128.FQ2([y2_r, y2_i])
        if not bn128.is_on_curve((x, y, bn128.FQ2.one()), bn128.b2):
            raise ValidationError("point is not on curve")
        q = _native_g2(x2_r, x2_i, y2_r, y2_i)
        if q is None:
            raise ValidationError("G2 point is not in the subgroup of order r")
        if x1 == y1 == 0:
            continue  # P at infinity
        g1.append(_native.PointG1(x1, y1))
        g2.append(q)
    return _native.multi_pairing(g1, g2) == _ONE


def native_ecpairing(
    computation: Any,
    gas_cost_base: int = constants.GAS_ECPAIRING_BASE,
    gas_cost_per_point: int = constants.GAS_ECPAIRING_PER_POINT,
) -> Any:
    """py-evm's ``ecpairing`` precompile with ``pairing_check`` for the arithmetic."""
    data = bytes(computation.msg.data)
    if len(data) % _PAIR_BYTES:
        raise VMError("Invalid ECPAIRING parameters")
    pairs = len(data) // _PAIR_BYTES
    computation.consume_gas(
        gas_cost_base + pairs * gas_cost_per_point, reason="ECPAIRING Precompile"
    )
    try:
        ok = pairing_check(data)
    except ValidationError:
        raise VMError("Invalid ECPAIRING parameters") from None
    computation.output = (b"\x00" * 31) + (b"\x01" if ok else b"\x00")
    return computation


def native_ecmul(computation: Any, gas_cost: int = constants.GAS_ECMUL) -> Any:
    """py-evm's ``ecmul`` precompile with the multiplication in arkworks."""
    computation.consume_gas(gas_cost, reason="ECMUL Precompile")
    data = bytes(computation.msg.data_as_bytes)[:96].ljust(96, b"\x00")
    x, y, m = (_word(data, i) for i in range(3))
    try:
        validate_point(x, y)
    except ValidationError:
        raise VMError("Invalid ECMUL parameters") from None
    m %= bn128.curve_order
    out = (0, 0)
    if m and (x, y) != (0, 0):
        q = _native.PointG1(x, y) * m
        if not q.is_zero():
            out = (q.x, q.y)
    computation.output = out[0].to_bytes(32, "big") + out[1].to_bytes(32, "big")
    return computation


_NATIVE = {ECMUL_ADDRESS: native_ecmul, PAIRING_ADDRESS: native_ecpairing}


def with_native_curve_ops(vm_class: type) -> type:
    """A subclass of the py-evm VM ``vm_class`` whose ecMul and pairing precompiles are
    ``native_ecmul`` and ``native_ecpairing`` with the fork's gas arguments; ``vm_class``
    itself when zksnake is missing or the fork has neither precompile."""
    state = vm_class._state_class  # type: ignore[attr-defined]
    computation = state.computation_class
    precompiles = computation.get_precompiles()
    table = dict(precompiles)
    for address, fn in _NATIVE.items():
        old = precompiles.get(address)
        if _native is None or old is None or getattr(old, "func", None) is fn:
            continue
        table[address] = curry(fn, **old.keywords)
    if table == precompiles:
        return vm_class
    comp = type(computation.__name__, (computation,), {"_precompiles": table})
    st = type(state.__name__, (state,), {"computation_class": comp})
    return type(vm_class.__name__, (vm_class,), {"_state_class": st})
