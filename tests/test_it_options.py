"""Options on the proven price: ``ProvenOptions`` settling on the real proven blocks.

The three proven blocks of the session fixture (block 1 carries the initial price p1; block 2
has fills, price p2; block 3 carries p2) are published through ``deploy_venue`` and
``Publisher``, never a fake feed. The blocks close in consecutive seconds t1 < t2 < t3, far
ahead of the chain's own clock, which the tests move forward (``time_travel`` on the embedded
chain, ``evm_setNextBlockTimestamp`` on anvil). Two clocks, as the contract defines them:
"expired" is the chain's ``block.timestamp`` reaching the expiry; the settlement price is the
feed's expiry price, final once a block closing after the expiry second is proven.

One embedded deployment serves the module: block 1 is published once, and every test runs
from that state and is rolled back (``evm_snapshot``/``evm_revert``), so tests do not
interfere and each proof is verified only where a test needs its block.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from oracle.artifacts import load_artifact
from oracle.chain import Chain, ChainError, open_chain
from oracle.deploy import deploy_venue
from oracle.options import Options, Tx
from oracle.publish import Publisher
from oracle.reverts import ContractRevert, decode_revert, revert_data
from oracle.token import Token

from .chain_helpers import Proven

MULT = 10_000
"""Contract size: prices are in cents (the feed has 2 decimals) and the collateral has 6, so
10_000 base units per cent make one option one unit of the asset."""
AGE = 600
"""The options' ``maxPriceAge``: early exercise refuses a proven price older than 10 minutes."""
FUNDS = 10**15
ASSET = "0x00000000000000000000000000000000000000a5"
MAX_UINT = 2**256 - 1


@dataclasses.dataclass
class Market:
    """A venue with block 1 proven, a collateral token, options on its feed, and three funded
    accounts that approved the options: writers ``a`` and ``b``, holder ``c``."""

    chain: Chain
    proven: Proven
    pub: Publisher
    token: Token
    options: Options
    a: str
    b: str
    c: str

    def t(self, height: int) -> int:
        """Close time of proven block ``height`` in seconds (what the feed reports)."""
        return self.proven.headers[height - 1].close_ts // 10**9

    def price(self, height: int) -> int:
        return self.proven.headers[height - 1].markets[0].price

    def publish(self, *heights: int) -> None:
        for h in heights:
            self.pub.publish(self.proven.headers[h - 1], self.proven.proofs[h - 1])

    def now(self) -> int:
        return int(self.chain.w3.eth.get_block("latest")["timestamp"])

    def travel(self, ts: int) -> None:
        """Mine a block at unix time ``ts``; later transactions land after it."""
        w3 = self.chain.w3
        if self.chain.kind == "embedded":
            w3.testing.timeTravel(ts + 1)  # eth-tester: mines ts, the pending block is ts + 1
        else:
            w3.provider.make_request("evm_setNextBlockTimestamp", [ts])  # type: ignore[arg-type]
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert self.now() == ts

    def balances(self) -> dict[str, int]:
        who = {"a": self.a, "b": self.b, "c": self.c, "options": self.options.address}
        return {k: self.token.balance_of(v) for k, v in who.items()}


def _market(chain: Chain, proven: Proven) -> Market:
    h1 = proven.headers[0]
    d = deploy_venue(chain, proven.vk, start=h1, asset=ASSET, decimals=2, description="PB1")
    pub = Publisher(chain, d)
    pub.publish(h1, proven.proofs[0])
    token = Token.deploy_test_collateral(chain)
    options = Options.deploy(chain, d.feed, token.address, multiplier=MULT, max_price_age=AGE)
    a, b, c = chain.accounts[1:4]
    for who in (a, b, c):
        token.mint(who, FUNDS)
        token.approve(options.address, MAX_UINT, sender=who)
    m = Market(chain, proven, pub, token, options, a, b, c)
    # the proven blocks close in the chain's future (tests/chain_helpers.py, SlowClock)
    assert m.now() < m.t(1) - 3600 and m.t(1) < m.t(2) < m.t(3)
    return m


@pytest.fixture(scope="module")
def base(proven: Proven) -> Iterator[Market]:
    with open_chain("embedded") as chain:
        yield _market(chain, proven)


@pytest.fixture
def m(base: Market) -> Iterator[Market]:
    """The module's market, rolled back after the test."""
    snapshot = base.chain.w3.testing.snapshot()
    try:
        yield base
    finally:
        base.chain.w3.testing.revert(snapshot)


def _refused(name: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, ...]:
    """Call ``fn``, which must revert with the custom error ``name``; its arguments (addresses
    decoded in lower case)."""
    with pytest.raises(ContractRevert) as info:
        fn(*args, **kw)
    assert info.value.name == name, info.value
    return info.value.values


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before}


def test_european_call_and_put_settle_at_the_proven_expiry_price_once_final(m: Market) -> None:
    opt, a, b, c = m.options, m.a, m.b, m.c
    p2, t2 = m.price(2), m.t(2)
    call = opt.create_series(is_call=True, american=False, strike=p2 - 7, expiry=t2, cap=p2 + 50)
    put = opt.create_series(is_call=False, american=False, strike=p2 + 3, expiry=t2).value
    call_id = call.value
    assert (call_id, put, opt.series_count()) == (1, 2, 2)
    s = opt.series(call_id)
    assert (s.is_call, s.american, s.strike, s.cap, s.expiry) == (True, False, p2 - 7, p2 + 50, t2)
    assert s.collateral_per_contract == 57 * MULT  # (cap - strike) * multiplier
    assert opt.series(put).collateral_per_contract == (p2 + 3) * MULT  # strike * multiplier

    start = m.balances()
    deposits = [
        opt.write(call_id, 3, sender=a).value,
        opt.write(call_id, 2, sender=b).value,
        opt.write(put, 4, sender=b).value,
    ]
    assert deposits == [3 * 57 * MULT, 2 * 57 * MULT, 4 * (p2 + 3) * MULT]
    assert m.token.balance_of(opt.address) == sum(deposits)
    assert (opt.short_balance(call_id, a), opt.long_balance(call_id, a)) == (3, 3)
    # longs trade anywhere (ERC-1155); shorts stay with their writer
    opt.transfer_longs(call_id, c, 2, sender=a)
    opt.transfer_longs(put, c, 4, sender=b)
    assert (opt.long_balance(call_id, a), opt.long_balance(call_id, c)) == (1, 2)
    assert opt.short_balance(call_id, a) == 3 and opt.short_balance(call_id, c) == 0

    # before expiry on the chain's clock: nothing settles, nothing pays, no early exercise
    assert _refused("NotExpired", opt.settle, call_id) == (call_id, t2)
    assert _refused("NotSettled", opt.redeem, call_id, 1, sender=c) == (call_id,)
    assert _refused("NotSettled", opt.withdraw, call_id, sender=a) == (call_id,)
    assert _refused("NotAmerican", opt.exercise_early, call_id, 1, sender=c) == (call_id,)

    m.travel(t2 + 5)
    assert _refused("SeriesExpired", opt.write, call_id, 1, sender=a) == (call_id, t2)
    # expired, but the expiry price is not final: block 1 closed before t2, then block 2 closed
    # in t2's own second, and only a block closing after t2 fixes what the price was at t2
    assert _refused("PriceNotFinal", opt.settle, call_id) == (call_id, t2)
    m.publish(2)
    assert _refused("PriceNotFinal", opt.settle, call_id) == (call_id, t2)
    m.publish(3)
    settled = opt.settle(call_id)
    assert settled.value == p2 and settled.gas_used > 0
    assert _refused("AlreadySettled", opt.settle, call_id) == (call_id,)
    assert opt.settle(put).value == p2
    s = opt.series(call_id)
    assert s.settled and s.settlement_price == p2 and s.payout_per_contract == 7 * MULT
    assert opt.series(put).payout_per_contract == 3 * MULT

    # holders: exactly (price - strike) * multiplier per call, (strike - price) * multiplier
    # per put; a burnt long cannot be paid twice
    assert opt.redeem(call_id, 2, sender=c).value == 2 * 7 * MULT
    assert _refused("ERC1155InsufficientBalance", opt.redeem, call_id, 1, sender=c)[1:] == (
        0, 1, call_id,
    )  # fmt: skip
    assert opt.redeem(call_id, 1, sender=a).value == 7 * MULT
    assert opt.redeem(call_id, 2, sender=b).value == 2 * 7 * MULT
    assert opt.redeem(put, 4, sender=c).value == 4 * 3 * MULT
    # writers: their collateral less what their shorts owed; once only
    assert opt.withdraw(call_id, sender=a).value == 3 * (57 - 7) * MULT
    assert _refused("NothingToWithdraw", opt.withdraw, call_id, sender=a) == (call_id, a.lower())
    assert _refused("NothingToWithdraw", opt.withdraw, call_id, sender=c) == (call_id, c.lower())
    assert opt.withdraw(call_id, sender=b).value == 2 * (57 - 7) * MULT
    assert opt.withdraw(put, sender=b).value == 4 * p2 * MULT  # (strike - 3) * multiplier each

    # conservation: everything deposited was paid out, to the unit
    assert _delta(start, m.balances()) == {
        "a": -3 * 57 * MULT + 7 * MULT + 3 * 50 * MULT,
        "b": -2 * 57 * MULT - 4 * (p2 + 3) * MULT + 2 * 7 * MULT + 2 * 50 * MULT + 4 * p2 * MULT,
        "c": 2 * 7 * MULT + 4 * 3 * MULT,
        "options": 0,
    }
    for sid in (call_id, put):
        s = opt.series(sid)
        assert (s.longs, s.shorts, s.collateral) == (0, 0, 0)


def test_out_of_the_money_pays_nothing_and_writers_get_everything_back(m: Market) -> None:
    opt, a, c = m.options, m.a, m.c
    p2, t2 = m.price(2), m.t(2)
    call = opt.create_series(is_call=True, american=False, strike=p2 + 10, expiry=t2, cap=p2 + 20)
    put = opt.create_series(is_call=False, american=True, strike=p2 - 10, expiry=t2)
    start = m.balances()
    deposited = opt.write(call.value, 2, sender=a).value + opt.write(put.value, 3, sender=a).value
    assert deposited == 2 * 10 * MULT + 3 * (p2 - 10) * MULT
    opt.transfer_longs(call.value, c, 2, sender=a)
    opt.transfer_longs(put.value, c, 3, sender=a)
    m.travel(t2 + 5)
    m.publish(2, 3)
    for sid in (call.value, put.value):
        assert opt.settle(sid).value == p2
        assert opt.series(sid).payout_per_contract == 0
    # out of the money at the money's edges too
    assert opt.payoff(call.value, p2 + 10) == 0 and opt.payoff(put.value, p2 - 10) == 0
    assert opt.redeem(call.value, 2, sender=c).value == 0
    assert opt.redeem(put.value, 3, sender=c).value == 0
    assert opt.withdraw(call.value, sender=a).value == 2 * 10 * MULT
    assert opt.withdraw(put.value, sender=a).value == 3 * (p2 - 10) * MULT
    assert _delta(start, m.balances()) == {"a": 0, "b": 0, "c": 0, "options": 0}


def test_american_early_exercise_pays_in_the_money_at_the_latest_proven_price(m: Market) -> None:
    opt, a, c = m.options, m.a, m.c
    p1, t1 = m.price(1), m.t(1)  # block 1 is the latest proven block: its price, its close
    far = m.t(3) + 86_400

    def american(is_call: bool, strike: int, cap: int = 0, expiry: int = far) -> int:
        s = opt.create_series(is_call=is_call, american=True, strike=strike, expiry=expiry, cap=cap)
        return s.value

    call = american(True, p1 - 4, p1 + 100)  # pays 4 price units
    capped = american(True, p1 - 10, p1 - 6)  # would pay 10, capped at 4
    put = american(False, p1 + 5)  # pays 5
    atm = american(True, p1, p1 + 10)
    otm_put = american(False, p1 - 1)
    gone = american(True, p1 - 4, p1 + 100, expiry=t1 - 100)
    euro = opt.create_series(is_call=True, american=False, strike=p1 - 4, expiry=far, cap=p1 + 9)
    for sid, n in ((call, 5), (capped, 2), (put, 3), (atm, 1), (otm_put, 1), (gone, 1)):
        opt.write(sid, n, sender=a)
        opt.transfer_longs(sid, c, n, sender=a)
    opt.write(euro.value, 1, sender=a)

    # the latest proven block closed after this series' expiry: on the venue's clock it has
    # expired, so its price cannot serve an exercise "before expiry"
    assert m.now() < t1 - 100
    assert _refused("SeriesExpired", opt.exercise_early, gone, 1, sender=c) == (gone, t1 - 100)

    m.travel(t1 + 10)  # the proven price is 10 s old
    start = m.balances()
    before = opt.series(call)
    paid = opt.exercise_early(call, 2, sender=c)
    assert paid.value == 2 * 4 * MULT  # (price - strike) * multiplier
    assert opt.exercise_early(capped, 2, sender=c).value == 2 * 4 * MULT  # capped
    assert opt.exercise_early(put, 3, sender=c).value == 3 * 5 * MULT
    assert _delta(start, m.balances()) == {
        "a": 0, "b": 0, "c": 8 * MULT + 8 * MULT + 15 * MULT, "options": -31 * MULT,
    }  # fmt: skip
    after = opt.series(call)
    assert after.longs == before.longs - 2 and after.shorts == before.shorts == 5
    assert after.collateral == before.collateral - 8 * MULT and after.writing_closed
    assert opt.series(capped).collateral == 0  # the whole cap went to the holder
    assert opt.long_balance(call, c) == 3

    assert _refused("OutOfTheMoney", opt.exercise_early, atm, 1, sender=c) == (atm, p1, p1)
    assert _refused("OutOfTheMoney", opt.exercise_early, otm_put, 1, sender=c) == (
        otm_put, p1, p1 - 1,
    )  # fmt: skip
    assert _refused("NotAmerican", opt.exercise_early, euro.value, 1, sender=a)
    assert _refused("ZeroAmount", opt.exercise_early, call, 0, sender=c) == ()
    assert _refused("ERC1155InsufficientBalance", opt.exercise_early, call, 4, sender=c)[1:] == (
        3, 4, call,
    )  # fmt: skip
    # its shorts paid for an exercise: a newcomer would share that loss, so no new writers
    assert _refused("WritingClosed", opt.write, call, 1, sender=m.b) == (call,)

    m.travel(t1 + AGE + 1)  # no block proven for longer than maxPriceAge
    updated, now, age = _refused("StalePrice", opt.exercise_early, call, 1, sender=c)
    assert (updated, age) == (t1, AGE) and now > t1 + AGE

    m.travel(far)
    assert _refused("SeriesExpired", opt.exercise_early, call, 1, sender=c) == (call, far)


def test_american_after_early_exercise_settles_and_writers_share_the_rest(m: Market) -> None:
    """Pooled collateral: the early exercise is paid from the series' pool, so every writer
    bears it pro rata; withdrawals round down and the last writer takes the remainder."""
    opt, a, b, c = m.options, m.a, m.b, m.c
    p1, p2, t2 = m.price(1), m.price(2), m.t(2)
    assert p2 - p1 == 10
    sid = opt.create_series(is_call=True, american=True, strike=p1 - 10, expiry=t2, cap=p1 + 20)
    am = sid.value  # collateral 30 price units per option
    start = m.balances()
    opt.write(am, 2, sender=a)
    opt.write(am, 1, sender=b)
    opt.transfer_longs(am, c, 2, sender=a)
    opt.transfer_longs(am, c, 1, sender=b)
    # before expiry, at block 1's price (it closed in the chain's future: fresh)
    assert opt.exercise_early(am, 1, sender=c).value == 10 * MULT

    m.travel(t2 + 5)
    assert _refused("SeriesExpired", opt.exercise_early, am, 1, sender=c) == (am, t2)
    m.publish(2)
    assert _refused("PriceNotFinal", opt.settle, am) == (am, t2)
    m.publish(3)
    assert opt.settle(am).value == p2  # like a European one: the proven expiry price
    assert opt.redeem(am, 2, sender=c).value == 2 * 20 * MULT
    # writers' collateral: 3 * 30 - 10 (early) - 2 * 20 (at expiry) = 40 price units, split
    # 2:1; 40 * MULT * 2 / 3 is not whole: a rounds down, b (last) takes the remainder
    writers = 40 * MULT
    assert opt.withdraw(am, sender=a).value == writers * 2 // 3
    assert opt.withdraw(am, sender=b).value == writers - writers * 2 // 3
    assert writers * 2 // 3 != writers * 2 / 3  # the case really rounds
    assert _delta(start, m.balances()) == {
        "a": -2 * 30 * MULT + writers * 2 // 3,
        "b": -30 * MULT + writers - writers * 2 // 3,
        "c": 10 * MULT + 40 * MULT,
        "options": 0,
    }


def test_bad_inputs_revert_with_their_errors(m: Market) -> None:
    opt, a = m.options, m.a
    now, p = m.now(), m.price(1)
    assert _refused("ExpiryInPast", opt.create_series, is_call=False, american=False,
                    strike=p, expiry=now)[0] == now  # fmt: skip
    for is_call, strike, cap in ((True, p, p), (True, p, p - 1), (False, p, 1), (False, 0, 0)):
        assert _refused(
            "InvalidTerms", opt.create_series, is_call=is_call, american=False, strike=strike,
            expiry=now + 3600, cap=cap,
        ) == (is_call, strike, cap)  # fmt: skip
    sid = opt.create_series(is_call=False, american=False, strike=p, expiry=now + 3600).value
    for fn, args in (
        (opt.series, (0,)),
        (opt.series, (sid + 1,)),
        (opt.payoff, (sid + 1, p)),
        (opt.write, (sid + 1, 1)),
        (opt.exercise_early, (sid + 1, 1)),
        (opt.settle, (sid + 1,)),
        (opt.redeem, (sid + 1, 1)),
        (opt.withdraw, (sid + 1,)),
    ):
        assert _refused("UnknownSeries", fn, *args)[0] in (0, sid + 1)
    assert _refused("ZeroAmount", opt.write, sid, 0, sender=a) == ()
    assert _refused("ZeroAmount", opt.redeem, sid, 0, sender=a) == ()
    # the collateral token's own refusals come through by name
    poor = m.chain.accounts[5]
    assert _refused("ERC20InsufficientAllowance", opt.write, sid, 1, sender=poor)[0] == (
        opt.address.lower()
    )
    m.token.approve(opt.address, MAX_UINT, sender=poor)
    assert _refused("ERC20InsufficientBalance", opt.write, sid, 1, sender=poor)[0] == poor.lower()
    assert opt.series(sid).longs == 0
    # a contract size of zero is refused at deployment
    with pytest.raises(ChainError) as info:
        Options.deploy(m.chain, opt.feed(), m.token.address, multiplier=0, max_price_age=AGE)
    data = revert_data(info.value)
    assert data is not None
    assert decode_revert(load_artifact("ProvenOptions").abi, data).name == "ZeroMultiplier"


@pytest.mark.skipif(shutil.which("npm") is None, reason="anvil comes from npm")
def test_the_same_options_on_anvil(proven: Proven) -> None:
    with open_chain("anvil") as chain:
        m = _market(chain, proven)
        opt, a, b, c = m.options, m.a, m.b, m.c
        p1, p2, t1, t2 = m.price(1), m.price(2), m.t(1), m.t(2)
        gas: dict[str, int] = {}

        def note(name: str, tx: Tx) -> Tx:
            gas.setdefault(name, tx.gas_used)
            return tx

        am = note("createSeries", opt.create_series(
            is_call=True, american=True, strike=p1 - 10, expiry=t2, cap=p1 + 20)).value  # fmt: skip
        put = opt.create_series(is_call=False, american=False, strike=p2 + 5, expiry=t2).value
        far = opt.create_series(
            is_call=True, american=True, strike=p1 - 10, expiry=t2 + 86_400, cap=p1 + 20
        ).value
        start = m.balances()
        note("write", opt.write(am, 3, sender=a))
        opt.write(put, 2, sender=b)
        opt.write(far, 1, sender=a)
        opt.transfer_longs(am, c, 3, sender=a)
        opt.transfer_longs(put, c, 2, sender=b)
        opt.transfer_longs(far, c, 1, sender=a)
        assert note("exerciseEarly", opt.exercise_early(am, 1, sender=c)).value == 10 * MULT

        m.travel(t1 + AGE + 1)
        assert _refused("StalePrice", opt.exercise_early, far, 1, sender=c)[0] == t1
        assert _refused("PriceNotFinal", opt.settle, am) == (am, t2)
        m.publish(2, 3)
        assert note("settle", opt.settle(am)).value == p2
        assert opt.settle(put).value == p2
        assert note("redeem", opt.redeem(am, 2, sender=c)).value == 2 * 20 * MULT
        assert opt.redeem(put, 2, sender=c).value == 2 * 5 * MULT
        assert note("withdraw", opt.withdraw(am, sender=a)).value == (90 - 10 - 40) * MULT
        assert opt.withdraw(put, sender=b).value == 2 * p2 * MULT
        moved = _delta(start, m.balances())
        assert moved["options"] == 30 * MULT  # only the far series' collateral is left
        assert moved["a"] + moved["b"] + moved["c"] == -30 * MULT
        print(f"\nProvenOptions gas on anvil: {gas}")
        assert all(20_000 < g < 300_000 for g in gas.values()), gas
