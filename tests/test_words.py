"""Plain words on the pages (issue 17 item 3): numbers with a sensible format, no "None", improvements signed so that
better reads as better, command-line advice in the web app's words, warnings grouped with a count."""

import math

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from optexec.ui import calibration_table, formats, rl_view
from tests.shown import shown


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.853588e-08, "3.854 × 10⁻⁸"),
        (-2.5e-7, "−2.5 × 10⁻⁷"),
        (1.5e9, "1.5 × 10⁹"),
        (84769.436, "84,769"),  # at least four significant digits, thousands separated
        (12.345678, "12.35"),
        (0.125, "0.125"),
        (1.0, "1"),
        (0.0, "0"),
        (None, "—"),
        (float("nan"), "—"),
        (float("inf"), "∞"),
    ],
)
def test_a_number_reads_as_a_trader_reads_it(value, text):
    assert formats.number(value) == text


def test_scientific_notation_keeps_the_value():
    """The shown mantissa and exponent give the value back to the digits shown."""
    for value in np.geomspace(1e-12, 1e12, 37):
        text = formats.number(value)
        if "×" in text:
            mantissa, power = text.split(" × 10")
            exponent = int(power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
            assert float(mantissa) * 10.0**exponent == pytest.approx(value, rel=5e-4)
        else:
            assert float(text.replace(",", "")) == pytest.approx(value, rel=5e-4)


def test_with_unit_never_puts_a_unit_on_a_dash():
    assert formats.with_unit(2.5e-6, "$/share per share/day") == "2.5 × 10⁻⁶ $/share per share/day"
    assert formats.with_unit(None, "$/share") == "—"


@pytest.mark.parametrize(
    ("pct", "text"), [(16.9, "16.9% cheaper"), (-16.9, "16.9% dearer"), (0.01, "the same"), (math.nan, "—")]
)
def test_an_improvement_is_signed_so_that_better_reads_as_better(pct, text):
    assert formats.percent_change(pct) == text


def test_the_rl_evaluation_table_says_cheaper_or_dearer_from_the_costs():
    """improvement_vs_twap_pct > 0 means cheaper than TWAP (optexec.rl.evaluate): -16.9 is 16.9% dearer."""
    raw = pd.DataFrame(
        [
            {"strategy": "TWAP", "mean_bps": 20.0, "std_bps": 5.0, "cvar95_bps": 30.0, "objective_usd": 84769.436,
             "improvement_vs_twap_pct": 0.0, "improvement_stderr_pct": 0.0},
            {"strategy": "RL", "mean_bps": 23.38, "std_bps": 4.0, "cvar95_bps": 31.0, "objective_usd": 90000.0,
             "improvement_vs_twap_pct": -16.9, "improvement_stderr_pct": 1.24},
            {"strategy": "AC", "mean_bps": 18.0, "std_bps": 4.0, "cvar95_bps": 25.0, "objective_usd": 80000.0,
             "improvement_vs_twap_pct": 10.0, "improvement_stderr_pct": math.nan},
        ]
    )  # fmt: skip
    table = rl_view.evaluation_table(raw).set_index("Strategy")
    assert table.loc["TWAP", "Mean cost vs TWAP"] == "reference"
    assert table.loc["RL", "Mean cost vs TWAP"] == "16.9% dearer" and table.loc["RL", "± s.e."] == "± 1.2%"
    assert table.loc["AC", "Mean cost vs TWAP"] == "10.0% cheaper" and table.loc["AC", "± s.e."] == "—"
    assert table.loc["TWAP", "E + λ·Var ($)"] == "$84,769"
    assert not any("_" in column for column in table.columns)


def test_the_stored_policies_table_has_no_json_and_no_key():
    raw = pd.DataFrame(
        [{"name": "desk", "agent": "q_learning", "problem_key": "abc", "trained_at": pd.Timestamp("2026-01-02 03:04"),
          "summary": '{"regime": "volatile", "iterations": 30, "final_cost_bps": 12.345}'},
         {"name": "old", "agent": "cross_entropy", "problem_key": "xyz", "trained_at": pd.Timestamp("2025-01-01"),
          "summary": "{}"}]
    )  # fmt: skip
    table = rl_view.policies_table(raw, "abc").set_index("Name")
    assert table.loc["desk"].to_dict() == {
        "Agent": "Q-learning (0%, 10%, …, 100%)", "Trained (UTC)": "2026-01-02 03:04", "For this ticket": "yes",
        "Trained for": "volatile market", "Iterations": "30", "Final validation cost": "12.35 bps",
    }  # fmt: skip
    assert table.loc["old", "For this ticket"] == "no" and table.loc["old", "Iterations"] == "—"
    assert not table.astype(str).apply(lambda c: c.str.contains("{|None")).any().any()


def test_the_calibration_table_in_words_with_units_and_dashes():
    raw = pd.DataFrame(
        [
            {"parameter": "eta", "value": 3.853588e-08, "stderr": 9.2e-10, "low_95": 3.67e-08, "high_95": 4.03e-08,
             "observations": 24118, "fit_r2": 0.889397, "method": "propagator fit", "fallback": False, "warnings": ""},
            {"parameter": "sigma_daily", "value": 0.0123, "stderr": 0.0004, "low_95": 0.0115, "high_95": 0.0131,
             "observations": 62, "fit_r2": np.nan, "method": "yang-zhang", "fallback": False, "warnings": ""},
            {"parameter": "eta_rule_of_thumb", "value": 3.9e-07, "stderr": np.nan, "low_95": np.nan,
             "high_95": np.nan, "observations": 0, "fit_r2": np.nan, "method": "rule", "fallback": False,
             "warnings": ""},
            {"parameter": "something_new", "value": 2.0, "stderr": None, "low_95": None, "high_95": None,
             "observations": None, "fit_r2": None, "method": None, "fallback": True, "warnings": "a note"},
        ]
    )  # fmt: skip
    table = calibration_table.readable(raw).set_index("parameter")
    eta = table.loc["temporary impact η"]
    assert (eta["value"], eta["unit"], eta["fit R²"]) == ("3.854 × 10⁻⁸", "$/share per share/day", "0.889")
    assert eta["95% interval"] == "3.67 × 10⁻⁸ to 4.03 × 10⁻⁸" and eta["observations"] == "24,118"
    sigma = table.loc["volatility σ, daily"]  # a fraction of price shown in percent, its error scaled alike
    assert (sigma["value"], sigma["unit"], sigma["± std error"]) == ("1.23", "% of price per √day", "0.04")
    rule = table.loc["temporary impact η, Almgren–Chriss rule of thumb"]
    assert rule["± std error"] == rule["95% interval"] == rule["observations"] == "—"
    new = table.loc["something new"]  # an unknown name: readable, and nothing reads "None"
    assert new["notes"] == "fallback; a note" and new["method"] == "—"
    assert not table.isin(["None", "nan"]).any().any()


@pytest.mark.parametrize(
    ("core", "page"),
    [
        (("the file has no column for symbol (also accepted: ticker); its columns are: a. Map them with --map "
          "FILE_COLUMN=OUR_COLUMN or give --symbol"),
         "Rename those columns in the file to one of the accepted names or fill in the Symbol input"),
        (("the database x.duckdb is busy: process 12 has it open for writing and did not let go within 10.0 s; "
          "try again when it has finished (or wait longer with OPTEXEC_DB_WAIT=SECONDS, or choose another database "
          "with --db)"), "try again when it has finished"),
        ("/srv/l is not a market-data lake (no manifest.json): write one with `export --lake /srv/l`",
         "choose the folder of a lake written by optexec's export"),
    ],
)  # fmt: skip
def test_command_line_advice_reaches_the_page_in_its_own_words(core, page):
    from optexec.store.reports import for_page

    for text in (core, for_page(core)):  # the Data page translates the load options first, other pages do not
        said = shown(formats.message(text))
        assert page in said and "--" not in said and "`" not in said, said


def _warnings_app(messages: list[str]) -> AppTest:
    def script(messages: list[str]) -> None:
        from optexec.ui.state import show_warnings

        show_warnings(messages, "warnings about the fit", note="Check the window.")

    return AppTest.from_function(script, args=(messages,)).run()


def test_several_warnings_go_in_one_box_that_counts_them():
    at = _warnings_app(["first *one*", "second", "third"])
    assert not at.exception
    assert [e.label for e in at.expander] == ["3 warnings about the fit"]
    assert len(at.warning) == 1
    body = shown(at.warning[0].value)
    assert body.count("\n- ") == 2 and "first *one*" in body and body.endswith("Check the window.")


def test_one_warning_is_a_plain_box_and_none_shows_nothing():
    one = _warnings_app(["only"])
    assert not one.expander and [shown(w.value) for w in one.warning] == ["only\n\nCheck the window."]
    none = _warnings_app(["", "  "])
    assert not none.warning and not none.expander
