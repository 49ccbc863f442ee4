"""A charge point's OCPP frames as a Markdown transcript: each CALL and what answered it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def transcript_markdown(protocol: str, charge_point_id: str, frames: Sequence[tuple[str, str]]) -> str:
    """One line per frame: ``->`` sent, ``<-`` received, ``--`` a connection event."""
    lines = [f"Charge point `{charge_point_id}`, subprotocol `{protocol}`:", "", "```text"]
    for direction, frame in frames:
        arrow = {"sent": "->", "received": "<-"}.get(direction, "--")
        lines.append(f"{arrow} {frame}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def write_transcript(
    path: str | Path, protocol: str, charge_point_id: str, frames: Sequence[tuple[str, str]]
) -> Path:
    """Write :func:`transcript_markdown` to ``path``."""
    out = Path(path)
    out.write_text(transcript_markdown(protocol, charge_point_id, frames))
    return out
