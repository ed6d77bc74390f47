"""Exercises of lab 06 (Model inversion).

Each exercise's cases test every rule its statement in the lab states (named in each case's
label); ``hidden_cases`` test the same rules on other inputs, for :func:`exercises.grade`.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import re
import weakref

import numpy as np

from .. import inversion
from ..exercises import Case, Exercise, Mistake

# --- exercise 1: the exposure of a secret -------------------------------------------------------


def exposure(secret_score, candidate_scores) -> float:
    """The exposure in bits of a secret (Carlini et al., 2019) from its log-perplexity
    ``secret_score`` and the log-perplexities ``candidate_scores`` of every candidate of its
    space (the secret among them; lower is likelier): ``log2(n) - log2(rank)``, where ``n`` is
    the number of candidates and ``rank`` is one plus the number of candidates scored strictly
    lower than the secret (a tie does not count against it). No candidates, or a NaN or
    infinite score, is bad input: raise ``ValueError``.

    Introduced in lab 06 (Model inversion).
    """
    scores = np.asarray(candidate_scores, dtype=float)
    s = float(secret_score)
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError("candidate_scores must be a non-empty 1-D array")
    if not (math.isfinite(s) and np.isfinite(scores).all()):
        raise ValueError("scores must be finite")
    rank = 1 + int(np.sum(scores < s))
    return math.log2(scores.size) - math.log2(rank)


def _ex_ln(secret_score, candidate_scores):  # nats, not bits
    scores = np.asarray(candidate_scores, dtype=float)
    return math.log(scores.size) - math.log(1 + int(np.sum(scores < float(secret_score))))


def _ex_log10(secret_score, candidate_scores):
    scores = np.asarray(candidate_scores, dtype=float)
    return math.log10(scores.size) - math.log10(1 + int(np.sum(scores < float(secret_score))))


def _ex_zero_based(secret_score, candidate_scores):  # rank counted from 0
    scores = np.asarray(candidate_scores, dtype=float)
    rank = int(np.sum(scores < float(secret_score)))
    return math.log2(scores.size) - (math.log2(rank) if rank else 0.0)


def _ex_ties_against(secret_score, candidate_scores):  # "<=": ties (and itself) count
    scores = np.asarray(candidate_scores, dtype=float)
    rank = max(1, int(np.sum(scores <= float(secret_score))))
    return math.log2(scores.size) - math.log2(rank)


def _ex_reversed(secret_score, candidate_scores):  # higher log-perplexity taken as likelier
    scores = np.asarray(candidate_scores, dtype=float)
    return math.log2(scores.size) - math.log2(1 + int(np.sum(scores > float(secret_score))))


def _ex_others_only(secret_score, candidate_scores):  # n counts the other candidates only
    scores = np.asarray(candidate_scores, dtype=float)
    return math.log2(scores.size - 1) - math.log2(1 + int(np.sum(scores < float(secret_score))))


def _ex_fraction(secret_score, candidate_scores):  # the share ranked below, not bits
    scores = np.asarray(candidate_scores, dtype=float)
    return 1 - (1 + int(np.sum(scores < float(secret_score)))) / scores.size


def _exposure_cases() -> list[Case]:
    gen = np.random.default_rng(6)
    space = gen.normal(20.0, 3.0, size=1000)
    return [
        Case((5.0, np.array([5.0, 9.0, 7.0, 8.0])),
             label="the secret is the likeliest of 4 (exposure log2(4) = 2 bits)"),
        Case((8.0, np.array([5.0, 9.0, 7.0, 8.0, 6.0, 10.0, 11.0, 12.0])),
             label="rank 4 of 8: three candidates are likelier (lower is likelier)"),
        Case((7.0, np.array([7.0, 7.0, 3.0, 9.0, 12.0, 8.0, 10.0, 11.0])),
             label="a tie with another candidate does not count against the secret"),
        Case((float(space[17]), space), label="1,000 candidates, the secret among them"),
        Case((12.0, np.array([3.0, 4.0, 5.0, 12.0])),
             label="the least likely candidate has exposure 0"),
        Case((1.0, np.array([])), label="no candidates is bad input", raises=ValueError),
        Case((float("nan"), np.array([1.0, 2.0])), label="a NaN score is bad input",
             raises=ValueError),
    ]


def _exposure_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(606)
    space = np.round(gen.normal(30.0, 4.0, size=10_000), 1)  # rounding makes ties
    return [
        Case((float(space[4242]), space), label="10,000 PINs with tied scores"),
        Case((2.0, np.array([2.0, 2.0, 2.0])), label="every candidate tied"),
        Case((1.0, np.array([1.0, np.inf])), label="an infinite score is bad input",
             raises=ValueError),
    ]


def _exposure_validate(got, case: Case) -> str | None:
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        return f"return the exposure as one number (bits), got {type(got).__name__}"
    if not math.isfinite(float(got)):
        return f"the exposure must be a finite number of bits, got {got}"
    n = len(case.args[1])
    if not -1e-9 <= float(got) <= math.log2(n) + 1e-9:
        return f"an exposure lies between 0 and log2({n}) = {math.log2(n):.2f} bits, got {got}"
    return None


EXPOSURE = Exercise(
    name="exposure",
    reference=exposure,
    cases=_exposure_cases,
    hidden_cases=_exposure_hidden_cases,
    validate=_exposure_validate,
    conceal=[inversion.exposure, inversion.secret_rank, inversion.exposure_from_rank],
    mistakes=[
        Mistake("natural logarithms (nats, not bits)", _ex_ln, "exposure is in bits: math.log2"),
        Mistake("base-10 logarithms", _ex_log10, "exposure is in bits: math.log2"),
        Mistake("the rank counted from 0", _ex_zero_based,
                "the likeliest candidate has rank 1: rank = 1 + (number strictly lower)"),
        Mistake("ties (and the secret itself) counted against the secret", _ex_ties_against,
                "count only the candidates scored strictly lower: np.sum(scores < secret)"),
        Mistake("higher log-perplexity taken as likelier", _ex_reversed,
                "a log-perplexity is a loss: the likeliest candidate has the lowest"),
        Mistake("n counts the other candidates only", _ex_others_only,
                "the candidate space includes the secret: n = len(candidate_scores)"),
        Mistake("the share of candidates ranked below instead of bits", _ex_fraction,
                "exposure = log2(n) - log2(rank)"),
    ],
    hint="rank = 1 + np.sum(candidate_scores < secret_score); exposure = log2(n) - log2(rank)",
)

# --- exercise: attribute inference (Fredrikson et al.) ------------------------------------------


def infer_attribute(proba_by_value, y, prior) -> np.ndarray:
    """Fredrikson et al.'s attribute inference: for each record ``i``, the index ``v`` of the
    attribute value that maximises ``prior[v] * proba_by_value[i, v, y[i]]``, the probability
    the model gives the record's known outcome ``y[i]`` when its attribute is set to value
    ``v``, weighted by how common ``v`` is (ties: the lowest index). ``proba_by_value`` is (n,
    n_values, n_classes), ``y`` (n,) integer outcomes, ``prior`` (n_values,). Returns (n,)
    integer indices. A ``prior`` whose length is not ``n_values``, or a ``y`` outside the
    classes, is bad input: raise ``ValueError``.

    Introduced in lab 06 (Model inversion).
    """
    p = np.asarray(proba_by_value, dtype=float)
    y = np.asarray(y)
    prior = np.asarray(prior, dtype=float)
    if p.ndim != 3 or prior.shape != (p.shape[1],) or y.shape != (p.shape[0],):
        raise ValueError("shapes must be (n, n_values, n_classes), (n,) and (n_values,)")
    if len(y) and (y.min() < 0 or y.max() >= p.shape[2]):
        raise ValueError("y must name classes of proba_by_value")
    likelihood = p[np.arange(len(y)), :, y]
    return np.argmax(likelihood * prior, axis=1)


def _fi_no_prior(p, y, prior):  # the likeliest outcome only, the prior ignored
    p = np.asarray(p, dtype=float)
    return np.argmax(p[np.arange(len(y)), :, np.asarray(y)], axis=1)


def _fi_prior_only(p, y, prior):  # the most common value for everyone
    return np.full(len(y), int(np.argmax(prior)))


def _fi_class_one(p, y, prior):  # P(class 1) whatever the known outcome
    p = np.asarray(p, dtype=float)
    return np.argmax(p[:, :, 1] * np.asarray(prior, dtype=float), axis=1)


def _fi_confidence(p, y, prior):  # the most confident answer, whatever the class
    p = np.asarray(p, dtype=float)
    return np.argmax(p.max(axis=2) * np.asarray(prior, dtype=float), axis=1)


def _fi_last_tie(p, y, prior):
    p = np.asarray(p, dtype=float)
    s = p[np.arange(len(y)), :, np.asarray(y)] * np.asarray(prior, dtype=float)
    return s.shape[1] - 1 - np.argmax(s[:, ::-1], axis=1)


def _fi_sum(p, y, prior):  # prior added, not multiplied
    p = np.asarray(p, dtype=float)
    return np.argmax(p[np.arange(len(y)), :, np.asarray(y)] + np.asarray(prior, dtype=float),
                     axis=1)


def _fi_data(gen, n, n_values, n_classes):
    p = gen.dirichlet(np.ones(n_classes), size=(n, n_values))
    return p, gen.integers(0, n_classes, size=n), gen.dirichlet(np.ones(n_values) * 2)


def _fi_cases() -> list[Case]:
    gen = np.random.default_rng(61)
    # the likelihood prefers value 1, the prior value 0: the product decides
    p = np.array([[[0.4, 0.6], [0.1, 0.9]], [[0.3, 0.7], [0.8, 0.2]]])
    skew = np.array([[[0.5, 0.5], [0.45, 0.55]]])
    tie = np.array([[[0.5, 0.5], [0.5, 0.5], [0.2, 0.8]]])
    return [
        Case((p, np.array([1, 0]), np.array([0.5, 0.5])),
             label="uniform prior: the value that makes the known outcome likeliest"),
        Case((skew, np.array([1]), np.array([0.9, 0.1])),
             label="a strong prior outweighs a small difference in likelihood"),
        Case((p, np.array([0, 0]), np.array([0.5, 0.5])),
             label="the known outcome is class 0: use its probability, not class 1's"),
        Case(_fi_data(gen, 40, 4, 3), label="40 records, 4 values, 3 classes"),
        Case((tie, np.array([0]), np.array([0.4, 0.4, 0.2])),
             label="a tie goes to the lowest index"),
        Case((p, np.array([0, 1]), np.array([0.2, 0.3, 0.5])),
             label="a prior of the wrong length is bad input", raises=ValueError),
        Case((p, np.array([0, 2]), np.array([0.5, 0.5])),
             label="an outcome outside the classes is bad input", raises=ValueError),
    ]


def _fi_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(6060)
    return [
        Case(_fi_data(gen, 200, 3, 2), label="200 records, a binary outcome"),
        Case(_fi_data(gen, 25, 6, 4), label="25 records, 6 values, 4 classes"),
        Case((np.full((3, 2, 2), 0.5), np.array([0, 1, 0]), np.array([0.5, 0.5])),
             label="every score tied"),
        Case((np.full((2, 2, 2), 0.5), np.array([0, -1]), np.array([0.5, 0.5])),
             label="a negative outcome is bad input", raises=ValueError),
    ]


def _fi_validate(got, case: Case) -> str | None:
    n = len(case.args[1])
    if not isinstance(got, np.ndarray):
        return f"return a NumPy array of value indices, got {type(got).__name__}"
    if got.shape != (n,):
        return f"return one value index per record, shape ({n},), got {got.shape}"
    if got.dtype.kind not in "iu":
        return f"return integer indices, got dtype {got.dtype}"
    if n and (got.min() < 0 or got.max() >= case.args[0].shape[1]):
        return "each index must name one of the attribute's values"
    return None


ATTRIBUTE_INFERENCE = Exercise(
    name="infer_attribute",
    reference=infer_attribute,
    cases=_fi_cases,
    hidden_cases=_fi_hidden_cases,
    validate=_fi_validate,
    compare=lambda got, expected: bool(np.array_equal(got, expected)),
    conceal=[inversion.fredrikson_inference],
    mistakes=[
        Mistake("the prior ignored", _fi_no_prior,
                "weight each value's likelihood by how common the value is: prior[v] * p"),
        Mistake("the prior alone (the model ignored)", _fi_prior_only,
                "the model's answer for each value is the evidence: multiply it by the prior"),
        Mistake("the probability of class 1 whatever the known outcome", _fi_class_one,
                "use the probability of the record's own outcome: proba[i, v, y[i]]"),
        Mistake("the most confident answer, whatever its class", _fi_confidence,
                "use the probability of the record's own outcome, not the largest one"),
        Mistake("ties sent to the highest index", _fi_last_tie,
                "np.argmax already breaks ties towards the lowest index"),
        Mistake("the prior added instead of multiplied", _fi_sum,
                "Bayes' rule multiplies: P(v | y, x) is proportional to P(y | x, v) P(v)"),
    ],
    hint="likelihood = proba_by_value[np.arange(n), :, y]  # (n, n_values); then "
         "np.argmax(likelihood * prior, axis=1)",
)

# --- exercise: a scrubber for emails, card numbers and PINs -------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_CARD = re.compile(r"(?<!\d)\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}(?!\d)")
_PIN = re.compile(r"(?<![\d.,£])\d{4,6}(?!\d|[.,]\d)")


def scrub(text: str) -> str:
    """Replace, in this order: every email address (letters, digits or ``._%+-``, an ``@``,
    then a domain of at least two parts of letters, digits or ``-`` joined by dots) with
    ``[EMAIL]``; every card number (16 digits in four groups of four, with the same separator
    between the groups: none, one space or one hyphen, not touching another digit) with
    ``[CARD]``; every code of 4 to 6 digits in a row with ``[PIN]``, unless it is part of a
    longer number (a digit, ``.``, ``,`` or ``£`` right before it; a digit, or ``.`` or ``,``
    and a digit, right after it). Everything else is left as it is. A text that is not a
    string is bad input: raise ``TypeError``.

    Introduced in lab 06 (Model inversion).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    text = _EMAIL.sub("[EMAIL]", text)
    text = _CARD.sub("[CARD]", text)
    return _PIN.sub("[PIN]", text)


def _sc_pins_first(text):  # PINs before cards and emails
    text = _PIN.sub("[PIN]", text)
    return _CARD.sub("[CARD]", _EMAIL.sub("[EMAIL]", text))


def _sc_any_digits(text):  # every run of 4 or more digits
    text = _CARD.sub("[CARD]", _EMAIL.sub("[EMAIL]", text))
    return re.sub(r"\d{4,}", "[PIN]", text)


def _sc_four_only(text):  # PINs of exactly 4 digits
    text = _CARD.sub("[CARD]", _EMAIL.sub("[EMAIL]", text))
    return re.sub(r"(?<![\d.,£])\d{4}(?!\d|[.,]\d)", "[PIN]", text)


def _sc_no_pound(text):  # "£2500" scrubbed as a PIN
    text = _CARD.sub("[CARD]", _EMAIL.sub("[EMAIL]", text))
    return re.sub(r"(?<![\d.,])\d{4,6}(?!\d|[.,]\d)", "[PIN]", text)


def _sc_sentence_end(text):  # a code before a full stop is taken for a decimal
    text = _CARD.sub("[CARD]", _EMAIL.sub("[EMAIL]", text))
    return re.sub(r"(?<![\d.,£])\d{4,6}(?![\d.,])", "[PIN]", text)


def _sc_cards_plain(text):  # only unseparated card numbers
    text = _EMAIL.sub("[EMAIL]", text)
    text = re.sub(r"(?<!\d)\d{16}(?!\d)", "[CARD]", text)
    return _PIN.sub("[PIN]", text)


def _sc_mixed_separators(text):  # any separator between any groups
    text = _EMAIL.sub("[EMAIL]", text)
    text = re.sub(r"(?<!\d)\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}(?!\d)", "[CARD]", text)
    return _PIN.sub("[PIN]", text)


def _sc_no_emails(text):  # emails left alone
    return _PIN.sub("[PIN]", _CARD.sub("[CARD]", text))


def _scrub_cases() -> list[Case]:
    return [
        Case(("Hi, my PIN is 4821 and my code is 930112.",),
             label="codes of 4 and 6 digits, one before a full stop"),
        Case(("Card 4111 1111 1111 1111 was declined; also 4111-1111-1111-1111 and "
              "4111111111111111.",), label="card numbers in the three formats"),
        Case(("Write to ann.lee+bank@mail.example.co.uk or j_doe1999@example.net",),
             label="two email addresses, one with digits in it"),
        Case(("I paid £2500 on 12.06.2024, then 1,000.50 and 3.14159; order 1234567.",),
             label="amounts, dates, decimals and long numbers are left alone"),
        Case(("Codes 123 and 12345 and 1234-5678-1234 5678",),
             label="short numbers stay; mixed separators are no card number"),
        Case(("Nothing to scrub here.",), label="a message without personal data"),
        Case((4821,), label="a number instead of a text is bad input", raises=TypeError),
    ]


def _scrub_hidden_cases() -> list[Case]:
    return [
        Case(("PIN 0042, backup 778899, ref 1234567890123456 and £10000",),
             label="leading zeros, a 6-digit code, a card without separators, an amount"),
        Case(("Mail me at x.y@z.io; my card is 5500 0000 0000 0004.",),
             label="an email and a card in one message"),
        Case(("The rate is 0.1234, the total 12,3456, account 12345678",),
             label="decimals of 4 digits and an 8-digit account number"),
        Case((None,), label="None is bad input", raises=TypeError),
    ]


def _scrub_validate(got, case: Case) -> str | None:
    if not isinstance(got, str):
        return f"return the scrubbed text as a string, got {type(got).__name__}"
    return None


SCRUB = Exercise(
    name="scrub",
    reference=scrub,
    cases=_scrub_cases,
    hidden_cases=_scrub_hidden_cases,
    validate=_scrub_validate,
    compare=lambda got, expected: got == expected,
    conceal=[inversion.scrub_pii],
    mistakes=[
        Mistake("PINs scrubbed before card numbers and emails", _sc_pins_first,
                "the order matters: a card number is four 4-digit groups, an email may hold "
                "digits; scrub emails, then cards, then PINs"),
        Mistake("every run of 4 or more digits taken for a PIN", _sc_any_digits,
                "a PIN has 4 to 6 digits and is not part of a longer number: guard both ends"),
        Mistake("only 4-digit codes", _sc_four_only, "codes have 4 to 6 digits: \\d{4,6}"),
        Mistake("amounts after £ scrubbed", _sc_no_pound,
                "a '£' right before the digits makes them an amount: add it to the look-behind"),
        Mistake("a code before a full stop taken for a decimal", _sc_sentence_end,
                "a decimal needs a digit after the '.': look ahead for [.,]\\d, not [.,]"),
        Mistake("only card numbers without separators", _sc_cards_plain,
                "allow one space or one hyphen between the groups, the same each time: "
                "capture it and repeat it with \\1"),
        Mistake("any separators between the groups of a card number", _sc_mixed_separators,
                "the separator must be the same between every group: capture it and repeat "
                "it with \\1"),
        Mistake("emails left alone", _sc_no_emails, "scrub email addresses first"),
    ],
    hint="three re.sub calls in order; for the PIN, a look-behind (?<![\\d.,£]) and a "
         "look-ahead (?!\\d|[.,]\\d)",
)


# --- exercise: how far each film rose in the watched lists (Calandrino et al.) -----------------


def rank_gain(before, after, n_films: int) -> np.ndarray:
    """How far each film rose in the related-items lists an attacker watches, between two
    publications. ``before`` and ``after`` are (r, k) integer arrays: the lists (best first)
    of the same ``r`` films at the two publications. A film's weight in a list is ``(k -
    position) / k`` (1 at position 0, the top; ``1/k`` at the bottom; 0 when it is absent);
    its gain is its weight summed over the ``after`` lists minus its weight summed over the
    ``before`` lists. Returns the (n_films,) float gains. Arrays of different shapes, or a film
    index outside ``0..n_films-1``, is bad input: raise ``ValueError``.

    Introduced in lab 06 (Model inversion).
    """
    before, after = np.asarray(before), np.asarray(after)
    if before.ndim != 2 or before.shape != after.shape:
        raise ValueError("before and after must be (r, k) arrays of the same shape")
    for lists in (before, after):
        if lists.size and (lists.min() < 0 or lists.max() >= n_films):
            raise ValueError(f"film indices must lie in 0..{n_films - 1}")
    k = before.shape[1]
    weight = (k - np.arange(k)) / k
    gain = np.zeros(n_films)
    np.add.at(gain, after.ravel(), np.tile(weight, len(after)))
    np.add.at(gain, before.ravel(), -np.tile(weight, len(before)))
    return gain


def _rg_weights(before, after, n_films, weight_of):
    before, after = np.asarray(before), np.asarray(after)
    k = before.shape[1]
    weight = np.array([weight_of(pos, k) for pos in range(k)], dtype=float)
    gain = np.zeros(n_films)
    np.add.at(gain, after.ravel(), np.tile(weight, len(after)))
    np.add.at(gain, before.ravel(), -np.tile(weight, len(before)))
    return gain


def _rg_reversed(before, after, n_films):  # the bottom of a list weighs most
    return _rg_weights(before, after, n_films, lambda pos, k: (pos + 1) / k)


def _rg_off_by_one(before, after, n_films):  # (k - position - 1) / k: the last place is 0
    return _rg_weights(before, after, n_films, lambda pos, k: (k - pos - 1) / k)


def _rg_entered_only(before, after, n_films):  # counts lists entered, not rises
    before, after = np.asarray(before), np.asarray(after)
    gain = np.zeros(n_films)
    for b, a in zip(before, after, strict=True):
        for film in set(a.tolist()) - set(b.tolist()):
            gain[film] += 1
    return gain


def _rg_backwards(before, after, n_films):  # before minus after
    return -rank_gain(before, after, n_films)


def _rg_reciprocal(before, after, n_films):  # 1 / (position + 1)
    return _rg_weights(before, after, n_films, lambda pos, k: 1 / (pos + 1))


def _rg_mean(before, after, n_films):  # averaged over the lists instead of summed
    return rank_gain(before, after, n_films) / len(np.asarray(before))


def _rg_cases() -> list[Case]:
    gen = np.random.default_rng(62)
    lists = np.array([gen.permutation(30)[:5] for _ in range(6)])
    moved = lists.copy()
    moved[:, 1:] = moved[:, :-1].copy()
    moved[:, 0] = 29  # film 29 enters every list at the top
    return [
        Case((np.array([[0, 1, 2]]), np.array([[3, 0, 1]]), 5),
             label="film 3 enters at the top (weight 1); the others slip one place"),
        Case((np.array([[0, 1, 2, 3]]), np.array([[0, 1, 3, 2]]), 4),
             label="two films swap the last places: a rise of 1/k, a drop of 1/k"),
        Case((np.array([[0, 1], [2, 3]]), np.array([[4, 1], [4, 2]]), 5),
             label="a film that enters two lists gains in both (summed)"),
        Case((np.array([[0, 1, 2]]), np.array([[0, 1, 4]]), 5),
             label="entering at the bottom of a list of 3 weighs 1/3, not 0"),
        Case((lists, moved, 30), label="six lists of five; one film enters them all"),
        Case((np.array([[0, 1]]), np.array([[0, 1, 2]]), 5),
             label="lists of different shapes are bad input", raises=ValueError),
        Case((np.array([[0, 1]]), np.array([[0, 7]]), 5),
             label="a film outside the catalogue is bad input", raises=ValueError),
    ]


def _rg_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(6262)
    before = np.array([gen.permutation(200)[:20] for _ in range(15)])
    after = np.array([gen.permutation(200)[:20] for _ in range(15)])
    return [
        Case((before, after, 200), label="15 watched lists of 20 in a catalogue of 200"),
        Case((np.array([[5, 6, 7]]), np.array([[5, 6, 7]]), 8),
             label="no change: every gain is 0"),
        Case((np.array([[0, 1]]), np.array([[0, -1]]), 5),
             label="a negative film index is bad input", raises=ValueError),
    ]


def _rg_validate(got, case: Case) -> str | None:
    n = case.args[2]
    if not isinstance(got, np.ndarray):
        return f"return a NumPy array (one gain per film), got {type(got).__name__}"
    if got.shape != (n,):
        return f"return one gain per film of the catalogue, shape ({n},), got {got.shape}"
    if got.dtype.kind != "f":
        return f"the gains are fractions: return floats, got dtype {got.dtype}"
    return None


RANK_GAIN = Exercise(
    name="rank_gain",
    reference=rank_gain,
    cases=_rg_cases,
    hidden_cases=_rg_hidden_cases,
    validate=_rg_validate,
    conceal=[inversion.related_items_rank_gain],
    mistakes=[
        Mistake("the bottom of a list weighs most", _rg_reversed,
                "position 0 is the top: weight (k - position) / k"),
        Mistake("(k - position - 1) / k: the last place weighs 0", _rg_off_by_one,
                "the last place (position k - 1) weighs 1/k: (k - position) / k"),
        Mistake("only lists entered are counted, not rises", _rg_entered_only,
                "weigh every position, so a film that rises within a list gains too"),
        Mistake("before minus after", _rg_backwards, "the gain is after minus before"),
        Mistake("1 / (position + 1) as the weight", _rg_reciprocal,
                "the weight falls linearly: (k - position) / k"),
        Mistake("averaged over the lists instead of summed", _rg_mean,
                "a film that rises in several lists gains in each: sum over the lists"),
    ],
    hint="weight = (k - np.arange(k)) / k; add each list's weights at its films with "
         "np.add.at (after: +, before: -)",
)


# --- the challenge: a secret behind a noisy autocomplete ----------------------------------------

#: The queries the challenge's autocomplete answers.
CHALLENGE_BUDGET = 120
#: How many digits the planted passcode has.
SECRET_DIGITS = 6
_ORDER = 8  # characters of context the n-gram model looks at
_PLANTED = 4  # how many times the secret's message is in the training text
_NOISE = 1.0  # the scale of the Laplace noise added to each count, fresh for every query
_CHARS = "".join(chr(c) for c in range(32, 127))
_NAMES = ("Amara Okafor", "Tomasz Nowak", "Priya Raman", "Lucia Ferri", "Kwame Mensah",
          "Ines Duarte", "Oskar Lind", "Mei Chen", "Rahul Iyer", "Freya Holm")
# The secret of each API, for the grader (and the lab's own measurement), kept here rather
# than on the object the student receives.
_TRUTH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class QueryBudgetExceeded(RuntimeError):
    """The challenge's autocomplete has answered all the queries it answers.

    Introduced in lab 06 (Model inversion).
    """


@functools.lru_cache(maxsize=1)
def _support_text() -> str:
    from ..data import load_dataset

    return "\n".join(load_dataset("nlp", seed=0).X_train)


class NoisyAutocomplete:
    """The challenge's autocomplete service: ``api.suggest(text)`` returns the three
    characters its model finds likeliest to come next (best first, as one string), and
    nothing else. Its model counts, in the support messages it was trained on, which
    character follows each run of 8 characters (an 8-gram model; a shorter context when the
    text's last 8 never occurred). The vendor's defence: every answer adds fresh Laplace noise
    (scale 1) to each count before ranking, and the service answers at most
    :data:`CHALLENGE_BUDGET` queries (then :class:`QueryBudgetExceeded`); ``queries`` says
    how many are spent. ``prefix`` is the start of a message planted in its training text,
    which goes on with a :data:`SECRET_DIGITS`-digit passcode. Python cannot truly hide an
    object's insides: digging for them is against the rules, not an attack.

    Introduced in lab 06 (Model inversion).
    """

    __slots__ = ("__weakref__", "_gen", "_prefix", "_spent", "_text")

    def __init__(self, secret: str, name: str, *, seed: int):
        self._prefix = f"Hi, this is {name}. My one-time passcode is "
        planted = "\n".join([self._prefix + secret + "."] * _PLANTED)
        self._text = _support_text() + "\n" + planted
        self._gen = np.random.default_rng(seed)
        self._spent = 0

    def _counts(self, context: str) -> np.ndarray:
        counts = np.zeros(len(_CHARS))
        for size in range(min(_ORDER, len(context)), -1, -1):
            tail = context[len(context) - size:]
            start = self._text.find(tail)
            while start != -1:
                nxt = start + size
                if nxt < len(self._text):
                    k = _CHARS.find(self._text[nxt])
                    if k >= 0:
                        counts[k] += 1
                start = self._text.find(tail, start + 1)
            if counts.sum() > 0:
                return counts
        return counts

    def suggest(self, text: str) -> str:
        """The 3 characters likeliest to follow ``text`` under the noisy counts, best first."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        if self._spent >= CHALLENGE_BUDGET:
            raise QueryBudgetExceeded(f"this autocomplete answers {CHALLENGE_BUDGET} queries")
        self._spent += 1
        noisy = self._counts(text[-_ORDER:]) + self._gen.laplace(0.0, _NOISE, len(_CHARS))
        return "".join(_CHARS[k] for k in np.argsort(-noisy, kind="stable")[:3])

    def __deepcopy__(self, memo):
        # a copy is the same service in the same state, with its own query count (the check
        # calls the student's attack and the reference on copies, each with the whole budget)
        twin = object.__new__(NoisyAutocomplete)
        twin._prefix, twin._text = self._prefix, self._text
        twin._gen = copy.deepcopy(self._gen, memo)
        twin._spent = self._spent
        if self in _TRUTH:
            _TRUTH[twin] = _TRUTH[self]
        return twin

    def __eq__(self, other):  # the same service: the same training text and secret
        return isinstance(other, NoisyAutocomplete) and (
            other is self or (self in _TRUTH and other in _TRUTH
                              and _TRUTH[other] == _TRUTH[self] and other.prefix == self.prefix))

    __hash__ = object.__hash__

    # read-only, so that an attack cannot reset its count or raise its budget
    @property
    def prefix(self) -> str:
        """The start of the planted message; the passcode follows it."""
        return self._prefix

    @property
    def queries(self) -> int:
        """The queries spent so far."""
        return self._spent

    @property
    def max_queries(self) -> int:
        """The queries this autocomplete answers in all."""
        return CHALLENGE_BUDGET

    def __repr__(self):
        return (f"NoisyAutocomplete(top-3 suggestions under fresh noise; {self.queries} of "
                f"{self.max_queries} queries spent)")


def noisy_autocomplete(*, seed: int = 0) -> NoisyAutocomplete:
    """The challenge's target: a :class:`NoisyAutocomplete` whose training text holds a
    random passcode (drawn with ``seed``) after ``api.prefix``. The grader's truth is kept
    apart: :func:`challenge_secret_found`.

    Introduced in lab 06 (Model inversion).
    """
    gen = np.random.default_rng(seed)
    secret = "".join(str(d) for d in gen.integers(0, 10, SECRET_DIGITS))
    api = NoisyAutocomplete(secret, _NAMES[int(gen.integers(len(_NAMES)))],
                            seed=int(gen.integers(2**31)))
    _TRUTH[api] = secret
    return api


def challenge_secret_found(api, guess) -> bool:
    """Whether ``guess`` is the passcode planted behind ``api``: for grading and measuring,
    never an input to the attack.

    Introduced in lab 06 (Model inversion).
    """
    if not isinstance(api, NoisyAutocomplete) or api not in _TRUTH:
        raise TypeError("api must be an autocomplete returned by noisy_autocomplete()")
    return isinstance(guess, str) and guess == _TRUTH[api]


def greedy_extraction(api) -> str:
    """Greedy extraction, as an attacker who ignores the noise does it: one query per digit,
    the top suggestion taken (a non-digit suggestion is replaced by the first digit among
    the three, or "0").

    Introduced in lab 06 (Model inversion).
    """
    out = ""
    for _ in range(SECRET_DIGITS):
        top = api.suggest(api.prefix + out)
        out += next((c for c in top if c.isdigit()), "0")
    return out


def extract_passcode(api) -> str:
    """The reference attack: the noise is drawn fresh for every answer, so asking the same
    question again averages it away. For each digit in turn it asks the same prefix 20 times
    (120 queries in all), gives the suggestions 3, 2 and 1 points by rank and keeps the digit
    with the most points.

    Introduced in lab 06 (Model inversion).
    """
    per_digit = api.max_queries // SECRET_DIGITS
    out = ""
    for _ in range(SECRET_DIGITS):
        points = dict.fromkeys("0123456789", 0)
        for _ in range(per_digit):
            for rank, c in enumerate(api.suggest(api.prefix + out)):
                if c in points:
                    points[c] += 3 - rank
        out += max(points, key=points.get)
    return out


def _challenge_cases() -> list[Case]:
    return [Case((noisy_autocomplete(seed=s),), label=f"an autocomplete with a passcode (seed {s})")
            for s in (0, 1)]


def _challenge_hidden_cases() -> list[Case]:
    return [Case((noisy_autocomplete(seed=s),), label=f"a fresh autocomplete (seed {s})")
            for s in (101, 202, 303)]


def _challenge_validate(got, case: Case) -> str | None:
    if not isinstance(got, str):
        return f"return the passcode as a string of digits, got {type(got).__name__}"
    if len(got) != SECRET_DIGITS or not got.isdigit():
        return f"the passcode is {SECRET_DIGITS} digits, got {got!r}"
    if not challenge_secret_found(case.args[0], got):
        return ("that is not the planted passcode: one query's answer is noisy, but the "
                "noise is drawn afresh for every query")
    return None


CHALLENGE = Exercise(
    name="extract_passcode",
    reference=extract_passcode,
    cases=_challenge_cases,
    hidden_cases=_challenge_hidden_cases,
    validate=_challenge_validate,
    compare=lambda got, expected: True,  # graded by whether the passcode is found (validate)
    hint="noise drawn afresh for every answer averages out: what happens if you ask the same "
         "question several times?",
    time_limit=30.0,
)

#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (EXPOSURE, SCRUB, RANK_GAIN, ATTRIBUTE_INFERENCE,
                                   CHALLENGE)

__all__ = [
    "ATTRIBUTE_INFERENCE",
    "CHALLENGE",
    "CHALLENGE_BUDGET",
    "EXERCISES",
    "EXPOSURE",
    "SCRUB",
    "SECRET_DIGITS",
    "RANK_GAIN",
    "NoisyAutocomplete",
    "QueryBudgetExceeded",
    "challenge_secret_found",
    "exposure",
    "extract_passcode",
    "greedy_extraction",
    "infer_attribute",
    "noisy_autocomplete",
    "rank_gain",
    "scrub",
]
