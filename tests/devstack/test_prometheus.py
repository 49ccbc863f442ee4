"""Prometheus for real: the shipped alert rules, checked by promtool and loaded by a real
server that scrapes the real gateway, analytics API and a consumer replica."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import pytest

from devstack import DevstackError, PrometheusServer, free_port
from devstack._process import is_live_pid
from devstack.prometheus import ALERT_RULES, check_config, check_rules
from tests.consumer.fleet import Fleet
from tests.support import Services, eventually, unique

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
COMPOSE_CONFIG = ALERT_RULES.parent / "compose.yml"
GRAFANA = ROOT / "ops" / "grafana"
DASHBOARD = json.loads((GRAFANA / "dashboards" / "energy-ingest.json").read_text())
PANEL_EXPRS = [(p["title"], t["expr"]) for p in DASHBOARD["panels"] for t in p["targets"]]
ALERT_NAMES = re.findall(r"^\s*- alert: (\w+)", ALERT_RULES.read_text(), re.MULTILINE)
# A metric of ours in a PromQL expression, and the job whose targets export it.
METRIC = re.compile(r"\b(consumer|gateway|analytics)_[a-z_]+\b")
REPLICA = "consumer-prom"


def test_shipped_rules_pass_promtool() -> None:
    result = check_rules(ALERT_RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERT_NAMES)} rules found" in result.stdout
    assert len(ALERT_NAMES) >= 6


def test_generated_config_passes_promtool(tmp_path: Path) -> None:
    server = PrometheusServer(tmp_path, free_port())
    result = check_config(server.write_config())
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(ALERT_RULES) in result.stdout  # the config loads the shipped rules


def test_compose_prometheus_loads_the_same_rules() -> None:
    result = check_config(COMPOSE_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERT_NAMES)} rules found" in result.stdout
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "image: prom/prometheus" in compose
    assert "./ops/prometheus:/etc/prometheus:ro" in compose
    assert "--config.file=/etc/prometheus/compose.yml" in compose


def test_grafana_dashboard_uses_the_provisioned_prometheus() -> None:
    datasource = (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    uid = re.search(r"^\s*uid: (\S+)$", datasource, re.MULTILINE)
    assert uid is not None
    panels = DASHBOARD["panels"]
    assert panels
    assert {p["datasource"]["uid"] for p in panels} | {
        t["datasource"]["uid"] for p in panels for t in p["targets"]
    } == {uid.group(1)}
    assert len(PANEL_EXPRS) >= len(panels)
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "./ops/grafana/provisioning:/etc/grafana/provisioning:ro" in compose
    assert "./ops/grafana/dashboards:/var/lib/grafana/dashboards:ro" in compose


def test_set_targets_replaces_the_file_atomically(tmp_path: Path) -> None:
    server = PrometheusServer(tmp_path, free_port())
    server.set_targets("consumer", ["127.0.0.1:1", "127.0.0.1:2"], {"127.0.0.1:2": {"replica": "c2"}})
    server.set_targets("consumer", ["127.0.0.1:2"], {"127.0.0.1:2": {"replica": "c2"}})
    assert server.targets("consumer") == ["127.0.0.1:2"]
    assert '"replica": "c2"' in server.targets_file("consumer").read_text()
    assert [p.name for p in server.targets_file("consumer").parent.iterdir()] == ["consumer.json"]
    with pytest.raises(DevstackError, match="unknown scrape job"):
        server.set_targets("consumers", [])


def test_readme_explains_every_alert() -> None:
    _, heading, alerts = README.read_text().partition("### Alerts")
    assert heading, "README.md has no Alerts section"
    missing = [name for name in ALERT_NAMES if f"`{name}`" not in alerts]
    assert not missing, f"README's Alerts section does not describe {missing}"


def test_a_leftover_server_of_a_killed_runner_is_stopped(tmp_path: Path) -> None:
    port = free_port()
    runner = (
        "import os, sys; from pathlib import Path; from devstack import PrometheusServer\n"
        "p = PrometheusServer(Path(sys.argv[1]), int(sys.argv[2])); p.start(); print(p.pid, flush=True)\n"
        "os._exit(0)  # as if SIGKILLed: no clean-up runs\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", runner, str(tmp_path), str(port)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    leftover = int(out.stdout.split()[0])
    assert Path(f"/proc/{leftover}").exists()
    server = PrometheusServer(tmp_path, port)
    try:
        server.start()  # would fail with "port in use" if the leftover were still there
        assert server.pid != leftover
        assert not is_live_pid(leftover)
    finally:
        server.stop()
        if is_live_pid(leftover):
            os.kill(leftover, signal.SIGKILL)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IO[str]]:
    with (tmp_path_factory.mktemp("prom-services") / "services.log").open("w") as sink:
        yield sink


@pytest.fixture(scope="module")
def replica(services: Services, log: IO[str]) -> Iterator[Fleet]:
    """One consumer replica with a metrics port, in a group of its own (starts at the end)."""
    fleet = Fleet(services.env, unique("energy-ingest-prom"), log)
    fleet.start(REPLICA)
    try:
        fleet.wait_metrics(REPLICA)
        yield fleet
    finally:
        fleet.stop_all()


@pytest.fixture(scope="module")
def prometheus(
    services: Services, replica: Fleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    """A real Prometheus (1 s scrapes and evaluations) over gateway, analytics and the replica."""
    server = PrometheusServer(
        tmp_path_factory.mktemp("prometheus"), free_port(), scrape_interval_s=1, sd_refresh_s=1
    )
    server.start()
    try:
        server.set_targets("gateway", [_address(services.env["GATEWAY_URL"])])
        server.set_targets("analytics", [_address(services.env["ANALYTICS_URL"])])
        consumer = f"127.0.0.1:{replica.ports[REPLICA]}"
        server.set_targets("consumer", [consumer], {consumer: {"replica": REPLICA}})
        yield server
    finally:
        server.stop()


def test_every_target_is_up(prometheus: PrometheusServer, services: Services, replica: Fleet) -> None:
    expected = {
        ("gateway", _address(services.env["GATEWAY_URL"])),
        ("analytics", _address(services.env["ANALYTICS_URL"])),
        ("consumer", f"127.0.0.1:{replica.ports[REPLICA]}"),
    }

    def all_up() -> dict[tuple[str, str], str] | None:
        health = {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in _targets(prometheus)}
        return health if set(health) == expected and set(health.values()) == {"up"} else None

    health = eventually(all_up, timeout=60, every=0.5)
    assert set(health) == expected


def test_every_rule_is_loaded_and_evaluates(prometheus: PrometheusServer) -> None:
    _wait_until_all_up(prometheus)

    def evaluated() -> list[dict[str, Any]] | None:
        rules = _rules(prometheus)
        done = all(r["health"] == "ok" and not r["lastEvaluation"].startswith("0001") for r in rules)
        return rules if rules and done else None

    rules = eventually(evaluated, timeout=30, every=0.5)
    assert sorted(r["name"] for r in rules) == sorted(ALERT_NAMES)
    for rule in rules:
        answer = _api(prometheus, "query", query=rule["query"])
        assert answer["status"] == "success", (rule["name"], answer)
        assert rule["labels"].get("severity") in ("critical", "warning"), rule["name"]
        for key in ("summary", "description", "runbook"):
            assert rule["annotations"].get(key, "").strip(), (rule["name"], key)


def test_every_dashboard_query_evaluates(prometheus: PrometheusServer) -> None:
    for title, expr in PANEL_EXPRS:
        answer = _api(prometheus, "query", query=expr)
        assert answer["status"] == "success", (title, expr, answer)


def test_rules_and_panels_name_only_metrics_the_services_export(prometheus: PrometheusServer) -> None:
    _wait_until_all_up(prometheus)
    exported: dict[str, set[str]] = {}
    for target in _targets(prometheus):
        text = httpx.get(target["scrapeUrl"], timeout=5).text
        exported.setdefault(target["labels"]["job"], set()).update(_metric_names(text))
    queries = [(rule["name"], rule["query"]) for rule in _rules(prometheus)] + PANEL_EXPRS
    unknown = {
        (where, found.group())
        for where, query in queries
        for found in METRIC.finditer(query)
        if found.group() not in exported.get(found.group(1), set())
    }
    assert not unknown, f"queries name metrics no service exports: {sorted(unknown)}"


def test_a_killed_consumer_raises_consumer_down(prometheus: PrometheusServer, replica: Fleet) -> None:
    instance = f"127.0.0.1:{replica.ports[REPLICA]}"
    consumer_alerts = ("ConsumerDown", "NoConsumerRunning")
    _wait_until_all_up(prometheus)
    eventually(lambda: not _active(prometheus, consumer_alerts), timeout=30, every=0.5)
    replica.procs[REPLICA].signal(signal.SIGKILL)
    replica.stopped.add(REPLICA)

    def raised() -> dict[str, dict[str, Any]] | None:
        found = _active(prometheus, consumer_alerts)
        return found if set(found) == set(consumer_alerts) else None

    alerts = eventually(raised, timeout=30, every=0.5)
    for alert in alerts.values():
        assert alert["state"] in ("pending", "firing")  # pending for the rules' `for: 1m`
        assert alert["labels"]["severity"] == "critical"
    down = alerts["ConsumerDown"]
    assert (down["labels"]["instance"], down["labels"]["replica"]) == (instance, REPLICA)
    assert instance in down["annotations"]["summary"]


def _wait_until_all_up(server: PrometheusServer) -> None:
    """Until every job has its targets and every target is up."""

    def up() -> bool:
        targets = _targets(server)
        jobs = {t["labels"]["job"] for t in targets}
        return jobs == set(server.jobs) and all(t["health"] == "up" for t in targets)

    eventually(up, timeout=60, every=0.5)


def _address(url: str) -> str:
    return urlsplit(url).netloc


def _api(server: PrometheusServer, path: str, **params: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{server.url}/api/v1/{path}", params=params, timeout=10).json()
    return answer


def _targets(server: PrometheusServer) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = _api(server, "targets")["data"]["activeTargets"]
    return targets


def _rules(server: PrometheusServer) -> list[dict[str, Any]]:
    return [rule for group in _api(server, "rules")["data"]["groups"] for rule in group["rules"]]


def _alerts(server: PrometheusServer) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = _api(server, "alerts")["data"]["alerts"]
    return alerts


def _active(server: PrometheusServer, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The pending or firing alerts called one of ``names``, by name."""
    return {a["labels"]["alertname"]: a for a in _alerts(server) if a["labels"]["alertname"] in names}


def _metric_names(exposition: str) -> set[str]:
    """Every series name a /metrics page can have, from its ``# TYPE`` lines (so a counter
    that has not counted anything yet still counts as exported)."""
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            suffixes = ("_bucket", "_sum", "_count") if kind == "histogram" else ("",)
            names |= {name + s for s in suffixes}
    return names
