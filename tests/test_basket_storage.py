"""Saved baskets (the ``?basket=ID`` link) and the basket workbook (issue 15 item 6)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile

import duckdb
import pytest

from optexec.basket import storage
from optexec.basket.input import parse_basket
from optexec.basket.plan import plan_basket
from optexec.basket.spreadsheet import basket_xlsx, header
from optexec.store import db
from optexec.ui import basket_view

SETTINGS = {"horizon_days": 2.0, "slices": 52, "risk_aversion_per_usd": 3e-7, "drop_bad_rows": False,
            "extra_strategies": ["vwap"]}  # fmt: skip


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "baskets.duckdb"
    yield path
    db.close_all()


def test_a_saved_basket_reads_back_as_it_was_and_keeps_one_stable_id(store):
    table = basket_view.EXAMPLE.copy()
    ident = storage.save_basket(table, SETTINGS, store)
    canonical = json.dumps({"orders": json.loads(table.to_json(orient="split", index=False)), "settings": SETTINGS},
                           sort_keys=True, separators=(",", ":"))  # fmt: skip
    assert ident == hashlib.sha256(canonical.encode()).hexdigest()[:12] == storage.basket_id(table, SETTINGS)
    assert storage.save_basket(table.copy(), dict(reversed(SETTINGS.items())), store) == ident  # same basket, same id
    saved = storage.load_basket(ident, store)
    assert saved.basket_id == ident and saved.settings == SETTINGS and saved.created_at is not None
    assert list(saved.table.columns) == list(table.columns)
    assert saved.table.astype(object).where(saved.table.notna(), None).values.tolist() == (
        table.astype(object).where(table.notna(), None).values.tolist()
    )
    assert storage.basket_id(saved.table, saved.settings) == ident  # reopened and shared again: the same link
    with db.reading(store) as con:
        assert con.execute("SELECT count(*) FROM baskets").fetchone()[0] == 1
    other = storage.save_basket(table, {**SETTINGS, "slices": 53}, store)
    assert other != ident and storage.load_basket(other, store).settings["slices"] == 53


def test_an_unknown_id_a_malformed_one_and_an_unreadable_store_each_say_what_is_wrong(store, tmp_path):
    storage.save_basket(basket_view.EXAMPLE, SETTINGS, store)
    with pytest.raises(storage.UnknownBasketError, match="no basket 0123456789ab in the store"):
        storage.load_basket("0123456789ab", store)
    with pytest.raises(storage.UnknownBasketError, match="not a basket id"):
        storage.load_basket("eJyrVkrLz1eyUkpKLFKqBQAcPAS5", store)
    older = tmp_path / "older.duckdb"  # a store made before baskets were saved, opened read-only: no table yet
    duckdb.connect(str(older)).close()
    with pytest.raises(storage.UnknownBasketError, match="no basket"):
        storage.load_basket("0123456789ab", older)
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"not a database" * 100)
    with pytest.raises(ValueError, match="could not be read") as read:
        storage.load_basket("0123456789ab", garbage)
    assert not isinstance(read.value, storage.UnknownBasketError)
    with pytest.raises(ValueError, match="could not be saved in the store"):
        storage.save_basket(basket_view.EXAMPLE, SETTINGS, garbage)


def _sheets(data: bytes) -> tuple[list[str], dict[str, str], list[str], str]:
    """Sheet names, each sheet's XML by name, the shared strings, and the styles XML of an .xlsx."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        names = re.findall(r'<sheet name="([^"]+)"', book.read("xl/workbook.xml").decode())
        sheets = {name: book.read(f"xl/worksheets/sheet{i}.xml").decode() for i, name in enumerate(names, 1)}
        shared = re.findall(r"<t[^>]*>([^<]*)</t>", book.read("xl/sharedStrings.xml").decode())
        styles = book.read("xl/styles.xml").decode()
    return names, sheets, shared, styles


def test_the_workbook_has_the_three_sheets_units_in_headers_and_a_formula_like_symbol_as_text():
    table = basket_view.EXAMPLE.copy()
    table["sector"] = table["sector"].astype(object)
    table.loc[0, "sector"] = "=1+1"
    basket = parse_basket(table)
    with db.reading() as con:
        plan = plan_basket(basket, con, 1.0, 13, 1e-6)
    names, sheets, shared, styles = _sheets(basket_xlsx(plan, "abcdef012345"))
    assert names == ["Orders", "Strategies", "Roll-ups"]
    assert "expected cost ($)" in shared and "pct adv (% of ADV)" in shared and "horizon (trading days)" in shared
    assert "std cost ($)" in shared and "std cost ($, without the correlation)" in shared
    assert any("abcdef012345" in text for text in shared)
    assert "By side" in shared and any(s.startswith("By liquidity") for s in shared) and "By group (sector)" in shared
    assert all("<f>" not in xml for xml in sheets.values())  # no cell is a formula
    index = shared.index("=1+1")
    cells = re.findall(rf'<c r="[A-Z]+\d+"( s="(\d+)")? t="s"><v>{index}</v></c>', sheets["Orders"])
    assert cells, "the =1+1 group is a shared-string (text) cell of the Orders sheet"
    xfs = re.findall(r"<xf [^>]*>", styles.split("<cellXfs")[1])
    assert all('quotePrefix="1"' in xfs[int(style)] for _, style in cells)  # and stays text when edited
    rollups = sheets["Roll-ups"]
    assert rollups.count(f"<v>{index}</v>") >= 1  # the group roll-up names the same text cell
    assert header("max_participation") == "max participation (fraction of the market's volume)"
