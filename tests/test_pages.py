"""AppTest for each page: it runs, its widgets change what they should, bad input shows an error."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.shown import chart_traces, plotted, shown

PAGES = Path(__file__).resolve().parents[1] / "pages"


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES / name), default_timeout=60).run()


def test_compare_page_defaults_to_the_recommended_strategy():
    at = _page("compare.py")
    assert not at.exception and not at.error
    assert at.selectbox(key="compare_a").value == "Almgren–Chriss"
    table = at.dataframe[0].value
    assert table.iloc[0, 0] == "expected cost"
    at.selectbox(key="compare_b").set_value("TWAP").run()
    assert "TWAP (bps)" in at.dataframe[0].value.columns
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert [trace["name"] for trace in bars[:4]] == ["spread", "temporary", "permanent", "drift"]


def test_compare_page_defaults_b_to_the_next_best_with_a_different_schedule():
    """B is the Plan page's "next best with a different schedule", not the winner's twin (the Almgren–Chriss twins
    plan one schedule to within 1% and B used to be one of them: a comparison of 0.0 bps everywhere)."""
    plan_page = _page("plan.py")
    advice = " ".join(shown(s.value) for s in plan_page.success)
    named = re.search(r"The next best with a different schedule, (.+?), costs", advice)
    assert named, advice
    at = _page("compare.py")
    assert at.selectbox(key="compare_b").value == named.group(1) != at.selectbox(key="compare_a").value
    assert "(default: the next best with a different schedule)" in at.selectbox(key="compare_b").label
    differences = at.dataframe[0].value.set_index("")["B − A (bps)"]
    assert abs(differences["expected cost"]) + abs(differences["std of cost"]) > 0.05


def test_plan_page_recommends_and_explains():
    at = _page("plan.py")
    assert not at.exception
    assert any("lowest expected cost + λ·variance" in shown(s.value) for s in at.success)


def test_reset_restores_the_defaults():
    at = _page("plan.py")
    at.number_input(key="shares.SYN-LARGE").set_value(123_000.0).run()
    assert at.number_input(key="shares.SYN-LARGE").value == 123_000.0
    at.button(key="reset_ticket").click().run()
    assert at.number_input(key="shares.SYN-LARGE").value == 250_000.0


def test_bad_market_input_shows_an_error_on_every_page():
    for name in ("plan.py", "compare.py", "sensitivity.py"):
        at = AppTest.from_file(str(PAGES / name), default_timeout=60)
        at.run()
        at.number_input(key="adv.SYN-LARGE").set_value(0.0).run()
        assert not at.exception, name
        message = "ADV (shares/day) = 0 is not valid (> 0, ≤ 10,000,000,000,000)"
        assert any(message in shown(e.value) for e in at.error), name
        assert not at.dataframe, name  # no plan on a market that is not valid


def test_theta_at_the_guard_is_reported_and_the_rest_still_plans():
    at = _page("plan.py")
    at.slider(key="set_small_impact_theta").set_value(0.25).run()
    assert not at.exception
    assert any("Multiscale" in shown(w.value) and "0.2" in shown(w.value) for w in at.warning)
    from optexec.strategies import registry

    planned = list(at.dataframe[0].value["strategy"])
    assert "Multiscale stochastic vol" not in planned
    assert len(planned) == len(registry.STRATEGIES) - 1  # every other strategy still plans


def test_compare_page_shows_the_expansion_error_at_the_sidebar_theta():
    at = _page("compare.py")
    errors = at.dataframe[1].value.set_index("coefficient")["error"]
    at.slider(key="set_small_impact_theta").set_value(0.05).run()
    smaller = at.dataframe[1].value.set_index("coefficient")["error"]
    assert errors.abs().max() > 0
    assert smaller.abs().max() < 0.4 * errors.abs().max()  # second order: halving θ quarters the error


def test_switching_symbol_starts_from_the_new_symbols_parameters():
    """A new symbol must not inherit the previous one's price, volatility, spread, ADV or size."""
    at = _page("plan.py")
    at.number_input(key="shares.SYN-LARGE").set_value(123_000.0).run()
    at.selectbox(key="symbol").set_value("SYN-SMALL").run()
    from optexec.market_source import symbol_params
    from optexec.store import db

    with db.reading() as con:
        small = symbol_params(con, "SYN-SMALL").market
    assert at.number_input(key="price.SYN-SMALL").value is None  # no override: SYN-SMALL's own price
    assert at.number_input(key="price.SYN-SMALL").proto.placeholder == f"{small.price_usd:,.2f} · planted"
    assert at.number_input(key="adv.SYN-SMALL").proto.placeholder == f"{small.adv_shares:,.0f} · planted"
    assert at.number_input(key="shares.SYN-SMALL").value == pytest.approx(round(0.05 * small.adv_shares, -3))
    header = shown(at.markdown[0].value)
    assert "SYN-SMALL" in header and f"arrival price ${small.price_usd:,.2f} ·" in header


def test_setting_labels_carry_their_units():
    from optexec.ui.settings import setting_label

    assert setting_label("reoptimise_every_minutes") == "Reoptimise every (minutes)"
    assert setting_label("persistent_impact_gain_per_day") == "Persistent impact gain (1/day)"
    assert setting_label("signal_vol_usd_per_day_per_sqrt_day") == "Signal vol ($/day/√day)"
    assert setting_label("ladder_levels") == "Ladder levels"
    assert setting_label("rl_agent") == "RL agent"


def test_every_strategy_has_its_own_colour():
    from optexec.strategies import registry
    from optexec.ui.charts import strategy_colours

    colours = strategy_colours()
    assert set(colours) == set(registry.STRATEGIES)
    assert len(set(colours.values())) == len(colours)


APP = str(Path(__file__).resolve().parent / "app_entry.py")


@pytest.fixture
def own_database(tmp_path, monkeypatch):
    """A fresh database for one test (the symbol list is cached: cleared before and after)."""
    import streamlit as st

    from optexec.store import db

    path = tmp_path / "own.duckdb"
    db.open_database(path).close()
    monkeypatch.setenv("OPTEXEC_DB", str(path))
    st.cache_data.clear()
    yield path
    st.cache_data.clear()
    db.close_all()


def test_plan_page_on_an_empty_database_plans_the_demo_stock(own_database):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="symbol").options == ["DEMO · made-up example"]
    assert len(at.dataframe[0].value) > 10  # every strategy planned on the DEMO parameters


def test_a_symbol_without_parameters_says_how_to_get_them(own_database):
    from optexec.store import db
    from optexec.store.loading import load_file

    csv = own_database.parent / "NEW.csv"
    csv.write_text("symbol,ts,open,high,low,close,volume\n" + "".join(
        f"NEW,2025-01-02T14:{30 + k:02d}:00Z,10,11,9,10.5,{100 + k}\n" for k in range(20)))  # fmt: skip
    con = db.open_database(own_database)
    load_file(con, csv, calendar="XNYS")  # 20 minutes of bars: too few to tell the market from the data
    con.close()
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.selectbox(key="symbol").set_value("NEW").run()
    assert not at.exception
    assert any("no parameters for NEW yet: calibrate it on the Calibrate page" in shown(e.value) for e in at.error)


def test_an_ill_posed_riccati_problem_is_reported_and_the_rest_still_plans():
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in {"horizon": 20.0, "slices": 20, "risk_aversion": 1e-8, "set_small_impact_theta": 0.19,
                       "set_discount_rate_per_day": 0.5, "set_persistent_impact_gain_per_day": 100.0,
                       "set_persistent_impact_decay_per_day": 0.05}.items():  # fmt: skip
        at.session_state[key] = value
    at.run()
    assert not at.exception
    assert any("Multiscale" in shown(w.value) and "ill-posed" in shown(w.value) for w in at.warning)
    assert "Multiscale stochastic vol" not in list(at.dataframe[0].value["strategy"])


def test_an_order_outside_the_model_says_so_once_and_warns_instead_of_recommending():
    """Issue 14 item 6 on the page: 100x ADV gets the order's warning in one box on top, the recommendation as a
    caution (not a green success), and the schedules' warnings grouped: one box, each text once."""
    at = AppTest.from_file(str(PAGES / "plan.py"), default_timeout=90)
    at.session_state["size_mode"] = "% of ADV"
    at.session_state["pct_adv"] = 10_000.0
    at.run()
    assert not at.exception and not at.error
    warnings = [shown(w.value) for w in at.warning]
    order = [w for w in warnings if w.startswith("**This order is outside the model's range**")]
    assert len(order) == 1 and "10000% of the average daily volume" in order[0], warnings
    assert not any("Caution" in shown(s.value) for s in at.success)
    assert any(w.startswith("Caution: this plan is outside the model's range") for w in warnings)
    # the schedules' notes: one collapsed box whose label counts them, each text once
    boxes = [e for e in at.expander if e.label.startswith("Schedules outside the model's range: ")]
    assert len(boxes) == 1, [e.label for e in at.expander]
    lines = [line for line in shown(boxes[0].warning[0].value).splitlines() if line.startswith("- ")]
    assert len(lines) >= 2 and len(lines) == len({line.split(": ", 1)[1] for line in lines})  # each text once
    assert any(line.startswith("- **TWAP, ") for line in lines)  # one line names every strategy with that text
    named = {name for line in lines for name in line[4:].split("**")[0].split(", ")}
    assert boxes[0].label.endswith(f": {len(lines)} notes on {len(named)} strategies"), boxes[0].label
    assert len(at.warning) + len(at.info) <= 4  # not one box per strategy and warning


def test_a_usual_order_has_no_order_warning_and_one_box_of_schedule_notes():
    at = _page("plan.py")
    warnings = [shown(w.value) for w in at.warning]
    assert not any("This order is outside the model's range" in w for w in warnings)
    assert any("lowest expected cost + λ·variance" in shown(s.value) for s in at.success)  # a plain recommendation
    boxes = [e.label for e in at.expander if e.label.startswith(("Schedules outside the model's range: ", "Notes on"))]
    assert len(boxes) == 1, [e.label for e in at.expander]


def test_the_simulate_page_charges_the_tickets_cost_model_and_says_which():
    """No impact widgets of its own (issue 13): the page simulates under the ticket market's cost model and says
    which (a huge transient strength is refused by the market parameters themselves, 1e308 gave inf costs in
    issue 14 item 4)."""
    at = AppTest.from_file(str(PAGES / "simulate.py"), default_timeout=120)
    at.session_state["sim_paths"] = 200
    at.run()
    assert not at.exception and not at.error
    assert not [w for w in at.number_input if w.key == "sim_transient"]
    assert any("costs charged by the ticket's cost model: spread + linear temporary" in shown(m.value)
               for m in at.markdown)  # fmt: skip


def _texts(at: AppTest) -> list[str]:
    """Every text the page shows: markdown, captions, messages, expander labels, headings, table cells."""
    bodies = [shown(e.value) for kind in ("markdown", "caption", "info", "success", "warning", "error",
                                           "subheader", "title") for e in at.get(kind)]  # fmt: skip
    bodies += [e.label for e in at.expander]
    for frame in at.dataframe:
        bodies += [str(c) for c in frame.value.columns] + [str(v) for v in frame.value.astype(str).to_numpy().ravel()]
    return bodies


def _no_jargon(at: AppTest, name: str) -> None:
    """No internal jargon, no "None", no command-line flag, no documentation section the app cannot open."""
    for text in _texts(at):
        assert "None" not in text and "brief" not in text.lower(), (name, text)
        assert not re.search(r"(?<![\w-])--[a-z]", text), (name, text)
        assert "MATH.md" not in text and "§" not in text, (name, text)


def test_the_simulate_page_runs_only_when_asked_and_keeps_its_result_until_the_inputs_change():
    """Issue 17 item 5: the first view draws no paths; Run simulation does, and the result stays on the page
    through a rerun that changes nothing (a widget outside the form) and goes when the order changes."""
    at = AppTest.from_file(str(PAGES / "simulate.py"), default_timeout=120)
    at.session_state["sim_paths"] = 200
    at.run()
    assert not at.exception and not at.error and not at.dataframe
    assert any("press Run simulation to simulate every strategy on 200 market paths" in shown(i.value) for i in at.info)
    at.button(key="sim_run").click().run()
    assert not at.exception and at.dataframe
    assert not any("press Run" in shown(i.value) for i in at.info)
    first = at.dataframe[0].value["mean_cost_usd"].to_numpy()
    _no_jargon(at, "simulate.py")
    at.multiselect(key="sim_paths_shown").set_value(["TWAP"]).run()  # outside the form: no new simulation
    assert at.dataframe and np.array_equal(at.dataframe[0].value["mean_cost_usd"].to_numpy(), first)
    at.number_input(key="shares.SYN-LARGE").set_value(123_000.0).run()
    assert not at.dataframe
    assert any("changed since the last run" in shown(i.value) for i in at.info)


def test_the_calibrate_page_speaks_plainly_and_groups_its_warnings():
    """Issue 17 item 3: parameters in words with units, η in scientific notation, a dash (explained) instead of
    None, the fit's warnings in one expander that counts them, and the progress bar gone once it is done."""
    at = AppTest.from_file(str(PAGES / "calibrate.py"), default_timeout=180).run()
    at.selectbox(key="cal_symbol").set_value("SYN-MID").run()
    at.button(key="cal_run").click().run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "parameter" in d.value.columns)
    rows = table.set_index("parameter")
    eta = rows.loc["temporary impact η"]
    assert "× 10⁻" in eta["value"] and eta["unit"] == "$/share per share/day"
    assert "_" not in "".join(table["parameter"])  # no raw field names
    assert (table == "None").sum().sum() == 0 and "—" in table.to_numpy()
    assert any("—: nothing to show" in shown(c.value) for c in at.caption)
    labels = [e.label for e in at.expander]
    grouped = [label for label in labels if re.fullmatch(r"\d+ warnings about the fit", label)]
    assert len(grouped) <= 1
    if grouped:
        count = int(grouped[0].split()[0])
        assert count >= 2 and len(at.warning) >= 1
    assert not at.get("progress"), "the calibration's progress bar is cleared once it is done"
    assert any(c.value.startswith("Calibration done") for c in at.caption)
    _no_jargon(at, "calibrate.py")


def test_the_compare_page_core_caption_is_plain_words():
    """The multiscale core's caption says what its defaults are without internal jargon or a document reference."""
    at = _page("compare.py")
    captions = [shown(c.value) for c in at.caption]
    core = [c for c in captions if "dimensionless" in c]
    assert core and not any("brief" in c.lower() or "MATH.md" in c for c in core), core


def test_compare_page_frontier_is_priced_like_its_points_and_says_so():
    """The frontier's curve is priced under the ticket's cost model (one market model): the Almgren–Chriss point
    lies on it, and the caption names the model (the closed form of the linear model missed the point by up to 9%
    under the calibrated one, and the caption claimed no schedule lay below it)."""
    at = _page("compare.py")
    figure = chart_traces(at, 1)
    curve = next(trace for trace in figure if trace["name"] == "Almgren–Chriss over λ")
    ac = next(trace for trace in figure if trace.get("mode") == "markers" and "Almgren–Chriss" in trace["name"])
    x, y = plotted(curve["x"]), plotted(curve["y"])
    point_x, point_y = plotted(ac["x"])[0], plotted(ac["y"])[0]
    # on the curve: its value at the point's std (the curve is dense: 41 λ) is the point's expected cost within 1%
    by_std = np.argsort(x)
    assert np.interp(point_x, x[by_std], y[by_std]) == pytest.approx(point_y, rel=0.01)
    captions = [shown(c.value) for c in at.caption]
    (caption,) = [text for text in captions if "Almgren–Chriss schedules over risk aversion" in text]
    assert "priced like the points under the linear cost model" in caption  # the sample's default model
    assert "no schedule lies below the curve unless the participation limit binds" in caption


def test_sensitivity_page_says_which_cost_model_prices_the_curves():
    """The sweep is priced by the plan (one market model): its caption names the ticket's cost model (it said
    "linear-impact costs" under every model)."""
    at = AppTest.from_file(str(PAGES / "sensitivity.py"), default_timeout=90)
    at.query_params["cost_model"] = "calibrated"
    at.run()
    assert not at.exception
    captions = [shown(c.value) for c in at.caption]
    assert any("each strategy's schedule under the calibrated cost model, as on the Plan page" in c for c in captions)


def test_the_simulate_page_shows_the_plans_closed_form_and_the_expectation_in_its_market():
    """Each row beside its Monte Carlo mean: the Plan page's closed form and the planned schedule's expectation in
    the simulated market (random volume and spread), named with their units and explained; a strategy without a
    closed form is not reported as a failed statistic."""
    at = AppTest.from_file(str(PAGES / "simulate.py"), default_timeout=120)
    at.session_state["sim_paths"] = 300
    at.run()
    at.button(key="sim_run").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value.set_index("strategy")
    labels = {key: config.get("label") for key, config in json.loads(at.dataframe[0].proto.columns).items()}
    assert labels["closed_form_bps"] == "Plan's closed form (bps)"
    assert labels["expected_bps"] == "Expected in this market (bps)"
    plan = _page("plan.py").dataframe[0].value.set_index("strategy")
    assert table.loc["TWAP", "closed_form_bps"] == pytest.approx(plan.loc["TWAP", "expected_cost_bps"], abs=0.05)
    assert table.loc["TWAP", "expected_bps"] >= table.loc["TWAP", "closed_form_bps"]  # the Jensen term: never less
    assert not any("Not a finite number" in shown(w.value) for w in at.warning)
    assert any('its mean estimates "Expected in this market"' in shown(c.value) for c in at.caption)
