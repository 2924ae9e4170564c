"""Faults lose nothing: a Rasa replica SIGKILLed while many conversations run, and the whole
cluster stopped and started again."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import pytest

pytestmark = [pytest.mark.rasa, pytest.mark.postgres]

USERS = 12
PROCEDURE = "Đăng ký khai sinh"
OPENING = "thủ tục đăng ký khai sinh"
FOLLOW_UP = "cần giấy tờ gì"  # answered for the procedure in context, or asks which one


def continues(cluster, sender: str) -> bool:
    return PROCEDURE in cluster.texts(sender, FOLLOW_UP)


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(1.0)
    return False


def test_follow_up_needs_the_context(cluster, user):
    # the check below would prove nothing if the follow-up named the procedure by itself
    assert PROCEDURE not in cluster.texts(user(), FOLLOW_UP)


def test_sigkill_of_a_replica_loses_no_conversation(cluster, user):
    senders = [user() for _ in range(USERS)]
    for sender in senders:
        assert PROCEDURE in cluster.texts(sender, OPENING)
    victim = cluster.processes()["rasa-1"]
    failures: list[str] = []
    answered = [0]
    stop = threading.Event()

    def talk(sender: str) -> None:
        while not stop.is_set():
            response = cluster.say(sender, FOLLOW_UP)
            text = (
                "\n".join(m.get("text", "") for m in response.json()) if response.is_success else ""
            )
            if response.status_code != 200 or PROCEDURE not in text:
                failures.append(f"{sender}: {response.status_code} {text[:120]!r}")
            answered[0] += 1

    threads = [threading.Thread(target=talk, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    time.sleep(3.0)  # conversations in flight on both replicas
    os.kill(victim, signal.SIGKILL)
    time.sleep(10.0)  # keep talking while the replica is gone
    stop.set()
    for thread in threads:
        thread.join(120)
    assert answered[0] > USERS * 3
    assert failures == []
    # the supervisor brings the replica back, and it answers again
    assert wait_for(lambda: cluster.processes()["rasa-1"] != victim, 60)
    assert wait_for(lambda: "Rasa 1 đã hoạt động trở lại" in cluster.log.read_text(), 240)
    for sender in senders:
        assert continues(cluster, sender)


def test_full_stop_and_start_continues_every_conversation(cluster, user):
    senders = [user() for _ in range(USERS)]
    for sender in senders:
        assert PROCEDURE in cluster.texts(sender, OPENING)
    cluster.stop()
    cluster.start()
    for sender in senders:
        assert continues(cluster, sender)
