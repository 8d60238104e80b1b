"""
Regression diagnostics end to end: Brownlee's stack loss data
=============================================================

The stack loss data (Brownlee 1965; R's ``stackloss``) record 21 days of a
plant oxidizing ammonia to nitric acid: the percentage of ammonia lost
(``stack_loss``) against the air flow, the cooling water temperature and the
acid concentration. It is the classic test case of regression diagnostics:
Daniel & Wood (1980) single out runs 1, 3, 4 and 21. This example runs the
diagnostics R's ``influence.measures`` gives (same definitions, same
thresholds; see :doc:`/guide/diagnostics`) on an ordinary least-squares fit,
draws the influence plot, looks at a group of runs together, and refits
without the run the diagnostics flag.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LinearRegression

from skinfluence import (
    DiagnosticIndexDisplay,
    InfluenceLinearRegression,
    InfluencePlotDisplay,
)

# R's datasets::stackloss (also statsmodels.datasets.stackloss), runs 1..21
STACKLOSS = [
    (80, 27, 89, 42), (80, 27, 88, 37), (75, 25, 90, 37), (62, 24, 87, 28),
    (62, 22, 87, 18), (62, 23, 87, 18), (62, 24, 93, 19), (62, 24, 93, 20),
    (58, 23, 87, 15), (58, 18, 80, 14), (58, 18, 89, 14), (58, 17, 88, 13),
    (58, 18, 82, 11), (58, 19, 93, 12), (50, 18, 89, 8), (50, 18, 86, 7),
    (50, 19, 72, 8), (50, 19, 79, 8), (50, 20, 80, 9), (56, 20, 82, 15),
    (70, 20, 91, 15),
]  # fmt: skip
data = pd.DataFrame(
    STACKLOSS,
    columns=["air_flow", "water_temp", "acid_conc", "stack_loss"],
    index=pd.RangeIndex(1, 22, name="run"),
)
X, y = data[["air_flow", "water_temp", "acid_conc"]], data["stack_loss"]
model = InfluenceLinearRegression().fit(X, y)

# %%
# The summary table
# -----------------
# One row per run, labelled with the DataFrame's index: DFBETAS per
# coefficient, DFFITS, COVRATIO, Cook's distance, hat values, studentized
# residuals, and R's "influential" flags. The runs R would star:
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 12)
frame = model.summary_frame()
flagged = frame[frame["influential"]]
print(flagged.filter(regex="^(dfb_|dffits|covratio|cooks_d|hat)").round(3))
print(flagged.filter(like="inf_").columns[flagged.filter(like="inf_").any()].tolist())

# %%
# Run 21 moves the air-flow and water-temperature coefficients by more than one
# standard error each (``|DFBETAS| > 1``) and its own fitted value by more than
# R's DFFITS cut-off; run 17, with the lowest acid concentration, is flagged
# only by COVRATIO: its leverage sharpens the estimates rather than moving them.
# No run's Cook's distance reaches R's threshold (the median of F(p, n − p)):
p, n = 4, len(y)
cook = model.cooks_distance()
cook_cut = stats.f.ppf(0.5, p, n - p)
print(f"largest Cook's distance {cook.max():.3f} (run {y.index[cook.argmax()]}), "
      f"threshold {cook_cut:.3f}")  # fmt: skip

# %%
# The outlier test
# ----------------
# Run 21 has the largest externally studentized residual; with 21 tests its
# Bonferroni-adjusted p-value is not below 0.05 on its own.
table = model.outlier_test()
print(table.sort_values("unadj_p").head(4).round(4))

# %%
# The influence plot
# ------------------
# Studentized residual against leverage, marker area proportional to Cook's
# distance, the three largest Cook's distances labelled; dashed lines at ±2
# and at R's leverage flag ``3p/n``. Next to it, Cook's distance by run with
# R's threshold.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
InfluencePlotDisplay.from_estimator(model, ax=left)
DiagnosticIndexDisplay.from_estimator(model, "cooks_distance", ax=right)
right.set_title("Cook's distance by run")
fig.tight_layout()

# %%
# Groups: what one-at-a-time diagnostics miss
# -------------------------------------------
# Leaving one run out cannot reveal runs that mask each other. ``groups=``
# removes whole groups at once (exactly, for least squares): the four runs of
# Daniel & Wood together have a Cook's distance above the threshold that none
# of them reaches alone.
suspects = [1, 3, 4, 21]
groups = np.where(y.index.isin(suspects), "runs 1, 3, 4, 21", y.index.astype(str))
labels = np.unique(groups)
group_cook = model.cooks_distance(groups=groups)
together = group_cook[labels == "runs 1, 3, 4, 21"][0]
print(
    f"each alone: {np.round(cook[y.index.isin(suspects)], 3)}; together {together:.3f}"
)

# %%
# Refit without the flagged run
# -----------------------------
# Removing run 21 and refitting moves every coefficient by exactly its DFBETA
# (least squares: the leave-one-out step is the refit), and the air-flow
# coefficient by 1.6 of the standard errors of the fit without run 21, as its
# DFBETAS said. Refitting the smaller data, run 4 becomes the largest residual:
# the masking the group diagnostic showed.
keep = y.index != 21
refit = LinearRegression().fit(X[keep], y[keep])
change = np.r_[model.coef_, model.intercept_] - np.r_[refit.coef_, refit.intercept_]
comparison = pd.DataFrame(
    {
        "all runs": np.r_[model.coef_, model.intercept_],
        "without run 21": np.r_[refit.coef_, refit.intercept_],
        "DFBETA of run 21": model.dfbeta()[y.index.get_loc(21)],
        "refit change": change,
    },
    index=[*X.columns, "intercept"],
)
print(comparison.round(4))
smaller = InfluenceLinearRegression().fit(X[keep], y[keep])
print(smaller.outlier_test().sort_values("unadj_p").head(2).round(4))
plt.show()
