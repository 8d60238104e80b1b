"""Mutation check: does the test suite catch plausible hand-made bugs?

Each mutant replaces one exact piece of source (which must occur exactly once)
in a scratch copy of the repository; a fast, targeted subset of the tests runs
against it. A mutant is *caught* when that run fails, *missed* when it passes.
The pristine copy must pass first (otherwise every mutant would look caught).

    python benchmarks/mutation.py                 # every mutant, the default tests
    python benchmarks/mutation.py --only n-for-S-remove-effect sgd-balanced-weighted
    python benchmarks/mutation.py --tests-from fe8a7f2   # the tests of an older commit
    python benchmarks/mutation.py --list

Slow (one pytest run per mutant, ~20–60 s each on an idle machine): not part
of the default test run. The score is in ``benchmarks/README.md`` and the
CHANGELOG; rerun it after changing the numerics.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: targeted, fast tests: stop at the first failure
TESTS = [
    "tests/test_weights.py",
    "tests/test_reliability.py",
    "tests/test_removal.py",
    "tests/test_diagnostics.py",
    "tests/test_outputs.py",
    "tests/test_adapters.py",
    "tests/test_losses.py",
    "tests/test_objective.py",
    "tests/test_mixin.py",
    "tests/test_glm_diagnostics.py",
    "tests/test_validation.py",
    "tests/test_fuzz.py",
]

S = "skinfluence/"
#: (id, file, exact source, replacement): plausible bugs in losses, adapters,
#: solvers, removal, diagnostics, outputs and validation
MUTANTS = [
    # shares and counts: n for S, signs
    (
        "n-for-S-remove-effect",
        S + "_removal.py",
        "fitted.theta + fitted.solve(summed) / objective.weight_sum",
        "fitted.theta + fitted.solve(summed) / objective.n_samples",
    ),
    (
        "n-for-S-removal-shares",
        S + "_state.py",
        "return self.objective.sample_weight / self.objective.weight_sum",
        "return np.full(self.n_samples, 1.0 / self.n_samples)",
    ),
    (
        "sign-loo-params-influence",
        S + "_removal.py",
        "return -fitted.removal_shares()[:, None] * fitted.influence_params()",
        "return fitted.removal_shares()[:, None] * fitted.influence_params()",
    ),
    (
        "sign-loo-loss-influence",
        S + "_removal.py",
        "return -influence * fitted.removal_shares()",
        "return influence * fitted.removal_shares()",
    ),
    (
        "unit-weights-ignored",
        S + "_adapters.py",
        "    if sample_weight is None:\n        return np.ones(n)",
        "    if True:\n        return np.ones(n)",
    ),
    (
        "sgd-balanced-weighted",
        S + "_adapters.py",
        "cw = compute_class_weight(est.class_weight, classes=est.classes_, y=y)",
        "cw = compute_class_weight(est.class_weight, classes=est.classes_, y=y, sample_weight=sw)",
    ),
    (
        "logistic-balanced-unweighted",
        S + "_adapters.py",
        "est.class_weight, classes=est.classes_, y=y, sample_weight=sw\n",
        "est.class_weight, classes=est.classes_, y=y\n",
    ),
    # penalties
    (
        "glm-penalty-without-S",
        S + "_adapters.py",
        "s.sum() * est.alpha, _n_intercepts(est)",
        "est.alpha, _n_intercepts(est)",
    ),
    (
        "glm-penalty-not-rescaled-on-removal",
        S + "_adapters.py",
        'return Penalty(l2, scaling="weight_sum")',
        "return Penalty(l2)",
    ),
    (
        "enet-penalty-without-S",
        S + "_adapters.py",
        "S * est.alpha * (1.0 - rho), n_b",
        "est.alpha * (1.0 - rho), n_b",
    ),
    (
        "enet-penalty-not-rescaled-on-removal",
        S + "_adapters.py",
        '_l2_on_coef(est.coef_.size, S * est.alpha * rho, n_b),\n            scaling="weight_sum",',
        "_l2_on_coef(est.coef_.size, S * est.alpha * rho, n_b),",
    ),
    (
        "ridge-alpha-not-doubled",
        S + "_adapters.py",
        "np.repeat(2.0 * alpha, d)",
        "np.repeat(alpha, d)",
    ),
    (
        "liblinear-intercept-unpenalized",
        S + "_adapters.py",
        'b = 1.0 / (C * est.intercept_scaling**2) if est.solver == "liblinear" else 0.0',
        "b = 0.0",
    ),
    (
        "sgd-penalty-uses-S",
        S + "_adapters.py",
        "n_rows * alpha, _n_intercepts(est)",
        "s.sum() * alpha, _n_intercepts(est)",
    ),
    (
        "penalty-derivative-dropped",
        S + "_objective.py",
        "return G if not share.any() else as_dense(G) + share",
        "return G",
    ),
    (
        "removal-fraction-count",
        S + "_penalties.py",
        "return sample_weight / np.sum(sample_weight)",
        "return np.full(sample_weight.size, 1.0 / sample_weight.size)",
    ),
    # losses
    (
        "logloss-gradient-sign",
        S + "_losses.py",
        "return expit(raw) - y",
        "return y - expit(raw)",
    ),
    (
        "multinomial-hessian-no-outer",
        S + "_losses.py",
        "return pv - p * pv.sum(axis=1, keepdims=True)",
        "return pv",
    ),
    (
        "squared-error-no-factor-2",
        S + "_losses.py",
        "return 2.0 * (raw - y)",
        "return raw - y",
    ),
    (
        "tweedie-hessian-swapped",
        S + "_losses.py",
        "return mu ** (1 - p) * ((p - 1) * y + (2 - p) * mu) * v",
        "return mu ** (1 - p) * ((p - 1) * mu + (2 - p) * y) * v",
    ),
    (
        "poisson-domain-unchecked",
        S + "_losses.py",
        "bad = y < 0 if p < 2 else y <= 0",
        "bad = y < -1e300",
    ),
    # influence, solver, Newton
    (
        "influence-on-sign",
        S + "_state.py",
        "return self.train_gradient_product(-self.solver.solve(gradients)).T",
        "return self.train_gradient_product(self.solver.solve(gradients)).T",
    ),
    (
        "newton-constant-part-sign",
        S + "_removal.py",
        "    step -= c\n",
        "    step += c\n",
    ),
    (
        "newton-leverage-not-corrected",
        S + "_removal.py",
        "    M = np.eye(k) - D @ P\n",
        "    M = np.eye(k) + 0 * (D @ P)\n",
    ),
    (
        "stationarity-never-warns",
        S + "_state.py",
        'if s.ratio > self.settings["stationarity_threshold"]:',
        "if False:",
    ),
    # diagnostics
    (
        "dfbetas-unweighted-deleted-variance",
        S + "_losses.py",
        "deleted = sample_weight * ((y - raw) ** 2 / safe).sum(axis=1)",
        "deleted = ((y - raw) ** 2 / safe).sum(axis=1)",
    ),
    (
        "cooks-all-parameters",
        S + "_diagnostics.py",
        "return fitted.loo().quadratic / (self._n_identified(fitted) * phi)",
        "return fitted.loo().quadratic / (fitted.n_params * phi)",
    ),
    (
        "dispersion-dof-without-parameters",
        S + "_diagnostics.py",
        "dof = n_obs - self._n_identified(fitted)",
        "dof = n_obs",
    ),
    (
        "gaussian-factor-1",
        S + "_losses.py",
        "    gaussian_factor = 2.0\n",
        "    gaussian_factor = 1.0\n",
    ),
    # outputs
    (
        "prediction-gap-column-0",
        S + "_outputs.py",
        "output = 1  # the positive class, classes_[1]",
        "output = 0",
    ),
    (
        "top-influences-swapped",
        S + "_mixin.py",
        "helpful_indices=low_i,",
        "helpful_indices=high_i,",
    ),
    (
        "max-bytes-unchecked",
        S + "_outputs.py",
        "if not size <= max_bytes:",
        "if False:",
    ),
    # validation and degenerate geometry
    (
        "nan-y_test-accepted",
        S + "_state.py",
        "bad = ~np.isfinite(Y).all(axis=1)",
        "bad = np.zeros(Y.shape[0], dtype=bool)",
    ),
    (
        "empty-class-removal-allowed",
        S + "_removal.py",
        "    if missing.size:\n",
        "    if False:\n",
    ),
    (
        "sole-row-of-class-not-nan",
        S + "_removal.py",
        "        changes[alone] = np.nan\n",
        "        pass\n",
    ),
    (
        "leverage-one-first-order-allowed",
        S + "_removal.py",
        "    if bad.size:\n",
        "    if False:\n",
    ),
    (
        "non-finite-fit-accepted",
        S + "_state.py",
        "if not np.all(np.isfinite(self.theta)):",
        "if False:",
    ),
    (
        "fixed-dispersion-needs-dof",
        S + "_diagnostics.py",
        'if dof <= 0 and objective.loss.dispersion_kind != "fixed":',
        "if dof <= 0:",
    ),
]


def _copy(tests_from):
    """A scratch copy of the package and the tests (of HEAD or a commit)."""
    work = Path(tempfile.mkdtemp(prefix="skinfluence-mutation-"))
    shutil.copytree(ROOT / "skinfluence", work / "skinfluence")
    for name in ("pyproject.toml", "setup.cfg", "conftest.py"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, work / name)
    if tests_from:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", tests_from, "tests"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    else:
        shutil.copytree(ROOT / "tests", work / "tests")
    return work


def _run(work, tests, timeout):
    tests = [t for t in tests if (work / t).exists()]
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    command += ["-o", "addopts=", *tests]  # no doctests: the mutants' own examples
    try:
        done = subprocess.run(
            command, cwd=work, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None
    return done.returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="mutant ids to run")
    parser.add_argument("--tests", nargs="*", default=TESTS)
    parser.add_argument("--tests-from", help="take tests/ from this git commit")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    mutants = [m for m in MUTANTS if not args.only or m[0] in args.only]
    if args.list:
        for mutant in mutants:
            print(mutant[0])
        return
    work = _copy(args.tests_from)
    try:
        if not _run(work, args.tests, args.timeout):
            sys.exit("the unmutated package fails these tests: no score")
        caught, missed = [], []
        for name, path, old, new in mutants:
            source = (work / path).read_text()
            if source.count(old) != 1:
                sys.exit(f"{name}: the source to mutate occurs {source.count(old)}×")
            (work / path).write_text(source.replace(old, new))
            start = time.time()
            passed = _run(work, args.tests, args.timeout)
            (work / path).write_text(source)
            verdict = "missed" if passed else "caught"
            (missed if passed else caught).append(name)
            print(f"{verdict:7} {time.time() - start:6.0f} s  {name}", flush=True)
        print(
            f"\ncaught {len(caught)} of {len(mutants)}; missed: {', '.join(missed) or '-'}"
        )
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
