"""Production keys: import a snarkjs Groth16 ceremony ``.zkey``.

Development keys (``proofs.circom.compile_circuit``) come from groth16py's single-party setup:
whoever ran it knows the toxic waste and could forge proofs, so they are labelled UNSAFE and
are only for tests and demos. Production keys come from a multi-party ceremony run with
snarkjs (any number of independent contributions; safe if one contributor was honest):

    snarkjs powersoftau new bn128 <power> pot_0.ptau            # or a public Perpetual
    snarkjs powersoftau contribute pot_0.ptau pot_1.ptau ...    #   Powers of Tau file
    snarkjs powersoftau prepare phase2 pot_1.ptau pot.ptau
    circom2 block.circom --O2 --r1cs -l <circomlib>             # the same source we prove
    snarkjs groth16 setup block.r1cs pot.ptau block_0.zkey
    snarkjs zkey contribute block_0.zkey block_1.zkey ...       # one per participant
    snarkjs zkey beacon ... / zkey verify ...                   # close and audit the ceremony
    snarkjs zkey export verificationkey block_final.zkey vk.json

``import_ceremony(zkey, source)`` then gives a ``CompiledCircuit`` whose proofs verify under the
ceremony's verifying key (the one snarkjs exports, and the one the on-chain verifier is generated
from). Importing takes well under a second where loading groth16py's own key format takes
seconds (DESIGN §6), plus one save of the imported key to take its witness ``.wasm`` out. The
circuit source must be the one the ``.zkey`` was made for; a mismatch shows up as proofs that
do not verify, which ``CompiledCircuit.prove`` reports.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import groth16py

from .circom import (
    _ANSI_RE,
    CircuitCompileError,
    CompiledCircuit,
    _captured_fds,
    _default_link_libraries,
    parse_compiler_report,
    source_digest,
)
from .wasmwitness import wasm_from_proving_key

__all__ = ["import_ceremony", "verifying_key_matches"]


def import_ceremony(
    zkey: str | os.PathLike[str],
    source: str | os.PathLike[str],
    *,
    link_libraries: Sequence[str] | None = None,
) -> CompiledCircuit:
    """Keys from a snarkjs ceremony ``.zkey`` for the circuit ``source`` (compiled here for
    witness generation)."""
    src = Path(source).resolve()
    libs = list(link_libraries) if link_libraries is not None else _default_link_libraries()
    with _captured_fds() as captured:
        try:
            pk, vk = groth16py.import_zkey(str(Path(zkey).resolve()), str(src), libs)
        except Exception as exc:  # the backend reports bad files and compile errors alike
            err: Exception | None = exc
        else:
            err = None
    if err is not None:
        text = _ANSI_RE.sub("", captured[0])
        raise CircuitCompileError(f"{zkey}: cannot import for {src}: {err}\n{text}") from err
    return CompiledCircuit(
        src, source_digest(src, libs), pk, vk, parse_compiler_report(captured[0]),
        wasm=_key_wasm(pk),
    )  # fmt: skip


def _key_wasm(pk: groth16py.ProvingKey) -> bytes | None:
    """The witness ``.wasm`` the imported key carries, so that its proofs take the compiled
    witness too (``proofs.wasmwitness``). groth16py hands it out only inside a saved key: one
    save to a temporary file, seconds for a production key, against half of every proof."""
    with tempfile.TemporaryDirectory(prefix="provenbook-key-") as tmp:
        pk.save(str(Path(tmp) / "circuit.pk"))
        try:
            return wasm_from_proving_key(Path(tmp) / "circuit.pk")
        except ValueError:
            return None


def verifying_key_matches(circuit: CompiledCircuit, snarkjs_vk_json: str) -> bool:
    """True when ``circuit``'s verifying key equals a snarkjs ``verification_key.json``."""
    import json

    mine = json.loads(circuit.verifying_key.to_json())
    theirs = json.loads(groth16py.VerifyingKey.from_snarkjs(snarkjs_vk_json).to_json())
    return bool(mine == theirs)
