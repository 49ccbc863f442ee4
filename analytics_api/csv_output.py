"""Time series as CSV: one header line of camelCase names, then one line per point."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from fastapi.responses import Response
from pydantic import BaseModel

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):  # exact, as stored
        return format(value.normalize(), "f")
    return str(value)


def wants_csv(fmt: str | None, accept: str | None) -> bool:
    """CSV when ``?format=csv``, or without ``format`` when the Accept header asks for text/csv."""
    return fmt == "csv" or (fmt is None and accept is not None and "text/csv" in accept.lower())


def csv_response(
    points: Sequence[BaseModel], columns: Sequence[str], filename: str, headers: dict[str, str]
) -> Response:
    """A ``text/csv`` answer; ``columns`` are the camelCase field names, in order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for point in points:
        row = point.model_dump(by_alias=True)
        writer.writerow([_cell(row[c]) for c in columns])
    disposition = {"Content-Disposition": f'inline; filename="{filename}"'}
    return Response(out.getvalue(), media_type=CSV_MEDIA_TYPE, headers={**headers, **disposition})
