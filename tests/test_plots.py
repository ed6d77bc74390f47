import numpy as np
import plotly.io as pio
import pytest

from mlsec_helpers import plots


def test_style_is_the_default():
    assert "mlsec" in pio.templates.default


def test_image_grid():
    fig = plots.image_grid(np.random.rand(5, 1, 8, 8), labels=list("abcde"), ncols=3)
    assert len(fig.data) == 5
    with pytest.raises(ValueError, match="labels"):
        plots.image_grid(np.random.rand(2, 8, 8), labels=["a"])
    with pytest.raises(ValueError, match="images must be"):
        plots.image_grid(np.random.rand(8, 8))


def test_bars_curves_heatmap_confusion_roc():
    fig = plots.before_after_bars(["a", "b"], [0.9, 0.8], [0.5, 0.4], percent=True)
    assert len(fig.data) == 2
    with pytest.raises(ValueError):
        plots.before_after_bars(["a"], [1, 2], [3, 4])
    fig = plots.curves([0, 1, 2], {"baseline": [1, 0.5, 0.1]})
    assert fig.data[0].line.color == plots.COLORS["baseline"]
    with pytest.raises(ValueError, match="shape"):
        plots.curves([0, 1], {"x": [1, 2, 3]})
    with pytest.raises(ValueError, match="z is"):
        plots.heatmap(np.zeros((2, 2)), ["a"], ["b", "c"])
    fig = plots.confusion_matrix([0, 1, 1], [0, 1, 0], ["no", "yes"])
    assert np.allclose(fig.data[0].z, [[1, 0], [0.5, 0.5]])
    fig = plots.roc_curves({"m": ([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])}, log=True)
    assert "AUC 1.000" in fig.data[0].name


def test_table_renders_html():
    import pandas as pd

    html = plots.table(pd.DataFrame({"a": [1.23456]}), caption="c").to_html()
    assert "1.235" in html and "c" in html
