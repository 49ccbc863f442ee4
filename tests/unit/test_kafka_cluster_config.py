"""The three-node Kafka cluster's configuration, without starting it: quorum, replication,
ports, the dev data folder guard, and the compose override."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devstack import DevstackError, Stack
from devstack.kafka import Quorum, server_properties
from devstack.kafka_cluster import KafkaCluster
from energy_ingest.devrun import other_kafka_layout
from energy_ingest.topics import min_insync_for, replication_for

ROOT = Path(__file__).resolve().parents[2]


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_a_cluster_node_has_three_replicas_and_min_isr_two() -> None:
    quorum = Quorum("cid", ((1, 9093, "d1"), (2, 9095, "d2"), (3, 9097, "d3")))
    props = _props(server_properties(Path("/x"), 9094, 9095, "pw", node_id=2, quorum=quorum))
    assert props["node.id"] == "2"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093,127.0.0.1:9095,127.0.0.1:9097"
    assert props["listeners"] == "SASL_PLAINTEXT://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095"
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "3", key
    min_isr = ["min.insync.replicas", "transaction.state.log.min.isr"]
    min_isr.append("share.coordinator.state.topic.min.isr")
    for key in min_isr:
        assert props[key] == "2", key
    assert quorum.initial_controllers == "1@127.0.0.1:9093:d1,2@127.0.0.1:9095:d2,3@127.0.0.1:9097:d3"


def test_a_single_broker_keeps_one_replica() -> None:
    props = _props(server_properties(Path("/x"), 9092, 9093, "pw"))
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == props["min.insync.replicas"] == "1"


@pytest.mark.parametrize(("brokers", "replicas", "min_isr"), [(1, 1, 1), (2, 1, 1), (3, 3, 2), (5, 3, 2)])
def test_topic_replication_follows_the_cluster(brokers: int, replicas: int, min_isr: int) -> None:
    assert (replication_for(brokers), min_insync_for(replication_for(brokers))) == (replicas, min_isr)


def test_stack_of_three_brokers_lays_ports_out_from_the_first(tmp_path: Path) -> None:
    stack = Stack(tmp_path, kafka_port=9092, kafka_controller_port=9093, pg_port=55432, kafka_brokers=3)
    nodes = stack.cluster.nodes
    assert [(n.node_id, n.port, n.controller_port) for n in nodes.values()] == [
        (1, 9092, 9093),
        (2, 9094, 9095),
        (3, 9096, 9097),
    ]
    assert stack.kafka_bootstrap == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    assert {n.credentials_file for n in nodes.values()} == {tmp_path / "kafka-cluster" / "credentials.json"}
    with pytest.raises(DevstackError):
        _ = stack.kafka  # no single broker here
    with pytest.raises(DevstackError):
        Stack(tmp_path / "two", kafka_brokers=2)


def test_the_cluster_id_and_directories_are_made_once(tmp_path: Path) -> None:
    first = KafkaCluster(tmp_path, (1, 3, 5), (2, 4, 6)).nodes[1].quorum
    again = KafkaCluster(tmp_path, (1, 3, 5), (2, 4, 6)).nodes[3].quorum
    assert first is not None
    assert again is not None
    assert (first.cluster_id, first.voters) == (again.cluster_id, again.voters)
    assert len({directory for _, _, directory in first.voters}) == 3


def test_dev_refuses_a_folder_made_with_the_other_broker_count(tmp_path: Path) -> None:
    assert other_kafka_layout(tmp_path, 1) is None
    (tmp_path / "kafka").mkdir()
    assert other_kafka_layout(tmp_path, 1) is None
    message = other_kafka_layout(tmp_path, 3)
    assert message is not None
    assert "KAFKA_BROKERS=1" in message


def test_compose_override_runs_three_voters_with_three_replicas() -> None:
    text = (ROOT / "docker-compose.cluster.yml").read_text()
    assert "controller.quorum.voters=1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093" in text
    assert sorted(re.findall(r"KAFKA_NODE_ID: (\d)", text)) == ["1", "2", "3"]
    assert sorted(set(re.findall(r"(kafka(?:-\d)?-data):/var/lib/kafka/data", text))) == [
        "kafka-2-data",
        "kafka-3-data",
        "kafka-data",
    ]
    for setting in ("offsets.topic.replication.factor=3", "min.insync.replicas=2", "--add-scram"):
        assert setting in text
