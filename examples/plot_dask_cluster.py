"""
Training data on a dask cluster
===============================

The training rows stay on the workers of a dask cluster: skinfluence sums the
Hessian and gradient over the chunks there, factors the small ``p × p`` Hessian
on the client, and returns results over the training rows as lazy dask arrays
chunked like the rows. The most influential rows for a few test points are
found by a distributed top-k: each chunk sends only its candidates.

Here the cluster is a :class:`~distributed.LocalCluster` (threads, to keep the
example light); on a real cluster only the ``Client`` line changes.
"""

# %%
# Data generated on the workers, a model fitted elsewhere
# -------------------------------------------------------
# 100,000 rows of 20 features, generated chunk by chunk by dask. The model is
# fitted with plain scikit-learn (here on the same rows, read into memory
# once); skinfluence only needs the fitted model and the lazy rows.
import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.linear_model import LogisticRegression

from skinfluence import attach

n, d = 100_000, 20
rng = da.random.default_rng(0)
X = rng.normal(size=(n, d), chunks=(20_000, d))
coef = np.linspace(-1.0, 1.0, d)
y = (X @ coef + rng.logistic(size=n, chunks=20_000) > 0).astype(np.int64)

X_memory, y_memory = dask.compute(X, y)
model = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-10)
model.fit(X_memory, y_memory)
X_test, y_test = X_memory[:5] + 0.5, y_memory[:5]

# %%
# Influence on the cluster
# ------------------------
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False)
client = Client(cluster)

chunked = attach(model, X, y)
influence = chunked.influence_loss(X_test, y_test)  # lazy, (5, 100000)
print(type(influence).__name__, influence.shape, "chunks:", influence.chunks[1])
top = chunked.top_influences(X_test, y_test, k=10)
print("most harmful rows for test point 0:", top.harmful_indices[0])

# %%
# The same numbers as in memory
# -----------------------------
# The chunked path is the in-memory computation, summed in another order.
in_memory = attach(model, X_memory, y_memory)
reference = in_memory.influence_loss(X_test, y_test)
difference = np.abs(influence.compute() - reference).max() / np.abs(reference).max()
print(f"largest relative difference from the in-memory path: {difference:.1e}")
same = np.array_equal(
    top.harmful_indices, in_memory.top_influences(X_test, y_test, k=10).harmful_indices
)
print("top-10 identical:", same)

client.close()
cluster.close()

# %%
# The ten most harmful training rows for each test point
# ------------------------------------------------------
# Removing row ``i`` changes test loss ``j`` by about ``-(1/n)·influence[j, i]``.
fig, ax = plt.subplots(figsize=(7, 3.5))
for j in range(len(X_test)):
    ax.plot(np.arange(1, 11), top.harmful_values[j], "o-", label=f"test point {j}")
ax.set_xlabel("rank")
ax.set_ylabel("influence on the test loss")
ax.set_title("Top-10 harmful rows of 100,000, found chunk by chunk")
ax.legend(fontsize="small")
fig.tight_layout()
plt.show()
