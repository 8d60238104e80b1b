"""Top-10 most influential training rows of 100 test points, rows on a cluster.

The training rows (default 4·10⁶ × 40, 1.28 GB) are generated chunk by chunk on
the workers of a ``LocalCluster`` of processes whose memory limit (default
1 GB each) is below the data size. A logistic regression is fitted elsewhere
(a separate process that holds the data in memory, fits scikit-learn, and runs
the in-memory path for comparison). Printed: time and peak memory of each
path, per worker for the cluster, and whether the top-10 agree.

    python benchmarks/dask_cluster.py                  # full size
    python benchmarks/dask_cluster.py --rows 400000    # quick

Peak memory is each process's maximum resident set (``VmHWM`` of ``/proc/self/status``, Linux), which
includes the ~180 MB of an idle Python with numpy, scipy and scikit-learn.
"""

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time

import numpy as np


def data(n, d, chunk):
    import dask.array as da

    rng = da.random.default_rng(2026)
    X = rng.normal(size=(n, d), chunks=(chunk, d))
    coef = np.linspace(-1.0, 1.0, d)
    y = (X @ coef + rng.logistic(size=n, chunks=chunk) > 0).astype(np.int64)
    return X, y


def test_points(d, m=100):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(m, d))
    return X, (X @ np.linspace(-1.0, 1.0, d) > 0).astype(np.int64)


def peak_mb():
    """The process's high-water resident set (VmHWM, Linux), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return float("nan")


def in_memory(args, model_path):
    """Fit scikit-learn on the rows in memory, then the in-memory top-10."""
    import dask
    from sklearn.linear_model import LogisticRegression

    from skinfluence import attach

    X, y = dask.compute(
        *data(args.rows, args.features, args.chunk), scheduler="threads"
    )
    start = time.perf_counter()
    model = LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, y)
    fit_time = time.perf_counter() - start
    X_test, y_test = test_points(args.features)
    start = time.perf_counter()
    top = attach(model, X, y).top_influences(X_test, y_test, k=10)
    elapsed = time.perf_counter() - start
    with open(model_path, "wb") as f:
        pickle.dump((model, top), f)
    print(json.dumps({"fit": fit_time, "top10": elapsed, "peak_mb": peak_mb()}))


def on_cluster(args, model_path):
    import dask
    from distributed import Client, LocalCluster
    from threadpoolctl import threadpool_info

    from skinfluence import attach

    with open(model_path, "rb") as f:
        model, expected = pickle.load(f)
    settings = {
        "distributed.worker.memory.target": False,
        "distributed.worker.memory.spill": False,
        "distributed.worker.memory.pause": False,
    }
    with (
        dask.config.set(settings),
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=args.memory_limit,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        X, y = data(args.rows, args.features, args.chunk)
        X_test, y_test = test_points(args.features)
        baseline = client.run(peak_mb)
        start = time.perf_counter()
        top = attach(model, X, y).top_influences(X_test, y_test, k=10)
        elapsed = time.perf_counter() - start
        peaks = client.run(peak_mb)
        blas = client.run(
            lambda: [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
        )
    same = all(
        np.array_equal(top[key], expected[key])
        for key in ("harmful_indices", "helpful_indices")
    )
    return elapsed, baseline, peaks, blas, same, X.nbytes


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--in-memory", metavar="MODEL_PATH")
    args = parser.parse_args()
    if args.in_memory:
        return in_memory(args, args.in_memory)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.pkl")
        out = subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--in-memory", path],
            check=True,
            capture_output=True,
            text=True,
        )
        memory = json.loads(out.stdout.strip().splitlines()[-1])
        elapsed, baseline, peaks, blas, same, nbytes = on_cluster(args, path)
    print(
        f"training rows: {args.rows} x {args.features} = {nbytes / 1e9:.2f} GB; "
        f"{args.workers} workers, memory limit {args.memory_limit} each, "
        f"chunks of {args.chunk} rows; BLAS per worker: {next(iter(blas.values()))}"
    )
    print(
        f"in memory: fit {memory['fit']:.1f} s (elsewhere), top-10 of 100 test "
        f"points {memory['top10']:.1f} s, peak {memory['peak_mb']:.0f} MB"
    )
    worker_peaks = ", ".join(f"{v:.0f}" for v in peaks.values())
    idle = ", ".join(f"{v:.0f}" for v in baseline.values())
    print(
        f"dask cluster: top-10 of 100 test points {elapsed:.1f} s "
        f"({elapsed / memory['top10']:.2f}x in memory), peak per worker "
        f"{worker_peaks} MB (after start-up {idle} MB)"
    )
    print(f"top-10 identical to the in-memory path: {same}")


if __name__ == "__main__":
    main()
