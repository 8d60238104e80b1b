"""pandas views of influence results, labelled with the user's row indices."""

import numpy as np


def _pandas():
    try:
        import pandas
    except ImportError as error:  # pragma: no cover - pandas is a test dependency
        raise ImportError("This method needs pandas: pip install pandas") from error
    return pandas


def test_index(X_test, n):
    """The row labels of ``X_test`` (a DataFrame's index), else 0..n-1."""
    index = getattr(X_test, "index", None)
    return index if index is not None and hasattr(X_test, "columns") else np.arange(n)


def influence_frame(estimator, X_test, y_test):
    pd = _pandas()
    values = estimator.influence_loss(X_test, y_test)
    return pd.DataFrame(
        values,
        index=pd.Index(test_index(X_test, values.shape[0]), name="test_row"),
        columns=pd.Index(estimator.influence_state().data.labels(), name="train_row"),
    )


def top_influences_frame(estimator, X_test, y_test, top):
    """Tidy frame: one row per (test row, kind, rank)."""
    pd = _pandas()
    fitted = estimator.influence_state()
    share = fitted.removal_shares()
    train_index = np.asarray(fitted.data.labels())
    labels = np.asarray(fitted.data.y)
    m, k = top.helpful_indices.shape
    tests = np.asarray(test_index(X_test, m))
    parts = []
    for kind, idx, val in [
        ("helpful", top.helpful_indices, top.helpful_values),
        ("harmful", top.harmful_indices, top.harmful_values),
    ]:
        parts.append(
            pd.DataFrame(
                {
                    "test_row": np.repeat(tests, k),
                    "kind": kind,
                    "rank": np.tile(np.arange(1, k + 1), m),
                    "train_row": train_index[idx.ravel()],
                    "influence": val.ravel(),
                    "loss_change_if_removed": -share[idx.ravel()] * val.ravel(),
                    "label": list(labels[idx.ravel()]),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
