"""Least-privilege Kafka ACLs: the gateway only produces, the consumer only consumes.

Granted by the admin principal (a super user) with Kafka's CreateAcls request, which is
idempotent: granting the same ACL twice leaves one. aiokafka has no public ACL API, so
the request is sent through the admin client's connection.

| principal | telemetry topics          | consumer group (prefixed)  | cluster          |
|-----------|---------------------------|----------------------------|------------------|
| gateway   | Write, Describe           | -                          | IdempotentWrite  |
| consumer  | Read, Describe            | Read, Describe             | -                |
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest

from common.kafka import KafkaAccess
from schemas.topics import ALL_TOPICS


class Resource(IntEnum):
    """Kafka's ResourceType codes."""

    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class Operation(IntEnum):
    """Kafka's AclOperation codes."""

    READ = 3
    WRITE = 4
    DESCRIBE = 8
    IDEMPOTENT_WRITE = 12


class Pattern(IntEnum):
    """Kafka's PatternType codes."""

    LITERAL = 3
    PREFIXED = 4


ALLOW = 3
CLUSTER_NAME = "kafka-cluster"


@dataclass(frozen=True, slots=True)
class Acl:
    """One ALLOW entry: ``principal`` may ``operation`` on ``resource`` ``name``."""

    principal: str
    resource: Resource
    name: str
    operation: Operation
    pattern: Pattern = Pattern.LITERAL


class AclError(RuntimeError):
    """The broker refused to create an ACL (e.g. the principal is not a super user)."""


def service_acls(gateway: str, consumer: str, group: str) -> list[Acl]:
    """The ACLs of the gateway's and the consumer's principals (user names)."""
    gw, co = f"User:{gateway}", f"User:{consumer}"
    acls = [Acl(gw, Resource.CLUSTER, CLUSTER_NAME, Operation.IDEMPOTENT_WRITE)]
    for topic in ALL_TOPICS:
        acls += [
            Acl(gw, Resource.TOPIC, topic, Operation.WRITE),
            Acl(gw, Resource.TOPIC, topic, Operation.DESCRIBE),
            Acl(co, Resource.TOPIC, topic, Operation.READ),
            Acl(co, Resource.TOPIC, topic, Operation.DESCRIBE),
        ]
    # Prefixed: replicas of "energy-ingest" and groups such as "energy-ingest-test-1".
    acls += [
        Acl(co, Resource.GROUP, group, Operation.READ, Pattern.PREFIXED),
        Acl(co, Resource.GROUP, group, Operation.DESCRIBE, Pattern.PREFIXED),
    ]
    return acls


async def grant(admin_access: KafkaAccess, acls: list[Acl]) -> None:
    """Create ``acls`` as the admin principal; AclError if the broker refuses one."""
    admin = AIOKafkaAdminClient(**admin_access.aiokafka_kwargs(), client_id="energy-acls")
    await admin.start()
    try:
        for acl in acls:
            request = CreateAclsRequest(
                acl.resource, acl.name, acl.pattern, acl.principal, "*", acl.operation, ALLOW
            )
            response = await admin._send_request(request)
            for error_code, message in response.creation_responses:
                if error_code:
                    raise AclError(f"creating {acl} failed: error {error_code} {message or ''}".strip())
    finally:
        await admin.close()
