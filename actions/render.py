"""Readable answers about one procedure, built only from catalog (and locality) data.

Every function returns plain text (numbered lists, labels) that ends with the procedure's code
and official link. When the catalog has no value, the answer says so and points to the official
page; nothing is guessed. The labels are Vietnamese, or English for a question in English
(:func:`actions.language.tr`); the catalog's content is shown as it is, in Vietnamese.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from actions import places
from actions.common import MAX_ANSWER_CHARS, button, short_name, truncate
from actions.language import N_, OFFICIAL_IN_VIETNAMESE, english, ntr, number_locale, tr
from trolydvc.catalog import Document, Fee, Procedure, ProcessingTime, SubmissionMethod
from trolydvc.catalog.guidance import (
    Case,
    Checklist,
    Paper,
    Situation,
    applies,
    checklist,
    clip_words,
    questions_needed,
    stated_time,
)
from trolydvc.catalog.schema import CHANNEL_LABELS, TIME_UNIT_LABELS
from trolydvc.formatting import fmt_int
from trolydvc.locality import Locality
from trolydvc.textnorm import fold

NATIONAL_PORTAL = "https://dichvucong.gov.vn"
_STEP_MARKER = re.compile(r"^(bước\s*\d|[-+•*–]|\(?[ivx]+\)|\d+[.)/]|[a-zđ]\))", re.IGNORECASE)
MAX_NOTE_CHARS = 400


@dataclass
class Answer:
    """A reply's text and its own buttons (shown before the follow-up topic buttons)."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


def footer(proc: Procedure) -> str:
    """Level and agency (as the export states them, none invented), then the code and link."""
    link = proc.source_url or NATIONAL_PORTAL
    end = tr("Mã thủ tục: {code} · Nguồn: {link}").format(code=proc.code, link=link)
    where = []
    if proc.levels:
        where.append(tr("Cấp thực hiện: ") + ", ".join(proc.levels))
    if agency := "; ".join(proc.agencies) or proc.competent_authority:
        where.append(tr("Cơ quan thực hiện: ") + _clip(agency, 160))
    if english():  # the frame is English, the content the official Vietnamese text
        end = f"{tr(OFFICIAL_IN_VIETNAMESE)}\n{end}"
    return "\n".join([" · ".join(where), end]) if where else end


def _finish(lines: list[str], proc: Procedure) -> str:
    """Body (cut to fit, pointing to the official page) + the code/link footer."""
    end = footer(proc)
    body = truncate(
        lines,
        limit=MAX_ANSWER_CHARS - len(end) - 2,
        more=tr("… (còn nữa; Bạn xem đầy đủ tại trang chính thức bên dưới)"),
    )
    return f"{body}\n\n{end}"


def _clip(text: str, limit: int = MAX_NOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _missing(what: str) -> str:
    """``what`` (a label, translated here) is missing from the official data."""
    return tr(
        "Dữ liệu chính thức của thủ tục này chưa ghi {what}. "
        "Bạn vui lòng xem trang chính thức bên dưới hoặc hỏi bộ phận một cửa."
    ).format(what=tr(what))


def _title(proc: Procedure) -> str:
    return f"«{short_name(proc)}»"


# --- documents -------------------------------------------------------------------------
def _copies(doc: Document) -> str:
    parts = []
    if doc.originals:
        parts.append(ntr("{n} bản chính", "{n} bản chính", doc.originals).format(n=doc.originals))
    if doc.copies:
        parts.append(ntr("{n} bản sao", "{n} bản sao", doc.copies).format(n=doc.copies))
    return ", ".join(parts)


def _document_lines(docs: Iterable[Document]) -> list[str]:
    lines: list[str] = []
    for i, doc in enumerate(docs, 1):
        counts = _copies(doc)
        lines.append(f"{i}. {_clip(doc.name, 600)}" + (f" ({counts})" if counts else ""))
        if doc.condition and not fold(doc.name).startswith(fold(doc.condition)):
            lines.append(tr("   Áp dụng: ") + _clip(doc.condition, 300))
        if doc.form_url:
            form = f"{doc.form_name + ' — ' if doc.form_name else ''}{doc.form_url}"
            lines.append(tr("   Mẫu: ") + form)
        elif doc.form_name:
            lines.append(tr("   Mẫu: ") + doc.form_name)
    return lines


def _group_lines(title: str, docs: list[Document]) -> list[str]:
    """Documents everyone needs first, then those that apply only in some cases."""
    general = [d for d in docs if not d.condition]
    special = [d for d in docs if d.condition]
    lines = [title]
    lines += _document_lines(general)
    if special:
        lines.append(tr("Chỉ trong một số trường hợp:") if general else tr("Tùy trường hợp:"))
        lines += _document_lines(special)
    return lines


def documents_answer(proc: Procedure) -> str:
    lines = [tr("Hồ sơ thủ tục {title}:").format(title=_title(proc))]
    submit, present = proc.documents_in("submit"), proc.documents_in("present")
    if not submit and not present:
        lines.append(_missing(N_("thành phần hồ sơ")))
        return _finish(lines, proc)
    if submit:
        lines += _group_lines(tr("Giấy tờ phải nộp:"), submit)
    if present:
        lines += _group_lines(tr("Giấy tờ phải xuất trình:"), present)
    if proc.document_notes:
        lines.append(tr("Lưu ý:"))
        lines += [f"- {_clip(note)}" for note in proc.document_notes]
    return _finish(lines, proc)


# --- documents as a checklist (trolydvc.catalog.guidance) ------------------------------
# The first documents reply fits a phone screen (bench/guidance.py measures it).
FIRST_REPLY_CHARS = 1200
# Labels kept in constants are shown through tr() (actions/language.py).
FULL_TEXT_LABEL = N_("Toàn văn thành phần hồ sơ")
MY_CASE_LABEL = N_("Giấy tờ theo trường hợp của tôi")
MAX_CASE_BUTTONS = 6
MAX_CHOICES = 10
CHANNEL_CHOICES = {
    "direct": N_("Nộp trực tiếp"),
    "online": N_("Nộp trực tuyến"),
    "postal": N_("Gửi qua bưu điện"),
}
CHANNEL_PHRASES = {
    "direct": N_("nộp trực tiếp"),
    "online": N_("nộp trực tuyến"),
    "postal": N_("gửi qua bưu điện"),
}


@dataclass(frozen=True)
class DocsButtons:
    """Buttons asking the documents topic (its intent comes from actions/topics.py) again about
    one procedure, for a case ("" is the first reply: no case entity)."""

    intent: str
    proc: Procedure

    def __call__(self, title: str, case: str = "") -> dict[str, str]:
        if not case:
            return button(title, self.intent, procedure=self.proc.code)
        return button(title, self.intent, procedure=self.proc.code, case=case)


def _paper_line(
    paper: Paper, number: int | None = None, with_case: bool = True, long: bool = False
) -> str:
    counts = _copies(paper.doc)
    name = paper.long if long and paper.long else paper.short
    line = f"{number}. {name}" if number else f"- {name}"
    if counts:
        line += f" ({counts})"
    if with_case and paper.case is not None:
        line += f" — {paper.case.label}"
    return line


def _case_title(case: Case) -> str:
    return case.label if case.label.startswith("nếu") else f"nếu {case.label}"


def _fit(lines: list[str], tail: list[str], proc: Procedure, limit: int) -> list[str]:
    """``lines`` cut (saying how many are left out) so that lines + tail + footer fit."""
    budget = limit - sum(len(x) + 1 for x in tail) - len(footer(proc)) - 2
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        if used + len(line) + 1 > budget - 60:
            out.append(
                tr("… và {n} giấy tờ khác (bấm «{label}»)").format(
                    n=len(lines) - i, label=tr(FULL_TEXT_LABEL)
                )
            )
            break
        out.append(line)
        used += len(line) + 1
    return out


def first_documents_reply(proc: Procedure, docs: DocsButtons) -> Answer:
    """Core papers one line each, papers to show, the special cases in one line with buttons,
    the official wording one tap away."""
    cl = checklist(proc)
    title = _title(proc)
    if not cl.papers:
        return Answer(documents_answer(proc))
    core, heading = cl.core, tr("Giấy tờ cần nộp — thủ tục {title}:").format(title=title)
    if not core and (single := cl.single_case) is not None:
        # every submitted paper is under one stated case: show them, with that case named
        core = cl.papers_of(single.key)
        heading = tr("Giấy tờ cần nộp — thủ tục {title} (trường hợp {case}):").format(
            title=title, case=single.label
        )
    submit = [(p, False) for p in core] + [(p, True) for p in cl.by_channel]
    # alternative dossiers (each case its own papers): asked as the question that decides
    alternatives = cl.alternatives
    body: list[str] = []
    if submit:
        body.append(heading)
        body += [_paper_line(p, i, case) for i, (p, case) in enumerate(submit, 1)]
    elif alternatives:
        body.append(
            tr("Thủ tục {title}: giấy tờ cần nộp tùy trường hợp. Trường hợp của Bạn là:").format(
                title=title
            )
        )
        body += [f"{i}. {c.label}" for i, c in enumerate(alternatives, 1)]
    else:
        body.append(tr("Thủ tục {title}: giấy tờ cần nộp tùy từng trường hợp.").format(title=title))
    show = [p for p in cl.to_show if p.case is None]
    if show:
        body.append(tr("Mang theo để xuất trình:"))
        body += [_paper_line(p) for p in show]
    special = [
        c
        for c in cl.cases
        if c.kind != "channel" and c is not cl.single_case and c not in alternatives
    ]
    tail: list[str] = []
    if alternatives and submit:
        names = "; ".join(c.label for c in alternatives)
        tail.append(
            tr("Giấy tờ khác tùy trường hợp: {cases} — bấm nút bên dưới.").format(
                cases=clip_words(names, 300)
            )
        )
    elif alternatives:
        tail.append(tr("Bấm trường hợp của Bạn bên dưới để xem giấy tờ."))
    if special:
        names = "; ".join(_case_title(c) for c in special)
        tail.append(
            tr("Cần thêm giấy tờ {cases} — bấm nút bên dưới để xem.").format(
                cases=clip_words(names, 300)
            )
        )
    tail.append(tr("Nguyên văn đầy đủ: bấm «{label}».").format(label=tr(FULL_TEXT_LABEL)))
    lines = _fit(body, tail, proc, FIRST_REPLY_CHARS) + tail
    buttons = [
        docs(f"{i}. {c.label}", f"open:{c.key}")
        for i, c in enumerate(alternatives[:MAX_CHOICES], 1)
    ]
    buttons += [
        docs(tr("Nếu {case}").format(case=_case_title(c)[4:]), f"open:{c.key}")
        for c in special[:MAX_CASE_BUTTONS]
    ]
    if questions_needed(cl, proc):
        buttons.append(docs(tr(MY_CASE_LABEL), "ask"))
    buttons.append(docs(tr(FULL_TEXT_LABEL), "all"))
    return Answer(_finish(lines, proc), buttons)


def case_reply(proc: Procedure, key: str, docs: DocsButtons) -> Answer:
    """The papers of one case, with their official wording."""
    cl = checklist(proc)
    case = cl.case(key)
    if case is None:
        return first_documents_reply(proc, docs)
    if case in cl.alternatives:  # its own dossier, not papers added to others
        lines = [
            tr("Thủ tục {title} — trường hợp {case}, cần nộp:").format(
                title=_title(proc), case=case.label
            )
        ]
    else:
        lines = [
            tr("Thủ tục {title} — {case}, cần thêm:").format(
                title=_title(proc), case=_case_title(case)
            )
        ]
    for i, paper in enumerate(cl.papers_of(key), 1):
        verb = tr("xuất trình") if paper.to_show else tr("nộp")
        lines.append(
            f"{i}. {paper.short} ({verb}{', ' + _copies(paper.doc) if _copies(paper.doc) else ''})"
        )
        if fold(paper.short).rstrip("…") != fold(paper.doc.name):
            lines.append(tr("   Nguyên văn: ") + _clip(paper.doc.name, 600))
    core = [p.short for p in cl.core] if cl.core_rule == "plain" else []
    if core:
        lines.append(tr("Cùng với giấy tờ mọi người đều nộp: ") + "; ".join(core) + ".")
    buttons = [docs(tr("Danh sách giấy tờ chung"), "")]
    if questions_needed(cl, proc):
        buttons.append(docs(tr(MY_CASE_LABEL), "ask"))
    buttons.append(docs(tr(FULL_TEXT_LABEL), "all"))
    return Answer(_finish(lines, proc), buttons)


def situation_reply(proc: Procedure, situation: Situation, docs: DocsButtons) -> Answer:
    """The next question that decides the papers, or the checklist for the citizen's case."""
    cl = checklist(proc)
    needed = questions_needed(cl, proc)
    title = _title(proc)
    if "channel" in needed and situation.channel is None:
        options = [c for c in proc.channels if c in CHANNEL_CHOICES]
        return Answer(
            tr(
                "Thủ tục {title}: giấy tờ phụ thuộc cách nộp. "
                "Bạn định nộp hồ sơ theo hình thức nào?"
            ).format(title=title),
            [docs(tr(CHANNEL_CHOICES[c]), replace(situation, channel=c).encode()) for c in options],
        )
    if "proxy" in needed and situation.proxy is None:
        return Answer(
            tr("Thủ tục {title}: Bạn tự đi nộp hay nhờ người khác nộp thay?").format(title=title),
            [
                docs(tr("Tôi tự nộp"), replace(situation, proxy=False).encode()),
                docs(tr("Nhờ người khác nộp thay"), replace(situation, proxy=True).encode()),
            ],
        )
    others = [c for c in cl.cases if c.kind == "other"]
    if "other" in needed and situation.other is None:
        if not cl.alternatives:  # the cases add papers to the core ones
            lines = [
                tr("Thủ tục {title}: Bạn có thuộc trường hợp nào dưới đây không?").format(
                    title=title
                )
            ]
        else:  # the cases are the alternatives: each has its own papers
            lines = [
                tr("Thủ tục {title}: giấy tờ tùy trường hợp. Trường hợp của Bạn là:").format(
                    title=title
                )
            ]
        lines += [f"{i}. {c.label}" for i, c in enumerate(others, 1)]
        buttons = [
            docs(f"{i}. {c.label}", replace(situation, other=c.key).encode())
            for i, c in enumerate(others[:MAX_CHOICES], 1)
        ]
        none = tr("Trường hợp khác") if cl.alternatives else tr("Không thuộc trường hợp nào")
        buttons.append(docs(none, replace(situation, other="").encode()))
        if len(others) > MAX_CHOICES:
            lines.append(
                tr("(Các trường hợp khác: bấm «{label}».)").format(label=tr(FULL_TEXT_LABEL))
            )
            buttons.append(docs(tr(FULL_TEXT_LABEL), "all"))
        return Answer(_finish(lines, proc), buttons)
    return Answer(*_personal_checklist(proc, cl, situation, docs))


def _personal_checklist(
    proc: Procedure, cl: Checklist, situation: Situation, docs: DocsButtons
) -> tuple[str, list[dict[str, str]]]:
    chosen = []
    if situation.channel:
        chosen.append(tr(CHANNEL_PHRASES[situation.channel]))
    if situation.proxy is not None:
        chosen.append(tr("nhờ người khác nộp thay") if situation.proxy else tr("tự nộp"))
    if situation.other is not None:
        case = cl.case(situation.other) if situation.other else None
        chosen.append(case.label if case else tr("không thuộc trường hợp riêng"))
    papers = [p for p in cl.papers if applies(p, situation)]
    papers.sort(key=lambda p: p.case is not None and p.case.kind != "channel")  # core first
    unique: dict[tuple[str, str], Paper] = {}  # a paper several cases ask for, listed once
    for paper in papers:
        unique.setdefault((paper.doc.group, fold(paper.short)), paper)
    papers = list(unique.values())
    submit = [p for p in papers if not p.to_show]
    show = [p for p in papers if p.to_show]
    lines = [
        tr("Giấy tờ của Bạn — thủ tục {title} ({chosen}):").format(
            title=_title(proc), chosen="; ".join(chosen)
        )
    ]
    if submit:
        lines.append(tr("Cần nộp:"))
        lines += [_paper_line(p, i, False, long=True) for i, p in enumerate(submit, 1)]
    if show:
        lines.append(tr("Mang theo để xuất trình:"))
        lines += [_paper_line(p, with_case=False, long=True) for p in show]
    if not papers:
        lines.append(
            tr(
                "Dữ liệu chính thức không ghi giấy tờ riêng cho trường hợp này; Bạn xem toàn văn "
                "hoặc hỏi bộ phận một cửa."
            )
        )
    if situation.channel == "online":
        lines.append(tr('Cách nộp trực tuyến từng bước: hỏi "nộp online thế nào".'))
    buttons = [
        docs(tr("Chọn lại trường hợp"), "ask"),
        docs(tr(FULL_TEXT_LABEL), "all"),
    ]
    return _finish(lines, proc), buttons


def documents_reply(proc: Procedure, case: str, intent: str) -> Answer:
    """The documents answer for a ``case`` value of a button: "" the first reply, "all" the
    official wording, "open:<key>" one case, "ask;…" the questions deciding the checklist;
    ``intent`` asks the documents topic (its buttons repeat it with another case)."""
    docs = DocsButtons(intent, proc)
    if case == "all":
        return Answer(documents_answer(proc), [docs(tr("Danh sách giấy tờ chung"))])
    if case.startswith("open:"):
        return case_reply(proc, case[len("open:") :], docs)
    if (situation := Situation.decode(case)) is not None:
        return situation_reply(proc, situation, docs)
    return first_documents_reply(proc, docs)


# --- fee and processing time -----------------------------------------------------------
FREE = N_("Miễn phí")


def fee_text(fee: Fee) -> str | None:
    if fee.exempt:
        return tr(FREE)
    if fee.amount_vnd is not None:
        amount = tr("{amount} đồng").format(amount=fmt_int(fee.amount_vnd, number_locale()))
        return f"{amount}/{fee.unit}" if fee.unit else amount
    if fee.text:
        return _clip(fee.text, 300)
    return None


# CHANNEL_LABELS of trolydvc/catalog/schema.py, shown through tr(): marked here for extraction
# (tests/actions/test_language.py checks that they are the schema's).
CHANNEL_LABEL_IDS = (N_("Trực tiếp"), N_("Trực tuyến"), N_("Dịch vụ bưu chính"))


def unit_label(unit: str, n: float) -> str:
    """The TIME_UNIT_LABELS label of ``unit`` for ``n`` of it, in the answer's language ("3
    working days", "1 working day"); in Vietnamese the schema's label itself (tests check)."""
    forms = {
        "working_days": ntr("ngày làm việc", "ngày làm việc", n),
        "days": ntr("ngày", "ngày", n),
        "months": ntr("tháng", "tháng", n),
        "years": ntr("năm", "năm", n),
        "hours": ntr("giờ", "giờ", n),
        "same_day": tr("trong ngày"),
    }
    return forms.get(unit, TIME_UNIT_LABELS[unit])


def time_text(pt: ProcessingTime) -> str | None:
    if pt.unit == "same_day":
        return tr("Trong ngày")
    if pt.unit is not None and pt.value is not None:
        value = f"{pt.value:g}" if english() else f"{pt.value:g}".replace(".", ",")
        return f"{value} {unit_label(pt.unit, pt.value)}"
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
        label = (
            tr(CHANNEL_LABELS[method.channel]) if method.channel in CHANNEL_LABELS else method.label
        )
        if (label, value) not in rows:
            rows.append((label, value))
    values = {value for _, value in rows}
    labels = [label for label, _ in rows]
    if len(rows) > 1 and len(values) == 1 and len(set(labels)) == len(labels):
        channels = ", ".join(label.lower() for label in labels)
        return [
            tr("- Mọi hình thức nộp ({channels}): {value}").format(
                channels=channels, value=rows[0][1]
            )
        ]
    return [f"- {label}: {value}" for label, value in rows]


def fee_answer(proc: Procedure) -> str:
    lines = [tr("Lệ phí thủ tục {title}:").format(title=_title(proc))]
    rows = _per_channel(proc.submission_methods, lambda m: fee_text(m.fee))
    if not rows:
        lines.append(_missing(N_("lệ phí")))
        return _finish(lines, proc)
    lines += rows
    # The same note often stands under each channel, once in parentheses (1.000894: "Miễn lệ
    # phí. …" and "(Miễn lệ phí. …)"): shown once.
    notes: dict[str, str] = {}
    for method in proc.submission_methods:
        note = method.fee.notes
        if note:
            notes.setdefault(" ".join(re.sub(r"[()]", " ", fold(note)).split()), note)
    lines += [tr("Ghi chú: ") + _clip(note) for note in list(notes.values())[:2]]
    return _finish(lines, proc)


def time_with_unit(proc: Procedure, pt: ProcessingTime) -> str | None:
    """The time as the table gives it, with the unit the official text states for a bare
    number (guidance.stated_time); None when the catalog has no time."""
    if _bare_number(pt) and (stated := stated_time(proc, pt)):
        return time_text(ProcessingTime(value=stated.value, unit=stated.unit))
    return time_text(pt)


def unit_source_lines(proc: Procedure, methods: list[SubmissionMethod]) -> list[str]:
    """Where the unit of a bare-number time comes from (a quote), else the honest note."""
    bare = [m.processing_time for m in methods if _bare_number(m.processing_time)]
    if not bare:
        return []
    quotes: list[str] = []
    for pt in bare:
        stated = stated_time(proc, pt)
        if stated is None:
            return [tr(BARE_NUMBER_NOTE)]
        quote = tr('(Đơn vị theo mục «{place}»: "{quote}")').format(
            place=stated.place, quote=stated.quote
        )
        if quote not in quotes:
            quotes.append(quote)
    return quotes


def time_answer(proc: Procedure) -> str:
    lines = [tr("Thời hạn giải quyết thủ tục {title}:").format(title=_title(proc))]
    rows = _per_channel(proc.submission_methods, lambda m: time_with_unit(proc, m.processing_time))
    if not rows:
        lines.append(_missing(N_("thời hạn giải quyết")))
        return _finish(lines, proc)
    lines += rows
    lines += unit_source_lines(proc, proc.submission_methods)
    return _finish(lines, proc)


# A processing time the official data gives as a number without its unit ("1"): shown as given,
# with this note, never completed by guessing the unit.
BARE_NUMBER_NOTE = N_(
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
def place_answer(proc: Procedure, loc: Locality, user_text: str = "") -> str:
    # the level and the agency are in the footer (footer()), not repeated here
    lines = [tr("Nơi nộp hồ sơ thủ tục {title}:").format(title=_title(proc))]
    place = places.place_in(loc, user_text)
    if place is not None and place.note:
        lines.append(place.note)
    offices, ask_commune = places.offices_for(loc, proc.levels, place)
    if offices or ask_commune:
        if offices:
            lines.append(tr("Bộ phận một cửa tại {province}:").format(province=loc.province.name))
        if (
            not ask_commune
            and (place is None or place.commune is None)
            and (sum(o.level == "commune" for o in offices) > 1)
        ):
            lines.append(tr("(thủ tục cấp xã: Bạn nộp tại xã/phường nơi mình cư trú)"))
        lines += places.office_lines(offices)
        if ask_commune:
            lines.append(tr(places.ASK_COMMUNE))
    else:
        lines.append(
            tr(
                "Thủ tục này không do bộ phận một cửa cấp xã hoặc cấp tỉnh tiếp nhận; "
                "Bạn liên hệ cơ quan thực hiện nêu trên."
            )
        )
    if proc.online.availability != "none" or "online" in proc.channels:
        link = proc.online.submit_url or loc.portals.province or loc.portals.national
        lines.append(tr("Nộp trực tuyến: ") + link)
    if loc.example:
        lines.append(
            tr(
                "(Lưu ý: địa chỉ và số điện thoại ở trên là dữ liệu mẫu của bản cài đặt thử nghiệm.)"
            )
        )
    return _finish(lines, proc)


# --- steps and online submission ------------------------------------------------------
def steps_answer(proc: Procedure) -> str:
    lines = [tr("Các bước thực hiện thủ tục {title}:").format(title=_title(proc))]
    if not proc.steps:
        lines.append(_missing(N_("trình tự thực hiện")))
        return _finish(lines, proc)
    # The source often numbers or bullets its own paragraphs ("Bước 1:", "- ", "+ ", "(i)");
    # then keep them as written, otherwise number the steps.
    marked = any(_STEP_MARKER.match(step.strip()) for step in proc.steps)
    for i, step in enumerate(proc.steps, 1):
        step = _clip(step.strip(), 900)
        lines.append(step if marked else f"{i}. {step}")
    return _finish(lines, proc)


AVAILABILITY_TEXT = {
    "full": N_("Thủ tục này nộp trực tuyến được toàn trình (từ nộp hồ sơ đến nhận kết quả)."),
    "partial": N_(
        "Thủ tục này nộp hồ sơ trực tuyến được; một số bước (nhận kết quả, xuất trình bản "
        "chính) có thể vẫn phải làm trực tiếp."
    ),
}
PHOTO_TIPS = N_(
    "Mẹo: chụp thẳng từng trang trên nền phẳng, đủ sáng, không lóa, thấy đủ 4 góc và đọc rõ "
    "từng chữ; mỗi giấy tờ một tệp (PDF hoặc JPG)."
)
MAX_LISTED_PAPERS = 6


def _online_papers(proc: Procedure) -> tuple[list[Paper], list[Paper]]:
    """(papers to attach, papers whose originals to keep) for an online submission by the
    citizen themself, in no special case (the online-only papers are the e-form itself)."""
    cl = checklist(proc)
    keep = [p for p in cl.to_show if p.case is None]
    return cl.core, keep


def online_walkthrough(proc: Procedure, loc: Locality) -> list[str]:
    """Numbered steps of an online submission on the national portal, from catalog data."""
    link = proc.online.submit_url or proc.source_url or loc.portals.province or loc.portals.national
    steps = [
        loc.portals.login_help
        or tr(
            "Đăng nhập Cổng Dịch vụ công quốc gia bằng tài khoản định danh điện tử VNeID "
            "(mức độ 2)."
        ),
        tr("Mở trang của thủ tục: {link} và bấm «Nộp trực tuyến».").format(link=link),
    ]
    where = "; ".join(proc.agencies) if proc.agencies else ", ".join(proc.levels)
    steps.append(
        tr("Chọn tỉnh/thành phố ({province}) và cơ quan nhận hồ sơ").format(
            province=loc.province.name
        )
        + (f" ({_clip(where, 120)})" if where else "")
        + tr("; thủ tục cấp xã thì chọn xã/phường nơi Bạn cư trú.")
    )
    forms = [p.short for p in checklist(proc).by_channel if p.case and "online" in p.case.channels]
    steps.append(
        tr("Điền tờ khai điện tử trên trang") + (f" ({'; '.join(forms)})." if forms else ".")
    )
    attach, keep = _online_papers(proc)
    if attach:
        names = "; ".join(p.short for p in attach[:MAX_LISTED_PAPERS])
        more = (
            tr(" và {n} giấy tờ khác").format(n=len(attach) - MAX_LISTED_PAPERS)
            if len(attach) > MAX_LISTED_PAPERS
            else ""
        )
        steps.append(
            tr("Đính kèm ảnh chụp hoặc bản quét: {papers}.").format(papers=names + more)
            + " "
            + tr(PHOTO_TIPS)
        )
    else:
        steps.append(
            tr("Đính kèm ảnh chụp hoặc bản quét các giấy tờ trong hồ sơ.") + " " + tr(PHOTO_TIPS)
        )
    if keep:
        steps.append(
            tr("Giữ bản chính để xuất trình khi cần đối chiếu hoặc khi nhận kết quả: ")
            + "; ".join(p.short for p in keep[:MAX_LISTED_PAPERS])
            + "."
        )
    fees = [fee_text(m.fee) for m in proc.methods("online")]
    fee = next((f for f in fees if f), None)
    if fee and fee != tr(FREE):
        steps.append(
            tr("Nộp lệ phí ({fee}) trực tuyến").format(fee=fee)
            + (f": {loc.portals.payment_help}" if loc.portals.payment_help else ".")
        )
    elif fee == tr(FREE):
        steps.append(tr("Thủ tục miễn phí: không phải thanh toán."))
    steps.append(
        tr(
            "Bấm «Nộp hồ sơ» và ghi lại mã hồ sơ. Để xem tình trạng, Bạn gửi cho tôi: "
            '"tra cứu hồ sơ <mã hồ sơ>".'
        )
    )
    return [f"{i}. {step}" for i, step in enumerate(steps, 1)]


def _office_line(proc: Procedure, loc: Locality) -> str | None:
    """The one office of locality.yml that takes the procedure, or where to ask for it."""
    offices = loc.offices_for_levels(proc.levels)
    if not offices:
        return None
    if len(offices) > 1:
        return tr('bộ phận một cửa nơi Bạn cư trú (hỏi "nộp ở đâu" để xem địa chỉ từng nơi)')
    return places.office_summary(offices[0])


def online_answer(proc: Procedure, loc: Locality) -> str:
    lines = [tr("Nộp trực tuyến thủ tục {title}:").format(title=_title(proc))]
    online_methods = proc.methods("online")
    availability = proc.online.availability
    if availability == "none" and not online_methods:
        lines.append(tr("Theo dữ liệu chính thức, thủ tục này chưa nộp trực tuyến được."))
        others = [tr(CHANNEL_LABELS[c]).lower() for c in proc.channels if c != "online"]
        if others:
            lines.append(tr("Bạn có thể nộp: ") + ", ".join(others) + ".")
        if office := _office_line(proc, loc):
            lines.append(tr("Nơi nộp: ") + office)
            if loc.example:
                lines.append(
                    tr("(Địa chỉ, số điện thoại trên là dữ liệu mẫu của bản cài đặt thử nghiệm.)")
                )
        lines.append(tr('Tiếp theo: hỏi "cần giấy tờ gì" để chuẩn bị hồ sơ trước khi đi nộp.'))
        return _finish(lines, proc)
    lines.append(
        tr(
            AVAILABILITY_TEXT.get(
                availability,
                N_("Theo dữ liệu chính thức, thủ tục này có hình thức nộp trực tuyến."),
            )
        )
    )
    lines.append(tr("Các bước:"))
    lines += online_walkthrough(proc, loc)
    for method in online_methods[:1]:
        if duration := time_with_unit(proc, method.processing_time):
            lines.append(tr("Thời hạn giải quyết: ") + duration)
            lines += unit_source_lines(proc, [method])
    if availability == "partial" and (office := _office_line(proc, loc)):
        lines.append(tr("Phần phải làm trực tiếp (nếu được yêu cầu): ") + office)
    lines.append(
        tr(
            'Tiếp theo: chuẩn bị ảnh các giấy tờ (hỏi "cần giấy tờ gì"), '
            "rồi làm theo các bước trên."
        )
    )
    return _finish(lines, proc)


def overview_answer(proc: Procedure) -> str:
    """A short card when the user only named a procedure (what would you like to know?)."""
    lines = [tr("Thủ tục {title}").format(title=_title(proc))]
    if proc.field:
        lines.append(tr("Lĩnh vực: ") + proc.field)
    if proc.levels:
        lines.append(tr("Cấp thực hiện: ") + ", ".join(proc.levels))
    free = proc.is_free
    if free is True:
        lines.append(tr("Lệ phí: miễn phí"))
    lines.append(tr("Bạn muốn biết thông tin nào? Chọn một mục bên dưới hoặc gõ câu hỏi."))
    return _finish(lines, proc)
