"""Circuit witnesses from the circuit's own circom WebAssembly, compiled by wasmtime.

Why: groth16py's ``prove`` computes the witness by running the circuit's ``.wasm`` under wasmi,
an interpreter. For the block circuits that was more than half of every proof (the test-size
signed block: about 8 of 13 s; ``bench/RESULTS.md``, "Witnesses compiled by wasmtime"). The same
``.wasm``, compiled to machine code by wasmtime (Cranelift), computes the same witness in a
fraction of that; groth16py then proves from it (``groth16py.prove_wtns``), so the proving key,
the constraint system and the proof are exactly what they were.

The ``.wasm`` is the one groth16py compiled at setup and keeps inside its saved proving key
(``wasm_from_proving_key``): there is no second compiler whose output could drift from the keys.
Witness generation follows circom's own ``witness_calculator.js``: inputs are addressed by the
64-bit FNV-1a hash of their name, set one field element at a time through the shared read/write
memory, and the computation runs when the last one is set. The witness is read back in one call
of a small helper module (``_DUMP_WAT``), because a call from Python into wasmtime costs
microseconds and a block circuit has 10^5 to 10^6 wires.

Errors: malformed inputs (an unknown or missing signal, a wrong number of values, a value that
is not an integer in [0, p)) raise ``groth16py.WitnessError``, as groth16py's own ``prove`` does;
a failing ``assert`` or ``===`` of the circuit raises ``WitnessAssertError`` (a subclass) with the
compiler's message, which names the template and line. groth16py's interpreter does not stop
there, so this is the earlier and clearer of the two failures.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import groth16py
import wasmtime

__all__ = [
    "WasmWitnessCalculator",
    "Witness",
    "WitnessAssertError",
    "wasm_from_proving_key",
    "write_wtns",
]

_WASM_MAGIC = b"\x00asm\x01\x00\x00\x00"
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1
_PAGE = 65536

# Copies witness i (getWitness(i) leaves it in the shared read/write memory) to dst + i * n8,
# for every i < n: the whole witness in one call from Python.
_DUMP_WAT = """
(module
  (import "c" "memory" (memory 0))
  (import "c" "getWitness" (func $get (param i32)))
  (func (export "dump") (param $n i32) (param $src i32) (param $dst i32) (param $n8 i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $get (local.get $i))
        (memory.copy (local.get $dst) (local.get $src) (local.get $n8))
        (local.set $dst (i32.add (local.get $dst) (local.get $n8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
"""

# What the witness calculator must export (circom 2's runtime, as witness_calculator.js uses it).
_EXPORTS = frozenset({
    "memory", "init", "getFieldNumLen32", "getRawPrime", "getSharedRWMemoryStart",
    "getInputSignalSize", "setInputSignal", "getInputSize", "getWitnessSize", "getWitness",
    "getMessageChar",
})  # fmt: skip

# circom's runtime error codes (witness_calculator.js).
_ERRORS = {
    1: "signal not found",
    2: "too many signals set",
    3: "signal already set",
    4: "assert failed",
    5: "not enough memory",
    6: "input signal array access exceeds the size",
}


class WitnessAssertError(groth16py.WitnessError):
    """A constraint (``===``) or ``assert`` of the circuit fails on these inputs."""


class Witness(NamedTuple):
    """A circuit's wires: ``data`` holds ``wires`` little-endian field elements of ``n8`` bytes
    (wire 0 is 1, then the public outputs and the public inputs, in circom's order)."""

    prime: int
    wires: int
    data: bytes

    @property
    def n8(self) -> int:
        return len(self.data) // self.wires

    def wire(self, i: int) -> int:
        """Wire ``i`` as an integer."""
        n8 = self.n8
        return int.from_bytes(self.data[n8 * i : n8 * (i + 1)], "little")


def _name_hash(name: str) -> tuple[int, int]:
    h = _FNV_OFFSET
    for byte in name.encode():
        h = ((h ^ byte) * _FNV_PRIME) & _MASK64
    return h >> 32, h & 0xFFFFFFFF


def _flatten(name: str, value: object) -> Iterator[int]:
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _flatten(name, item)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield value
    else:
        raise groth16py.WitnessError(f"input {name!r}: {type(value).__name__} is not an integer")


def wasm_from_proving_key(path: str | os.PathLike[str]) -> bytes:
    """The circuit's witness ``.wasm`` inside a proving key saved by groth16py 0.2.0.

    The key stores it as a little-endian u64 length followed by the module's bytes. The module is
    found by its magic and accepted only if that length frames exactly a sequence of whole wasm
    sections (a chance match of the magic in the key's curve points fails this). ValueError when
    the key carries no ``.wasm`` (a key imported without its circuit)."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        at = data.find(_WASM_MAGIC, 8)
        while at != -1:
            (length,) = struct.unpack_from("<Q", data, at - 8)
            if at + length <= len(data) and _whole_sections(data, at + 8, at + length):
                return bytes(data[at : at + length])
            at = data.find(_WASM_MAGIC, at + 1)
    raise ValueError(f"{path}: no circuit .wasm in this proving key")


def _whole_sections(data: mmap.mmap, pos: int, end: int) -> bool:
    while pos < end:
        pos += 1  # section id
        size = shift = 0
        while True:
            if pos >= end or shift > 28:
                return False
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        pos += size
    return pos == end


class WasmWitnessCalculator:
    """Computes witnesses of one circuit from its ``.wasm``; thread-safe (a store per call).

    Compiling the module takes 1-2 s for the block circuits, once per process
    (prover workers keep theirs), next to a proving-key load of tens of seconds; the compiled
    code is not cached on disk, since loading native code from a cache file would make that
    file as trusted as the program."""

    def __init__(self, wasm: bytes) -> None:
        self._engine = wasmtime.Engine()
        try:
            self._module = wasmtime.Module(self._engine, wasm)
        except wasmtime.WasmtimeError as exc:
            raise ValueError(f"not a valid circuit .wasm: {exc}") from exc
        missing = _EXPORTS - {e.name for e in self._module.exports}
        if missing:
            raise ValueError(f"not a circom witness calculator: no {', '.join(sorted(missing))}")
        self._dump = wasmtime.Module(self._engine, wasmtime.wat2wasm(_DUMP_WAT))

    def compute(self, inputs: Mapping[str, object]) -> Witness:
        """The witness of ``inputs`` (module doc: errors)."""
        store = wasmtime.Store(self._engine)
        linker = wasmtime.Linker(self._engine)
        messages: list[str] = []
        exports: dict[str, wasmtime.Func] = {}

        def message() -> str:
            chars = []
            while (c := exports["getMessageChar"](store)) != 0:
                chars.append(chr(c))
            return "".join(chars)

        def exception_handler(code: int) -> None:
            what = _ERRORS.get(code, f"error {code}")
            detail = "; ".join(m.strip() for m in messages if m.strip())
            text = f"{what}: {detail}" if detail else what
            raise (WitnessAssertError if code == 4 else groth16py.WitnessError)(text)

        def print_error() -> None:
            messages.append(message())

        def write_buffer() -> None:
            messages.append(message())  # the circuit's log(): kept for the error, if one comes

        i32 = wasmtime.ValType.i32()
        linker.define_func("runtime", "exceptionHandler", wasmtime.FuncType([i32], []),
                           exception_handler)  # fmt: skip
        linker.define_func("runtime", "printErrorMessage", wasmtime.FuncType([], []), print_error)
        linker.define_func("runtime", "writeBufferMessage", wasmtime.FuncType([], []),
                           write_buffer)  # fmt: skip
        linker.define_func("runtime", "showSharedRWMemory", wasmtime.FuncType([], []), lambda: None)
        ex = linker.instantiate(store, self._module).exports(store)
        exports.update((name, ex[name]) for name in _EXPORTS)  # type: ignore[misc]
        memory = ex["memory"]
        if not isinstance(memory, wasmtime.Memory):
            raise ValueError("not a circom witness calculator: its memory is not a memory")
        ex["init"](store, 0)  # type: ignore[operator]
        n8 = 4 * ex["getFieldNumLen32"](store)  # type: ignore[operator]
        ex["getRawPrime"](store)  # type: ignore[operator]
        shared = ex["getSharedRWMemoryStart"](store)  # type: ignore[operator]
        prime = int.from_bytes(memory.read(store, shared, shared + n8), "little")
        given = self._set_inputs(store, memory, shared, n8, prime, inputs, exports)
        expected = ex["getInputSize"](store)  # type: ignore[operator]
        if given != expected:  # the computation runs only once the last input is set
            raise groth16py.WitnessError(
                f"{given} input values given; the circuit takes {expected}"
            )
        wires = ex["getWitnessSize"](store)  # type: ignore[operator]
        dst = memory.grow(store, (wires * n8) // _PAGE + 1) * _PAGE
        linker.define(store, "c", "memory", memory)
        linker.define(store, "c", "getWitness", exports["getWitness"])
        dump = linker.instantiate(store, self._dump).exports(store)["dump"]
        dump(store, wires, shared, dst, n8)  # type: ignore[operator]
        return Witness(prime, wires, bytes(memory.read(store, dst, dst + wires * n8)))

    @staticmethod
    def _set_inputs(
        store: wasmtime.Store,
        memory: wasmtime.Memory,
        shared: int,
        n8: int,
        prime: int,
        inputs: Mapping[str, object],
        exports: Mapping[str, wasmtime.Func],
    ) -> int:
        size_of, set_input = exports["getInputSignalSize"], exports["setInputSignal"]
        given = 0
        for name, value in inputs.items():
            hi, lo = _name_hash(name)
            values = list(_flatten(name, value))
            size = size_of(store, hi, lo)
            if size <= 0:  # circom answers 0 for a name it does not know
                raise groth16py.WitnessError(f"input {name!r}: no such input signal")
            if size != len(values):
                raise groth16py.WitnessError(f"input {name!r}: {len(values)} values for {size}")
            for i, v in enumerate(values):
                if not 0 <= v < prime:
                    raise groth16py.WitnessError(f"input {name!r}[{i}]: {v} is not in [0, p)")
                memory.write(store, v.to_bytes(n8, "little"), shared)
                set_input(store, hi, lo, i)
            given += size
        return given


def write_wtns(path: str | os.PathLike[str], witness: Witness) -> None:
    """Write a witness in iden3's binary ``.wtns`` format (version 2: a header section with the
    field element size, the prime and the wire count, then the wires), as ``prove_wtns`` reads."""
    n8 = witness.n8
    header = struct.pack("<I", n8) + witness.prime.to_bytes(n8, "little")
    header += struct.pack("<I", witness.wires)
    with open(path, "wb") as f:
        f.write(b"wtns" + struct.pack("<II", 2, 2))
        f.write(struct.pack("<IQ", 1, len(header)) + header)
        f.write(struct.pack("<IQ", 2, len(witness.data)))
        f.write(witness.data)
