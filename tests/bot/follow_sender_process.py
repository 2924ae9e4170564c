"""Runs the sender of one follow notifications' broadcast in its own process (the test kills it
with SIGKILL mid-way). Usage: python follow_sender_process.py API_BASE_URL TOKEN BROADCAST_ID RATE
"""

from __future__ import annotations

import asyncio
import sys

from telegram.ext import ExtBot

from bot.broadcast import BroadcastSender, SenderOptions
from bot.pacing import PacedRateLimiter
from trolydvc.tracking.follow import delivery_texts


async def main(base_url: str, token: str, broadcast_id: int, rate: float) -> None:
    limiter = PacedRateLimiter(rate, 0.0)
    bot = ExtBot(token, base_url=base_url, rate_limiter=limiter)
    async with bot:
        sender = BroadcastSender(
            bot, limiter, SenderOptions(backoff_base=0.05), texts=delivery_texts
        )
        await sender.run(broadcast_id)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
