"""Runs the follow notifier in its own process and stops it inside its transaction, after the
notifications, the widget inbox rows and the new cursor are written but before the commit: it
then creates MARKER and waits to be killed (the test sends SIGKILL).

Usage: DATABASE_URL=... python notifier_process.py MARKER
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from trolydvc.tracking import follow


def main(marker: Path) -> None:
    advance = follow._advance_cursor

    def advance_then_wait(session: Session, last_id: int) -> Any:
        advance(session, last_id)
        session.flush()  # every row of the run is now in the database, uncommitted
        marker.write_text("written, not committed", encoding="utf-8")
        time.sleep(120)

    follow._advance_cursor = advance_then_wait  # type: ignore[assignment]
    follow.notify()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
