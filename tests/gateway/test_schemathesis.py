"""Schemathesis against the gateway's own OpenAPI: no 5xx, and every answer (status, headers,
body) conforms to the document; requests without a token must be refused.

``positive_data_acceptance`` is left out: a schema-valid reading can still be refused with
422 for a rule JSON Schema cannot state (a timestamp more than the skew in the future).
The seed is fixed so CI is repeatable; SCHEMATHESIS_SEED picks another one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.gateway.helpers import Gateway

ROOT = Path(__file__).resolve().parents[2]


def test_schemathesis_finds_nothing(gateway: Gateway, tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    env = os.environ | {
        "SCHEMATHESIS_HOOKS": "tests.gateway.schemathesis_hooks",
        "PYTHONPATH": str(ROOT),
    }
    seed = os.environ.get("SCHEMATHESIS_SEED", "20261127")
    args = [
        *("run", f"{gateway.url}/openapi.json"),
        *("--header", f"Authorization: Bearer {gateway.env['INGEST_TOKEN']}"),
        *("--checks", "all", "--exclude-checks", "positive_data_acceptance"),
        *("--max-examples", "25", "--seed", seed, "--request-timeout", "10"),
        *("--no-color", "--output-truncate", "true"),
    ]
    run = subprocess.run(
        [str(cli), *args],
        cwd=tmp_path,  # its report folder lands there
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "No issues found" in run.stdout, report
    assert "4 passed" in run.stdout, report  # all four operations were exercised
