"""``python -m devstack up``: run Kafka and PostgreSQL in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from devstack._process import say
from devstack.errors import DevstackError
from devstack.stack import Stack


def build_parser() -> argparse.ArgumentParser:
    """The command line: one sub-command, ``up``."""
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description=(
            "Provision and run a real local Apache Kafka broker (KRaft, jars resolved with "
            "Maven and cached under ~/.cache/energy-ingest) and a real PostgreSQL server "
            "(the machine's binaries), without Docker."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up",
        help="start both services and keep them running until Ctrl-C or SIGTERM",
        description=(
            "Start Kafka and PostgreSQL with their data under --dir (kept across runs), "
            "print where they listen, and run until Ctrl-C or SIGTERM, then shut both "
            "down cleanly. Ports left at 0 are picked at random."
        ),
    )
    up.add_argument("--dir", type=Path, default=Path(".devstack"), help="data folder (default: .devstack)")
    up.add_argument("--kafka-port", type=int, default=9092, help="Kafka client port (default: 9092)")
    up.add_argument(
        "--kafka-controller-port",
        type=int,
        default=0,
        help="Kafka KRaft controller port (default: Kafka port + 1)",
    )
    up.add_argument("--pg-port", type=int, default=55432, help="PostgreSQL port (default: 55432)")
    up.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="also write DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS and the Kafka SASL users to this file",
    )
    return parser  # fmt: skip


def up(args: argparse.Namespace) -> int:
    """Run the stack until a signal arrives."""
    controller_port = args.kafka_controller_port or (args.kafka_port + 1 if args.kafka_port else 0)
    stack = Stack(args.dir, args.kafka_port, controller_port, args.pg_port)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            stop.set()
            raise KeyboardInterrupt  # also interrupts a start still in progress

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        for name, value in stack.env().items():
            print(f"{name}={value}", flush=True)
        if args.env_file is not None:
            _write_env(args.env_file, stack.env())
        say("running; press Ctrl-C to stop")
        stop.wait()
    except KeyboardInterrupt:
        pass
    except DevstackError as exc:
        say(f"error: {exc}")
        stack.stop()
        return 1
    say("shutting down")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown
    stack.stop()
    return 0


def _write_env(path: Path, env: dict[str, str]) -> None:
    """Write KEY=value lines readable only by us (the URL holds a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(f"{name}={value}\n" for name, value in env.items())


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m devstack``."""
    args = build_parser().parse_args(argv)
    if args.command == "up":
        return up(args)
    return 2  # unreachable: argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
