"""A procedure's papers as a checklist, and its processing time with the unit its text states.

Derived from the catalog data by general rules (once per procedure, cached), with curated
overrides from the procedure's ``checklist`` entries in the YAML:

* every official document becomes a :class:`Paper` with a short name (the official name up to
  its first clause: "Giấy chứng sinh; trường hợp không có …" -> "Giấy chứng sinh") and, when
  it applies only in some case, that :class:`Case` ("nếu nhờ người khác nộp thay", "nếu nộp
  trực tuyến", "trẻ em bị bỏ rơi"), from the document's condition or a condition clause of its
  own text ("… trong trường hợp ủy quyền …", "(nếu … nộp hồ sơ theo hình thức trực tiếp)");
* papers are core (everyone submits them), for a case, or to show (xuất trình);
* :func:`stated_time` finds where the official text states a bare-number processing time with
  its unit ("Trong thời hạn 03 ngày làm việc kể từ …") and returns the phrase and its place.

Nothing here invents a fact: short names and case labels are cut from the official wording,
which stays available in full (the renderers show it one tap away).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

from trolydvc.catalog.schema import Document, Procedure, ProcessingTime, TimeUnit
from trolydvc.textnorm import fold

CaseKind = Literal["channel", "proxy", "other"]
CoreRule = Literal["plain", "common", "form", ""]
MAX_SHORT_NAME = 70  # one line of a phone screen
MAX_LONG_NAME = 160  # the personal checklist, a few lines only, says more
MAX_CASE_LABEL = 58


@dataclass(frozen=True)
class Case:
    key: str  # "online" | "direct" | "proxy" | "c1", "c2", … (stable for one catalog version)
    kind: CaseKind
    label: str  # short Vietnamese condition: "nếu nộp trực tuyến", "trẻ em bị bỏ rơi"
    channels: frozenset[str] = frozenset()  # kind "channel": the channels it applies to


@dataclass(frozen=True)
class Paper:
    doc: Document
    short: str
    case: Case | None
    long: str = ""  # the same first clause, cut later (MAX_LONG_NAME)
    # its case adds it to a dossier, it is not an alternative dossier: the case is in the
    # paper's own words ("Hợp đồng tặng cho đối với trường hợp tặng cho phần vốn góp") or under
    # a heading that says so ("Tùy từng trường hợp thì nộp thêm; Trường hợp …")
    added: bool = False

    @property
    def to_show(self) -> bool:
        return self.doc.group == "present"


@dataclass
class Checklist:
    papers: list[Paper] = field(default_factory=list)  # every official document, in order

    @property
    def core(self) -> list[Paper]:
        """Submitted by everyone (see :attr:`core_rule` for how they were found)."""
        return self._core[0]

    @property
    def core_rule(self) -> CoreRule:
        """How the core papers were found: "plain" papers without a condition; "common" to
        every alternative case; "form": only an application form of one kind every alternative
        case asks for (its own wording per case); "" none."""
        return self._core[1]

    @property
    def alternatives(self) -> list[Case]:
        """The alternative dossiers the data heads ("Trường hợp chuyển đổi …: …", or the
        submitter himself / someone for him), or the cases every paper is for: the citizen is
        in one of them, each has its own papers. Empty when there are papers without a
        condition (then a case adds papers)."""
        groups, stated = self._groups()
        # not stated as such, the cases are still alternatives when every paper handed in is
        # for one of them ("… đối với trường hợp khác" / "… đối với trường hợp kỷ luật")
        channel = any(p.case and p.case.kind == "channel" for p in self.papers if not p.to_show)
        if len(groups) < 2 or not (stated or not channel):
            return []
        return [case for key in groups if (case := self.case(key)) is not None]

    def _groups(self) -> tuple[dict[str, list[Paper]], bool]:
        """The submitted papers of each alternative case, and whether the data states them as
        alternatives. Those are the data's own headings ("Trường hợp chuyển đổi …: …") when it
        heads two or more (a paper added in its own words, "Hợp đồng tặng cho đối với trường
        hợp tặng cho …", is not an alternative), or one heading beside someone submitting for
        you ("tổ trưởng nộp" / "người được ủy quyền nộp"). Otherwise every case, as its papers
        say (not stated as alternatives)."""
        submitted = [p for p in self.papers if not p.to_show and p.case is not None]
        if any(not p.to_show and p.case is None for p in self.papers):
            return {}, False
        groups: dict[str, list[Paper]] = {}
        for p in submitted:
            if p.case and p.case.kind == "other" and not p.added:
                groups.setdefault(p.case.key, []).append(p)
        if len(groups) == 1:
            proxy = [p for p in submitted if p.case and p.case.kind == "proxy" and not p.added]
            if proxy:
                groups["proxy"] = proxy
        if len(groups) > 1:
            return groups, True
        groups = {}
        for p in submitted:
            if p.case and p.case.kind == "other":
                groups.setdefault(p.case.key, []).append(p)
        return groups, False

    @cached_property
    def _core(self) -> tuple[list[Paper], CoreRule]:
        plain = [p for p in self.papers if not p.to_show and p.case is None]
        if plain:
            return plain, "plain"
        groups = list(self._groups()[0].values())
        if len(groups) < 2:
            return [], ""
        first, rest = groups[0], groups[1:]
        common = [p for p in first if all(any(_same(p, q) for q in g) for g in rest)]
        common = [p for i, p in enumerate(common) if not any(_same(p, q) for q in common[:i])]
        if common:
            return common, "common"
        # every alternative asks for an application of one kind ("Văn bản đề nghị cấp đổi …" /
        # "Văn bản đề nghị của nhà đầu tư"; "Đơn đăng ký dự thi" / "Đơn đề nghị cấp …"): that
        # much is common, named by the kind's words all of them begin with, never more ("Đơn đề
        # nghị cấp …" / "Đơn đề nghị cấp lại …" is "Đơn đề nghị", not "Đơn đề nghị cấp")
        kinds = [
            [(p, m.group(0)) for p in g if (m := _APPLICATION.match(fold(p.short)))] for g in groups
        ]
        if not all(kinds):
            return [], ""
        paper, kind = kinds[0][0]
        words = paper.short.split()[: len(kind.split())]
        for g in kinds[1:]:
            words = words[: max(len(_common_words(words, p.short)) for p, _ in g)]
        named = " ".join(words)
        if not _APPLICATION.fullmatch(fold(named)):
            return [], ""
        doc = paper.doc.model_copy(update={"originals": None, "copies": None})
        named += " (mẫu theo trường hợp)"
        paper = replace(paper, doc=doc, short=named, long=named)
        return [paper], "form"

    @property
    def single_case(self) -> Case | None:
        """The one case every submitted paper is conditioned on, if there is exactly one."""
        cases = {p.case.key: p.case for p in self.papers if not p.to_show and p.case}
        others = [c for c in cases.values() if c.kind == "other"]
        return others[0] if len(cases) == 1 and len(others) == 1 else None

    @property
    def by_channel(self) -> list[Paper]:
        """Submitted by everyone who uses a given channel (a form for paper, one online)."""
        return [p for p in self.papers if not p.to_show and p.case and p.case.kind == "channel"]

    @property
    def to_show(self) -> list[Paper]:
        return [p for p in self.papers if p.to_show]

    @property
    def special(self) -> list[Paper]:
        """Papers for a case other than the channel (someone submits for you, a situation)."""
        return [p for p in self.papers if p.case is not None and p.case.kind != "channel"]

    @property
    def cases(self) -> list[Case]:
        """The distinct cases, in order of first appearance (channel cases included)."""
        seen: dict[str, Case] = {}
        for paper in self.papers:
            if paper.case is not None and paper.case.key not in seen:
                seen[paper.case.key] = paper.case
        return list(seen.values())

    def case(self, key: str) -> Case | None:
        return next((c for c in self.cases if c.key == key), None)

    def papers_of(self, key: str) -> list[Paper]:
        return [p for p in self.papers if p.case is not None and p.case.key == key]


def _same(a: Paper, b: Paper) -> bool:
    """Two cases' papers are the same paper: the same form file, the same short name, or one
    short name begins the other with five words or more (one was cut: "… khoáng sản trong đó
    nêu…" / "… khoáng sản")."""
    if a.doc.form_url and a.doc.form_url == b.doc.form_url:
        return True
    x, y = fold(a.short).rstrip("…").split(), fold(b.short).rstrip("…").split()
    n = min(len(x), len(y))
    return x == y or (n >= 5 and x[:n] == y[:n])


def _common_words(words: list[str], other: str) -> list[str]:
    common = []
    for w, v in zip(words, other.rstrip("…").split(), strict=False):
        if fold(w) != fold(v):
            break
        common.append(w)
    return common


# the application every alternative asks for, by its kind
_APPLICATION = re.compile(
    r"^(?:don(?: de nghi| dang ky)?|to khai|(?:giay|van ban|phieu|ban|cong van) de nghi|to trinh"
    r"|(?:giay|van ban|ban) dang ky|thong bao)\b"
)


# --- conditions ------------------------------------------------------------------------
_LEAD = re.compile(
    r"^[\s\-+*•(]*(?:đối với trường hợp|trong trường hợp|trường hợp|đối với|nếu)\s+(?P<cond>.+?)"
    r"(?:\s+thì\b|,|:|(?<!không)\s+(?:phải|cần)\s|\s+hồ sơ gồm\b|$)(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_PAREN = re.compile(
    r"\((?:[^()]*?,\s*)?(?:nếu|trong trường hợp|đối với trường hợp|trường hợp|áp dụng)\s+"
    r"(?P<cond>[^()]+)\)",
    re.IGNORECASE,
)
# "… còn giá trị sử dụng đối với người đã được cấp hộ chiếu": who the paper is for
_INLINE = re.compile(
    r"\s(?:trong trường hợp|đối với trường hợp|nếu|đối với (?=(?:người|trẻ em|công dân)\s))"
    r"\s*(?P<cond>[^;.()]+)",
    re.IGNORECASE,
)
# "Đối với trường hợp chấp thuận thay đổi, bổ sung …: 1. Đơn đề nghị …": the case runs to the
# colon when nothing before it says what to do ("thì", "phải", "cần", "nộp", "gửi") and a paper,
# not another case, follows it
_COLON_LEAD = re.compile(
    r"^[\s\-+*•(]*(?:đối với trường hợp|trong trường hợp|trường hợp)\s+"
    r"(?P<cond>(?:(?!\b(?:thì|phải|cần|nộp|gửi)\b)[^:;.])+?)(?:,?\s+hồ sơ\s+(?:bao\s+)?gồm)?\s*:\s*"
    r"(?!(?:(?:\d{1,2}|[a-zđ])[.)]\s+)?(?:[-+*•(]|(?:đối với|trong trường hợp|trường hợp|nếu|ngoài)\b))"
    r"(?:(?:\d{1,2}|[a-zđ])[.)]\s+)?(?P<rest>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)
_CLAUSE_END = re.compile(r";|\.\s|\.$")
_VERBS = r"(?:có|nộp lại|nộp|kèm theo|bổ sung|gửi kèm|xuất trình)"
_REST_VERB = re.compile(rf"^\s*(?:thì\s+)?(?:(?:phải|cần)\s+)?(?:{_VERBS}\s+)?", re.IGNORECASE)
# "…, kèm theo hồ sơ … phải có bản sao X": the paper is what must be had
_MUST_HAVE = re.compile(rf"\b(?<!không )(?:phải|cần)\s+{_VERBS}\s+(?P<paper>.+)$", re.IGNORECASE)
# "(sau đây gọi tắt là giấy tờ tùy thân)": the official text names the paper itself
_CALLED = re.compile(r"\(sau đây gọi (?:tắt )?là ([^()]{3,60})\)", re.IGNORECASE)


def _first_clause(text: str) -> str:
    m = _CLAUSE_END.search(text)
    return text[: m.start()] if m else text


def _condition_in(name: str) -> tuple[str | None, str]:
    """(condition clause, the name without a leading condition) from a document's own text."""
    first = _first_clause(name)
    if m := _COLON_LEAD.match(name):
        return m.group("cond").strip(), m.group("rest")
    if m := _LEAD.match(first):
        rest = m.group("rest")
        rest = must.group("paper") if (must := _MUST_HAVE.search(rest)) else rest
        rest = _REST_VERB.sub("", rest).strip(" ,:")
        tail = name[len(first) :]
        return m.group("cond").strip(), (rest + tail) if rest else name
    if m := _PAREN.search(first):
        return m.group("cond").strip(), name
    # a parenthesis later in the text that names the channel still conditions the paper
    # ("Tờ khai … theo mẫu, có đủ thông tin … (nếu … nộp hồ sơ theo hình thức trực tiếp)")
    for m in _PAREN.finditer(name):
        if _channels(fold(m.group("cond"))):
            return m.group("cond").strip(), name
    if m := _INLINE.search(first):
        return m.group("cond").strip(), name
    return None, name


_ONLINE_WORDS = r"(?:truc tuyen|qua mang|(?:moi truong|phuong thuc|hinh thuc) dien tu|dich vu cong)"
_ONLINE = re.compile(rf"\b{_ONLINE_WORDS}\b")
# "hồ sơ không được gửi trên môi trường điện tử": on paper, in person or by post
_NOT_ONLINE = re.compile(rf"\bkhong (?:\w+ ){{0,4}}{_ONLINE_WORDS}\b")
_DIRECT = re.compile(r"(?<!khong )\btruc tiep\b")  # "không trực tiếp thực hiện": not a channel
_POSTAL = re.compile(r"\bbuu chinh\b")
_SUBMIT = re.compile(r"\b(?:nop|gui|hinh thuc|phuong thuc|dang ky|thuc hien)\b")
# "người nộp thuế không trực tiếp thực hiện thủ tục": someone else does it for them
_PROXY = re.compile(
    r"\buy quyen\b|\bkhong truc tiep (?:thuc hien thu tuc|nop|di nop)\b|\bthong qua nguoi dai dien\b"
)


def _channels(folded: str) -> frozenset[str]:
    if not _SUBMIT.search(folded):
        return frozenset()
    found = set()
    if _NOT_ONLINE.search(folded):
        found |= {"direct", "postal"}
    elif _ONLINE.search(folded):
        found.add("online")
    if _DIRECT.search(folded):
        found.add("direct")
    if _POSTAL.search(folded):
        found.add("postal")
    if found == {"online", "direct", "postal"}:
        return frozenset()  # every channel: not a condition on the channel
    return frozenset(found)


_CHANNEL_LABEL = {
    frozenset({"online"}): ("online", "nếu nộp trực tuyến"),
    frozenset({"direct"}): ("direct", "nếu nộp trực tiếp"),
    frozenset({"postal"}): ("postal", "nếu gửi qua bưu chính"),
    frozenset({"direct", "postal"}): ("direct", "nếu nộp trực tiếp hoặc qua bưu chính"),
    frozenset({"online", "postal"}): ("online", "nếu nộp trực tuyến hoặc qua bưu chính"),
    frozenset({"online", "direct"}): ("direct", "nếu nộp trực tiếp hoặc trực tuyến"),
}
PROXY_LABEL = "nếu nhờ người khác nộp thay (ủy quyền)"
_LABEL_LEAD = re.compile(
    r"^(?:đối với trường hợp|trong trường hợp|trường hợp|đối với|nếu|khi)\s+", re.IGNORECASE
)


def clip_words(text: str, limit: int) -> str:
    """The text cut at a word boundary to at most ``limit`` characters (… when cut)."""
    text = " ".join(text.split()).strip(" ,;:.")
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:(")
    return cut + "…"


_LINKS = frozenset(["cho", "vào", "tại", "ở", "đối", "với", "của"])


def _without_name_words(label: str, proc_name: str) -> str:
    """The label without the end of the procedure's own name it starts with: for "Đăng ký
    thường trú", "đăng ký thường trú vào chỗ ở hợp pháp …" is "chỗ ở hợp pháp …"; for
    "Đăng ký khai sinh", "khai sinh cho trẻ em sinh ra do mang thai hộ" is "trẻ em sinh ra …"."""
    name = fold(re.sub(r"^thủ tục\s+", "", proc_name, flags=re.IGNORECASE)).split()
    words = label.split()
    folded = [fold(w) for w in words]
    for k in range(len(name), 1, -1):
        if folded[:k] == name[-k:] and len(words) > k + 1 and fold(words[k]) != "theo":
            rest = words[k:]
            while len(rest) > 2 and rest[0].lower() in _LINKS:
                rest = rest[1:]
            return " ".join(rest)
    return label


# "Đăng ký tạm trú theo danh sách, hồ sơ gồm": the heading's end says nothing of the case
_HEADING_END = re.compile(
    r"[,;:]?\s*(?:thì\s+)?(?:hồ sơ\s+)?(?:bao\s+)?gồm(?:\s+có)?\s*:?\s*$", re.I
)


# "Tùy từng trường hợp thì nộp thêm", "… thì ngoài các tài liệu quy định tại …, hồ sơ còn phải
# có": papers added to a dossier, not an alternative one
_ADDITIVE = re.compile(
    r"\b(?:nop them|ngoai (?:cac |nhung )?(?:giay to|tai lieu|ho so|thanh phan|chung tu)\b.{0,120}"
    r"\bcon phai|bo sung them)\b"
)


# "Hồ sơ đăng ký doanh nghiệp phải kèm theo bản sao thẻ Căn cước …": attached to a dossier
_ATTACHED = re.compile(r"\b(?:phai kem theo|kem theo ho so)\b")


def _adds(condition: str) -> bool:
    """Does the data's condition add papers to a dossier rather than head one: an additive
    heading, or a case nested under someone submitting for you or a channel ("Trường hợp ủy
    quyền thực hiện thủ tục thì hồ sơ phải kèm theo …; Trường hợp chưa có tài khoản định danh
    điện tử …")?"""
    parts = _parts(condition)
    top = fold(parts[0]) if parts else ""
    if _ADDITIVE.search(top):
        return True
    return len(parts) > 1 and bool(_PROXY.search(top) or _channels(top))


def _case_of(condition: str, proc_name: str = "") -> tuple[CaseKind, str, frozenset[str]]:
    """Kind, label and channels of a condition ("Trường hợp ủy quyền …; Trường hợp …")."""
    parts = [p.strip() for p in condition.split(";") if p.strip()] or [condition]
    last = parts[-1]
    folded = fold(last)
    if _PROXY.search(folded):
        return "proxy", PROXY_LABEL, frozenset()
    # the channel is the case when the condition is short, or names it first ("Trường hợp nộp
    # trực tuyến dưới dạng sử dụng chữ ký số …, nhà đầu tư thực hiện theo quy định tại Điều 80 …")
    channels = _channels(folded)
    if not channels or len(folded.split()) > 25:
        channels = _channels(" ".join(folded.split()[:8]))
    if channels:
        return "channel", _CHANNEL_LABEL[channels][1], channels
    # A nested condition ("Đăng ký … tại cơ sở tôn giáo; Trường hợp quy định tại điểm d …")
    # belongs to the case of its first part, unless that part is about a proxy or a channel.
    top = parts[0]
    if not (_PROXY.search(fold(top)) or _channels(fold(top)) or _ADDITIVE.search(fold(top))):
        last = top
    label = _HEADING_END.sub("", _LABEL_LEAD.sub("", last).strip())
    label = _without_name_words(label, proc_name)
    label = label[:1].lower() + label[1:] if label[1:2].islower() else label
    return "other", label, frozenset()  # clipped by _checklist, after _distinct


# --- short names -----------------------------------------------------------------------
_CUT = re.compile(
    r"\s\((?!mẫu\b)|;|\.\s|\.$|:|\s(?:theo mẫu|theo quy định|trong trường hợp|đối với trường hợp"
    r"|nếu|trường hợp)\b|,\s(?:trường hợp|trừ|nếu)\b"
    # a form's file name glued to the text: "Bản đăng ký thu hồi khoáng sảnMau 03 - Phu luc III"
    r"|(?-i:(?<=[a-zà-ỹđ])(?=M(?:au|ẫu)\b))",
    re.IGNORECASE,
)
_FORM = re.compile(r"\(\s*(?:theo\s+)?mẫu\s+(?:số\s+)?([A-Z0-9][\w./-]*)", re.IGNORECASE)
# bullets and list numbers the national text keeps: "- ", "+ ", "! ", "\uf0fc", "a) ", "(1) ", "1.2) "
_NUMBER = r"(?:[a-zđ]\d?|\d{1,2}(?:\.\d)?|[ivx]+)"
_BULLET = re.compile(rf"^(?:[^\w(]+|\({_NUMBER}\)\s*|{_NUMBER}\)\s+)+", re.IGNORECASE)
_SHORT_PAREN = re.compile(r"^\s\(([^()]{1,25})\)")


def short_name(name: str, limit: int = MAX_SHORT_NAME) -> str:
    """The official name up to its first clause, a short parenthesis and a form number kept:
    "Văn bản ủy quyền (được chứng thực) theo quy định …" -> "Văn bản ủy quyền (được chứng
    thực)"; "Tờ khai … (mẫu CT01 ban hành kèm theo …)" -> "Tờ khai … (mẫu CT01)"."""
    text = _BULLET.sub("", " ".join(name.split()))
    if called := _CALLED.search(text):
        named = called.group(1).strip()
        return clip_words(named[:1].upper() + named[1:], limit)
    m = _CUT.search(text)
    head = text[: m.start()] if m else text
    rest = text[len(head) :]
    if (p := _SHORT_PAREN.match(rest)) and not re.search(r"\b(?:nếu|trường hợp)\b", p.group(1)):
        head += f" ({p.group(1)})"
    elif form := _FORM.search(text[: len(head) + 40]):
        head = _FORM.split(head)[0].rstrip() if _FORM.search(head) else head
        head += f" (mẫu {form.group(1).rstrip('.,;')})"
    head = head.strip(" ,;:")
    if not head:
        head = text
    return clip_words(head[:1].upper() + head[1:], limit)


# --- the checklist ---------------------------------------------------------------------
# "Trường hợp …", "Đối với …", "(nếu …)", "a) Khi …": a condition that reads as a case
_CASE_WORDS = re.compile(
    r"^[\W\d]*(?:[a-z]\d?[.)]\s*)?(?:cac |trong |doi voi )?(?:truong hop|doi voi|neu|khi)\b"
)


def _reads_as_case(part: str) -> bool:
    folded = fold(part)
    return bool(_CASE_WORDS.match(folded) or _PROXY.search(folded) or _channels(folded))


def _parts(condition: str) -> list[str]:
    return [p.strip() for p in condition.split(";") if p.strip()]


def _heading(proc: Procedure) -> str | None:
    """The heading the procedure's documents are listed under, if the data has one: a condition
    whose first part does not read as a case ("Hồ sơ gồm bản sao … các giấy tờ sau", "Theo quy
    định tại Điều 47 Luật …, cụ thể", "Thủ tục hải quan đối với …") and that either every
    submitted document sits under, or that repeats the procedure's own name ("Đăng ký thành
    lập công ty TNHH một thành viên" beside its "Trường hợp …" cases). It names the dossier, not
    a case. Two such headings are alternatives ("Hồ sơ đề nghị cấp …" / "Hồ sơ đề nghị cấp lại
    …"), and so is one over only some papers ("Ngoài hồ sơ … tùy từng trường hợp phải nộp
    thêm", "Công dân đã được cấp thẻ …" beside "Trường hợp công dân chưa được cấp …")."""
    firsts = [
        _parts(doc.condition)[0] if doc.condition and _parts(doc.condition) else None
        for doc in proc.documents
        if doc.group != "present"
    ]
    unmarked = {fold(f) for f in firsts if f and not _reads_as_case(f)}
    if len(unmarked) != 1:
        return None
    heading = unmarked.pop()
    if all(f is not None and fold(f) == heading for f in firsts):
        return heading
    name = fold(re.sub(r"^thủ tục\s+", "", proc.name.strip(), flags=re.IGNORECASE))
    bare = re.sub(
        r"^(?:ho so|thanh phan ho so|thu tuc)\s+|[\s,:]*(?:ho so\s+)?(?:bao )?gom$", "", heading
    )
    return heading if bare == name else None


# "(Trường hợp khai thác, sử dụng được thông tin … thì hồ sơ không bao gồm bản sao của các
# giấy tờ này)", "(Miễn nộp các tài liệu nếu không có sự thay đổi …)": a note on what may be left
# out, not a case the papers are for (the note stays in the official wording, one tap away)
_EXEMPTION = re.compile(
    r"^\(?\s*mien nop\b|\bthi (?:ho so(?: [\w ]{0,40})? )?(?:khong bao gom|khong (?:phai|yeu cau|can) nop)\b"
)


# "Bao gồm", "Nhóm 1 gồm các văn bản, tài liệu sau", "Trong phiếu nêu rõ mục đích …": a heading
# over part of the one dossier or a note on what the paper says, not a case (the căn cước /
# khai thác thông tin and tố cáo records, each checked)
_NOT_A_CASE = re.compile(
    r"^(?:(?:ho so |thanh phan ho so )?(?:bao )?gom\s*:?\s*$|nhom \d+ gom\b|trong phieu\b)"
)
# "Phiếu được tạo lập khi trích xuất thông tin … in trong quá trình thu nhận hồ sơ căn cước để
# công dân kiểm tra và ký xác nhận": how the Phiếu thu nhận thông tin căn cước (CC01) comes about,
# for everyone. Only on that paper: 2.001194 repeats the note on its DC02, the e-form of online
# submission in every other căn cước record, which stays where the data puts it.
_RECEIPT_NOTE = re.compile(r"^phieu duoc tao lap\b.*\bthu nhan\b")
_RECEIPT_FORM = re.compile(r"^phieu thu nhan\b")


def _stated_case(condition: str | None, heading: str | None, name: str = "") -> str | None:
    """The condition without the procedure's heading, exemption notes and notes on the paper
    ``name`` (None when nothing else is left)."""
    if not condition:
        return condition
    parts = _parts(condition)
    if parts and heading is not None and fold(parts[0]) == heading:
        parts = parts[1:]
    receipt = bool(_RECEIPT_FORM.match(fold(name)))
    parts = [
        p
        for p in parts
        if not (
            _EXEMPTION.search(fold(p))
            or _NOT_A_CASE.search(fold(p))
            or (receipt and _RECEIPT_NOTE.search(fold(p)))
        )
    ]
    return "; ".join(parts) or None


def _checklist(proc: Procedure) -> Checklist:
    overrides = list(proc.checklist)
    other_keys: dict[str, str] = {}  # label -> c1, c2, …
    papers: list[Paper] = []
    # only the data's own conditions: one found in a document's text always reads as a case
    heading = _heading(proc)
    for doc in proc.documents:
        own, rest = _condition_in(doc.name)
        stated = _stated_case(doc.condition, heading, doc.name)
        condition = stated or own
        short, long = short_name(rest), short_name(rest, MAX_LONG_NAME)
        case: Case | None = None
        label_override: str | None = None
        for ov in overrides:
            if fold(doc.name).startswith(fold(ov.starts_with)):
                short = long = ov.short or short
                label_override = ov.case
                break
        if label_override == "" or (condition and fold(condition).strip(" )") == "co"):
            condition = None  # "(nếu có)": the paper if one has it, not a case
        if condition or label_override:
            kind, label, channels = _case_of(condition or label_override or "", proc.name)
            label = label_override or label  # the curated wording, same kind of case
            if kind == "proxy":
                case = Case("proxy", kind, label)
            elif kind == "channel":
                case = Case(_CHANNEL_LABEL[channels][0], kind, label, channels)
            else:
                key = other_keys.setdefault(label, f"c{len(other_keys) + 1}")
                case = Case(key, kind, label)
        added = case is not None and (
            not stated or _adds(stated) or bool(_ATTACHED.search(fold(doc.name)))
        )
        papers.append(Paper(doc, short, case, long, added=added))
    labels = _distinct(list(other_keys))
    return Checklist(
        [
            replace(p, case=replace(p.case, label=labels[p.case.label]))
            if p.case is not None and p.case.kind == "other"
            else p
            for p in papers
        ]
    )


def _distinct(labels: list[str]) -> dict[str, str]:
    """Each case label, without the words all of them begin with ("thực hiện thủ tục đăng ký,
    cấp Giấy chứng nhận cho hộ gia đình …" / "… lần đầu …": what tells them apart), clipped."""
    words = [label.split() for label in labels]
    common = 0
    if len(words) > 1:
        while all(len(w) > common + 2 for w in words) and len({w[common] for w in words}) == 1:
            common += 1
    out = {}
    for label, split in zip(labels, words, strict=True):
        rest = split[common:] if common >= 3 else split
        while len(rest) > 2 and rest[0].lower() in _LINKS:
            rest = rest[1:]
        out[label] = clip_words(" ".join(rest), MAX_CASE_LABEL)
    return out


_cache: dict[str, tuple[Procedure, Checklist]] = {}
_lock = threading.Lock()


def checklist(proc: Procedure) -> Checklist:
    """The procedure's checklist (derived once per loaded procedure, then cached)."""
    cached = _cache.get(proc.code)
    if cached is not None and cached[0] is proc:
        return cached[1]
    result = _checklist(proc)
    with _lock:
        _cache[proc.code] = (proc, result)
    return result


# --- the personal checklist: the case the citizen is in --------------------------------
@dataclass(frozen=True)
class Situation:
    """The citizen's answers: channel ("online" | "direct" | "postal"), whether someone else
    submits for them, and which other case applies ("" = none of them)."""

    channel: str | None = None
    proxy: bool | None = None
    other: str | None = None

    def encode(self) -> str:
        parts = ["ask"]
        if self.channel:
            parts.append(f"ch={self.channel}")
        if self.proxy is not None:
            parts.append(f"px={int(self.proxy)}")
        if self.other is not None:
            parts.append(f"sc={self.other or '-'}")
        return ";".join(parts)

    @classmethod
    def decode(cls, value: str) -> Situation | None:
        """The situation of a ``case`` value "ask;ch=online;px=0", None for other values."""
        parts = value.split(";")
        if parts[0] != "ask":
            return None
        found: dict[str, str] = {}
        for part in parts[1:]:
            key, _, val = part.partition("=")
            found[key] = val
        channel = found.get("ch") if found.get("ch") in ("online", "direct", "postal") else None
        proxy = {"1": True, "0": False}.get(found.get("px", ""))
        other = found.get("sc")
        return cls(channel, proxy, None if other is None else ("" if other == "-" else other))


def questions_needed(cl: Checklist, proc: Procedure) -> list[str]:
    """Which of "channel", "proxy", "other" decide this procedure's papers."""
    needed = []
    if any(p.case and p.case.kind == "channel" for p in cl.papers) and len(proc.channels) > 1:
        needed.append("channel")
    if any(p.case and p.case.kind == "proxy" for p in cl.papers):
        needed.append("proxy")
    if any(p.case and p.case.kind == "other" for p in cl.papers):
        needed.append("other")
    return needed


def papers_for_everyone(cl: Checklist, proc: Procedure) -> bool:
    """Does the checklist name what every citizen hands in: core papers (:attr:`Checklist.
    core_rule` says how they were found), or a paper for each of the in-person and online
    channels the procedure has (the paper form or the e-form), or, where the data lists only
    papers to show, those without a condition? Postal is left out: the hộ tịch records name
    their paper form for "trực tiếp" only."""
    if cl.core:
        return True
    if not any(not p.to_show for p in cl.papers):
        return any(p.case is None for p in cl.to_show)
    covered = {c for p in cl.by_channel if p.case for c in p.case.channels}
    return bool(covered) and set(proc.channels) - {"postal"} <= covered


def applies(paper: Paper, situation: Situation) -> bool:
    case = paper.case
    if case is None:
        return True
    if case.kind == "channel":
        return situation.channel is None or situation.channel in case.channels
    if case.kind == "proxy":
        return bool(situation.proxy)
    return situation.other == case.key


# --- processing time with its unit -----------------------------------------------------
_TIME_PHRASE = re.compile(
    r"(?P<num>\d{1,3})\s*(?:\([^)]{1,20}\)\s*)?(?P<unit>ngày làm việc|ngày|giờ làm việc|giờ|tháng)"
    r"(?!\s*(?:/|tuổi|kể từ ngày hết))",
    re.IGNORECASE,
)
_NEXT_WORKING_DAY = re.compile(r"ngày làm việc tiếp theo", re.IGNORECASE)
_UNITS: dict[str, TimeUnit] = {
    "ngày làm việc": "working_days",
    "ngày": "days",
    "giờ làm việc": "hours",
    "giờ": "hours",
    "tháng": "months",
}


@dataclass(frozen=True)
class StatedTime:
    value: float
    unit: TimeUnit
    quote: str  # the sentence part that states it
    place: str  # "Trình tự thực hiện", "Yêu cầu, điều kiện", …


def _sentence(text: str, start: int, end: int, limit: int = 160) -> str:
    """The words around text[start:end], from the start of its sentence when it is near, with
    "…" where the quote cuts the official text (it must never look complete when it is not)."""
    dot, semi = text.rfind(". ", 0, start), text.rfind("; ", 0, start)
    line = text.rfind("\n", 0, start)
    left = max(dot, semi, line)
    cut_left = left == semi and left >= 0  # "…; nếu tiếp nhận hồ sơ sau 15 giờ thì …"
    left = 0 if left < 0 else left + 1
    if start - left > limit // 2:
        left = text.rfind(" ", 0, start - limit // 2) + 1
        cut_left = True
    stops = [
        i for i in (text.find(". ", end), text.find("; ", end), text.find("\n", end)) if i >= 0
    ]
    right = min(stops) if stops else len(text)
    right = min(right, end + limit // 2)
    quote = " ".join(text[left:right].split()).strip(" ,;:-+*•")
    if right < len(text) and text[right] not in ".;\n":
        quote += "…"
    return "…" + quote if cut_left else quote[:1].upper() + quote[1:]


def _texts(proc: Procedure) -> list[tuple[str, str]]:
    places = [("Trình tự thực hiện", step) for step in proc.steps]
    places += [("Cách thức thực hiện", m.description or "") for m in proc.submission_methods]
    places.append(("Yêu cầu, điều kiện", proc.conditions or ""))
    places += [("Thành phần hồ sơ, lưu ý", note) for note in proc.document_notes]
    return [(place, text) for place, text in places if text]


def stated_time(proc: Procedure, pt: ProcessingTime) -> StatedTime | None:
    """Where the official text states the unit of a bare-number time (``pt.unit`` None): the
    phrases with that number, only when all of them give the same unit (never a guess)."""
    found = stated_times(proc, pt)
    if not found or len({f.unit for f in found}) > 1:
        return None
    return found[0]


def stated_times(proc: Procedure, pt: ProcessingTime) -> list[StatedTime]:
    """Every phrase of the official text that states a bare-number time's number with a
    unit, in the order of the text (empty for a time that has its unit)."""
    if pt.unit is not None or pt.value is None:
        return []
    found: list[StatedTime] = []
    for place, text in _texts(proc):
        for m in _TIME_PHRASE.finditer(text):
            if float(m.group("num")) != pt.value:
                continue
            unit = _UNITS[m.group("unit").lower()]
            found.append(StatedTime(pt.value, unit, _sentence(text, m.start(), m.end()), place))
        if pt.value == 1:  # "… trả kết quả … trong ngày làm việc tiếp theo": one working day
            for m in _NEXT_WORKING_DAY.finditer(text):
                quote = _sentence(text, m.start(), m.end())
                if "kết quả" in quote.lower():
                    found.append(StatedTime(1, "working_days", quote, place))
    return found
