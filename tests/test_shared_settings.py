"""Shared settings are an explicit set (strategies/base.SHARED_SETTINGS) and typed parameters carry their own
label, unit and range: no strategy default is overridden silently, every setting has one default."""

import dataclasses

import numpy as np
import pytest

from optexec.models import MarketParams, Order, u_shaped_volume_profile
from optexec.planning import DEFAULT_RISK_AVERSION_PER_USD, cost_table, make_plan, plan_to_json
from optexec.strategies import registry
from optexec.strategies.base import SHARED_KEY, SHARED_SETTINGS, Strategy, param, param_spec, shared, user_fields
from optexec.strategies.benchmarks import twap
from optexec.strategies.nonlinear import NonlinearParams, nonlinear


def test_every_shared_setting_has_one_default_and_each_strategy_that_uses_it_keeps_it():
    assert DEFAULT_RISK_AVERSION_PER_USD == SHARED_SETTINGS["risk_aversion_per_usd"].default
    users: dict[str, set[str]] = {name: set() for name in SHARED_SETTINGS}
    for strategy in registry.STRATEGIES.values():
        for field in user_fields(strategy.params_type):
            if SHARED_KEY in field.metadata:
                name = field.metadata[SHARED_KEY]
                assert field.default == SHARED_SETTINGS[name].default
                assert param_spec(field) is SHARED_SETTINGS[name].spec
                users[name].add(strategy.name)
            else:  # a strategy's own setting never carries a shared setting's name
                assert (field.metadata.get("optexec_setting") or field.name) not in SHARED_SETTINGS
    assert users["risk_aversion_per_usd"] == {"ac_discrete", "ac_continuous", "ac_drift", "multiscale", "rl_agent"}
    assert users["max_participation"] == set(registry.STRATEGIES)  # every strategy takes the participation limit
    for name, setting in registry.SETTINGS.items():  # one default per setting name, whoever declares it
        defaults = {f.default for s in registry.STRATEGIES.values() for f in user_fields(s.params_type)
                    if (f.metadata.get(SHARED_KEY) or f.metadata.get("optexec_setting") or f.name) == name}  # fmt: skip
        assert defaults == {setting.default}


@dataclasses.dataclass(frozen=True)
class _Clashing:
    risk_aversion_per_usd: float = 0.0  # a shared setting's name, not declared shared


@dataclasses.dataclass(frozen=True)
class _Declared:
    risk_aversion_per_usd: float = shared("risk_aversion_per_usd")
    seed: int = param(7, "Random seed")


def test_the_registry_refuses_a_silent_override_and_two_defaults_for_one_name():
    with pytest.raises(ValueError, match="name of a shared setting"):
        registry.collect_settings([Strategy("x", "X", _Clashing, twap, "x")])
    with pytest.raises(ValueError, match="different defaults"):  # TWAP's seed defaults to 0, this one to 7
        registry.collect_settings([*registry.STRATEGIES.values(), Strategy("y", "Y", _Declared, twap, "y")])
    assert Strategy("y", "Y", _Declared, twap, "y").shared_settings == ("risk_aversion_per_usd",)


def test_the_nonlinear_default_runs_from_make_plan_unless_its_own_risk_aversion_is_set():
    """The nonlinear allocator's default is risk neutral (pure water-filling): the plan's λ does not reach it."""
    order = Order("X", "buy", 200_000, 1.0, 78)
    market = MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, 5e6, volume_profile=u_shaped_volume_profile())
    limit = 0.25  # the plan's participation limit (planning.DEFAULT_MAX_PARTICIPATION) reaches the allocator
    neutral = nonlinear(order, market, NonlinearParams(max_participation=limit)).holdings_shares
    averse = nonlinear(
        order, market, NonlinearParams(risk_aversion_per_usd=1e-5, max_participation=limit)
    ).holdings_shares
    assert np.all(averse[1:-1] < neutral[1:-1])
    for settings in ({}, {"risk_aversion_per_usd": 1e-5}):
        plan = make_plan(order, market, settings, ["nonlinear", "ac_discrete"])
        np.testing.assert_array_equal(plan.rows[0].schedule.holdings_shares, neutral)
        assert plan.shared_used(plan.rows[0]) == {"max_participation": 0.25}  # not the plan's risk aversion
        assert plan.shared_used(plan.rows[1]) == {
            "risk_aversion_per_usd": settings.get("risk_aversion_per_usd", 1e-6),
            "max_participation": 0.25,
        }
    plan = make_plan(order, market, {"nonlinear_risk_aversion_per_usd": 1e-5}, ["nonlinear"])
    np.testing.assert_array_equal(plan.rows[0].schedule.holdings_shares, averse)


def test_the_plan_table_and_json_say_which_shared_settings_each_strategy_used():
    order = Order("X", "sell", 100_000, 1.0, 26)
    market = MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, 5e6)
    plan = make_plan(order, market, {"risk_aversion_per_usd": 3e-6}, ["twap", "ac_discrete"])
    table = cost_table(plan).set_index("strategy")["shared_settings"]
    limit = "Max participation = 25% of the slice's expected volume"
    assert table["TWAP"] == limit and table["Almgren–Chriss"] == f"Risk aversion λ = 3e-06 (1/$), {limit}"
    rows = {row["name"]: row["shared_settings"] for row in plan_to_json(plan)["strategies"]}
    assert rows == {"twap": {"max_participation": 0.25},
                    "ac_discrete": {"risk_aversion_per_usd": 3e-6, "max_participation": 0.25}}  # fmt: skip


def test_every_setting_has_a_label_and_the_sliders_their_range():
    for name, setting in registry.SETTINGS.items():
        spec = setting.spec
        assert spec.label and spec.display_label.startswith(spec.label)
        if spec.is_slider:
            assert spec.min_value <= setting.default <= spec.max_value, name
    sidebar = [name for name, s in registry.SETTINGS.items() if s.spec.sidebar]
    assert set(sidebar) == {"small_impact_theta", "fast_scale_epsilon", "slow_scale_delta", "half_step_threshold",
                            "current_vol_ratio"}  # fmt: skip
    assert registry.SETTINGS["participation_rate"].spec.display_label == "POV participation (%)"


def test_the_strategies_import_neither_the_simulator_nor_the_rl_package_nor_the_store():
    """Layers import only downwards: the registry (every strategy module) loads without the simulator, the
    market simulation, the RL package, the store or DuckDB."""
    import subprocess
    import sys

    code = (
        "import sys, optexec.strategies.registry\n"
        "upper = ('optexec.monte_carlo', 'optexec.simulation', 'optexec.rl', 'optexec.store', 'optexec.planning', "
        "'duckdb', 'streamlit')\n"
        "print(sorted(m for m in sys.modules if m.startswith(upper)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_participation_limit_is_shared_and_the_cost_model_name_is_reserved():
    """max_participation is one shared setting (25%) that every strategy takes; a strategy field of that name not
    declared shared is refused, and so is any strategy setting called cost_model (the market's, not a strategy's)."""
    from optexec.strategies.base import RESERVED_SHARED_NAMES

    assert SHARED_SETTINGS["max_participation"].default == 0.25
    assert RESERVED_SHARED_NAMES == ("cost_model",) and "cost_model" not in SHARED_SETTINGS

    @dataclasses.dataclass(frozen=True)
    class OwnCap:
        max_participation: float = 0.1

    @dataclasses.dataclass(frozen=True)
    class OwnModel:
        cost_model: str = "linear"

    with pytest.raises(ValueError, match="'own' has its own setting 'max_participation'"):
        registry.collect_settings([Strategy("own", "Own", OwnCap, twap, "x")])
    with pytest.raises(ValueError, match="'model' has a setting 'cost_model': that name is reserved"):
        registry.collect_settings([Strategy("model", "Model", OwnModel, twap, "x")])

    @dataclasses.dataclass(frozen=True)
    class Capped:
        max_participation: float = shared("max_participation")

    strategy = Strategy("capped", "Capped", Capped, twap, "x")
    assert strategy.shared_settings == ("max_participation",)
    assert strategy.make_params({}).max_participation == 0.25
    assert strategy.make_params({"max_participation": 0.1}).max_participation == 0.1
