"""The web app's periodic work, a task of its event loop while it runs:

- the follow notifier (``trolydvc.tracking.follow.notify``) every TROLYDVC_FOLLOW_NOTIFY_INTERVAL
  seconds, as the Telegram bot runs it: a deployment without the bot still tells its widget
  followers. Notifiers running at once (the bot's, this one, ``trolydvc follow notify``) are
  serialised by the cursor's lock, and each event is queued once; the Telegram messages this one
  queues are sent by the bot's sender, which resumes queued broadcasts (its periodic check);
- the end of widget handoff cases idle for HANDOFF_TIMEOUT seconds (trolydvc.web.handoff), as the
  bot's job ends its chats' cases.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from trolydvc.tracking.follow import follow_notify_interval, notify
from trolydvc.web.handoff import expire

EXPIRE_EVERY = 60.0  # seconds, as the bot's handoff job

log = logging.getLogger(__name__)


async def _safely(job: Callable[[], Any], name: str) -> None:
    try:
        await run_in_threadpool(job)
    except Exception as exc:  # the next run retries (a failed notifier run queued nothing)
        log.error("%s failed: %s", name, exc.__class__.__name__, exc_info=exc)


async def run() -> None:
    """Run the jobs until cancelled (the first runs one interval after the start)."""
    jobs: list[tuple[Callable[[], Any], str, float]] = [
        (notify, "follow notifier", follow_notify_interval()),
        (expire, "handoff expiry", EXPIRE_EVERY),
    ]
    due = [time.monotonic() + every for _, _, every in jobs]
    while True:
        await asyncio.sleep(max(0.0, min(due) - time.monotonic()))
        for index, (job, name, every) in enumerate(jobs):
            if time.monotonic() >= due[index]:
                await _safely(job, name)
                due[index] = time.monotonic() + every
