"""Private dossier status lookup ("hồ sơ của tôi đến đâu rồi?").

Public API (used by the Rasa action ``check_dossier_status``, the Telegram bot and
``trolydvc dossiers show CODE``):

- ``normalize_code(text) -> str | None``: the dossier code found in ``text`` (any case, extra spaces
  or typographic dashes allowed) in canonical upper-case form, e.g.
  ``"mã hồ sơ 000.00.20.h50-221107-0001"`` -> ``"000.00.20.H50-221107-0001"``; None if there is none.
  The national format ``<agency code>-<YYMMDD>-<sequence>`` is preferred; other codes made of
  letters, digits, dots and dashes with at least one dash and four digits are accepted too.
- ``EXPECTED_FORMAT``: an example code to show users.
- ``describe_dossier(code, *, sender_id, phone_last4=None) -> str``: a plain Vietnamese answer.
  Without ``phone_last4`` (or with wrong digits) it shows only the status, the received and due
  dates, on time / overdue / resolved late and what to do next: anyone who has or guesses a code
  sees that much, so no procedure, no name (not even masked), no note, no agency or commune, no
  channel, and never the phone. With the correct last four digits of the registered phone it
  adds the procedure, the full name, channel, agency, sector, times, the one-stop shop's note and
  the status history.
  Lookups are rate limited per ``sender_id`` (10 a minute; after 3 unknown codes or wrong digits
  within 10 minutes each attempt must wait 30 s, doubling, up to 15 min) and, whatever the
  sender, by the shared ``LookupGuard`` (``trolydvc.tracking.lookup_guard``): a few wrong digits
  lock a code's verification for everyone, too many wrong digits across all codes pause
  verification, too many unknown codes pause every lookup. The citizen is then told to contact
  the one-stop shop (``locality.yml``).
- ``lookup(...) -> LookupResult``: the same, with ``kind`` ("found", "verified", "wrong_phone",
  "no_phone_on_file", "not_found", "malformed", "rate_limited", "locked", "paused") and ``code``
  for callers that want to react (e.g. ask for the four digits).

Keyword-only extras for tests and callers: ``now`` (Vietnam wall-clock datetime), ``limiter``
(a ``RateLimiter``), ``guard`` (a ``LookupGuard``; default ``default_guard(url)``), ``url``
(database URL).
"""

from __future__ import annotations

import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.orm import Session

from trolydvc.db.base import get_engine
from trolydvc.db.models import Channel, Dossier, DossierStatus, DossierStatusHistory
from trolydvc.formatting import fmt_date, fmt_datetime
from trolydvc.locality import load_locality
from trolydvc.textnorm import DOSSIER_CODE_RE, find_dossier_codes
from trolydvc.tracking.fields import CHANNEL_LABELS, DASHES, STATUS_LABELS
from trolydvc.tracking.lookup_guard import (
    Attempt,
    LookupGuard,
    RateLimiter,
    Verdict,
    default_guard,
    default_limiter,
)
from trolydvc.vietnam_time import VN_TZ

log = logging.getLogger(__name__)

DossierRow = Row[Any]  # a row of the dossiers table; columns as attributes

EXPECTED_FORMAT = "000.00.20.H50-221107-0001"

_OTHER_CODE_RE = re.compile(r"(?<![0-9A-Z.\-])([0-9A-Z]+(?:[.\-/][0-9A-Z]+)+)(?![0-9A-Z.\-])")


def normalize_code(text: str | None) -> str | None:
    if not text:
        return None
    if found := find_dossier_codes(str(text)):
        return found[0][2]
    upper = str(text).translate(DASHES).upper()
    for m in _OTHER_CODE_RE.finditer(upper):
        token = m.group(1)
        if "-" in token and sum(ch.isdigit() for ch in token) >= 4 and len(token) <= 64:
            return token
    return None


def is_national_code(code: str) -> bool:
    return DOSSIER_CODE_RE.fullmatch(code) is not None


@dataclass(frozen=True)
class LookupResult:
    kind: str
    text: str
    code: str | None = None


def _now_local() -> datetime:
    return datetime.now(VN_TZ).replace(tzinfo=None)


def _wait_text(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} giây"
    if seconds <= 90 * 60:
        return f"{(seconds + 59) // 60} phút"
    return f"{(seconds + 3599) // 3600} giờ"


def _contact() -> str:
    """Where a citizen can get help in person, one item a line: the province's one-stop shop
    (locality.yml), the hotline, the shop where the dossier was submitted. Never that shop by
    name: the lookup is not verified, and the shop would tell where the applicant lives."""
    loc = load_locality()
    office = (loc.province_offices or loc.offices)[0]
    lines = [f"• {office.name}"]
    for label, value in (
        ("Địa chỉ", office.address),
        ("Điện thoại", office.phone),
        ("Giờ làm việc", office.hours),
    ):
        if value:  # a generated locality.yml may not have them yet
            lines.append(f"  {label}: {value}")
    if office.missing:
        lines.append("  (tôi chưa có đủ địa chỉ, số điện thoại của nơi này)")
    if loc.hotline:
        lines.append(f"• {loc.hotline.name}: {loc.hotline.phone}")
    lines.append(f"• hoặc {_OWN_SHOP}")
    if loc.example:
        lines.append(
            "(Lưu ý: địa chỉ và số điện thoại ở trên là dữ liệu mẫu của bản cài đặt thử nghiệm.)"
        )
    return "\n".join(lines)


def _refusal(verdict: Verdict, code: str) -> str:
    """Why the phone digits of ``code`` cannot be checked now, and what to do."""
    wait = _wait_text(verdict.retry_after)
    if verdict.reason == "locked":
        return (
            f"Vì đã có nhiều lần nhập sai 4 số cuối điện thoại, việc xác minh hồ sơ {code} được "
            f"tạm khóa khoảng {wait} để bảo vệ thông tin của người nộp; trong thời gian này tôi "
            "không thể hiển thị chi tiết, kể cả khi nhập đúng. Nếu đây là hồ sơ của Bạn, vui lòng "
            "liên hệ (khi đến trực tiếp, Bạn mang theo giấy tiếp nhận hồ sơ và giấy tờ tùy thân):\n"
            + _contact()
        )
    return (
        "Có quá nhiều lượt nhập sai số điện thoại trong thời gian ngắn, nên việc xác minh hồ sơ "
        f"đang tạm dừng với mọi người dùng để bảo vệ thông tin. Bạn vui lòng thử lại sau {wait}, "
        "hoặc liên hệ:\n" + _contact()
    )


def _probing_refusal(verdict: Verdict) -> str:
    return (
        "Có quá nhiều lượt tra cứu mã hồ sơ không tồn tại trong thời gian ngắn, nên việc tra cứu "
        "hồ sơ đang tạm dừng với mọi người dùng để bảo vệ thông tin. Bạn vui lòng thử lại sau "
        f"{_wait_text(verdict.retry_after)}, hoặc liên hệ:\n" + _contact()
    )


def _days(delta_days: int) -> str:
    return f"{delta_days} ngày"


def _timeliness(d: DossierRow, now: datetime) -> str:
    """On time / overdue / resolved late, in words."""
    status = d.status
    if status in (DossierStatus.RESOLVED, DossierStatus.RETURNED):
        done = d.resolved_at or d.returned_at
        if done is None or d.due_at is None:
            return "Đã có kết quả."
        if done <= d.due_at:
            return f"Đã có kết quả ngày {fmt_date(done)}, đúng hạn."
        late = (done.date() - d.due_at.date()).days or 1
        return f"Đã có kết quả ngày {fmt_date(done)}, trễ hạn {_days(late)}."
    if status in (DossierStatus.REJECTED, DossierStatus.WITHDRAWN):
        return ""
    if status == DossierStatus.SUPPLEMENT_REQUESTED:
        return "Đang chờ Bạn bổ sung hồ sơ."
    if d.due_at is None:
        return "Hồ sơ không có ngày hẹn trả."
    if now <= d.due_at:
        left = (d.due_at.date() - now.date()).days
        if left == 0:
            return "Trong hạn: hôm nay là ngày hẹn trả kết quả."
        return f"Trong hạn: còn {_days(left)} đến ngày hẹn trả."
    late = (now.date() - d.due_at.date()).days or 1
    return f"Đã quá hạn {_days(late)}."


_OWN_SHOP = "Bộ phận Một cửa nơi Bạn đã nộp hồ sơ"


def _where(d: DossierRow, verified: bool) -> str:
    # Before verification the agency is not named: it would tell where the applicant lives.
    return f"Bộ phận Một cửa của {d.agency}" if verified and d.agency else _OWN_SHOP


def _next_step(d: DossierRow, now: datetime, *, verified: bool) -> str:
    """What to do next. Before verification it says nothing the status does not already say:
    no note (what to supplement, why rejected), no agency, no channel."""
    status = d.status
    where = _where(d, verified)
    if status == DossierStatus.SUPPLEMENT_REQUESTED:
        if not verified:
            return (
                "Hồ sơ cần bổ sung giấy tờ. Nội dung cần bổ sung được ghi trong phiếu yêu cầu bổ "
                f"sung; Bạn nộp bổ sung tại {_OWN_SHOP}, hoặc trên Cổng Dịch vụ công nếu đã nộp "
                "hồ sơ trực tuyến."
            )
        what = (
            f"Nội dung cần bổ sung: {d.note.rstrip('. ')}."
            if d.note
            else "Nội dung cần bổ sung được ghi trong phiếu yêu cầu bổ sung, hoàn thiện hồ sơ."
        )
        if d.channel == Channel.ONLINE:
            where += " hoặc trên Cổng Dịch vụ công, tại hồ sơ Bạn đã nộp trực tuyến"
        return f"Hồ sơ cần bổ sung giấy tờ. {what} Nơi nộp bổ sung: {where}."
    if status in (DossierStatus.RECEIVED, DossierStatus.PROCESSING):
        if d.due_at is not None and now > d.due_at:
            return (
                f"Hồ sơ đã quá ngày hẹn trả. Bạn có thể liên hệ {where} để hỏi lý do và ngày "
                "hẹn trả mới."
            )
        return "Hồ sơ đang được giải quyết, Bạn chưa cần làm gì thêm."
    if status == DossierStatus.RESOLVED:
        if not verified:
            return (
                f"Mời Bạn đến {_OWN_SHOP} để nhận kết quả, mang theo giấy tiếp nhận hồ sơ và hẹn "
                "trả kết quả cùng giấy tờ tùy thân (nếu Bạn đã đăng ký nhận kết quả qua bưu "
                "chính, kết quả sẽ được gửi đến địa chỉ đã đăng ký)."
            )
        if d.channel == Channel.POSTAL:
            return "Kết quả sẽ được gửi qua bưu chính đến địa chỉ Bạn đã đăng ký."
        return (
            f"Mời Bạn đến {where} để nhận kết quả, mang theo giấy tiếp nhận hồ sơ và hẹn "
            "trả kết quả cùng giấy tờ tùy thân."
        )
    if status == DossierStatus.RETURNED:
        when = f" ngày {fmt_date(d.returned_at)}" if d.returned_at else ""
        how = " qua bưu chính" if verified and d.channel == Channel.POSTAL else ""
        return f"Kết quả đã được trả{how}{when}. Bạn không cần làm gì thêm."
    if status == DossierStatus.REJECTED:
        reason = f" Lý do: {d.note.rstrip('. ')}." if verified and d.note else ""
        return f"Hồ sơ không được giải quyết.{reason} Bạn có thể liên hệ {where} để được hướng dẫn."
    if status == DossierStatus.WITHDRAWN:
        return "Hồ sơ đã được rút theo đề nghị. Nếu cần, Bạn có thể nộp hồ sơ mới."
    return ""


def _procedure(d: DossierRow) -> str:
    if d.procedure_name and d.procedure_code:
        return f"{d.procedure_name} (mã {d.procedure_code})"
    return d.procedure_name or d.procedure_code or "(không có thông tin)"


def _timeline(d: DossierRow, history: list[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    """Receipt, result and return times of the dossier merged with its recorded status changes."""
    events: list[tuple[datetime, str]] = [(d.received_at, DossierStatus.RECEIVED.value)]
    if d.resolved_at:
        events.append((d.resolved_at, DossierStatus.RESOLVED.value))
    if d.returned_at:
        events.append((d.returned_at, DossierStatus.RETURNED.value))
    dated = {status for _, status in events}
    events += [(when, status) for when, status in history if status not in dated]
    events.sort(key=lambda e: e[0])
    merged: list[tuple[datetime, str]] = []
    for event in events:
        if not merged or merged[-1][1] != event[1]:
            merged.append(event)
    return merged


def _render(
    d: DossierRow,
    now: datetime,
    *,
    verified: bool,
    history: list[tuple[datetime, str]] | None = None,
) -> str:
    """The answer for a dossier. Unverified: only the status, its dates and what to do next
    (anyone who has or guesses a code sees this); the procedure, the applicant, the agency, the
    channel, the note and the history only once the phone digits matched."""
    lines = [f"Hồ sơ {d.code}"]
    if verified:
        lines.append(f"• Thủ tục: {_procedure(d)}")
        lines.append(f"• Người nộp: {d.applicant_name or '(không có)'}")
        lines.append(f"• Tiếp nhận: {fmt_datetime(d.received_at)}")
        lines.append(f"• Hình thức nộp: {CHANNEL_LABELS.get(d.channel, d.channel)}")
        if d.agency:
            lines.append(f"• Cơ quan tiếp nhận: {d.agency}")
        if d.sector:
            lines.append(f"• Lĩnh vực: {d.sector}")
    else:
        lines.append(f"• Ngày tiếp nhận: {fmt_date(d.received_at)}")
    if d.due_at:
        lines.append(f"• Ngày hẹn trả kết quả: {fmt_date(d.due_at)}")
    lines.append(f"• Trạng thái: {STATUS_LABELS.get(d.status, d.status)}")
    timeliness = _timeliness(d, now)
    if timeliness:
        lines.append(f"  {timeliness}")
    if verified:
        if d.resolved_at:
            lines.append(f"• Có kết quả lúc: {fmt_datetime(d.resolved_at)}")
        if d.returned_at:
            lines.append(f"• Trả kết quả lúc: {fmt_datetime(d.returned_at)}")
        shown_in_step = (DossierStatus.SUPPLEMENT_REQUESTED, DossierStatus.REJECTED)
        if d.note and d.status not in shown_in_step:
            lines.append(f"• Ghi chú của Bộ phận Một cửa: {d.note}")
        events = _timeline(d, history or [])
        if events:
            lines.append("• Quá trình xử lý:")
            for when, status in events[-8:]:
                lines.append(f"  – {fmt_datetime(when)}: {STATUS_LABELS.get(status, status)}")
    step = _next_step(d, now, verified=verified)
    if step:
        lines.append("")
        lines.append(f"Việc cần làm: {step}")
    return "\n".join(lines)


# Core queries (no ORM identity map): a lookup is one indexed SELECT, plus the history when
# the user is verified.
_BY_CODE = select(Dossier.__table__).where(Dossier.code == bindparam("code"))
_HISTORY = (
    select(DossierStatusHistory.changed_at, DossierStatusHistory.status)
    .where(DossierStatusHistory.dossier_id == bindparam("dossier_id"))
    .order_by(DossierStatusHistory.id)
)


def get_dossier(conn: Connection | Session, code: str) -> DossierRow | None:
    """The dossier's row (columns as attributes, like the ORM object), or None."""
    return conn.execute(_BY_CODE, {"code": code}).first()


def get_history(conn: Connection | Session, dossier_id: int) -> list[tuple[datetime, str]]:
    return [(r.changed_at, r.status) for r in conn.execute(_HISTORY, {"dossier_id": dossier_id})]


def lookup(
    code: str | None,
    *,
    sender_id: str,
    phone_last4: str | None = None,
    now: datetime | None = None,
    limiter: RateLimiter | None = None,
    guard: LookupGuard | None = None,
    url: str | None = None,
) -> LookupResult:
    limiter = limiter or default_limiter()
    sender = str(sender_id)
    decision = limiter.check(sender)
    if not decision.allowed:
        if decision.reason == "slowdown":
            return LookupResult(
                "rate_limited",
                "Bạn đã tra cứu nhiều mã không đúng. Vì an toàn dữ liệu, vui lòng thử lại sau "
                f"{_wait_text(decision.retry_after)} và kiểm tra kỹ mã trên giấy tiếp nhận hồ sơ.",
            )
        return LookupResult(
            "rate_limited",
            "Bạn đã tra cứu quá nhiều lần trong một phút. Vui lòng thử lại sau "
            f"{_wait_text(decision.retry_after)}.",
        )
    limiter.hit(sender)
    canonical = normalize_code(code)
    if canonical is None:
        return LookupResult(
            "malformed",
            "Mã hồ sơ chưa đúng định dạng. Mã hồ sơ in trên giấy tiếp nhận và hẹn trả kết quả, "
            f"có dạng {EXPECTED_FORMAT} (mã cơ quan - ngày nộp YYMMDD - số thứ tự). "
            "Bạn vui lòng gửi lại mã nhé.",
        )
    digits = None
    if phone_last4 is not None:
        digits = re.sub(r"[^0-9]", "", str(phone_last4))  # ASCII only: compare_digest
        if len(digits) != 4:
            return LookupResult(
                "wrong_phone",
                "Vui lòng nhập đúng 4 chữ số cuối của số điện thoại đã đăng ký khi nộp hồ sơ.",
                canonical,
            )
    guard = guard or default_guard(url)
    # While unknown codes are being probed every lookup is paused, known codes too: otherwise
    # the refusal itself would tell which codes exist.
    check = guard.check(canonical)
    if not check.lookups.allowed:
        return LookupResult("paused", _probing_refusal(check.lookups), canonical)
    now = now or _now_local()
    with get_engine(url).connect() as conn:
        dossier = get_dossier(conn, canonical)
        if dossier is None:
            limiter.record_failure(sender)
            log.info("dossier lookup: unknown code from sender %s", sender[:12])
            verdict = guard.record_unknown()
            if not verdict.allowed:
                return LookupResult("paused", _probing_refusal(verdict), canonical)
            return LookupResult(
                "not_found",
                f"Không tìm thấy hồ sơ có mã {canonical}. Bạn vui lòng kiểm tra lại mã trên giấy "
                f"tiếp nhận và hẹn trả kết quả (dạng {EXPECTED_FORMAT}). Hồ sơ vừa nộp có thể "
                "chưa được cập nhật; nếu cần, Bạn liên hệ Bộ phận Một cửa nơi đã nộp hồ sơ.",
                canonical,
            )
        if digits is None:
            text = _render(dossier, now, verified=False)
            verdict = check.verification
            if dossier.phone_last4 and not verdict.allowed:  # no use asking for the digits
                return LookupResult(
                    verdict.reason, text + "\n\n" + _refusal(verdict, canonical), canonical
                )
            if dossier.phone_last4:
                text += (
                    "\n\nĐể xem thủ tục, người nộp, ghi chú và quá trình xử lý, Bạn cho biết 4 số "
                    "cuối của số điện thoại đã đăng ký khi nộp hồ sơ."
                )
            return LookupResult("found", text, canonical)
        if not dossier.phone_last4:
            return LookupResult(
                "no_phone_on_file",
                "Hồ sơ này không có số điện thoại đăng ký nên không thể xác minh thêm.\n\n"
                + _render(dossier, now, verified=False),
                canonical,
            )
        # The try is reserved before the digits are compared, so concurrent guesses (any
        # sender, any process) can never test more digits than the guard allows.
        attempt = guard.begin_verification(canonical)
        if not isinstance(attempt, Attempt):
            return LookupResult(
                attempt.reason,
                _refusal(attempt, canonical) + "\n\n" + _render(dossier, now, verified=False),
                canonical,
            )
        correct = secrets.compare_digest(digits, dossier.phone_last4)
        verdict = guard.finish_verification(attempt, correct=correct)
        if not correct:
            limiter.record_failure(sender)
            if not verdict.allowed:
                return LookupResult(
                    "locked",
                    "4 số cuối điện thoại không khớp với hồ sơ. "
                    + _refusal(verdict, canonical)
                    + "\n\n"
                    + _render(dossier, now, verified=False),
                    canonical,
                )
            left = (
                f" Bạn còn {verdict.remaining} lần thử."
                if verdict.remaining is not None and verdict.remaining <= 2
                else ""
            )
            return LookupResult(
                "wrong_phone",
                "4 số cuối điện thoại không khớp với hồ sơ, nên tôi chỉ hiển thị thông tin "
                f"cơ bản.{left}\n\n" + _render(dossier, now, verified=False),
                canonical,
            )
        history = get_history(conn, dossier.id)
        return LookupResult(
            "verified", _render(dossier, now, verified=True, history=history), canonical
        )


def describe_dossier(
    code: str | None,
    *,
    sender_id: str,
    phone_last4: str | None = None,
    now: datetime | None = None,
    limiter: RateLimiter | None = None,
    guard: LookupGuard | None = None,
    url: str | None = None,
) -> str:
    return lookup(
        code,
        sender_id=sender_id,
        phone_last4=phone_last4,
        now=now,
        limiter=limiter,
        guard=guard,
        url=url,
    ).text
