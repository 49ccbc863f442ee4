"""A real Prometheus server (Debian's binary) scraping the stack, with the shipped alert rules.

Targets come from file-based service discovery: one ``targets/<job>.json`` per scrape
job, rewritten atomically by :meth:`PrometheusServer.set_targets`; Prometheus notices
the change by itself (inotify, and a short ``refresh_interval`` as a fallback).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from devstack._process import ManagedProcess
from devstack.errors import DevstackError
from devstack.prometheus_install import prometheus_binaries, promtool

ALERT_RULES = Path(__file__).resolve().parent.parent / "ops" / "prometheus" / "alerts.yml"
"""The alert rules shipped in the repository (the same file docker-compose.yml mounts)."""

JOBS = ("gateway", "analytics", "consumer")
"""The scrape jobs: one file of targets each."""

RETENTION = "7d"


class PrometheusServer:
    """One Prometheus server whose config, targets, TSDB and log live in ``data_dir``.

    Layout: ``prometheus.yml`` (written by ``start()``), ``targets/<job>.json`` (file
    SD), ``data/`` (the TSDB), ``prometheus.log``. The server listens on
    ``127.0.0.1:port`` only; ``/-/reload`` is enabled (``--web.enable-lifecycle``).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        rule_files: Sequence[Path] = (ALERT_RULES,),
        jobs: Sequence[str] = JOBS,
        scrape_interval_s: float = 5.0,
        evaluation_interval_s: float | None = None,
        sd_refresh_s: float = 5.0,
        startup_timeout: float = 60.0,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.rule_files = tuple(Path(p).absolute() for p in rule_files)
        self.jobs = tuple(jobs)
        self.scrape_interval_s = scrape_interval_s
        self.evaluation_interval_s = evaluation_interval_s or scrape_interval_s
        self.sd_refresh_s = sd_refresh_s
        self.startup_timeout = startup_timeout
        self._process = ManagedProcess("prometheus", self.data_dir / "prometheus.pid", signal.SIGTERM)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        """The generated ``prometheus.yml`` (JSON, which is YAML)."""
        return self.data_dir / "prometheus.yml"

    @property
    def log_file(self) -> Path:
        """The server's log."""
        return self.data_dir / "prometheus.log"

    def targets_file(self, job: str) -> Path:
        """The file SD file of ``job``."""
        if job not in self.jobs:
            raise DevstackError(f"unknown scrape job {job!r}; the jobs are {', '.join(self.jobs)}")
        return self.data_dir / "targets" / f"{job}.json"

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs."""
        return self._process.pid

    def is_running(self) -> bool:
        """Whether the server process is alive."""
        return self._process.running()

    def set_targets(
        self,
        job: str,
        targets: Sequence[str],
        labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """Make ``targets`` (``"host:port"``, each serving ``/metrics``) the whole of ``job``.

        ``labels`` optionally maps a target to extra labels (e.g. ``{"replica":
        "consumer-1"}``). The file is replaced atomically, so Prometheus never reads half
        of it; it applies the change within a few seconds, running or not. Call it again
        whenever replicas come or go (a halted replica should stay listed: its ``up == 0``
        is what raises ``ConsumerDown``).
        """
        groups = [{"targets": [t], "labels": dict((labels or {}).get(t, {}))} for t in targets]
        path = self.targets_file(job)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.tmp")
        scratch.write_text(json.dumps(groups, indent=2) + "\n")
        os.replace(scratch, path)

    def targets(self, job: str) -> list[str]:
        """The targets currently listed for ``job``."""
        try:
            groups: list[dict[str, Any]] = json.loads(self.targets_file(job).read_text())
        except FileNotFoundError:
            return []
        return [t for g in groups for t in g["targets"]]

    def write_config(self) -> Path:
        """Write ``prometheus.yml`` (and an empty targets file per job that has none)."""
        for rules in self.rule_files:
            if not rules.is_file():
                raise DevstackError(f"alert rules {rules} not found")
        for job in self.jobs:
            if not self.targets_file(job).exists():
                self.set_targets(job, [])
        interval = _duration(self.scrape_interval_s)
        config = {
            "global": {
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "evaluation_interval": _duration(self.evaluation_interval_s),
            },
            "rule_files": [str(p) for p in self.rule_files],
            "scrape_configs": [
                {
                    "job_name": job,
                    "file_sd_configs": [
                        {
                            "files": [str(self.targets_file(job))],
                            "refresh_interval": _duration(self.sd_refresh_s),
                        }
                    ],
                }
                for job in self.jobs
            ],
        }
        self.config_file.write_text(json.dumps(config, indent=2) + "\n")
        return self.config_file

    def start(self) -> None:
        """Write the config, start the server and wait until ``/-/ready`` answers."""
        if self.is_running():
            return
        binary, _ = prometheus_binaries()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        argv = [
            str(binary),
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.data_dir / 'data'}",
            f"--storage.tsdb.retention.time={RETENTION}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
        ]
        self._process.spawn(argv, log=self.log_file, cwd=self.data_dir, ports=(self.port,))
        self._wait_ready()

    def reload(self) -> None:
        """Re-read the config and the rule files now (``POST /-/reload``)."""
        status = self._request("POST", "/-/reload", timeout=10)
        if status != 200:
            raise DevstackError(f"prometheus refused to reload (HTTP {status}); see {self.log_file}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a clean shutdown); SIGKILL after ``timeout`` s."""
        self._process.stop(timeout)

    def kill(self) -> None:
        """SIGKILL the server at once."""
        self._process.kill()

    def _wait_ready(self) -> None:
        def probe() -> str | None:
            try:
                status = self._request("GET", "/-/ready", timeout=2)
            except (OSError, http.client.HTTPException) as exc:
                return str(exc)
            return None if status == 200 else f"HTTP {status}"

        self._process.wait_ready(probe, timeout=self.startup_timeout, log=self.log_file)

    def _request(self, method: str, path: str, timeout: float) -> int:
        """The HTTP status of ``method path`` on the server."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path)
            answer = conn.getresponse()
            answer.read()
            return answer.status
        finally:
            conn.close()


def check_rules(path: Path = ALERT_RULES) -> subprocess.CompletedProcess[str]:
    """``promtool check rules path``: its exit code, stdout and stderr."""
    return _promtool("rules", path)


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    """``promtool check config path`` (it also checks the rule files the config names)."""
    return _promtool("config", path)


def _promtool(kind: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool()), "check", kind, str(path)], capture_output=True, text=True, check=False
    )


def _duration(seconds: float) -> str:
    """A Prometheus duration: whole seconds, else milliseconds."""
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{round(seconds * 1000)}ms"
