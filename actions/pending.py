"""The `pending` slot: what the bot asked the user for and is waiting on, in one string.

Formats (the slot is a plain text slot in domain.yml):

- ``procedure:<topic>``: which procedure, for a question about <topic> (``procedure:`` when the
  question had no topic);
- ``dossier_code``: a dossier code to look up;
- ``phone_last4``: the last four digits of the phone registered with the dossier looked up.

Every reader and writer goes through :func:`encode` / :func:`decode`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rasa_sdk import Tracker

Kind = Literal["procedure", "dossier_code", "phone_last4"]
_PROCEDURE_PREFIX = "procedure:"


@dataclass(frozen=True)
class Pending:
    kind: Kind
    topic: str | None = None  # kind "procedure": the question's topic, if any


WHICH_PROCEDURE = Pending("procedure")
DOSSIER_CODE = Pending("dossier_code")
PHONE_LAST4 = Pending("phone_last4")


def which_procedure(topic: str | None) -> Pending:
    return Pending("procedure", topic or None)


def encode(pending: Pending | None) -> str | None:
    """The slot value (None clears the slot)."""
    if pending is None:
        return None
    if pending.kind == "procedure":
        return _PROCEDURE_PREFIX + (pending.topic or "")
    return pending.kind


def decode(value: object) -> Pending | None:
    """The slot value read back; None for an empty or unknown value."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith(_PROCEDURE_PREFIX):
        return which_procedure(value[len(_PROCEDURE_PREFIX) :])
    if value == "dossier_code":
        return DOSSIER_CODE
    if value == "phone_last4":
        return PHONE_LAST4
    return None


def pending_of(tracker: Tracker) -> Pending | None:
    return decode(tracker.get_slot("pending"))
