"""Lab 09's federation as a Flower app: hospitals train the diagnosis model together.

Each Flower SuperNode is one hospital: its node config (``partition-id``, ``num-partitions``)
picks its share of the medical training set (``load_dataset("medical")``), which never leaves
it. The model is the course's diagnosis logistic regression, trained in NumPy by full-batch
gradient descent (:func:`local_train`), on features standardised with the *pooled* mean and
scale that the server computes from each hospital's counts, sums and sums of squares (a first
``query`` message: :func:`hospital_statistics`, :func:`pooled_scaler`), since a federation has
no central data to fit a scaler on. The server aggregates with the rule the run config names,
using Flower's own message strategies (:func:`make_strategy`: ``FedAvg``, ``FedMedian``,
``FedTrimmedAvg``, ``Krum``, ``MultiKrum``) and evaluates the global model on the held-out test
set after every round.

The same :func:`local_train` drives :func:`run_in_process` (the lab's in-process loop,
:func:`~mlsec_helpers.federated.common.run_federation`), so both give the same model;
:func:`flower_aggregate` runs a Flower strategy's ``aggregate_train`` on messages built in
this process, without the engine. :func:`run_deployment` starts a SuperLink and one SuperNode
per hospital as separate processes on 127.0.0.1, runs the app (the repository's
``federation/`` folder) with ``flwr run`` and always stops every process it started
(``python3 tasks.py federation``).

Introduced in lab 09 (Federated learning).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from logging import INFO
from pathlib import Path

import numpy as np
from flwr.app import (
    Array,
    ArrayRecord,
    ConfigRecord,
    Context,
    Message,
    MessageType,
    Metadata,
    MetricRecord,
    RecordDict,
)
from flwr.clientapp import ClientApp
from flwr.common.logger import log
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg, FedMedian, FedTrimmedAvg, Krum, MultiKrum

from ..validate import check_array, check_choice, check_int, check_number, check_seed
from .results import DeploymentRun

__all__ = [
    "APP_DIR",
    "RULE_STRATEGIES",
    "RUN_CONFIG",
    "accuracy",
    "client_app",
    "flower_aggregate",
    "from_arrayrecord",
    "hospital_data",
    "hospital_statistics",
    "initial_params",
    "local_train",
    "make_strategy",
    "pooled_scaler",
    "run_deployment",
    "run_in_process",
    "server_app",
    "to_arrayrecord",
]

APP_DIR = Path(__file__).resolve().parents[2] / "federation"
"""The Flower app's folder in the repository (its ``pyproject.toml`` and README)."""

RULE_STRATEGIES = {
    "fedavg": "FedAvg",
    "median": "FedMedian",
    "trimmed_mean": "FedTrimmedAvg",
    "krum": "Krum",
    "multi_krum": "MultiKrum",
}
"""The Flower strategy (``flwr.serverapp.strategy``) behind each of the lab's rules."""

_N_FEATURES = 30  # the WDBC measurements

RUN_CONFIG = {"num-server-rounds": 3, "num-hospitals": 3, "rule": "fedavg", "local-steps": 20,
              "learning-rate": 0.5, "l2": 0.001, "assumed-malicious": 0, "trim": 0.25, "keep": 0,
              "alpha": 0.0, "split-seed": 0, "data-seed": 0, "result-file": ""}
"""The defaults of the app's run config (``federation/pyproject.toml`` holds the same; ``flwr run
--run-config`` overrides them)."""


# --- the hospitals' model, in NumPy ------------------------------------------------------------


def initial_params() -> np.ndarray:
    """The global model before the first round: 30 weights and a bias, all zero.

    Introduced in lab 09 (Federated learning).
    """
    return np.zeros(_N_FEATURES + 1)


def _params(params) -> np.ndarray:
    params = check_array(params, "params", ndim=1, dtype=np.float64)
    if len(params) != _N_FEATURES + 1:
        raise ValueError(f"the diagnosis model has {_N_FEATURES + 1} parameters, "
                         f"got {len(params)}")
    return params


def _features(X) -> np.ndarray:
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    if X.shape[1] != _N_FEATURES:
        raise ValueError(f"X needs {_N_FEATURES} columns (the WDBC features), got {X.shape[1]}")
    return X


def hospital_data(partition_id: int, num_partitions: int, *, alpha: float = 0.0,
                  split_seed: int = 0, data_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One hospital's share ``(X, y)`` of the medical training set: an IID split
    (``alpha=0``) or a Dirichlet(``alpha``) split of the labels, both from
    :mod:`~mlsec_helpers.federated.common`.

    Introduced in lab 09 (Federated learning).
    """
    from ..data import load_dataset  # imported here: a ClientApp process loads it once
    from .common import dirichlet_split, iid_split

    num_partitions = check_int(num_partitions, "num_partitions", minimum=2)
    partition_id = check_int(partition_id, "partition_id", minimum=0)
    if partition_id >= num_partitions:
        raise ValueError(f"partition_id must be below num_partitions={num_partitions}, "
                         f"got {partition_id}")
    alpha = check_number(alpha, "alpha", low=0.0)
    data = load_dataset("medical", seed=check_seed(data_seed))
    if alpha == 0:
        parts = iid_split(len(data.y_train), num_partitions, seed=split_seed)
    else:
        parts = dirichlet_split(data.y_train, num_partitions, alpha, seed=split_seed)
    rows = parts[partition_id]
    return data.X_train[rows].astype(np.float64), data.y_train[rows].astype(np.int64)


def hospital_statistics(X) -> np.ndarray:
    """What a hospital shares to standardise the features: ``[n, sums..., sums of squares...]``
    (61 numbers; no row, no label).

    Introduced in lab 09 (Federated learning).
    """
    X = _features(X)
    return np.concatenate([[len(X)], X.sum(axis=0), np.square(X).sum(axis=0)])


def pooled_scaler(statistics) -> tuple[np.ndarray, np.ndarray]:
    """The pooled per-feature ``(mean, scale)`` from the hospitals' :func:`hospital_statistics`
    (one row each): what a scaler fitted on all their rows together would give.

    Introduced in lab 09 (Federated learning).
    """
    stats = check_array(statistics, "statistics", ndim=2, dtype=np.float64)
    if stats.shape[1] != 2 * _N_FEATURES + 1 or np.any(stats[:, 0] <= 0):
        raise ValueError(f"statistics need rows of {2 * _N_FEATURES + 1} numbers with a "
                         "positive count, as hospital_statistics returns")
    total = stats.sum(axis=0)
    n = total[0]
    mean = total[1:_N_FEATURES + 1] / n
    var = np.maximum(total[_N_FEATURES + 1:] / n - mean**2, 0.0)
    scale = np.sqrt(var)
    return mean, np.where(scale > 0, scale, 1.0)


def _logits(params, X, mean, scale) -> np.ndarray:
    return ((X - mean) / scale) @ params[:-1] + params[-1]


def local_train(params, X, y, mean, scale, *, steps: int = 20, lr: float = 0.5,
                l2: float = 0.001) -> np.ndarray:
    """A hospital's local training: ``steps`` full-batch gradient steps of L2-regularised
    logistic regression on its standardised rows, from the global ``params``; returns the new
    parameters. Deterministic, so every path that calls it gets the same numbers.

    The steps are :func:`~mlsec_helpers.federated.logistic_steps`, as for every linear client
    of the lab.

    Introduced in lab 09 (Federated learning).
    """
    from .common import logistic_steps  # imported here, as the other lazy imports of the app

    params = _params(params)
    X = _features(X)
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (len(X),):
        raise ValueError(f"y needs {len(X)} labels, got shape {y.shape}")
    steps = check_int(steps, "steps")
    lr = check_number(lr, "lr", low=0.0)
    l2 = check_number(l2, "l2", low=0.0)
    return logistic_steps(params, (X - mean) / scale, y, steps=steps, lr=lr, l2=l2)


def accuracy(params, X, y, mean, scale) -> float:
    """The share of rows whose diagnosis the model gets right (threshold 0.5).

    Introduced in lab 09 (Federated learning).
    """
    params, X = _params(params), _features(X)
    return float(np.mean((_logits(params, X, mean, scale) > 0).astype(int) == np.asarray(y)))


# --- parameters as Flower records --------------------------------------------------------------


def to_arrayrecord(params) -> ArrayRecord:
    """The model as a Flower ``ArrayRecord`` (``weights`` and ``bias``).

    Introduced in lab 09 (Federated learning).
    """
    params = _params(params)
    return ArrayRecord({"weights": Array(params[:-1].copy()), "bias": Array(params[-1:].copy())})


def from_arrayrecord(record: ArrayRecord) -> np.ndarray:
    """The flat parameter vector of an ``ArrayRecord`` made by :func:`to_arrayrecord`.

    Introduced in lab 09 (Federated learning).
    """
    if not isinstance(record, ArrayRecord) or set(record) != {"weights", "bias"}:
        raise ValueError("expected an ArrayRecord with 'weights' and 'bias'")
    return _params(np.concatenate([record["weights"].numpy(), record["bias"].numpy()]))


# --- the server's rule, as a Flower strategy --------------------------------------------------


def make_strategy(rule: str, n_hospitals: int, *, assumed_malicious: int = 0,
                  trim: float = 0.25, keep: int | None = None):
    """The Flower message strategy for one of the lab's aggregation rules (see
    :data:`RULE_STRATEGIES`), training on every hospital each round, weighting FedAvg by
    ``num-examples``, with federated evaluation off (the server evaluates on the test set).
    ``assumed_malicious``, ``trim`` and ``keep`` mean what they mean in
    :func:`~mlsec_helpers.federated.common.aggregate`.

    Introduced in lab 09 (Federated learning).
    """
    return _strategy(rule, n_hospitals, assumed_malicious, trim, keep, evaluate=False)


def _strategy(rule, n_hospitals, assumed_malicious, trim, keep, *, evaluate: bool):
    rule = check_choice(rule, RULE_STRATEGIES, "aggregation rule")
    n = check_int(n_hospitals, "n_hospitals", minimum=2)
    f = check_int(assumed_malicious, "assumed_malicious", minimum=0)
    # flower_aggregate never configures an evaluation: it keeps Flower's default, which spares
    # it the warning that federated evaluation is off
    common = {"fraction_train": 1.0, "fraction_evaluate": 1.0 if evaluate else 0.0,
              "min_train_nodes": n, "min_evaluate_nodes": n if evaluate else 0,
              "min_available_nodes": n}
    if rule == "fedavg":
        return FedAvg(**common)
    if rule == "median":
        return FedMedian(**common)
    if rule == "trimmed_mean":
        trim = check_number(trim, "trim", low=0.0)
        if trim >= 0.5:
            raise ValueError(f"trim must be in [0, 0.5), got {trim}")
        return FedTrimmedAvg(**common, beta=trim)
    if f > n - 3:
        raise ValueError(f"Krum with {n} clients tolerates at most {n - 3} assumed "
                         f"malicious clients, got assumed_malicious={f}")
    if rule == "krum":
        return Krum(**common, num_malicious_nodes=f)
    keep = n - f if keep in (None, 0) else check_int(keep, "keep")
    if keep > n:
        raise ValueError(f"keep={keep} exceeds the {n} clients")
    return MultiKrum(**common, num_malicious_nodes=f, num_nodes_to_select=keep)


def _metadata(node_id: int, message_type: str) -> Metadata:
    """Metadata for a message made in this process, outside Flower's engine (which otherwise
    fills it in from the running task's identity)."""
    return Metadata(run_id=0, message_id=f"local-{node_id}", src_node_id=node_id,
                    dst_node_id=0, reply_to_message_id="", group_id="", created_at=time.time(),
                    ttl=3600.0, message_type=message_type)


def flower_aggregate(updates, rule: str = "fedavg", *, n_examples=None,
                     assumed_malicious: int = 0, trim: float = 0.25,
                     keep: int | None = None) -> np.ndarray:
    """Aggregate updates (one row per client) the way the Flower app's server does: each row
    becomes a client's reply ``Message`` (an ``ArrayRecord`` and its ``num-examples``) and the
    rule's strategy (:func:`make_strategy`) runs its own ``aggregate_train`` on them, with no
    engine. Gives what :func:`~mlsec_helpers.federated.common.aggregate` gives.

    Introduced in lab 09 (Federated learning).
    """
    updates = check_array(updates, "updates", ndim=2, dtype=np.float64)
    n = len(updates)
    if n < 2:
        raise ValueError(f"aggregation needs at least 2 updates, got {n}")
    counts = np.ones(n, dtype=int) if n_examples is None else np.asarray(n_examples)
    if counts.shape != (n,) or np.any(counts <= 0):
        raise ValueError(f"n_examples needs {n} positive counts, got {n_examples!r}")
    strategy = _strategy(rule, n, assumed_malicious, trim, keep, evaluate=True)
    replies = [Message(metadata=_metadata(i + 1, MessageType.TRAIN), content=RecordDict({
        "arrays": ArrayRecord({"update": Array(row.copy())}),
        "metrics": MetricRecord({"num-examples": int(c)})}))
        for i, (row, c) in enumerate(zip(updates, counts, strict=True))]
    flwr_logger = logging.getLogger("flwr")
    level = flwr_logger.level
    flwr_logger.setLevel(logging.WARNING)  # the strategy logs every aggregation at INFO
    try:
        arrays, _ = strategy.aggregate_train(1, replies)
    finally:
        flwr_logger.setLevel(level)
    return np.asarray(arrays["update"].numpy(), dtype=np.float64)


# --- the ClientApp: one hospital --------------------------------------------------------------

client_app = ClientApp()
"""The hospitals' side of the app (one per SuperNode): answers ``query`` with its statistics and
``train`` with its new parameters. Introduced in lab 09 (Federated learning)."""


def _hospital(context: Context) -> tuple[np.ndarray, np.ndarray, int]:
    """This node's rows, loaded once per run and kept in the node's local state."""
    partition = int(context.node_config["partition-id"])
    if "hospital" not in context.state:
        cfg = {**RUN_CONFIG, **context.run_config}
        X, y = hospital_data(partition, int(context.node_config["num-partitions"]),
                             alpha=float(cfg["alpha"]), split_seed=int(cfg["split-seed"]),
                             data_seed=int(cfg["data-seed"]))
        context.state["hospital"] = ArrayRecord({"X": Array(X), "y": Array(y)})
    record = context.state["hospital"]
    return record["X"].numpy(), record["y"].numpy(), partition


@client_app.query()
def _query(msg: Message, context: Context) -> Message:
    X, _, partition = _hospital(context)
    stats = hospital_statistics(X)
    return Message(RecordDict({"statistics": MetricRecord(
        {"partition-id": partition, "values": stats.tolist()})}), reply_to=msg)


@client_app.train()
def _train(msg: Message, context: Context) -> Message:
    X, y, _ = _hospital(context)
    config = msg.content["config"]
    new = local_train(from_arrayrecord(msg.content["arrays"]), X, y,
                      np.asarray(config["mean"]), np.asarray(config["scale"]),
                      steps=int(config["local-steps"]), lr=float(config["learning-rate"]),
                      l2=float(config["l2"]))
    return Message(RecordDict({"arrays": to_arrayrecord(new),
                               "metrics": MetricRecord({"num-examples": len(y)})}),
                   reply_to=msg)


# --- the ServerApp: the coordinator -----------------------------------------------------------

server_app = ServerApp()
"""The coordinator's side: pools the hospitals' statistics, runs the rule's strategy, evaluates
on the test set after every round. Introduced in lab 09 (Federated learning)."""


@server_app.main()
def _main(grid: Grid, context: Context) -> None:
    from ..data import load_dataset

    cfg = {**RUN_CONFIG, **context.run_config}
    n = int(cfg["num-hospitals"])
    deadline = time.monotonic() + 120
    while len(list(grid.get_node_ids())) < n:  # wait until every hospital has connected
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {n} hospitals connected within 120 s")
        time.sleep(0.2)
    nodes = sorted(grid.get_node_ids())[:n]
    replies = grid.send_and_receive(
        [Message(RecordDict({"config": ConfigRecord({})}), dst_node_id=node,
                 message_type=MessageType.QUERY) for node in nodes], timeout=300)
    stats = sorted((r.content["statistics"] for r in replies if not r.has_error()),
                   key=lambda record: record["partition-id"])
    if len(stats) != n:
        raise RuntimeError(f"{n - len(stats)} hospitals did not send their statistics")
    mean, scale = pooled_scaler([s["values"] for s in stats])
    data = load_dataset("medical", seed=int(cfg["data-seed"]))
    history: list[tuple[int, float]] = []

    def evaluate(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        acc = accuracy(from_arrayrecord(arrays), data.X_test, data.y_test, mean, scale)
        if server_round > 0:
            history.append((server_round, acc))
            log(INFO, "[hospitals] round %d: test accuracy %.4f (%d test patients)",
                server_round, acc, len(data.y_test))
        return MetricRecord({"accuracy": acc})

    strategy = make_strategy(str(cfg["rule"]), n, assumed_malicious=int(cfg["assumed-malicious"]),
                             trim=float(cfg["trim"]), keep=int(cfg["keep"]))
    train_config = ConfigRecord({"mean": mean.tolist(), "scale": scale.tolist(),
                                 "local-steps": int(cfg["local-steps"]),
                                 "learning-rate": float(cfg["learning-rate"]),
                                 "l2": float(cfg["l2"])})
    result = strategy.start(grid=grid, initial_arrays=to_arrayrecord(initial_params()),
                            num_rounds=int(cfg["num-server-rounds"]), timeout=300,
                            train_config=train_config, evaluate_fn=evaluate)
    final = from_arrayrecord(result.arrays)
    log(INFO, "[hospitals] final test accuracy %.4f after %d rounds (%s, %d hospitals)",
        history[-1][1], len(history), cfg["rule"], n)
    if cfg["result-file"]:  # written whole, then renamed: a reader never sees half of it
        target = Path(str(cfg["result-file"]))
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps({"rule": cfg["rule"], "hospitals": n, "history": history,
                                       "params": final.tolist(), "n_test": len(data.y_test)}))
        os.replace(partial, target)


# --- the same federation in this process ------------------------------------------------------


def run_in_process(rule: str = "fedavg", n_hospitals: int = 3, n_rounds: int = 3, *,
                   local_steps: int = 20, lr: float = 0.5, l2: float = 0.001,
                   assumed_malicious: int = 0, trim: float = 0.25, keep: int | None = None,
                   alpha: float = 0.0, split_seed: int = 0, data_seed: int = 0,
                   malicious=(), attack=None):
    """The app's federation without Flower's engine: the same hospitals, the same
    :func:`local_train`, the same pooled scaler, run by
    :func:`~mlsec_helpers.federated.common.run_federation` with the matching rule (FedAvg
    weighted by the hospitals' sizes, as Flower's is). Returns its ``FederationRun`` (test
    accuracy after every round). ``malicious`` and ``attack`` go to ``run_federation``.

    Introduced in lab 09 (Federated learning).
    """
    from ..data import load_dataset
    from .common import run_federation

    n_hospitals = check_int(n_hospitals, "n_hospitals", minimum=2)
    hospitals = [hospital_data(i, n_hospitals, alpha=alpha, split_seed=split_seed,
                               data_seed=data_seed) for i in range(n_hospitals)]
    mean, scale = pooled_scaler([hospital_statistics(X) for X, _ in hospitals])
    data = load_dataset("medical", seed=check_seed(data_seed))
    rule = check_choice(rule, RULE_STRATEGIES, "aggregation rule")
    extra = {"trim": trim} if rule == "trimmed_mean" else {}
    if rule in ("krum", "multi_krum"):
        extra["assumed_malicious"] = assumed_malicious
    if rule == "multi_krum":
        extra["keep"] = None if keep in (None, 0) else keep

    def train(client: int, params: np.ndarray, _round: int) -> np.ndarray:
        X, y = hospitals[client]
        return local_train(params, X, y, mean, scale, steps=local_steps, lr=lr, l2=l2)

    return run_federation(
        initial_params(), train, n_hospitals, check_int(n_rounds, "n_rounds"), rule=rule,
        n_examples=[len(y) for _, y in hospitals], malicious=malicious, attack=attack,
        evaluate=lambda p: accuracy(p, data.X_test, data.y_test, mean, scale),
        evaluate_every=1, **extra)


# --- the deployment: SuperLink and SuperNodes on 127.0.0.1 ------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _descendants(procs: list[subprocess.Popen]) -> dict:
    """Every live process the started ones started, in whatever process group or session
    (Flower's SuperLink and SuperNodes start ``flower-superexec`` in sessions of its own)."""
    import psutil

    found = {}
    for proc in procs:
        try:
            root = psutil.Process(proc.pid)
            for member in (root, *root.children(recursive=True)):
                found[member.pid] = member
        except psutil.Error:
            continue
    return found


def _running(member) -> bool:
    import psutil

    try:
        return member.is_running() and member.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _stop_all(procs: list[subprocess.Popen], grace: float = 8.0) -> None:
    """Stop processes that were started each in its own session, and everything they started:
    SIGINT to their process groups (Flower's processes shut down cleanly on it), then SIGTERM,
    then SIGKILL to every process of the tree still alive, reaping the started ones."""
    import psutil

    known = _descendants(procs)
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        known.update(_descendants(procs))  # shutting down may start more
        alive = [member for member in known.values() if _running(member)]
        if not alive:
            break
        for proc in procs:
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        if sig != signal.SIGINT:
            for member in alive:
                try:
                    member.send_signal(sig)
                except psutil.Error:
                    pass
        psutil.wait_procs(alive, timeout=wait)
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _flower_env(home: Path) -> dict[str, str]:
    """The environment of every Flower process: state under ``home``, nothing sent anywhere,
    nothing installed, the venv's commands on PATH (the SuperLink starts ``flower-superexec``)."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "FLWR_HOME": str(home), "FLWR_TELEMETRY_ENABLED": "0",
            "FLWR_DISABLE_UPDATE_CHECK": "1", "RAY_USAGE_STATS_ENABLED": "0",
            "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
            "FLWR_SUPEREXEC_TASK_POLL_INTERVAL": "0.1", "PYTHONUNBUFFERED": "1",
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def run_deployment(rule: str = "fedavg", n_hospitals: int = 3, n_rounds: int = 3, *,
                   timeout: float = 300.0, app_dir=None, echo=None,
                   run_config: dict | None = None) -> DeploymentRun:
    """Run the Flower app on Flower's deployment engine, on this machine: a SuperLink
    (``--insecure``, ``--disable-runtime-dependency-installation``) and ``n_hospitals``
    SuperNodes, each a separate process group listening on 127.0.0.1 only, then ``flwr run``
    against a SuperLink connection written in a temporary ``FLWR_HOME``. Waits for the
    ServerApp's result (at most ``timeout`` seconds), then stops every process it started and
    every process those started (SIGINT, then SIGTERM, then SIGKILL; also on an error, a
    timeout or Ctrl-C) and removes the temporary folder. ``echo(line)`` receives progress lines
    and the accuracy lines the ServerApp logs; ``run_config`` overrides other keys of
    :data:`RUN_CONFIG`. Telemetry and Flower's update check are off: nothing leaves 127.0.0.1.

    Introduced in lab 09 (Federated learning).
    """
    rule = check_choice(rule, RULE_STRATEGIES, "aggregation rule")
    n_hospitals = check_int(n_hospitals, "n_hospitals", minimum=2)
    n_rounds = check_int(n_rounds, "n_rounds")
    timeout = check_number(timeout, "timeout", low=1.0)
    app = Path(app_dir) if app_dir is not None else APP_DIR
    if not (app / "pyproject.toml").exists():
        raise ValueError(f"no Flower app in {app} (its pyproject.toml is missing)")
    unknown = set(run_config or {}) - set(RUN_CONFIG)
    if unknown:
        raise ValueError(f"unknown run config keys {sorted(unknown)}; known: {sorted(RUN_CONFIG)}")
    say = echo or (lambda line: None)
    start = time.monotonic()
    deadline = start + timeout
    procs: list[subprocess.Popen] = []
    ports: list[int] = []
    logs: list = []
    tmp = Path(tempfile.mkdtemp(prefix="mlsec-flower-"))
    try:
        env = _flower_env(tmp / "flwr-home")
        bin_dir = Path(sys.executable).parent

        def launch(name: str, cmd: list[str]) -> subprocess.Popen:
            out = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 (closed in finally)
            logs.append(out)
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    cwd=tmp, start_new_session=True)
            procs.append(proc)
            return proc

        link_port = _free_port()
        ports.append(link_port)
        launch("superlink", [str(bin_dir / "flower-superlink"), "--insecure",
                             "--disable-runtime-dependency-installation",
                             "--host", "127.0.0.1", "--port", str(link_port),
                             "--database", str(tmp / "state.db")])
        _wait_for(lambda: _port_open(link_port), deadline, "the SuperLink to listen",
                  procs, tmp / "superlink.log")
        say(f"SuperLink listening on 127.0.0.1:{link_port}")
        for i in range(n_hospitals):
            port = _free_port()
            ports.append(port)
            launch(f"supernode-{i}", [
                str(bin_dir / "flower-supernode"), "--insecure",
                "--superlink", f"127.0.0.1:{link_port}", "--host", "127.0.0.1",
                "--port", str(port),
                "--node-config", f"partition-id={i} num-partitions={n_hospitals}"])
        say(f"{n_hospitals} SuperNodes (hospitals) started: ports "
            + ", ".join(str(p) for p in ports[1:]))
        home = tmp / "flwr-home"
        home.mkdir(exist_ok=True)
        (home / "config.toml").write_text(
            '[superlink]\ndefault = "hospitals"\n\n[superlink.hospitals]\n'
            f'address = "127.0.0.1:{link_port}"\ninsecure = true\n')
        result_file = tmp / "result.json"
        overrides = {"rule": rule, "num-hospitals": n_hospitals, "num-server-rounds": n_rounds,
                     "result-file": str(result_file), **(run_config or {})}
        cmd = [str(bin_dir / "flwr"), "run", str(app), "hospitals", "--stream"]
        for key, value in overrides.items():
            cmd += ["--run-config", f"{key}={json.dumps(value)}"]
        say("+ flwr run federation hospitals --stream --run-config "
            f"'rule=\"{rule}\"' ...")
        runner = launch("flwr-run", cmd)
        infrastructure = procs[:-1]  # the SuperLink and the SuperNodes
        _wait_for(lambda: result_file.exists() or runner.poll() is not None, deadline,
                  "the run to finish", infrastructure, tmp / "flwr-run.log")
        if not result_file.exists():
            _wait_for(result_file.exists, min(deadline, time.monotonic() + 10),
                      "the ServerApp's result", infrastructure, tmp / "flwr-run.log")
        try:  # the log stream ends with the run
            runner.wait(timeout=max(1.0, min(20.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            pass
        result = json.loads(result_file.read_text())
        logged = [line[line.index("[hospitals]"):].strip() for line in
                  (tmp / "flwr-run.log").read_text(errors="replace").splitlines()
                  if "[hospitals]" in line]
        if len(logged) <= len(result["history"]):  # the stream missed a line: use the record
            logged = [f"[hospitals] round {r}: test accuracy {a:.4f} ({result['n_test']} test "
                      "patients)" for r, a in result["history"]]
        for line in logged:
            say("ServerApp: " + line)
        wall = time.monotonic() - start
        return DeploymentRun(rule=result["rule"], hospitals=int(result["hospitals"]),
                             history=tuple((int(r), float(a)) for r, a in result["history"]),
                             params=np.asarray(result["params"]), n_test=int(result["n_test"]),
                             wall_seconds=wall, ports=tuple(ports))
    finally:
        _stop_all(procs)
        for out in logs:
            out.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_for(condition, deadline: float, what: str, watched: list, log_file: Path) -> None:
    """Wait until ``condition()``; fail when a watched process exits or the deadline passes."""
    while not condition():
        if any(proc.poll() is not None for proc in watched):
            raise RuntimeError(f"a Flower process exited while waiting for {what}:\n"
                               + _tail(log_file))
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}:\n" + _tail(log_file))
        time.sleep(0.1)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _cli(argv: list[str] | None = None) -> int:
    """The deployment run of ``python3 tasks.py federation``, printed:
    ``python -m mlsec_helpers.federated.flower_app [--rule R] [--hospitals N] [--rounds K]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m mlsec_helpers.federated.flower_app",
        description="Run lab 09's hospitals' Flower app on a SuperLink and one SuperNode per "
                    "hospital on 127.0.0.1, then compare it with the same federation run in "
                    "process.")
    parser.add_argument("--rule", default="fedavg", choices=list(RULE_STRATEGIES))
    parser.add_argument("--hospitals", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds to wait for the run before stopping everything")
    args = parser.parse_args(argv)

    def stop(signum, _frame):  # a SIGTERM too runs run_deployment's clean-up
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        run = run_deployment(args.rule, args.hospitals, args.rounds, timeout=args.timeout,
                             echo=lambda line: print(line, flush=True))
    except (TimeoutError, RuntimeError) as err:
        print(f"the federation failed: {err}\nevery Flower process it started was stopped",
              file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("every Flower process stopped, their ports closed, the temporary FLWR_HOME removed")
    print(f"deployment run: final test accuracy {run.final:.4f} after {len(run.history)} rounds "
          f"of {RULE_STRATEGIES[run.rule]} across {run.hospitals} hospitals; "
          f"{run.wall_seconds:.1f} s from starting the SuperLink to the result")
    local = run_in_process(args.rule, args.hospitals, args.rounds)
    print(f"in-process run (same code, no engine): final test accuracy {local.final:.4f}; "
          f"largest parameter difference {np.abs(local.params - run.params).max():.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
