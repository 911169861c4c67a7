"""Compile, set up, prove and verify circom 2 circuits with groth16py, with a key cache.

This is the key-management seam of ``proofs``: the one module allowed to touch a cache directory.
groth16py's setup is single-party and unseeded, so every setup yields a different verifying key;
keys are therefore made once per circuit source and cached under
``<cache_dir>/<source digest>/``. The digest covers the main file, every file it includes
(resolved like the compiler does: next to the including file first, then in the link libraries),
and the groth16py version, so editing any template invalidates exactly the affected circuits.

Constraint counts: groth16py 0.2.0 exposes no API for them, but its in-process compiler (the
circom 2 compiler crates, same simplification as ``circom --O2``) prints the usual circom report
("non-linear constraints: N", ...) on file descriptor 1. ``compile_circuit`` captures that report
at the file-descriptor level, parses it into ``CircuitStats`` and stores it next to the cached keys,
so the count survives cache hits. ``r1cs_header`` parses an ``.r1cs`` file's header, to cross-check
the count against ``circom2 --O2 --r1cs`` (tests do this when the npm ``circom2`` is installed).

Measure a circuit from the shell (compiles and sets up, prints the report as JSON)::

    python -m proofs.circom tests/circuits/merkle_update20_test.circom

Witnesses: a cached circuit's witness is computed by its own ``.wasm`` compiled with wasmtime
(``proofs.wasmwitness``: about 15x faster than groth16py's interpreter on the block circuits),
and groth16py proves from it (``prove_wtns``). The ``.wasm`` is taken once from the proving key
groth16py saved and kept beside it as ``circuit.wasm``; an imported ceremony key hands over its
own (``proofs.keys``). An uncached setup is proved by groth16py's ``prove`` as before.

Unsatisfied witnesses: groth16py 0.2.0's ``prove`` raises ``WitnessError`` for malformed inputs
(missing signal, wrong array length, negative value) but does NOT check constraints: a failing
``===`` or ``assert`` in the circuit still yields a proof, which then fails verification. The
wasmtime witness stops at the failing constraint, and its public signals are compared with the
expected ones before any proving. Either way ``CompiledCircuit.prove`` takes the public signals
the Python reference expects and verifies its own proof (about 2-5 ms), raising
``UnsatisfiedWitnessError`` when a constraint fails or the proof does not verify. That turns
"a constraint failed or the circuit disagrees with the Python reference" into an exception at
proving time instead of a bad proof reaching the chain.

Exceptions::

    RuntimeError
     └── CircuitCompileError      the compiler rejected the source or its report was unreadable
    groth16py.WitnessError        malformed inputs (raised by groth16py itself)
     └── UnsatisfiedWitnessError  the proof does not verify against the expected public signals

Malformed public signals at verification raise ``groth16py.EncodingError``/``VerificationError``,
unwrapped, so callers see the backend's own types.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import groth16py

from .locks import file_lock, write_atomically
from .wasmwitness import (
    WasmWitnessCalculator,
    WitnessAssertError,
    wasm_from_proving_key,
    write_wtns,
)

__all__ = [
    "DEFAULT_CACHE_DIR",
    "CircuitCompileError",
    "CircuitStats",
    "CompiledCircuit",
    "R1csHeader",
    "UnsatisfiedWitnessError",
    "circuit_stats",
    "compile_circuit",
    "constraint_count",
    "default_cache_dir",
    "include_closure",
    "load_verifying_key",
    "parse_compiler_report",
    "r1cs_header",
    "source_digest",
]

DEFAULT_CACHE_DIR: Path = Path("~/.cache/provenbook/circuits").expanduser()
"""Where keys live unless a caller passes ``cache_dir``."""

_CACHE_FORMAT = "provenbook-circuit-cache-1"
_INCLUDE_RE = re.compile(r'^\s*include\s+"([^"]+)"\s*;', re.MULTILINE)
_COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_FD_LOCK = threading.Lock()


class CircuitCompileError(RuntimeError):
    """The circom compiler rejected a source, or its constraint report could not be read."""


class UnsatisfiedWitnessError(groth16py.WitnessError):
    """No valid proof for these inputs: a constraint or assert of the circuit fails, or the
    witness's public signals or the freshly made proof disagree with the expected public signals
    (the circuit disagrees with the Python reference). Subclasses ``groth16py.WitnessError`` so
    one ``except`` covers every "no valid proof" outcome."""


@dataclasses.dataclass(frozen=True, slots=True)
class CircuitStats:
    """The compiler's report for one circuit (after ``--O2``-style simplification)."""

    template_instances: int
    nonlinear_constraints: int
    linear_constraints: int
    public_inputs: int
    private_inputs: int
    public_outputs: int
    wires: int
    labels: int

    @property
    def constraints(self) -> int:
        """Total R1CS constraints, the figure that drives proving time and key size."""
        return self.nonlinear_constraints + self.linear_constraints


@dataclasses.dataclass(frozen=True, slots=True)
class R1csHeader:
    """Header of an iden3 ``.r1cs`` file (section type 1)."""

    field_size: int
    prime: int
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    n_labels: int
    n_constraints: int


_REPORT_KEYS = {
    "template instances": "template_instances",
    "non-linear constraints": "nonlinear_constraints",
    "linear constraints": "linear_constraints",
    "public inputs": "public_inputs",
    "private inputs": "private_inputs",
    "public outputs": "public_outputs",
    "wires": "wires",
    "labels": "labels",
}


def parse_compiler_report(text: str) -> CircuitStats:
    """Parse circom's "non-linear constraints: N" style report (ANSI colours allowed).

    Raises CircuitCompileError when a figure is missing, so a changed report format cannot
    silently produce a wrong constraint table.
    """
    found: dict[str, int] = {}
    for line in _ANSI_RE.sub("", text).splitlines():
        key, sep, rest = line.partition(":")
        field = _REPORT_KEYS.get(key.strip())
        if sep and field:
            match = re.match(r"\s*(\d+)", rest)
            if match:
                found[field] = int(match.group(1))
    missing = sorted(set(_REPORT_KEYS.values()) - set(found))
    if missing:
        raise CircuitCompileError(f"compiler report lacks {missing}: {text!r}")
    return CircuitStats(**found)


def r1cs_header(data: bytes) -> R1csHeader:
    """Parse the header section of an ``.r1cs`` file's bytes (format of iden3/r1csfile)."""
    if data[:4] != b"r1cs":
        raise ValueError("not an r1cs file (bad magic)")
    _version, n_sections = struct.unpack_from("<II", data, 4)
    offset = 12
    for _ in range(n_sections):
        section_type, size = struct.unpack_from("<IQ", data, offset)
        offset += 12
        if section_type == 1:
            (field_size,) = struct.unpack_from("<I", data, offset)
            prime = int.from_bytes(data[offset + 4 : offset + 4 + field_size], "little")
            n_wires, n_pub_out, n_pub_in, n_prv_in, n_labels, n_constraints = struct.unpack_from(
                "<IIIIQI", data, offset + 4 + field_size
            )
            return R1csHeader(
                field_size, prime, n_wires, n_pub_out, n_pub_in, n_prv_in, n_labels, n_constraints
            )
        offset += size
    raise ValueError("r1cs file has no header section")


def _default_link_libraries() -> list[str]:
    return [groth16py.circomlib_path(2)]


def include_closure(source: str | os.PathLike[str], link_libraries: Sequence[str]) -> list[Path]:
    """Every file the compiler would read for ``source``: itself plus transitive includes,
    resolved next to the including file first, then in ``link_libraries``. Unresolvable
    includes are skipped (the compiler reports them)."""
    root = Path(source).resolve()
    seen: dict[Path, None] = {}
    stack = [root]
    while stack:
        path = stack.pop()
        if path in seen:
            continue
        seen[path] = None
        text = _COMMENT_RE.sub("", path.read_text(encoding="utf-8"))
        for name in _INCLUDE_RE.findall(text):
            for base in (path.parent, *map(Path, link_libraries)):
                candidate = (base / name).resolve()
                if candidate.is_file():
                    stack.append(candidate)
                    break
    return list(seen)


def source_digest(source: str | os.PathLike[str], link_libraries: Sequence[str]) -> str:
    """SHA-256 over the include closure's contents and the groth16py version: the cache key.

    The main file is hashed without its ``include`` lines (the included files' contents are
    hashed themselves), so the same circuit instantiated from two directories, whose include
    paths are spelled differently, shares one cache entry.
    """
    h = hashlib.sha256()
    h.update(f"{_CACHE_FORMAT}\0groth16py {groth16py.__version__}\0".encode())
    root = Path(source).resolve()
    main = _INCLUDE_RE.sub("", root.read_text(encoding="utf-8"))
    h.update(b"main\0" + hashlib.sha256(main.encode()).digest())
    for path in sorted(p for p in include_closure(root, link_libraries) if p != root):
        h.update(path.name.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def default_cache_dir() -> Path:
    """``$PROVENBOOK_CIRCUIT_CACHE`` if set, else ``DEFAULT_CACHE_DIR`` (read at each call, so
    tests and spawned prover workers can point every compile at one cache)."""
    env = os.environ.get("PROVENBOOK_CIRCUIT_CACHE")
    return Path(env).expanduser() if env else DEFAULT_CACHE_DIR


def load_verifying_key(
    source: str | os.PathLike[str],
    *,
    link_libraries: Sequence[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> groth16py.VerifyingKey:
    """The cached verifying key of ``source`` without loading its (large) proving key;
    compiles and sets up on a cache miss."""
    src = Path(source).resolve()
    libs = list(link_libraries) if link_libraries is not None else _default_link_libraries()
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    entry = cache / source_digest(src, libs)
    if (entry / "stats.json").is_file():
        return groth16py.VerifyingKey.load(str(entry / "circuit.vk"))
    return compile_circuit(src, link_libraries=libs, cache_dir=cache).verifying_key


@contextlib.contextmanager
def _captured_fds() -> Iterator[list[str]]:
    """Redirect fds 1 and 2 into a temporary file for the duration; yields a list that receives
    the captured text on exit. The compiler writes its report from native code, which Python-level
    redirection cannot see. Process-global, hence the lock."""
    out: list[str] = []
    with _FD_LOCK, tempfile.TemporaryFile() as tmp:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(tmp.fileno(), 1)
            os.dup2(tmp.fileno(), 2)
            yield out
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", errors="replace"))


@dataclasses.dataclass(slots=True)
class CompiledCircuit:
    """A compiled circuit with its Groth16 keys (development setup: UNSAFE for real funds).

    ``wasm`` is its witness module (module doc), read with the keys; without one, groth16py's
    ``prove`` proves."""

    source: Path
    digest: str
    proving_key: groth16py.ProvingKey
    verifying_key: groth16py.VerifyingKey
    stats: CircuitStats
    wasm: bytes | None = dataclasses.field(default=None, repr=False)
    _verifier: groth16py.Verifier | None = None
    _calculator: WasmWitnessCalculator | None = None
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @property
    def constraints(self) -> int:
        """Total constraints as reported by the compiler."""
        return self.stats.constraints

    def prove(
        self, inputs: Mapping[str, object], public_signals: Sequence[int] | None = None
    ) -> bytes:
        """Witness + Groth16 proof (256-byte Ethereum encoding).

        With ``public_signals`` (circom order: outputs, then public inputs) the witness's public
        signals must equal them and the proof is verified before it is returned, else
        UnsatisfiedWitnessError; always pass them, because groth16py does not check constraints
        itself (see the module doc). Without them the proof is returned unchecked. Malformed
        inputs raise groth16py.WitnessError either way.
        """
        calculator = self.witness_calculator()
        if calculator is None:
            proof = groth16py.prove(self.proving_key, dict(inputs))
        else:
            proof = self._prove_wasm(calculator, inputs, public_signals)
        if public_signals is not None and not self.verify(proof, public_signals):
            raise UnsatisfiedWitnessError(
                f"{self.source.name}: proof does not verify against the expected public signals "
                "(a constraint failed, or the circuit disagrees with the reference)"
            )
        return proof

    def _prove_wasm(
        self,
        calculator: WasmWitnessCalculator,
        inputs: Mapping[str, object],
        public_signals: Sequence[int] | None,
    ) -> bytes:
        try:
            witness = calculator.compute(inputs)
        except WitnessAssertError as exc:
            raise UnsatisfiedWitnessError(f"{self.source.name}: {exc}") from exc
        if public_signals is not None:
            got = [witness.wire(i) for i in range(1, len(public_signals) + 1)]
            if got != [int(v) % witness.prime for v in public_signals]:
                raise UnsatisfiedWitnessError(
                    f"{self.source.name}: the witness's public signals differ from the expected "
                    "ones (the circuit disagrees with the reference)"
                )
        with tempfile.NamedTemporaryFile(prefix="provenbook-", suffix=".wtns") as wtns:
            write_wtns(wtns.name, witness)
            return groth16py.prove_wtns(self.proving_key, wtns.name)

    def witness_calculator(self) -> WasmWitnessCalculator | None:
        """The compiled witness ``.wasm`` (compiled at the first call, then kept), or None when
        this circuit has none."""
        if self.wasm is None:
            return None
        with self._lock:
            if self._calculator is None:
                self._calculator = WasmWitnessCalculator(self.wasm)
            return self._calculator

    def verify(self, proof: bytes, public_signals: Sequence[int]) -> bool:
        """Verify against the public signals in circom order: outputs first, then public inputs."""
        if self._verifier is None:
            self._verifier = groth16py.Verifier(self.verifying_key)
        return self._verifier.verify(proof, list(public_signals))


def _entry_wasm(entry: Path) -> bytes | None:
    """A cache entry's ``circuit.wasm``, taken from its proving key the first time (entries made
    before the file existed have only the key); None when the key carries none."""
    path = entry / "circuit.wasm"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    try:
        wasm = wasm_from_proving_key(entry / "circuit.pk")
    except ValueError:
        return None
    with contextlib.suppress(OSError):  # a read-only cache: take it from the key next time
        write_atomically(path, wasm)
    return wasm


def _setup(
    source: Path, link_libraries: Sequence[str]
) -> tuple[groth16py.ProvingKey, groth16py.VerifyingKey, CircuitStats]:
    with _captured_fds() as captured:
        try:
            pk, vk = groth16py.setup_circom(str(source), list(link_libraries))
        except Exception as exc:  # the backend reports compile errors as several types
            err: Exception | None = exc
        else:
            err = None
    report = captured[0]
    if err is not None:
        raise CircuitCompileError(f"{source}: {err}\n{_ANSI_RE.sub('', report)}") from err
    return pk, vk, parse_compiler_report(report)


def compile_circuit(
    source: str | os.PathLike[str],
    *,
    link_libraries: Sequence[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> CompiledCircuit:
    """Compile ``source`` and run the (unsafe, single-party) setup, or load both from the cache.

    ``link_libraries`` defaults to groth16py's vendored circomlib 2. With ``use_cache`` the keys
    and stats are read from, or written to, ``<cache_dir>/<digest>/`` (default
    ``DEFAULT_CACHE_DIR``). A new entry is written to a temporary directory and renamed into
    place, so concurrent processes never see a proving key paired with a foreign verifying key.
    """
    src = Path(source).resolve()
    libs = list(link_libraries) if link_libraries is not None else _default_link_libraries()
    digest = source_digest(src, libs)
    if not use_cache:
        pk, vk, stats = _setup(src, libs)
        return CompiledCircuit(src, digest, pk, vk, stats)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    entry = cache / digest
    if (entry / "stats.json").is_file():
        return _load_entry(src, digest, entry)
    # One setup per circuit at a time: a second process (a prover worker, a parallel test
    # worker) waits for the first one's keys instead of making its own, minutes later.
    with file_lock(cache / ".locks" / digest):
        if (entry / "stats.json").is_file():
            return _load_entry(src, digest, entry)
        return _setup_into(src, libs, digest, cache)


def _load_entry(src: Path, digest: str, entry: Path) -> CompiledCircuit:
    meta = json.loads((entry / "stats.json").read_text(encoding="utf-8"))
    return CompiledCircuit(
        src,
        digest,
        groth16py.ProvingKey.load(str(entry / "circuit.pk")),
        groth16py.VerifyingKey.load(str(entry / "circuit.vk")),
        CircuitStats(**meta["stats"]),
        _entry_wasm(entry),
    )


def _setup_into(src: Path, libs: list[str], digest: str, cache: Path) -> CompiledCircuit:
    entry = cache / digest
    pk, vk, stats = _setup(src, libs)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest[:16]}-", dir=cache))
    try:
        pk.save(str(tmp / "circuit.pk"))
        vk.save(str(tmp / "circuit.vk"))
        wasm = _entry_wasm(tmp)  # also kept as circuit.wasm; None: groth16py proves
        meta = {"format": _CACHE_FORMAT, "source": src.name, "stats": dataclasses.asdict(stats)}
        # stats.json is written last: its presence marks a complete entry.
        (tmp / "stats.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        try:
            os.rename(tmp, entry)
        except OSError:  # another process cached the same digest first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
            return _load_entry(src, digest, entry)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return CompiledCircuit(src, digest, pk, vk, stats, wasm)


def circuit_stats(
    source: str | os.PathLike[str],
    *,
    link_libraries: Sequence[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> CircuitStats:
    """Compiler report of ``source``: read from the cache without loading the keys, or compiled
    (and cached with fresh keys) on a miss."""
    src = Path(source).resolve()
    libs = list(link_libraries) if link_libraries is not None else _default_link_libraries()
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    meta_path = cache / source_digest(src, libs) / "stats.json"
    if meta_path.is_file():
        return CircuitStats(**json.loads(meta_path.read_text(encoding="utf-8"))["stats"])
    return compile_circuit(src, link_libraries=libs, cache_dir=cache).stats


def constraint_count(
    source: str | os.PathLike[str],
    *,
    link_libraries: Sequence[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> int:
    """Total constraints of ``source`` (see ``circuit_stats``)."""
    return circuit_stats(source, link_libraries=link_libraries, cache_dir=cache_dir).constraints


def _main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print("usage: python -m proofs.circom FILE.circom [...]  (prints constraint reports)")
        return 0 if argv else 2
    for name in argv:
        stats = circuit_stats(name)
        row = {"source": name, "constraints": stats.constraints, **dataclasses.asdict(stats)}
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
