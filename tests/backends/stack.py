"""What the session fixtures and the fault tests use of a stack, whichever backend runs it.

``devstack.Stack`` and :class:`tests.backends.containers.ContainerStack` both fit."""

from __future__ import annotations

from typing import Protocol


class ServiceControl(Protocol):
    """One service the fault tests stop, kill and start again (same address, same data)."""

    def is_running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 30.0) -> None: ...

    def kill(self) -> None: ...


class PostgresControl(ServiceControl, Protocol):
    """The PostgreSQL server: also a superuser URL of any database on it."""

    def url(self, database: str) -> str: ...


class ServiceStack(Protocol):
    """Kafka and PostgreSQL for a test session."""

    @property
    def database_url(self) -> str: ...

    @property
    def kafka(self) -> ServiceControl: ...

    @property
    def postgres(self) -> PostgresControl: ...

    def kafka_env(self) -> dict[str, str]: ...

    def stop(self) -> None: ...
