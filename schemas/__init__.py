"""Wire models shared by the gateway, the consumer and the analytics API."""

from schemas.codec import (
    READING_ADAPTER,
    KafkaDecoder,
    MeterMessage,
    VehicleMessage,
    decode_kafka_value,
    encode_kafka_value,
    validate_reading_json,
)
from schemas.readings import (
    BATTERY_TEMP_MAX_C,
    BATTERY_TEMP_MIN_C,
    DEFAULT_MAX_FUTURE_SKEW,
    DEFAULT_TIMESTAMP_FLOOR,
    KWH_MAX,
    KWH_REGISTER_MAX,
    VOLTAGE_MAX_V,
    MeterReading,
    Reading,
    ValidationClock,
    VehicleReading,
    device_id_of,
)
from schemas.timerules import TimeRules
from schemas.topics import METER_TOPIC, VEHICLE_TOPIC, topic_for

__all__ = [
    "BATTERY_TEMP_MAX_C",
    "BATTERY_TEMP_MIN_C",
    "DEFAULT_MAX_FUTURE_SKEW",
    "DEFAULT_TIMESTAMP_FLOOR",
    "KWH_MAX",
    "KWH_REGISTER_MAX",
    "METER_TOPIC",
    "READING_ADAPTER",
    "VEHICLE_TOPIC",
    "VOLTAGE_MAX_V",
    "KafkaDecoder",
    "MeterMessage",
    "MeterReading",
    "Reading",
    "TimeRules",
    "ValidationClock",
    "VehicleMessage",
    "VehicleReading",
    "decode_kafka_value",
    "device_id_of",
    "encode_kafka_value",
    "topic_for",
    "validate_reading_json",
]
