"""One proof for K consecutive blocks: the batch circuit, its public signals and its verifier.

DESIGN §5: "A batch circuit can prove K consecutive blocks (chained roots) so one on-chain
verification covers K blocks." ``BlockBatch(K, ·)`` (``proofs/circuits/batch.circom``) is K
unchanged ``Block`` circuits whose roots are chained: block k's post-state root is block
k+1's pre-state root, one public signal. On chain, a Groth16 verification costs a 4-pair
pairing (181k gas) plus about 6.2k gas per public input, so K blocks in one proof pay the
pairing once (``StateCommitments.submitBatch``; figures in ``bench/RESULTS.md``).

Public signals (``batch_public_signals``): ``5K + 1`` of them, ``root_0`` then, per block,
``cmdCommitment, meta, settle, cumPriceTime, root_{k+1}``; block k's are ``pub[5k .. 5k+5]``,
its pre-state root first and its post-state root last, each packed as for one block
(``proofs.witness.public_signals``). A venue of M markets (``BlockBatchM``, K ``BlockM``)
has ``K(3 + 2M) + 1``: per block ``cmdCommitment, meta, settle[M], cumPriceTime[M],
root_{k+1}``. They come from the headers alone, so anyone verifies a batch from the blocks it
covers (``verify_batch``).

Proving costs what proving the K blocks one by one costs (K times the block circuit's
constraints, plus nothing): the batch buys verification, not proving. The blocks are proved
again for it; a venue proves single blocks for "proven" finality and batches for publishing.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import groth16py

from matching.block import BlockHeader

from .verify import BlockCircuit, WrappedCircuit, verify_signals
from .witness import BlockWitness, public_signals

__all__ = [
    "BatchCircuit",
    "BatchError",
    "batch_public_signals",
    "chain_public_signals",
    "verify_batch",
]

_BATCH_CIRCOM = Path(__file__).resolve().parent / "circuits" / "batch.circom"
#: The block circuit's public inputs that the batch takes from ``pub`` (all of them; with M
#: markets ``settle`` and ``cumPriceTime`` are M each).
_BLOCK_PUBLIC = ("preRoot", "postRoot", "cmdCommitment", "meta", "settle", "cumPriceTime")


class BatchError(ValueError):
    """Blocks that cannot form one batch: none, or not consecutive (a block's pre-state root
    is not the previous block's post-state root, or its height does not follow)."""


def chain_public_signals(per_block: Sequence[Sequence[int]]) -> list[int]:
    """The batch's ``K(3 + 2M) + 1`` public signals (``5K + 1`` for one market) from each
    block's ``4 + 2M`` (``public_signals`` order: preRoot, postRoot, cmdCommitment, meta,
    settle[M], cumPriceTime[M]); BatchError unless the blocks have one shape and each starts
    from the previous one's post-state root."""
    if not per_block:
        raise BatchError("a batch holds at least one block")
    width = len(per_block[0])
    if width < 6 or width % 2:
        raise BatchError(f"a block has 4 + 2M public signals, not {width}")
    out = [int(per_block[0][0])]
    for k, sig in enumerate(per_block):
        if len(sig) != width:
            raise BatchError(f"block {k} of the batch has {len(sig)} public signals, not {width}")
        if int(sig[0]) != out[-1]:
            raise BatchError(
                f"block {k} of the batch does not start from block {k - 1}'s post-state root"
            )
        _pre, post, *rest = (int(v) for v in sig)
        out += [*rest, post]  # cmdCommitment, meta, settle[M], cumPriceTime[M], root_{k+1}
    return out


def batch_public_signals(headers: Sequence[BlockHeader]) -> list[int]:
    """The batch circuit's public signals for ``headers`` (consecutive blocks, in order)."""
    for a, b in itertools.pairwise(headers):
        if b.height != a.height + 1:
            raise BatchError(f"block {b.height} does not follow block {a.height}")
    return chain_public_signals([public_signals(h) for h in headers])


def verify_batch(
    headers: Sequence[BlockHeader], proof: bytes, verifying_key: groth16py.VerifyingKey
) -> bool:
    """True iff ``proof`` proves the batch circuit (of ``len(headers)`` blocks) for
    ``headers``. Like ``proofs.verify.verify_block``, anything malformed is a rejection."""
    return verify_signals(lambda: batch_public_signals(headers), proof, verifying_key)


class BatchCircuit(WrappedCircuit):
    """``BlockBatch(k, ·)``: ``k`` consecutive blocks of ``block``'s size in one proof
    (``BlockBatchM`` for a venue of several markets)."""

    def __init__(
        self,
        block: BlockCircuit,
        k: int,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        """``block``: the venue's block circuit (its size, markets and match limit); the
        wrapper goes next to its wrapper, the keys into ``cache_dir`` (default: the block
        circuit's)."""
        if not isinstance(k, int) or isinstance(k, bool) or not 2 <= k <= 64:
            # one block is the block circuit's job; its key would pass for a batch of one
            raise ValueError(f"a batch holds 2 to 64 blocks, got {k!r}")
        self.block = block
        self.k = k
        s = block.size
        name = f"batch{k}_{s.n}x{s.s}r{s.ratio}_d{s.order_depth}a{s.account_depth}{block.tag}"
        self.wrapper = block.wrapper.parent / f"{name}.circom"
        self.cache_dir = block.cache_dir if cache_dir is None else cache_dir
        self._compiled = None

    @property
    def markets(self) -> int:
        """M, the venue's number of markets."""
        return len(self.block.markets)

    @property
    def public_inputs(self) -> int:
        """``k(3 + 2M) + 1`` (``5k + 1`` for one market)."""
        return self.k * (3 + 2 * self.markets) + 1

    def source(self) -> str:
        """The 3-line wrapper; includes batch.circom by a path relative to the wrapper."""
        template = "BlockBatch" if self.markets == 1 else "BlockBatchM"
        return (
            "pragma circom 2.0.0;\n"
            f'include "{self._include(_BATCH_CIRCOM)}";\n'
            f"component main {{public [pub]}} = "
            f"{template}({self.k}, {self.block.template_args()});\n"
        )

    def inputs(self, witnesses: Sequence[BlockWitness]) -> tuple[dict[str, object], list[int]]:
        """The batch's inputs and public signals from ``k`` consecutive blocks' witnesses
        (each built for this block size); BatchError if they are not ``k`` chained blocks."""
        if len(witnesses) != self.k:
            raise BatchError(f"the circuit proves batches of {self.k} blocks, got {len(witnesses)}")
        public = chain_public_signals([w.public_signals for w in witnesses])
        inputs: dict[str, object] = {"pub": public}
        for name in witnesses[0].inputs:
            if name not in _BLOCK_PUBLIC:
                inputs[name] = [w.inputs[name] for w in witnesses]
        return inputs, public

    def prove(self, witnesses: Sequence[BlockWitness]) -> bytes:
        """A proof of the ``k`` blocks, verified against their public signals before it is
        returned (``proofs.circom.UnsatisfiedWitnessError`` if a constraint fails)."""
        inputs, public = self.inputs(witnesses)
        return self.compile().prove(inputs, public)
