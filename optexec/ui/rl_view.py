"""The RL page's figure and tables in a trader's words: the learning curve, the held-out evaluation (labels and units,
"vs TWAP" signed so that better reads as better) and the stored policies (no raw JSON)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from optexec.ui.formats import NO_VALUE, percent_change

#: the agents' names in words
AGENT_WORDS = {"cross_entropy": "Cross-entropy (continuous)", "q_learning": "Q-learning (0%, 10%, …, 100%)"}


def curve_figure(points: Sequence[dict]) -> go.Figure:
    """The learning curve: validation shortfall and shortfall + λ·Var penalty per training iteration, with a dotted
    line where the curriculum moves to a harder market (costs jump there because the market changed)."""
    curve = pd.DataFrame(list(points))
    figure = go.Figure(
        [go.Scatter(y=curve[col], name=label, mode="lines+markers", hovertemplate="%{y:,.2f} bps") for col, label in
         (("cost_bps", "shortfall (bps)"), ("objective_bps", "shortfall + λ·Var penalty (bps)"))],
    )  # fmt: skip
    figure.update_layout(xaxis_title="training iteration", yaxis_title="bps of notional (validation paths)",
                         height=320, margin=dict(t=30, b=40),
                         legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))  # fmt: skip
    for start, stage in curve.groupby("stage", sort=False).head(1)["stage"].items():
        figure.add_vline(x=start - 0.5, line_dash="dot", line_color="#888", annotation_text=f"{stage} market")
    return figure


def _vs_twap(row: dict) -> tuple[str, str]:
    """("16.9% cheaper", "± 1.2%") for a row of ``optexec.rl.evaluate.evaluate``; TWAP itself is the reference."""
    if row["strategy"] == "TWAP":
        return "reference", NO_VALUE
    stderr = row.get("improvement_stderr_pct")
    spread = NO_VALUE if stderr is None or not math.isfinite(stderr) else f"± {stderr:.1f}%"
    return percent_change(row["improvement_vs_twap_pct"]), spread


def evaluation_table(table: pd.DataFrame) -> pd.DataFrame:
    """The evaluation (``optexec.rl.evaluate.evaluate``) with labels and units: the mean, std and CVaR95 of the
    shortfall in bps, E + λ·Var in whole dollars, and the mean cost against TWAP in words ("16.9% cheaper")."""
    rows = []
    for row in table.to_dict("records"):
        vs, spread = _vs_twap(row)
        rows.append(
            {
                "Strategy": row["strategy"],
                "Mean cost (bps)": round(float(row["mean_bps"]), 2),
                "Std (bps)": round(float(row["std_bps"]), 2),
                "CVaR95 (bps)": round(float(row["cvar95_bps"]), 2),
                "E + λ·Var ($)": f"${row['objective_usd']:,.0f}" if math.isfinite(row["objective_usd"]) else NO_VALUE,
                "Mean cost vs TWAP": vs,
                "± s.e.": spread,
            }
        )
    return pd.DataFrame(rows)


def _summary(text: object) -> dict:
    """A stored policy's summary (JSON text) as a dict; {} when it holds none."""
    try:
        value = json.loads(str(text)) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def policies_table(policies: pd.DataFrame, key: str) -> pd.DataFrame:
    """The stored policies (``optexec.rl.storage.list_policies``) as a small table: name, agent in words, when it
    was trained, whether it is for this ticket's problem, and what its training said (regime, iterations, cost)."""
    rows = []
    for row in policies.to_dict("records"):
        summary = _summary(row.get("summary"))
        cost = summary.get("final_cost_bps")
        trained = pd.Timestamp(row["trained_at"]) if row.get("trained_at") is not None else None
        rows.append(
            {
                "Name": row["name"],
                "Agent": AGENT_WORDS.get(row["agent"], row["agent"]),
                "Trained (UTC)": f"{trained:%Y-%m-%d %H:%M}" if trained is not None else NO_VALUE,
                "For this ticket": "yes" if row["problem_key"] == key else "no",
                "Trained for": f"{summary['regime']} market" if summary.get("regime") else NO_VALUE,
                "Iterations": f"{int(summary['iterations']):,}" if summary.get("iterations") else NO_VALUE,
                "Final validation cost": f"{cost:,.2f} bps" if isinstance(cost, (int, float)) else NO_VALUE,
            }
        )
    return pd.DataFrame(rows, columns=["Name", "Agent", "Trained (UTC)", "For this ticket", "Trained for",
                                       "Iterations", "Final validation cost"])  # fmt: skip
