"""Saved baskets (the ``?basket=ID`` link) and the basket workbook (issue 15 item 6)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile

import duckdb
import pytest

from optexec.baskets import storage
from optexec.baskets.input import parse_basket
from optexec.baskets.plan import plan_basket
from optexec.baskets.spreadsheet import basket_xlsx, header
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


def test_the_workbook_has_its_four_sheets_units_in_headers_and_a_formula_like_symbol_as_text():
    table = basket_view.EXAMPLE.copy()
    table["sector"] = table["sector"].astype(object)
    table.loc[0, "sector"] = "=1+1"
    basket = parse_basket(table)
    with db.reading() as con:
        plan = plan_basket(basket, con, 1.0, 13, 1e-6)
    names, sheets, shared, styles = _sheets(basket_xlsx(plan, "abcdef012345"))
    assert names == ["Orders", "Strategies", "Roll-ups", "Warnings"]
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


def test_the_workbook_names_the_orders_above_the_participation_limit():
    basket = parse_basket(basket_view.EXAMPLE)
    with db.reading() as con:
        plan = plan_basket(basket, con, 1.0, 13, 1e-6, max_participation=0.1)
    over = plan.over_participation("joint_ac")
    assert over  # 13 slices of a day: the large orders trade more than 10% of a slice's volume
    _, sheets, shared, _ = _sheets(basket_xlsx(plan))
    assert any(f"{len(over)} order(s) go above the 10% participation limit" in text for text in shared)
    assert "within participation limit" in shared
    warnings = [text for text in shared if text.startswith("joint_ac: ") and "participation limit" in text]
    assert len(warnings) == 1 and all(symbol in warnings[0] for symbol, _ in over)
    assert "unconstrained optimum" in warnings[0]
    # the Orders sheet's within-limit column: one FALSE per order above the limit
    assert sheets["Orders"].count('t="b"><v>0</v>') == len(over)


CORRELATION = (
    b",SYN-LARGE,SYN-MID,SYN-SMALL,SYN-CONCAVE\n"
    b"SYN-LARGE,1,0.8,0.8,0.8\nSYN-MID,0.8,1,0.8,0.8\nSYN-SMALL,0.8,0.8,1,0.8\nSYN-CONCAVE,0.8,0.8,0.8,1\n"
)


def test_an_uploaded_correlation_is_saved_with_the_basket_and_reopening_it_gives_the_same_std_and_var(store):
    from optexec.baskets.correlation import from_file

    table = basket_view.EXAMPLE.copy()
    basket = parse_basket(table)
    with db.reading() as con:
        given = from_file(CORRELATION, basket.symbols, name="the uploaded correlation file corr.csv")
        plan = plan_basket(basket, con, 1.0, 13, 1e-6, given)
        store_plan = plan_basket(basket, con, 1.0, 13, 1e-6)
    settings = storage.link_settings(
        1.0, 13, 1e-6, False, [], 0.25, storage.correlation_setting("corr.csv", CORRELATION)
    )
    ident = storage.save_basket(table, settings, store)
    saved = storage.load_basket(ident, store)
    name, data = storage.saved_correlation(saved.settings)
    assert name == "corr.csv" and data == CORRELATION  # the very bytes that were uploaded
    reopened_basket = parse_basket(saved.table)
    with db.reading() as con:
        reopened = plan_basket(
            reopened_basket,
            con,
            saved.settings["horizon_days"],
            saved.settings["slices"],
            saved.settings["risk_aversion_per_usd"],
            from_file(data, reopened_basket.symbols),
        )
    for name in ("joint_ac", "independent_ac", "twap"):
        first, again = plan.strategy(name), reopened.strategy(name)
        assert again.risk.std_usd == first.risk.std_usd and again.var95_usd == first.var95_usd
        # and the store's correlation would have given other numbers: the matrix is what the link carries
        assert abs(store_plan.strategy(name).risk.std_usd / first.risk.std_usd - 1) > 0.01
    assert storage.basket_id(saved.table, saved.settings) == ident


def test_link_settings_leave_out_what_older_links_did_not_have_so_that_their_ids_stay():
    old = {"horizon_days": 2.0, "slices": 52, "risk_aversion_per_usd": 3e-7, "drop_bad_rows": False,
           "extra_strategies": ["vwap"]}  # fmt: skip
    assert storage.link_settings(2, 52, 3e-7, False, ["vwap"]) == old
    assert storage.link_settings(2, 52, 3e-7, False, ["vwap"], 0.25) == old
    assert storage.link_settings(2, 52, 3e-7, False, ["vwap"], 0.1) == {**old, "max_participation": 0.1}
    entry = storage.correlation_setting("c.csv", CORRELATION)
    assert storage.link_settings(2, 52, 3e-7, False, ["vwap"], correlation=entry)["correlation"] == entry
    assert storage.saved_correlation(old) is None
    with pytest.raises(ValueError, match="damaged"):
        storage.saved_correlation({**old, "correlation": "not a matrix"})
    with pytest.raises(ValueError, match="not UTF-8 text"):
        storage.correlation_setting("c.csv", b"\xff\xfe,\x00")
