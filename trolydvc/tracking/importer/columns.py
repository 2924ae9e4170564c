"""The columns of an import: the canonical CSV's header and the staging tuple's fields."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

CSV_COLUMNS = (
    "code",
    "procedure_code",
    "procedure_name",
    "applicant_name",
    "applicant_phone",
    "received_at",
    "due_at",
    "resolved_at",
    "returned_at",
    "status",
    "channel",
    "agency",
    "sector",
)
OPTIONAL_COLUMNS = ("commune", "note")
REQUIRED_COLUMNS = ("code", "received_at", "status")

# Columns of the staging table, in the order build_row returns them.
STAGE_COLUMNS = (
    "code",
    "procedure_code",
    "procedure_name",
    "applicant_name",
    "phone_hash",
    "phone_last4",
    "received_at",
    "due_at",
    "resolved_at",
    "returned_at",
    "status",
    "channel",
    "agency",
    "sector",
    "commune",
    "note",
)
UPDATABLE = STAGE_COLUMNS[1:]


def write_csv(rows: Iterable[dict[str, Any]], out: io.TextIOBase | Any) -> None:
    """Write dicts with CSV_COLUMNS keys as a canonical CSV (used by demo data and benchmarks)."""
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
