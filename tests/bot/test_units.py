"""Pure functions: HTML splitting, keyboards, translations, the schedule and period parsers."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from babel.messages.pofile import read_po

from actions.dossiers import period_in
from bot.keyboards import PayloadStore, decode_payload, rasa_keyboard
from bot.officials import parse_period_argument, parse_schedule
from bot.render import escape, split_message
from trolydvc.config import LOCALES_DIR
from trolydvc.i18n import gettext, normalize_language, translations
from trolydvc.vietnam_time import VN_TZ

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TAG = re.compile(r"</?[a-z]+>")


def test_split_keeps_lines_and_limit():
    text = "\n".join(f"dòng {i} " + "chữ " * (i % 50) for i in range(400))
    parts = split_message(text, limit=500)
    assert all(len(p) <= 500 for p in parts)
    assert "\n".join(parts) == text


def test_split_long_line_never_cuts_an_entity():
    text = "a&amp;" * 2000
    parts = split_message(text, limit=4000)
    assert all(len(p) <= 4000 for p in parts)
    assert "".join(parts) == text
    assert all(not p.endswith("&amp") and not p.startswith("amp;") for p in parts)


def test_split_empty_and_escape():
    assert split_message("\n\n") == []
    assert escape("<b> & </b>") == "&lt;b&gt; &amp; &lt;/b&gt;"


def test_keyboard_payloads_short_inline_long_stored():
    store = PayloadStore(capacity=2)
    markup = rasa_keyboard(
        store,
        [
            {"title": "A", "payload": "/a"},
            {"title": "B", "payload": "/b" + "x" * 80},
            {"title": ""},
        ],
    )
    data = [row[0].callback_data for row in markup.inline_keyboard]
    assert data[0] == "p:/a" and data[1].startswith("k:") and len(data) == 2
    assert decode_payload(store, data[1]) == ("B", "/b" + "x" * 80)
    assert all(len(d.encode()) <= 64 for d in data)
    rasa_keyboard(store, [{"title": "C", "payload": "/c" + "y" * 80}])
    rasa_keyboard(store, [{"title": "D", "payload": "/d" + "y" * 80}])
    assert decode_payload(store, data[1]) is None  # evicted: reported as too old
    assert decode_payload(store, "k:bad") is None and decode_payload(store, "zzz") is None
    assert rasa_keyboard(store, []) is None


def test_every_message_is_translated_to_vietnamese_with_the_same_placeholders():
    pot = read_po((LOCALES_DIR / "messages.pot").open("rb"))
    vi = read_po((LOCALES_DIR / "vi" / "LC_MESSAGES" / "messages.po").open("rb"))
    ids = {m.id for m in pot if m.id}
    assert ids, "empty template"
    for message in vi:
        if not message.id:
            continue
        assert message.string, f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)
        ), message.id
        assert sorted(TAG.findall(message.id)) == sorted(TAG.findall(message.string)), message.id
    assert ids <= {m.id for m in vi if m.id}, "run pybabel update: the vi catalog misses messages"


def test_catalogs_load_and_languages_normalise():
    translations.cache_clear()
    assert gettext("vi")("Cancel") == "Hủy"
    assert gettext("en")("Cancel") == "Cancel"
    assert gettext("fr-FR")("Cancel") == "Hủy"
    assert normalize_language("en-US") == "en" and normalize_language(None) == "vi"


def test_po_is_used_when_mo_is_missing(tmp_path):
    folder = tmp_path / "vi" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    folder.joinpath("messages.po").write_bytes(
        (LOCALES_DIR / "vi" / "LC_MESSAGES" / "messages.po").read_bytes()
    )
    assert translations("vi", tmp_path).gettext("Cancel") == "Hủy"


def test_schedule_parser():
    vn = VN_TZ
    now = datetime(2026, 12, 1, 9, 0, tzinfo=vn)
    assert parse_schedule("08:00 15/12/2026", now) == datetime(2026, 12, 15, 8, 0, tzinfo=vn)
    assert parse_schedule("15/12/2026 08:00", now) == datetime(2026, 12, 15, 8, 0, tzinfo=vn)
    assert parse_schedule("17:30", now) == datetime(2026, 12, 1, 17, 30, tzinfo=vn)
    for bad in ("", "25:00", "ngày mai", "32/12/2026 08:00", "x" * 4000):
        assert parse_schedule(bad, now) is None


def test_period_argument_parser():
    assert parse_period_argument("10/2026").start.month == 10
    assert parse_period_argument("Q3/2026").start.month == 7
    assert parse_period_argument("2025").start.year == 2025
    period = parse_period_argument("01/01/2026 - 31/03/2026")
    assert (period.start.month, period.end.month) == (1, 3)
    parse_period_argument("")  # year to date
    with pytest.raises(ValueError):
        parse_period_argument("hôm qua")
    # the chat's relative periods, from the same parser
    assert parse_period_argument("tháng trước") == period_in("số liệu tháng trước")
    assert parse_period_argument("năm ngoái") == period_in("năm ngoái thế nào")
    assert parse_period_argument("quý này").label == period_in("quý này").label


def test_in_doubt_rows_unknown_by_default_or_pending_when_resending(database):
    from sqlalchemy import update

    from bot import broadcast_store as bc
    from bot import store
    from trolydvc.db import session_scope
    from trolydvc.db.bot_models import Delivery

    for chat_id in (1, 2, 3):
        store.subscribe(chat_id, "vi", None)
    first = bc.create_broadcast("a", author_id=None, commune=None)
    second = bc.create_broadcast("b", author_id=None, commune=None)
    for broadcast_id in (first, second):
        assert bc.start_broadcast(broadcast_id) == 3
        assert bc.start_broadcast(broadcast_id) == 3  # idempotent: no second set of rows
        with session_scope() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.broadcast_id == broadcast_id)
                .values(status="sending")
            )
    assert bc.recover_in_doubt(first) == 3 and bc.counts(first)["unknown"] == 3
    assert bc.recover_in_doubt(second, resend=True) == 3 and bc.counts(second)["pending"] == 3
