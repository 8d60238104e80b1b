"""Full-size uniform sparse design (speed.py's `sparse` case): Jacobi vs Nystrom,
fresh influence_loss of 100 test rows, fit timed in the same process."""

import time
import warnings

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_info

import skinfluence as sk

warnings.simplefilter("ignore")
n, d, m, density = 50000, 100000, 100, 0.001
rng = np.random.default_rng(0)
X = sp.random(
    n + m, d, density=density, format="csr", random_state=rng, dtype=np.float64
)
w = np.zeros(d)
s = rng.choice(d, d // 100, replace=False)
w[s] = 5 * rng.standard_normal(s.size)
y = (rng.random(n + m) < 1 / (1 + np.exp(-(X @ w)))).astype(int)
X, Xt, y, yt = X[:n], X[n:], y[:n], y[n:]
print(
    "BLAS",
    [(i["internal_api"], i["num_threads"]) for i in threadpool_info()],
    flush=True,
)
model = sk.InfluenceLogisticRegression(solver="lbfgs", tol=1e-10, max_iter=5000)
t = time.perf_counter()
model.fit(X, y)
fit = time.perf_counter() - t
print(f"fit {fit:.2f} s", flush=True)
res = {}
for pre in ["jacobi", "nystrom"]:
    with sk.config_context(cg_preconditioner=pre):
        model.fit(X, y)
        t = time.perf_counter()
        v = model.influence_loss(Xt, yt)
        el = time.perf_counter() - t
        s = model.influence_state().solver
        res[pre] = v
        print(
            f"{pre}: influence_loss {el:.1f} s = {el / fit:.1f} fits, iterations {s.n_iter_}, residual {s.residual_:.1e}",
            flush=True,
        )
a, b = res["jacobi"], res["nystrom"]
print("max |diff| / max |value|:", np.abs(a - b).max() / np.abs(a).max())
