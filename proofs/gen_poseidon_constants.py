"""Generate circomlib's Poseidon parameters (BN254, x^5) from the Grain LFSR.

Why a generator instead of a copy: the constants are *defined* by the Poseidon reference
procedure (Grain LFSR in self-shrinking mode, seeded with the permutation's parameters; see
the Poseidon paper, appendix F, and the reference script ``generate_parameters_grain.sage``).
Re-deriving them here makes our committed module auditable against the definition, and the
test suite checks the result against circomlib's vendored ``poseidon_constants_old.circom``
(the raw constants) so a transcription error cannot slip in either way.

The functions here are pure. Running the module as a script is the only I/O: it rewrites
``proofs/_poseidon_constants.py``::

    python -m proofs.gen_poseidon_constants

Scope of the generator: only what circomlib's parameter set needs (prime field, x^alpha
S-box, ``R_F = 8``). The reference script re-samples the MDS matrix when its subspace-trail
checks (algorithms 1-3) fail; for BN254 and ``t = 2..17`` the first Cauchy sample is the one
circomlib ships, which the tests verify, so those checks are not re-implemented here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "FIELD_BITS",
    "FULL_ROUNDS",
    "MAX_WIDTH",
    "MIN_WIDTH",
    "PARTIAL_ROUNDS",
    "PRIME",
    "Grain",
    "generate",
    "generate_mds",
    "generate_round_constants",
    "main",
    "render_module",
]

PRIME = 21888242871839275222246405745257275088548364400416034343698204186575808495617
"""BN254 scalar field modulus (the circuit field)."""

FIELD_BITS = 254
FULL_ROUNDS = 8
MIN_WIDTH = 2
MAX_WIDTH = 17
PARTIAL_ROUNDS: dict[int, int] = dict(
    zip(
        range(MIN_WIDTH, MAX_WIDTH + 1),
        (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68),
        strict=True,
    )
)
"""Partial rounds per state width ``t``, exactly circomlib's ``N_ROUNDS_P``."""

_STATE_BITS = 80
_STATE_MASK = (1 << _STATE_BITS) - 1
# The feedback taps are at offsets 62, 51, 38, 23, 13, 0 of an 80-bit window, so the next
# 80 - 62 = 18 output bits depend only on bits already in the window: step 18 at a time.
_BLOCK = 18


class Grain:
    """The Grain LFSR in self-shrinking mode, as the Poseidon reference script runs it.

    State bit ``i`` of the integer holds sequence element ``i`` (0 = oldest), so one step is
    a shift right with the feedback bit entering at position 79.
    """

    def __init__(self, *, field: int, sbox: int, n: int, t: int, r_f: int, r_p: int) -> None:
        seed_fields = ((field, 2), (sbox, 4), (n, 12), (t, 12), (r_f, 10), (r_p, 10))
        bits = "".join(format(value, f"0{width}b") for value, width in seed_fields) + "1" * 30
        if len(bits) != _STATE_BITS:
            raise ValueError("Grain seed fields overflow their widths")
        self._state = sum(1 << i for i, bit in enumerate(bits) if bit == "1")
        self._pending = ""  # self-shrunk output bits not yet consumed, in order
        for _ in range(160):  # warm-up: the first 160 raw bits are discarded
            self._raw(1)

    def _raw(self, count: int) -> str:
        """Advance by ``count`` <= 18 raw steps and return those bits in sequence order."""
        s = self._state
        new = ((s >> 62) ^ (s >> 51) ^ (s >> 38) ^ (s >> 23) ^ (s >> 13) ^ s) & ((1 << count) - 1)
        self._state = ((s >> count) | (new << (_STATE_BITS - count))) & _STATE_MASK
        return format(new, f"0{count}b")[::-1]

    def _refill(self) -> None:
        raw = "".join(self._raw(_BLOCK) for _ in range(256))
        # Self-shrinking: of each pair (a, b) of raw bits, emit b when a is 1.
        self._pending += "".join(b for a, b in zip(raw[::2], raw[1::2], strict=True) if a == "1")

    def bits(self, count: int) -> int:
        """Next ``count`` output bits as an integer, first bit most significant."""
        while len(self._pending) < count:
            self._refill()
        out, self._pending = self._pending[:count], self._pending[count:]
        return int(out, 2)


def _seeded(t: int) -> Grain:
    return Grain(field=1, sbox=0, n=FIELD_BITS, t=t, r_f=FULL_ROUNDS, r_p=PARTIAL_ROUNDS[t])


def generate_round_constants(grain: Grain, t: int) -> list[int]:
    """``(R_F + R_P) * t`` constants, each a 254-bit sample rejected while >= p."""
    out: list[int] = []
    for _ in range((FULL_ROUNDS + PARTIAL_ROUNDS[t]) * t):
        value = grain.bits(FIELD_BITS)
        while value >= PRIME:
            value = grain.bits(FIELD_BITS)
        out.append(value)
    return out


def generate_mds(grain: Grain, t: int) -> list[list[int]]:
    """Cauchy matrix ``M[i][j] = 1 / (x_i + y_j)`` from ``2t`` further samples.

    Unlike round constants, these samples are reduced mod p (the script's ``F(int)``), not
    rejected; a draw with a repeated value or a zero denominator is drawn again.
    """
    while True:
        samples = [grain.bits(FIELD_BITS) % PRIME for _ in range(2 * t)]
        while len(set(samples)) != len(samples):
            samples = [grain.bits(FIELD_BITS) % PRIME for _ in range(2 * t)]
        xs, ys = samples[:t], samples[t:]
        if all((x + y) % PRIME for x in xs for y in ys):
            return [[pow(x + y, -1, PRIME) for y in ys] for x in xs]


def generate(t: int) -> tuple[list[int], list[list[int]]]:
    """Round constants and MDS matrix for state width ``t`` (row ``i`` gives output ``i``)."""
    if t not in PARTIAL_ROUNDS:
        raise ValueError(f"width t={t} outside {MIN_WIDTH}..{MAX_WIDTH}")
    grain = _seeded(t)
    constants = generate_round_constants(grain, t)
    return constants, generate_mds(grain, t)


def _iter_module_lines() -> Iterator[str]:
    yield '"""Poseidon parameters for BN254 as circomlib uses them. GENERATED - do not edit.'
    yield ""
    yield "Generated by ``python -m proofs.gen_poseidon_constants`` (Grain LFSR, Poseidon"
    yield "reference procedure, seeds ``1 0 254 t 8 R_P``); checked in tests against circomlib's"
    yield "vendored ``poseidon_constants_old.circom``. ``ROUND_CONSTANTS[t]`` holds"
    yield "``(8 + R_P) * t`` values, round-major; ``MDS[t][i][j]`` is the coefficient of input"
    yield "``j`` in output ``i``."
    yield '"""'
    yield ""
    yield '__all__ = ["MDS", "ROUND_CONSTANTS"]'
    yield ""
    constants_by_t = {t: generate(t) for t in PARTIAL_ROUNDS}
    yield "ROUND_CONSTANTS: dict[int, tuple[int, ...]] = {"
    for t, (constants, _) in constants_by_t.items():
        yield f"    {t}: ("
        yield from (f"        {c:#066x}," for c in constants)
        yield "    ),"
    yield "}"
    yield ""
    yield "MDS: dict[int, tuple[tuple[int, ...], ...]] = {"
    for t, (_, mds) in constants_by_t.items():
        yield f"    {t}: ("
        for row in mds:
            yield "        ("
            yield from (f"            {c:#066x}," for c in row)
            yield "        ),"
        yield "    ),"
    yield "}"


def render_module() -> str:
    """Source text of ``proofs/_poseidon_constants.py``."""
    return "\n".join(_iter_module_lines()) + "\n"


def main() -> None:
    """Rewrite the committed constants module next to this file."""
    target = Path(__file__).with_name("_poseidon_constants.py")
    target.write_text(render_module(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
