"""Where a fresh multinomial ``influence_params_`` spends its time (speed.py's
``multinomial`` case: K=10, n=1e5, d=100, p=1010), against ``XᵀX`` timed in the
same round, and what first writes to the (n, p) result cost on this machine.

    python benchmarks/multinomial_phases.py [--rounds 4] [--n 100000]

Phases: the Hessian and its factorization (``influence_state``), then the solve on
the class contrasts, split into thread-seconds of building the gradients (the
first writes to the result's pages happen there), the in-place solves and the
completion. "first writes" allocates and fills an array of the result's size
after sleeping ``--idle`` seconds since the last large free (memory freed that
long ago may have been handed back to the host: see benchmarks/README.md), then
again right after freeing it ("recycled").
"""

import argparse
import threading
import time

import numpy as np
from speed import clear, multinomial_data
from threadpoolctl import threadpool_info

import skinfluence._contrasts as contrasts
from skinfluence import InfluenceLogisticRegression
from skinfluence._solvers import DenseHessianSolver

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--rounds", type=int, default=4)
parser.add_argument("--n", type=int, default=100_000)
parser.add_argument("--idle", type=float, default=3.0)
args = parser.parse_args()

print(
    "BLAS",
    [(i["internal_api"], i["version"], i["num_threads"]) for i in threadpool_info()],
)
X, y, _, _ = multinomial_data(args.n, 100, 10, 10)
model = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, y)
p = model.coef_.size + model.intercept_.size
A = np.random.default_rng(1).standard_normal((args.n, p))

seconds, lock = {}, threading.Lock()


def spy(owner, name):  # thread-seconds spent in owner.name
    method = getattr(owner, name)

    def timed(*a, **k):
        start = time.perf_counter()
        result = method(*a, **k)
        with lock:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
        return result

    setattr(owner, name, timed)


spy(contrasts.ClassContrasts, "gradients")
spy(contrasts.ClassContrasts, "complete")
spy(DenseHessianSolver, "solve_in_place")


def first_writes(idle):
    time.sleep(idle)
    start = time.perf_counter()
    np.empty((args.n, p)).fill(0.0)
    return time.perf_counter() - start


for r in range(args.rounds):
    start = time.perf_counter()
    A.T @ A
    syrk = time.perf_counter() - start
    new = first_writes(args.idle)
    recycled = first_writes(0.0)  # just after freeing an array of that size
    clear(model)
    seconds.clear()
    start = time.perf_counter()
    model.influence_state()
    state = time.perf_counter() - start
    start = time.perf_counter()
    _ = model.influence_params_
    params = time.perf_counter() - start
    parts = ", ".join(f"{k} {v:.2f}" for k, v in seconds.items())
    print(
        f"round {r}: XᵀX {syrk:.2f} s | fresh influence_params_ {state + params:.2f} s "
        f"= {(state + params) / syrk:.2f} XᵀX: state (Hessian, factors) {state:.2f}, "
        f"params {params:.2f} (thread-seconds: {parts}) | first writes of "
        f"{args.n * p * 8 / 1e6:.0f} MB: {recycled:.2f} s recycled, {new:.2f} s after "
        f"{args.idle:g} s idle",
        flush=True,
    )
