"""The correlation of a basket's names: from the store's daily returns, shrunk, or from a user's matrix
(issue 15, item 2; docs/MATH.md section 10).

From the store: each symbol's daily close (the last bar of each local trading day that starts before the instrument's
session close, when the store knows it: extended-hours bars are left out) over its calibration window
(the latest accepted run's data window; all its bars when it has none), log returns between consecutive days, and
the pairwise correlation r_ij over the n_ij days both names have. The shrinkage:

* target: the constant-correlation matrix of Ledoit & Wolf (2004, "Honey, I shrunk the sample covariance matrix"),
  every pair at rho_bar, the average sample correlation weighted by common history (rho_bar is kept in
  [0, 0.95] so that the target is positive definite with smallest eigenvalue >= 0.05);
* intensity, pair by pair: the empirical-Bayes (James–Stein) weight delta_ij = v_ij / (v_ij + s^2), where
  v_ij = (1 - rho_bar^2)^2 / (n_ij - 1) is the sampling variance of a correlation from n_ij returns (at the
  target, so that a spurious r_ij near +-1 from a few days does not vouch for itself) and s^2 the spread
  of the true correlations around rho_bar (the cross-sectional variance of r_ij minus the mean v_ij, at least
  0.01): a pair with little common history sits at the target, one with a long history at its own estimate;
  fewer than 3 common returns is the target;
* then the least further step towards the target that makes the matrix positive definite with smallest eigenvalue
  at least 1e-3 (the set of steps that do is an interval ending at the target, found by bisection): pairwise
  estimates over different days need not make a valid matrix.

A user's matrix (CSV, the symbols as header and as first column) is checked, not repaired: every basket name
present, symmetric, ones on the diagonal, entries in [-1, 1] and positive semi-definite (a smallest eigenvalue
below -1e-10 is refused, naming it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

MIN_COMMON_RETURNS = 3
MIN_DISPERSION = 0.01
MAX_TARGET_CORRELATION = 0.95
MIN_EIGENVALUE = 1e-3


@dataclass(frozen=True)
class Correlation:
    """A correlation matrix of named symbols and where it comes from.

    common_returns : n_ij, the daily returns both names have (None for a user's matrix). shrinkage : the weight
    on the target per pair (None for a user's matrix). notes : what was assumed, in plain words.
    """

    symbols: tuple[str, ...]
    matrix: np.ndarray
    source: str
    common_returns: np.ndarray | None = None
    shrinkage: np.ndarray | None = None
    notes: tuple[str, ...] = field(default=())

    def for_symbols(self, symbols: list[str]) -> np.ndarray:
        """The sub-matrix of ``symbols`` in that order; ValueError naming the missing ones."""
        index = {s: i for i, s in enumerate(self.symbols)}
        missing = [s for s in symbols if s not in index]
        if missing:
            raise ValueError(f"the correlation matrix has no row for {', '.join(missing)}")
        take = [index[s] for s in symbols]
        return self.matrix[np.ix_(take, take)]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.matrix, index=list(self.symbols), columns=list(self.symbols))


def identity(symbols: list[str], why: str) -> Correlation:
    """Uncorrelated names (the sum of independent risks), saying why."""
    return Correlation(tuple(symbols), np.eye(len(symbols)), f"Correlation: none ({why}).")


def _windows(con, symbols: list[str]) -> dict[str, tuple]:
    from optexec.calibration import latest_calibration

    windows = {}
    for symbol in symbols:
        stored = latest_calibration(con, symbol)
        if stored is not None and stored.window_start and stored.window_end:
            windows[symbol] = (pd.Timestamp(stored.window_start).date(), pd.Timestamp(stored.window_end).date())
    return windows


def daily_returns(con, symbols: list[str]) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """Log returns of each symbol's daily close (day x symbol, NaN where a symbol has none) over its calibration
    window, and the windows used."""
    sql = """
        WITH i AS (SELECT symbol, coalesce(time_zone, 'UTC') AS tz, try_cast(session_close AS TIME) AS closing
                   FROM instruments),
        b AS (SELECT b.symbol, timezone(coalesce(i.tz, 'UTC'), timezone('UTC', b.ts)) AS local, b.ts, b.close,
                     i.closing
              FROM bars b LEFT JOIN i USING (symbol) WHERE list_contains($symbols, b.symbol))
        SELECT symbol, CAST(local AS DATE) AS day, arg_max(close, ts) AS close FROM b
        WHERE closing IS NULL OR CAST(local AS TIME) < closing
        GROUP BY symbol, day ORDER BY symbol, day
    """
    cur = con.cursor()
    try:
        closes = cur.execute(sql, {"symbols": list(symbols)}).df()
    finally:
        cur.close()
    windows = _windows(con, symbols)
    series = {}
    for symbol, rows in closes.groupby("symbol"):
        days = pd.to_datetime(rows["day"]).dt.date
        keep = np.ones(len(rows), dtype=bool)
        if symbol in windows:
            start, end = windows[symbol]
            keep = ((days >= start) & (days <= end)).to_numpy()
        close = rows.loc[keep, "close"].to_numpy(dtype=float)
        index = pd.Index(days[keep].to_numpy()[1:])
        series[symbol] = pd.Series(np.diff(np.log(close)), index=index)
    frame = pd.DataFrame({s: series[s] for s in symbols if s in series}).sort_index()
    return frame, windows


def _positive_definite(matrix: np.ndarray, floor: float) -> bool:
    try:
        np.linalg.cholesky(matrix - floor * np.eye(matrix.shape[0]))
    except np.linalg.LinAlgError:
        return False
    return True


def shrunk_correlation(returns: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """(correlation, common returns n_ij, pair weights on the target, rho_bar, extra step to positive definite) of
    day x symbol returns with gaps, by the shrinkage of the module docstring (docs/MATH.md section 10)."""
    values = returns.to_numpy(dtype=float)
    m = values.shape[1]
    present = np.isfinite(values).astype(float)
    common = present.T @ present
    sample = returns.corr(min_periods=MIN_COMMON_RETURNS).to_numpy(dtype=float)
    usable = (common >= MIN_COMMON_RETURNS) & np.isfinite(sample) & ~np.eye(m, dtype=bool)
    pairs = np.triu(usable, 1)
    if pairs.any():
        weights = common[pairs]
        target_rho = float(np.clip(np.sum(weights * sample[pairs]) / weights.sum(), 0.0, MAX_TARGET_CORRELATION))
    else:
        target_rho = 0.0
    noise = np.full((m, m), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        noise[usable] = (1.0 - target_rho**2) ** 2 / (common[usable] - 1.0)
    if pairs.sum() >= 2:
        dispersion = max(float(np.mean((sample[pairs] - target_rho) ** 2)) - float(np.mean(noise[pairs])),
                         MIN_DISPERSION)  # fmt: skip
    else:
        dispersion = MIN_DISPERSION
    delta = np.ones((m, m))
    delta[usable] = noise[usable] / (noise[usable] + dispersion)
    target = np.full((m, m), target_rho)
    np.fill_diagonal(target, 1.0)
    own = np.where(usable, sample, target_rho)
    matrix = delta * target + (1.0 - delta) * own
    np.fill_diagonal(matrix, 1.0)
    np.fill_diagonal(delta, 0.0)
    step = 0.0
    if not _positive_definite(matrix, MIN_EIGENVALUE):
        low, high = 0.0, 1.0
        for _ in range(40):
            mid = 0.5 * (low + high)
            if _positive_definite((1 - mid) * matrix + mid * target, MIN_EIGENVALUE):
                high = mid
            else:
                low = mid
        step = high
        matrix = (1 - step) * matrix + step * target
        delta = delta + step * (1.0 - delta)
        np.fill_diagonal(delta, 0.0)
    return matrix, common, delta, target_rho, step


def from_store(con, symbols: list[str]) -> Correlation:
    """The shrunk daily-return correlation of ``symbols`` from the store (module docstring); ValueError naming the
    symbols the store has no daily closes for."""
    symbols = list(symbols)
    if len(symbols) == 1:
        return Correlation(tuple(symbols), np.ones((1, 1)), "Correlation: one name.")
    returns, windows = daily_returns(con, symbols)
    missing = [s for s in symbols if s not in returns.columns]
    if missing:
        raise ValueError(
            f"no daily prices in the store for {', '.join(missing)}: load their bars, or give a correlation matrix "
            "(--correlation FILE, a CSV with the symbols as header and first column)"
        )
    returns = returns[symbols]
    matrix, common, delta, target_rho, step = shrunk_correlation(returns)
    notes = []
    thin = [f"{symbols[i]}/{symbols[j]}" for i, j in zip(*np.nonzero(np.triu(common < MIN_COMMON_RETURNS, 1)),
                                                          strict=True)]  # fmt: skip
    if thin:
        shown = ", ".join(thin[:5]) + (f" and {len(thin) - 5} more" if len(thin) > 5 else "")
        notes.append(f"fewer than {MIN_COMMON_RETURNS} common daily returns for {shown}: their correlation is the "
                     f"basket's average {target_rho:.2f}")  # fmt: skip
    if step > 0:
        notes.append(f"the pairwise estimates did not make a positive definite matrix: moved {step:.1%} further "
                     "towards the average correlation")  # fmt: skip
    off = ~np.eye(len(symbols), dtype=bool)
    days = common[off]
    source = (
        f"Correlation: daily returns from the store over each symbol's calibration window "
        f"({len(windows)} of {len(symbols)} with a calibration window, the others over all their bars), "
        f"{int(days.min())}–{int(days.max())} common returns per pair; shrunk towards the constant correlation "
        f"{target_rho:.2f} (Ledoit–Wolf target, empirical-Bayes weights, mean weight {delta[off].mean():.2f})."
    )
    return Correlation(tuple(symbols), matrix, source, common, delta, tuple(notes))


def check_matrix(symbols: list[str], matrix: np.ndarray, where: str = "the correlation matrix") -> np.ndarray:
    """``matrix`` if it is a correlation matrix (symmetric, unit diagonal, entries in [-1, 1], positive
    semi-definite); ValueError saying what is wrong otherwise."""
    matrix = np.asarray(matrix, dtype=float)
    m = len(symbols)
    if matrix.shape != (m, m):
        raise ValueError(f"{where} must be {m} x {m}, got {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{where} holds empty cells or cells that are not numbers")
    if np.any(np.abs(matrix) > 1 + 1e-12):
        i, j = np.unravel_index(np.argmax(np.abs(matrix)), matrix.shape)
        raise ValueError(f"{where}: {symbols[i]}/{symbols[j]} is {matrix[i, j]:g}, outside [-1, 1]")
    if np.any(np.abs(np.diag(matrix) - 1) > 1e-9):
        i = int(np.argmax(np.abs(np.diag(matrix) - 1)))
        raise ValueError(f"{where}: the diagonal must be 1, {symbols[i]} has {matrix[i, i]:g}")
    asym = np.abs(matrix - matrix.T)
    if np.any(asym > 1e-8):
        i, j = np.unravel_index(np.argmax(asym), matrix.shape)
        raise ValueError(f"{where} is not symmetric: {symbols[i]}/{symbols[j]} is {matrix[i, j]:g} but "
                         f"{symbols[j]}/{symbols[i]} is {matrix[j, i]:g}")  # fmt: skip
    smallest = float(np.linalg.eigvalsh(0.5 * (matrix + matrix.T))[0])
    if smallest < -1e-10:
        raise ValueError(f"{where} is not positive semi-definite (smallest eigenvalue {smallest:.3g}): it is not the "
                         "correlation of any returns; fix the entries or let the store estimate it")  # fmt: skip
    return 0.5 * (matrix + matrix.T)


def from_file(path: str | Path | bytes, symbols: list[str], name: str = "the correlation file") -> Correlation:
    """A user's correlation matrix (CSV: the symbols as header and first column), the basket's names picked out
    and checked (``check_matrix``); ValueError naming missing symbols or what is wrong."""
    import io

    raw = io.BytesIO(path) if isinstance(path, bytes) else path
    try:
        frame = pd.read_csv(raw, index_col=0)
    except FileNotFoundError:
        raise ValueError(f"no correlation file at {path}") from None
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise ValueError(f"cannot read {name} as CSV: {str(error).splitlines()[0]}") from None
    frame.index = [str(i).strip() for i in frame.index]
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = sorted({s for s in symbols if s not in frame.index or s not in frame.columns})
    if missing:
        raise ValueError(f"{name} has no row or column for {', '.join(missing)}")
    for axis, labels in (("rows", frame.index), ("columns", frame.columns)):
        repeated = sorted({s for s in labels if list(labels).count(s) > 1} & set(symbols))
        if repeated:
            raise ValueError(f"{name} repeats {', '.join(repeated)} in its {axis}")
    try:
        picked = frame.loc[symbols, symbols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    except (KeyError, ValueError) as error:
        raise ValueError(f"cannot read {name}: {error}") from None
    matrix = check_matrix(symbols, picked, name)
    extra = len(set(frame.index) - set(symbols))
    notes = (f"{extra} name(s) of the file are not in the basket and are not used",) if extra else ()
    label = path if not isinstance(path, bytes) else name
    return Correlation(tuple(symbols), matrix, f"Correlation: from {label}.", notes=notes)


def basket_correlation(con, symbols: list[str], correlation: Correlation | None = None) -> Correlation:
    """The correlation to price a basket with: the given one (its sub-matrix, checked), else the store's."""
    if correlation is not None:
        matrix = check_matrix(symbols, correlation.for_symbols(symbols))
        return Correlation(tuple(symbols), matrix, correlation.source, notes=correlation.notes)
    return from_store(con, symbols)
