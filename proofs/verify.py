"""Verify block proofs against headers, and build the block circuit's wrapper, keys and verifier.

``verify_block(header, proof, verifying_key)`` is what a verifier does with nothing but a header:
recompute the public signals (``proofs.witness.public_signals``: pre/post state roots, command
commitment, ``meta``, ``settle``, TWAP accumulator) and check the Groth16 proof against them.
Anything malformed (a proof that does not decode, a header with a value outside the field, a
header the v1 circuit cannot describe) is a rejection, never an exception: callers decide on a
boolean.

``BlockCircuit`` owns one size of the v1 block circuit for one market: it renders the 3-line
wrapper ``component main {public [...]} = Block(N, S, D, A, CFG, SIGNED)``, compiles it with
cached keys (``proofs.circom.compile_circuit``), proves a ``BlockWitness`` (self-verifying) and
exports the Solidity verifier of its verifying key. ``TEST_SIZE`` is what the default test suite
compiles (``TEST_SIZE_SIGNED`` too, in ``tests/test_circuit_signed.py``); ``PRODUCTION_SIZE``
(signed) is compiled only on request::

    python -m proofs.verify --size production --solidity out/BlockVerifier.sol

Key management is ``proofs.circom``'s (unsafe single-party development setup, cached per source
digest); the wrapper file is written next to the caller's chosen directory.
"""

from __future__ import annotations

import abc
import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import groth16py

from matching.block import BlockHeader
from matching.types import MarketConfig

from .circom import CompiledCircuit, compile_circuit, load_verifying_key
from .locks import write_atomically
from .witness import BlockParams, BlockWitness, UnsupportedInCircuit, public_signals

__all__ = [
    "PRODUCTION_SIZE",
    "TEST_SIZE",
    "TEST_SIZE_SIGNED",
    "BlockCircuit",
    "CircuitSize",
    "WrappedCircuit",
    "verify_block",
    "verify_signals",
]

_BLOCK_CIRCOM = Path(__file__).resolve().parent / "circuits" / "block.circom"
_PUBLIC = "preRoot, postRoot, cmdCommitment, meta, settle, cumPriceTime"


@dataclasses.dataclass(frozen=True, slots=True)
class CircuitSize:
    """``Block(n, s, order_depth, account_depth, ·, signed, ratio)``: commands, steps, tree
    depths, whether the circuit checks the commands' signatures (``proofs.signing``), and the
    layout: step ``i`` is full (order and account slot) iff ``i % ratio == 0``, else
    order-only (BLOCK.md, "Full and order-only steps")."""

    n: int
    s: int
    order_depth: int
    account_depth: int
    signed: bool = False
    ratio: int = 2

    @property
    def name(self) -> str:
        tag = "_signed" if self.signed else ""
        return f"{self.n}x{self.s}r{self.ratio}_d{self.order_depth}a{self.account_depth}{tag}"


#: What the default tests compile (≈120k constraints: 9 full and 9 order-only steps; cached).
TEST_SIZE = CircuitSize(4, 18, 4, 4)
#: The test size with signatures checked (≈138k constraints; cached).
TEST_SIZE_SIGNED = CircuitSize(4, 18, 4, 4, signed=True)
#: A production-like size, signed (522,669 constraints; compiled only by ``python -m
#: proofs.verify --size production``, ``bench.bench_prover_production`` and a venue created
#: with ``venue.demo.PRODUCTION_GENESIS``). 20 command slots for 44 positions (22 full, 22
#: order-only): the standard mix takes ≈ 2.3 positions per command. 44 rather than 48 so
#: that the circuit fits a 2^19 evaluation domain (48 positions: 556,691 constraints, 2^20),
#: which proved 10% more commands per core-second in the same run (bench/RESULTS.md,
#: "Production size").
PRODUCTION_SIZE = CircuitSize(20, 44, 12, 16, signed=True)


def verify_block(header: BlockHeader, proof: bytes, verifying_key: groth16py.VerifyingKey) -> bool:
    """True iff ``proof`` proves the block circuit for ``header``'s public signals."""
    return verify_signals(lambda: public_signals(header), proof, verifying_key)


def verify_signals(
    signals: Callable[[], Sequence[int]], proof: bytes, verifying_key: groth16py.VerifyingKey
) -> bool:
    """True iff ``proof`` verifies against the public signals ``signals()`` computes; a
    header the circuit cannot describe, a value outside the field or a proof that does not
    decode is a rejection (False), never an exception."""
    try:
        return bool(groth16py.Verifier(verifying_key).verify(bytes(proof), list(signals())))
    except (
        UnsupportedInCircuit,
        groth16py.EncodingError,
        groth16py.VerificationError,
        ValueError,
        TypeError,
    ):
        return False


class WrappedCircuit(abc.ABC):
    """A main component rendered into a wrapper file, compiled with cached keys: what the block
    circuit and the batch circuit (``proofs.batch``) share. Subclasses give ``source()``."""

    wrapper: Path
    cache_dir: str | os.PathLike[str] | None
    _compiled: CompiledCircuit | None = None

    @abc.abstractmethod
    def source(self) -> str:
        """The wrapper's text: a pragma, an include and ``component main``."""

    def write_wrapper(self) -> Path:
        """Write the wrapper if it is missing or differs (keeps the key cache valid)."""
        text = self.source()
        if not self.wrapper.is_file() or self.wrapper.read_text(encoding="utf-8") != text:
            self.wrapper.parent.mkdir(parents=True, exist_ok=True)
            # whole or not at all: another process may be compiling the same wrapper
            write_atomically(self.wrapper, text.encode("utf-8"))
        return self.wrapper

    def compile(self) -> CompiledCircuit:
        """Compile + setup, or load the cached keys (once per object)."""
        if self._compiled is None:
            self._compiled = compile_circuit(self.write_wrapper(), cache_dir=self.cache_dir)
        return self._compiled

    @property
    def verifying_key(self) -> groth16py.VerifyingKey:
        """The verifying key alone (seconds cheaper than loading the proving key too)."""
        if self._compiled is not None:
            return self._compiled.verifying_key
        return load_verifying_key(self.write_wrapper(), cache_dir=self.cache_dir)

    def _include(self, circom: Path) -> str:
        # a path relative to the wrapper, so that the key cache's digest is machine-independent
        return os.path.relpath(circom, self.wrapper.parent.resolve())


class BlockCircuit(WrappedCircuit):
    """One compiled size of the block circuit for a venue's markets (wrapper, keys, verifier):
    ``Block`` for one market, ``BlockM`` (blocks that each open one market) for several."""

    def __init__(
        self,
        market: MarketConfig | Sequence[MarketConfig],
        size: CircuitSize = TEST_SIZE,
        *,
        wrapper_dir: str | os.PathLike[str],
        cache_dir: str | os.PathLike[str] | None = None,
        max_matches: int = 0,
    ) -> None:
        """``market``: the venue's market, or its markets in genesis order. ``max_matches``: the
        venue's engine limit (``Genesis.max_matches``, 0: none); a circuit proves the blocks of
        venues with that limit only."""
        markets = (market,) if isinstance(market, MarketConfig) else tuple(market)
        if not markets:
            raise ValueError("a block circuit proves at least one market")
        self.params = BlockParams(
            size.n, size.s, size.order_depth, size.account_depth, markets[0], signed=size.signed,
            max_matches=max_matches, ratio=size.ratio, more_markets=markets[1:],
        )  # fmt: skip
        self.size = size
        self.market = markets[0]
        self.markets = markets
        self.max_matches = max_matches
        self.tag = ("_signed" if size.signed else "") + (f"_m{max_matches}" if max_matches else "")
        if len(markets) > 1:
            self.tag += f"_mk{len(markets)}"
        self.wrapper = (
            Path(wrapper_dir) / f"block_{size.n}x{size.s}r{size.ratio}{self.tag}_test.circom"
        )
        self.cache_dir = cache_dir
        self._compiled = None

    def template_args(self) -> str:
        """The template's arguments: ``N, S, D, A, [CFG], SIGNED, R`` (``Block``), or ``N, S,
        D, A, M, [[CFG], ...], SIGNED, R`` (``BlockM``) for several markets."""
        cfgs = ["[" + ", ".join(str(v) for v in self.params.cfg(m)) + "]" for m in self.markets]
        s = self.size
        dims = f"{s.n}, {s.s}, {s.order_depth}, {s.account_depth}"
        if len(cfgs) == 1:
            return f"{dims}, {cfgs[0]}, {int(s.signed)}, {s.ratio}"
        return f"{dims}, {len(cfgs)}, [{', '.join(cfgs)}], {int(s.signed)}, {s.ratio}"

    def source(self) -> str:
        """The 3-line wrapper; includes block.circom by a path relative to the wrapper."""
        template = "Block" if len(self.markets) == 1 else "BlockM"
        return (
            "pragma circom 2.0.0;\n"
            f'include "{self._include(_BLOCK_CIRCOM)}";\n'
            f"component main {{public [{_PUBLIC}]}} = {template}({self.template_args()});\n"
        )

    def prove(self, witness: BlockWitness) -> bytes:
        """A proof of ``witness``, verified against its public signals before it is returned
        (``UnsatisfiedWitnessError`` if a constraint fails)."""
        return self.compile().prove(witness.inputs, witness.public_signals)

    def export_solidity(
        self, path: str | os.PathLike[str], *, contract_name: str = "BlockVerifier"
    ) -> Path:
        """Write the Solidity verifier of this circuit's (cached) verifying key to ``path``."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            self.verifying_key.to_solidity(contract_name=contract_name), encoding="utf-8"
        )
        return out


_SIZES = {"test": TEST_SIZE, "test-signed": TEST_SIZE_SIGNED, "production": PRODUCTION_SIZE}


def _main(argv: Sequence[str]) -> int:
    from venue.workload import default_markets

    ap = argparse.ArgumentParser(description="compile the block circuit, export its verifier")
    ap.add_argument("--size", choices=tuple(_SIZES), default="test")
    ap.add_argument("--wrapper-dir", default="build/circuits")
    ap.add_argument("--solidity", help="write the Solidity verifier here")
    args = ap.parse_args(argv)
    size = _SIZES[args.size]
    bc = BlockCircuit(default_markets()[0], size, wrapper_dir=args.wrapper_dir)
    stats = bc.compile().stats
    print(f"{bc.wrapper}: {stats.constraints} constraints")
    if args.solidity:
        print(bc.export_solidity(args.solidity))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
