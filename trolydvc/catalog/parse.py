"""Parsers for the national TTHC export (one JSON object per line).

The portal flattens its HTML tables into single strings; each ``parse_*`` function rebuilds
one table and returns ``(value, problems)`` where *problems* lists what could not be parsed
(the importer reports them per procedure). Nothing is guessed: a value the source does not
state stays ``None``.

Table formats (as observed in the July 2026 export):

* ``cach_thuc_thuc_hien``: ``"Hình thức nộpThời gianPhí, lệ phíMô tả"`` then rows
  ``<channel><time><fee>[(<fee note>)]<description>`` with channel ``Trực tuyến`` /
  ``Dịch vụ bưu chính`` / ``Trực tiếp``; time ``"3 Ngày làm việc"``, ``"15 Ngày"``, ``"4 Giờ"``,
  ``"2 Tháng"``, a bare number (unit not stated) or ``"Không có thông tin"``; fee ``"Miễn phí"``,
  ``"Không có thông tin"``, ``"2,000 Việt Nam Đồng(/trang)"``, ``"100,000 VNĐ"``, ``"25 USD(...)"``.
* ``thanh_phan_ho_so``: sections ``<title>Tên giấy tờMẫu đơn, tờ khaiSố lượng<entries>``; title
  ``--`` (plain list), ``* Giấy tờ phải nộp:``, ``* Giấy tờ phải xuất trình:``, ``* Lưu ý:`` or a
  condition (``* Trường hợp ủy quyền ...:``); each entry is ``<name>[<form file>.docx]<n> bản
  chính[,<m> bản sao]``. Entries counted ``0 bản chính`` with no copies are explanations
  (document_notes) or, when they end with ``:``, a sub-heading that conditions the entries after it.
* ``can_cu_phap_ly``: ``"Tên văn bản pháp lýMã văn bản"`` then ``<title><number>`` pairs.
* ``ket_qua_xu_ly``: ``<result>Mã: <code>`` repeated, then ``Từ khóa...Mô tả...``; a trailing
  ``Nộp hồ sơ`` means the portal page offers online submission.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from trolydvc.catalog.schema import (
    Document,
    Fee,
    LegalDocument,
    OnlineInfo,
    ProcessingTime,
    SubmissionMethod,
)

NO_INFO = "Không có thông tin"
_UPPER = "A-ZĐÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
_LOWER = "a-zđàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")


def clean(text: Any) -> str | None:
    """NFC, invisible characters removed, spaces collapsed; ``None`` for empty / "no info"."""
    if text is None:
        return None
    s = unicodedata.normalize("NFC", str(text))
    s = _INVISIBLE.sub("", s)
    s = "\n".join(_SPACES.sub(" ", line).strip() for line in s.splitlines())
    s = re.sub(r"\n{2,}", "\n", s).strip()
    if not s or s.rstrip(".") == NO_INFO:
        return None
    return s


def clean_inline(text: Any) -> str | None:
    s = clean(text)
    return None if s is None else re.sub(r"\s+", " ", s)


def split_top_level(text: str | None, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside parentheses: 'Tổ chức (không bao gồm DN, HTX), Công dân'."""
    if not text:
        return []
    parts: list[str] = []
    depth = 0
    buf: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        if ch == sep and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    out: list[str] = []
    for p in parts:
        p = p.strip().rstrip(".;").strip()
        if p and p not in out:
            out.append(p)
    return out


def split_names(text: str | None) -> list[str]:
    """Split a list of agencies / groups: a comma starts a new item only before a capital.

    'Ủy ban Nhân dân xã, phường, thị trấn.' stays one item; 'Sở Tư pháp, Công an tỉnh' is two.
    """
    items: list[str] = []
    for part in split_top_level(text):
        if items and not part[:1].isupper():
            items[-1] = f"{items[-1]}, {part}"
        else:
            items.append(part)
    return items


# --- cách thức thực hiện -----------------------------------------------------------------

_METHOD_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
_CHANNELS = {"Trực tuyến": "online", "Dịch vụ bưu chính": "postal", "Trực tiếp": "direct"}
# A row starts with a channel label glued to the next cell (no space, not lower case).
_ROW_RE = re.compile(rf"(Trực tuyến|Dịch vụ bưu chính|Trực tiếp)(?=[\d{_UPPER}])")
_TIME_UNITS = {
    "ngày làm việc": "working_days",
    "ngày": "days",
    "tháng": "months",
    "năm": "years",
    "giờ": "hours",
}
_NUM = r"\d+(?:[.,]\d+)?"
_TIME_RE = re.compile(rf"(?P<num>{_NUM})\s?(?P<unit>Ngày làm việc|Ngày|Tháng|Năm|Giờ)?")
_FEE_RE = re.compile(
    r"(?P<fee>Miễn phí|Không có thông tin"
    r"|(?P<amount>\d{1,3}(?:,\d{3})+|\d+)?\s?(?P<cur>Việt Nam Đồng|VNĐ|USD|EUR))"
)


def _parse_amount(s: str) -> int:
    return int(s.replace(",", "").replace(".", ""))


def _balanced_paren(s: str) -> tuple[str | None, str]:
    """If ``s`` starts with '(', return (inside, rest) for the balanced group."""
    if not s.startswith("("):
        return None, s
    depth = 0
    for i, ch in enumerate(s):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return s[1:i], s[i + 1 :]
    return s[1:], ""


_NOTE_AMOUNT_RE = re.compile(
    r"(\d{1,3}(?:[.,]\d{3})+|\d+)\s?(?:đồng|đ|vnđ|VNĐ|Đ|VND)?\s?/\s?"
    r"([^\s,;.)(]+(?: [^\s,;.)(]+){0,3})",
)
_UNIT_STOP_RE = re.compile(r" (?:đối|trường|từ|kể|áp|theo|tối|nếu|và|hoặc|thu|trở)\b.*$")


def _unit(raw: str) -> str | None:
    unit = _UNIT_STOP_RE.sub("", raw.strip()).strip(" -+:")
    return unit or None


def _parse_fee(raw: str, note: str | None) -> tuple[Fee, list[str]]:
    problems: list[str] = []
    m = _FEE_RE.match(raw)
    assert m is not None
    text = m.group("fee")
    if text == "Miễn phí":
        return Fee(exempt=True, text="Miễn phí", notes=note), problems
    if text == NO_INFO:
        return Fee(text=None, notes=note), problems
    unit = None
    notes = note
    if note and note.startswith("/"):
        unit, notes = note[1:].strip() or None, None
    cur = m.group("cur")
    amount_s = m.group("amount")
    amount: int | None = None
    if amount_s and cur in ("Việt Nam Đồng", "VNĐ"):
        amount = _parse_amount(amount_s)
        if amount < 1000 and notes:
            # The portal sometimes drops the thousands ("100 VNĐ" with "100.000 đồng/lần" in
            # the note): trust the explicit amount in the note when it extends the cell's.
            nm = _NOTE_AMOUNT_RE.search(notes)
            if nm and _parse_amount(nm.group(1)) // 1000 == amount:
                problems.append(f"fee cell {text!r} corrected from its note")
                amount = _parse_amount(nm.group(1))
                unit = unit or _unit(nm.group(2))
    elif not amount_s:
        problems.append(f"fee without amount: {text!r}")
    if amount is not None and unit is None and notes:
        nm = _NOTE_AMOUNT_RE.search(notes)
        if nm and _parse_amount(nm.group(1)) == amount:
            unit = _unit(nm.group(2))
    full = text + (f"(/{unit})" if note and note.startswith("/") else "")
    return Fee(amount_vnd=amount, unit=unit, text=full, notes=notes), problems


def _split_glued(digits: str, cur: str, note: str | None) -> tuple[float, int, str | None] | None:
    """'120 VNĐ' with note '20.000 vnđ/tờ khai' -> (1 (bare time), 20000, 'tờ khai')."""
    if not note or cur not in ("Việt Nam Đồng", "VNĐ"):
        return None
    nm = _NOTE_AMOUNT_RE.search(note) or re.search(
        r"(\d{1,3}(?:[.,]\d{3})+)\s?(?:đồng|đ|vnđ|VNĐ)", note
    )
    if not nm:
        return None
    plain = digits.replace(",", "")
    full = _parse_amount(nm.group(1))
    unit = _unit(nm.group(2)) if nm.re is _NOTE_AMOUNT_RE else None
    for tail in (str(full), str(full // 1000)):
        if plain.endswith(tail) and len(plain) > len(tail) and plain[: -len(tail)].isdigit():
            return float(plain[: -len(tail)]), full, unit
    return None


def _parse_time(cell: str) -> ProcessingTime:
    cell = cell.strip()
    if not cell or cell == NO_INFO:
        return ProcessingTime()
    if cell.lower().startswith("trong ngày"):
        return ProcessingTime(value=None, unit="same_day", text=cell)
    m = _TIME_RE.fullmatch(cell)
    if m:
        value = float(m.group("num").replace(",", "."))
        unit = _TIME_UNITS[m.group("unit").lower()] if m.group("unit") else None
        return ProcessingTime(value=value, unit=unit, text=cell)  # type: ignore[arg-type]
    return ProcessingTime(text=cell)


def parse_methods(raw: Any) -> tuple[list[SubmissionMethod], list[str]]:
    s = clean_inline(raw)
    if s is None:
        return [], []
    problems: list[str] = []
    if not s.startswith(_METHOD_HEADER):
        return [], [f"cách thức thực hiện: unexpected header {s[:40]!r}"]
    body = s[len(_METHOD_HEADER) :]
    parts = _ROW_RE.split(body)
    if parts[0].strip():
        problems.append(f"cách thức thực hiện: text before first row {parts[0][:40]!r}")
    methods: list[SubmissionMethod] = []
    for label, row in zip(parts[1::2], parts[2::2], strict=False):
        # time cell = text up to the fee cell
        # "Không có thông tin" first is the time cell (the fee cell follows it)
        skip = len(NO_INFO) if row.startswith(NO_INFO) else 0
        fm = _FEE_RE.search(row, skip)
        if fm is None:
            problems.append(f"{label}: no fee cell in {row[:60]!r}")
            methods.append(
                SubmissionMethod(channel=_CHANNELS[label], label=label, description=row or None)  # type: ignore[arg-type]
            )
            continue
        time_cell = row[: fm.start()]
        fee_raw = row[fm.start() : fm.end()]
        rest = row[fm.end() :]
        # A bare time number glued to the fee amount ("120 VNĐ" = 1 + 20 VNĐ?) is ambiguous.
        if fm.group("amount") and not time_cell:
            note, rest = _balanced_paren(rest)
            split = _split_glued(fm.group("amount"), fm.group("cur"), clean_inline(note))
            if split is not None:
                value, amount, unit = split
                problems.append(
                    f"{label}: time and fee run together in {fee_raw!r}, split by its note"
                )
                methods.append(
                    SubmissionMethod(
                        channel=_CHANNELS[label],  # type: ignore[arg-type]
                        label=label,
                        processing_time=ProcessingTime(value=value, text=str(int(value))),
                        fee=Fee(amount_vnd=amount, unit=unit, text=None, notes=clean_inline(note)),
                        description=clean_inline(rest),
                    )
                )
                continue
            problems.append(f"{label}: time and fee run together in {fee_raw!r}")
            glued = f"Nguồn ghi liền thời hạn và phí, lệ phí: “{fee_raw}”"
            note = clean_inline(note)
            methods.append(
                SubmissionMethod(
                    channel=_CHANNELS[label],  # type: ignore[arg-type]
                    label=label,
                    processing_time=ProcessingTime(),
                    fee=Fee(text=None, notes=f"{glued}. {note}" if note else glued),
                    description=clean_inline(rest),
                )
            )
            continue
        note, rest = _balanced_paren(rest)
        note = clean_inline(note)
        if note and note.strip("() ") in ("Không có", "Không"):
            note = None
        fee, fee_problems = _parse_fee(fee_raw, note)
        problems += [f"{label}: {p}" for p in fee_problems]
        ptime = _parse_time(time_cell)
        if ptime.text and ptime.unit is None and ptime.value is None:
            problems.append(f"{label}: time not numeric {ptime.text!r}")
        methods.append(
            SubmissionMethod(
                channel=_CHANNELS[label],  # type: ignore[arg-type]
                label=label,
                processing_time=ptime,
                fee=fee,
                description=clean_inline(rest),
            )
        )
    if not methods:
        problems.append("cách thức thực hiện: no rows")
    return methods, problems


# --- thành phần hồ sơ ------------------------------------------------------------------

_DOC_TABLE_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
# "<n> bản chính[,<m> bản sao]" ends an entry when glued to what follows (the next entry, a
# section number "2. ..." or, after one space, a capitalised next entry).
_COUNT_RE = re.compile(
    r"(?<!\d)(\d+) bản chính(?:,\s?(\d+) bản sao)?"
    rf"(?![;.,:)])(?!\s(?![{_UPPER}]))(?!\d(?![.)]))"
)
_FORM_EXT = r"\.(?:docx|doc|pdf|xlsx|xls|rar|zip|DOCX|DOC|PDF)"
_FILE_RE = re.compile(rf"(.+?{_FORM_EXT})(?=.|$)", re.S)
_CONDITION_RE = re.compile(
    r"^(?:[-+*•]\s*)?((?:Trường hợp|Đối với|Nếu)\s[^,;:]{3,160}?)(?:,|\sthì\s|:|(?<!không)\sphải\s)"
)
_BULLET_RE = re.compile(
    r"^\s*(?:[-+*•]|\(\d+(?:\.\d+)*\)|\d+(?:\.\d+)*[.)]|[a-zđ][.)]|\([ivx]+\))\s*"
)


_NOTHING_RE = re.compile(r"^(?:không quy định|không có|không|do .{0,60} quy định)\.?$", re.I)


def _split_form_files(entry: str) -> tuple[str, list[str]]:
    """Separate trailing template file names ('...theo mẫuTK 1.001023 (all).docx')."""
    ext = re.search(_FORM_EXT + r"(?![a-z])", entry)
    if not ext:
        return entry, []
    # scan back from the extension for the start of the file-name cell: an upper-case
    # letter glued to the previous cell (lower-case letter, digit or punctuation, no space).
    start = None
    for i in range(ext.start() - 1, 0, -1):
        ch, prev = entry[i], entry[i - 1]
        nxt = entry[i + 1] if i + 1 < len(entry) else ""
        if ch.isupper() and (
            (not prev.isupper() and (prev.islower() or prev.isdigit() or prev in ";).:,"))
            # a capitalised word glued to an acronym: '...TT-BXDMẫu số 03.docx'
            or (prev.isupper() and nxt.islower() and i >= 2 and entry[i - 2].isupper())
        ):
            start = i
            break
    if start is None:
        start = 0
    name = entry[:start].strip()
    files_blob = entry[start:]
    files = [f.strip() for f in re.findall(rf".+?{_FORM_EXT}", files_blob)]
    tail = re.sub(rf".+?{_FORM_EXT}", "", files_blob).strip()
    if tail:
        name = f"{name} {tail}".strip()
    if not name:  # the whole entry was a file name: keep it as the name too
        name = files_blob
    return name, files


def _section_kind(title: str) -> tuple[str, str | None]:
    """Map a section title to (kind, condition): kind in submit/present/notes."""
    t = title.strip().strip("-*: ").strip()
    low = t.lower()
    if not t:
        return "submit", None
    if "lưu ý" in low[:12]:
        return "notes", None
    if "xuất trình" in low and len(t) < 60:
        return "present", None
    if ("phải nộp" in low or "thành phần hồ sơ" in low or low.startswith("hồ sơ")) and len(t) < 60:
        return "submit", None
    bare = _BULLET_RE.sub("", t).strip()
    if re.match(r"(?:Trường hợp|Đối với|Nếu|Khi)\s", bare, re.I):
        return "submit", bare
    if _BULLET_RE.match(t):
        return "submit", None  # a numbered group heading ("1. Đơn đề nghị ..."), not a case
    return "submit", t


def parse_documents(raw: Any) -> tuple[list[Document], list[str], list[str]]:
    """Returns (documents, notes, problems)."""
    s = clean_inline(raw)
    if s is None:
        return [], [], []
    problems: list[str] = []
    documents: list[Document] = []
    notes: list[str] = []
    if _DOC_TABLE_HEADER not in s:
        return [], [s] if len(s) < 2000 else [s[:2000]], ["thành phần hồ sơ: no table header"]
    chunks = s.split(_DOC_TABLE_HEADER)
    # chunk i (i>=1) holds the entries of section i; its title is the tail of chunk i-1
    # after that chunk's last count.
    titles: list[str] = []
    bodies: list[str] = []
    first = chunks[0]
    titles.append(first)
    for chunk in chunks[1:]:
        counts = list(_COUNT_RE.finditer(chunk))
        last = counts[-1] if counts else None
        if last is None:
            bodies.append("")
            titles.append(chunk)
            problems.append(f"thành phần hồ sơ: section without counts {chunk[:50]!r}")
            continue
        bodies.append(chunk[: last.end()])
        titles.append(chunk[last.end() :])
    if titles[-1].strip():
        problems.append(f"thành phần hồ sơ: trailing text {titles[-1][:50]!r}")
        notes.append(titles[-1].strip())
    # When no entry of the table has a count, "0 bản chính" means "count not stated" and the
    # entries are documents; otherwise 0/0 entries are the portal's way to add explanations.
    counted = any(
        int(m.group(1)) or int(m.group(2) or 0) for body in bodies for m in _COUNT_RE.finditer(body)
    )
    for title, body in zip(titles[:-1], bodies, strict=False):
        kind, section_cond = _section_kind(title)
        sub_cond: str | None = None
        pos = 0
        for m in _COUNT_RE.finditer(body):
            entry = body[pos : m.start()].strip()
            pos = m.end()
            originals = int(m.group(1))
            copies = int(m.group(2)) if m.group(2) is not None else None
            if not entry:
                problems.append("thành phần hồ sơ: empty entry")
                continue
            name, files = _split_form_files(entry)
            if kind == "notes":
                notes.append(_BULLET_RE.sub("", name).strip())
                continue
            if originals == 0 and not copies:
                heading = _BULLET_RE.sub("", name).strip()
                if heading.endswith(":") and re.match(r"(Trường hợp|Đối với|Nếu)\s", heading):
                    # a sub-heading: it conditions the entries that follow it
                    sub_cond = heading.rstrip(": ").strip()
                    continue
                if counted or _NOTHING_RE.match(heading) or heading.endswith(":"):
                    notes.append(heading)
                    continue
                originals = copies = None  # listed without a count
            cond_parts = [c for c in (section_cond, sub_cond) if c]
            cm = _CONDITION_RE.match(_BULLET_RE.sub("", name))
            if cm:
                cond_parts.append(cm.group(1).strip())
            documents.append(
                Document(
                    group=kind,  # type: ignore[arg-type]
                    name=_BULLET_RE.sub("", name).strip(),
                    originals=originals,
                    copies=copies,
                    form_name="; ".join(files) if files else None,
                    form_url=None,
                    condition="; ".join(dict.fromkeys(cond_parts)) or None,
                )
            )
    return documents, notes, problems


# --- căn cứ pháp lý -------------------------------------------------------------------

_LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"
_DOC_NUMBER = (
    rf"\d+(?:\.\d+)?/(?:\d{{4}}/)?[{_UPPER}0-9]+"
    rf"(?:-\s?(?:TTg|[{_UPPER}0-9]+)|/[{_UPPER}][{_UPPER}0-9]*)*"
)
_LEGAL_END_RE = re.compile(rf"{_DOC_NUMBER}(?=[{_UPPER}][{_LOWER}]|\s*$|“|\"|(?<=\d)[{_LOWER}])")
_GLUED_KIND_RE = re.compile(
    rf"(?<=[{_LOWER}.)])(?:Thông tư|Nghị định|Nghị quyết|Quyết định|Luật)(?: số)?$"
)
# Issuer suffixes of Vietnamese legal document numbers (…/TT-BCA, …/NĐ-CP, …/QĐ-TTg).
_ISSUERS = frozenset(
    [
        "BCA",
        "BTC",
        "BTP",
        "BXD",
        "BYT",
        "CP",
        "TTg",
        "NHNN",
        "BNNMT",
        "BNNPTNT",
        "BTNMT",
        "BGTVT",
        "BCT",
        "BKHĐT",
        "BNV",
        "BQP",
        "BLĐTBXH",
        "BVHTTDL",
        "BGDĐT",
        "BTTTT",
        "VPCP",
        "BKHCN",
        "BNG",
        "UBTVQH",
        "TANDTC",
        "VKSNDTC",
        "KTNN",
        "BDTTG",
        "UBDT",
    ]
)
_YEAR_END_RE = re.compile(r"(?:19|20)\d\d$")
_NUMBER_FULL_RE = re.compile(_DOC_NUMBER)


def _split_legal_pair(pair: str) -> int | None:
    """Where the number cell starts in '<title><number>' (both may contain the number).

    Preference: the title itself ends with the number ('Luật 60/2014/QH13' + '60/2014/QH13');
    then the longest number glued to a non-digit (at most 4 leading digits); then a split
    leaving a year at the end of the title ('... năm 2023' + '23/2023/QH15').
    """
    starts = [i for i in range(1, len(pair)) if _NUMBER_FULL_RE.fullmatch(pair[i:])]
    if not starts:
        return None
    for i in starts:
        if pair[:i].endswith(pair[i:]):
            return i
    for i in starts:
        lead = pair[i:].split("/", 1)[0].split(".", 1)[0]
        if not pair[i - 1].isdigit() and pair[i - 1] not in "/." and len(lead) <= 4:
            return i
    for i in starts:
        if _YEAR_END_RE.search(pair[:i]):
            return i
    return starts[0]


def parse_legal_basis(raw: Any) -> tuple[list[LegalDocument], list[str]]:
    s = clean_inline(raw)
    if s is None:
        return [], []
    problems: list[str] = []
    if s.startswith(_LEGAL_HEADER):
        s = s[len(_LEGAL_HEADER) :]
    out: list[LegalDocument] = []
    seen: set[tuple[str | None, str]] = set()
    pos = 0
    for m in _LEGAL_END_RE.finditer(s):
        if m.start() < pos:
            continue
        end = m.end()
        # The match may stop inside an issuer code: '…/TT-BC' + 'Ahông tư…' (a title starting
        # in lower case) or '…/QĐ-T' + 'Tg ngày…' (a number inside a title). Complete it from
        # the known issuers; a completed number followed by a space is part of a title.
        tail = re.split(r"[-/]", m.group(0))[-1]
        if tail not in _ISSUERS:
            for k in (1, 2, 3):
                if tail + s[end : end + k] in _ISSUERS:
                    end += k
                    break
            if end != m.end() and end < len(s) and s[end].isspace():
                continue
        pair = s[pos:end]
        pos = end
        split = _split_legal_pair(pair)
        if split is None:
            problems.append(f"căn cứ pháp lý: cannot split {pair[:60]!r}")
            continue
        title, number = pair[:split].strip(), pair[split:].strip()
        # a number cell written as 'Thông tư số 03/2023/TT-BTP' leaves its words on the title
        title = _GLUED_KIND_RE.sub("", title).strip() or title
        if not title:
            title = number
        key = (number, title)
        if key not in seen:
            seen.add(key)
            out.append(LegalDocument(number=number, title=title))
    rest = s[pos:].strip()
    if rest:
        problems.append(f"căn cứ pháp lý: unparsed {rest[:60]!r}")
        out.append(LegalDocument(number=None, title=rest))
    return out, problems


# --- kết quả ------------------------------------------------------------------------------

_RESULT_CODE_RE = re.compile(
    rf"Mã: ?[{_UPPER}0-9]+(?:[.\-][{_UPPER}0-9]+)*(?=[{_UPPER}][{_LOWER}]|Từ khóa|\s|$|\W)"
)


def parse_result(raw: Any) -> tuple[list[str], bool, list[str]]:
    """Returns (results, portal_offers_online_submission, problems)."""
    s = clean_inline(raw)
    if s is None:
        return [], False, []
    offers_submit = s.endswith("Nộp hồ sơ")
    head = s.split("Từ khóa", 1)[0]
    results: list[str] = []
    pos = 0
    for m in _RESULT_CODE_RE.finditer(head):
        item = head[pos : m.start()].strip(" .;")
        pos = m.end()
        if item and item != "..." and item not in results:
            results.append(item)
    tail = head[pos:].strip(" .;")
    problems: list[str] = []
    if tail and tail not in results:
        if pos == 0:
            results.append(tail)
        else:
            problems.append(f"kết quả: unparsed {tail[:60]!r}")
    return results, offers_submit, problems


# --- whole record ----------------------------------------------------------------------

KNOWN_FIELDS = {
    "ma_thu_tuc",
    "detail_url",
    "formality_id",
    "ten_thu_tuc",
    "so_quyet_dinh",
    "cap_thuc_hien",
    "loai_thu_tuc",
    "linh_vuc",
    "doi_tuong_thuc_hien",
    "co_quan_co_tham_quyen",
    "dia_chi_tiep_nhan",
    "co_quan_duoc_uy_quyen",
    "co_quan_phoi_hop",
    "thu_tuc_lien_quan",
    "trinh_tu_thuc_hien",
    "cach_thuc_thuc_hien",
    "thanh_phan_ho_so",
    "can_cu_phap_ly",
    "co_quan_thuc_hien",
    "yeu_cau_dieu_kien",
    "ket_qua_xu_ly",
    "_ministry_dir",
}
_CODE_RE = re.compile(r"^\d\.\d{6}$")
_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$")


def parse_steps(raw: Any) -> list[str]:
    s = clean(raw)
    if s is None:
        return []
    return [line.strip() for line in s.split("\n") if line.strip()]


def online_info(
    methods: list[SubmissionMethod],
    documents: list[Document],
    name: str,
    conditions: str | None,
    offers_submit: bool,
    url: str | None,
) -> OnlineInfo:
    """Derive online availability: the export has no explicit field, so stay conservative.

    ``none`` without a "Trực tuyến" row. ``full`` (toàn trình) only when the procedure's name,
    conditions or online-row description says "toàn trình" (and not "một phần"); otherwise
    ``partial``: the file can be submitted online but the record does not say the whole
    procedure is (papers may have to be shown, results collected in person). The submit link
    is the portal page when it offers "Nộp hồ sơ".
    """
    online = [m for m in methods if m.channel == "online"]
    if not online:
        return OnlineInfo(availability="none", submit_url=url if offers_submit else None)
    descriptions = " ".join(m.description or "" for m in online)
    text = f"{name} {conditions or ''} {descriptions}".lower()
    availability = "full" if "toàn trình" in text and "một phần" not in text else "partial"
    return OnlineInfo(availability=availability, submit_url=url if offers_submit else None)  # type: ignore[arg-type]
