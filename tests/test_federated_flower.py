"""Lab 09's Flower app (mlsec_helpers/federated/flower_app.py): its pieces on small inputs, the
ClientApp and the strategies called without Flower's engine, and one deployment run on a SuperLink
and three SuperNodes on 127.0.0.1 that must match the in-process run and leave nothing behind."""

import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, Metadata, RecordDict
from flwr.serverapp.strategy import FedAvg, FedMedian, FedTrimmedAvg, Krum, MultiKrum

from mlsec_helpers.data import load_dataset
from mlsec_helpers.federated import common
from mlsec_helpers.federated import flower_app as fa

RNG = np.random.default_rng(0)


def _message(content: RecordDict, message_type: str) -> Message:
    """A message as the SuperLink would deliver it to a node, made without the engine."""
    return Message(metadata=Metadata(run_id=1, message_id="m1", src_node_id=0, dst_node_id=7,
                                     reply_to_message_id="", group_id="1",
                                     created_at=time.time(), ttl=600.0,
                                     message_type=message_type), content=content)


def _context(partition: int, n: int = 3) -> Context:
    return Context(run_id=1, node_id=7, node_config={"partition-id": partition,
                                                     "num-partitions": n},
                   state=RecordDict(), run_config=dict(fa.RUN_CONFIG))


# --- the model ---------------------------------------------------------------------------------


def test_hospitals_hold_disjoint_shares_of_the_training_set():
    data = load_dataset("medical")
    parts = [fa.hospital_data(i, 3) for i in range(3)]
    assert sum(len(y) for _, y in parts) == len(data.y_train)
    rows = np.vstack([X for X, _ in parts])
    assert len(np.unique(rows, axis=0)) == len(np.unique(data.X_train, axis=0))
    skewed = [fa.hospital_data(i, 3, alpha=0.3) for i in range(3)]
    assert np.ptp([y.mean() for _, y in skewed]) > np.ptp([y.mean() for _, y in parts])
    with pytest.raises(ValueError, match="partition_id"):
        fa.hospital_data(3, 3)
    with pytest.raises(ValueError):
        fa.hospital_data(0, 1)


def test_pooled_statistics_give_the_scaler_of_all_rows():
    X = RNG.normal(5.0, 3.0, size=(40, 30))
    stats = [fa.hospital_statistics(X[:10]), fa.hospital_statistics(X[10:])]
    mean, scale = fa.pooled_scaler(stats)
    np.testing.assert_allclose(mean, X.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(scale, X.std(axis=0), atol=1e-10)
    constant = np.ones((5, 30))
    assert np.all(fa.pooled_scaler([fa.hospital_statistics(constant)])[1] == 1.0)
    with pytest.raises(ValueError, match="30 columns"):
        fa.hospital_statistics(X[:, :5])
    with pytest.raises(ValueError, match="61 numbers"):
        fa.pooled_scaler(np.ones((2, 5)))


def test_local_train_takes_known_gradient_steps_and_is_deterministic():
    X = RNG.normal(size=(20, 30))
    y = (X[:, 0] > 0).astype(int)
    mean, scale = np.zeros(30), np.ones(30)
    one = fa.local_train(fa.initial_params(), X, y, mean, scale, steps=1, lr=0.1, l2=0.0)
    residual = (0.5 - y) / len(y)  # sigmoid(0) - y
    np.testing.assert_allclose(one[:-1], -0.1 * X.T @ residual, atol=1e-12)
    np.testing.assert_allclose(one[-1], -0.1 * residual.sum(), atol=1e-12)
    many = fa.local_train(fa.initial_params(), X, y, mean, scale, steps=50)
    assert np.array_equal(many, fa.local_train(fa.initial_params(), X, y, mean, scale, steps=50))
    assert fa.accuracy(many, X, y, mean, scale) > 0.9
    with pytest.raises(ValueError, match="31 parameters"):
        fa.local_train(np.zeros(5), X, y, mean, scale)
    with pytest.raises(ValueError, match="labels"):
        fa.local_train(fa.initial_params(), X, y[:-1], mean, scale)
    with pytest.raises(ValueError):
        fa.local_train(fa.initial_params(), X, y, mean, scale, steps=0)


def test_parameters_travel_as_an_arrayrecord_exactly():
    params = RNG.normal(size=31)
    record = fa.to_arrayrecord(params)
    assert set(record) == {"weights", "bias"}
    assert np.array_equal(fa.from_arrayrecord(record), params)
    with pytest.raises(ValueError, match="weights"):
        fa.from_arrayrecord(ArrayRecord({"other": record["bias"]}))


# --- Flower's strategies without the engine ----------------------------------------------------


def test_each_rule_has_its_flower_strategy():
    kinds = {"fedavg": FedAvg, "median": FedMedian, "trimmed_mean": FedTrimmedAvg,
             "krum": Krum, "multi_krum": MultiKrum}
    for rule, kind in kinds.items():
        assert type(fa.make_strategy(rule, 8, assumed_malicious=2)) is kind
    assert fa.make_strategy("multi_krum", 8, assumed_malicious=2).num_nodes_to_select == 6
    assert fa.make_strategy("trimmed_mean", 8, trim=0.3).beta == 0.3
    with pytest.raises(ValueError, match="tolerates"):
        fa.make_strategy("krum", 3, assumed_malicious=1)
    with pytest.raises(ValueError, match="trim"):
        fa.make_strategy("trimmed_mean", 8, trim=0.5)
    with pytest.raises(ValueError, match="aggregation rule"):
        fa.make_strategy("mean", 8)


def test_flower_strategies_aggregate_as_common_aggregate_does():
    updates = RNG.normal(size=(8, 12))
    updates[:2] *= -5  # two sign-flipping clients
    sizes = np.arange(10, 18)
    for rule in common.AGGREGATION_RULES:
        kwargs = {"assumed_malicious": 2} if "krum" in rule else {}
        ours = fa.flower_aggregate(updates, rule, n_examples=sizes, **kwargs)
        np.testing.assert_allclose(ours, common.aggregate(updates, rule, n_examples=sizes,
                                                          **kwargs), atol=1e-12)
    np.testing.assert_allclose(fa.flower_aggregate(updates, "fedavg", n_examples=sizes),
                               sizes @ updates / sizes.sum(), atol=1e-12)
    np.testing.assert_array_equal(fa.flower_aggregate(updates, "median"),
                                  np.median(updates, axis=0))
    with pytest.raises(ValueError, match="at least 2"):
        fa.flower_aggregate(updates[:1])
    with pytest.raises(ValueError, match="positive counts"):
        fa.flower_aggregate(updates, n_examples=np.zeros(8))


def test_the_client_app_answers_query_and_train_like_the_functions_it_calls():
    X, y = fa.hospital_data(1, 3)
    context = _context(1)
    reply = fa.client_app(_message(RecordDict({"config": ConfigRecord({})}), "query"), context)
    stats = reply.content["statistics"]
    assert stats["partition-id"] == 1
    np.testing.assert_array_equal(stats["values"], fa.hospital_statistics(X))
    assert "hospital" in context.state  # the data is loaded once per run and kept on the node
    mean, scale = fa.pooled_scaler([fa.hospital_statistics(fa.hospital_data(i, 3)[0])
                                    for i in range(3)])
    params = RNG.normal(size=31) * 0.1
    config = ConfigRecord({"mean": mean.tolist(), "scale": scale.tolist(), "local-steps": 5,
                           "learning-rate": 0.5, "l2": 0.001})
    reply = fa.client_app(_message(RecordDict({"arrays": fa.to_arrayrecord(params),
                                               "config": config}), "train"), context)
    assert reply.content["metrics"]["num-examples"] == len(y)
    np.testing.assert_array_equal(fa.from_arrayrecord(reply.content["arrays"]),
                                  fa.local_train(params, X, y, mean, scale, steps=5))


def test_the_servers_strategy_path_matches_the_in_process_loop(unchanged_global_state):
    """Round by round as the ServerApp does it (hospitals send new parameters, Flower's strategy
    aggregates the replies) against common.run_federation (updates, common.aggregate)."""
    for rule in ("fedavg", "median", "krum"):
        loop = fa.run_in_process(rule, 3, 3)
        hospitals = [fa.hospital_data(i, 3) for i in range(3)]
        mean, scale = fa.pooled_scaler([fa.hospital_statistics(X) for X, _ in hospitals])
        params = fa.initial_params()
        for _ in range(3):
            new = np.stack([fa.local_train(params, X, y, mean, scale) for X, y in hospitals])
            params = fa.flower_aggregate(new, rule, n_examples=[len(y) for _, y in hospitals])
        np.testing.assert_allclose(params, loop.params, atol=1e-9)
        data = load_dataset("medical")
        assert fa.accuracy(params, data.X_test, data.y_test, mean, scale) == loop.final
        assert [r for r, _ in loop.history] == [1, 2, 3]
    assert fa.run_in_process("fedavg", 3, 2).history == fa.run_in_process("fedavg", 3, 2).history
    assert loop.final > 0.9


def test_the_app_folder_points_at_this_module():
    import tomllib

    config = tomllib.loads((fa.APP_DIR / "pyproject.toml").read_text())["tool"]["flwr"]["app"]
    assert config["components"] == {
        "serverapp": "mlsec_helpers.federated.flower_app:server_app",
        "clientapp": "mlsec_helpers.federated.flower_app:client_app"}
    assert config["config"] == fa.RUN_CONFIG


def test_a_clientapp_process_does_not_import_torch():
    """Every message starts a fresh ClientApp process that imports this module: torch would
    add seconds to each (the issue's probe: 91 s with torch against 56 s without)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import sys, mlsec_helpers.federated.flower_app;"
                          "print('torch' in sys.modules)"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_run_deployment_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="aggregation rule"):
        fa.run_deployment("mean")
    with pytest.raises(ValueError):
        fa.run_deployment(n_hospitals=1)
    with pytest.raises(ValueError, match="no Flower app"):
        fa.run_deployment(app_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown run config"):
        fa.run_deployment(run_config={"rounds": 3})


# --- the deployment run ------------------------------------------------------------------------


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_deployment_run_matches_the_in_process_run_and_leaves_nothing_behind():
    """A SuperLink and 3 SuperNodes (hospitals) as separate processes on 127.0.0.1, 3 rounds of
    FedAvg through `flwr run`; bounded by run_deployment's timeout (it stops everything then)."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    tmp_before = set(Path(tempfile.gettempdir()).glob("mlsec-flower-*"))
    lines: list[str] = []
    run = fa.run_deployment("fedavg", 3, 3, timeout=400, echo=lines.append)
    local = fa.run_in_process("fedavg", 3, 3)
    assert run.hospitals == 3 and [r for r, _ in run.history] == [1, 2, 3]
    assert abs(run.final - local.final) <= 1 / run.n_test  # close; in practice equal
    np.testing.assert_allclose(run.params, local.params, atol=1e-9)
    assert sum("ServerApp: [hospitals] round" in line for line in lines) == 3
    # nothing left: no child process, no Flower process naming one of its ports, no open port,
    # no temporary folder
    assert {p.pid for p in me.children(recursive=True)} <= before
    ports = [str(p) for p in run.ports]
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        assert not ("flower" in cmdline or "flwr" in cmdline) or not any(
            f":{port}" in cmdline or f" {port}" in cmdline for port in ports), cmdline
    assert not any(_listening(port) for port in run.ports)
    assert set(Path(tempfile.gettempdir()).glob("mlsec-flower-*")) <= tmp_before
