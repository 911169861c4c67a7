"""Our FIX output validated by quickfix's FIX 4.4 DataDictionary (an independent engine).

A real gateway session (logon, an order that rests, a fill, a cancel, a reject, market data)
is captured by the real client; every message of a standard type is re-encoded as tag=value
and parsed by quickfix with its FIX44.xml dictionary, which checks required fields, field
types, enumerated values, repeating groups and field order. Custom messages (U0-U3) are
outside FIX 4.4 and skipped; custom tags (5000+) are user-defined fields, which the
dictionary accepts unchecked. quickfix builds from source (C++, ~15 min), so it is the
optional extra ``provenbook[fixcheck]``; its FIX44.xml comes from the same pinned sdist.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from venue.fix import Tag
from venue.fix.codec import encode_tagvalue
from venue.gateway import Gateway

from .test_it_gateway import SYM, client, run

fix = pytest.importorskip("quickfix", reason="pip install provenbook[fixcheck] (quickfix)")
ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = ROOT / ".cache" / "quickfix"
VERSION = "1.16.0"


def fix44_spec() -> Path:
    """FIX44.xml from the pinned quickfix sdist, downloaded into .cache once."""
    spec = SPEC_DIR / "FIX44.xml"
    if spec.exists():
        return spec
    SPEC_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         f"quickfix=={VERSION}", "-d", str(SPEC_DIR)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    with tarfile.open(SPEC_DIR / f"quickfix-{VERSION}.tar.gz") as tar:
        member = tar.getmember(f"quickfix-{VERSION}/spec/FIX44.xml")
        data = tar.extractfile(member)
        assert data is not None
        spec.write_bytes(data.read())
    return spec


def test_gateway_messages_validate_with_quickfix_fix44(tmp_path: Path) -> None:
    captured: list = []

    async def body(gw: Gateway) -> None:
        async with client(gw, 1) as maker, client(gw, 2) as taker:
            await maker.subscribe(SYM)
            sell = await maker.place(SYM, "2", 5, 100_010)
            await maker.report(sell, "0")
            buy = await taker.place(SYM, "1", 3, 100_020)
            await taker.report(buy, "F")
            cxl = await maker.cancel(sell, SYM, "2")
            await maker.report(cxl, "4")
            bad = await taker.cancel("no-such-order", SYM, "1")
            await taker.report(bad)  # OrderCancelReject (9)
            rej = await taker.place(SYM, "1", 10**9, 100_000)
            await taker.report(rej, "8")
            await maker.wait_for(lambda: any(m.msg_type == "X" for m in maker.received))
            captured.extend(maker.received + taker.received)

    run(tmp_path, body)
    dd = fix.DataDictionary(str(fix44_spec()))
    dd.checkUserDefinedFields(False)
    checked: dict[str, int] = {}
    for msg in captured:
        if msg.msg_type.startswith("U"):
            continue
        m = fix.Message()
        m.setString(encode_tagvalue(msg), True, dd)  # raises on any dictionary violation
        checked[msg.msg_type] = checked.get(msg.msg_type, 0) + 1
    # order and market-data messages all went through the dictionary
    assert {"8", "9", "W", "X"} <= set(checked), checked
    assert sum(checked.values()) >= 10
    assert any(m.get(Tag.FinalityState) for m in captured if m.msg_type == "8")
