import art.attacks.extraction  # noqa: F401 (see below)
import numpy as np
import pytest
import scipy.stats  # noqa: F401
import torch
from torch import nn

from mlsec_helpers import extraction
from mlsec_helpers.extraction import image as xi
from mlsec_helpers.validate import ArgumentTypeError

# ART and scipy are imported above, before any test, because loading them loads libraries
# with thread pools of their own: unchanged_global_state would see those pools appear inside
# the first test that imports them, although no helper changed a setting.

RNG = np.random.default_rng(0)
POOL = RNG.random((32, 1, 28, 28), dtype=np.float32)


def brightness_proba(X):
    """A stand-in victim: the class is the image's mean brightness in tenths."""
    X = np.asarray(X, dtype=np.float64)
    m = X.reshape(len(X), -1).mean(1)
    logits = -((np.arange(10)[None, :] / 10 + 0.05 - m[:, None]) ** 2) * 400
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


class BrightnessSystem:
    def predict(self, X):
        return brightness_proba(X).argmax(1)


class Constant(nn.Module):
    """A model that always answers ``label``."""

    def __init__(self, label, n_classes=10):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(n_classes))
        with torch.no_grad():
            self.bias[label] = 5.0

    def forward(self, x):
        return self.bias.expand(len(x), -1)


def same_weights(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))


def test_cached_victim_answers_like_the_victim_and_runs_it_once_per_image():
    calls = []

    class Counting:
        def predict_proba(self, X):
            calls.append(len(X))
            return brightness_proba(X)

    victim = xi.CachedVictim(Counting())
    X = np.concatenate([POOL[:5], POOL[:3]])
    assert np.array_equal(victim.predict_proba(X), brightness_proba(X))
    assert calls == [5] and len(victim) == 5
    assert np.array_equal(victim.predict(POOL[:6]), brightness_proba(POOL[:6]).argmax(1))
    assert calls == [5, 1]  # only the sixth image is new
    with pytest.raises(ArgumentTypeError, match="predict_proba"):
        xi.CachedVictim(brightness_proba)
    with pytest.raises(ValueError, match="grey images"):
        victim.predict_proba(POOL[:, 0])


# --- the thief's model and training -----------------------------------------------------------


def test_thief_cnn_gives_logits_for_each_image():
    out = xi.ThiefCNN(width=2)(torch.as_tensor(POOL[:3]))
    assert out.shape == (3, 10)
    with pytest.raises(ValueError, match="width"):
        xi.ThiefCNN(width=0)


def test_train_thief_is_deterministic_and_leaves_global_state(unchanged_global_state):
    answers = brightness_proba(POOL[:16])
    a = xi.train_thief(POOL[:16], answers, epochs=1, width=2, seed=3)
    b = xi.train_thief(POOL[:16], answers, epochs=1, width=2, seed=3)
    c = xi.train_thief(POOL[:16], answers, epochs=1, width=2, seed=4)
    assert same_weights(a, b) and not same_weights(a, c)
    assert not a.training


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(X=POOL[:4, 0]), ValueError, "grey images"),
    (dict(answers=np.ones((3, 10)) / 10), ValueError, "one row per query"),
    (dict(answers=-np.ones((4, 10))), ValueError, r"\[0, 1\]"),
    (dict(temperature=0), ValueError, "temperature"),
    (dict(epochs=0), ValueError, "epochs"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(epochs=1.5), ArgumentTypeError, "epochs"),
])
def test_train_thief_rejects_bad_input(kwargs, error, match):
    args = dict(X=POOL[:4], answers=brightness_proba(POOL[:4]), epochs=1, width=2)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        xi.train_thief(args.pop("X"), args.pop("answers"), **args)


# --- the thefts -------------------------------------------------------------------------------


@pytest.mark.parametrize("attack, name", [("knockoff", "KnockoffNets"),
                                          ("copycat", "CopycatCNN")])
def test_steal_spends_exactly_its_budget_through_the_api(attack, name, unchanged_global_state):
    api = extraction.PredictionAPI(brightness_proba)
    theft = xi.steal(api, POOL, 12, attack=attack, epochs=1, width=2, seed=1)
    assert theft.attack == name and theft.queries == 12 == api.queries
    assert theft.access == "proba" and theft.answers.shape == (12, 10)
    pool_rows = {x.tobytes() for x in POOL}
    assert all(x.tobytes() in pool_rows for x in theft.X)
    assert len({x.tobytes() for x in theft.X}) == 12  # no image sent twice
    again = xi.steal(extraction.PredictionAPI(brightness_proba), POOL, 12, attack=attack,
                     epochs=1, width=2, seed=1)
    assert np.array_equal(theft.X, again.X) and same_weights(theft.model, again.model)


def test_steal_through_a_labels_api_gets_one_hot_answers():
    api = extraction.PredictionAPI(brightness_proba, output="labels")
    theft = xi.steal(api, POOL, 8, epochs=1, width=2)
    assert set(np.unique(theft.answers)) <= {0.0, 1.0} and theft.access == "labels"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(budget=33), ValueError, "exceeds the thief's pool"),
    (dict(budget=0), ValueError, "budget"),
    (dict(budget=-5), ValueError, "budget"),
    (dict(attack="knockof"), ValueError, "did you mean 'knockoff'"),
    (dict(api=brightness_proba), ArgumentTypeError, "PredictionAPI"),
    (dict(pool=POOL * 255), ValueError, r"\[0, 1\]"),
    (dict(temperature=-1.0), ValueError, "temperature"),
])
def test_steal_rejects_bad_input(kwargs, error, match):
    args = dict(api=extraction.PredictionAPI(brightness_proba), pool=POOL, budget=4, epochs=1,
                width=2)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        xi.steal(args.pop("api"), args.pop("pool"), args.pop("budget"), **args)


def test_copy_quality_measures_agreement_and_accuracy():
    system = BrightnessSystem()
    y = system.predict(POOL)
    label = int(np.bincount(y).argmax())
    q = xi.copy_quality(Constant(label), system, POOL, y, on="32 images")
    assert q.fidelity.value == pytest.approx(np.mean(y == label))
    assert q.accuracy.value == q.fidelity.value and q.fidelity.on == "32 images"
    with pytest.raises(ValueError, match="labels"):
        xi.copy_quality(Constant(0), system, POOL, y[:5])
    with pytest.raises(ArgumentTypeError, match="torch module"):
        xi.copy_quality(system, system, POOL, y)


def test_upscaled_sklearn_digits_look_like_mnist_images():
    X = xi.upscaled_sklearn_digits()
    assert X.shape == (1797, 1, 28, 28) and X.dtype == np.float32
    assert X.min() >= 0 and X.max() <= 1 and X[:, :, :4].max() == 0  # the 4-pixel border
    assert xi.upscaled_sklearn_digits(side=16).shape == (1797, 1, 16, 16)
    with pytest.raises(ValueError, match="side"):
        xi.upscaled_sklearn_digits(side=4)


# --- query streams and PRADA ------------------------------------------------------------------


def test_synthetic_queries_step_from_earlier_queries():
    seeds = POOL[:3]
    X = xi.synthetic_queries(seeds, 20, step=0.1, seed=2)
    assert X.shape == (20, 1, 28, 28) and np.array_equal(X[:3], seeds)
    assert X.min() >= 0 and X.max() <= 1
    for i in range(3, 20):  # each query is one step (at most) from an earlier one
        assert np.abs(X[:i] - X[i]).reshape(i, -1).max(1).min() <= 0.1 + 1e-6
    assert np.array_equal(X, xi.synthetic_queries(seeds, 20, step=0.1, seed=2))
    with pytest.raises(ValueError, match="step"):
        xi.synthetic_queries(seeds, 20, step=0)
    with pytest.raises(ValueError, match="n must"):
        xi.synthetic_queries(seeds, 0)


def test_disguised_queries_alternate_shifted_seeds_and_public_images():
    seeds, public = POOL[:2], POOL[10:30]
    X = xi.disguised_queries(seeds, public, 10, max_shift=1, seed=0)
    assert X.shape == (10, 1, 28, 28)
    public_rows = {x.tobytes() for x in public}
    assert all(x.tobytes() in public_rows for x in X[1::2])
    shifted = {np.roll(s, (dy, dx), axis=(1, 2)).tobytes() for s in seeds
               for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    assert all(x.tobytes() in shifted for x in X[0::2])
    with pytest.raises(ValueError, match="shape"):
        xi.disguised_queries(seeds, public[:, :, :14, :14], 10)
    with pytest.raises(ValueError, match="needs"):
        xi.disguised_queries(seeds, public[:3], 10)


def test_nearest_same_class_distances_by_hand():
    X = np.array([[0.0], [3.0], [1.0], [10.0], [2.5]])
    d = xi.nearest_same_class_distances(X, [0, 1, 0, 0, 1])
    assert np.isnan(d[:2]).all()
    assert np.allclose(d[2:], [1.0, 9.0, 0.5])
    rng = np.random.default_rng(3)  # against a plain loop on a larger stream
    Z, labels = rng.random((40, 1, 6, 6)), rng.integers(0, 3, 40)
    loop = [min((np.linalg.norm(Z[i] - Z[j]) for j in range(i) if labels[j] == labels[i]),
                default=np.nan) for i in range(40)]
    assert np.allclose(xi.nearest_same_class_distances(Z, labels), loop, equal_nan=True)
    with pytest.raises(ValueError, match="labels"):
        xi.nearest_same_class_distances(X, [0, 1])
    with pytest.raises(ValueError, match="non-empty"):
        xi.nearest_same_class_distances(np.zeros((0, 3)), [])


def test_prada_flags_small_steps_and_not_natural_queries():
    rng = np.random.default_rng(5)
    natural = rng.normal(size=(120, 16))
    steps = np.concatenate([natural[:10], natural[:10] + 0.01 * rng.normal(size=(10, 16))])
    steps = np.concatenate([steps] + [steps[-10:] + 0.01 * k for k in range(1, 11)])
    labels = np.zeros(120, dtype=int)
    benign = xi.prada_scan(natural, labels, threshold=0.85, start=20)
    thief = xi.prada_scan(steps, labels, threshold=0.85, start=20)
    assert benign.first_alarm is None and benign.w.min() > 0.85
    assert thief.first_alarm == 20 and thief.w[-1] < 0.5  # tiny steps: W far below 1
    assert list(benign.queries[:2]) == [20, 30] and len(benign.w) == 11
    with pytest.raises(ValueError, match="threshold"):
        xi.prada_scan(natural, labels, threshold=1.5)
    with pytest.raises(ValueError, match="starts at"):
        xi.prada_scan(natural[:10], labels[:10], start=20)


def test_calibrate_prada_sets_the_threshold_below_every_benign_stream():
    rng = np.random.default_rng(6)
    streams = [(rng.normal(size=(60, 8)), np.zeros(60, dtype=int)) for _ in range(3)]
    cal = xi.calibrate_prada(streams, margin=0.02, start=20)
    assert cal.threshold == pytest.approx(cal.benign_min_w.min() - 0.02)
    assert len(cal.benign_min_w) == 3
    for bad in ([], "streams", [streams[0][0]]):
        with pytest.raises(ArgumentTypeError, match="pair"):
            xi.calibrate_prada(bad)
    with pytest.raises(ValueError, match="margin"):
        xi.calibrate_prada(streams, margin=-0.1)


# --- DAWN -------------------------------------------------------------------------------------


def test_dawn_marks_a_keyed_fraction_with_wrong_but_consistent_labels():
    X = np.random.default_rng(7).random((400, 1, 8, 8), dtype=np.float32)
    dawn = xi.DawnAPI(extraction.PredictionAPI(brightness_proba), key=b"0123456789",
                      fraction=0.1)
    answers = dawn(X)
    wm = dawn.watermark()
    assert dawn.queries == 400 and 20 <= len(wm.labels) <= 60
    assert np.all(wm.labels != wm.true_labels)
    assert np.array_equal(wm.true_labels, brightness_proba(wm.X).argmax(1))
    assert np.allclose(answers.sum(1), 1)
    marked = extraction.answer_labels(answers) != brightness_proba(X).argmax(1)
    assert marked.sum() == len(wm.labels)
    assert np.array_equal(dawn(X[marked]), answers[marked])  # asked twice, answered the same
    other = xi.DawnAPI(extraction.PredictionAPI(brightness_proba), key=b"another key",
                       fraction=0.1)
    other(X)
    assert not np.array_equal(other.watermark().X[:5], wm.X[:5])  # another key, other marks


def test_dawn_rejects_bad_input():
    api = extraction.PredictionAPI(brightness_proba)
    with pytest.raises(ArgumentTypeError, match="key"):
        xi.DawnAPI(api, key="a string key")
    with pytest.raises(ArgumentTypeError, match="key"):
        xi.DawnAPI(api, key=b"short")
    with pytest.raises(ValueError, match="fraction"):
        xi.DawnAPI(api, key=b"0123456789", fraction=0)
    with pytest.raises(ArgumentTypeError, match="PredictionAPI"):
        xi.DawnAPI(brightness_proba, key=b"0123456789")
    with pytest.raises(RuntimeError, match="marked"):
        xi.DawnAPI(api, key=b"0123456789").watermark()


def test_ownership_test_tells_a_model_that_learned_the_marks_from_one_that_did_not():
    wm = xi.Watermark(X=POOL[:20], labels=np.full(20, 3), true_labels=np.full(20, 5))
    stolen = xi.ownership_test(Constant(3), wm)
    innocent = xi.ownership_test(Constant(5), wm)
    assert stolen.verified and stolen.matches == 20 and stolen.p_value < 1e-3
    assert not innocent.verified and innocent.matches == 0 and innocent.p_value == 1.0
    with pytest.raises(ArgumentTypeError, match="Watermark"):
        xi.ownership_test(Constant(3), (POOL[:20], np.full(20, 3)))
    with pytest.raises(ValueError, match="chance"):
        xi.ownership_test(Constant(3), wm, chance=0)


def test_distil_trains_a_fresh_copy_deterministically(unchanged_global_state):
    teacher = Constant(4)
    a = xi.distil(teacher, POOL[:16], epochs=2, width=2, seed=1)
    b = xi.distil(teacher, POOL[:16], epochs=2, width=2, seed=1)
    assert isinstance(a, xi.ThiefCNN) and same_weights(a, b)
    with pytest.raises(ArgumentTypeError, match="torch module"):
        xi.distil(brightness_proba, POOL[:16])


def test_answer_cost_by_hand():
    p = np.array([[0.6, 0.4], [0.3, 0.7]])
    cost = xi.answer_cost(np.array([[1.0, 0.0], [0.7, 0.3]]), p, on="2 answers")
    assert cost.top1_changed.value == 0.5 and cost.top1_changed.on == "2 answers"
    assert cost.mean_tv == pytest.approx((0.4 + 0.4) / 2) and cost.max_tv == pytest.approx(0.4)
    with pytest.raises(ValueError, match="one row per query"):
        xi.answer_cost(p[:1], p)
