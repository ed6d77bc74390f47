"""Fraud: validating numbers at the API (lab 12, section 4).

The fraud scorer takes 23 numbers per transaction. Numbers can be wrong in ways a type check does
not see, and this module builds and sends them:

* :func:`absurd_fraud_bodies`: honest test transactions with one value made absurd but still a
  float (a negative amount, an amount of 1e30, hour 99, two merchant categories, ...), the
  inputs a shapes-only API scores without a word;
* :func:`nonfinite_fraud_bodies`: raw JSON bodies with ``NaN``, ``Infinity`` or ``1e400`` (which
  Python's ``json``, and so FastAPI, reads as floats), with an invalid body that carries NaN,
  its control without NaN, and a lone surrogate in place of a number: the bodies that make
  FastAPI's default error handler fail with a 500 while echoing them;
* :func:`malformed_input_trial`: both sets and a sample of honest test transactions sent to one
  API, measured (:class:`MalformedTrial`: rates with Wilson intervals);
* :func:`send_fraud_body`: one request, waiting out the rate limit on an injected clock;
* :class:`ApiDecisions` and :func:`api_fraud_evasion`: the adaptive attacker who knows the
  validator. It runs lab 02's constrained evasion (``evasion.constrained_fraud_attack``, legal
  moves only, history features recomputed) through the API with approve/decline answers only,
  checks every candidate with its own copy of the strict validator first, and replays the final
  transactions through the API (:class:`ApiEvasion`);
* :func:`fraud_pentest_cases`: the section's pen-test rows (NaN, infinity, out of range, wrong
  type, missing field, extra field), each expected to get 422.

Introduced in lab 12 (API security).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from .. import fraud_sim
from ..stats import Rate, proportion
from ..validate import ArgumentTypeError, check_int, check_seed, check_str

__all__ = [
    "ABSURD_FRAUD_KINDS",
    "FRAUD_PREDICT_PATH",
    "NONFINITE_FRAUD_CASES",
    "ApiDecisions",
    "ApiEvasion",
    "MalformedTrial",
    "absurd_fraud_bodies",
    "api_fraud_evasion",
    "fraud_pentest_cases",
    "malformed_input_trial",
    "nonfinite_fraud_bodies",
    "send_fraud_body",
]

FRAUD_PREDICT_PATH: str = "/v1/fraud/predict"
"""The fraud system's predict route. Introduced in lab 12 (API security)."""

ABSURD_FRAUD_KINDS: Mapping[str, str] = MappingProxyType({
    "negative amount": "amount = minus the amount paid",
    "amount of 1e30": "amount = 1e30 (the card limit is 20,000)",
    "hour 99": "hour = 99 (hours run 0-23)",
    "two merchant categories": "a second cat_* column set to 1 (exactly one must be)",
    "category value 7": "the transaction's cat_* column set to 7 (one-hot: 0 or 1)",
    "terminal fraud rate 500%": "term_fraud_rate_28d_delayed = 5 (a rate is at most 1)",
    "negative transaction count": "cust_n_tx_7d = -4 (a count)",
})
"""The absurd values of :func:`absurd_fraud_bodies`: each one float of an honest transaction made
impossible, the body still well-formed JSON of floats. Introduced in lab 12 (API security)."""

NONFINITE_FRAUD_CASES: Mapping[str, str] = MappingProxyType({
    "amount NaN": "valid shape, amount = NaN",
    "amount Infinity": "valid shape, amount = Infinity",
    "hour -Infinity": "valid shape, hour = -Infinity",
    "amount 1e400": "valid JSON number that overflows to infinity when parsed",
    "amount NaN, hour missing": "invalid body (a field missing) that carries a NaN",
    "hour missing (control, no NaN)": "the same invalid body without the NaN",
    "amount = lone surrogate": "a string with a lone UTF-16 surrogate where a number belongs",
})
"""The raw bodies of :func:`nonfinite_fraud_bodies` and what each holds. Introduced in lab 12
(API security)."""

_MAX_WAITS = 50  # 429 answers waited out for one request before giving up


def _check_served(served):
    if getattr(served, "domain", None) != "fraud" or not hasattr(served, "body"):
        raise ArgumentTypeError("served must be the fraud ServedSystem (bundle.served['fraud'], "
                                "from api_common.served_system('fraud', ...))")
    return served


def _check_client(client):
    if not callable(getattr(client, "post", None)):
        raise ArgumentTypeError("client must be an HTTP client with post() (api_common.api_client"
                                "(app))")
    return client


def _check_headers(headers) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        raise ArgumentTypeError(f"headers must be a mapping (e.g. bundle.headers('user')), got "
                                f"{type(headers).__name__}")
    return dict(headers)


def _check_clock(clock):
    if clock is not None and not callable(getattr(clock, "advance", None)):
        raise ArgumentTypeError("clock must be a ManualClock (with advance()) or None")
    return clock


def _test_rows(served, n: int, seed: int, *, label: int | None = 0) -> np.ndarray:
    """``n`` seeded positions of test rows (legitimate ones when ``label`` is 0)."""
    y = np.asarray(served.data.y_test)
    pool = np.flatnonzero(y == label) if label is not None else np.arange(len(y))
    if n > len(pool):
        raise ValueError(f"n must be at most {len(pool)} (test rows available), got {n}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(pool, size=n, replace=False))


def absurd_fraud_bodies(served, *, n_rows: int = 8, seed: int = 0) -> pd.DataFrame:
    """Predict bodies of one transaction each: ``n_rows`` honest (legitimate) test transactions,
    each with one value made absurd in every way of :data:`ABSURD_FRAUD_KINDS`.

    Every value is a finite float, so the body fits a shapes-only schema. Returns one row per
    body: ``kind``, ``feature`` (the changed column), ``value`` (its new value), ``row`` (the
    test row it came from) and ``body`` (a JSON-ready dict).

    Introduced in lab 12 (API security).
    """
    served = _check_served(served)
    n_rows = check_int(n_rows, "n_rows")
    seed = check_seed(seed)
    names = list(served.feature_names)
    cats = [f for f in names if f.startswith("cat_")]
    rows = _test_rows(served, n_rows, seed)
    rng = np.random.default_rng(seed + 1)
    out = []
    for r in rows:
        base = served.body(np.asarray(served.data.X_test[r:r + 1], dtype=np.float64))
        tx = base["transactions"][0]
        own = next(c for c in cats if tx[c] == 1)
        others = [c for c in cats if c != own]
        changes = {
            "negative amount": ("amount", -abs(tx["amount"]) or -1.0),
            "amount of 1e30": ("amount", 1e30),
            "hour 99": ("hour", 99.0),
            "two merchant categories": (others[int(rng.integers(len(others)))], 1.0),
            "category value 7": (own, 7.0),
            "terminal fraud rate 500%": ("term_fraud_rate_28d_delayed", 5.0),
            "negative transaction count": ("cust_n_tx_7d", -4.0),
        }
        for kind in ABSURD_FRAUD_KINDS:
            feature, value = changes[kind]
            body = {"transactions": [{**tx, feature: float(value)}]}
            out.append({"kind": kind, "feature": feature, "value": float(value),
                        "row": int(r), "body": body})
    return pd.DataFrame(out)


def nonfinite_fraud_bodies(served, *, row: int = 0) -> pd.DataFrame:
    """Raw JSON bodies (bytes) of one honest test transaction (test row ``row``), broken in the
    ways of :data:`NONFINITE_FRAUD_CASES`: NaN and infinities written as Python's ``json`` writes
    them (``NaN``, ``Infinity``), the number ``1e400``, an invalid body with and without a NaN,
    and a lone surrogate (``"\\ud800"``) in place of a number.

    Returns one row per body: ``case``, ``what`` (the description), ``invalid_shape`` (True when
    the body would fail even a shapes-only schema), ``has_nonfinite``, ``control`` (True for the
    control, which is not an attack: the rates of :class:`MalformedTrial` leave it out) and
    ``raw`` (bytes).
    Introduced in lab 12 (API security).
    """
    served = _check_served(served)
    row = check_int(row, "row", minimum=0, maximum=len(served.data.X_test) - 1)
    tx = served.body(np.asarray(served.data.X_test[row:row + 1], dtype=np.float64)
                     )["transactions"][0]
    no_hour = {k: v for k, v in tx.items() if k != "hour"}

    def dump(transaction) -> bytes:
        return json.dumps({"transactions": [transaction]}, allow_nan=True).encode()

    bodies = {
        "amount NaN": (dump({**tx, "amount": math.nan}), False, True),
        "amount Infinity": (dump({**tx, "amount": math.inf}), False, True),
        "hour -Infinity": (dump({**tx, "hour": -math.inf}), False, True),
        # 1e400 is a legal JSON number; Python's json parses it to float("inf").
        "amount 1e400": (dump({**tx, "amount": 1.0}).replace(b'"amount": 1.0', b'"amount": 1e400'),
                         False, True),
        "amount NaN, hour missing": (dump({**no_hour, "amount": math.nan}), True, True),
        "hour missing (control, no NaN)": (dump(no_hour), True, False),
        # json.dumps escapes the lone surrogate as \ud800 (legal JSON text); json.loads gives
        # back a str that cannot be encoded as UTF-8.
        "amount = lone surrogate": (dump({**tx, "amount": "\ud800"}), True, False),
    }
    return pd.DataFrame([{"case": case, "what": NONFINITE_FRAUD_CASES[case],
                          "invalid_shape": invalid, "has_nonfinite": nonfinite,
                          "control": case.endswith("(control, no NaN)"), "raw": raw}
                         for case, (raw, invalid, nonfinite) in bodies.items()])


def send_fraud_body(client, headers: Mapping[str, str], *, body: Mapping | None = None,
                    raw: bytes | None = None, clock=None, path: str = FRAUD_PREDICT_PATH):
    """POST one predict body (``body`` as JSON, or ``raw`` bytes as ``application/json``) and
    return ``(response, waited_s)``.

    With ``clock`` (the API's :class:`~.common.ManualClock`), a 429 answer with ``Retry-After``
    is waited out by moving the clock that many seconds and sending again (a patient client;
    ``waited_s`` is the total), so the answer is the API's verdict on the body, not on the rate.
    Introduced in lab 12 (API security).
    """
    client = _check_client(client)
    headers = _check_headers(headers)
    clock = _check_clock(clock)
    path = check_str(path, "path")
    if (body is None) == (raw is None):
        raise ValueError("give body (a JSON-ready dict) or raw (bytes), exactly one")
    if raw is not None and not isinstance(raw, (bytes, bytearray)):
        raise ArgumentTypeError(f"raw must be bytes, got {type(raw).__name__}")
    if body is not None and not isinstance(body, Mapping):
        raise ArgumentTypeError(f"body must be a dict, got {type(body).__name__}")
    if raw is not None:
        kwargs = {"content": bytes(raw),
                  "headers": {**headers, "content-type": "application/json"}}
    else:
        kwargs = {"json": dict(body), "headers": headers}
    waited = 0.0
    for _ in range(_MAX_WAITS + 1):
        response = client.post(path, **kwargs)
        retry = response.headers.get("retry-after")
        if response.status_code != 429 or clock is None or retry is None:
            return response, waited
        clock.advance(float(retry))
        waited += float(retry)
    raise RuntimeError(f"still throttled after waiting {waited:g} s over {_MAX_WAITS} tries")


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


@dataclass(frozen=True)
class MalformedTrial:
    """Malformed fraud inputs and honest transactions sent to one API, with the answers.

    Introduced in lab 12 (API security).
    """

    api: str
    """The name of the API (``"weak"``, ``"hardened"``)."""
    responses: pd.DataFrame
    """One row per malformed body: ``group`` (``"absurd"`` or ``"non-finite"``), ``kind``,
    ``control`` (the control body, left out of every rate), ``status``, ``scored`` (200 with a
    label for the transaction), ``answer`` (the response text, shortened)."""
    honest: pd.DataFrame
    """One row per honest test transaction: ``row`` (test position), ``status`` of its batch,
    ``label`` the API gave (-1 when not served)."""
    waited_s: float
    """Seconds the client waited out the rate limit (on the injected clock)."""

    @property
    def attacks(self) -> pd.DataFrame:
        """The rows of :attr:`responses` that are attacks (the control left out)."""
        return self.responses[~self.responses["control"]]

    def _rate(self, mask, what: str) -> Rate:
        return proportion(np.asarray(mask, dtype=bool), on=what)

    @property
    def absurd_scored(self) -> Rate:
        """Share of the absurd bodies answered 200 with a label (scored as if real)."""
        a = self.attacks[self.attacks["group"] == "absurd"]
        return self._rate(a["scored"], f"{len(a)} absurd transactions")

    @property
    def nonfinite_server_errors(self) -> Rate:
        """Share of the non-finite and malformed raw bodies (the control left out) answered
        with a 5xx."""
        n = self.attacks[self.attacks["group"] == "non-finite"]
        return self._rate(n["status"] >= 500, f"{len(n)} non-finite or malformed bodies")

    @property
    def refused(self) -> Rate:
        """Share of the malformed bodies (the control left out) refused with 422."""
        return self._rate(self.attacks["status"] == 422, f"{len(self.attacks)} malformed bodies")

    @property
    def server_errors(self) -> Rate:
        """Share of the malformed bodies (the control left out) answered with a 5xx."""
        return self._rate(self.attacks["status"] >= 500, f"{len(self.attacks)} malformed bodies")

    @property
    def attack_success(self) -> Rate:
        """Share of the malformed bodies (the control left out) not refused with a 4xx:
        scored (200) or a server error."""
        status = self.attacks["status"]
        return self._rate((status < 400) | (status >= 500),
                          f"{len(self.attacks)} malformed bodies")

    @property
    def honest_served(self) -> Rate:
        """Share of the honest test transactions answered with a label."""
        return self._rate(self.honest["label"] >= 0,
                          f"{len(self.honest)} honest test transactions")


def malformed_input_trial(client, served, headers: Mapping[str, str], *, name: str,
                          absurd: pd.DataFrame, nonfinite: pd.DataFrame, n_honest: int = 160,
                          seed: int = 0, clock=None,
                          path: str = FRAUD_PREDICT_PATH) -> MalformedTrial:
    """Send the malformed bodies (``absurd`` from :func:`absurd_fraud_bodies`, ``nonfinite``
    from :func:`nonfinite_fraud_bodies`) and ``n_honest`` seeded legitimate test transactions
    (in batches of ``served.max_batch``) to one API, and record every answer.

    ``clock``: the API's clock, to wait out its rate limit (:func:`send_fraud_body`). Returns a
    :class:`MalformedTrial`. Introduced in lab 12 (API security).
    """
    served = _check_served(served)
    name = check_str(name, "name")
    n_honest = check_int(n_honest, "n_honest")
    seed = check_seed(seed)
    for frame, label, cols in ((absurd, "absurd", ("kind", "body")),
                               (nonfinite, "nonfinite", ("case", "raw"))):
        if not isinstance(frame, pd.DataFrame) or not set(cols) <= set(frame.columns):
            raise ArgumentTypeError(f"{label} must be the DataFrame of "
                                    f"{label}_fraud_bodies (columns {list(cols)})")
    rows, waited = [], 0.0
    for kind, body in zip(absurd["kind"], absurd["body"], strict=True):
        response, w = send_fraud_body(client, headers, body=body, clock=clock, path=path)
        waited += w
        rows.append(_answer_row("absurd", kind, False, response))
    controls = nonfinite["control"] if "control" in nonfinite else [False] * len(nonfinite)
    for case, raw, control in zip(nonfinite["case"], nonfinite["raw"], controls, strict=True):
        response, w = send_fraud_body(client, headers, raw=raw, clock=clock, path=path)
        waited += w
        rows.append(_answer_row("non-finite", case, bool(control), response))
    honest_rows = _test_rows(served, n_honest, seed + 2)
    labels = np.full(n_honest, -1, dtype=np.int64)
    statuses = np.zeros(n_honest, dtype=np.int64)
    batch = int(getattr(served, "max_batch", 32))
    for start in range(0, n_honest, batch):
        part = honest_rows[start:start + batch]
        body = served.body(np.asarray(served.data.X_test[part], dtype=np.float64))
        response, w = send_fraud_body(client, headers, body=body, clock=clock, path=path)
        waited += w
        statuses[start:start + len(part)] = response.status_code
        if response.status_code == 200:
            got = response.json().get("labels", [])
            if len(got) == len(part):
                labels[start:start + len(part)] = got
    honest = pd.DataFrame({"row": honest_rows, "status": statuses, "label": labels})
    return MalformedTrial(api=name, responses=pd.DataFrame(rows), honest=honest,
                          waited_s=waited)


def _answer_row(group: str, kind: str, control: bool, response) -> dict:
    scored = False
    if response.status_code == 200:
        try:
            scored = len(response.json().get("labels", [])) == 1
        except ValueError:
            scored = False
    return {"group": group, "kind": kind, "control": control,
            "status": int(response.status_code),
            "scored": scored, "answer": _short(response.text)}


# --- the adaptive attacker ------------------------------------------------------------------


class ApiDecisions:
    """A fraud scorer seen through the API with approve/decline answers only: what lab 02's
    attacks need (``predict_proba``), answered by HTTP requests.

    ``predict_proba(X)`` sends the rows (``fraud_sim.FEATURES`` columns) in batches of
    ``served.max_batch`` and returns ``[1 - label, label]`` per row: the attacker sees the
    decision, never a score. A row that fails the attacker's own copy of the strict validator
    (``served.request_model(strict=True)``: the attacker knows the validator) is not sent and
    counts as declined. 429 answers are waited out on ``clock``. Counters: ``requests``,
    ``rows_sent``, ``rows_discarded`` (failed the local validator), ``waited_s``,
    ``statuses`` (status -> count).

    Introduced in lab 12 (API security).
    """

    fitted_ = True

    def __init__(self, client, served, headers: Mapping[str, str], *, clock=None,
                 path: str = FRAUD_PREDICT_PATH):
        self.client = _check_client(client)
        self.served = _check_served(served)
        self.headers = _check_headers(headers)
        self.clock = _check_clock(clock)
        self.path = check_str(path, "path")
        self.validator = served.request_model(strict=True)
        self.names = list(served.feature_names)
        self.requests = 0
        self.rows_sent = 0
        self.rows_discarded = 0
        self.waited_s = 0.0
        self.statuses: dict[int, int] = {}

    def passes_validator(self, row: np.ndarray) -> bool:
        """Whether one row (in ``feature_names`` order) passes the strict validator."""
        from pydantic import ValidationError

        body = self.served.body(np.asarray(row, dtype=np.float64)[None, :])
        try:
            self.validator.model_validate(body)
        except ValidationError:
            return False
        return True

    def predict_proba(self, X) -> np.ndarray:
        """``[1 - label, label]`` per row of ``X``, from the API's answers (see the class)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.names):
            raise ValueError(f"X must be (n, {len(self.names)}) transactions, got {X.shape}")
        labels = np.ones(len(X), dtype=np.float64)  # declined unless the API approves
        ok = np.array([self.passes_validator(r) for r in X], dtype=bool)
        self.rows_discarded += int((~ok).sum())
        send = np.flatnonzero(ok)
        batch = int(getattr(self.served, "max_batch", 32))
        for start in range(0, len(send), batch):
            part = send[start:start + batch]
            response, waited = send_fraud_body(self.client, self.headers,
                                               body=self.served.body(X[part]), clock=self.clock,
                                               path=self.path)
            self.requests += 1
            self.rows_sent += len(part)
            self.waited_s += waited
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            if response.status_code == 200:
                labels[part] = np.asarray(response.json()["labels"], dtype=np.float64)
        return np.column_stack([1.0 - labels, labels])


@dataclass(frozen=True)
class ApiEvasion:
    """The adaptive attacker's run through the API (:func:`api_fraud_evasion`).

    Introduced in lab 12 (API security).
    """

    plan: pd.DataFrame
    """Lab 02's plan per attacked fraud (``evasion.FraudAttackResult.plan``: scenario, moves,
    ``evaded``, ``queries``, ``valid``) plus ``replayed_approved`` (every part of the final
    transaction approved when sent again through the API) and ``replayed_statuses``."""
    n_caught: int
    """Test frauds the API declined before the attack (the pool the targets were drawn from)."""
    n_test_frauds: int
    """Test frauds sent to find them."""
    api_requests: int
    """HTTP requests the attack sent (its candidates are scored in batches)."""
    rows_sent: int
    """Transactions those requests carried."""
    rows_discarded: int
    """Candidates the attacker's copy of the validator discarded before sending."""
    waited_s: float
    """Seconds waited out at the rate limit (injected clock)."""
    statuses: dict
    """HTTP status -> count over the attack's requests."""

    @property
    def evaded(self) -> Rate:
        """Share of the attacked frauds whose final transaction (every part) the API approved
        on replay."""
        return proportion(self.plan["replayed_approved"].to_numpy(dtype=bool),
                          on=f"{len(self.plan)} caught test frauds")

    @property
    def valid(self) -> Rate:
        """Share of the attacked frauds whose final transaction passes
        ``fraud_sim.check_constraints`` (a transaction that could happen)."""
        return proportion(self.plan["valid"].to_numpy(dtype=bool),
                          on=f"{len(self.plan)} caught test frauds")


def api_fraud_evasion(client, served, headers: Mapping[str, str], *, n_frauds: int = 30,
                      query_budget: int = 100, seed: int = 0, clock=None,
                      path: str = FRAUD_PREDICT_PATH, progress: bool | str = False
                      ) -> ApiEvasion:
    """The adaptive attacker who knows the validator: lab 02's constrained evasion through the
    API, approve/decline answers only.

    First every test fraud is sent to the API (``served.data``'s test split); the ones it
    declines are the caught frauds, and ``n_frauds`` of them are drawn (``seed``). For each,
    ``evasion.constrained_fraud_attack(access="decision")`` changes only what the fraudster
    controls (category and channel, the hour, splitting the payment), recomputes the history
    features with ``fraud_sim.derive_features`` (history: the train and test frames) and asks
    :class:`ApiDecisions` for decisions: every value it sends is finite and in range, because
    candidates that fail the attacker's copy of the validator are never sent. ``queries`` in the
    plan is lab 02's count: the parts a fraudster submits in time order until one is declined,
    at most ``query_budget`` per fraud. Finally every part of each final transaction is sent
    again through the API; a fraud counts as evaded when all its parts are approved.

    Returns an :class:`ApiEvasion`. Introduced in lab 12 (API security).
    """
    from .. import evasion

    served = _check_served(served)
    n_frauds = check_int(n_frauds, "n_frauds")
    query_budget = check_int(query_budget, "query_budget")
    seed = check_seed(seed)
    data = served.data
    if getattr(data, "frame_train", None) is None or getattr(data, "frame_test", None) is None:
        raise ValueError("served.data must be the fraud dataset with its frames "
                         "(load_dataset('fraud', seed=0))")
    frauds = np.flatnonzero(np.asarray(data.y_test) == 1)
    scan = ApiDecisions(client, served, headers, clock=clock, path=path)
    declined = scan.predict_proba(data.X_test[frauds])[:, 1] >= 0.5
    caught = frauds[declined]
    if len(caught) < n_frauds:
        raise ValueError(f"only {len(caught)} test frauds are declined by this API; ask for "
                         f"n_frauds <= {len(caught)}")
    targets = np.sort(np.random.default_rng(seed).choice(caught, size=n_frauds, replace=False))
    history = pd.concat([data.frame_train, data.frame_test], ignore_index=True)
    n_train = len(data.frame_train)
    threshold = float(getattr(served, "threshold", 0.5))
    scorer = ApiDecisions(client, served, headers, clock=clock, path=path)
    result = evasion.constrained_fraud_attack(
        scorer, history, n_train + targets, threshold, access="decision", seed=seed,
        query_budget=query_budget, progress=progress)
    counts = (scorer.requests, scorer.rows_sent, scorer.rows_discarded, scorer.waited_s,
              dict(scorer.statuses))
    plan = result.plan.copy()
    approved, statuses = [], []
    tx = result.transactions
    for r in plan["row"]:
        parts = tx[tx["attack_target"] == r] if len(tx) else tx
        if parts.empty:
            approved.append(False)
            statuses.append("")
            continue
        X = parts[list(fraud_sim.FEATURES)].to_numpy(dtype=np.float64)
        response, _ = send_fraud_body(client, headers, body=served.body(X), clock=clock,
                                      path=path)
        labels = response.json().get("labels", []) if response.status_code == 200 else []
        approved.append(response.status_code == 200 and len(labels) == len(X)
                        and not any(labels))
        statuses.append(str(response.status_code))
    plan["replayed_approved"] = approved
    plan["replayed_statuses"] = statuses
    return ApiEvasion(plan=plan, n_caught=int(len(caught)), n_test_frauds=int(len(frauds)),
                      api_requests=counts[0], rows_sent=counts[1], rows_discarded=counts[2],
                      waited_s=float(counts[3]), statuses=counts[4])


# --- pen test ----------------------------------------------------------------------------------


def fraud_pentest_cases(served, headers: Mapping[str, str], *, threat: str = "FRD-T1",
                        before: Callable[[], object] | None = None,
                        path: str = FRAUD_PREDICT_PATH) -> list:
    """The section's pen-test cases (``pentest.PenTestCase``), each expected to get 422: NaN
    input, infinite input, out-of-range input (amount 1e30), wrong type (the amount as text),
    missing field (no hour), extra field (an unknown key). Built on the first test transaction;
    ``before`` runs before each case (e.g. to move the API's clock past its rate limit).
    Introduced in lab 12 (API security).
    """
    from .pentest import PenTestCase

    served = _check_served(served)
    headers = _check_headers(headers)
    threat = check_str(threat, "threat")
    if before is not None and not callable(before):
        raise ArgumentTypeError("before must be callable (or None)")
    tx = served.body(np.asarray(served.data.X_test[:1], dtype=np.float64))["transactions"][0]

    def raw(transaction) -> bytes:
        return json.dumps({"transactions": [transaction]}, allow_nan=True).encode()

    cases = [
        ("NaN input", {"raw": raw({**tx, "amount": math.nan})}),
        ("infinite input", {"raw": raw({**tx, "amount": math.inf})}),
        ("out-of-range input", {"body": {"transactions": [{**tx, "amount": 1e30}]}}),
        ("wrong type (amount as text)", {"body": {"transactions": [{**tx, "amount": "ten"}]}}),
        ("missing field (no hour)",
         {"body": {"transactions": [{k: v for k, v in tx.items() if k != "hour"}]}}),
        ("extra field", {"body": {"transactions": [{**tx, "merchant_note": "vip"}]}}),
    ]
    return [PenTestCase(name=name, system="fraud", threat=threat, method="POST", path=path,
                        headers=headers, expected=422, before=before, **payload)
            for name, payload in cases]
