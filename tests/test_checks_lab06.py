"""Lab 06's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite: for each exercise, plausible wrong answers that are NOT among its known
mistakes (the check and the grading must reject every one), and correct answers written
differently from the reference (both must accept every one). Then the challenge's service.
"""

import copy
import math
import re

import numpy as np
import pytest
from mutants import assert_enough_mutants, mutant_tests

from mlsec_helpers import inversion
from mlsec_helpers.checks import lab06
from mlsec_helpers.exercises import run_check

# --- exercise: exposure -------------------------------------------------------------------------


def ex_rank_only(s, c):  # the rank, not bits
    c = np.asarray(c, dtype=float)
    return float(1 + np.sum(c < s))


def ex_log2_rank(s, c):  # forgets log2(n)
    c = np.asarray(c, dtype=float)
    return -math.log2(1 + int(np.sum(c < s)))


def ex_mean_rank(s, c):  # ties split (average rank), not in the secret's favour
    c = np.asarray(c, dtype=float)
    rank = 1 + np.sum(c < s) + (np.sum(c == s) - 1) / 2
    return math.log2(len(c)) - math.log2(rank)


def ex_sorted_index(s, c):  # position in a sort: ties broken by order, not in its favour
    c = np.asarray(c, dtype=float)
    order = np.argsort(c, kind="stable")
    pos = [i for i in range(len(c)) if c[order[i]] == s][-1]
    return math.log2(len(c)) - math.log2(pos + 1)


def ex_no_check(s, c):  # no error for bad input
    c = np.asarray(c, dtype=float)
    if c.size == 0:
        return 0.0
    return float(np.log2(max(c.size, 1)) - np.log2(1 + np.sum(c < s)))


def ex_type_error(s, c):  # the wrong exception for bad input
    c = np.asarray(c, dtype=float)
    if c.size == 0 or not np.isfinite(c).all() or not math.isfinite(s):
        raise TypeError("bad scores")
    return math.log2(c.size) - math.log2(1 + int(np.sum(c < s)))


def ex_rank_among_unique(s, c):  # duplicates removed from the space
    c = np.unique(np.asarray(c, dtype=float))
    if c.size == 0 or not np.isfinite(c).all() or not math.isfinite(s):
        raise ValueError("bad scores")
    return math.log2(c.size) - math.log2(1 + int(np.sum(c < s)))


def ex_probabilities(s, c):  # exp(-score) as probabilities, then -log2 of the secret's share
    c = np.asarray(c, dtype=float)
    if c.size == 0 or not np.isfinite(c).all() or not math.isfinite(s):
        raise ValueError("bad scores")
    p = np.exp(-(c - c.min()))
    return float(math.log2(c.size) + math.log2(math.exp(-(s - c.min())) / p.sum()))


def ex_right_sorted(s, c):
    c = np.sort(np.asarray(c, dtype=float))
    if c.size == 0 or not (np.isfinite(c).all() and math.isfinite(float(s))):
        raise ValueError("scores must be finite and non-empty")
    rank = int(np.searchsorted(c, s, side="left")) + 1
    return math.log2(c.size) - math.log2(rank)


def ex_right_loop(s, c):
    c = [float(v) for v in c]
    if not c or any(math.isnan(v) or math.isinf(v) for v in [*c, float(s)]):
        raise ValueError("bad input")
    rank = 1
    for v in c:
        if v < s:
            rank += 1
    return math.log(len(c) / rank, 2)


def ex_right_numpy(s, c):
    c = np.asarray(c, dtype=float)
    if c.size == 0 or not np.all(np.isfinite(np.append(c, s))):
        raise ValueError("bad input")
    return float(np.log2(c.size / (1 + np.count_nonzero(c < s))))


def ex_right_fraction(s, c):
    c = np.asarray(c, dtype=float)
    if len(c) == 0 or np.isnan(c).any() or np.isinf(c).any() or not np.isfinite(s):
        raise ValueError("bad input")
    return -math.log2((1 + (c < s).sum()) / len(c))


EX_WRONG = [ex_rank_only, ex_log2_rank, ex_mean_rank, ex_sorted_index, ex_no_check,
            ex_type_error, ex_rank_among_unique, ex_probabilities]
EX_RIGHT = [ex_right_sorted, ex_right_loop, ex_right_numpy, ex_right_fraction]

# --- exercise: scrub -----------------------------------------------------------------------------

_E = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_C = r"(?<!\d)\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}(?!\d)"
_P = r"(?<![\d.,£])\d{4,6}(?!\d|[.,]\d)"


def _typed(text):
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    return text


def sc_lower_tags(text):  # tags in lower case
    text = re.sub(_E, "[email]", _typed(text))
    return re.sub(_P, "[pin]", re.sub(_C, "[card]", text))


def sc_stars(text):  # stars instead of tags
    text = re.sub(_E, "***", _typed(text))
    return re.sub(_P, "***", re.sub(_C, "***", text))


def sc_first_only(text):  # only the first match of each rule
    text = re.sub(_E, "[EMAIL]", _typed(text), count=1)
    return re.sub(_P, "[PIN]", re.sub(_C, "[CARD]", text, count=1), count=1)


def sc_up_to_eight(text):  # codes of 4 to 8 digits
    text = re.sub(_C, "[CARD]", re.sub(_E, "[EMAIL]", _typed(text)))
    return re.sub(r"(?<![\d.,£])\d{4,8}(?!\d|[.,]\d)", "[PIN]", text)


def sc_value_error(text):  # the wrong exception for a non-string
    if not isinstance(text, str):
        raise ValueError("not a string")
    return re.sub(_P, "[PIN]", re.sub(_C, "[CARD]", re.sub(_E, "[EMAIL]", text)))


def sc_stringify(text):  # scrubs str(text) instead of refusing it
    text = str(text)
    return re.sub(_P, "[PIN]", re.sub(_C, "[CARD]", re.sub(_E, "[EMAIL]", text)))


def sc_no_lookbehind(text):  # digits after '.' or ',' scrubbed too
    text = re.sub(_C, "[CARD]", re.sub(_E, "[EMAIL]", _typed(text)))
    return re.sub(r"(?<!\d)\d{4,6}(?!\d|[.,]\d)", "[PIN]", text)


def sc_whole_email_user(text):  # only the part before the @ replaced
    text = re.sub(r"[A-Za-z0-9._%+-]+(?=@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)", "[EMAIL]",
                  _typed(text))
    return re.sub(_P, "[PIN]", re.sub(_C, "[CARD]", text))


def sc_strip(text):  # trims the text as well
    return re.sub(_P, "[PIN]", re.sub(_C, "[CARD]", re.sub(_E, "[EMAIL]", _typed(text)))) \
        .strip(" .")


def sc_right_compiled(text):
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    for pattern, tag in ((re.compile(_E), "[EMAIL]"), (re.compile(_C), "[CARD]"),
                         (re.compile(_P), "[PIN]")):
        text = pattern.sub(tag, text)
    return text


def sc_right_explicit_cards(text):  # the three card formats spelled out
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    text = re.sub(_E, "[EMAIL]", text)
    for sep in (" ", "-", ""):
        g = r"\d{4}"
        text = re.sub(rf"(?<!\d){g}{sep}{g}{sep}{g}{sep}{g}(?!\d)", "[CARD]", text)
    return re.sub(_P, "[PIN]", text)


def sc_right_function_pin(text):  # the PIN rule as a function of the match
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    text = re.sub(_C, "[CARD]", re.sub(_E, "[EMAIL]", text))

    def pin(m):
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end():m.end() + 2]
        if before and before in "0123456789.,£":
            return m.group(0)
        if after[:1].isdigit() or (after[:1] in (".", ",") and after[1:2].isdigit()):
            return m.group(0)
        return "[PIN]"

    return re.sub(r"(?<!\d)\d{4,6}(?!\d)", pin, text)


def sc_right_split_email(text):  # the email's domain parts written another way
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    text = re.sub(r"[\w.%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", "[EMAIL]", text, flags=re.ASCII)
    return re.sub(_P, "[PIN]", re.sub(_C, "[CARD]", text))


SC_WRONG = [sc_lower_tags, sc_stars, sc_first_only, sc_up_to_eight, sc_value_error,
            sc_stringify, sc_no_lookbehind, sc_whole_email_user, sc_strip]
SC_RIGHT = [sc_right_compiled, sc_right_explicit_cards, sc_right_function_pin,
            sc_right_split_email]

# --- exercise: rank gain in the watched lists ---------------------------------------------------


def _rg_checked(before, after, n_films):
    before, after = np.asarray(before), np.asarray(after)
    if before.ndim != 2 or before.shape != after.shape:
        raise ValueError("shapes")
    if (before.size and (min(before.min(), after.min()) < 0
                         or max(before.max(), after.max()) >= n_films)):
        raise ValueError("films")
    return before, after


def rg_counts(before, after, n_films):  # presence counts: ignores positions
    before, after = _rg_checked(before, after, n_films)
    return (np.bincount(after.ravel(), minlength=n_films)
            - np.bincount(before.ravel(), minlength=n_films)).astype(float)


def rg_after_only(before, after, n_films):  # the after lists' weights, no subtraction
    before, after = _rg_checked(before, after, n_films)
    k = after.shape[1]
    gain = np.zeros(n_films)
    np.add.at(gain, after.ravel(), np.tile((k - np.arange(k)) / k, len(after)))
    return gain


def rg_positions(before, after, n_films):  # raw positions gained, not weights
    before, after = _rg_checked(before, after, n_films)
    k = after.shape[1]
    gain = np.zeros(n_films)
    np.add.at(gain, after.ravel(), np.tile(k - np.arange(k), len(after)))
    np.add.at(gain, before.ravel(), -np.tile(k - np.arange(k), len(before)))
    return gain


def rg_max(before, after, n_films):  # the largest rise in one list, not the sum
    before, after = _rg_checked(before, after, n_films)
    k = after.shape[1]
    w = (k - np.arange(k)) / k
    per_list = np.zeros((len(after), n_films))
    for i in range(len(after)):
        np.add.at(per_list[i], after[i], w)
        np.add.at(per_list[i], before[i], -w)
    return per_list.max(axis=0)


def rg_no_check(before, after, n_films):  # no error for bad input
    before, after = np.asarray(before), np.asarray(after)
    k = min(before.shape[-1], after.shape[-1])
    w = (k - np.arange(k)) / k
    gain = np.zeros(n_films)
    np.add.at(gain, np.clip(after[:, :k], 0, n_films - 1).ravel(), np.tile(w, len(after)))
    np.add.at(gain, np.clip(before[:, :k], 0, n_films - 1).ravel(), -np.tile(w, len(before)))
    return gain


def rg_ints(before, after, n_films):  # rounded to whole numbers
    return np.round(lab06.rank_gain(before, after, n_films)).astype(int)


def rg_first_list(before, after, n_films):  # only the first watched list
    before, after = _rg_checked(before, after, n_films)
    return lab06.rank_gain(before[:1], after[:1], n_films)


def rg_k_plus_one(before, after, n_films):  # divides by k + 1
    return lab06.rank_gain(before, after, n_films) * \
        np.asarray(before).shape[1] / (np.asarray(before).shape[1] + 1)


def rg_right_loop(before, after, n_films):
    before, after = _rg_checked(before, after, n_films)
    k = before.shape[1]
    gain = [0.0] * n_films
    for lists, sign in ((after, 1), (before, -1)):
        for row in lists:
            for pos, film in enumerate(row):
                gain[film] += sign * (k - pos) / k
    return np.array(gain)


def rg_right_bincount(before, after, n_films):
    before, after = _rg_checked(before, after, n_films)
    k = before.shape[1]
    w = np.tile((k - np.arange(k)) / k, len(before))
    return (np.bincount(after.ravel(), w, n_films) - np.bincount(before.ravel(), w, n_films))


def rg_right_dense(before, after, n_films):
    before, after = _rg_checked(before, after, n_films)
    k = before.shape[1]
    onehot = np.eye(n_films)
    w = (k - np.arange(k)) / k
    return ((onehot[after] - onehot[before]) * w[None, :, None]).sum(axis=(0, 1))


def rg_right_per_list(before, after, n_films):  # list by list, weights by position lookup
    before, after = _rg_checked(before, after, n_films)
    k = before.shape[1]
    gain = np.zeros(n_films, dtype=np.float64)
    for b, a in zip(before, after, strict=True):
        weight_b = {film: (k - pos) / k for pos, film in enumerate(b)}
        weight_a = {film: (k - pos) / k for pos, film in enumerate(a)}
        for film in set(weight_a) | set(weight_b):
            gain[film] += weight_a.get(film, 0.0) - weight_b.get(film, 0.0)
    return gain


RG_WRONG = [rg_counts, rg_after_only, rg_positions, rg_max, rg_no_check, rg_ints,
            rg_first_list, rg_k_plus_one]
RG_RIGHT = [rg_right_loop, rg_right_bincount, rg_right_dense, rg_right_per_list]

# --- exercise: Fredrikson's attribute inference -------------------------------------------------


def _lik(p, y):
    p = np.asarray(p, dtype=float)
    return p[np.arange(len(y)), :, np.asarray(y)]


def fi_class_zero(p, y, prior):  # always the probability of class 0
    return np.argmax(np.asarray(p, dtype=float)[:, :, 0] * np.asarray(prior), axis=1)


def fi_argmin(p, y, prior):  # the least likely value
    return np.argmin(_lik(p, y) * np.asarray(prior), axis=1)


def fi_divided(p, y, prior):  # divided by the prior
    return np.argmax(_lik(p, y) / np.asarray(prior), axis=1)


def fi_values(p, y, prior):  # the value's weighted score, not its index
    return (_lik(p, y) * np.asarray(prior)).max(axis=1)


def fi_first_record(p, y, prior):  # the first record's answer for everyone
    idx = np.argmax(_lik(p, y) * np.asarray(prior), axis=1)
    return np.full(len(y), idx[0])


def fi_no_check(p, y, prior):  # no error for bad input
    p = np.asarray(p, dtype=float)
    y = np.clip(np.asarray(y), 0, p.shape[2] - 1)
    prior = np.resize(np.asarray(prior, dtype=float), p.shape[1])
    return np.argmax(p[np.arange(len(y)), :, y] * prior, axis=1)


def fi_sum_over_classes(p, y, prior):  # sums the classes (always 1): prior only
    return np.argmax(np.asarray(p, dtype=float).sum(axis=2) * np.asarray(prior), axis=1)


def fi_transposed(p, y, prior):  # indexes (n, classes, values)
    p = np.asarray(p, dtype=float).transpose(0, 2, 1)
    return np.argmax(p[np.arange(len(y)), np.asarray(y)] * np.asarray(prior)[: p.shape[2]],
                     axis=1)


def _fi_checked(p, y, prior):
    p, y, prior = np.asarray(p, float), np.asarray(y), np.asarray(prior, float)
    if prior.shape != (p.shape[1],) or (len(y) and (y.min() < 0 or y.max() >= p.shape[2])):
        raise ValueError("bad input")
    return p, y, prior


def fi_right_loop(p, y, prior):
    p, y, prior = _fi_checked(p, y, prior)
    out = []
    for i in range(len(y)):
        best, best_v = -1.0, 0
        for v in range(p.shape[1]):
            score = prior[v] * p[i, v, y[i]]
            if score > best:
                best, best_v = score, v
        out.append(best_v)
    return np.array(out, dtype=np.int64)


def fi_right_take(p, y, prior):
    p, y, prior = _fi_checked(p, y, prior)
    lik = np.take_along_axis(p, y[:, None, None].repeat(p.shape[1], 1), axis=2)[:, :, 0]
    return (lik * prior[None, :]).argmax(axis=1)


def fi_right_posterior(p, y, prior):  # normalised posterior: same argmax
    p, y, prior = _fi_checked(p, y, prior)
    post = p[np.arange(len(y)), :, y] * prior
    with np.errstate(invalid="ignore", divide="ignore"):
        post = post / post.sum(axis=1, keepdims=True)
    return np.nan_to_num(post, nan=0.0).argmax(axis=1)


def fi_right_log(p, y, prior):  # logs: same argmax where nothing is 0
    p, y, prior = _fi_checked(p, y, prior)
    with np.errstate(divide="ignore"):
        return np.argmax(np.log(p[np.arange(len(y)), :, y]) + np.log(prior), axis=1)


FI_WRONG = [fi_class_zero, fi_argmin, fi_divided, fi_values, fi_first_record, fi_no_check,
            fi_sum_over_classes, fi_transposed]
FI_RIGHT = [fi_right_loop, fi_right_take, fi_right_posterior, fi_right_log]

WRONG = ([(lab06.EXPOSURE, f) for f in EX_WRONG] + [(lab06.SCRUB, f) for f in SC_WRONG]
         + [(lab06.RANK_GAIN, f) for f in RG_WRONG]
         + [(lab06.ATTRIBUTE_INFERENCE, f) for f in FI_WRONG])
RIGHT = ([(lab06.EXPOSURE, f) for f in EX_RIGHT] + [(lab06.SCRUB, f) for f in SC_RIGHT]
         + [(lab06.RANK_GAIN, f) for f in RG_RIGHT]
         + [(lab06.ATTRIBUTE_INFERENCE, f) for f in FI_RIGHT])


def test_the_suite_has_enough_mutants_and_none_is_a_known_mistake():
    assert_enough_mutants((lab06.EXPOSURE, lab06.SCRUB, lab06.RANK_GAIN,
                           lab06.ATTRIBUTE_INFERENCE),
                          WRONG, RIGHT)


(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)


def test_the_references_agree_with_the_package():
    gen = np.random.default_rng(1)
    scores = gen.normal(size=500)
    assert lab06.exposure(scores[3], scores) == inversion.exposure(scores[3], scores)
    p = gen.dirichlet(np.ones(3), size=(50, 4))
    y, prior = gen.integers(0, 3, 50), gen.dirichlet(np.ones(4))
    assert np.array_equal(lab06.infer_attribute(p, y, prior),
                          inversion.fredrikson_inference(p, y, prior))
    before = np.array([gen.permutation(40)[:6] for _ in range(5)])
    after = np.array([gen.permutation(40)[:6] for _ in range(5)])
    assert np.allclose(lab06.rank_gain(before, after, 40), inversion.related_items_rank_gain(
        before[None, None], after[None, None], n_films=40)[0])


# --- the challenge ------------------------------------------------------------------------------


def test_the_passcode_is_not_on_the_service_object():
    api = lab06.noisy_autocomplete(seed=5)
    secret = lab06._TRUTH[api]
    assert not any(secret in repr(getattr(api, name, "")) for name in dir(api)
                   if name != "_text")
    assert lab06.challenge_secret_found(api, secret)
    assert not lab06.challenge_secret_found(api, "x" * lab06.SECRET_DIGITS)


def test_the_service_counts_and_refuses_queries_beyond_its_budget():
    api = lab06.noisy_autocomplete(seed=5)
    for _ in range(lab06.CHALLENGE_BUDGET):
        assert len(api.suggest(api.prefix)) == 3
    assert api.queries == lab06.CHALLENGE_BUDGET
    with pytest.raises(lab06.QueryBudgetExceeded):
        api.suggest(api.prefix)
    with pytest.raises(TypeError):
        lab06.noisy_autocomplete(seed=5).suggest(123)


def test_the_budget_and_the_count_cannot_be_reset():
    api = lab06.noisy_autocomplete(seed=5)
    for name in ("queries", "max_queries", "prefix"):
        with pytest.raises(AttributeError):
            setattr(api, name, 0)

    def resetter(api):  # spends the budget, then tries to reset it
        for _ in range(lab06.CHALLENGE_BUDGET):
            api.suggest(api.prefix)
        try:
            api.queries = 0
        except AttributeError:
            pass
        return lab06.extract_passcode(api)

    assert run_check(lab06.CHALLENGE, resetter).status == "wrong"


def test_a_copy_is_the_same_service_with_its_own_count():
    api = lab06.noisy_autocomplete(seed=6)
    api.suggest("a")
    twin = copy.deepcopy(api)
    assert twin == api and twin.queries == 1
    twin.suggest("b")
    assert api.queries == 1
    assert lab06.challenge_secret_found(twin, lab06._TRUTH[api])
    assert api != lab06.noisy_autocomplete(seed=7)


def test_averaging_beats_the_noise_and_greedy_extraction_does_not():
    found = [lab06.challenge_secret_found(a, lab06.extract_passcode(a))
             for a in (lab06.noisy_autocomplete(seed=s) for s in range(1000, 1030))]
    greedy = [lab06.challenge_secret_found(a, lab06.greedy_extraction(a))
              for a in (lab06.noisy_autocomplete(seed=s) for s in range(1000, 1030))]
    assert all(found)
    assert sum(greedy) <= 15


def test_the_challenge_rejects_a_greedy_attack_and_a_wrong_format():
    assert run_check(lab06.CHALLENGE, lab06.greedy_extraction).status == "wrong"
    assert run_check(lab06.CHALLENGE, lambda api: 123456).status == "wrong"
    assert run_check(lab06.CHALLENGE, lambda api: "12345").status == "wrong"


def test_the_challenge_rejects_an_answer_that_asks_too_much():
    def spender(api):
        while True:
            api.suggest(api.prefix)

    assert run_check(lab06.CHALLENGE, spender).status == "wrong"
