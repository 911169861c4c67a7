"""``provenbook serve``: a venue behind the FIX gateway, until SIGINT or SIGTERM.

What an operator runs; traders connect with any FIX-over-WebSocket client (``venue.client``
is ours). The data directory is the venue: a new one is created with a genesis (the demo's
provable one unless a JSON genesis file is given), an existing one restarts from its
snapshot, blocks and journal to the same state. Accounts are opened by the operator, each
once: from a JSON file of public keys and deposits, or, for development only, the demo's
deterministic trader keys (``--dev-accounts N``, accounts 1..N, keys
``venue.demo.trader_key``). With ``--prove`` every block is proved live by a pool of prover
processes and the traders see their orders become "proven"; with ``--chain`` (and ``--prove``)
every proven block is also published on chain and they see "on_chain". On a chain reached by
URL the deployment is kept in ``DIR/chain.json``: a restart publishes what was proven while it
was down, then goes on live, on the same contracts. ``--chain embedded`` or ``anvil`` start a
chain for this run only (a development venue), deployed afresh at every start. With
``--optimistic`` (and ``--chain``) the venue runs optimistic mode instead: every block is
proposed as soon as it is stored, without waiting for a proof (``venue.proposer``; the
deployment in ``DIR/optimistic.json`` on an RPC chain), finalized once its challenge window has
passed, and, with ``--prove --prove-early``, made final at once by its live proof; the
traders see their orders become "proposed" (the price on chain, pending) and then "on_chain"
(final).

Shutdown (signal): the gateway stops taking frames, the open block is sealed, the committer
stores every block, and the node closes; acknowledged commands were durable before their
acks anyway, so a ``kill -9`` loses nothing either (the next start replays the journal).
Proofs still in flight are abandoned: the next ``serve --prove`` (or ``provenbook prove``)
proves every stored block that has none, first.
The address is printed as ``listening on ws://HOST:PORT`` once the gateway accepts
connections, so a script can wait for that line.

Accounts file (JSON)::

    [{"account": 7, "pubkey_x": "0x…", "pubkey_y": "0x…", "deposit": 1000000000}, ...]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from matching import AddAccount, Deposit
from matching.types import Command
from oracle.chain import open_chain
from oracle.deploy import DEPLOYMENT_FILE
from oracle.publish import BLOCKS_PER_TX
from proofs.eddsa import private_to_public

from .demo import PRODUCTION_GENESIS, PROVABLE_GENESIS, trader_key
from .gateway import Gateway, run_gateway
from .liveprover import LiveProver
from .node import Genesis, VenueNode
from .onchain import live_publisher
from .priority import Priority
from .proposer import (
    DEFAULT_BOND,
    DEFAULT_CHALLENGE_WINDOW,
    OPTIMISTIC_DEPLOYMENT_FILE,
    LiveProposer,
)

__all__ = ["BUILT_IN_GENESES", "AccountSpec", "ServeError", "account_commands", "dev_accounts",
           "load_accounts", "load_genesis", "proving_progress", "serve"]  # fmt: skip


#: ``serve --genesis NAME``: the venues that need no genesis file.
BUILT_IN_GENESES = {"demo": PROVABLE_GENESIS, "production": PRODUCTION_GENESIS}


class ServeError(ValueError):
    """A bad genesis or accounts file, or arguments that do not fit the venue."""


class AccountSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One account to open: its id, EdDSA-Poseidon public key and initial deposit."""

    account: int
    pubkey_x: str
    pubkey_y: str
    deposit: int = 0

    def key(self) -> tuple[int, int]:
        try:
            return int(self.pubkey_x, 0), int(self.pubkey_y, 0)
        except ValueError as exc:
            raise ServeError(f"account {self.account}: public key is not a number") from exc


def load_accounts(path: str | Path) -> list[AccountSpec]:
    """Read an accounts file (module docstring); ``ServeError`` says what is wrong."""
    try:
        specs = msgspec.json.decode(Path(path).read_bytes(), type=list[AccountSpec])
    except (OSError, msgspec.DecodeError) as exc:  # ValidationError is a DecodeError
        raise ServeError(f"accounts file {path}: {exc}") from exc
    for s in specs:
        s.key()
        if s.account <= 0 or s.deposit < 0:
            raise ServeError(f"account {s.account}: id must be positive, deposit not negative")
    if len({s.account for s in specs}) != len(specs):
        raise ServeError(f"accounts file {path}: an account is listed twice")
    return specs


def load_genesis(path: str | Path) -> Genesis:
    """A genesis from JSON (``Genesis`` fields, markets as ``MarketConfig`` objects), or one
    of the built-in ones by name: ``demo`` (``PROVABLE_GENESIS``, the test-size circuit, the
    default) or ``production`` (``PRODUCTION_GENESIS``, the production-size circuit)."""
    if str(path) in BUILT_IN_GENESES:
        return BUILT_IN_GENESES[str(path)]
    try:
        return msgspec.json.decode(Path(path).read_bytes(), type=Genesis)
    except (OSError, msgspec.DecodeError) as exc:
        raise ServeError(f"genesis file {path}: {exc}") from exc


def dev_accounts(n: int, deposit: int = 10**12) -> list[AccountSpec]:
    """Accounts 1..n with the demo's deterministic keys: development only."""
    out = []
    for a in range(1, n + 1):
        x, y = private_to_public(trader_key(a))
        out.append(AccountSpec(a, hex(x), hex(y), deposit))
    return out


def account_commands(node: VenueNode, specs: Sequence[AccountSpec]) -> list[Command]:
    """AddAccount + Deposit for each spec whose account the venue does not have yet.

    An account that exists is left alone (a restart with the same file opens nothing twice);
    one that exists under another key is an error, not silently kept.
    """
    cmds: list[Command] = []
    limit = 1 << node.genesis.account_depth
    seen: set[int] = set()
    for s in specs:
        x, y = s.key()
        if s.account in seen:
            raise ServeError(f"account {s.account} is listed twice")
        seen.add(s.account)
        if s.account >= limit:
            raise ServeError(f"account {s.account} does not fit the venue (ids < {limit})")
        view = node.engine.account_view(s.account)  # type: ignore[attr-defined]
        if view is not None:
            if (int(view.pubkey_x), int(view.pubkey_y)) != (x, y):
                raise ServeError(f"account {s.account} exists with another key")
            continue
        cmds.append(AddAccount(0, 0, s.account, x, y))
        if s.deposit:
            cmds.append(Deposit(0, 0, s.account, s.deposit))
    return cmds


def proving_progress(say: Callable[[str], None]) -> Callable[[str, int, int], None]:
    """``LiveProver``'s ``progress`` as lines for a server's log: its start is minutes of key
    set-up the first time, then a proving-key load of 25-90 s, which should not be silent."""
    key_load_began = [time.monotonic()]

    def stage(what: str, done: int, total: int) -> None:
        if done == 0:
            if what == "keys":
                say("circuit keys: compiled and set up unless cached (minutes, once)")
            elif what == "prover key":
                key_load_began[0] = time.monotonic()
                say("prover: loading the proving key")
        elif done == total:
            if what == "keys":
                say("circuit keys ready")
            elif what == "prover key":
                took = time.monotonic() - key_load_began[0]
                say(f"prover: proving key loaded in {took:.1f} s; proving")
            elif what == "catch-up":
                say(f"prover: {total} stored block(s) read back for proving")

    return stage


def serve(
    data: str | Path, *, genesis: Genesis | None = None, host: str = "127.0.0.1",
    port: int = 8765, accounts: Sequence[AccountSpec] = (), prove: bool = False,
    workers: int = 2, committer_priority: Priority = "background", committer_shards: int = 1,
    chain: str | None = None, blocks_per_tx: int | None = None, liquidate_every: float = 1.0,
    optimistic: bool = False, bond: int = DEFAULT_BOND,
    challenge_window: int = DEFAULT_CHALLENGE_WINDOW, prove_early: bool = False,
    post_bond: bool = False, say: Callable[[str], None] = print,
) -> tuple[int, int]:  # fmt: skip
    """Run the venue in ``data`` until SIGINT/SIGTERM; return the final (height, state root).
    ``genesis`` is used only to create a new venue (default: ``PROVABLE_GENESIS``); an
    existing one keeps its own. ``liquidate_every``: the keeper's scan for accounts under
    maintenance margin, at most this often in seconds after a new block (0: no keeper).
    ``blocks_per_tx``: with ``chain``, proven blocks queued for publication go out up to this
    many per transaction (default ``oracle.publish.BLOCKS_PER_TX``).

    ``optimistic`` (with ``chain``): instead of publishing proven blocks, propose every block
    as soon as it is stored (``venue.proposer.LiveProposer``; on an RPC chain the deployment
    is kept in ``DIR/optimistic.json`` and resumed), with a standing ``bond`` in wei and a
    ``challenge_window`` in seconds; ``prove_early`` (with ``prove``) sends each proof to make
    its block final at once; ``post_bond`` puts up a new bond after a slash."""
    if liquidate_every < 0:
        raise ServeError("--liquidate-every must be 0 (off) or a number of seconds")
    if blocks_per_tx is None:
        blocks_per_tx = BLOCKS_PER_TX
    if blocks_per_tx < 1:
        raise ServeError("--blocks-per-tx must be at least 1")
    data = Path(data)
    if chain is not None and not (prove or optimistic):
        raise ServeError("--chain publishes proven blocks: it needs --prove (or --optimistic)")
    if optimistic and chain is None:
        raise ServeError("--optimistic proposes blocks on a chain: it needs --chain")
    if prove_early and not (optimistic and prove):
        raise ServeError("--prove-early sends live proofs to proposed blocks: it needs "
                         "--optimistic and --prove")  # fmt: skip
    if (post_bond or prove_early) and not optimistic:
        raise ServeError("--post-bond and --prove-early are for --optimistic")
    if optimistic and (bond <= 0 or challenge_window <= 0):
        raise ServeError("--bond and --challenge-window must be positive")
    fresh = not (data / "genesis.msgpack").exists()
    onchain = open_chain(chain) if chain is not None else None  # a bad URL creates nothing
    try:
        node = VenueNode(
            data, (genesis or PROVABLE_GENESIS) if fresh else None,
            committer_priority=committer_priority, committer_shards=committer_shards,
        )  # fmt: skip
    except BaseException:
        if onchain is not None:
            onchain.close()
        raise
    prover = publisher = proposer = None
    try:
        opening = account_commands(node, accounts)
        persistent = onchain is not None and onchain.kind == "rpc"  # outlives this run
        if optimistic:
            assert onchain is not None
            proposer = LiveProposer(
                node, onchain, bond=bond, challenge_window=challenge_window, post_bond=post_bond,
                max_blocks=blocks_per_tx,
                deployment_file=data / OPTIMISTIC_DEPLOYMENT_FILE if persistent else None,
            )  # fmt: skip
            caught_up = proposer.start()
            say(
                f"optimistic: proposing every block on {onchain.kind} {onchain.url or ''}".rstrip()
                + f" (bond {bond} wei, challenge window {challenge_window} s); "
                f"{len(caught_up.proposed)} stored block(s) proposed now"
            )
        if prove:
            prover = LiveProver(node, workers=workers, progress=proving_progress(say))
            if proposer is not None:
                if prove_early:
                    prover.on_proof = proposer.submit_proof
            elif onchain is not None:
                publisher = live_publisher(
                    onchain, data, store=node.blocks, max_blocks=blocks_per_tx,
                    deployment_file=data / DEPLOYMENT_FILE if persistent else None,
                )  # fmt: skip
                prover.on_proof = lambda b, p: publisher.submit(b.header, p)
                say(f"publishing proven blocks on {onchain.kind} {onchain.url or ''}".rstrip())
            prover.start()

        async def ready(gw: Gateway) -> None:
            if prover is not None:
                prover.on_proven = gw.on_block_proven
            if publisher is not None:
                publisher.on_published = gw.on_published
            if proposer is not None:
                proposer.on_proposed, proposer.on_final = gw.on_proposed, gw.on_final
            if opening:
                await gw.submit_commands(opening)
            opened = sum(isinstance(c, AddAccount) for c in opening)
            how = "created" if fresh else "restarted"
            say(f"venue {how} in {data} at height {node.height}; {opened} account(s) opened")
            say(f"listening on {gw.url}")

        run_gateway(node, ready=ready, host=host, port=port, liquidate_every=liquidate_every)
        say("stopping: sealing the open block")
        node.seal()
        node.flush()
        if prover is not None:
            prover.on_proven = None
        if publisher is not None:
            publisher.on_published = None
        if proposer is not None:
            proposer.on_proposed = proposer.on_final = None
        return node.height, node.commitment.root
    finally:
        if prover is not None:
            prover.close()
        if publisher is not None:
            publisher.close()  # what was proven goes on chain before the chain is closed
        if proposer is not None:
            proposer.close()  # the blocks sealed on the way out are proposed too
            if proposer.halted is not None:
                say(f"optimistic operator halted at block {proposer.halted[0]}: "
                    f"{proposer.halted[1]}")  # fmt: skip
        if onchain is not None:
            onchain.close()
        node.close()
