"""Tests of mlsec_helpers.fraud_sim: the simulated card transactions with fraud."""

import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsec_helpers import fraud_sim as fs

LAB00 = "Introduced in lab 00 (Meet the five systems)."
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def frames():
    return {seed: fs.simulate_transactions(seed=seed) for seed in (0, 1)}


@pytest.fixture(scope="module")
def small():
    return fs.simulate_transactions(n_customers=80, n_terminals=120, n_days=45, seed=3)


# ----------------------------------------------------------------------------- API


def test_public_api_documented():
    for name in fs.__all__:
        assert hasattr(fs, name), name
    for func in (
        fs.simulate_transactions,
        fs.check_constraints,
        fs.feature_matrix,
        fs.derive_features,
    ):
        assert LAB00 in inspect.getdoc(func), func.__name__
    assert fs.TARGET == "is_fraud"
    assert len(fs.FEATURES) == len(set(fs.FEATURES))
    assert len(fs.MERCHANT_CATEGORIES) >= 8
    assert set(fs.ONLINE_CATEGORIES) | set(fs.IN_PERSON_CATEGORIES) == set(fs.MERCHANT_CATEGORIES)
    assert {"customer_age", "customer_region", "fraud_scenario", "is_fraud"}.isdisjoint(fs.FEATURES)


def test_scenarios_documented():
    assert fs.SCENARIOS[0]["name"] == "legitimate"
    fraud_keys = [k for k in fs.SCENARIOS if k > 0]
    assert len(fraud_keys) >= 3
    for entry in fs.SCENARIOS.values():
        assert {"name", "description", "signature"} <= set(entry)
        assert all(isinstance(entry[k], str) and entry[k] for k in entry)


def test_attacker_constraints_cover_features():
    keys = set(fs.ATTACKER_CONSTRAINTS) - {"actions"}
    assert keys == set(fs.FEATURES)
    for col in fs.FEATURES:
        spec = fs.ATTACKER_CONSTRAINTS[col]
        assert spec["kind"] in {"continuous", "integer", "binary", "categorical"}, col
        assert spec["min"] <= spec["max"], col
        assert isinstance(spec["note"], str) and spec["note"], col
        assert isinstance(spec["controllable"], bool), col
        # A feature is either set by the fraudster or derived from raw columns.
        assert spec["controllable"] != bool(spec["derived_from"]), col
    controllable = {c for c in fs.FEATURES if fs.ATTACKER_CONSTRAINTS[c]["controllable"]}
    assert controllable == {"amount", "hour", "is_online"} | {
        f"cat_{c}" for c in fs.MERCHANT_CATEGORIES
    }
    actions = {a["name"] for a in fs.ATTACKER_CONSTRAINTS["actions"]}
    assert {
        "change_amount",
        "choose_category",
        "choose_hour",
        "choose_channel",
        "split_payment",
    } <= actions


def test_datasheet():
    sheet = fs.DATASHEET
    for key in (
        "name",
        "version",
        "source",
        "licence",
        "citation",
        "row",
        "columns",
        "scenarios",
        "known_biases",
        "limits",
    ):
        assert sheet[key], key
    assert sheet["licence"].startswith("CC0-1.0")
    assert "Le Borgne" in sheet["citation"] and "handbook" in sheet["citation"]
    assert "seeded" in sheet["source"]


# ----------------------------------------------------------------------- the frame


def test_size_columns_and_types(frames):
    df = frames[0]
    assert 40_000 <= len(df) <= 80_000
    for col in (
        "transaction_id",
        "timestamp",
        "day",
        "hour",
        "customer_id",
        "terminal_id",
        "amount",
        "merchant_category",
        "is_online",
        *fs.FEATURES,
        "is_fraud",
        "fraud_scenario",
        "customer_age",
        "customer_region",
    ):
        assert col in df.columns, col
    assert pd.api.types.is_datetime64_any_dtype(df["timestamp"])
    assert df["timestamp"].min() >= pd.Timestamp("2026-01-01")
    assert df["timestamp"].max() < pd.Timestamp("2026-01-01") + 60 * DAY
    assert df["timestamp"].is_monotonic_increasing and df["timestamp"].is_unique
    assert (df["transaction_id"].to_numpy() == np.arange(len(df))).all()
    assert df["day"].between(0, 59).all() and df["hour"].between(0, 23).all()
    assert (df["amount"] > 0).all()
    assert np.allclose(df["amount"], df["amount"].round(2))
    assert set(df["merchant_category"]) <= set(fs.MERCHANT_CATEGORIES)
    assert set(df["is_online"]) <= {0, 1}
    assert df["customer_age"].between(18, 90).all()
    assert set(df["customer_region"]) == set(fs.REGIONS)
    assert df["customer_id"].nunique() > 1900
    assert set(df["is_fraud"]) == {0, 1}
    assert ((df["fraud_scenario"] > 0) == (df["is_fraud"] == 1)).all()
    # Regions differ in base spending (something for the bias lab to study).
    medians = df[df["is_fraud"] == 0].groupby("customer_region")["amount"].median()
    assert medians["central"] > 1.3 * medians["south"]


def test_fraud_rate_and_scenario_shares(frames):
    for df in frames.values():
        rate = df["is_fraud"].mean()
        assert 0.005 <= rate <= 0.02
        shares = df.loc[df["is_fraud"] == 1, "fraud_scenario"].value_counts(normalize=True)
        assert len(shares) >= 3
        for scenario in (k for k in fs.SCENARIOS if k > 0):
            assert shares[scenario] >= 0.15, (scenario, shares.to_dict())


def test_compromised_terminal_hits_many_customers(frames):
    s2 = frames[0][frames[0]["fraud_scenario"] == 2]
    assert s2["customer_id"].nunique() >= 50
    assert (s2["is_online"] == 0).all()
    # Their amounts are ordinary: close to the customer's 30-day mean.
    assert s2["amount_to_cust_mean_30d"].median() < 2.5


def test_not_trivially_separable(frames):
    df = frames[0]
    legit, fraud = df[df["is_fraud"] == 0], df[df["is_fraud"] == 1]
    # Legitimate outliers: large purchases, night transactions, new categories.
    assert (legit["amount_to_cust_mean_30d"] > 5).sum() > 100
    assert legit["hour"].isin(range(0, 6)).sum() > 500
    assert (legit["hour_unusual"] == 1).sum() > 100
    # Mild frauds: close to the customer's habit.
    assert (fraud["amount_to_cust_mean_30d"] < 1.5).mean() > 0.2


def test_deterministic_and_seed_dependent(frames):
    again = fs.simulate_transactions(seed=0)
    pd.testing.assert_frame_equal(frames[0], again)
    assert len(frames[0]) != len(frames[1]) or not frames[0].equals(frames[1])
    small_a = fs.simulate_transactions(n_customers=60, n_terminals=80, n_days=20, seed=5)
    small_b = fs.simulate_transactions(n_customers=60, n_terminals=80, n_days=20, seed=6)
    assert (
        not small_a["amount"]
        .reset_index(drop=True)
        .equals(small_b["amount"].reset_index(drop=True))
    )


# ------------------------------------------------------------ history features


def _slow_history(df, i):
    """Recompute the history features of row i by brute force (strictly earlier rows)."""
    row = df.iloc[i]
    t = row["timestamp"]
    cust = df[(df["customer_id"] == row["customer_id"]) & (df["timestamp"] < t)]
    term = df[(df["terminal_id"] == row["terminal_id"]) & (df["timestamp"] < t)]
    last30 = cust[cust["timestamp"] >= t - 30 * DAY]
    last7 = cust[cust["timestamp"] >= t - 7 * DAY]
    near = np.minimum((cust["hour"] - row["hour"]) % 24, (row["hour"] - cust["hour"]) % 24)
    delayed = term[(term["timestamp"] >= t - 35 * DAY) & (term["timestamp"] < t - 7 * DAY)]
    mean30 = last30["amount"].mean() if len(last30) else 0.0
    return {
        "cust_n_tx_1d": int((cust["timestamp"] >= t - DAY).sum()),
        "cust_n_tx_7d": len(last7),
        "cust_mean_amount_7d": last7["amount"].mean() if len(last7) else 0.0,
        "cust_mean_amount_30d": mean30,
        "amount_to_cust_mean_30d": row["amount"] / mean30 if len(last30) else 1.0,
        "cust_new_category": int(not (cust["merchant_category"] == row["merchant_category"]).any()),
        "hour_unusual": int(len(cust) >= 10 and (near <= 2).sum() < 0.05 * len(cust)),
        "secs_since_last_tx": min(
            (t - cust["timestamp"].max()).total_seconds(), fs.SECS_SINCE_LAST_CAP
        )
        if len(cust)
        else fs.SECS_SINCE_LAST_CAP,
        "term_n_tx_7d": int((term["timestamp"] >= t - 7 * DAY).sum()),
        "term_fraud_rate_28d_delayed": delayed["is_fraud"].mean() if len(delayed) else 0.0,
    }


def test_history_features_match_slow_loop(small):
    rng = np.random.default_rng(0)
    rows = rng.choice(len(small), size=150, replace=False)
    # Make sure frauds and late rows (long histories) are among the checked rows.
    rows = np.concatenate(
        [
            rows,
            np.flatnonzero(small["is_fraud"].to_numpy())[:30],
            np.arange(len(small) - 20, len(small)),
        ]
    )
    for i in rows:
        expected = _slow_history(small, int(i))
        for col, value in expected.items():
            assert small.iloc[i][col] == pytest.approx(value, rel=1e-9, abs=1e-9), (i, col)
    assert small["term_fraud_rate_28d_delayed"].max() > 0  # the delayed rate is exercised
    assert small["hour_unusual"].sum() > 0


def test_no_future_leakage(small):
    cut = pd.Timestamp("2026-01-01") + 25 * DAY
    past = small[small["timestamp"] < cut]
    recomputed = fs.derive_features(past)
    cols = list(fs.FEATURES)
    pd.testing.assert_frame_equal(recomputed[cols], small.loc[past.index, cols])
    # Labels reach the features only after 7 days: flipping every label from `cut` on
    # changes nothing before cut + 7 days.
    flipped = small.copy()
    late = flipped["timestamp"] >= cut
    flipped.loc[late, "is_fraud"] = 1 - flipped.loc[late, "is_fraud"]
    redone = fs.derive_features(flipped)
    early = small["timestamp"] < cut + 7 * DAY
    pd.testing.assert_frame_equal(redone.loc[early, cols], small.loc[early, cols])
    assert not redone.loc[~early, cols].equals(small.loc[~early, cols])


def test_derive_features_reproduces_frame(small):
    pd.testing.assert_frame_equal(fs.derive_features(small), small)
    with pytest.raises(ValueError, match="terminal_id"):
        fs.derive_features(small.drop(columns=["terminal_id"]))


def test_split_payment_recomputes_velocity(small):
    """The split-payment action: add k rows, recompute, the rows stay valid."""
    splittable = (small["amount"] > 100) & (small["merchant_category"] != "cash_withdrawal")
    i = int(np.flatnonzero(splittable.to_numpy())[0])
    row = small.iloc[i]
    k = 3
    parts = pd.DataFrame([row] * k).reset_index(drop=True)
    parts["amount"] = [round(row["amount"] / k, 2)] * (k - 1) + [
        round(row["amount"] - (k - 1) * round(row["amount"] / k, 2), 2)
    ]
    parts["timestamp"] = [row["timestamp"] + pd.Timedelta(minutes=5 * j) for j in range(k)]
    parts = parts.astype(small.dtypes.to_dict())
    attacked = pd.concat([small.drop(index=small.index[i]), parts], ignore_index=True)
    attacked = fs.derive_features(attacked).sort_values("timestamp", kind="stable")
    assert fs.check_constraints(attacked).all()
    new = attacked[attacked["transaction_id"] == row["transaction_id"]]  # the k parts
    assert len(new) == k
    assert list(new["cust_n_tx_1d"]) == [row["cust_n_tx_1d"] + j for j in range(k)]
    assert new["amount"].sum() == pytest.approx(row["amount"])


# ---------------------------------------------------------------- constraints


def test_simulated_rows_respect_constraints(frames, small):
    for df in (*frames.values(), small):
        valid = fs.check_constraints(df)
        assert valid.dtype == bool and valid.index.equals(df.index)
        assert valid.all()


@pytest.mark.parametrize(
    "change",
    [
        {"amount": -5.0},
        {"amount": 0.0},
        {"amount": 12.345},
        {"amount": fs.AMOUNT_MAX + 1},
        {"amount": np.nan},
        {"hour": 25},
        {"hour": 3.5},
        {"merchant_category": "jewellery"},
        {"is_online": 2},
        {"is_online": 0.5},
        {"cat_grocery": 1},
        {"cust_n_tx_1d": -1},
        {"cust_n_tx_1d": 10_000},
        {"term_fraud_rate_28d_delayed": 1.5},
        {"amount_to_cust_mean_30d": 123.0},
        {"secs_since_last_tx": 5.0},
        {"cust_new_category": 2},
    ],
)
def test_check_constraints_flags_invalid_rows(frames, change):
    df = frames[0].iloc[30_000:30_400].copy()
    # A restaurant payment with history in the last 7 days but not in the last 24 hours:
    # valid before the change, invalid after it, and the other rows stay valid.
    candidates = df[
        (df["merchant_category"] == "restaurant")
        & (df["cust_n_tx_7d"] > 0)
        & (df["cust_n_tx_1d"] == 0)
    ]
    i = candidates.index[0]
    assert fs.check_constraints(df).all()
    for col, value in change.items():
        df[col] = df[col].astype(float) if not isinstance(value, str) else df[col]
        df.loc[i, col] = value
    valid = fs.check_constraints(df)
    assert not valid[i]
    assert valid.drop(index=i).all()


def test_check_constraints_channel_and_category(frames):
    df = frames[0].head(2000).copy()
    cash = df.index[df["merchant_category"] == "cash_withdrawal"][0]
    web = df.index[df["merchant_category"] == "online_retail"][0]
    df.loc[cash, "is_online"] = 1  # no online cash withdrawal
    df.loc[web, "is_online"] = 0  # online retail is never in person
    valid = fs.check_constraints(df)
    assert not valid[cash] and not valid[web]
    assert valid.drop(index=[cash, web]).all()
    # A one-hot that disagrees with merchant_category.
    df = frames[0].head(50).copy()
    row = df.index[df["merchant_category"] == "grocery"][0]
    df.loc[row, ["cat_grocery", "cat_restaurant"]] = [0, 1]
    assert not fs.check_constraints(df)[row]
    # Without the raw columns the one-hot alone is checked (and here valid).
    assert fs.check_constraints(df[list(fs.FEATURES)])[row]


def test_check_constraints_missing_columns(frames):
    with pytest.raises(ValueError, match="hour_unusual"):
        fs.check_constraints(frames[0].drop(columns=["hour_unusual"]))


# ------------------------------------------------------------ feature matrix, AUC


def test_feature_matrix(frames):
    x, y = fs.feature_matrix(frames[0])
    assert x.dtype == np.float32 and x.shape == (len(frames[0]), len(fs.FEATURES))
    assert np.issubdtype(y.dtype, np.integer) and set(np.unique(y)) == {0, 1}
    assert np.isfinite(x).all()
    assert (x[:, fs.FEATURES.index("amount")] == frames[0]["amount"].to_numpy(np.float32)).all()
    with pytest.raises(ValueError, match=r"amount.*is_fraud"):
        fs.feature_matrix(frames[0].drop(columns=["amount", "is_fraud"]))


@pytest.mark.parametrize("seed", [0, 1])
def test_auc_band(frames, seed):
    x, y = fs.feature_matrix(frames[seed])
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
    trees = HistGradientBoostingClassifier(random_state=0, max_iter=200, learning_rate=0.1)
    auc_trees = roc_auc_score(y_te, trees.fit(x_tr, y_tr).predict_proba(x_te)[:, 1])
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    auc_linear = roc_auc_score(y_te, linear.fit(x_tr, y_tr).predict_proba(x_te)[:, 1])
    assert 0.88 <= auc_trees <= 0.97, auc_trees
    assert 0.75 < auc_linear <= auc_trees - 0.02, (auc_linear, auc_trees)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_customers": 10}, ValueError, "n_customers must be >= 50"),
        ({"n_customers": 100.0}, TypeError, "n_customers must be an int"),
        ({"n_customers": "2000"}, TypeError, "n_customers must be an int"),
        ({"n_terminals": 49}, ValueError, "n_terminals must be >= 50"),
        ({"n_terminals": None}, TypeError, "n_terminals must be an int"),
        ({"n_days": 13}, ValueError, "n_days must be >= 14"),
        ({"n_days": True}, TypeError, "n_days must be an int"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
        ({"seed": None}, TypeError, "seed must be an int"),
    ],
)
def test_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        fs.simulate_transactions(**kwargs)


def test_numpy_integers_accepted():
    df = fs.simulate_transactions(
        n_customers=np.int64(50), n_terminals=50, n_days=14, seed=np.int32(1)
    )
    assert len(df) > 0 and fs.check_constraints(df).all()


def test_numbers_quoted_in_the_datasheet(frames):
    """datasets/fraud_transactions.md quotes these numbers; update it when they change."""
    quoted = {
        0: (71_576, 749, {1: 209, 2: 202, 3: 188, 4: 150}),
        1: (69_749, 729, {1: 203, 2: 198, 3: 182, 4: 146}),
    }
    for seed, (n_rows, n_fraud, per_scenario) in quoted.items():
        df = frames[seed]
        assert len(df) == n_rows
        assert int(df["is_fraud"].sum()) == n_fraud
        counts = df.loc[df["is_fraud"] == 1, "fraud_scenario"].value_counts().to_dict()
        assert counts == per_scenario


def test_the_documented_constraints_are_read_only():
    with pytest.raises(TypeError):
        fs.ATTACKER_CONSTRAINTS["amount"]["max"] = 1e9
    with pytest.raises(TypeError):
        fs.ATTACKER_CONSTRAINTS["hour"] = {}


def test_log_heavy_tails_logs_only_the_heavy_tailed_columns():
    X = np.arange(2 * len(fs.FEATURES), dtype=float).reshape(2, -1)
    out = fs.log_heavy_tails(X)
    for j, name in enumerate(fs.FEATURES):
        expected = np.log1p(X[:, j]) if name in fs.HEAVY_TAILED_FEATURES else X[:, j]
        np.testing.assert_allclose(out[:, j], expected)
    assert X[0, 0] == 0.0 and X[1, 0] == len(fs.FEATURES)  # the input is left as it was
    with pytest.raises(ValueError, match="23 fraud features"):
        fs.log_heavy_tails(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="negative"):
        fs.log_heavy_tails(-np.ones((1, len(fs.FEATURES))))
