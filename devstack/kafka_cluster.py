"""Three real Kafka nodes (KRaft, each broker and controller, a controller quorum of three).

Each node has its own ports and data folder (``<data_dir>/node-<id>``); they share one
cluster id and one set of SCRAM users (``<data_dir>/credentials.json``, formatted into
every node's storage), and have the single broker's SASL/ACL set-up. Topics get three
replicas and ``min.insync.replicas=2`` by default: one node may be down without losing
an acknowledged write or refusing a new one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from devstack.errors import DevstackError
from devstack.kafka import ADMIN_USER, CLUSTER_NODE_HEAP, KafkaBroker, Quorum, new_uuid

NODES = 3


class KafkaCluster:
    """``NODES`` KRaft nodes; ``ports[i]`` and ``controller_ports[i]`` are node ``i + 1``'s.

    ``start()`` formats every node on first use and returns once each serves metadata;
    ``stop()``, ``kill(node)``, ``restart(node)`` and ``start_node(node)`` keep ports and
    data. Nodes are numbered from 1 (their ``node.id``).
    """

    def __init__(
        self,
        data_dir: Path,
        ports: tuple[int, ...],
        controller_ports: tuple[int, ...],
        *,
        users: tuple[str, ...] = (),
        cache_dir: Path | None = None,
    ) -> None:
        if len(ports) != NODES or len(controller_ports) != NODES:
            raise DevstackError(f"a cluster needs {NODES} client ports and {NODES} controller ports")
        self.data_dir = Path(data_dir).absolute()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        quorum = self._quorum(controller_ports)
        self.nodes = {
            node: KafkaBroker(
                self.data_dir / f"node-{node}",
                ports[node - 1],
                controller_ports[node - 1],
                cache_dir=cache_dir,
                users=users,
                node_id=node,
                quorum=quorum,
                credentials_file=self.data_dir / "credentials.json",
                heap=CLUSTER_NODE_HEAP,
                startup_timeout=120.0,
            )
            for node in range(1, NODES + 1)
        }

    def _quorum(self, controller_ports: tuple[int, ...]) -> Quorum:
        """The cluster id and directory ids, made once and kept in ``cluster.json``."""
        path = self.data_dir / "cluster.json"
        if path.exists():
            known: dict[str, Any] = json.loads(path.read_text())
        else:
            known = {"cluster_id": new_uuid(), "directories": [new_uuid() for _ in range(NODES)]}
            path.write_text(json.dumps(known) + "\n")
        voters = tuple(
            (node, controller_ports[node - 1], known["directories"][node - 1]) for node in range(1, NODES + 1)
        )
        return Quorum(known["cluster_id"], voters)

    def node(self, node: int) -> KafkaBroker:
        """Node ``node`` (1..3)."""
        return self.nodes[node]

    @property
    def bootstrap(self) -> str:
        """Every node's ``host:port``, comma-separated, as clients take it."""
        return ",".join(n.bootstrap for n in self.nodes.values())

    @property
    def credentials_file(self) -> Path:
        return self.data_dir / "credentials.json"

    def password(self, user: str) -> str:
        return self.nodes[1].password(user)

    def client_kwargs(self, user: str = ADMIN_USER) -> dict[str, Any]:
        """aiokafka keyword arguments to connect as ``user`` to any node."""
        return self.nodes[1].client_kwargs(user) | {"bootstrap_servers": self.bootstrap}

    def env(self) -> dict[str, str]:
        """As ``KafkaBroker.env()``, with every node in ``KAFKA_BOOTSTRAP_SERVERS``."""
        return self.nodes[1].env() | {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}

    def is_running(self) -> bool:
        """Whether every node runs."""
        return all(n.is_running() for n in self.nodes.values())

    def running(self) -> list[int]:
        """The nodes whose process is alive."""
        return [i for i, n in self.nodes.items() if n.is_running()]

    def start(self) -> None:
        """Start every node that is not running, together (a quorum needs two of them)."""
        self.nodes[1].ensure_credentials()  # before the nodes, which share the file
        todo = [n for n in self.nodes.values() if not n.is_running()]
        for n in todo:
            n.spawn()
        self._each(lambda n: n.wait_ready(), todo, on_error=self.stop)

    def stop(self, timeout: float = 30.0) -> None:
        """Controlled shutdown of every node, in parallel."""
        self._each(lambda n: n.stop(timeout), list(self.nodes.values()), on_error=None)

    def start_node(self, node: int) -> None:
        """Start one node and wait until it serves metadata."""
        self.nodes[node].start()

    def stop_node(self, node: int) -> None:
        """Controlled shutdown of one node (it hands its leaderships over first)."""
        self.nodes[node].stop()

    def kill(self, node: int) -> None:
        """SIGKILL one node, as a crash would."""
        self.nodes[node].kill()

    def restart(self, node: int) -> None:
        """Stop one node cleanly and start it again on the same ports with the same data."""
        self.nodes[node].restart()

    def leaders(self, topics: list[str]) -> dict[tuple[str, int], int]:
        """``(topic, partition) -> leader node id`` (-1: none) as the cluster reports it."""
        return {(t, p): leader for t, p, leader, _, _ in self._describe(topics)}

    def replicas(self, topics: list[str]) -> dict[tuple[str, int], list[int]]:
        """``(topic, partition) -> the nodes holding a replica``."""
        return {(t, p): replicas for t, p, _, replicas, _ in self._describe(topics)}

    def leader_of(self, topic: str, partition: int) -> int:
        """The node leading ``topic``'s ``partition`` now (-1 while it has none)."""
        return self.leaders([topic])[(topic, partition)]

    def under_replicated(self, topics: list[str] | None = None) -> list[str]:
        """Partitions (of ``topics``, default all, internal ones included) whose in-sync
        replicas are fewer than their replicas."""
        return [f"{t}[{p}]" for t, p, _, replicas, isr in self._describe(topics) if len(isr) < len(replicas)]

    def _describe(self, topics: list[str] | None) -> list[tuple[str, int, int, list[int], list[int]]]:
        with ThreadPoolExecutor(1, thread_name_prefix="kafka-describe") as pool:
            return pool.submit(asyncio.run, _describe(self.client_kwargs(), topics)).result()

    @staticmethod
    def _each(
        step: Callable[[KafkaBroker], None],
        nodes: list[KafkaBroker],
        on_error: Callable[[], None] | None,
    ) -> None:
        if not nodes:
            return
        with ThreadPoolExecutor(len(nodes), thread_name_prefix="kafka-node") as pool:
            errors = [f.exception() for f in [pool.submit(step, n) for n in nodes]]
        failed = [e for e in errors if e is not None]
        if failed:
            if on_error is not None:
                on_error()
            raise failed[0]


async def _describe(
    client_kwargs: dict[str, Any], topics: list[str] | None
) -> list[tuple[str, int, int, list[int], list[int]]]:
    admin = AIOKafkaAdminClient(**client_kwargs, request_timeout_ms=10000)
    await admin.start()
    try:
        for attempt in range(20):
            try:
                described = await admin.describe_topics(topics)
                break
            except KafkaError:  # it asked a node that is down but not yet fenced: ask another
                if attempt == 19:
                    raise
                await asyncio.sleep(0.25)
    finally:
        await admin.close()
    return [
        (t["topic"], p["partition"], p["leader"], list(p["replicas"]), list(p["isr"]))
        for t in described
        for p in t["partitions"]
    ]
