"""Exercises of lab 05 (Membership inference).

Each exercise's cases test every rule its statement in the lab states (named in each case's
label); ``hidden_cases`` test the same rules on other inputs, for :func:`exercises.grade`.
"""

from __future__ import annotations

import functools
import math
import weakref

import numpy as np

from .. import privacy
from ..exercises import Case, Exercise, Mistake
from ..validate import ArgumentTypeError

# --- exercise 4: the noise multiplier that meets a privacy budget -------------------------------


def noise_for_budget(eps_of, target_eps: float, lo: float, hi: float, tol: float = 1e-3
                     ) -> float:
    """The smallest noise multiplier in ``[lo, hi]`` whose epsilon is at most ``target_eps``,
    by bisection (to within ``tol``; the returned value always meets the budget).

    ``eps_of(sigma)`` gives the epsilon that DP training spends with noise multiplier
    ``sigma``; it decreases as ``sigma`` grows. When even ``eps_of(hi)`` exceeds
    ``target_eps``, no noise in the bracket meets the budget: returns ``math.inf``. Otherwise,
    while ``hi - lo > tol``, tests the midpoint ``(lo + hi) / 2``, moves ``hi`` down to it when
    it meets the budget (``eps_of(mid) <= target_eps``), else moves ``lo`` up; returns ``hi``.

    Introduced in lab 05 (Membership inference).
    """
    if not callable(eps_of):
        raise TypeError("eps_of must be a function of the noise multiplier")
    if not 0 < lo < hi or tol <= 0 or target_eps <= 0:
        raise ValueError("need 0 < lo < hi, tol > 0 and target_eps > 0")
    if eps_of(hi) > target_eps:
        return math.inf
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi


def _nfb_bisect(eps_of, target_eps, lo, hi, tol, *, meets=None, keep_going=None):
    """The statement's bisection with one rule swapped (for the known mistakes)."""
    meets = meets or (lambda epsilon: epsilon <= target_eps)
    keep_going = keep_going or (lambda lo, hi: hi - lo > tol)
    if not meets(eps_of(hi)):
        return math.inf
    while keep_going(lo, hi):
        mid = (lo + hi) / 2
        if meets(eps_of(mid)):
            hi = mid
        else:
            lo = mid
    return hi


def _nfb_return_lo(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return lo


def _nfb_wrong_direction(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            lo = mid
        else:
            hi = mid
    return hi


def _nfb_fixed_tol(eps_of, target_eps, lo, hi, tol=1e-3):
    return _nfb_bisect(eps_of, target_eps, lo, hi, 1e-3)


def _nfb_to_convergence(eps_of, target_eps, lo, hi, tol=1e-3):
    return _nfb_bisect(eps_of, target_eps, lo, hi, tol,
                       keep_going=lambda lo, hi: (lo + hi) / 2 not in (lo, hi))


def _nfb_no_bracket_check(eps_of, target_eps, lo, hi, tol=1e-3):
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi


# The privacy costs the cases use: simple decreasing functions whose roots are known, one
# where the budget is met exactly at a midpoint (8 / sigma at sigma = 4), and opacus's RDP
# analysis with the lab's own settings (q = 1/4, 100 steps, delta = 1e-5).


def _inverse(c: float, power: float = 1.0):
    def epsilon_of(sigma):
        return c / sigma ** power

    power_text = "" if power == 1 else f"^{power:g}"
    epsilon_of.__qualname__ = epsilon_of.__name__ = f"epsilon = {c:g} / sigma{power_text}"
    return epsilon_of


def _exponential(c: float):
    def epsilon_of(sigma):
        return c * math.exp(-sigma)

    epsilon_of.__qualname__ = epsilon_of.__name__ = f"epsilon = {c:g} exp(-sigma)"
    return epsilon_of


def _with_floor(floor: float, c: float):
    def epsilon_of(sigma):
        return floor + c / sigma

    epsilon_of.__qualname__ = epsilon_of.__name__ = f"epsilon = {floor:g} + {c:g} / sigma"
    return epsilon_of


def _rdp(sample_rate: float, steps: int, delta: float = 1e-5):
    return functools.partial(privacy.epsilon_for, sample_rate=sample_rate, steps=steps,
                             delta=delta)


def _nfb_cases() -> list[Case]:
    return [
        Case((_inverse(4.0), 2.0, 0.5, 10.0, 1e-4), label="epsilon = 4 / sigma, budget 2"),
        Case((_inverse(8.0), 2.0, 1.0, 9.0, 1.0),
             label="budget met exactly at a midpoint (8 / sigma = 2 at sigma = 4), tol 1"),
        Case((_exponential(10.0), 1.0, 0.5, 8.5, 0.5),
             label="a coarse tol (0.5): the search stops early"),
        Case((_inverse(4.1), 2.0, 1.0, 5.0, 0.25),
             label="hi - lo reaches tol exactly (then the search stops)"),
        Case((_inverse(8.0), 2.0, 1.0, 4.0, 0.25),
             label="hi meets the budget exactly (epsilon(hi) = budget)"),
        Case((_exponential(10.0), 1.0, 0.1, 8.0), label="tol left at its default, 1e-3"),
        Case((_rdp(0.25, 100), 3.0, 0.3, 30.0, 1e-2),
             label="opacus's RDP analysis, the lab's settings, budget 3"),
        Case((_inverse(4.0), 0.1, 0.5, 10.0, 1e-3),
             label="a budget no noise in [lo, hi] meets (epsilon(hi) = 0.4 > 0.1)"),
    ]


def _nfb_hidden_cases() -> list[Case]:
    return [
        Case((_inverse(5.0, 2.0), 0.8, 0.5, 12.0, 1e-5), label="epsilon = 5 / sigma^2"),
        Case((_inverse(12.0), 3.0, 2.0, 10.0, 2.0),
             label="budget met exactly at a midpoint (12 / sigma = 3 at sigma = 4), tol 2"),
        Case((_exponential(20.0), 2.0, 0.25, 16.25, 1.0), label="a coarse tol (1)"),
        Case((_inverse(4.1), 1.0, 2.0, 10.0, 0.5), label="hi - lo reaches tol exactly"),
        Case((_inverse(12.0), 3.0, 1.0, 4.0, 0.1), label="hi meets the budget exactly"),
        Case((_inverse(7.0), 2.0, 0.5, 9.0), label="tol left at its default"),
        Case((_rdp(0.02, 1000), 8.0, 0.3, 20.0, 1e-2),
             label="opacus's RDP analysis, q = 0.02, 1000 steps, budget 8"),
        Case((_with_floor(1.0, 3.0), 0.5, 0.5, 50.0, 1e-3),
             label="a budget below the cost's floor: never met"),
    ]


def _real_number(got) -> bool:
    """A plain number: a Python or NumPy int or float (not a bool, an array or a tensor)."""
    if isinstance(got, bool | np.bool_):
        return False
    return isinstance(got, int | float | np.integer | np.floating)


def _nfb_validate(got, case: Case) -> str | None:
    if not _real_number(got):
        return f"return one number (the noise multiplier), got {type(got).__name__}"
    eps_of, target, lo, hi = case.args[:4]
    sigma = float(got)
    if math.isnan(sigma):
        return "it returned nan: return the noise multiplier"
    if eps_of(hi) > target and sigma != math.inf:
        return (f"even hi = {hi:g} spends epsilon {eps_of(hi):.4g}, more than the budget "
                f"{target:g}, so no noise in the bracket meets it: return math.inf, as the "
                f"statement says (got {sigma:.6g})")
    if sigma == math.inf:
        return None
    if not lo <= sigma <= hi:
        return f"noise {sigma:.6g} lies outside the bracket [{lo:g}, {hi:g}]"
    spent = eps_of(sigma)
    if spent > target:
        return (f"noise {sigma:.6g} spends epsilon {spent:.6g}, more than the budget "
                f"{target:g}")
    return None


def _nfb_compare(got, expected) -> bool:
    g, e = float(got), float(expected)
    if math.isinf(g) or math.isinf(e):
        return g == e
    # the bisection is exact arithmetic on the midpoints: only rounding may differ
    return abs(g - e) <= 1e-9 * max(1.0, abs(e))


_TOL_HINT = ("stop when hi - lo <= tol, the caller's tol: a finer search spends more calls of "
             "the accountant, a coarser one more noise than needed, and either gives another "
             "answer than the one asked for")

NOISE_FOR_BUDGET = Exercise(
    name="noise_for_budget",
    reference=noise_for_budget,
    cases=_nfb_cases,
    hidden_cases=_nfb_hidden_cases,
    compare=_nfb_compare,
    validate=_nfb_validate,
    conceal=[privacy.noise_for_epsilon],
    mistakes=[
        Mistake("the lower end of the bracket returned", _nfb_return_lo,
                "lo is the side that does NOT meet the budget: return hi, the smallest noise "
                "known to meet it"),
        Mistake("the largest noise returned (a bisection that moves the wrong way, or none)",
                _nfb_wrong_direction,
                "more noise means LESS epsilon, and needless noise costs accuracy: when the "
                "midpoint meets the budget, the answer is at or below it, so move hi down"),
        Mistake("the tol argument ignored (a fixed tolerance of 1e-3)", _nfb_fixed_tol,
                _TOL_HINT),
        Mistake("the tol argument ignored (a bisection run to convergence)",
                _nfb_to_convergence, _TOL_HINT),
        Mistake("no check that hi meets the budget", _nfb_no_bracket_check,
                "when even eps_of(hi) > target_eps no noise in [lo, hi] meets the budget, and "
                "the bisection would return hi anyway: check it first and return math.inf"),
    ],
    hint="if eps_of(hi) > target_eps: return math.inf; while hi - lo > tol: mid = (lo + hi) "
         "/ 2; if eps_of(mid) <= target_eps: hi = mid, else lo = mid; return hi",
)


# --- exercise 1: the loss-threshold attack --------------------------------------------------------


def loss_threshold_attack(proba, labels, threshold):
    """Reference: :func:`mlsec_helpers.privacy.loss_threshold_attack`, as the pair
    ``(scores, is_member)`` the exercise asks for.

    Introduced in lab 05 (Membership inference).
    """
    result = privacy.loss_threshold_attack(proba, labels, threshold)
    return result.scores, result.is_member


def _lta_flipped(proba, labels, threshold):
    loss = -np.log(np.maximum(proba[np.arange(len(labels)), labels], 1e-12))
    return loss, loss > threshold


def _lta_max_proba(proba, labels, threshold):
    loss = -np.log(np.maximum(proba.max(1), 1e-12))
    return -loss, loss <= threshold


def _lta_no_floor(proba, labels, threshold):
    with np.errstate(divide="ignore"):
        loss = -np.log(proba[np.arange(len(labels)), labels])
    return -loss, loss <= threshold


def _lta_strict(proba, labels, threshold):
    loss = -np.log(np.maximum(proba[np.arange(len(labels)), labels], 1e-12))
    return -loss, loss < threshold


def _lta_shifted(proba, labels, threshold):
    loss = -np.log(proba[np.arange(len(labels)), labels] + 1e-12)
    return -loss, loss <= threshold


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def _lta_cases() -> list[Case]:
    gen = np.random.default_rng(5)
    p = _softmax_rows(gen.normal(0, 2, size=(30, 4)))
    y = gen.integers(0, 4, 30)
    # losses ln 2, 2.30, 27.63 (p_y = 0, floored), 0.22, 0 against a threshold of exactly ln 2
    q = np.array([[0.5, 0.5], [0.9, 0.1], [0.0, 1.0], [0.2, 0.8], [1.0, 0.0]])
    yq = np.array([0, 1, 0, 1, 0])
    # p_y around the floor: 0, 1e-14 and 1e-13 floor to 1e-12 (loss 27.63 <= 28: members);
    # 1e-11 does not (loss 25.3); unfloored, 1e-14 would give 32.2 (not a member)
    tiny = np.array([[0.0, 1.0, 0.0], [1e-14, 0.5, 0.5 - 1e-14], [0.3, 1e-13, 0.7 - 1e-13],
                     [0.2, 0.8 - 1e-11, 1e-11], [0.25, 0.25, 0.5]])
    y_tiny = np.array([0, 0, 1, 2, 2])
    sure = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.25, 0.25], [0.0, 1.0, 0.0]])
    return [
        Case((p, y, 1.0), label="30 examples, 4 classes"),
        Case((q, yq, float(-np.log(0.5))),
             label="a loss exactly at the threshold (p_y = 0.5, threshold ln 2), and p_y = 0"),
        Case((p, (y + 1) % 4, 2.5), label="mostly wrong predictions"),
        Case((tiny, y_tiny, 28.0), label="probabilities below, at and above the 1e-12 floor"),
        Case((sure, np.array([0, 2, 1, 0]), 0.0),
             label="threshold 0: only a certain prediction (p_y = 1, loss 0) is a member"),
    ]


def _lta_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(55)
    p = _softmax_rows(gen.normal(0, 3, size=(40, 3)))
    y = gen.integers(0, 3, 40)
    ties = np.array([[0.25, 0.75], [0.75, 0.25], [0.125, 0.875], [0.5, 0.5], [0.0, 1.0]])
    floor = np.array([[1e-15, 1.0 - 1e-15], [1e-12, 1.0 - 1e-12], [2e-13, 1.0 - 2e-13],
                      [1e-9, 1.0 - 1e-9], [0.0, 1.0], [1.0, 0.0]])
    return [
        Case((p, y, 0.5), label="40 examples, 3 classes"),
        Case((ties, np.array([0, 1, 0, 1, 1]), float(-np.log(0.25))),
             label="losses exactly at the threshold ln 4"),
        Case((p, (y + 2) % 3, 3.0), label="mostly wrong predictions"),
        Case((floor, np.zeros(6, dtype=np.int64), float(-np.log(1e-12))),
             label="the floored loss equals the threshold -ln 1e-12"),
        Case((floor, np.zeros(6, dtype=np.int64), 27.0), label="the floor, threshold 27"),
        Case((ties, np.array([1, 0, 1, 0, 1]), 0.0), label="threshold 0"),
    ]


def _lta_validate(got, case: Case) -> str | None:
    if not isinstance(got, tuple | list) or len(got) != 2:
        return f"return a pair (scores, is_member), got {type(got).__name__}"
    n = len(case.args[1])
    for name, part in zip(("scores", "is_member"), got, strict=True):
        if not isinstance(part, np.ndarray):
            return (f"{name} must be a NumPy array (the lab indexes it with NumPy masks and "
                    f"averages it), got {type(part).__name__}")
        if part.shape != (n,):
            return f"{name} must have shape ({n},), one entry per record, got {part.shape}"
    scores, is_member = got
    if scores.dtype.kind != "f":
        return f"scores must be floats (-loss), got dtype {scores.dtype}"
    if not np.isfinite(scores).all():
        return ("scores hold inf or nan: floor p[i, y_i] at 1e-12 so that a confidently wrong "
                "prediction gives a large, finite loss")
    if is_member.dtype != bool:
        return f"is_member must be booleans (True = member), got dtype {is_member.dtype}"
    return None


LOSS_THRESHOLD_ATTACK = Exercise(
    name="loss_threshold_attack",
    reference=loss_threshold_attack,
    cases=_lta_cases,
    hidden_cases=_lta_hidden_cases,
    validate=_lta_validate,
    conceal=[privacy.loss_threshold_attack, privacy.cross_entropy_losses],
    mistakes=[
        Mistake("the sign flipped (high loss called a member)", _lta_flipped,
                "members are the records the model fits best: LOW loss means member, so the "
                "score is -loss and a member has loss <= threshold"),
        Mistake("the top probability used instead of the true label's", _lta_max_proba,
                "the loss is -log p[true label], not -log of the largest probability"),
        Mistake("no floor on the probability (log of 0)", _lta_no_floor,
                "floor p_y at 1e-12 before the log so a confidently wrong prediction gives a "
                "large, finite loss"),
        Mistake("a strict comparison (loss < threshold)", _lta_strict,
                "a record whose loss equals the threshold counts as a member: use <="),
        Mistake("1e-12 added to the probability instead of a floor", _lta_shifted,
                "floor p_y with np.maximum(p_y, 1e-12): adding 1e-12 changes every loss and "
                "gives a tiny probability the wrong loss"),
    ],
    hint="loss = -log(max(p[i, y_i], 1e-12)); scores = -loss; is_member = loss <= threshold",
)


# --- exercise 2: TPR at a fixed FPR -------------------------------------------------------------


def tpr_at_fpr(y_true, scores, fpr):
    """Reference: :func:`mlsec_helpers.privacy.tpr_at_fpr`.

    Introduced in lab 05 (Membership inference).
    """
    return privacy.tpr_at_fpr(y_true, scores, fpr)


def _taf_interpolated(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y_true, scores)
    return float(np.interp(fpr, f, t))


def _taf_strict(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y_true, scores, drop_intermediate=False)
    return float(t[f < fpr].max()) if (f < fpr).any() else 0.0


def _taf_all_quantile(y_true, scores, fpr):
    y, s = np.asarray(y_true).astype(bool), np.asarray(scores, float)
    return float((s[y] > np.quantile(s, 1 - fpr)).mean())


def _taf_ascending(y_true, scores, fpr):
    return privacy.tpr_at_fpr(y_true, -np.asarray(scores, float), fpr)


def _taf_nearest(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y_true, scores)
    return float(t[np.argmin(np.abs(f - fpr))])


def _taf_thinned(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y_true, scores)
    return float(t[f <= fpr].max())


def _taf_cases() -> list[Case]:
    gen = np.random.default_rng(7)
    y = np.r_[np.ones(100), np.zeros(100)].astype(int)
    s = gen.normal(0.8 * y, 1.0)
    y2 = np.r_[np.ones(50), np.zeros(150)].astype(int)
    s2 = np.round(gen.normal(0.6 * y2, 1.0), 1)  # ties
    # 10 non-members: one false positive allowed at 10%. The non-member at 0.5 shares its
    # score with a member: taking that threshold makes 2 false positives, so TPR stays 3/6.
    cut_y = np.array([1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0], dtype=bool)
    cut_s = np.array([.9, .8, .7, .6, .5, .5, .4, .3, .3, .2, .2, .1, .1, .05, .05, 0.])
    # three thresholds in a row each add one member and one non-member (tied pairs): a
    # thinned ROC curve (drop_intermediate=True) skips the middle one, FPR exactly 2/20
    pair_y = np.r_[1, 0, 1, 0, 1, 0, 1, np.zeros(16), np.ones(3)].astype(int)
    pair_s = np.r_[1.0, .9, .9, .8, .8, .7, .7, np.linspace(.6, .1, 16), [.05, .02, .01]]
    # 20 non-members, target FPR 9%: the ROC points lie at FPR 5% and 10%; the nearest one
    # (10%) is above the target, so only the 5% point counts
    near_y = np.r_[1, 1, 0, 1, 1, 1, 0, 1, np.zeros(18), np.ones(4)].astype(int)
    near_s = np.r_[np.linspace(1.0, 0.3, 8), np.linspace(0.25, 0.08, 18), [.06, .04, .02, 0]]
    return [
        Case((y, s, 0.01), label="100 non-members, 1% FPR: one false positive allowed"),
        Case((y, s, 0.1), label="10% FPR"),
        Case((y2, s2, 0.05), label="tied scores"),
        Case((cut_y, cut_s, 0.1), label="a member and a non-member tied at the cut"),
        Case((pair_y, pair_s, 0.1), label="tied pairs in a row (collinear ROC points)"),
        Case((near_y, near_s, 0.09), label="the nearest ROC point lies above the target FPR"),
        Case((y, s, 0.0), label="FPR 0: no false positive at all"),
        Case((y.astype(bool), s + 5 * y, 0.01), label="a perfect attack, boolean labels"),
        Case((near_y, near_s, 1.0),
             label="FPR 1: every record may be called a member (the lowest is a member)"),
    ]


def _taf_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(77)
    y = np.r_[np.ones(80), np.zeros(200)].astype(bool)
    s = gen.normal(1.0 * y, 1.0)
    y2 = np.r_[np.zeros(100), np.ones(60)].astype(int)
    s2 = np.round(gen.normal(0.5 * y2, 1.0), 1)
    cut_y = np.array([1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    cut_s = np.r_[[.95, .9, .85, .8, .75, .75, .75, .7], np.linspace(.6, .1, 14)]
    pair_y = np.r_[np.zeros(3), 1, 0, 1, 0, 1, 0, 1, 0, np.zeros(10), np.ones(2)].astype(bool)
    pair_s = np.r_[[1.0, .99, .98], [.9, .9, .8, .8, .7, .7, .6, .6], np.linspace(.5, .1, 10),
                   [.05, .01]]
    near_y = np.r_[1, 0, 1, 1, 0, 1, 0, np.zeros(22), np.ones(3)].astype(int)
    near_s = np.r_[np.linspace(1.0, 0.4, 7), np.linspace(0.35, 0.05, 22), [.03, .02, .01]]
    return [
        Case((y, s, 0.005), label="200 non-members, 0.5% FPR: one false positive allowed"),
        Case((y, s, 0.05), label="5% FPR"),
        Case((y2, s2, 0.03), label="tied scores"),
        Case((cut_y, cut_s, 2 / 17), label="members and non-members tied at the cut"),
        Case((pair_y, pair_s, 5 / 19), label="tied pairs in a row"),
        Case((near_y, near_s, 0.11), label="the nearest ROC point lies above the target FPR"),
        Case((y, s, 0.0), label="FPR 0"),
        Case((y2, s2 + 10 * y2, 0.001), label="a perfect attack"),
        Case((pair_y, pair_s, 1.0), label="FPR 1"),
    ]


def _taf_validate(got, case: Case) -> str | None:
    if not _real_number(got):
        return (f"return one number, a float (the lab puts it in a table and compares it), got "
                f"{type(got).__name__}")
    value = float(got)
    if not 0.0 <= value <= 1.0:
        return f"a true-positive rate lies in [0, 1], got {value:.6g}"
    return None


TPR_AT_FPR = Exercise(
    name="tpr_at_fpr",
    reference=tpr_at_fpr,
    cases=_taf_cases,
    hidden_cases=_taf_hidden_cases,
    validate=_taf_validate,
    conceal=[privacy.tpr_at_fpr, privacy.membership_metrics],
    mistakes=[
        Mistake("interpolation between ROC points", _taf_interpolated,
                "report a TPR that a real threshold reaches: the best TPR among thresholds "
                "whose FPR is at most the target, no interpolation"),
        Mistake("a strict FPR bound (FPR < target)", _taf_strict,
                "a threshold whose FPR equals the target is allowed (at 1% FPR with 100 "
                "non-members, one false positive): keep FPR <= fpr"),
        Mistake("the threshold taken from a quantile of ALL scores", _taf_all_quantile,
                "the false-positive rate counts non-members only: sweep thresholds and measure "
                "FPR among non-members and TPR among members"),
        Mistake("low scores taken as members", _taf_ascending,
                "a higher score means 'more likely a member': call members those ABOVE the "
                "threshold"),
        Mistake("the ROC point nearest the target FPR", _taf_nearest,
                "the nearest ROC point may lie ABOVE the target: take the best TPR among the "
                "points whose FPR is at most fpr"),
        Mistake("scikit-learn's thinned ROC curve (drop_intermediate=True)", _taf_thinned,
                "roc_curve drops thresholds whose ROC points are collinear (tied scores make "
                "them), and the best one may be among them: pass drop_intermediate=False"),
    ],
    hint="sklearn.metrics.roc_curve(y_true, scores, drop_intermediate=False) gives every "
         "threshold's FPR and TPR; take the largest TPR whose FPR <= fpr",
)


# --- exercise 3: the offline LiRA score of one example --------------------------------------------


def lira_offline_score(target_loss, shadow_losses, global_std=None):
    """Reference: :func:`mlsec_helpers.privacy.lira_offline_score`.

    Introduced in lab 05 (Membership inference).
    """
    return privacy.lira_offline_score(target_loss, shadow_losses, global_std)


def _phi(loss):
    loss = np.maximum(np.asarray(loss, float), 1e-300)
    return -loss - np.log(-np.expm1(-loss))


def _lira_raw_losses(target_loss, shadow_losses, global_std=None):
    s = np.asarray(shadow_losses, float)
    std = np.std(s) if global_std is None else global_std
    return float((s.mean() - target_loss) / max(std, 1e-12))


def _lira_flipped(target_loss, shadow_losses, global_std=None):
    phi = _phi(shadow_losses)
    std = np.std(phi) if global_std is None else global_std
    return float((phi.mean() - _phi(target_loss)) / max(std, 1e-12))


def _lira_no_std(target_loss, shadow_losses, global_std=None):
    return float(_phi(target_loss) - _phi(shadow_losses).mean())


def _lira_ddof1(target_loss, shadow_losses, global_std=None):
    phi = _phi(shadow_losses)
    std = np.std(phi, ddof=1) if global_std is None else global_std
    return float((_phi(target_loss) - phi.mean()) / max(std, 1e-12))


def _lira_ignores_global(target_loss, shadow_losses, global_std=None):
    phi = _phi(shadow_losses)
    return float((_phi(target_loss) - phi.mean()) / max(np.std(phi), 1e-12))


def _lira_global_below_10(target_loss, shadow_losses, global_std=None):
    phi = _phi(shadow_losses)
    std = global_std if global_std is not None and len(phi) < 10 else np.std(phi)
    return float((_phi(target_loss) - phi.mean()) / max(std, 1e-12))


def _lira_no_std_floor(target_loss, shadow_losses, global_std=None):
    phi = _phi(shadow_losses)
    std = np.std(phi) if global_std is None else global_std
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(_phi(target_loss) - phi.mean()) / np.float64(std))


_LN2 = math.log(2.0)  # a loss whose phi is exactly 0 (p = 1/2): shadows that all agree


def _lira_cases() -> list[Case]:
    gen = np.random.default_rng(11)
    a = gen.gamma(2.0, 0.3, size=16)
    b = gen.gamma(1.0, 0.05, size=8)
    c = gen.gamma(2.0, 0.2, size=64)
    return [
        Case((0.05, a), label="a typical example, 16 shadows"),
        Case((0.2, b), label="an easy example (small shadow losses), 8 shadows"),
        Case((1.5, a), label="a target loss above the shadows'"),
        Case((0.01, b), kwargs={"global_std": 2.0}, label="a global std, 8 shadows"),
        Case((0.05, c[:9]), kwargs={"global_std": 1.5}, label="a global std, 9 shadows"),
        Case((0.05, c[:10]), kwargs={"global_std": 1.5}, label="a global std, 10 shadows"),
        Case((0.05, c[:11]), kwargs={"global_std": 1.5}, label="a global std, 11 shadows"),
        Case((0.05, c), kwargs={"global_std": 1.5}, label="a global std, 64 shadows"),
        Case((1e-20, a), label="a memorised example (target loss 1e-20)"),
        Case((0.1, np.full(6, _LN2)),
             label="shadows that all agree (std 0, floored at 1e-12)"),
    ]


def _lira_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(111)
    a = gen.gamma(1.5, 0.4, size=20)
    b = gen.gamma(1.0, 0.02, size=5)
    c = gen.gamma(2.0, 0.25, size=64)
    return [
        Case((0.08, a), label="a typical example, 20 shadows"),
        Case((0.9, a), label="a target loss above the shadows'"),
        Case((0.003, b), label="an easy example, 5 shadows"),
        Case((np.float64(0.02), c[:9]), kwargs={"global_std": 0.7}, label="global std, 9"),
        Case((np.float64(0.02), c[:10]), kwargs={"global_std": 0.7}, label="global std, 10"),
        Case((0.02, c[:11]), kwargs={"global_std": 0.7}, label="global std, 11"),
        Case((0.02, c), kwargs={"global_std": 0.7}, label="global std, 64 shadows"),
        Case((3e-18, c[:32]), kwargs={"global_std": 2.5},
             label="a memorised example, global std"),
        Case((_LN2, np.full(4, _LN2)), label="std 0, target like the shadows"),
        Case((2.0, np.full(7, _LN2)), label="std 0, target less confident"),
        Case((0.4, c[:2]), label="2 shadows"),
    ]


def _lira_validate(got, case: Case) -> str | None:
    if not _real_number(got):
        return (f"return one number, a float (the lab builds an array of one score per "
                f"record), got {type(got).__name__}")
    if not math.isfinite(float(got)):
        return (f"the score is {float(got)}: floor the standard deviation at 1e-12 (shadows "
                f"that all agree have std 0) and compute phi with expm1, as the statement says")
    return None


LIRA_OFFLINE_SCORE = Exercise(
    name="lira_offline_score",
    reference=lira_offline_score,
    cases=_lira_cases,
    hidden_cases=_lira_hidden_cases,
    validate=_lira_validate,
    conceal=[privacy.lira_offline_score, privacy.lira_offline_scores,
             privacy.loss_to_logit_confidence, privacy.logit_confidence],
    mistakes=[
        Mistake("the Gaussian fitted to raw losses", _lira_raw_losses,
                "turn each loss into a logit-scaled confidence first, "
                "phi = -loss - log(-expm1(-loss)): losses near 0 are far from Gaussian"),
        Mistake("the sign flipped", _lira_flipped,
                "a member is MORE confident than the shadows that never saw it: "
                "z = (phi_target - mean) / std"),
        Mistake("no division by the standard deviation", _lira_no_std,
                "divide by the std of the shadows' phi: an example whose confidence varies "
                "a lot between models needs a bigger gap to count"),
        Mistake("the sample standard deviation (ddof=1)", _lira_ddof1,
                "use the population std, numpy's default np.std(phi)"),
        Mistake("global_std ignored", _lira_ignores_global,
                "when global_std is given, divide by it instead of the shadows' own std"),
        Mistake("global_std used only below 10 shadows", _lira_global_below_10,
                "a given global_std replaces the shadows' own std whatever their number: the "
                "caller has already decided"),
        Mistake("no floor on the standard deviation", _lira_no_std_floor,
                "shadows that all agree have std 0: floor the std at 1e-12, "
                "max(std, 1e-12), so the score stays finite"),
    ],
    hint="phi = -loss - log(-expm1(-loss)) for the target and each shadow; z = (phi_target - "
         "phi_shadows.mean()) / max(global_std or phi_shadows.std(), 1e-12)",
)


# --- the challenge: a "privacy defence" that releases labels only -------------------------------

#: The AUC the student's attack must reach on every case of the challenge.
LABEL_ONLY_TARGET_AUC = 0.55


def _api_labels(model, X):
    """The label-only API: the model's top-1 label for each row of ``X``, nothing else."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != model.n_features_in_:
        raise ValueError(f"the API takes an (n, {model.n_features_in_}) array of records")
    return model.predict(X)


# Which candidates each API was trained on, kept here for the grader (and the lab's own
# measurement) rather than on the API object the student receives.
_MEMBERSHIP: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class LabelOnlyAPI:
    """The challenge's prediction API: ``api(X) -> labels``. It answers with top-1 labels and
    exposes nothing else (no model, no scores, no membership); Python cannot truly hide an
    object's insides, so digging for them is against the rules, not an attack.

    Introduced in lab 05 (Membership inference).
    """

    __slots__ = ("__call", "__weakref__")

    def __init__(self, answer):
        self.__call = answer

    def __call__(self, X):
        return self.__call(X)

    def __repr__(self):
        return "LabelOnlyAPI(labels only)"

    def __copy__(self):  # a handle on a remote service: a copy is the same service
        return self

    def __deepcopy__(self, memo):
        return self


def label_only_api(*, seed: int = 0, n: int = 500):
    """The challenge's target: ``(api, X, y)``.

    A fully grown random forest trained on ``n`` of the ``2 n`` candidate records ``X`` (a
    random half, drawn with ``seed``, that the attacker is not told) with labels ``y`` (30% of
    them noisy), behind a :class:`LabelOnlyAPI` that returns only the top-1 label:
    ``api(X_query) -> labels``. The vendor's claim: "no scores, so no membership leak". The
    truth the check grades against is kept apart: :func:`membership_truth`.

    Introduced in lab 05 (Membership inference).
    """
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(n_samples=2 * n, n_features=8, n_informative=4, flip_y=0.3,
                               class_sep=1.5, random_state=seed)
    is_member = np.zeros(2 * n, dtype=bool)
    is_member[np.random.default_rng(seed).permutation(2 * n)[:n]] = True
    model = RandomForestClassifier(n_estimators=30, random_state=seed, n_jobs=1)
    model.fit(X[is_member], y[is_member])
    api = LabelOnlyAPI(functools.partial(_api_labels, model))
    _MEMBERSHIP[api] = is_member
    return api, X, y


def membership_truth(api) -> np.ndarray:
    """Which candidates ``api`` (from :func:`label_only_api`) was trained on: for grading and
    for measuring an attack's AUC, never an input to the attack.

    Introduced in lab 05 (Membership inference).
    """
    if not isinstance(api, LabelOnlyAPI) or api not in _MEMBERSHIP:
        raise ArgumentTypeError("api must be an API returned by label_only_api()")
    return _MEMBERSHIP[api].copy()


def break_label_only_api(api, X, y) -> np.ndarray:
    """A label-only membership attack: one score per candidate (higher: more likely a member).

    The reference solution: one query per record, score 1 when the API's label is the record's
    true label, 0 otherwise (a model that memorised its training set labels its members
    correctly, noisy labels included; Choquette-Choo et al. 2021 refine it with augmented
    queries).

    Introduced in lab 05 (Membership inference).
    """
    return (np.asarray(api(X)) == np.asarray(y)).astype(float)


def _label_only_cases() -> list[Case]:
    return [Case(label_only_api(seed=s), label=f"a forest behind a label-only API (seed {s})")
            for s in (0, 1)]


def _label_only_hidden_cases() -> list[Case]:
    return [Case(label_only_api(seed=s), label=f"a fresh forest and data (seed {s})")
            for s in (101, 202)]


def _label_only_validate(got, case: Case) -> str | None:
    from sklearn.metrics import roc_auc_score

    if isinstance(got, bool | np.bool_) or not isinstance(got, np.ndarray | list | tuple):
        return f"return one score per candidate (an array), got {type(got).__name__}"
    scores = np.asarray(got)
    truth = membership_truth(case.args[0])
    if scores.shape != truth.shape or scores.dtype.kind not in "biuf":
        return (f"return one number per candidate, an array of shape {truth.shape}, got "
                f"shape {scores.shape} and dtype {scores.dtype}")
    if not np.isfinite(scores.astype(float)).all():
        return "every score must be a finite number"
    auc = roc_auc_score(truth, scores.astype(float))
    if auc < LABEL_ONLY_TARGET_AUC:
        return (f"your attack's AUC is {auc:.3f}, below the target {LABEL_ONLY_TARGET_AUC}: "
                "the API shows labels, and you know each candidate's true label")
    return None


LABEL_ONLY_CHALLENGE = Exercise(
    name="break_label_only_api",
    reference=break_label_only_api,
    cases=_label_only_cases,
    hidden_cases=_label_only_hidden_cases,
    validate=_label_only_validate,
    compare=lambda got, expected: True,  # graded by the AUC the attack reaches (validate)
    hint="a model that memorised its training data labels its members correctly, even the "
         "mislabelled ones: compare the API's label with the true one",
    time_limit=30.0,
)


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (LOSS_THRESHOLD_ATTACK, TPR_AT_FPR, LIRA_OFFLINE_SCORE,
                                   NOISE_FOR_BUDGET, LABEL_ONLY_CHALLENGE)

__all__ = [
    "EXERCISES",
    "LABEL_ONLY_CHALLENGE",
    "LABEL_ONLY_TARGET_AUC",
    "LIRA_OFFLINE_SCORE",
    "LOSS_THRESHOLD_ATTACK",
    "LabelOnlyAPI",
    "NOISE_FOR_BUDGET",
    "TPR_AT_FPR",
    "break_label_only_api",
    "label_only_api",
    "lira_offline_score",
    "loss_threshold_attack",
    "membership_truth",
    "noise_for_budget",
    "tpr_at_fpr",
]
