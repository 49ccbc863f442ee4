"""Kafka topic names (DESIGN.md, "Kafka")."""

from __future__ import annotations

from typing import Literal

METER_TOPIC = "telemetry.meter.v1"
VEHICLE_TOPIC = "telemetry.vehicle.v1"
# OCPP transaction steps (schemas.sessions); the energy travels on the meter topic.
SESSION_TOPIC = "telemetry.session.v1"
ALL_TOPICS = (METER_TOPIC, VEHICLE_TOPIC, SESSION_TOPIC)


def topic_for(reading_type: Literal["meter", "vehicle"]) -> str:
    """The topic a reading of this type is published to."""
    return METER_TOPIC if reading_type == "meter" else VEHICLE_TOPIC
