"""The prover pool: blocks are proved in parallel, away from the sequencer.

Proving is the expensive step (seconds per block against microseconds per command), so the
sequencer never waits for it: sealed blocks become jobs, workers prove them concurrently,
and results come back **in block order** for the publisher, whatever order they finish in.

* The proving key is loaded once per pool (``proofs.circom.compile_circuit``, cached keys)
  and kept for every job: key loading costs 25–90 s, a proof 6–30 s. Local workers are
  forked from the one process that loaded it and share its memory (section "the local
  backend" below); Ray actors each load their own.
* A worker that dies (killed, out of memory) breaks nothing: its job is proved again by a
  worker forked in its place, without another key load, while the other workers go on.
* A job whose witness does not satisfy the circuit is a ``ProofFailure`` in the result
  stream: the block is not provable, which the publisher must treat as a halt, not a retry.
* Workers run at background CPU priority by default (``priority="background"``,
  ``SCHED_IDLE``: ``venue.priority``), so a proof never delays an order's ack on a shared
  machine; ``priority="normal"`` on a host whose cores are the provers' own.
* Backends: ``local`` (a process pool on this machine, the default) and ``ray://host:port``
  (the same worker as Ray actors on an existing Ray cluster; ``pip install ray``).

Job inputs are plain dicts of ints / nested lists, and the expected public signals: the
worker's proof is verified against them before it is returned (groth16py does not check
constraints while proving, see ``proofs.circom``).
"""

from __future__ import annotations

import contextlib
import heapq
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait
from multiprocessing.reduction import recv_handle, send_handle
from pathlib import Path
from typing import Any, NoReturn

import msgspec

from .priority import Priority, apply_priority, check_priority

__all__ = ["ProofFailure", "ProofResult", "ProverPool", "ProverStartError", "WorkerInfo"]


class ProofResult(msgspec.Struct, frozen=True):
    height: int
    proof: bytes
    public_signals: tuple[int, ...]
    prove_seconds: float
    worker: str


class ProofFailure(msgspec.Struct, frozen=True):
    height: int
    error: str


class _Job(msgspec.Struct, frozen=True):
    height: int
    inputs: dict[str, Any]
    public_signals: tuple[int, ...]


# --- the worker (runs in each pool process or Ray actor) ---------------------------------

_circuit = None


def _init_worker(source: str, cache_dir: str | None, priority: str = "background") -> None:
    global _circuit
    from proofs.circom import compile_circuit

    apply_priority(priority)  # before the prover starts threads: they inherit it
    _circuit = compile_circuit(source, cache_dir=cache_dir)
    _circuit.witness_calculator()  # compile the witness .wasm now, not in the first proof


def _prove(job: _Job) -> ProofResult | ProofFailure:
    from proofs.circom import UnsatisfiedWitnessError

    assert _circuit is not None, "worker not initialised"
    t0 = time.perf_counter()
    try:
        proof = _circuit.prove(job.inputs, job.public_signals)
    except UnsatisfiedWitnessError as exc:
        return ProofFailure(job.height, f"unsatisfied: {exc}")
    except Exception as exc:  # malformed inputs: the witness builder's bug, report it
        return ProofFailure(job.height, f"{type(exc).__name__}: {exc}")
    return ProofResult(
        job.height, proof, job.public_signals, time.perf_counter() - t0, f"pid {os.getpid()}"
    )


class _RayActor:
    """The same worker as a Ray actor (wrapped with ``ray.remote`` at pool start)."""

    def __init__(self, source: str, cache_dir: str | None, priority: str) -> None:
        _init_worker(source, cache_dir, priority)

    def prove(self, job: _Job) -> ProofResult | ProofFailure:
        return _prove(job)


# --- the local backend: one key load, workers forked from it ---------------------------
#
# Loading a proving key is the largest fixed cost of a prover (groth16py checks every point:
# about 25 s for the test key, 90 s for the production key), and a key is read-only while it
# proves. So one process, the *zygote*, loads it once and forks every worker: the workers
# share its pages copy-on-write, and a worker that dies is replaced in a second or two, not
# after another key load. The zygote is spawned (the venue runs threads; forking it would
# be unsafe) and stays single-threaded, which is what makes forking it safe: it never
# compiles the witness .wasm (wasmtime starts threads) nor proves. Each worker compiles
# its .wasm after the fork.


def _zygote_main(source: str, cache_dir: str | None, priority: str, ctrl: Connection) -> None:
    """Load the key, then fork a worker per request until the pool closes ``ctrl``."""
    from proofs.circom import compile_circuit

    apply_priority(priority)  # inherited by every worker forked from here
    # Ctrl-C in a terminal reaches the whole process group: the pool's owner handles it and
    # closes the pool, which stops this process and its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    t0 = time.perf_counter()
    try:
        circuit = compile_circuit(source, cache_dir=cache_dir)
    except Exception as exc:
        ctrl.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    load_s = time.perf_counter() - t0
    try:
        ctrl.send(("ready", load_s))
    except OSError:
        return  # the pool is gone
    children: set[int] = set()
    # Terminated (multiprocessing does so to a daemon process when its parent exits without
    # closing the pool): take the workers down too. Not during the key load above, where a
    # handler would wait for the load to finish and no worker exists yet.
    signal.signal(signal.SIGTERM, _exit_now)
    try:
        while True:
            if ctrl.poll(1.0):
                try:
                    ctrl.recv()  # "fork", followed by the worker's end of its pipe
                    fd = recv_handle(ctrl)
                except (EOFError, OSError):
                    break  # the pool is gone
                pid = os.fork()
                if pid == 0:  # the worker
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # stops it even mid-proof
                    ctrl.close()
                    _worker_main(circuit, Connection(fd), load_s)
                os.close(fd)
                children.add(pid)
            while children:  # reap the workers that ended
                pid, _ = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                children.discard(pid)
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _exit_now(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _worker_main(circuit: Any, conn: Connection, load_s: float) -> NoReturn:
    """A forked worker: prove the jobs ``conn`` brings until it closes; never returns."""
    global _circuit
    code = 0
    try:
        _circuit = circuit
        t0 = time.perf_counter()
        try:
            circuit.witness_calculator()  # compile the witness .wasm now, not in a proof
        except Exception as exc:  # a damaged cache entry: every worker would fail alike
            conn.send(_StartFailed(f"{type(exc).__name__}: {exc}"))
            raise
        conn.send(WorkerInfo(os.getpid(), load_s, time.perf_counter() - t0))
        while True:
            try:
                job = conn.recv()
            except EOFError:
                break  # the pool is gone, or closed this worker
            conn.send(_prove(job))
    except OSError:
        pass  # the pool went away while this worker was proving
    except BaseException:
        code = 1
    finally:
        os._exit(code)  # a forked child must not run the zygote's cleanup


class _StartFailed(msgspec.Struct, frozen=True):
    error: str


class WorkerInfo(msgspec.Struct, frozen=True):
    """A running local worker: its pid, the seconds its proving key took to load (the
    zygote's one load, shared by every worker) and the seconds from its fork until it
    could prove (the witness .wasm compiled). Each worker sends its own when it is ready."""

    pid: int
    key_load_s: float
    start_s: float


class ProverStartError(RuntimeError):
    """The proving key could not be loaded: no worker can start."""


class _Worker:
    __slots__ = ("conn", "info", "job")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.info: WorkerInfo | None = None  # None until it can prove
        self.job: int | None = None  # the height it proves


class _Zygote:
    """The process that holds the proving key and forks the local workers."""

    def __init__(self, args: tuple[str, str | None, str]) -> None:
        ours, theirs = multiprocessing.Pipe()
        self.proc = multiprocessing.get_context("spawn").Process(
            target=_zygote_main, args=(*args, theirs), name="prover-zygote", daemon=True
        )
        self.proc.start()
        theirs.close()
        self.ctrl = ours
        self.load_s: float | None = None

    def fork(self) -> Connection:
        """Ask for a worker; returns the pool's end of its pipe, on which the worker sends
        its ``WorkerInfo`` once it can prove."""
        ours, theirs = multiprocessing.Pipe()
        try:
            self.ctrl.send("fork")
            send_handle(self.ctrl, theirs.fileno(), self.proc.pid or 0)
        except OSError:
            pass  # the zygote died: the pipe gives EOF at once and the pool restarts it
        theirs.close()
        return ours

    def close(self) -> None:
        self.ctrl.close()  # the zygote sees EOF, kills its remaining workers and exits
        if self.load_s is None:
            self.proc.terminate()  # maybe still loading, and loading does not look at ctrl
        self.proc.join(10)
        if self.proc.exitcode is None:
            self.proc.kill()
            self.proc.join()


class ProverPool:
    """Proves jobs concurrently; ``results()`` yields them in height order."""

    # a worker that dies before it can prove this many times in a row is a broken install,
    # not bad luck: stop instead of forking forever
    MAX_START_FAILURES = 3
    # how long a worker's early death waits to see whether its key holder is exiting
    ZYGOTE_EXIT_GRACE = 1.0

    def __init__(
        self,
        circuit: str | os.PathLike[str],
        *,
        workers: int = 2,
        cache_dir: str | os.PathLike[str] | None = None,
        backend: str = "local",
        first_height: int = 1,
        priority: Priority = "background",
        on_key_loaded: Callable[[float], None] | None = None,
    ) -> None:
        """``on_key_loaded(seconds)`` is called, from the thread waiting on the pool, when the
        local pool's key holder has loaded the proving key (again if it had to be restarted);
        a key load takes long enough to be worth showing."""
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.priority = check_priority(priority)
        self.source = str(Path(circuit).resolve())
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.workers = workers
        self.backend = backend
        self._next = first_height
        self._jobs: dict[int, _Job] = {}
        self._done: dict[int, ProofResult | ProofFailure] = {}
        self.restarts = 0
        self.on_key_loaded = on_key_loaded
        if backend == "local":
            self._zygote = _Zygote(self._actor_args)
            self._local: list[_Worker] = []
            self._queued: list[int] = []  # heights waiting for a worker (a heap)
            self._start_failures = 0
            self._spawn_workers()
        elif backend.startswith("ray://") or backend == "ray":
            self._start_ray(backend)
        else:
            raise ValueError(f"unknown prover backend {backend!r} (local, ray://host:port)")

    # local -----------------------------------------------------------------------------

    def _spawn_workers(self) -> None:
        while len(self._local) < self.workers:
            self._local.append(_Worker(self._zygote.fork()))

    def worker_info(self) -> list[WorkerInfo]:
        """The local workers, once all of them can prove (waits for the key load)."""
        while len(self._local) < self.workers or any(w.info is None for w in self._local):
            self._pump(None)
        return sorted((w.info for w in self._local if w.info is not None), key=lambda i: i.pid)

    def worker_pids(self) -> list[int]:
        """Pids of the local workers that have started."""
        return sorted(w.info.pid for w in self._local if w.info is not None)

    @property
    def zygote_pid(self) -> int | None:
        """Pid of the process that holds the key and forks the local workers."""
        return self._zygote.proc.pid

    def _assign(self) -> None:
        for w in self._local:
            if not self._queued:
                return
            if w.info is not None and w.job is None:
                h = heapq.heappop(self._queued)
                if h not in self._jobs:
                    continue
                w.job = h
                try:
                    w.conn.send(self._jobs[h])
                except OSError:
                    pass  # it died: its pipe reads EOF next, and the job goes back

    def _pump(self, timeout: float | None) -> None:
        """Wait up to ``timeout`` for worker messages and handle them."""
        z = self._zygote
        by_conn = {w.conn: w for w in self._local}
        waitables: list[Any] = [*by_conn, z.proc.sentinel]
        if z.load_s is None:
            waitables.append(z.ctrl)
        for ready in mp_wait(waitables, timeout):
            if ready is z.ctrl:
                if z is self._zygote:
                    self._zygote_message(z)
            elif ready is z.proc.sentinel:
                self._zygote_died(z)
            elif (w := by_conn.get(ready)) is not None and w in self._local:
                self._worker_message(w)
        self._assign()

    def _zygote_message(self, z: _Zygote) -> None:
        try:
            kind, value = z.ctrl.recv()
        except (EOFError, OSError):
            return  # it died; its sentinel says so
        if kind == "error":
            raise ProverStartError(f"the prover could not load its key: {value}")
        z.load_s = value
        if self.on_key_loaded is not None:
            self.on_key_loaded(value)

    def _zygote_died(self, z: _Zygote) -> None:
        if z is not self._zygote:
            return  # already replaced
        if z.load_s is None and z.ctrl.poll():
            self._zygote_message(z)  # what it sent before it died; raises a load error
        if z.load_s is None:
            self._start_failures += 1
            self._check_start_failures("the key-loading process died")
        # Workers already forked keep proving; only the missing ones need a new zygote.
        z.close()
        self._zygote = _Zygote(self._actor_args)
        self.restarts += 1
        for w in self._local:
            if w.info is None:
                w.conn.close()
        self._local = [w for w in self._local if w.info is not None]
        self._spawn_workers()

    def _worker_message(self, w: _Worker) -> None:
        try:
            msg = w.conn.recv()
        except (EOFError, OSError):
            self._worker_died(w)
            return
        if isinstance(msg, WorkerInfo):
            w.info = msg
            self._start_failures = 0
            return
        if isinstance(msg, _StartFailed):
            raise ProverStartError(f"a prover worker could not start: {msg.error}")
        assert w.job == msg.height, (w.job, msg)
        w.job = None
        self._finish(msg.height, msg)

    def _worker_died(self, w: _Worker) -> None:
        w.conn.close()
        self._local.remove(w)
        if w.info is None and not self._zygote_dying():
            self._start_failures += 1
            self._check_start_failures("a prover worker died before it could prove")
        if w.job is not None and w.job in self._jobs:
            heapq.heappush(self._queued, w.job)
        self.restarts += 1
        if self._zygote.proc.is_alive():
            self._local.append(_Worker(self._zygote.fork()))
        else:
            self._zygote_died(self._zygote)

    def _zygote_dying(self) -> bool:
        """Whether the key holder is gone or going. A worker that dies before it starts may
        have been waiting for a fork from a key holder that was killed: a process that large
        takes a moment to exit, and until then it looks alive while every fork asked of it
        fails. That is the key holder's death (it is started again), not a failed start."""
        z = self._zygote.proc
        if z.is_alive():
            mp_wait([z.sentinel], self.ZYGOTE_EXIT_GRACE)
        return not z.is_alive()

    def _check_start_failures(self, what: str) -> None:
        if self._start_failures >= self.MAX_START_FAILURES:
            raise ProverStartError(f"{what} {self._start_failures} times in a row")

    # ray -------------------------------------------------------------------------------

    @property
    def _actor_args(self) -> tuple[str, str | None, str]:
        return (self.source, self.cache_dir, self.priority)

    def _start_ray(self, backend: str) -> None:
        import ray  # optional dependency

        address = None if backend == "ray" else backend
        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True)
        self._ray = ray
        actor = ray.remote(_RayActor)
        self._actor_cls = actor
        self._actors = [actor.remote(*self._actor_args) for _ in range(self.workers)]
        self._refs: dict[Any, tuple[int, int]] = {}  # object ref -> (height, actor index)
        self._rr = 0

    # common ----------------------------------------------------------------------------

    def submit(self, height: int, inputs: Mapping[str, Any], public_signals: Sequence[int]) -> None:
        """Queue a block's proof; returns at once."""
        if height in self._jobs or height in self._done or height < self._next:
            raise ValueError(f"block {height} was already submitted")
        job = _Job(height, dict(inputs), tuple(int(x) for x in public_signals))
        self._jobs[height] = job
        self._dispatch(job)

    def _dispatch(self, job: _Job) -> None:
        if self.backend == "local":
            heapq.heappush(self._queued, job.height)
            self._assign()
        else:
            i = self._rr % len(self._actors)
            self._rr += 1
            self._refs[self._actors[i].prove.remote(job)] = (job.height, i)

    @property
    def pending(self) -> int:
        return len(self._jobs)

    def _collect(self, timeout: float | None) -> None:
        if self.backend == "local":
            self._pump(timeout)
        else:
            self._collect_ray(timeout)

    def _collect_ray(self, timeout: float | None) -> None:
        ray = self._ray
        if not self._refs:
            return
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        for ref in ready:
            height, i = self._refs.pop(ref)
            try:
                res = ray.get(ref)
            except ray.exceptions.RayActorError:
                self._actors[i] = self._actor_cls.remote(*self._actor_args)
                self.restarts += 1
                self._dispatch(self._jobs[height])
                continue
            self._finish(height, res)

    def _finish(self, height: int, res: ProofResult | ProofFailure) -> None:
        self._jobs.pop(height, None)
        self._done[height] = res

    def results(self, timeout: float | None = None) -> Iterator[ProofResult | ProofFailure]:
        """Yield finished proofs in height order, waiting for the next one while jobs remain.

        Stops when nothing is pending, or when ``timeout`` seconds pass without the next
        height becoming available.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while self._next in self._done:
                yield self._done.pop(self._next)
                self._next += 1
                deadline = None if timeout is None else time.monotonic() + timeout
            if not self._jobs:
                return
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            self._collect(left)

    def close(self) -> None:
        """Stop the workers now: proofs in flight are abandoned, not waited for (a production
        proof takes a minute, and a venue asked to stop should not wait for it; whoever
        submits the block next proves it again)."""
        if self.backend == "local":
            for w in self._local:
                if w.info is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(w.info.pid, signal.SIGTERM)
                w.conn.close()
            self._local.clear()
            self._zygote.close()  # it reaps the workers, kills any still starting, exits
        else:
            for a in self._actors:
                self._ray.kill(a)

    def __enter__(self) -> ProverPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
