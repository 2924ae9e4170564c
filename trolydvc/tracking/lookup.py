"""Private dossier status lookup ("hồ sơ của tôi đến đâu rồi?").

Public API (used by the Rasa action ``check_dossier_status``, the Telegram bot and
``trolydvc dossiers show CODE``):

- ``normalize_code(text) -> str | None``: the dossier code found in ``text`` (any case, extra spaces
  or typographic dashes allowed) in canonical upper-case form, e.g.
  ``"mã hồ sơ 000.00.20.h50-221107-0001"`` -> ``"000.00.20.H50-221107-0001"``; None if there is none.
  The national format ``<agency code>-<YYMMDD>-<sequence>`` is preferred; other codes made of
  letters, digits, dots and dashes with at least one dash and four digits are accepted too.
- ``EXPECTED_FORMAT``: an example code to show users.
- ``describe_dossier(code, *, sender_id, phone_last4=None) -> str``: a plain answer, in the
  answers' language (``trolydvc.i18n.answering_in``; Vietnamese unless an action set English:
  the labels go through ``tr``, the code, the dates, the official names and the one-stop shop's
  note stay as they are).
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
from trolydvc.i18n import N_, ntr, tr
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
        return ntr("{n} giây", "{n} giây", seconds).format(n=seconds)
    if seconds <= 90 * 60:
        minutes = (seconds + 59) // 60
        return ntr("{n} phút", "{n} phút", minutes).format(n=minutes)
    hours = (seconds + 3599) // 3600
    return ntr("{n} giờ", "{n} giờ", hours).format(n=hours)


def _contact() -> str:
    """Where a citizen can get help in person, one item a line: the province's one-stop shop
    (locality.yml), the hotline, the shop where the dossier was submitted. Never that shop by
    name: the lookup is not verified, and the shop would tell where the applicant lives."""
    loc = load_locality()
    office = (loc.province_offices or loc.offices)[0]
    lines = [f"• {office.name}"]
    for label, value in (
        (tr("Địa chỉ"), office.address),
        (tr("Điện thoại"), office.phone),
        (tr("Giờ làm việc"), office.hours),
    ):
        if value:  # a generated locality.yml may not have them yet
            lines.append(f"  {label}: {value}")
    if office.missing:
        lines.append("  " + tr("(tôi chưa có đủ địa chỉ, số điện thoại của nơi này)"))
    if loc.hotline:
        lines.append(f"• {loc.hotline.name}: {loc.hotline.phone}")
    lines.append("• " + tr("hoặc {place}").format(place=tr(_OWN_SHOP)))
    if loc.example:
        lines.append(
            tr(
                "(Lưu ý: địa chỉ và số điện thoại ở trên là dữ liệu mẫu của bản cài đặt thử nghiệm.)"
            )
        )
    return "\n".join(lines)


def _refusal(verdict: Verdict, code: str) -> str:
    """Why the phone digits of ``code`` cannot be checked now, and what to do."""
    wait = _wait_text(verdict.retry_after)
    if verdict.reason == "locked":
        return (
            tr(
                "Vì đã có nhiều lần nhập sai 4 số cuối điện thoại, việc xác minh hồ sơ {code} được "
                "tạm khóa khoảng {wait} để bảo vệ thông tin của người nộp; trong thời gian này tôi "
                "không thể hiển thị chi tiết, kể cả khi nhập đúng. Nếu đây là hồ sơ của Bạn, vui "
                "lòng liên hệ (khi đến trực tiếp, Bạn mang theo giấy tiếp nhận hồ sơ và giấy tờ tùy "
                "thân):"
            ).format(code=code, wait=wait)
            + "\n"
            + _contact()
        )
    return (
        tr(
            "Có quá nhiều lượt nhập sai số điện thoại trong thời gian ngắn, nên việc xác minh hồ "
            "sơ đang tạm dừng với mọi người dùng để bảo vệ thông tin. Bạn vui lòng thử lại sau "
            "{wait}, hoặc liên hệ:"
        ).format(wait=wait)
        + "\n"
        + _contact()
    )


def _probing_refusal(verdict: Verdict) -> str:
    return (
        tr(
            "Có quá nhiều lượt tra cứu mã hồ sơ không tồn tại trong thời gian ngắn, nên việc tra "
            "cứu hồ sơ đang tạm dừng với mọi người dùng để bảo vệ thông tin. Bạn vui lòng thử lại "
            "sau {wait}, hoặc liên hệ:"
        ).format(wait=_wait_text(verdict.retry_after))
        + "\n"
        + _contact()
    )


def _days(delta_days: int) -> str:
    return str(delta_days) + " " + ntr("ngày", "ngày", delta_days)


def _timeliness(d: DossierRow, now: datetime) -> str:
    """On time / overdue / resolved late, in words."""
    status = d.status
    if status in (DossierStatus.RESOLVED, DossierStatus.RETURNED):
        done = d.resolved_at or d.returned_at
        if done is None or d.due_at is None:
            return tr("Đã có kết quả.")
        if done <= d.due_at:
            return tr("Đã có kết quả ngày {date}, đúng hạn.").format(date=fmt_date(done))
        late = (done.date() - d.due_at.date()).days or 1
        return tr("Đã có kết quả ngày {date}, trễ hạn {days}.").format(
            date=fmt_date(done), days=_days(late)
        )
    if status in (DossierStatus.REJECTED, DossierStatus.WITHDRAWN):
        return ""
    if status == DossierStatus.SUPPLEMENT_REQUESTED:
        return tr("Đang chờ Bạn bổ sung hồ sơ.")
    if d.due_at is None:
        return tr("Hồ sơ không có ngày hẹn trả.")
    if now <= d.due_at:
        left = (d.due_at.date() - now.date()).days
        if left == 0:
            return tr("Trong hạn: hôm nay là ngày hẹn trả kết quả.")
        return tr("Trong hạn: còn {days} đến ngày hẹn trả.").format(days=_days(left))
    late = (now.date() - d.due_at.date()).days or 1
    return tr("Đã quá hạn {days}.").format(days=_days(late))


_OWN_SHOP = N_("Bộ phận Một cửa nơi Bạn đã nộp hồ sơ")


def _where(d: DossierRow, verified: bool) -> str:
    # Before verification the agency is not named: it would tell where the applicant lives.
    if verified and d.agency:
        return tr("Bộ phận Một cửa của {agency}").format(agency=d.agency)
    return tr(_OWN_SHOP)


def _next_step(d: DossierRow, now: datetime, *, verified: bool) -> str:
    """What to do next. Before verification it says nothing the status does not already say:
    no note (what to supplement, why rejected), no agency, no channel."""
    status = d.status
    where = _where(d, verified)
    if status == DossierStatus.SUPPLEMENT_REQUESTED:
        if not verified:
            return tr(
                "Hồ sơ cần bổ sung giấy tờ. Nội dung cần bổ sung được ghi trong phiếu yêu cầu bổ "
                "sung; Bạn nộp bổ sung tại {place}, hoặc trên Cổng Dịch vụ công nếu đã nộp hồ sơ "
                "trực tuyến."
            ).format(place=tr(_OWN_SHOP))
        what = (
            tr("Nội dung cần bổ sung: {note}.").format(note=d.note.rstrip(". "))
            if d.note
            else tr("Nội dung cần bổ sung được ghi trong phiếu yêu cầu bổ sung, hoàn thiện hồ sơ.")
        )
        if d.channel == Channel.ONLINE:
            where = tr(
                "{place} hoặc trên Cổng Dịch vụ công, tại hồ sơ Bạn đã nộp trực tuyến"
            ).format(place=where)
        return tr("Hồ sơ cần bổ sung giấy tờ. {what} Nơi nộp bổ sung: {place}.").format(
            what=what, place=where
        )
    if status in (DossierStatus.RECEIVED, DossierStatus.PROCESSING):
        if d.due_at is not None and now > d.due_at:
            return tr(
                "Hồ sơ đã quá ngày hẹn trả. Bạn có thể liên hệ {place} để hỏi lý do và ngày hẹn "
                "trả mới."
            ).format(place=where)
        return tr("Hồ sơ đang được giải quyết, Bạn chưa cần làm gì thêm.")
    if status == DossierStatus.RESOLVED:
        if not verified:
            return tr(
                "Mời Bạn đến {place} để nhận kết quả, mang theo giấy tiếp nhận hồ sơ và hẹn trả "
                "kết quả cùng giấy tờ tùy thân (nếu Bạn đã đăng ký nhận kết quả qua bưu chính, "
                "kết quả sẽ được gửi đến địa chỉ đã đăng ký)."
            ).format(place=tr(_OWN_SHOP))
        if d.channel == Channel.POSTAL:
            return tr("Kết quả sẽ được gửi qua bưu chính đến địa chỉ Bạn đã đăng ký.")
        return tr(
            "Mời Bạn đến {place} để nhận kết quả, mang theo giấy tiếp nhận hồ sơ và hẹn trả kết "
            "quả cùng giấy tờ tùy thân."
        ).format(place=where)
    if status == DossierStatus.RETURNED:
        postal = verified and d.channel == Channel.POSTAL
        if d.returned_at:
            label = (
                tr("Kết quả đã được trả qua bưu chính ngày {date}.")
                if postal
                else tr("Kết quả đã được trả ngày {date}.")
            ).format(date=fmt_date(d.returned_at))
        else:
            label = (
                tr("Kết quả đã được trả qua bưu chính.") if postal else tr("Kết quả đã được trả.")
            )
        return label + " " + tr("Bạn không cần làm gì thêm.")
    if status == DossierStatus.REJECTED:
        reason = (
            " " + tr("Lý do: {note}.").format(note=d.note.rstrip(". "))
            if verified and d.note
            else ""
        )
        contact = tr("Bạn có thể liên hệ {place} để được hướng dẫn.").format(place=where)
        return tr("Hồ sơ không được giải quyết.") + reason + " " + contact
    if status == DossierStatus.WITHDRAWN:
        return tr("Hồ sơ đã được rút theo đề nghị. Nếu cần, Bạn có thể nộp hồ sơ mới.")
    return ""


def _procedure(d: DossierRow) -> str:
    if d.procedure_name and d.procedure_code:
        return tr("{name} (mã {code})").format(name=d.procedure_name, code=d.procedure_code)
    return d.procedure_name or d.procedure_code or tr("(không có thông tin)")


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
    lines = [tr("Hồ sơ {code}").format(code=d.code)]

    def item(label: str, value: object) -> None:
        lines.append(f"• {tr(label)}: {value}")

    if verified:
        item(N_("Thủ tục"), _procedure(d))
        item(N_("Người nộp"), d.applicant_name or tr("(không có)"))
        item(N_("Tiếp nhận"), fmt_datetime(d.received_at))
        item(N_("Hình thức nộp"), tr(CHANNEL_LABELS.get(d.channel, d.channel)))
        if d.agency:
            item(N_("Cơ quan tiếp nhận"), d.agency)
        if d.sector:
            item(N_("Lĩnh vực"), d.sector)
    else:
        item(N_("Ngày tiếp nhận"), fmt_date(d.received_at))
    if d.due_at:
        item(N_("Ngày hẹn trả kết quả"), fmt_date(d.due_at))
    item(N_("Trạng thái"), tr(STATUS_LABELS.get(d.status, d.status)))
    timeliness = _timeliness(d, now)
    if timeliness:
        lines.append(f"  {timeliness}")
    if verified:
        if d.resolved_at:
            item(N_("Có kết quả lúc"), fmt_datetime(d.resolved_at))
        if d.returned_at:
            item(N_("Trả kết quả lúc"), fmt_datetime(d.returned_at))
        shown_in_step = (DossierStatus.SUPPLEMENT_REQUESTED, DossierStatus.REJECTED)
        if d.note and d.status not in shown_in_step:
            item(N_("Ghi chú của Bộ phận Một cửa"), d.note)
        events = _timeline(d, history or [])
        if events:
            lines.append("• " + tr("Quá trình xử lý") + ":")
            for when, status in events[-8:]:
                lines.append(f"  – {fmt_datetime(when)}: {tr(STATUS_LABELS.get(status, status))}")
    step = _next_step(d, now, verified=verified)
    if step:
        lines.append("")
        lines.append(tr("Việc cần làm: {step}").format(step=step))
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
                tr(
                    "Bạn đã tra cứu nhiều mã không đúng. Vì an toàn dữ liệu, vui lòng thử lại sau "
                    "{wait} và kiểm tra kỹ mã trên giấy tiếp nhận hồ sơ."
                ).format(wait=_wait_text(decision.retry_after)),
            )
        return LookupResult(
            "rate_limited",
            tr("Bạn đã tra cứu quá nhiều lần trong một phút. Vui lòng thử lại sau {wait}.").format(
                wait=_wait_text(decision.retry_after)
            ),
        )
    limiter.hit(sender)
    canonical = normalize_code(code)
    if canonical is None:
        return LookupResult(
            "malformed",
            tr(
                "Mã hồ sơ chưa đúng định dạng. Mã hồ sơ in trên giấy tiếp nhận và hẹn trả kết "
                "quả, có dạng {example} (mã cơ quan - ngày nộp YYMMDD - số thứ tự). Bạn vui lòng "
                "gửi lại mã nhé."
            ).format(example=EXPECTED_FORMAT),
        )
    digits = None
    if phone_last4 is not None:
        digits = re.sub(r"[^0-9]", "", str(phone_last4))  # ASCII only: compare_digest
        if len(digits) != 4:
            return LookupResult(
                "wrong_phone",
                tr("Vui lòng nhập đúng 4 chữ số cuối của số điện thoại đã đăng ký khi nộp hồ sơ."),
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
                tr(
                    "Không tìm thấy hồ sơ có mã {code}. Bạn vui lòng kiểm tra lại mã trên giấy "
                    "tiếp nhận và hẹn trả kết quả (dạng {example}). Hồ sơ vừa nộp có thể chưa "
                    "được cập nhật; nếu cần, Bạn liên hệ Bộ phận Một cửa nơi đã nộp hồ sơ."
                ).format(code=canonical, example=EXPECTED_FORMAT),
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
                text += "\n\n" + tr(
                    "Để xem thủ tục, người nộp, ghi chú và quá trình xử lý, Bạn cho biết 4 số "
                    "cuối của số điện thoại đã đăng ký khi nộp hồ sơ."
                )
            return LookupResult("found", text, canonical)
        if not dossier.phone_last4:
            return LookupResult(
                "no_phone_on_file",
                tr("Hồ sơ này không có số điện thoại đăng ký nên không thể xác minh thêm.")
                + "\n\n"
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
                    tr("4 số cuối điện thoại không khớp với hồ sơ.")
                    + " "
                    + _refusal(verdict, canonical)
                    + "\n\n"
                    + _render(dossier, now, verified=False),
                    canonical,
                )
            left = (
                " "
                + ntr("Bạn còn {n} lần thử.", "Bạn còn {n} lần thử.", verdict.remaining).format(
                    n=verdict.remaining
                )
                if verdict.remaining is not None and verdict.remaining <= 2
                else ""
            )
            return LookupResult(
                "wrong_phone",
                tr(
                    "4 số cuối điện thoại không khớp với hồ sơ, nên tôi chỉ hiển thị thông tin "
                    "cơ bản."
                )
                + left
                + "\n\n"
                + _render(dossier, now, verified=False),
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
