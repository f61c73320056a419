"""Every ``--json`` output of the command line against its versioned JSON Schema (optexec/schemas)."""

from __future__ import annotations

import json

import jsonschema
import pandas as pd
import pytest

from optexec import cli, json_output
from optexec.store import sample

ORDER = ["--symbol", "SYN-LARGE", "--side", "buy", "--shares", "200000", "--horizon-days", "0.5", "--slices", "13"]


def _document(argv, capsys) -> dict:
    code = cli.main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def _check(kind: str, document: dict) -> None:
    schema = json.loads(json_output.schema_path(kind).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert document["schema"] == json_output.schema_id(kind) == schema["$id"]
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


def test_every_kind_has_a_schema_file():
    for kind in json_output.SCHEMA_VERSIONS:
        assert json_output.schema_path(kind).exists(), kind


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--cost-model", "calibrated", "--symbol", "SYN-CONCAVE"],
        ["--cost-model", "linear+transient", "--max-participation", "0.05"],
        ["--strategy", "twap", "--strategy", "pov", "--set", "participation_rate=0.01"],  # POV cannot finish
    ],
)
def test_plan_documents_match_their_schema(extra, capsys):
    _check("plan", _document(["plan", *ORDER, *extra, "--json"], capsys))


def test_sweep_simulate_and_basket_documents_match_their_schemas(tmp_path, capsys):
    _check("sweep", _document(["sweep", *ORDER, "--param", "risk_aversion_per_usd", "--values", "1e-7,1e-6",
                               "--json"], capsys))  # fmt: skip
    _check("sweep", _document(["sweep", *ORDER, "--param", "risk_aversion_per_usd", "--values", "1e-6",
                               "--paths", "50", "--json"], capsys))  # fmt: skip
    _check("simulate", _document(["simulate", *ORDER, "--paths", "100", "--json"], capsys))
    basket = tmp_path / "b.csv"
    basket.write_text("symbol,side,shares\nSYN-LARGE,buy,100000\nSYN-MID,sell,50000\nSYN-SMALL,buy,1e6\n")
    _check("basket", _document(["basket", str(basket), "--json"], capsys))


def test_store_and_calibration_documents_match_their_schemas(tmp_path, capsys):
    db_file = str(tmp_path / "new.duckdb")
    _check("db-init", _document(["db", "init", "--db", db_file, "--json"], capsys))
    bars = tmp_path / "bars.csv"
    pd.read_parquet(sample.DATA_DIR / "sample_bars.parquet").head(50).to_csv(bars, index=False)
    _check("load", _document(["load", str(bars), "--calendar", "XNYS", "--tz", "UTC", "--db", db_file, "--json"],
                             capsys))  # fmt: skip
    _check("db-info", _document(["--json", "db", "info", "--db", db_file], capsys))
    _check("db-market", _document(["db", "market", "SYN-LARGE", "--json"], capsys))
    _check("calibrate", _document(["calibrate", "--symbol", "SYN-MID", "--dry-run", "--json"], capsys))
    _check("calibrate-universe", _document(["calibrate", "--symbols", "SYN-MID,SYN-LARGE", "--dry-run", "--json"],
                                           capsys))  # fmt: skip
    lake = str(tmp_path / "lake")
    _check("export", _document(["export", "--lake", lake, "--symbols", "SYN-MID", "--json"], capsys))


def test_a_document_of_another_layout_fails_its_schema(capsys):
    """The schemas can fail: a plan without its strategies, or with a cost as text, is refused."""
    document = _document(["plan", *ORDER, "--json"], capsys)
    schema = json.loads(json_output.schema_path("plan").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in document.items() if k != "strategies"}, schema)
    document["strategies"][0]["expected_cost_usd"] = "12"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
