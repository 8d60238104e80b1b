"""Declared penalties: what ``Ω(θ)`` is and how it depends on the sample weights.

In sum form ``F(θ) = Σ_i s_i L_i(θ) + Ω(θ)`` with

    Ω(θ) = ½ θᵀ diag(λ₂) θ + λ₁ᵀ|θ|,

where the L1 part is smooth only on coefficients of fixed nonzero sign (the
active set, see :class:`~skinfluence._objective.ActiveSetObjective`; there
``λ₁ᵀ|θ| = (λ₁ ⊙ sign(θ̂))ᵀθ``). ``λ₂`` and ``λ₁`` are stated at the fitted weights; ``scaling`` says how the
estimator's penalty changes when rows change (the fact that decides what
``S ∂θ̂/∂s_i`` and a leave-one-out Newton step are):

``"fixed"``
    Ω does not depend on the rows (LogisticRegression, Ridge, LinearSVC, Huber).
``"weight_sum"``
    Ω ∝ ``S = Σ s_i``: scikit-learn minimizes a weighted *mean* loss plus a fixed
    penalty (GLMs, Lasso, ElasticNet). Up-weighting row ``i`` also strengthens
    the penalty: ``∂Ω/∂s_i = Ω/S``, and removing rows ``I`` scales it by
    ``1 − Σ_I s_i / S``.
``"row_count"``
    Ω ∝ the number of rows ``n`` (SGD): a weight change at fixed ``n`` leaves Ω
    alone, removing rows ``I`` scales it by ``1 − |I| / n``.
"""

from dataclasses import dataclass, field

import numpy as np

SCALINGS = ("fixed", "weight_sum", "row_count")


@dataclass(frozen=True)
class Penalty:
    """``Ω(θ) = ½ θᵀ diag(l2) θ + l1ᵀ|θ|`` in sum form at the fitted weights."""

    l2: np.ndarray
    l1: np.ndarray = field(default=None)
    scaling: str = "fixed"
    #: ``(S, n)`` of the whole training set when the objective holds only some of
    #: its rows (a chunk of a dask array); ``None``: the rows given are all of them
    totals: tuple | None = None

    def __post_init__(self):
        l2 = np.asarray(self.l2, dtype=np.float64).ravel()
        l1 = np.zeros_like(l2) if self.l1 is None else np.asarray(self.l1, float)
        if self.scaling not in SCALINGS:
            raise ValueError(
                f"scaling must be one of {SCALINGS}, got {self.scaling!r}."
            )
        object.__setattr__(self, "l2", l2)
        object.__setattr__(self, "l1", l1.reshape(l2.shape))

    @property
    def n_params(self):
        return self.l2.size

    def gradient(self, theta):
        """``∇Ω(θ) = diag(l2) θ + l1 ⊙ sign(θ)`` (on the active set, where the L1
        coordinates are nonzero)."""
        return self.l2 * theta + self.l1 * np.sign(theta)

    def weight_derivative(self, theta, weight_sum):
        """``∂(∇Ω)/∂s_i``, the same for every row: ``∇Ω/S`` when Ω ∝ S, else 0.

        It is added to each row's gradient in ``S ∂θ̂/∂s_i = -H⁻¹(∇L_i + S ∂∇Ω/∂s_i)``
        (differentiate ``∇F(θ̂) = 0`` in ``s_i``).
        """
        if self.scaling != "weight_sum":
            return np.zeros(self.n_params)
        return self.gradient(theta) / weight_sum

    def removal_fractions(self, sample_weight):
        """``δ_i`` of every single row, shape (n,): removing rows ``I`` multiplies
        Ω by ``1 − Σ_I δ_i`` (``δ = 0`` for a fixed penalty)."""
        weight_sum, n_rows = self.totals or (np.sum(sample_weight), sample_weight.size)
        if self.scaling == "weight_sum":
            return sample_weight / weight_sum
        if self.scaling == "row_count":
            return np.full(sample_weight.size, 1.0 / n_rows)
        return np.zeros(sample_weight.size)

    @property
    def shifts_on_removal(self):
        """True when removing a row changes Ω (and the Hessian by ``δ diag(l2)``)."""
        return self.scaling != "fixed" and (self.l2.any() or self.l1.any())

    def take(self, keep):
        """The penalty on the coordinates ``keep`` only."""
        return Penalty(self.l2[keep], self.l1[keep], self.scaling, self.totals)
