"""What every domain of lab 09 shares: splitting data across clients, the federation loop, the
aggregation rules, the Byzantine clients, norm clipping, differential privacy on updates and
secure aggregation by pairwise masking.

Models travel as flat float vectors (``flat_params`` / ``set_flat_params`` convert a torch
module), and an *update* is a client's new parameters minus the global ones. The aggregation
rules are Flower's own (``flwr.server.strategy.aggregate``: the weighted mean of FedAvg, the
coordinate-wise median, the trimmed mean, Krum and Multi-Krum), called without Flower's engine
so that one lab can run dozens of federations in seconds; the same rules drive the Flower app
of :mod:`mlsec_helpers.federated.flower_app`.

Introduced in lab 09 (Federated learning).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np
from flwr.server.strategy.aggregate import (
    aggregate as flwr_weighted_mean,
)
from flwr.server.strategy.aggregate import (
    aggregate_krum as flwr_krum,
)
from flwr.server.strategy.aggregate import (
    aggregate_median as flwr_median,
)
from flwr.server.strategy.aggregate import (
    aggregate_trimmed_avg as flwr_trimmed_mean,
)
from flwr.supercore.differential_privacy import compute_stdv
from scipy.stats import norm as normal_distribution

from ..validate import (
    ArgumentTypeError,
    check_array,
    check_choice,
    check_fraction,
    check_int,
    check_labels,
    check_number,
    check_positive,
    check_seed,
    check_vector,
)
from .results import FederationRun, SecureAggregation, Standardiser

__all__ = [
    "client_dp_epsilon",
    "directed_push",
    "logistic_clients",
    "logistic_steps",
    "logistic_scores",
    "secure_standardiser",
    "AGGREGATION_RULES",
    "aggregate",
    "clip_updates",
    "dirichlet_split",
    "directed_deviation",
    "dp_noise_std",
    "flat_params",
    "gaussian_updates",
    "iid_split",
    "little_is_enough",
    "pairwise_masks",
    "run_federation",
    "secure_aggregate",
    "set_flat_params",
    "sign_flip",
    "update_norms",
]

AGGREGATION_RULES = ("fedavg", "median", "trimmed_mean", "krum", "multi_krum")
"""The server's aggregation rules, in the order the lab shows them."""


# --- splitting data across clients -------------------------------------------------------------


def iid_split(n: int, n_clients: int, *, seed: int = 0) -> list[np.ndarray]:
    """Shuffle ``range(n)`` and deal it into ``n_clients`` parts of (nearly) equal size.

    Introduced in lab 09 (Federated learning).
    """
    n = check_int(n, "n")
    n_clients = check_int(n_clients, "n_clients", minimum=2)
    if n < n_clients:
        raise ValueError(f"cannot split {n} rows across {n_clients} clients")
    order = np.random.default_rng(check_seed(seed)).permutation(n)
    return [np.sort(part) for part in np.array_split(order, n_clients)]


def dirichlet_split(y, n_clients: int, alpha: float, *, seed: int = 0,
                    min_size: int = 10) -> list[np.ndarray]:
    """A non-IID split: each class's rows are dealt to the clients in proportions drawn from a
    Dirichlet(``alpha``) distribution (Hsu et al., 2019), redrawn until every client holds at
    least ``min_size`` rows. Small ``alpha`` (0.1) gives each client a few classes; large
    ``alpha`` (100) is close to IID.

    Introduced in lab 09 (Federated learning).
    """
    y = check_labels(y)
    n_clients = check_int(n_clients, "n_clients", minimum=2)
    alpha = check_positive(alpha, "alpha")
    min_size = check_int(min_size, "min_size", minimum=0)
    if len(y) < n_clients * min_size:
        raise ValueError(f"{len(y)} rows cannot give {n_clients} clients {min_size} rows each")
    rng = np.random.default_rng(check_seed(seed))
    for _ in range(1000):
        parts: list[list[int]] = [[] for _ in range(n_clients)]
        for label in np.unique(y):
            rows = rng.permutation(np.flatnonzero(y == label))
            shares = rng.dirichlet(np.full(n_clients, alpha))
            cuts = (np.cumsum(shares)[:-1] * len(rows)).astype(int)
            for client, chunk in enumerate(np.split(rows, cuts)):
                parts[client].extend(chunk.tolist())
        if min(len(p) for p in parts) >= min_size:
            return [np.sort(np.asarray(p, dtype=int)) for p in parts]
    raise ValueError(f"no Dirichlet({alpha}) split gave every client {min_size} rows; "
                     "lower min_size or raise alpha")


# --- torch modules as flat vectors --------------------------------------------------------------


def flat_params(model) -> np.ndarray:
    """A torch module's parameters as one float64 vector (in ``model.parameters()`` order).

    Introduced in lab 09 (Federated learning).
    """
    import torch

    with torch.no_grad():
        return torch.nn.utils.parameters_to_vector(model.parameters()).double().cpu().numpy()


def set_flat_params(model, vector) -> None:
    """Write a flat vector (as :func:`flat_params` returns) into a torch module, in place.

    Introduced in lab 09 (Federated learning).
    """
    import torch

    n = sum(p.numel() for p in model.parameters())
    vector = check_array(vector, "vector", ndim=1, dtype=np.float64)
    if len(vector) != n:
        raise ValueError(f"the model has {n} parameters, the vector {len(vector)}")
    first = next(model.parameters())
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(
            torch.as_tensor(vector, dtype=first.dtype, device=first.device), model.parameters())


# --- aggregation -------------------------------------------------------------------------------


def _updates(updates) -> np.ndarray:
    updates = check_array(updates, "updates", ndim=2, dtype=np.float64)
    if len(updates) < 2:
        raise ValueError(f"aggregation needs at least 2 updates, got {len(updates)}")
    if not np.all(np.isfinite(updates)):
        raise ValueError("updates contain NaN or infinity")
    return updates


def aggregate(updates, rule: str = "fedavg", *, n_examples=None, assumed_malicious: int = 0,
              trim: float = 0.25, keep: int | None = None) -> np.ndarray:
    """Aggregate client updates (one row per client) with one of :data:`AGGREGATION_RULES`.

    - ``"fedavg"``: the mean weighted by ``n_examples`` (equal weights by default);
    - ``"median"``: the coordinate-wise median (Yin et al., 2018);
    - ``"trimmed_mean"``: per coordinate, drop the ``trim`` share of lowest and of highest values
      and average the rest (Yin et al., 2018);
    - ``"krum"``: the one update whose ``n - assumed_malicious - 2`` nearest neighbours are
      closest (Blanchard et al., 2017); ``"multi_krum"``: the mean of the ``keep`` best-scored
      updates (default ``n - assumed_malicious``).

    ``assumed_malicious`` is the number of Byzantine clients the *server assumes* (Krum's
    ``f``), not the true number. The computation is Flower's own
    (``flwr.server.strategy.aggregate``).

    Introduced in lab 09 (Federated learning).
    """
    updates = _updates(updates)
    rule = check_choice(rule, AGGREGATION_RULES, "aggregation rule")
    n = len(updates)
    if n_examples is None:
        weights = np.ones(n, dtype=int)
    else:
        weights = np.asarray(n_examples)
        if weights.shape != (n,) or np.any(weights <= 0):
            raise ValueError(f"n_examples needs {n} positive counts, got {n_examples!r}")
    assumed_malicious = check_int(assumed_malicious, "assumed_malicious", minimum=0)
    results = [([row], int(w)) for row, w in zip(updates, weights, strict=True)]
    if rule == "fedavg":
        out = flwr_weighted_mean(results)
    elif rule == "median":
        out = flwr_median(results)
    elif rule == "trimmed_mean":
        trim = check_number(trim, "trim", low=0.0)
        if trim >= 0.5:
            raise ValueError(f"trim must be in [0, 0.5), got {trim}")
        out = flwr_trimmed_mean(results, trim)
    else:
        if assumed_malicious > n - 3:
            raise ValueError(f"Krum with {n} clients tolerates at most {n - 3} assumed "
                             f"malicious clients, got assumed_malicious={assumed_malicious}")
        to_keep = 0
        if rule == "multi_krum":
            to_keep = n - assumed_malicious if keep is None else check_int(keep, "keep")
            if to_keep > n:
                raise ValueError(f"keep={to_keep} exceeds the {n} clients")
        out = flwr_krum(results, assumed_malicious, to_keep)
    return np.asarray(out[0], dtype=np.float64)


def update_norms(updates) -> np.ndarray:
    """The L2 norm of each client's update (one row per client).

    Introduced in lab 09 (Federated learning).
    """
    return np.linalg.norm(check_array(updates, "updates", ndim=2, dtype=np.float64), axis=1)


def clip_updates(updates, max_norm: float) -> np.ndarray:
    """Scale every update whose L2 norm exceeds ``max_norm`` down to that norm (a new array).

    Introduced in lab 09 (Federated learning).
    """
    updates = check_array(updates, "updates", ndim=2, dtype=np.float64)
    max_norm = check_positive(max_norm, "max_norm")
    norms = np.linalg.norm(updates, axis=1, keepdims=True)
    return updates * np.minimum(1.0, max_norm / np.maximum(norms, 1e-12))


def dp_noise_std(noise_multiplier: float, max_norm: float, n_clients: int) -> float:
    """The standard deviation of the Gaussian noise DP-FedAvg adds to the mean of ``n_clients``
    updates clipped to ``max_norm`` (McMahan et al., 2018): ``z * C / n``, computed by Flower's
    ``compute_stdv``.

    Introduced in lab 09 (Federated learning).
    """
    return float(compute_stdv(check_number(noise_multiplier, "noise_multiplier", low=0.0),
                              check_positive(max_norm, "max_norm"),
                              check_int(n_clients, "n_clients")))


# --- Byzantine clients -------------------------------------------------------------------------


def sign_flip(own_updates, *, scale: float = 1.0) -> np.ndarray:
    """Each malicious client sends its honest update reversed and multiplied by ``scale``.

    Introduced in lab 09 (Federated learning).
    """
    own = check_array(own_updates, "own_updates", ndim=2, dtype=np.float64)
    return -check_positive(scale, "scale") * own


def gaussian_updates(own_updates, *, sigma: float, seed: int = 0) -> np.ndarray:
    """Each malicious client sends Gaussian noise of standard deviation ``sigma`` per coordinate.

    Introduced in lab 09 (Federated learning).
    """
    own_updates = check_array(own_updates, "own_updates", ndim=2, dtype=np.float64)
    rng = np.random.default_rng(check_seed(seed))
    return rng.normal(0.0, check_positive(sigma, "sigma"), own_updates.shape)


def little_is_enough(benign_updates, n_attackers: int, *, z: float | None = None) -> np.ndarray:
    """"A Little Is Enough" (Baruch et al., NeurIPS 2019): every malicious client sends
    ``mean - z * std`` of the benign updates, per coordinate, with ``z`` chosen so that enough
    benign clients lie farther from the mean to keep the malicious update inside what a median or
    Krum accepts: ``s = floor(n/2 + 1) - m`` and ``z = Phi^-1((n - s) / n)``.

    Introduced in lab 09 (Federated learning).
    """
    benign = check_array(benign_updates, "benign_updates", ndim=2, dtype=np.float64)
    m = check_int(n_attackers, "n_attackers")
    if z is None:
        n = len(benign) + m
        s = n // 2 + 1 - m
        z = float(normal_distribution.ppf((n - s) / n))
    z = check_number(z, "z")
    crafted = benign.mean(axis=0) - z * benign.std(axis=0)
    return np.tile(crafted, (m, 1))


def directed_deviation(benign_updates, n_attackers: int, rule: str, *,
                       scales=None, **rule_kwargs) -> np.ndarray:
    """The adaptive attacker: it knows the aggregation rule and the benign updates (Fang et al.,
    USENIX Security 2020; Shejwalkar and Houmansadr, NDSS 2021). Every malicious client sends
    ``mean - gamma * std * sign(mean)`` of the benign updates, and ``gamma`` is searched over
    ``scales`` (default 0.1 to 100, log-spaced) for the value that pushes the *aggregate* furthest
    against the benign direction, computing the rule itself. Against Krum it finds the largest
    deviation Krum still selects; against the median the one that drags the median furthest.

    Written here: no maintained library crafts updates against Flower's aggregation rules.

    Introduced in lab 09 (Federated learning).
    """
    benign = check_array(benign_updates, "benign_updates", ndim=2, dtype=np.float64)
    m = check_int(n_attackers, "n_attackers")
    check_choice(rule, AGGREGATION_RULES, "aggregation rule")
    grid = np.geomspace(0.1, 100.0, 25) if scales is None else np.asarray(scales, dtype=float)
    if grid.ndim != 1 or len(grid) == 0 or np.any(grid < 0):
        raise ValueError("scales must be a non-empty 1-D array of non-negative numbers")
    mean, std = benign.mean(axis=0), benign.std(axis=0)
    direction = np.sign(mean)
    best, best_push = None, -np.inf
    for gamma in grid:
        crafted = np.tile(mean - gamma * std * direction, (m, 1))
        pushed = aggregate(np.vstack([benign, crafted]), rule, **rule_kwargs)
        push = float(-(pushed - mean) @ direction)
        if push > best_push:
            best, best_push = crafted, push
    return best


# --- the adaptive attacker of a targeted attack ----------------------------------------------

def directed_push(benign_updates, own_updates, rule: str, *, scales=None,
                  **rule_kwargs) -> np.ndarray:
    """The adaptive targeted attacker: it knows the aggregation rule and the benign updates.

    Its goal is a direction, ``d = mean(own_updates) - mean(benign_updates)`` (what its
    poisoned training wants the model to move towards, beyond what honest training does).
    Every malicious client sends ``mean(benign) + gamma * d``, and ``gamma`` is searched over
    ``scales`` (default 0 to 20) for the value whose *aggregate*, computed with the rule itself,
    moves furthest along ``d``: against Krum the largest push Krum still selects, against the
    median and trimmed mean the one that shifts them most. Returns the crafted rows (one per
    row of ``own_updates``), usable as ``attack(own, benign, round)``.

    Written here: no maintained library crafts targeted updates against Flower's rules (the
    untargeted counterpart is :func:`~mlsec_helpers.federated.common.directed_deviation`).

    Introduced in lab 09 (Federated learning).
    """
    benign = check_array(benign_updates, "benign_updates", ndim=2)
    own = check_array(own_updates, "own_updates", ndim=2)
    if benign.shape[1] != own.shape[1]:
        raise ValueError(f"benign updates have {benign.shape[1]} coordinates, own {own.shape[1]}")
    check_choice(rule, AGGREGATION_RULES, "aggregation rule")
    grid = (np.concatenate([[0.0], np.geomspace(0.25, 20.0, 6)]) if scales is None
            else np.asarray(scales, dtype=float))
    if grid.ndim != 1 or len(grid) == 0 or np.any(grid < 0) or not np.all(np.isfinite(grid)):
        raise ValueError("scales must be a non-empty 1-D array of non-negative numbers")
    mean = benign.mean(axis=0)
    direction = own.mean(axis=0) - mean
    if not np.any(direction):
        return np.tile(mean, (len(own), 1))
    best, best_push = None, -np.inf
    for gamma in grid:
        crafted = np.tile(mean + gamma * direction, (len(own), 1))
        push = float((aggregate(np.vstack([benign, crafted]), rule, **rule_kwargs) - mean)
                     @ direction)
        if push > best_push:
            best, best_push = crafted, push
    return best



# --- secure aggregation ------------------------------------------------------------------------


def _pair_seed(i: int, j: int, private_keys, public_keys) -> int:
    """The PRG seed clients i and j share: X25519 agreement, then HKDF-SHA256."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    shared = private_keys[i].exchange(public_keys[j])
    key = HKDF(algorithm=hashes.SHA256(), length=16, salt=None,
               info=b"mlsec lab 09 pairwise mask").derive(shared)
    return int.from_bytes(key, "big")


def pairwise_masks(n_clients: int, dim: int, *, seed: int = 0) -> np.ndarray:
    """The pairwise masks of secure aggregation (Bonawitz et al., CCS 2017), in Z_2^64.

    Each pair of clients agrees on a seed by an X25519 key exchange (``cryptography``); client
    ``i`` adds the pseudo-random stream it shares with every ``j > i`` and subtracts the one it
    shares with every ``j < i``, so the masks of all clients sum to zero modulo 2^64 while each
    one alone is uniformly random. (Dropped clients, which the full protocol recovers with
    secret-shared seeds, are left out.) ``seed`` fixes the clients' key pairs, for
    reproducibility only. Returns a ``(n_clients, dim)`` uint64 array.

    Written here: Flower's SecAgg+ runs only inside its engine (as client and server mods), not
    on arrays in a notebook.

    Introduced in lab 09 (Federated learning).
    """
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    n_clients = check_int(n_clients, "n_clients", minimum=2)
    dim = check_int(dim, "dim")
    seed = check_seed(seed)
    private = [X25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"lab09 client key {seed} {i}".encode()).digest())
        for i in range(n_clients)]
    public = [key.public_key() for key in private]
    masks = np.zeros((n_clients, dim), dtype=np.uint64)
    for i in range(n_clients):
        for j in range(i + 1, n_clients):
            stream = np.random.default_rng(_pair_seed(i, j, private, public)).integers(
                0, 2**64, size=dim, dtype=np.uint64, endpoint=False)
            masks[i] += stream  # uint64 arithmetic wraps modulo 2^64
            masks[j] -= stream
    return masks


def secure_aggregate(updates, *, seed: int = 0, frac_bits: int = 24) -> SecureAggregation:
    """Sum client updates so that the server sees only masked vectors and their sum.

    Each update is encoded in fixed point (``frac_bits`` fractional bits) as an integer modulo
    2^64, masked by :func:`pairwise_masks`; the server adds the masked vectors, the masks cancel,
    and it decodes the exact sum (within 2^-frac_bits per client). Raises ``ValueError`` when an
    update is too large for the encoding.

    Introduced in lab 09 (Federated learning).
    """
    updates = _updates(updates)
    frac_bits = check_int(frac_bits, "frac_bits", minimum=1)
    if frac_bits > 40:
        raise ValueError(f"frac_bits must be at most 40, got {frac_bits}")
    limit = 2.0 ** (62 - frac_bits) / len(updates)
    if np.abs(updates).max() >= limit:
        raise ValueError(f"an update coordinate exceeds {limit:.3g}: too large for "
                         f"{frac_bits} fractional bits")
    encoded = np.round(updates * 2.0**frac_bits).astype(np.int64).view(np.uint64)
    masked = encoded + pairwise_masks(len(updates), updates.shape[1], seed=seed)
    total = masked.sum(axis=0, dtype=np.uint64).view(np.int64) / 2.0**frac_bits
    return SecureAggregation(masked=masked, total=total,
                             max_error=float(np.abs(total - updates.sum(axis=0)).max()))


# --- the federation loop -----------------------------------------------------------------------

LocalUpdate = Callable[[int, np.ndarray, int], np.ndarray]
Attack = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def run_federation(initial, local_train: LocalUpdate, n_clients: int, n_rounds: int, *,
                   rule: str = "fedavg", malicious: Sequence[int] = (),
                   attack: Attack | None = None, n_examples=None, clip: float | None = None,
                   noise_multiplier: float = 0.0, secure: bool = False,
                   evaluate: Callable[[np.ndarray], float] | None = None,
                   evaluate_every: int | None = None, seed: int = 0,
                   **rule_kwargs) -> FederationRun:
    """Run ``n_rounds`` of federated training in this process and return the final model.

    Each round every client trains from the global parameters, ``local_train(client, params,
    round) -> new_params``; its update is ``new_params - params``. The clients in ``malicious``
    then replace their updates by ``attack(own_updates, benign_updates, round)`` (rows in the order
    of ``malicious``; an omniscient attacker reads the benign ones). The server optionally clips
    every update to ``clip``, aggregates them with ``rule`` (keyword arguments go to
    :func:`aggregate`), adds DP-FedAvg noise of :func:`dp_noise_std` when ``noise_multiplier`` is
    positive (a clip is then required), and adds the result to the global parameters.
    ``secure=True`` sums by :func:`secure_aggregate` (only with ``"fedavg"``, since the server sees
    nothing else). ``evaluate(params)`` is recorded every ``evaluate_every`` rounds (default: the
    last round only).

    Introduced in lab 09 (Federated learning).
    """
    params = check_array(initial, "initial", ndim=1, dtype=np.float64).copy()
    n_clients = check_int(n_clients, "n_clients", minimum=2)
    n_rounds = check_int(n_rounds, "n_rounds")
    rule = check_choice(rule, AGGREGATION_RULES, "aggregation rule")
    malicious = [check_int(c, "malicious client", minimum=0) for c in malicious]
    if any(c >= n_clients for c in malicious) or len(set(malicious)) != len(malicious):
        raise ValueError(f"malicious clients must be distinct ids below {n_clients}, "
                         f"got {malicious}")
    if malicious and attack is None:
        raise ArgumentTypeError("malicious clients need an attack function")
    if len(malicious) >= n_clients:
        raise ValueError("at least one client must be honest")
    noise_multiplier = check_number(noise_multiplier, "noise_multiplier", low=0.0)
    if noise_multiplier > 0 and clip is None:
        raise ValueError("differential privacy needs a clip norm (clip=...)")
    if secure and rule != "fedavg":
        raise ValueError(f"secure aggregation gives the server only the sum: it works with "
                         f"'fedavg', not {rule!r}")
    every = n_rounds if evaluate_every is None else check_int(evaluate_every, "evaluate_every")
    rng = np.random.default_rng(check_seed(seed))
    honest = [c for c in range(n_clients) if c not in set(malicious)]
    history: list[tuple[int, float]] = []
    norms = []
    for rnd in range(n_rounds):
        updates = np.stack([np.asarray(local_train(c, params.copy(), rnd), dtype=np.float64)
                            - params for c in range(n_clients)])
        if updates.shape[1] != len(params):
            raise ValueError(f"local_train returned {updates.shape[1]} parameters, "
                             f"expected {len(params)}")
        if malicious:
            crafted = np.asarray(attack(updates[malicious], updates[honest], rnd), dtype=float)
            if crafted.shape != (len(malicious), len(params)):
                raise ValueError(f"the attack returned shape {crafted.shape}, expected "
                                 f"{(len(malicious), len(params))}")
            updates[malicious] = crafted
        norms.append(np.linalg.norm(updates, axis=1))
        if clip is not None:
            updates = clip_updates(updates, clip)
        if secure:
            weights = (np.ones(n_clients) if n_examples is None
                       else np.asarray(n_examples, dtype=float))
            total = secure_aggregate(updates * weights[:, None], seed=seed + rnd).total
            step = total / weights.sum()
        else:
            step = aggregate(updates, rule, n_examples=n_examples, **rule_kwargs)
        if noise_multiplier > 0:
            step = step + rng.normal(0.0, dp_noise_std(noise_multiplier, clip, n_clients),
                                     step.shape)
        params = params + step
        if evaluate is not None and ((rnd + 1) % every == 0 or rnd == n_rounds - 1):
            history.append((rnd + 1, float(evaluate(params))))
    return FederationRun(params=params, history=tuple(history), rule=rule,
                         malicious=tuple(malicious), update_norms=np.asarray(norms))


# --- linear clients for tabular data (the fraud and medical sections) -------------------------

def _parts(parts_X, parts_y=None, minimum: int = 1
           ) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    if (isinstance(parts_X, np.ndarray) or not isinstance(parts_X, Sequence)
            or len(parts_X) < minimum):
        raise ArgumentTypeError(f"parts_X must be a list of at least {minimum} client feature "
                                "matrices")
    Xs = [check_array(X, f"parts_X[{i}]", ndim=2, dtype=np.float64)
          for i, X in enumerate(parts_X)]
    if len({X.shape[1] for X in Xs}) != 1:
        raise ValueError("every client's feature matrix must have the same number of columns")
    if any(len(X) == 0 for X in Xs):
        raise ValueError("every client needs at least one row")
    if parts_y is None:
        return Xs, None
    if isinstance(parts_y, np.ndarray) or len(parts_y) != len(Xs):
        raise ArgumentTypeError(f"parts_y must be a list of {len(Xs)} label vectors")
    ys = [check_labels(y, len(X), f"parts_y[{i}]", n_classes=2)
          for i, (X, y) in enumerate(zip(Xs, parts_y, strict=True))]
    return Xs, ys

def secure_standardiser(parts_X, *, seed: int = 0, frac_bits: int = 24) -> Standardiser:
    """The standardisation the clients agree on without showing their data: each client sends
    its row count, column sums and column sums of squares through secure aggregation
    (:func:`~mlsec_helpers.federated.secure_aggregate`: the server sees only masked vectors and
    their total), and everyone derives the pooled mean and standard deviation from the totals.
    ``max_error`` is the largest rounding error of the fixed-point sums.

    Introduced in lab 09 (Federated learning).
    """
    Xs, _ = _parts(parts_X, minimum=2)
    stats = np.stack([np.r_[len(X), X.sum(axis=0), (X**2).sum(axis=0)] for X in Xs])
    # common.secure_aggregate reads the updates as float32 (check_array's default dtype):
    # secure_aggregate(np.array([[16777217.0], [0.0]]), frac_bits=8).total gives 16777216.
    # Sums of squares are large, so each statistic travels as a float32 head and the rest.
    head = stats.astype(np.float32).astype(np.float64)
    result = secure_aggregate(np.hstack([head, stats - head]), seed=check_seed(seed),
                              frac_bits=frac_bits)
    k = stats.shape[1]
    total = result.total[:k] + result.total[k:]
    d = Xs[0].shape[1]
    n = float(np.round(total[0]))
    mean = total[1:d + 1] / n
    var = np.maximum(total[d + 1:] / n - mean**2, 0.0)
    scale = np.sqrt(var)
    scale[scale < 1e-12] = 1.0  # a constant column stays as it is (as scikit-learn does)
    return Standardiser(mean=mean, scale=scale, n=int(n),
                        max_error=float(np.abs(total - stats.sum(axis=0)).max()))

def logistic_scores(params, X) -> np.ndarray:
    """The logit ``X @ w + b`` of a logistic regression whose parameters are the flat vector
    ``params = [w, b]`` (the federated model of this section and the medical one).

    Introduced in lab 09 (Federated learning).
    """
    params = check_vector(params, "params")
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    if X.shape[1] + 1 != len(params):
        raise ValueError(f"params has {len(params)} entries; X with {X.shape[1]} columns needs "
                         f"{X.shape[1] + 1} (weights and a bias)")
    return X @ params[:-1] + params[-1]

def logistic_steps(params, X, y, *, steps: int, lr: float, l2: float = 0.0,
                   sample_weight=None) -> np.ndarray:
    """``steps`` full-batch gradient steps of size ``lr`` on the weighted logistic loss plus
    ``l2 / 2 * |w|^2``, from ``params = [w, b]``; returns the new parameters (a new array).
    ``sample_weight`` (summing to 1) defaults to ``1 / n`` for every row: the mean loss. The
    local training of every linear client of the lab (:func:`logistic_clients`, the Flower
    app's hospitals). Arguments are trusted: the callers check them.

    Written in NumPy: scikit-learn's logistic regression cannot run a fixed number of steps from
    given weights, and a torch model would cost more per step than the whole computation.

    Introduced in lab 09 (Federated learning).
    """
    params = np.asarray(params, dtype=np.float64)
    sw = np.full(len(y), 1.0 / len(y)) if sample_weight is None else sample_weight
    w, b = params[:-1].copy(), float(params[-1])
    for _ in range(steps):
        p = 0.5 * (1.0 + np.tanh(0.5 * (X @ w + b)))  # the sigmoid, without overflow
        g = (p - y) * sw
        w -= lr * (X.T @ g + l2 * w)
        b -= lr * g.sum()
    return np.r_[w, b]


def logistic_clients(parts_X, parts_y, *, steps: int = 5, lr: float = 1.0,
                     pos_weight: float = 1.0, l2: float = 0.0
                     ) -> Callable[[int, np.ndarray, int], np.ndarray]:
    """Each client's local training for :func:`~mlsec_helpers.federated.run_federation`:
    ``local_train(client, params, round)`` takes ``steps`` full-batch gradient steps of size
    ``lr`` on the client's mean logistic loss, its positive rows weighted by ``pos_weight``
    (fraud is rare), plus ``l2 / 2 * |w|^2``, from the global ``params = [w, b]``, and returns
    the new parameters. Deterministic: no sampling.

    Introduced in lab 09 (Federated learning).
    """
    Xs, ys = _parts(parts_X, parts_y)
    steps = check_int(steps, "steps")
    lr = check_positive(lr, "lr")
    pos_weight = check_positive(pos_weight, "pos_weight")
    l2 = check_number(l2, "l2", low=0.0)
    weights = [np.where(y == 1, pos_weight, 1.0) for y in ys]
    weights = [w / w.sum() for w in weights]
    d = Xs[0].shape[1]

    def local_train(client: int, params: np.ndarray, rnd: int) -> np.ndarray:
        if not 0 <= client < len(Xs):
            raise ValueError(f"client must be in 0..{len(Xs) - 1}, got {client}")
        params = np.asarray(params, dtype=np.float64)
        if params.shape != (d + 1,):
            raise ValueError(f"params must have {d + 1} entries, got shape {params.shape}")
        X, y, sw = Xs[client], ys[client], weights[client]
        return logistic_steps(params, X, y, steps=steps, lr=lr, l2=l2, sample_weight=sw)

    return local_train


# --- quality of a rare-event scorer ------------------------------------------------------------

def client_dp_epsilon(noise_multiplier: float, n_rounds: int, *, delta: float,
                      sampling_rate: float = 1.0) -> float:
    """The client-level ``epsilon`` of DP-FedAvg (McMahan et al., ICLR 2018) after ``n_rounds``
    rounds at ``noise_multiplier`` (noise std over clip norm on the *sum*), each client taking
    part in a round with probability ``sampling_rate``: the sampled Gaussian mechanism's RDP,
    converted to ``(epsilon, delta)`` by opacus's accountant. The guarantee covers a whole
    client's data (one bank, one hospital), against anyone who sees the models, not against a
    server that sees the individual updates. ``inf`` when ``noise_multiplier`` is 0.

    Introduced in lab 09 (Federated learning).
    """
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    z = check_number(noise_multiplier, "noise_multiplier", low=0.0)
    n_rounds = check_int(n_rounds, "n_rounds")
    delta = check_number(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    q = check_fraction(sampling_rate, "sampling_rate", allow_zero=False)
    if z == 0:
        return float("inf")
    orders = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 256))
    rdp = compute_rdp(q=q, noise_multiplier=z, steps=n_rounds, orders=orders)
    return float(get_privacy_spent(orders=orders, rdp=rdp, delta=delta)[0])

