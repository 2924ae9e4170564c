"""Stored conversations hold no applicant's name and no phone digits; the dossier-lookup limits
are shared by the replicas through Redis."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.cluster.conftest import redis_client

pytestmark = [pytest.mark.rasa, pytest.mark.postgres]


def stored_events(url: str, sender: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
            )
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def test_verified_lookup_is_not_stored_in_clear(cluster, user):
    from trolydvc.tracking.demo import SHOWCASE, SHOWCASE_PHONE, SHOWCASE_PHONE_LAST4

    me = user()
    assert "4 số cuối" in cluster.texts(me, SHOWCASE[0])
    verified = cluster.texts(me, f"số cuối {SHOWCASE_PHONE_LAST4}")
    assert "Quá trình xử lý" in verified or "Hình thức nộp" in verified
    cluster.texts(me, f"số của tôi là {SHOWCASE_PHONE}")
    events = stored_events(cluster.env["DATABASE_URL"], me)
    stored = "\n".join(events)
    assert len(events) > 10  # the conversation is stored...
    assert SHOWCASE[0] in stored  # ...the dossier code as asked...
    assert SHOWCASE_PHONE_LAST4 not in stored  # ...but no phone digits
    assert SHOWCASE_PHONE[1:] not in stored
    assert "<private reply not stored>" in stored  # and not the verified answer
    for line in verified.splitlines():
        if len(line) > 20:
            assert line not in stored


def test_lookup_limits_are_shared_across_senders_and_replicas(cluster, user):
    from trolydvc.tracking.demo import SHOWCASE, SHOWCASE_PHONE_LAST4

    code = SHOWCASE[1]
    wrong = "0000" if SHOWCASE_PHONE_LAST4 != "0000" else "1111"
    # a fresh sender per try, and nginx spreads them over both replicas and action servers:
    # TROLYDVC_LOOKUP_CODE_MAX_WRONG=3 wrong tries lock the code all the same
    for _ in range(4):
        cluster.texts(user(), f"{code} {wrong}")
    answer = cluster.texts(user(), f"{code} {SHOWCASE_PHONE_LAST4}")
    assert "tạm khóa" in answer
    assert "Quá trình xử lý" not in answer and "Hình thức nộp" not in answer
    keys = [k.decode() for k in redis_client().scan_iter(match="trolydvc:lookup:*", count=1000)]
    assert keys  # the counters are in Redis, where every action server finds them
