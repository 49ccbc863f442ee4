"""OpenAPI documentation of the gateway: the request bodies, the reading models and the
bearer-token security scheme (the answers are in :mod:`ingest_gateway.responses`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from schemas import MeterReading, VehicleReading

READING_REF = "#/components/schemas/Reading"
METER_EXAMPLE = {
    "type": "meter",
    "meterId": "m-123",
    "kwhConsumedAc": 50.5,
    "voltage": 240,
    "timestamp": "2023-10-27T10:00:00Z",
}
METER_REGISTER_EXAMPLE = {
    "type": "meter",
    "meterId": "cp-7:1",
    "kwhRegisterAc": 18234.125,
    "timestamp": "2023-10-27T10:00:00Z",
}
VEHICLE_EXAMPLE = {
    "type": "vehicle",
    "vehicleId": "v-tesla-01",
    "soc": 85.0,
    "kwhDeliveredDc": 48.0,
    "batteryTemp": 35.2,
    "timestamp": "2023-10-27T10:00:00Z",
}


def ingest_request_body(max_records: int) -> dict[str, Any]:
    """``openapi_extra`` for POST /v1/ingest: the three body forms."""
    one_or_many = {
        "oneOf": [
            {"$ref": READING_REF},
            {
                "type": "array",
                "items": {"$ref": READING_REF},
                "minItems": 1,
                # Not maxItems: more readings than the limit is answered 413, not 422.
                "description": f"at most {max_records} readings (configurable; more is a 413)",
            },
        ]
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": one_or_many,
                    "examples": {
                        "meter": {"value": METER_EXAMPLE},
                        "meterRegister": {
                            "summary": "a meter's lifetime register instead of the interval energy",
                            "value": METER_REGISTER_EXAMPLE,
                        },
                        "vehicle": {"value": VEHICLE_EXAMPLE},
                        "batch": {"value": [METER_EXAMPLE, VEHICLE_EXAMPLE]},
                    },
                },
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "one reading (a JSON object) per line"},
                    "example": "\n".join(
                        [
                            '{"type":"meter","meterId":"m-123","kwhConsumedAc":50.5,"voltage":240,"timestamp":"2023-10-27T10:00:00Z"}',
                            '{"type":"meter","meterId":"m-123","kwhConsumedAc":1.5,"voltage":241,"timestamp":"2023-10-27T10:01:00Z"}',
                            '{"type":"meter","meterId":"cp-7:1","kwhRegisterAc":18234.125,"timestamp":"2023-10-27T10:01:00Z"}',
                        ]
                    ),
                },
            },
        },
        "security": [{"bearerAuth": []}],
    }


def install_openapi(app: FastAPI) -> None:
    """Add the reading models and the bearer scheme to the generated document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {})
        comps = components.setdefault("schemas", {})
        for model in (MeterReading, VehicleReading):
            comps[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        comps["Reading"] = {
            "oneOf": [
                {"$ref": "#/components/schemas/MeterReading"},
                {"$ref": "#/components/schemas/VehicleReading"},
            ],
            "discriminator": {
                "propertyName": "type",
                "mapping": {
                    "meter": "#/components/schemas/MeterReading",
                    "vehicle": "#/components/schemas/VehicleReading",
                },
            },
        }
        components["securitySchemes"] = {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "`energy-ingest token device <id>` (that device's readings only) or "
                "`energy-ingest token fleet` (any device)",
            }
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
