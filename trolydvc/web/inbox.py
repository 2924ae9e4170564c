"""The widget's inbox (``POST /api/inbox``, trolydvc.web.chat): what reaches a widget session outside its conversation with the assistant:
an official's answer, the end of a handoff, a followed dossier's news (``widget_messages`` rows
written by trolydvc.web.handoff and by the follow notifier, trolydvc.tracking.follow).

The widget sends ``{"after": N}``, N the highest message id it has shown (kept with its history
in sessionStorage), and gets the session's messages above N not yet delivered, with whether to
ask again (``poll``, seconds; 0: nothing expected). Asking with N acknowledges the messages up
to N (``delivered_at``): a message is shown once per browser session, after a reload and in a
new tab of that session too. Only the session's own sender id (the signed cookie) is read, so no
other browser can see them; a JSON POST, so another site cannot make the browser acknowledge
them (the cookie is SameSite=Lax, and a cross-site JSON POST needs CORS, which is not offered).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from trolydvc.db import session_scope
from trolydvc.db.base import utcnow
from trolydvc.db.bot_models import HandoffCase
from trolydvc.db.follow_models import DossierFollow
from trolydvc.db.web_models import WidgetMessage
from trolydvc.tracking.follow import active, follow_notify_interval
from trolydvc.web.handoff import t

# While a case is open an official may answer at any moment: ask every 3 s (one indexed query).
HANDOFF_POLL = 3
# Only the notifier writes a follower's news: asking more often than it runs finds nothing.
FOLLOW_POLL_MIN, FOLLOW_POLL_MAX = 2, 300
MAX_BATCH = 50


@dataclass(frozen=True)
class Inbox:
    messages: list[dict[str, Any]]
    handoff: bool
    poll: int

    def json(self) -> dict[str, Any]:
        return {"messages": self.messages, "handoff": self.handoff, "poll": self.poll}


def follow_poll() -> int:
    return int(min(max(follow_notify_interval(), FOLLOW_POLL_MIN), FOLLOW_POLL_MAX))


def _shown(row: WidgetMessage) -> dict[str, Any]:
    text = row.text
    if row.author == "official":  # as the bot shows it in Telegram (bot.handoff.send_answer)
        text = t("<b>Official's answer:</b>") + "\n" + text
    return {
        "id": row.id,
        "from": "official" if row.author == "official" else "bot",
        "text": text,
        "buttons": list(row.buttons or []),
    }


def _expected(session: Session, sender: str) -> tuple[bool, int]:
    """Whether the session has an open case, and how often its widget should ask."""
    handoff, following = session.execute(
        select(
            exists().where(HandoffCase.web_sender == sender, HandoffCase.status == "open"),
            exists().where(DossierFollow.web_sender == sender, active(utcnow())),
        )
    ).one()
    return bool(handoff), HANDOFF_POLL if handoff else follow_poll() if following else 0


def expected(sender: str) -> Inbox:
    """What the widget should expect, without its messages."""
    with session_scope() as session:
        return Inbox([], *_expected(session, sender))


def fetch(sender: str, after: int = 0) -> Inbox:
    """Acknowledge the session's messages up to `after`, return the undelivered ones above it
    and what the widget should expect (an open case, followed dossiers)."""
    with session_scope() as session:
        mine = (WidgetMessage.web_sender == sender, WidgetMessage.author != "citizen")
        if after:
            session.execute(
                update(WidgetMessage)
                .where(*mine, WidgetMessage.id <= after, WidgetMessage.delivered_at.is_(None))
                .values(delivered_at=utcnow())
            )
        rows = session.scalars(
            select(WidgetMessage)
            .where(*mine, WidgetMessage.id > after, WidgetMessage.delivered_at.is_(None))
            .order_by(WidgetMessage.id)
            .limit(MAX_BATCH)
        ).all()
        messages = [_shown(row) for row in rows]
        return Inbox(messages, *_expected(session, sender))
