"""Sans-I/O tests of ``venue.orders.OrderRouter`` and ``venue.marketdata``: FIX requests in,
engine commands executed by a ``ReferenceEngine`` (no node, no sockets), FIX messages out,
each validated against the dictionary."""

from __future__ import annotations

import gc
import hashlib
import random

import msgspec
import pytest

from matching import AddAccount, Deposit, ReferenceEngine, ResultCode, Side
from venue.fix import (
    CancelOrderRequest,
    Codec,
    Encoding,
    FixMessage,
    MarketDataSubscription,
    MassCancelRequest,
    NewOrderRequest,
    ReplaceOrderRequest,
    Session,
    Tag,
)
from venue.fix.codec import format_utc_timestamp, validate
from venue.marketdata import LocalBook, MarketDataFeed, aggregate, book_checksum
from venue.orders import (
    Flush,
    OrderRouter,
    OrderSignatureError,
    Pending,
    check_order_signature,
    cl_ord_int,
    parse_nonce,
    place_command,
    rej_reason,
    replace_command,
)
from venue.workload import default_markets

SYM = "PB1-PERP"
HDR = ((49, "PROVENBOOK"), (56, "T"), (34, "1"), (52, "20260101-00:00:00.000"))


class Venue:
    def __init__(
        self, max_open_orders: int = 1000, keys: dict[int, tuple[int, int]] | None = None,
        rules: int = 1,
    ) -> None:  # fmt: skip
        """``keys``: a signed venue (the router checks signatures and nonces, the engine
        guards nonces) with these accounts' keys. ``rules`` 2: the engine accepts repeated
        client ids and the router refuses them (``venue.node.Genesis.rules``)."""
        self.engine = ReferenceEngine(
            default_markets(), signed_nonces=keys is not None, unique_cl_ord_ids=rules < 2
        )
        self.max_open_orders, self.keys = max_open_orders, keys
        self.router = self.new_router()
        self.feed = MarketDataFeed(default_markets())
        self.seq = 0
        for a in (1, 2):
            x, y = keys.get(a, (0, 0)) if keys is not None else (0, 0)
            self.run_cmd(AddAccount(0, 0, a, x, y))
            self.run_cmd(Deposit(0, 0, a, 10**15))

    def new_router(self) -> OrderRouter:
        """A router with no ClOrdID state, as after a gateway restart."""
        live = None if self.keys is not None else self.engine.has_live_cl_ord_id
        return OrderRouter(default_markets(), max_open_orders=self.max_open_orders,
                           signing_keys=self.keys, live_cl_ord_id=live)  # fmt: skip

    def run_cmd(self, cmd: object) -> list[object]:
        self.seq += 1
        cmd = msgspec.structs.replace(cmd, seq=self.seq, ts=self.seq)  # type: ignore[type-var]
        return self.engine.process(cmd)  # type: ignore[arg-type]

    def request(self, account: int, req: object) -> list[tuple[int, FixMessage]]:
        p = self.router.prepare(account, req)  # type: ignore[arg-type]
        if isinstance(p, list):
            out = p
        else:
            assert isinstance(p, Pending)
            events = self.run_cmd(p.command)
            out = self.router.apply(p, self.seq, events, 1)  # type: ignore[arg-type]
        for _, msg in out:
            validate(FixMessage(msg.msg_type, (*HDR, *msg.fields)))
        return out


def common(account: int = 1) -> dict[str, object]:
    return {"seq_num": 1, "poss_dup": False, "account": str(account),
            "message": FixMessage("D")}  # fmt: skip


def new(cl: str, side: str = "1", qty: str = "5", price: str | None = "100000", **kw: object):
    args = {"cl_ord_id": cl, "symbol": SYM, "side": side, "order_qty": qty,
            "ord_type": "2" if price is not None else "1", "price": price,
            "time_in_force": "1", "post_only": False, **common()}  # fmt: skip
    args.update(kw)
    return NewOrderRequest(**args)  # type: ignore[arg-type]


def cancel(cl: str, orig: str, side: str = "1", order_id: str | None = None, account: int = 1):
    return CancelOrderRequest(cl_ord_id=cl, orig_cl_ord_id=orig, order_id=order_id, symbol=SYM,
                              side=side, **common(account))  # type: ignore[arg-type]  # fmt: skip


def exec_types(out: list[tuple[int, FixMessage]]) -> list[tuple[int, str | None]]:
    return [(a, m.get(Tag.ExecType) or m.msg_type) for a, m in out]


def test_cl_ord_int_is_deterministic_and_in_range() -> None:
    assert cl_ord_int("abc") == cl_ord_int("abc") != cl_ord_int("abd")
    assert 1 <= cl_ord_int("") < 2**64
    assert rej_reason(-1002)[0] == 13 and rej_reason(12345) == (99, "UNKNOWN_RESULT (12345)")
    reason, text = rej_reason(ResultCode.STALE_NONCE)
    assert reason == 99 and text.startswith("STALE_NONCE (-1104): ") and "replayed" in text


def test_parse_nonce() -> None:
    assert parse_nonce("1") == 1 and parse_nonce(str(2**64 - 1)) == 2**64 - 1
    for bad in (None, "", "0", "-3", "+3", " 3", "1.0", "٣", str(2**64), "9" * 5_000):
        with pytest.raises(OrderSignatureError) as err:
            parse_nonce(bad)
        assert err.value.problem == "nonce" and "Nonce(5018)" in str(err.value)


def test_lifecycle_fill_replace_cancel() -> None:
    v = Venue()
    assert exec_types(v.request(1, new("s1", side="2", qty="5"))) == [(1, "0")]
    out = v.request(2, new("b1", side="1", qty="3", price="100001", account="2"))
    assert exec_types(out) == [(2, "0"), (2, "F"), (1, "F")]
    maker = out[2][1]
    assert (maker.get(Tag.LeavesQty), maker.get(Tag.CumQty), maker.get(Tag.OrdStatus)) == (
        "2", "3", "1",
    )
    g = ReplaceOrderRequest(cl_ord_id="s2", orig_cl_ord_id="s1", order_id=None, symbol=SYM,
                            side="2", order_qty="10", ord_type="2", price="100002",
                            time_in_force="1", post_only=False, **common())  # fmt: skip
    (_, rep), = v.request(1, g)
    assert rep.get(Tag.ExecType) == "5" and rep.get(Tag.LeavesQty) == "7"
    assert v.engine.book(1, Side.SELL)[0].qty == 7  # OrderQty 10 total - CumQty 3
    too_small = msgspec.structs.replace(g, cl_ord_id="s3", orig_cl_ord_id="s2", order_qty="3")
    assert v.request(1, too_small)[0][1].msg_type == "9"
    (_, done), = v.request(1, cancel("c1", "s1", side="2"))  # any ClOrdID of the chain
    assert (done.get(Tag.ExecType), done.get(Tag.OrigClOrdID)) == ("4", "s2")
    (_, late), = v.request(1, cancel("c2", "s2", side="2"))
    assert late.msg_type == "9" and late.get(Tag.CxlRejReason) == "0"


@pytest.mark.parametrize("seed", range(6))
def test_rules_2_keeps_live_client_ids_unique_through_the_gateway(seed: int) -> None:
    """Rules 2 moves client id uniqueness from the engine to the router: whatever traders
    send (a few ClOrdIDs reused in new orders, replaces and cancels, and gateway restarts that
    forget every ClOrdID), no two live orders of one account carry the same engine id, as
    the rules-1 engine guaranteed, and each refusal sequences nothing."""
    rng = random.Random(seed)
    v = Venue(rules=2)
    names = [f"id{k}" for k in range(5)]
    refused = 0
    for _ in range(300):
        account, cl, other = rng.choice((1, 2)), rng.choice(names), rng.choice(names)
        side = "1" if account == 1 else "2"  # never crossing: orders stay live
        price = str(99_000 + rng.randrange(20) if side == "1" else 101_000 + rng.randrange(20))
        r = rng.random()
        if r < 0.05:
            v.router = v.new_router()
            continue
        if r < 0.5:
            req: object = new(cl, side=side, price=price, account=str(account))
        elif r < 0.8:
            req = ReplaceOrderRequest(
                cl_ord_id=cl, orig_cl_ord_id=other, order_id=None, symbol=SYM, side=side,
                order_qty="9", ord_type="2", price=price, time_in_force="1", post_only=False,
                **common(account),
            )  # fmt: skip
        else:
            req = cancel(cl, other, side=side, account=account)
        seq = v.seq
        out = v.request(account, req)
        six = [m for _, m in out if "6" in (m.get(Tag.OrdRejReason), m.get(Tag.CxlRejReason))]
        if six:
            refused += 1
            assert v.seq == seq  # nothing reached the engine
        live = [(o.account, o.cl_ord_id) for o in v.engine.snapshot().orders]
        assert len(live) == len(set(live)), live
    assert refused >= 10  # restarts made the router ask the engine, and it said no


def test_rejects_idempotency_and_limits() -> None:
    v = Venue(max_open_orders=1)
    first = v.request(1, new("a"))
    again = v.request(1, new("a", qty="9"))
    assert again[0][1].get(Tag.PossResend) == "Y"
    assert again[0][1].get(Tag.ExecID) == first[0][1].get(Tag.ExecID)
    assert v.request(1, new("b"))[0][1].get(Tag.OrdRejReason) == "3"  # open-order cap
    assert v.request(1, new("c", symbol="X"))[0][1].get(Tag.OrdRejReason) == "1"
    assert v.request(1, new("d", qty="1.5"))[0][1].get(Tag.OrdRejReason) == "13"
    assert v.request(1, new("e", price="1.5"))[0][1].get(Tag.OrdRejReason) == "99"
    (_, unknown), = v.request(1, cancel("x", "nope"))
    assert unknown.get(Tag.CxlRejReason) == "1"
    oid = first[0][1].get(Tag.OrderID)
    (_, foreign), = v.request(2, cancel("y", "?", order_id=oid, account=2))
    assert foreign.msg_type == "9" and "NOT_ORDER_OWNER" in (foreign.get(Tag.Text) or "")


def test_flush_when_outcome_unknown_and_market_orders() -> None:
    v = Venue()
    p = v.router.prepare(1, new("m1", side="2", qty="2"))
    assert isinstance(p, Pending)
    assert isinstance(v.router.prepare(1, new("m1")), Flush)
    assert isinstance(v.router.prepare(1, cancel("c", "m1", side="2")), Flush)
    v.router.apply(p, v.seq + 1, v.run_cmd(p.command), 1)  # type: ignore[arg-type]
    out = v.request(2, new("mk", side="1", qty="5", price=None, account="2"))
    assert exec_types(out) == [(2, "0"), (2, "F"), (1, "F"), (2, "C")]  # IOC rest expires
    q = MassCancelRequest(cl_ord_id="q", mass_cancel_request_type="7", symbol=None, side=None,
                          **common())  # fmt: skip
    v.request(1, new("r1", side="1", price="99000"))
    assert exec_types(v.request(1, q)) == [(1, "4"), (1, "r")]


def test_finality_ladder() -> None:
    r = OrderRouter(default_markets())
    assert r.finality(3) == "sequenced"
    r.advance("in_block", 3)
    r.advance("proven", 2)
    assert [r.finality(h) for h in (1, 3, 4, 0)] == ["proven", "in_block", "sequenced",
                                                     "sequenced"]  # fmt: skip
    r.advance("on_chain", 5)
    assert r.finality(4) == "on_chain"
    # optimistic mode: proposed sits between in_block and proven
    r.advance("in_block", 7)
    r.advance("proposed", 6)
    assert [r.finality(h) for h in (5, 6, 7)] == ["on_chain", "proposed", "in_block"]
    r.advance("proven", 7)
    assert r.finality(7) == "proven"


def test_feed_and_local_book_round_trip() -> None:
    v = Venue()
    book = LocalBook(SYM)
    book.apply_snapshot(v.feed.snapshot(1, "md", 0))
    assert not book.stale and book.settlement == 100_000
    for i, (side, px) in enumerate([("1", 99_990), ("2", 100_010), ("1", 99_995)]):
        v.request(1, new(f"o{i}", side=side, price=str(px)))
        for _, x in v.feed.update(v.engine, [1], []):
            validate(FixMessage("X", (*HDR, *x.fields)))
            assert book.apply_incremental(x)
    assert book.bids == aggregate(v.engine.book(1, Side.BUY)) == {99_990: 5, 99_995: 5}
    assert book.best() == (99_995, 100_010)
    assert book_checksum(book.bids, book.asks) == book_checksum(
        aggregate(v.engine.book(1, Side.BUY)), aggregate(v.engine.book(1, Side.SELL))
    )
    v.request(1, cancel("c", "o0"))
    (_, x), = v.feed.update(v.engine, [1], [])
    skipped = LocalBook(SYM, seq=book.seq - 1, stale=False)
    assert not skipped.apply_incremental(x) and skipped.stale and skipped.gaps == 1
    assert book.apply_incremental(x) and 99_990 not in book.bids
    tampered = FixMessage("X", tuple((t, "1") if t == Tag.BookChecksum else (t, val)
                                     for t, val in x.fields))  # fmt: skip
    wrong = LocalBook(SYM, seq=book.seq - 1, stale=False)
    assert not wrong.apply_incremental(tampered) and wrong.stale


@pytest.mark.parametrize("count", [0, 3])
def test_snapshot_always_has_an_entry(count: int) -> None:
    v = Venue()
    for i in range(count):
        v.request(1, new(f"o{i}", price=str(99_000 + i)))
    v.feed.update(v.engine, [1], [])
    w = v.feed.snapshot(1, None, 7)
    validate(FixMessage("W", (*HDR, *w.fields)))
    assert len(w.groups(Tag.NoMDEntries)) == 1 + count


def test_signed_router_checks_the_command_it_builds() -> None:
    import hashlib

    from proofs.eddsa import private_to_public
    from proofs.signing import sign_command

    sk = hashlib.sha256(b"router-key-1").digest()
    keys = {1: private_to_public(sk)}
    (m,) = [mk for mk in default_markets() if mk.symbol == SYM]
    router = OrderRouter(default_markets(), signing_keys=keys)
    # market orders (protection price, IOC/FOK) and limit orders: the client's command is the
    # router's, so a signature over it is accepted and carried
    for n, (tif, price) in enumerate((("1", None), ("4", None), ("3", "100000"), ("1", "100000"))):
        cl = f"o{tif}{price}"
        want = place_command(1, m, cl, "2", "1" if price is None else "2", tif,
                             int(price) if price else None, 5, nonce=10 + n)  # fmt: skip
        sig = sign_command(sk, want).sig
        p = router.prepare(1, new(cl, "2", "5", price, time_in_force=tif, signature=sig.hex(),
                                  nonce=str(10 + n)))  # fmt: skip
        assert isinstance(p, Pending) and p.command == msgspec.structs.replace(want, sig=sig)
        assert p.command.cl_ord_id == 10 + n  # the nonce, not the ClOrdID's hash
    # account 2 has no registered key; S >= l is malformed though it is 64 bytes of hex
    out = router.prepare(2, new("x", signature=sig.hex(), nonce="1"))
    assert isinstance(out, list) and "no registered key" in (out[0][1].get(Tag.Text) or "")
    with pytest.raises(OrderSignatureError, match="malformed") as err:
        check_order_signature(want, "ff" * 64, keys[1])
    assert err.value.problem == "malformed"


def test_signed_router_nonces_end_to_end_without_sockets() -> None:
    import hashlib

    from proofs.eddsa import private_to_public
    from proofs.signing import sign_command

    sk = hashlib.sha256(b"router-key-1").digest()
    v = Venue(keys={1: private_to_public(sk)})
    (m,) = [mk for mk in default_markets() if mk.symbol == SYM]

    def signed_new(cl: str, nonce: int, price: int = 99_000) -> NewOrderRequest:
        cmd = place_command(1, m, cl, "1", "2", "1", price, 5, nonce=nonce)
        return new(cl, price=str(price), signature=sign_command(sk, cmd).sig.hex(),
                   nonce=str(nonce))  # fmt: skip

    (_, ack), = v.request(1, signed_new("a", 7))
    assert ack.get(Tag.ExecType) == "0" and v.engine.account_view(1).nonce == 7
    # the same signed order under another ClOrdID reaches the engine, which refuses it
    d = msgspec.structs.replace(signed_new("a", 7), cl_ord_id="b")
    (_, rej), = v.request(1, d)
    assert rej.get(Tag.ExecType) == "8" and "STALE_NONCE" in (rej.get(Tag.Text) or "")
    # no Nonce: refused by the router, nothing reaches the engine
    seq = v.seq
    (_, rej), = v.request(1, msgspec.structs.replace(signed_new("c", 8), nonce=None))
    assert rej.get(Tag.OrdRejReason) == "99" and "Nonce(5018) missing" in (rej.get(Tag.Text) or "")
    assert v.seq == seq
    # a replace: its nonce is the new engine client id; without one, refused
    oid = int(ack.get(Tag.OrderID) or 0)
    cmd = replace_command(1, m.market_id, oid, "g1", 99_005, 5, 0, nonce=9)
    g = ReplaceOrderRequest(cl_ord_id="g1", orig_cl_ord_id="a", order_id=None, symbol=SYM,
                            side="1", order_qty="5", ord_type="2", price="99005",
                            time_in_force="1", post_only=False,
                            signature=sign_command(sk, cmd).sig.hex(), **common())  # fmt: skip
    (_, rej), = v.request(1, g)
    assert rej.msg_type == "9" and "Nonce(5018) missing" in (rej.get(Tag.Text) or "")
    (_, rep), = v.request(1, msgspec.structs.replace(g, nonce="9"))
    assert rep.get(Tag.ExecType) == "5" and v.engine.order_view(oid).cl_ord_id == 9
    # replayed, the replace is refused by the engine with the reason
    (_, rej), = v.request(1, msgspec.structs.replace(g, cl_ord_id="g2", orig_cl_ord_id="g1",
                                                    nonce="9"))  # fmt: skip
    assert rej.msg_type == "9" and "STALE_NONCE" in (rej.get(Tag.Text) or "")


# ---------------------------------------------------------------- byte-identical replay

#: SHA-256 of every frame ``_replay`` writes, computed with the gateway code before the
#: session-3 CPU work (precomputed tables, fast paths, untracked messages and orders). The
#: wire must not change: a new value here needs a reason, not just a refresh.
REPLAY_SHA256 = "1168f6fb7de7754923324a4dada91a2bfc3d96bbc803462e005cf21a9be7fd4f"


def _replay(n: int = 1500, seed: int = 3) -> tuple[str, OrderRouter, list[Session]]:
    """Logged-on sessions + router + ReferenceEngine, no sockets: a seeded mix of limit,
    market, IOC and post-only orders, cancels, replaces, mass cancels, repeated ClOrdIDs,
    bad symbols and quantities, and a market data subscription; every frame sent, hashed."""
    rng = random.Random(seed)
    t0 = 1_767_268_800 * 10**9
    engine = ReferenceEngine(default_markets())
    router = OrderRouter(default_markets(), max_open_orders=400)
    feed = MarketDataFeed(default_markets())
    seq = 0

    def run(cmd: object) -> list[object]:
        nonlocal seq
        seq += 1
        return engine.process(msgspec.structs.replace(cmd, seq=seq, ts=seq))  # type: ignore

    for a in (1, 2):
        run(AddAccount(0, 0, a, 0, 0))
        run(Deposit(0, 0, a, 10**15))
    codec = Codec(Encoding.TAGVALUE_PIPE)
    digest = hashlib.sha256()
    sessions = [Session(authenticate=lambda *_: True, challenge=bytes(16), now_ns=t0,
                        max_rate=1e9, burst=10**9) for _ in (1, 2)]  # fmt: skip
    client_seq = [1, 1]

    def send(i: int, msg_type: str, body: list[tuple[int, str]], now: int) -> None:
        head = [(49, f"B{i}"), (56, "PROVENBOOK"), (34, str(client_seq[i])),
                (52, format_utc_timestamp(now))]  # fmt: skip
        client_seq[i] += 1
        sessions[i].receive_data(codec.encode(FixMessage(msg_type, (*head, *body))), now)

    def drain(i: int) -> list[object]:
        for frame in sessions[i].data_to_send():
            digest.update(frame.encode() + b"\n")
        return sessions[i].events_received()

    for i in (0, 1):
        send(i, "A", [(98, "0"), (108, "30"), (553, str(i + 1)), (5012, "ok")], t0)
        drain(i)
    send(0, "V", [(262, "md1"), (263, "0"), (264, "5"), (267, "2"), (269, "0"), (269, "1"),
                  (146, "1"), (55, SYM)], t0)  # fmt: skip
    live: list[list[str]] = [[], []]
    for k in range(n):
        i = rng.randrange(2)
        now = t0 + k * 1_000_000
        ts = format_utc_timestamp(now)
        cl = f"{i}-{k}"
        r = rng.random()
        side = rng.choice("12")
        if live[i] and r < 0.3:
            orig = live[i].pop(rng.randrange(len(live[i])))
            send(i, "F", [(41, orig), (11, cl), (55, SYM), (54, side), (60, ts)], now)
        elif live[i] and r < 0.4:
            orig = rng.choice(live[i])
            send(i, "G", [(41, orig), (11, cl), (55, SYM), (54, side), (60, ts),
                          (38, str(rng.randint(1, 9))), (40, "2"),
                          (44, str(100_000 + rng.randint(-30, 30))), (59, "1")], now)  # fmt: skip
        elif r < 0.42:
            send(i, "q", [(11, cl), (530, rng.choice("17")), (55, SYM), (60, ts)], now)
        elif r < 0.45 and live[i]:
            send(i, "D", [(11, live[i][-1]), (55, SYM), (54, side), (60, ts), (38, "1"),
                          (40, "2"), (44, "100000"), (59, "1")], now)  # a repeated ClOrdID
        else:
            px = 100_000 + (-1 if side == "1" else 1) * rng.randint(-3, 40)
            body = [(11, cl), (55, rng.choice([SYM] * 30 + ["NOPE"])), (54, side), (60, ts),
                    (38, rng.choice(["1", "2", "5", "1.5", "9"])), (40, rng.choice("2222221")),
                    (59, rng.choice("11134"))]  # fmt: skip
            if body[5][1] == "2":
                body.append((44, str(px)))
            if rng.random() < 0.1:
                body.append((18, "6"))
            send(i, "D", body, now)
            live[i].append(cl)
        for ev in drain(i):
            if isinstance(ev, MarketDataSubscription):
                sessions[i].send(feed.snapshot(1, ev.md_req_id, 1), now, trusted=True)
                continue
            if not isinstance(ev, NewOrderRequest | CancelOrderRequest | ReplaceOrderRequest
                              | MassCancelRequest):  # fmt: skip
                continue
            p = router.prepare(i + 1, ev)
            assert not isinstance(p, Flush)  # one command at a time: never in flight
            out = p if isinstance(p, list) else router.apply(p, seq + 1, run(p.command), k + 2)
            for account, msg in out:
                sessions[account - 1].send(msg, now, trusted=True)
        for j in (0, 1):
            drain(j)
    return digest.hexdigest(), router, sessions


def test_replay_is_byte_identical_and_untracked() -> None:
    digest, router, sessions = _replay()
    assert digest == REPLAY_SHA256
    # What lives long stays out of the collector (``FixMessage`` and ``Order`` docstrings).
    orders = list(router.orders.values())
    entries = [e for a in router.accounts.values() for e in a.cl_ords.values()]
    stored = [m for s in sessions for _, m in s.store.load(1, s.next_outbound_seq)]
    assert orders and entries and stored
    assert not any(gc.is_tracked(x) for x in [*orders, *entries, *stored])
    firsts = [e.first_report for e in entries if e.first_report is not None]
    for msg in [*stored, *firsts]:
        # plain ints: a Tag member would keep its (tag, value) pair tracked
        assert all(type(t) is int for t, _ in msg.fields), msg
