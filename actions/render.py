"""Readable Vietnamese answers about one procedure, built only from catalog (and locality) data.

Every function returns plain text (numbered lists, Vietnamese labels) that ends with the
procedure's code and official link. When the catalog has no value, the answer says so and
points to the official page; nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from actions.common import MAX_ANSWER_CHARS, short_name, truncate
from trolydvc.catalog import Document, Fee, Procedure, ProcessingTime, SubmissionMethod
from trolydvc.catalog.schema import CHANNEL_LABELS, TIME_UNIT_LABELS
from trolydvc.formatting import fmt_int
from trolydvc.locality import Locality, Office
from trolydvc.textnorm import fold

NATIONAL_PORTAL = "https://dichvucong.gov.vn"
_STEP_MARKER = re.compile(r"^(bước\s*\d|[-+•*–]|\(?[ivx]+\)|\d+[.)/]|[a-zđ]\))", re.IGNORECASE)
MAX_NOTE_CHARS = 400


def footer(proc: Procedure) -> str:
    """Level and agency (as the export states them, none invented), then the code and link."""
    link = proc.source_url or NATIONAL_PORTAL
    end = f"Mã thủ tục: {proc.code} · Nguồn: {link}"
    where = []
    if proc.levels:
        where.append("Cấp thực hiện: " + ", ".join(proc.levels))
    if agency := "; ".join(proc.agencies) or proc.competent_authority:
        where.append("Cơ quan thực hiện: " + _clip(agency, 160))
    return "\n".join([" · ".join(where), end]) if where else end


def _finish(lines: list[str], proc: Procedure) -> str:
    """Body (cut to fit, pointing to the official page) + the code/link footer."""
    end = footer(proc)
    body = truncate(
        lines,
        limit=MAX_ANSWER_CHARS - len(end) - 2,
        more="… (còn nữa; Bạn xem đầy đủ tại trang chính thức bên dưới)",
    )
    return f"{body}\n\n{end}"


def _clip(text: str, limit: int = MAX_NOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _missing(what: str) -> str:
    return (
        f"Dữ liệu chính thức của thủ tục này chưa ghi {what}. "
        "Bạn vui lòng xem trang chính thức bên dưới hoặc hỏi bộ phận một cửa."
    )


def _title(proc: Procedure) -> str:
    return f"«{short_name(proc)}»"


# --- documents -------------------------------------------------------------------------
def _copies(doc: Document) -> str:
    parts = []
    if doc.originals:
        parts.append(f"{doc.originals} bản chính")
    if doc.copies:
        parts.append(f"{doc.copies} bản sao")
    return ", ".join(parts)


def _document_lines(docs: Iterable[Document]) -> list[str]:
    lines: list[str] = []
    for i, doc in enumerate(docs, 1):
        counts = _copies(doc)
        lines.append(f"{i}. {_clip(doc.name, 600)}" + (f" ({counts})" if counts else ""))
        if doc.condition and not fold(doc.name).startswith(fold(doc.condition)):
            lines.append(f"   Áp dụng: {_clip(doc.condition, 300)}")
        if doc.form_url:
            lines.append(f"   Mẫu: {doc.form_name + ' — ' if doc.form_name else ''}{doc.form_url}")
        elif doc.form_name:
            lines.append(f"   Mẫu: {doc.form_name}")
    return lines


def _group_lines(title: str, docs: list[Document]) -> list[str]:
    """Documents everyone needs first, then those that apply only in some cases."""
    general = [d for d in docs if not d.condition]
    special = [d for d in docs if d.condition]
    lines = [title]
    lines += _document_lines(general)
    if special:
        lines.append("Chỉ trong một số trường hợp:" if general else "Tùy trường hợp:")
        lines += _document_lines(special)
    return lines


def documents_answer(proc: Procedure) -> str:
    lines = [f"Hồ sơ thủ tục {_title(proc)}:"]
    submit, present = proc.documents_in("submit"), proc.documents_in("present")
    if not submit and not present:
        lines.append(_missing("thành phần hồ sơ"))
        return _finish(lines, proc)
    if submit:
        lines += _group_lines("Giấy tờ phải nộp:", submit)
    if present:
        lines += _group_lines("Giấy tờ phải xuất trình:", present)
    if proc.document_notes:
        lines.append("Lưu ý:")
        lines += [f"- {_clip(note)}" for note in proc.document_notes]
    return _finish(lines, proc)


# --- fee and processing time -----------------------------------------------------------
def fee_text(fee: Fee) -> str | None:
    if fee.exempt:
        return "Miễn phí"
    if fee.amount_vnd is not None:
        amount = "0 đồng" if fee.amount_vnd == 0 else f"{fmt_int(fee.amount_vnd)} đồng"
        return f"{amount}/{fee.unit}" if fee.unit else amount
    if fee.text:
        return _clip(fee.text, 300)
    return None


def time_text(pt: ProcessingTime) -> str | None:
    if pt.unit == "same_day":
        return "Trong ngày"
    if pt.unit is not None and pt.value is not None:
        value = f"{pt.value:g}".replace(".", ",")
        return f"{value} {TIME_UNIT_LABELS[pt.unit]}"
    if pt.text:
        return _clip(pt.text, 300)
    return None


def _per_channel(
    methods: list[SubmissionMethod], value_of: Callable[[SubmissionMethod], str | None]
) -> list[str]:
    """'- Trực tiếp: …' lines, one per distinct (channel, value); one line when all agree."""
    rows: list[tuple[str, str]] = []
    for method in methods:
        value = value_of(method)
        if value is None:
            continue
        label = CHANNEL_LABELS.get(method.channel, method.label)
        if (label, value) not in rows:
            rows.append((label, value))
    values = {value for _, value in rows}
    labels = [label for label, _ in rows]
    if len(rows) > 1 and len(values) == 1 and len(set(labels)) == len(labels):
        channels = ", ".join(label.lower() for label in labels)
        return [f"- Mọi hình thức nộp ({channels}): {rows[0][1]}"]
    return [f"- {label}: {value}" for label, value in rows]


def fee_answer(proc: Procedure) -> str:
    lines = [f"Lệ phí thủ tục {_title(proc)}:"]
    rows = _per_channel(proc.submission_methods, lambda m: fee_text(m.fee))
    if not rows:
        lines.append(_missing("lệ phí"))
        return _finish(lines, proc)
    lines += rows
    notes = []
    for method in proc.submission_methods:
        note = method.fee.notes
        if note and note not in notes:
            notes.append(note)
    lines += [f"Ghi chú: {_clip(note)}" for note in notes[:2]]
    return _finish(lines, proc)


def time_answer(proc: Procedure) -> str:
    lines = [f"Thời hạn giải quyết thủ tục {_title(proc)}:"]
    rows = _per_channel(proc.submission_methods, lambda m: time_text(m.processing_time))
    if not rows:
        lines.append(_missing("thời hạn giải quyết"))
        return _finish(lines, proc)
    lines += rows
    if any(_bare_number(m.processing_time) for m in proc.submission_methods):
        lines.append(BARE_NUMBER_NOTE)
    return _finish(lines, proc)


# A processing time the official data gives as a number without its unit ("1"): shown as given,
# with this note, never completed by guessing the unit.
BARE_NUMBER_NOTE = (
    "(Dữ liệu chính thức chỉ ghi con số, không ghi đơn vị thời gian; "
    "Bạn xem trang chính thức hoặc hỏi bộ phận một cửa để biết chính xác.)"
)


def _bare_number(pt: ProcessingTime) -> bool:
    return (
        pt.unit is None
        and bool(pt.text)
        and (pt.text or "").replace(",", "").replace(".", "").strip().isdigit()
    )


# --- where to submit -------------------------------------------------------------------
def _office_lines(offices: list[Office]) -> list[str]:
    lines: list[str] = []
    for i, office in enumerate(offices, 1):
        lines.append(f"{i}. {office.name}")
        lines.append(f"   Địa chỉ: {office.address}")
        lines.append(f"   Giờ làm việc: {office.hours}")
        lines.append(f"   Điện thoại: {office.phone}")
    return lines


def place_answer(proc: Procedure, loc: Locality, user_text: str = "") -> str:
    lines = [f"Nơi nộp hồ sơ thủ tục {_title(proc)}:"]
    if proc.agencies:
        lines.append("Cơ quan thực hiện: " + "; ".join(proc.agencies))
    if proc.levels:
        lines.append("Cấp thực hiện: " + ", ".join(proc.levels))
    offices = loc.offices_for_levels(proc.levels)
    commune = loc.find_commune(user_text) if user_text else None
    if commune and any(o.level == "commune" for o in offices):
        own = loc.office(commune.office)
        offices = [o for o in offices if o.level == "province"] + ([own] if own else [])
    if offices:
        lines.append(f"Bộ phận một cửa tại {loc.province.name}:")
        if (
            not commune
            and len(loc.commune_offices) > 1
            and any(o.level == "commune" for o in offices)
        ):
            lines.append("(thủ tục cấp xã: Bạn nộp tại xã/phường nơi mình cư trú)")
        lines += _office_lines(offices)
    else:
        lines.append(
            "Thủ tục này không do bộ phận một cửa cấp xã hoặc cấp tỉnh tiếp nhận; "
            "Bạn liên hệ cơ quan thực hiện nêu trên."
        )
    if proc.online.availability != "none" or "online" in proc.channels:
        link = proc.online.submit_url or loc.portals.province or loc.portals.national
        lines.append(f"Nộp trực tuyến: {link}")
    if loc.example:
        lines.append(
            "(Lưu ý: địa chỉ và số điện thoại ở trên là dữ liệu mẫu của bản cài đặt thử nghiệm.)"
        )
    return _finish(lines, proc)


# --- steps and online submission ------------------------------------------------------
def steps_answer(proc: Procedure) -> str:
    lines = [f"Các bước thực hiện thủ tục {_title(proc)}:"]
    if not proc.steps:
        lines.append(_missing("trình tự thực hiện"))
        return _finish(lines, proc)
    # The source often numbers or bullets its own paragraphs ("Bước 1:", "- ", "+ ", "(i)");
    # then keep them as written, otherwise number the steps.
    marked = any(_STEP_MARKER.match(step.strip()) for step in proc.steps)
    for i, step in enumerate(proc.steps, 1):
        step = _clip(step.strip(), 900)
        lines.append(step if marked else f"{i}. {step}")
    return _finish(lines, proc)


AVAILABILITY_TEXT = {
    "full": "Thủ tục này có thể nộp trực tuyến toàn trình (từ nộp hồ sơ đến nhận kết quả).",
    "partial": "Thủ tục này có thể nộp hồ sơ trực tuyến một phần (một số bước vẫn thực hiện trực tiếp).",
}


def online_answer(proc: Procedure, loc: Locality) -> str:
    lines = [f"Nộp trực tuyến thủ tục {_title(proc)}:"]
    online_methods = proc.methods("online")
    availability = proc.online.availability
    if availability == "none" and not online_methods:
        lines.append("Theo dữ liệu chính thức, thủ tục này chưa hỗ trợ nộp trực tuyến.")
        others = [CHANNEL_LABELS[c].lower() for c in proc.channels if c != "online"]
        if others:
            lines.append(
                "Bạn có thể nộp: " + ", ".join(others) + '. Hỏi "nộp ở đâu" để xem địa chỉ.'
            )
        return _finish(lines, proc)
    lines.append(
        AVAILABILITY_TEXT.get(
            availability, "Theo dữ liệu chính thức, thủ tục này có hình thức nộp trực tuyến."
        )
    )
    link = proc.online.submit_url or loc.portals.province or loc.portals.national
    lines.append(f"Nộp tại: {link}")
    if loc.portals.login_help:
        lines.append(f"Tài khoản: {loc.portals.login_help}")
    for method in online_methods[:1]:
        if fee := fee_text(method.fee):
            lines.append(f"Lệ phí khi nộp trực tuyến: {fee}")
        if duration := time_text(method.processing_time):
            lines.append(f"Thời hạn giải quyết: {duration}")
            if _bare_number(method.processing_time):
                lines.append(BARE_NUMBER_NOTE)
    if loc.portals.payment_help:
        lines.append(f"Thanh toán: {loc.portals.payment_help}")
    return _finish(lines, proc)


def overview_answer(proc: Procedure) -> str:
    """A short card when the user only named a procedure (what would you like to know?)."""
    lines = [f"Thủ tục {_title(proc)}"]
    if proc.field:
        lines.append(f"Lĩnh vực: {proc.field}")
    if proc.levels:
        lines.append("Cấp thực hiện: " + ", ".join(proc.levels))
    free = proc.is_free
    if free is True:
        lines.append("Lệ phí: miễn phí")
    lines.append("Bạn muốn biết thông tin nào? Chọn một mục bên dưới hoặc gõ câu hỏi.")
    return _finish(lines, proc)
