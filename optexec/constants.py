"""Every published constant and rule of thumb of the market model, in one place (docs/MATH.md sections 2-5, 7).

Each constant says where it comes from; the market model (optexec.market), the calibration and the strategies read
them from here and nowhere else.
"""

from __future__ import annotations

from statistics import NormalDist

# Almgren–Chriss (2000) p.24 rules of thumb (docs/MATH.md section 7): trading 1% of ADV costs one spread of
# temporary impact; trading 10% of ADV moves the price permanently by one spread.
RULE_OF_THUMB_TEMPORARY_ADV_SHARE = 0.01
RULE_OF_THUMB_PERMANENT_ADV_SHARE = 0.10

# Almgren, Thum, Hauptmann, Li (2005), published fit (docs/MATH.md section 3): temporary eta sigma |X/(VT)|^beta and
# permanent gamma sigma (X/V) (Theta/V)^(1/4), each with its standard error.
ATHL_TEMPORARY_COEFFICIENT, ATHL_TEMPORARY_COEFFICIENT_SE = 0.142, 0.0062
ATHL_TEMPORARY_EXPONENT, ATHL_TEMPORARY_EXPONENT_SE = 0.600, 0.038
ATHL_PERMANENT_COEFFICIENT, ATHL_PERMANENT_COEFFICIENT_SE = 0.314, 0.041

# Transient impact default when nothing was fitted (docs/MATH.md section 4; a project assumption, not a paper's
# value): displaced prices recover half-way in 30 trading minutes, and the strength is kappa = rho eta so that a
# slow constant rate v keeps a steady displacement kappa v / rho = eta v (the Almgren–Chriss temporary impact). The
# same book prices a block done at once: kappa b^2 / 2.
DEFAULT_TRANSIENT_HALF_LIFE_MINUTES = 30.0

# Participation: the default limit on a child order as a share of the expected market volume of its slice.
DEFAULT_MAX_PARTICIPATION = 0.25

# Confidence of the value at risk shown everywhere (one-sided 95%).
VAR_CONFIDENCE = 0.95


def normal_quantile(confidence: float) -> float:
    """z_c with P(Z <= z_c) = c for a standard normal Z (the VaR multiplier, 1.6449 at 95%)."""
    return NormalDist().inv_cdf(confidence)
