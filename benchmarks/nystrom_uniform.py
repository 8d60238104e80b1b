"""Full-size uniform sparse design (speed.py's `sparse` case): Jacobi vs Nystrom,
fresh influence_loss of 100 test rows, fit timed in the same process.

    python benchmarks/nystrom_uniform.py
"""

import time
import warnings

import numpy as np
from speed import uniform_sparse  # the design of speed.py's sparse case
from threadpoolctl import threadpool_info

import skinfluence as sk

warnings.simplefilter("ignore")
X, Xt, y, yt = uniform_sparse(50000, 100000, 100, 0.001)
print("BLAS", [(i["internal_api"], i["num_threads"]) for i in threadpool_info()])
model = sk.InfluenceLogisticRegression(solver="lbfgs", tol=1e-10, max_iter=5000)
start = time.perf_counter()
model.fit(X, y)
fit = time.perf_counter() - start
print(f"fit {fit:.2f} s", flush=True)
results = {}
for name in ["jacobi", "nystrom"]:
    with sk.config_context(cg_preconditioner=name):
        model.fit(X, y)
        start = time.perf_counter()
        results[name] = model.influence_loss(Xt, yt)
        elapsed = time.perf_counter() - start
        solver = model.influence_state().solver
        print(
            f"{name}: influence_loss {elapsed:.1f} s = {elapsed / fit:.1f} fits, "
            f"iterations {solver.n_iter_}, residual {solver.residual_:.1e}",
            flush=True,
        )
a, b = results["jacobi"], results["nystrom"]
print("max |diff| / max |value|:", np.abs(a - b).max() / np.abs(a).max())
