"""`simulate --protocol ocpp* --check`: do the vehicles' sessions show the energy really drawn?

After a run, each vehicle's ``GET /v1/vehicles/{id}/sessions`` must list its charge point's
sessions, stopped, with ``kwhConsumedAc`` equal to the energy the plan drew (not read from
the register: resets, units and phases included) and ``kwhDeliveredDc`` to what the
vehicle posted. Polls until every session matches or ``timeout_s`` passes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from simulator.ocpp_plan import SessionPlan
from simulator.ocpp_run import ChargePointPlan

TOLERANCE_KWH = 1e-6


@dataclass(slots=True)
class CheckResult:
    """How many sessions matched, and what the others showed."""

    matched: int = 0
    expected: int = 0
    differences: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"sessions check: {self.matched} of {self.expected} match the energy drawn and the DC posted"


def session_problem(row: dict[str, Any] | None, plan: SessionPlan) -> str | None:
    """What is wrong with the sessions route's ``row`` for ``plan`` (None: it matches)."""
    if row is None:
        return "missing"
    if row.get("stop") is None:
        return "not stopped"
    ac, dc = row.get("kwhConsumedAc"), row.get("kwhDeliveredDc")
    if ac is None or abs(float(ac) - plan.drawn_kwh) > TOLERANCE_KWH:
        return f"kwhConsumedAc {ac}, drawn {plan.drawn_kwh:.6f}"
    if dc is None or abs(float(dc) - plan.dc_kwh) > TOLERANCE_KWH:
        return f"kwhDeliveredDc {dc}, posted {plan.dc_kwh:.6f}"
    return None


def check_sessions(
    fleet: list[ChargePointPlan], analytics_url: str, token: str, timeout_s: float = 60.0
) -> CheckResult:
    """Compare every vehicle's sessions with its charge point's plan."""
    deadline = time.monotonic() + timeout_s
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=analytics_url, headers=headers, timeout=30) as client:
        while True:
            result = CheckResult(expected=sum(len(cp.sessions) for cp in fleet))
            for cp in fleet:
                first, last = cp.sessions[0].start, cp.sessions[-1].stop
                params = {"from": first.isoformat(), "to": (last + timedelta(seconds=1)).isoformat()}
                r = client.get(f"/v1/vehicles/{cp.vehicle_id}/sessions", params=params)
                rows = r.json().get("sessions", []) if r.status_code == 200 else []
                by_start = {row["start"].replace("Z", "+00:00"): row for row in rows}
                for plan in cp.sessions:
                    problem = session_problem(by_start.get(plan.start.isoformat()), plan)
                    if problem is None:
                        result.matched += 1
                    else:
                        result.differences.append(
                            f"{cp.vehicle_id} session from {plan.start:%H:%M}: {problem}"
                        )
            if result.matched == result.expected or time.monotonic() > deadline:
                return result
            time.sleep(1.0)
