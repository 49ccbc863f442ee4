"""The gateway's OCPP front door: ``ws://GATEWAY/ocpp/{chargePointId}`` (OCPP 1.6J and 2.0.1).

Charge points speak OCPP-J over a WebSocket; the ``ocpp`` package parses, validates (its
JSON schemas) and routes their CALLs to the handlers of :mod:`.v16` and :mod:`.v201`. The
register values they report become meter readings (``kwhRegisterAc``, :mod:`.samples`),
their transactions session events (``schemas.sessions``), both published through the
gateway's one :class:`~ingest_gateway.publisher.Publisher`; a CALLRESULT is sent only
after Kafka acknowledged every record of its CALL.
"""
