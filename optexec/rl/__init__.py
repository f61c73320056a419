"""Reinforcement-learning execution agents trained on the Monte Carlo simulator (issue 8).

env : the batch execution environment (reset/step over many paths) over optexec.simulation.market and the market's
    cost model.
gym_env : the same environment as a ``gymnasium.Env``, registered as ``ENV_ID`` ("optexec/Execution-v0") when
    Gymnasium is installed (the ``rl`` extra): ``gymnasium.make(ENV_ID, order=..., market=..., periods=...)``.
agents : tabular Q-learning (discrete fractions) and the cross-entropy method (continuous fraction).
dp : the exact dynamic-programming optimum on a discretised grid (the upper bound).
policy : trained agents as feedback policies for the simulator.
evaluate : held-out comparison with TWAP, VWAP, Almgren–Chriss and the DP optimum in three regimes.
storage : trained policies in the DuckDB store (table ``rl_policies``).
"""

ENV_ID = "optexec/Execution-v0"


def _register() -> None:
    """Register ``ENV_ID`` with Gymnasium, once (a re-import or reload finds it registered and leaves it); nothing
    without Gymnasium. The entry point is imported by ``gymnasium.make``, not here."""
    try:
        import gymnasium
    except ImportError:  # the rl extra is not installed: optexec.rl works without the Gymnasium environment
        return
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="optexec.rl.gym_env:ExecutionEnv")


_register()
