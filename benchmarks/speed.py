"""Speed and memory of skinfluence against baselines measured in the same run.

Run from the repository root:

    python benchmarks/speed.py            # full sizes (about 15-30 minutes on 2 cores)
    python benchmarks/speed.py --quick    # sizes about 10x smaller (about 75 s on 2 cores)
    python benchmarks/speed.py --cases binary,topk --repeats 5
    python benchmarks/speed.py --quick --blas-threads 1   # comparable on a busy machine

Every case runs in a fresh Python subprocess, so that its peak resident memory
(``VmHWM``, reset with ``/proc/self/clear_refs`` just before the measured call,
else ``ru_maxrss``) counts numpy/BLAS allocations and nothing from other cases.
Times are the median of ``--repeats`` runs with the spread (min-max); a ratio is
median ÷ median of its baseline, timed in the same process. "fresh" means the
fitted model's influence cache was emptied first, so the time includes building
and factoring the Hessian and the stationarity check; "cached" reuses them. ``--blas-threads N`` limits
every BLAS library (threadpoolctl) in each case's process; the threads in use
are printed per case. Peers: pyinfluence (binary logistic; skipped when not
installed) and statsmodels (diagnostics), timed in the same process as the
floor, with ``ours/peer`` printed. Not part of the test suite.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# -- measurement helpers ----------------------------------------------------------
def timed(fn, repeats, setup=None):
    """Run ``fn`` ``repeats`` times (``setup`` untimed before each); seconds."""
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_memory(fn):
    """``fn()`` with the process's peak RSS during the call and the Python
    (tracemalloc, numpy included) peak. Returns (result, dict of MB)."""
    reset = False
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS (Linux >= 4.0)
        reset = True
    except OSError:
        pass
    before = _status_kb("VmRSS")
    tracemalloc.start()
    result = fn()
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hwm = _status_kb("VmHWM") if reset else None
    if hwm is None:  # whole-process high-water mark
        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mb = 1 / 1024
    return result, {
        "rss_before_mb": before * mb if before else float("nan"),
        "peak_rss_mb": hwm * mb,
        "peak_increase_mb": (hwm - (before or 0)) * mb,
        "python_peak_mb": traced / 2**20,
    }


def row(metric, times, baseline=None, target=None, **extra):
    out = {
        "metric": metric,
        "median": float(np.median(times)),
        "min": float(np.min(times)),
        "max": float(np.max(times)),
        "n": len(times),
    }
    if baseline is not None:
        out["ratio"] = out["median"] / float(np.median(baseline))
        if len(baseline) == len(times) > 1:  # interleaved: the ratio per round
            per_round = np.asarray(times) / np.asarray(baseline)
            out["round_ratios"] = [float(per_round.min()), float(per_round.max())]
    if target is not None:
        out["target"] = target
    out.update(extra)
    return out


def clear(model):
    model._influence_state.clear()


# -- data -------------------------------------------------------------------------
def binary_data(n, d, m, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + m, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    y = (rng.random(n + m) < 1 / (1 + np.exp(-(X @ w)))).astype(int)
    return X[:n], y[:n], X[n:], y[n:]


def multinomial_data(n, d, m, K, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + m, d))
    raw = X @ (rng.standard_normal((d, K)) / np.sqrt(d))
    P = np.exp(raw - raw.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) > rng.random((n + m, 1))).argmax(axis=1)
    return X[:n], y[:n], X[n:], y[n:]


# -- cases ------------------------------------------------------------------------
def case_binary(size, repeats):
    """Two sizes (issue 15's targets for a fresh ``influence_loss``: <= 1.5x the
    floor at the smaller, <= 1.2x at the larger), each against the peer."""
    from skinfluence import InfluenceLogisticRegression

    out = []
    for n, m, target in (
        (size["n_binary_small"], size["m_binary_small"], "<= 1.5"),
        (size["n"], size["m"], "<= 1.2"),
    ):
        d = 100
        X, y, Xt, yt = binary_data(n, d, m)
        model = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-10)
        model.fit(X, y)
        label = f"binary n={n} d={d} m={m}"
        rows = _dense_influence_rows(
            model, X, Xt, yt, repeats, label, target, params_target=None
        )
        out += rows + _pyinfluence_rows(model, X, y, Xt, yt, repeats, rows[1])
        del model, X, y, Xt, yt
    return out


def _pyinfluence_rows(model, X, y, Xt, yt, repeats, ours):
    """pyinfluence's cold influence on the test loss (``fit`` + ``explain``:
    explicit inverse of the Hessian, no stationarity check), in this process."""
    try:
        from pyinfluence import InfluenceFunctions
    except ImportError:
        return [{"metric": "pyinfluence: not installed, skipped", "value": 0}]
    import pyinfluence

    def theirs():
        attr = InfluenceFunctions(mode="loss", damping=0.0).fit(model, X, y)
        return attr.explain(Xt, yt)

    t_peer, t_ours = [], []
    for _ in range(repeats):  # interleaved, one call each per round
        t_peer += timed(theirs, 1)
        t_ours += timed(lambda: model.influence_loss(Xt, yt), 1, lambda: clear(model))
    a, b = model.influence_loss(Xt, yt), theirs()
    scale = float((a * b).sum() / (b * b).sum())  # conventions differ by -1/n
    label = f"pyinfluence {pyinfluence.__version__} InfluenceFunctions fit+explain"
    return [
        row(label + " (cold)", t_peer),
        row(
            "influence_loss, fresh model (ours/peer, interleaved)",
            t_ours,
            t_peer,
            "< 1",
            max_rel_diff=f"{_rel(a, scale * b):.1e} after scaling theirs by "
            f"{scale:.4g} (n = {X.shape[0]})",
        ),
        row("  (same, against the floor measured above)", t_ours, _floor(ours)),
    ]


def _floor(r):
    """The baseline times behind a result row (its median over its ratio)."""
    return [r["median"] / r["ratio"]]


def case_multinomial(size, repeats):
    from skinfluence import InfluenceLogisticRegression

    n, d, m, K = size["n"], 100, size["m"], 10
    X, y, Xt, yt = multinomial_data(n, d, m, K)
    model = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-10)
    model.fit(X, y)
    return _dense_influence_rows(
        model, X, Xt, yt, repeats, f"multinomial K={K} n={n} d={d}"
    )


def _dense_influence_rows(
    model, X, Xt, yt, repeats, label, loss_target="<= 1.2", params_target="<= 3"
):
    """Baselines and influence calls interleaved: each round times
    (n,p)@(p,m), A.T@A (numpy: syrk, half the flops), A.T@B (gemm) with A, B
    of shape (n,p), then each influence call once. ``params_target``: the
    issue's target for ``influence_params_`` (the multinomial's; none for binary)."""
    n, m = X.shape[0], Xt.shape[0]
    p = model.coef_.size + model.intercept_.size
    rng = np.random.default_rng(1)
    A, B, A2 = (rng.standard_normal(s) for s in ((n, p), (p, m), (n, p)))

    def drop_params():
        model.influence_state().clear_results()

    mm, xtx, gemm = [], [], []
    fresh_loss, cached_loss, fresh_params, cached_params = [], [], [], []
    for _ in range(repeats):
        mm += timed(lambda: A @ B, 1)
        xtx += timed(lambda: A.T @ A, 1)
        gemm += timed(lambda: A.T @ A2, 1)
        fresh_loss += timed(
            lambda: model.influence_loss(Xt, yt), 1, lambda: clear(model)
        )
        cached_loss += timed(lambda: model.influence_loss(Xt, yt), 1)
        fresh_params += timed(lambda: model.influence_params_, 1, lambda: clear(model))
        cached_params += timed(lambda: model.influence_params_, 1, drop_params)
    shape = f"(n,p)@(p,m), n={n} p={p} m={m}"
    return [
        row(f"{label}: baseline {shape}", mm),
        row("influence_loss, fresh model", fresh_loss, mm, loss_target),
        row("influence_loss, factorization cached", cached_loss, mm, "<= 1.2"),
        row(f"{label}: baseline X.T@X, X (n,p) (numpy uses syrk)", xtx),
        row("influence_params_, fresh model", fresh_params, xtx, params_target),
        row(
            "influence_params_, factorization cached", cached_params, xtx, params_target
        ),
        row(f"{label}: baseline X.T@Y, X, Y (n,p) (gemm, 2x the flops)", gemm),
        row("influence_params_, fresh model", fresh_params, gemm, params_target),
        row(
            "influence_params_, factorization cached",
            cached_params,
            gemm,
            params_target,
        ),
    ]


def case_loo(size, repeats):
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    from skinfluence import InfluenceLogisticRegression

    n, d = size["n"], 100
    X, y, _, _ = binary_data(n, d, 1)
    model = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-10)
    model.fit(X, y)
    refit = timed(lambda: clone(model).fit(X, y), repeats)
    lbfgs = timed(lambda: LogisticRegression(tol=1e-10, max_iter=1000).fit(X, y), 1)
    fresh = timed(
        lambda: model.loo_params_change("newton"), repeats, lambda: clear(model)
    )
    # "cached": the factorization kept, the leave-one-out results recomputed
    cached = timed(
        lambda: model.loo_params_change("newton"),
        repeats,
        lambda: model.influence_state().clear_results(),
    )
    label = f"LOO binary n={n} d={d}"
    return [
        row(f"{label}: baseline one refit (newton-cholesky, tol=1e-10, cold)", refit),
        row("  (for reference: one lbfgs fit, tol=1e-10, cold)", lbfgs),
        row("loo_params_change('newton'), all n rows, fresh", fresh, refit, "< 1"),
        row("loo_params_change('newton'), all n rows, cached", cached, refit, "< 1"),
    ]


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def case_diagnostics(size, repeats):
    import statsmodels.api as sm
    from statsmodels.stats.outliers_influence import OLSInfluence

    from skinfluence import InfluenceLinearRegression, InfluenceLogisticRegression

    n, d = size["n_diag"], 50
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y_ols = X @ rng.standard_normal(d) + rng.standard_normal(n)
    Xc = sm.add_constant(X, prepend=False)
    rows = []

    # -- OLS: hat values, Cook's distance, DFBETAS -------------------------------
    ols = InfluenceLinearRegression().fit(X, y_ols)

    def ours_ols():
        return ols.leverage(), ols.cooks_distance(), ols.dfbetas()

    t_ours = timed(ours_ols, repeats, lambda: clear(ols))
    h, c, b = ours_ols()
    sm_fit = sm.OLS(y_ols, Xc).fit()
    t_hc = timed(
        lambda: (
            OLSInfluence(sm_fit).hat_matrix_diag,
            OLSInfluence(sm_fit).cooks_distance,
        ),
        repeats,
    )
    infl = OLSInfluence(sm_fit)
    err_h = _rel(h, infl.hat_matrix_diag)
    err_c = _rel(c, infl.cooks_distance[0])
    # statsmodels' DFBETAS refits the model n times (a Python loop): time it at
    # n_loop rows, and extrapolate to n with the measured growth between two sizes
    n_loop = min(n, size["n_loop"])
    loop_times = {}
    for n_small in sorted({n_loop // 2, n_loop}):
        fit_small = sm.OLS(y_ols[:n_small], Xc[:n_small]).fit()
        start = time.perf_counter()
        dfb = OLSInfluence(fit_small).dfbetas
        loop_times[n_small] = time.perf_counter() - start
    small = InfluenceLinearRegression().fit(X[:n_loop], y_ols[:n_loop])
    err_b = _rel(small.dfbetas(), dfb)
    (n1, t1), (n2, t2) = sorted(loop_times.items())
    # n refits, each at least as costly as at n2: the growth is at least linear
    # (the measured exponent can come out lower when per-refit overhead dominates)
    measured = np.log(t2 / t1) / np.log(n2 / n1) if n1 < n2 else 2.0
    exponent = max(measured, 1.0)
    t_dfbetas = t2 * (n / n2) ** exponent
    extrapolated = n2 < n
    sm_total = [t + t_dfbetas for t in t_hc]
    note = (
        f"DFBETAS loop timed at n={n2} ({t2:.1f}s) and n={n1} ({t1:.1f}s), "
        f"measured growth exponent {measured:.2f}, extrapolated to n={n} with "
        f"exponent {exponent:.2f} (measured, floored at 1): {t_dfbetas:.0f}s"
        if extrapolated
        else f"DFBETAS loop timed at n={n}: {t2:.1f}s"
    )
    rows += [
        row(
            f"OLS n={n} p={d + 1}: statsmodels OLSInfluence hat+Cook+DFBETAS",
            sm_total,
            note=note,
        ),
        row(
            "skinfluence leverage+cooks_distance+dfbetas (fresh)",
            t_ours,
            sm_total,
            ">= 10x faster (ratio <= 0.1)",
            max_rel_diff=f"hat {err_h:.1e}, Cook {err_c:.1e}, DFBETAS {err_b:.1e}"
            + (f" (DFBETAS at n={n_loop})" if n_loop < n else ""),
        ),
    ]

    # -- logistic: GLMInfluence (vectorized one-step formulas) -------------------
    y_log = (
        rng.random(n) < 1 / (1 + np.exp(-(X @ (rng.standard_normal(d) / 7))))
    ).astype(int)
    logit = InfluenceLogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12)
    logit.fit(X, y_log)

    def ours_log():
        return logit.leverage(), logit.cooks_distance(), logit.dfbetas()

    t_ours = timed(ours_log, repeats, lambda: clear(logit))
    h, c, b = ours_log()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glm = sm.GLM(y_log, Xc, family=sm.families.Binomial()).fit(tol=1e-12)

    def theirs():
        infl = glm.get_influence()
        return infl.hat_matrix_diag, infl.cooks_distance[0], infl.dfbetas

    t_sm = timed(theirs, repeats)
    H, C, B = theirs()
    rows += [
        row(
            f"logistic n={n} p={d + 1}: statsmodels GLMInfluence hat+Cook+DFBETAS", t_sm
        ),
        row(
            "skinfluence leverage+cooks_distance+dfbetas (fresh)",
            t_ours,
            t_sm,
            ">= 10x faster (ratio <= 0.1)",
            max_rel_diff=f"hat {_rel(h, H):.1e}, Cook {_rel(c, C):.1e}, "
            f"DFBETAS {_rel(b, B):.1e}",
        ),
    ]
    return rows


def uniform_sparse(n, d, m, density, seed=0):
    """The sparse case's design: uniformly random sparse entries, labels from a
    sparse logistic model; ``n`` training and ``m`` test rows."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    X = sp.random(
        n + m, d, density=density, format="csr", random_state=rng, dtype=np.float64
    )
    w = np.zeros(d)
    support = rng.choice(d, d // 100, replace=False)
    w[support] = 5 * rng.standard_normal(support.size)
    y = (rng.random(n + m) < 1 / (1 + np.exp(-(X @ w)))).astype(int)
    return X[:n], X[n:], y[:n], y[n:]


def case_sparse(size, repeats):
    from skinfluence import InfluenceLogisticRegression

    n, d, m, density = size["n_sparse"], size["d_sparse"], 100, size["density"]
    X, Xt, y, yt = uniform_sparse(n, d, m, density)
    params = dict(solver="lbfgs", tol=1e-10, max_iter=5000)
    model = InfluenceLogisticRegression(**params)
    from sklearn.linear_model import LogisticRegression

    from skinfluence import mean_loss

    default_fit = timed(lambda: LogisticRegression().fit(X, y), 1)
    # interleaved: a fit, then each influence call on a fresh model, per round
    fit, times, statistic = [], [], []
    for _ in range(min(repeats, size["sparse_repeats"])):
        fit += timed(lambda: model.fit(X, y), 1)
        times += timed(lambda: model.influence_loss(Xt, yt), 1, lambda: clear(model))
        n_iter_loss = model.influence_state().solver.n_iter_
        residual = model.influence_state().solver.residual_
        statistic += timed(
            lambda: model.influence_statistic(mean_loss(model, Xt, yt)),
            1,
            lambda: clear(model),
        )
        n_iter_statistic = model.influence_state().solver.n_iter_
    clear(model)
    _, mem = peak_memory(lambda: model.influence_loss(Xt, yt))
    solve_row = _cg_solve_row(model, Xt, yt, repeats)
    label = f"sparse logistic n={n} d={d} density={density:g} (p={d + 1}) m={m}"
    return [
        row(
            f"{label}: baseline one fit ({params}), n_iter={int(model.n_iter_[0])}",
            fit,
        ),
        row(
            "  (for reference: one fit with LogisticRegression() defaults)", default_fit
        ),
        row(
            "influence_loss (CG), fresh, incl. stationarity check",
            times,
            fit,
            "<= 5 (issue 15)",
            solver=f"cg, iterations {n_iter_loss}, "
            f"max relative residual {residual:.1e}",
        ),
        row(
            f"influence_statistic(mean_loss) of the {m} test rows (one CG solve), "
            "fresh, incl. stationarity check",
            statistic,
            fit,
            "<= 1",
            solver=f"cg, iterations {n_iter_statistic}",
        ),
        solve_row(fit),
        row(
            "  peak RSS during influence_loss (MB)",
            [mem["peak_rss_mb"]],
            target="< 2048",
            memory=mem,
        ),
    ]


def _cg_solve_row(model, Xt, yt, repeats):
    """The CG solve of the test gradients alone (the solver built): its time,
    iterations and time per iteration; a function of the baseline times."""
    state = model.influence_state()
    B = state.test_gradients(*state.test_data(Xt, yt)).T
    times = timed(lambda: state.solver.solve(B), min(repeats, 2))
    n_iter = state.solver.n_iter_
    # (libraries before the cg_preconditioner setting had Jacobi only)
    pre = getattr(getattr(state.solver, "preconditioner", None), "name", "jacobi")

    def make(baseline):
        return row(
            f"  CG solve alone, {B.shape[1]} right-hand sides (solver built)",
            times,
            baseline,
            solver=f"{pre} preconditioner, iterations {n_iter}, "
            f"{np.median(times) / n_iter:.3g} s per iteration "
            f"(all {B.shape[1]} columns), residual {state.solver.residual_:.1e}",
        )

    return make


def text_like(n, d, doc_len=100, n_topics=20, topic_words=400, seed=0):
    """A text-like sparse design: each document mixes Zipf-distributed words of
    the whole vocabulary with Zipf-distributed words of its topic (half each);
    tf-idf rows (sublinear tf, l2-normalized); labels from the topic and a
    sparse word effect, with noise."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfTransformer

    rng = np.random.default_rng(seed)
    # Zipf frequencies, the frequent words at random columns
    cdf = np.cumsum(1.0 / (rng.permutation(d) + 1.0) ** 1.1)
    cdf /= cdf[-1]
    topics = np.array(
        [rng.choice(d, topic_words, replace=False) for _ in range(n_topics)]
    )
    tcdf = np.cumsum(1.0 / np.arange(1, topic_words + 1) ** 1.1)
    tcdf /= tcdf[-1]
    doc_topic = rng.integers(n_topics, size=n)
    rows = np.repeat(np.arange(n), np.maximum(5, rng.poisson(doc_len, size=n)))
    words = np.searchsorted(cdf, rng.random(rows.size))
    topical = topics[doc_topic[rows], np.searchsorted(tcdf, rng.random(rows.size))]
    words = np.where(rng.random(rows.size) < 0.5, topical, words)
    counts = sp.csr_matrix((np.ones(rows.size), (rows, words)), shape=(n, d))
    X = TfidfTransformer(sublinear_tf=True).fit_transform(counts).tocsr()
    w = np.zeros(d)
    support = rng.choice(d, d // 50, replace=False)
    w[support] = 3 * rng.standard_normal(support.size)
    z = np.asarray(X @ w).ravel() + rng.standard_normal(n_topics)[doc_topic]
    return X, (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)


def case_sparse_text(size, repeats):
    from skinfluence import InfluenceLogisticRegression, config_context

    n, d, m = size["n_sparse"], size["d_sparse"], 100
    X, y = text_like(n + m, d)
    X, Xt, y, yt = X[:n], X[n:], y[:n], y[n:]
    model = InfluenceLogisticRegression(solver="lbfgs", tol=1e-10, max_iter=5000)
    fit = timed(lambda: model.fit(X, y), min(repeats, size["sparse_repeats"]))
    label = (
        f"text-like sparse logistic (Zipf words, 20 topics, tf-idf) n={n} d={d} "
        f"nnz/row={X.nnz / n:.0f} m={m}"
    )
    rows = [row(f"{label}: baseline one fit, n_iter={int(model.n_iter_[0])}", fit)]
    from skinfluence import get_config

    available = ("jacobi", "nystrom") if "cg_preconditioner" in get_config() else ()
    for name in available or ("jacobi",):
        with config_context(**({"cg_preconditioner": name} if available else {})):
            times = timed(lambda: model.influence_loss(Xt, yt), 1, lambda: clear(model))
            solver = model.influence_state().solver
            rows.append(
                row(
                    f"influence_loss (CG, {name}), fresh, incl. stationarity check",
                    times,
                    fit,
                    "<= 5",
                    solver=f"iterations {solver.n_iter_}, "
                    f"residual {solver.residual_:.1e}",
                )
            )
            rows.append(_cg_solve_row(model, Xt, yt, repeats)(fit))
    return rows


def case_topk(size, repeats):
    from skinfluence import InfluenceLogisticRegression

    n, d, m = size["n_topk"], 50, size["m_topk"]
    X, y, Xt, yt = binary_data(n, d, m)
    model = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, y)
    del X
    times = timed(
        lambda: model.top_influences(Xt, yt, k=10),
        min(repeats, size["topk_repeats"]),
        lambda: clear(model),
    )
    clear(model)
    top, mem = peak_memory(lambda: model.top_influences(Xt, yt, k=10))
    full = 8 * n * m / 1e9
    return [
        row(
            f"top_influences k=10, n={n} d={d} m={m} (full matrix {full:.0f} GB), fresh",
            times,
        ),
        row(
            "  peak RSS during top_influences (MB)",
            [mem["peak_rss_mb"]],
            target="< 2048",
            memory=mem,
        ),
    ]


CASES = {
    "binary": case_binary,
    "multinomial": case_multinomial,
    "loo": case_loo,
    "diagnostics": case_diagnostics,
    "sparse": case_sparse,
    "sparse_text": case_sparse_text,
    "topk": case_topk,
}
FULL = dict(
    n=100_000,
    m=1000,
    n_binary_small=50_000,
    m_binary_small=500,
    n_diag=20_000,
    n_loop=1000,
    n_sparse=50_000,
    d_sparse=100_000,
    density=1e-3,
    n_topk=1_000_000,
    m_topk=10_000,
    topk_repeats=1,
    sparse_repeats=2,
)
QUICK = dict(
    n=10_000,
    m=100,
    n_binary_small=5000,
    m_binary_small=50,
    n_diag=2000,
    n_loop=300,
    n_sparse=5000,
    d_sparse=10_000,
    density=1e-2,
    n_topk=100_000,
    m_topk=1000,
    topk_repeats=3,
    sparse_repeats=3,
)


# -- driver -----------------------------------------------------------------------
def machine(optional_packages=("statsmodels",)):
    """Versions, CPU, BLAS threads (threadpoolctl) and load: printed by every
    benchmark."""
    import platform

    import scipy
    import sklearn
    import threadpoolctl

    info = {"python": platform.python_version(), "numpy": np.__version__}
    info.update(scipy=scipy.__version__, sklearn=sklearn.__version__)
    for optional in optional_packages:
        try:
            info[optional] = __import__(optional).__version__
        except ImportError:
            info[optional] = "not installed"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core"):
                info[key.strip()] = value.strip()
    except OSError:
        pass
    info["blas"] = [
        f"{p['internal_api']} {p.get('version')} {p.get('threading_layer', '')} "
        f"{p['num_threads']} threads"
        for p in threadpoolctl.threadpool_info()
    ]
    info["load average"] = os.getloadavg()
    return info


def run_case(name, quick, repeats, blas_threads=None):
    import threadpoolctl

    size = QUICK if quick else FULL
    with (
        threadpoolctl.threadpool_limits(limits=blas_threads),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        threads = [
            f"{p['internal_api']} {p.get('version')}: {p['num_threads']}"
            for p in threadpoolctl.threadpool_info()
        ]
        rows = [{"metric": "threads in this process", "messages": threads}]
        rows += CASES[name](size, repeats)
    messages = sorted(
        {f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught}
    )
    if messages:
        rows.append({"metric": "warnings", "messages": messages})
    rows.append(
        {
            "metric": "process peak RSS (MB)",
            "value": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
    print("JSON" + json.dumps(rows))


def fmt(r):
    if "messages" in r:
        head = f"  {r['metric']}:\n" if r["metric"] != "warnings" else ""
        return head + "    " + "\n    ".join(r["messages"])
    if "value" in r:
        return f"  {r['metric']}" + (f": {r['value']:.0f}" if r["value"] else "")
    s = f"  {r['metric']}: {r['median']:.3g} ({r['min']:.3g}-{r['max']:.3g}, n={r['n']})"
    if "ratio" in r:
        s += f"  ratio {r['ratio']:.2f}"
        if "round_ratios" in r:
            s += " (rounds {:.2f}-{:.2f})".format(*r["round_ratios"])
    if "target" in r:
        s += f"  [target {r['target']}]"
    for key in ("max_rel_diff", "solver", "note"):
        if key in r:
            s += f"\n      {key}: {r[key]}"
    if "memory" in r:
        s += "\n      " + ", ".join(f"{k} {v:.0f}" for k, v in r["memory"].items())
    return s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write all rows to this file")
    parser.add_argument(
        "--blas-threads",
        type=int,
        help="limit BLAS/OpenMP threads in every case (threadpoolctl); default: "
        "the libraries' own setting",
    )
    args = parser.parse_args()
    if args.case:
        run_case(args.case, args.quick, args.repeats, args.blas_threads)
        return
    info = machine()
    print("machine:", json.dumps(info))
    print("(times in seconds unless stated; median (min-max, n runs))")
    results = {"machine": info, "quick": args.quick, "cases": {}}
    for name in args.cases.split(","):
        cmd = [sys.executable, os.path.abspath(__file__), "--case", name]
        cmd += ["--repeats", str(args.repeats)] + (["--quick"] if args.quick else [])
        if args.blas_threads:
            cmd += ["--blas-threads", str(args.blas_threads)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        print(f"\n[{name}] ({wall:.0f}s wall)")
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("JSON")]
        if proc.returncode or not lines:
            print(proc.stdout[-2000:], proc.stderr[-4000:])
            continue
        rows = json.loads(lines[-1][4:])
        results["cases"][name] = rows
        for r in rows:
            print(fmt(r))
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
