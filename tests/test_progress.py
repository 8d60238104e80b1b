"""Progress bars: shown when asked or interactive, hidden otherwise, silent
without tqdm."""

import io
import sys

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

import skinfluence._progress
from skinfluence import InfluenceRidge, config_context, loo_refit

X, y = load_diabetes(return_X_y=True)
X, y = X[:120], y[:120]

OPERATIONS = {
    "leave-one-out refits": lambda m: loo_refit(InfluenceRidge(), X, y, indices=[0, 1]),
    "refit without 2 rows": lambda m: m.remove_effect([0, 1], method="exact"),
    "conjugate gradients": lambda m: m.influence_params_,
    "top influences": lambda m: m.top_influences(X[:3], y[:3]),
    "leave-one-out Newton steps": lambda m: m.cooks_distance(),
}


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _run(name, monkeypatch, setting, stream=None):
    stream = stream or io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with config_context(progress_bar=setting, hessian_solver="cg"):
        OPERATIONS[name](InfluenceRidge().fit(X, y))
    return stream.getvalue()


@pytest.mark.parametrize("name", OPERATIONS)
def test_bar_shown_when_asked(name, monkeypatch):
    pytest.importorskip("tqdm")
    assert name in _run(name, monkeypatch, True)


@pytest.mark.parametrize("name", OPERATIONS)
def test_bar_shown_on_an_interactive_terminal_and_hidden_otherwise(name, monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(skinfluence._progress, "AUTO_DELAY", 0.0)
    assert name in _run(name, monkeypatch, "auto", _Terminal())
    assert _run(name, monkeypatch, "auto") == ""  # a log file, CI, a test run
    assert _run(name, monkeypatch, False, _Terminal()) == ""


def test_auto_waits_before_showing_a_bar(monkeypatch):
    pytest.importorskip("tqdm")
    assert skinfluence._progress.AUTO_DELAY > 1  # quick operations show nothing
    assert _run("top influences", monkeypatch, "auto", _Terminal()) == ""


def test_silent_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails
    for name in OPERATIONS:
        assert _run(name, monkeypatch, True, _Terminal()) == ""


def test_bars_change_no_result(monkeypatch):
    model = InfluenceRidge().fit(X, y)
    with config_context(progress_bar=False):
        quiet = loo_refit(model, X, y, indices=[3, 4])
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with config_context(progress_bar=True):
        shown = loo_refit(model, X, y, indices=[3, 4])
    np.testing.assert_array_equal(quiet, shown)
