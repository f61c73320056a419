"""Reinforcement-learning execution agents trained on the Monte Carlo simulator (issue 8).

env : the execution environment (Gymnasium API) over optexec.simulation.market and the market's cost model.
agents : tabular Q-learning (discrete fractions) and the cross-entropy method (continuous fraction).
dp : the exact dynamic-programming optimum on a discretised grid (the upper bound).
policy : trained agents as feedback policies for the simulator.
evaluate : held-out comparison with TWAP, VWAP, Almgren–Chriss and the DP optimum in three regimes.
storage : trained policies in the DuckDB store (table ``rl_policies``).
"""
