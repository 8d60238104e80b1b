"""Every example script runs to the end (so none can rot)."""

import pathlib
import runpy

import numpy as np
import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch):
    pytest.importorskip("matplotlib").use("Agg")
    monkeypatch.chdir(path.parent)
    runpy.run_path(str(path), run_name="__main__")


def test_mislabeled_example_text_follows_from_its_output(monkeypatch):
    """The example says training loss finds flipped labels at least as fast as
    self-influence (higher mean average precision, and the rows self-influence
    promotes are flipped less often and have larger leverage): check it on the
    numbers it computes."""
    pytest.importorskip("matplotlib").use("Agg")
    path = next(p for p in EXAMPLES if p.name == "plot_mislabeled.py")
    monkeypatch.chdir(path.parent)
    run = runpy.run_path(str(path), run_name="__main__")
    ap = {name: np.mean(values) for name, values in run["ap"].items()}
    assert ap["training loss"] >= ap["self-influence"] > ap["random"]
    ahead = np.sum(np.array(run["ap"]["self-influence"]) > run["ap"]["training loss"])
    assert ahead <= run["n_seeds"] // 2
    (f_si, lev_si), (f_loss, lev_loss) = (
        (np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs]))
        for pairs in (
            run["promoted"]["self-influence only"],
            run["promoted"]["training loss only"],
        )
    )
    assert f_si.mean() < f_loss.mean() and np.median(lev_si) > np.median(lev_loss)


def test_regression_diagnostics_example_text_follows_from_its_output(monkeypatch):
    """Its data are R's ``stackloss``; its statements about runs 17 and 21, the
    Cook's threshold, the group of four runs, the refit and the masked run 4
    hold on the numbers it prints."""
    pytest.importorskip("matplotlib").use("Agg")
    sm = pytest.importorskip("statsmodels.api")
    path = next(p for p in EXAMPLES if p.name == "plot_regression_diagnostics.py")
    monkeypatch.chdir(path.parent)
    run = runpy.run_path(str(path), run_name="__main__")
    published = sm.datasets.stackloss.load_pandas().data
    data = run["data"]
    np.testing.assert_array_equal(
        data[["stack_loss", "air_flow", "water_temp", "acid_conc"]].to_numpy(),
        published.to_numpy(),
    )
    frame = run["frame"]
    assert list(run["flagged"].index) == [17, 21]
    flags = frame.filter(like="inf_")
    assert list(flags.columns[flags.loc[17]]) == ["inf_covratio"]
    assert {"inf_dfb_air_flow", "inf_dfb_water_temp", "inf_dffits"} <= set(
        flags.columns[flags.loc[21]]
    )
    assert not flags.loc[21, "inf_cooks_d"]
    assert run["cook"].max() < run["cook_cut"] < run["together"]
    top = run["table"].sort_values("unadj_p")
    assert top.index[0] == 21 and top["bonferroni(p)"].iloc[0] > 0.05
    comparison = run["comparison"]
    np.testing.assert_allclose(
        comparison["DFBETA of run 21"], comparison["refit change"], rtol=1e-9
    )
    assert round(abs(frame.loc[21, "dfb_air_flow"]), 1) == 1.6
    assert run["smaller"].outlier_test().sort_values("unadj_p").index[0] == 4


def test_kernel_ridge_example_text_follows_from_its_output(monkeypatch):
    """The example says the exact downdate matches the refits to round-off, the
    first order does not exactly, and the most harmful row is a corrupted one."""
    pytest.importorskip("matplotlib").use("Agg")
    path = next(p for p in EXAMPLES if p.name == "plot_kernel_ridge.py")
    monkeypatch.chdir(path.parent)
    run = runpy.run_path(str(path), run_name="__main__")
    scale = np.max(np.abs(run["refits"]))
    assert np.max(np.abs(run["exact"] - run["refits"])) <= 1e-10 * scale
    assert np.max(np.abs(run["first"] - run["refits"])) > 1e-3 * scale
    assert run["most_harmful"] in run["corrupted"]
