"""Copy a venue's public record over HTTP, so that anyone, anywhere, can replay and verify it.

A running venue (``provenbook serve``) answers plain HTTP GETs on its FIX port
(``venue.gateway.Gateway._record``): ``/genesis``, ``/head?proofs_after=N``, ``/blocks/H`` and
``/proofs/H``, and the deployments it keeps (``/chain.json``, ``/optimistic.json``).
``mirror(url, DIR)`` copies the genesis, every block it does not hold yet, every proof that
arrived and the deployments into a venue data directory of its own; ``provenbook replay DIR
--proofs`` (or ``--follow`` beside ``mirror --follow``) then re-executes every block and checks
every proof, and ``provenbook watch DIR --chain URL`` watches the optimistic deployment.
Nothing the server sends is trusted: the mirror only checks that each block is the height it
asked for (so its store stays in order), and replay checks the rest. A deployment says which
contracts the venue uses; a watcher holds them to the blocks it replayed, and whoever reads a
feed should take its address from a source they trust, not from the venue alone.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import msgspec

from matching import Block
from matching.encoding import decoder

from .blockstore import BlockStore
from .node import Genesis

__all__ = ["DEPLOYMENT_FILES", "MirrorError", "MirrorReport", "mirror"]

_block_decoder = decoder(Block)

#: The deployments a venue keeps in its data directory, served and mirrored under these
#: names: validity mode's (``oracle.deploy.DEPLOYMENT_FILE``) and optimistic mode's
#: (``venue.proposer.OPTIMISTIC_DEPLOYMENT_FILE``). Named here, not imported, so that the
#: gateway and the mirror do not load the chain's libraries.
DEPLOYMENT_FILES = ("chain.json", "optimistic.json")


class MirrorError(Exception):
    """The venue could not be reached, answered something that is not its record, or the
    directory holds another venue."""


class MirrorReport(msgspec.Struct):
    """What a ``mirror`` run copied, and the height it holds at the end."""

    blocks: int = 0
    proofs: int = 0
    height: int = 0
    #: deployment files written (new or changed), by name
    deployments: list[str] = msgspec.field(default_factory=list)


def _base(url: str) -> str:
    """``http://host:port`` from the venue's URL (its ``ws://`` FIX address works too)."""
    for scheme, http in (("ws://", "http://"), ("wss://", "https://")):
        if url.startswith(scheme):
            url = http + url[len(scheme) :]
    if not url.startswith(("http://", "https://")):
        raise MirrorError(f"not an http(s) or ws(s) URL: {url!r}")
    return url.rstrip("/")


def _get(base: str, path: str, timeout: float) -> tuple[bytes, dict[str, str]] | None:
    """GET ``base + path``: (body, headers), or None for a 404; MirrorError otherwise."""
    try:
        with urllib.request.urlopen(base + path, timeout=timeout) as r:  # http(s): _base
            return r.read(), dict(r.headers)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise MirrorError(f"{base}{path}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise MirrorError(f"{base}{path}: {exc}") from None


def _copy_deployments(base: str, root: Path, timeout: float, report: MirrorReport) -> None:
    """The venue's deployments, written when new or changed (a JSON object each, else
    MirrorError); a venue that serves none (no chain) leaves nothing."""
    for name in DEPLOYMENT_FILES:
        got = _get(base, f"/{name}", timeout)
        if got is None:
            continue
        try:
            ok = isinstance(json.loads(got[0]), dict)
        except ValueError:
            ok = False
        if not ok:
            raise MirrorError(f"{base}/{name}: not a deployment record")
        path = root / name
        if path.exists() and path.read_bytes() == got[0]:
            continue
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(got[0])
        os.replace(tmp, path)
        report.deployments.append(name)


def mirror(
    url: str,
    data: str | os.PathLike[str],
    *,
    follow: bool = False,
    poll: float = 1.0,
    stop: threading.Event | None = None,
    timeout: float = 10.0,
    progress: Callable[[MirrorReport], None] | None = None,
) -> MirrorReport:
    """Copy the venue at ``url`` into the data directory ``data`` (created on first use, then
    continued): its genesis, the blocks above what ``data`` holds, and the proofs that
    arrived. With ``follow``, keep going every ``poll`` seconds until ``stop`` is set;
    ``progress(report)`` after each pass that copied something."""
    base = _base(url)
    root = Path(data)
    got = _get(base, "/genesis", timeout)
    if got is None:
        raise MirrorError(f"{base} does not serve a venue record (no /genesis)")
    genesis = got[0]
    try:
        msgspec.msgpack.decode(genesis, type=Genesis)
    except msgspec.ValidationError as exc:
        raise MirrorError(f"{base}/genesis is not a venue genesis: {exc}") from None
    path = root / "genesis.msgpack"
    if path.exists():
        if path.read_bytes() != genesis:
            raise MirrorError(f"{root} holds another venue (its genesis differs)")
    else:
        root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(genesis)
        os.replace(tmp, path)
    report = MirrorReport()
    with BlockStore(root / "blocks", first_height=1) as store:
        while True:
            before = (report.blocks, report.proofs)
            proven = set(store.proven_heights())
            missing = [h for h in range(1, store.last_height + 1) if h not in proven]
            after = (missing[0] - 1) if missing else store.last_height
            head = _get(base, f"/head?proofs_after={after}", timeout)
            if head is None:
                raise MirrorError(f"{base} does not serve /head")
            try:
                state = json.loads(head[0])
                height, offered = int(state["height"]), [int(h) for h in state["proven"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise MirrorError(f"{base}/head: not a head record ({exc})") from None
            for h in range(store.last_height + 1, height + 1):
                got = _get(base, f"/blocks/{h}", timeout)
                if got is None:
                    raise MirrorError(f"{base} announced height {height} but has no block {h}")
                try:
                    stored_height = _block_decoder.decode(got[0]).header.height
                except msgspec.DecodeError as exc:
                    raise MirrorError(f"{base}/blocks/{h}: not a block ({exc})") from None
                if stored_height != h:
                    raise MirrorError(f"{base}/blocks/{h} is block {stored_height}")
                store.put(h, got[0])
                report.blocks += 1
            for h in offered:
                if h in proven or h > store.last_height:
                    continue
                got = _get(base, f"/proofs/{h}", timeout)
                if got is not None:
                    store.put_proof(h, got[1].get("X-Proof-Kind", "unknown"), got[0])
                    report.proofs += 1
            report.height = store.last_height
            _copy_deployments(base, root, timeout, report)
            if progress is not None and (report.blocks, report.proofs) != before:
                progress(report)
            if not follow or (stop is not None and stop.is_set()):
                return report
            if stop is not None:
                stop.wait(poll)
            else:
                time.sleep(poll)
