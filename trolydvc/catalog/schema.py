"""Typed schema of one administrative procedure (thủ tục hành chính) in the catalog.

One YAML file per procedure under ``procedures_catalog/<field-slug>/<code>.yml`` holds exactly
the fields of :class:`Procedure`, in the declaration order below (stable diffs).

Field reference (all text is NFC Vietnamese as published; ``None`` / empty list = the national
database gives no value, never a guess):

``Procedure``
    code               national code, e.g. ``"1.001193"`` (mã thủ tục)
    name               official name (tên thủ tục)
    field              lĩnh vực, e.g. ``"Hộ tịch"``
    levels             cấp thực hiện, e.g. ``["Cấp xã"]`` (values: Cấp bộ, Cấp tỉnh, Cấp xã, Cơ quan khác)
    agencies           cơ quan thực hiện (implementing agencies)
    competent_authority cơ quan có thẩm quyền, if stated
    target_groups      đối tượng thực hiện, e.g. ``["Công dân Việt Nam", ...]``
    submission_methods list of :class:`SubmissionMethod` (one per row of the "cách thức thực hiện"
                       table; a channel may appear more than once, e.g. two fee rows for "Trực tiếp")
    documents          list of :class:`Document` (thành phần hồ sơ), groups ``submit`` / ``present``
    document_notes     the "Lưu ý" rows of the document table (free text, not documents)
    steps              trình tự thực hiện, one string per step/paragraph
    legal_basis        list of :class:`LegalDocument` (căn cứ pháp lý: number + title)
    result             kết quả thực hiện (list of result documents)
    conditions         yêu cầu, điều kiện (free text) or None
    online             :class:`OnlineInfo` (availability ``full`` | ``partial`` | ``none``, submit link);
                       derived (the export has no such field): ``full`` only when the record
                       says "toàn trình", ``partial`` for any other online row, see
                       :func:`trolydvc.catalog.parse.online_info`
    decision_number    số quyết định công bố, e.g. ``"163/QĐ-BTP"``
    source_url         the procedure's page on dichvucong.gov.vn
    source_date        ``"YYYY-MM"`` the data was published/crawled
    aliases            curated ways people say it ("làm giấy khai sinh"); kept across re-imports
    checklist          curated :class:`PaperOverride` entries for the short checklist of papers
                       (:mod:`trolydvc.catalog.guidance`) where the general rule is not good
                       enough; kept across re-imports, omitted from the file when empty

``SubmissionMethod``: channel ``direct`` | ``online`` | ``postal``; label (source text, e.g.
"Trực tiếp"); processing_time (:class:`ProcessingTime`); fee (:class:`Fee`); description.

``ProcessingTime``: value (float or None), unit ``working_days`` | ``days`` | ``months`` |
``years`` | ``hours`` | ``same_day`` | None, text (the source string, e.g. "1 Ngày làm việc").
A value with unit None means the portal gives a bare number without a unit (e.g. "1" for
đăng ký khai sinh): show it as written, do not invent the unit.

``Fee``: amount_vnd (int or None: None when the amount is not in VND or not stated),
unit (per what: "trang", "bản", "hồ sơ", ... or None), exempt (True for "Miễn phí"/"Không"),
text (source string, e.g. "2,000 Việt Nam Đồng(/trang)"), notes (longer fee description).

``Document``: group ``submit`` | ``present``; name; originals / copies (counts, None when not
stated); form_name / form_url (mẫu đơn, tờ khai); condition (e.g. "Trường hợp ủy quyền").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["direct", "online", "postal"]
TimeUnit = Literal["working_days", "days", "months", "years", "hours", "same_day"]
DocumentGroup = Literal["submit", "present"]
Availability = Literal["full", "partial", "none"]

CHANNEL_LABELS: dict[str, str] = {
    "direct": "Trực tiếp",
    "online": "Trực tuyến",
    "postal": "Dịch vụ bưu chính",
}
TIME_UNIT_LABELS: dict[str, str] = {
    "working_days": "ngày làm việc",
    "days": "ngày",
    "months": "tháng",
    "years": "năm",
    "hours": "giờ",
    "same_day": "trong ngày",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class ProcessingTime(_Model):
    value: float | None = None
    unit: TimeUnit | None = None
    text: str | None = None

    @property
    def stated(self) -> bool:
        return self.unit is not None


class Fee(_Model):
    amount_vnd: int | None = None
    unit: str | None = None
    exempt: bool = False
    text: str | None = None
    notes: str | None = None

    @property
    def stated(self) -> bool:
        return self.exempt or self.amount_vnd is not None or bool(self.text)


class SubmissionMethod(_Model):
    channel: Channel
    label: str
    processing_time: ProcessingTime = Field(default_factory=ProcessingTime)
    fee: Fee = Field(default_factory=Fee)
    description: str | None = None


class Document(_Model):
    group: DocumentGroup = "submit"
    name: str
    originals: int | None = None
    copies: int | None = None
    form_name: str | None = None
    form_url: str | None = None
    condition: str | None = None


class PaperOverride(_Model):
    """A curated short name and/or case for the document whose official name starts with
    ``starts_with`` (the first one that does), used by the checklist instead of the rule."""

    starts_with: str
    short: str | None = None  # "Giấy tờ tùy thân (CCCD, hộ chiếu…)"
    case: str | None = None  # "nếu cơ quan không tra cứu được nơi cư trú"; "" = no case (core)


class LegalDocument(_Model):
    number: str | None = None
    title: str


class OnlineInfo(_Model):
    availability: Availability = "none"
    submit_url: str | None = None


class Procedure(_Model):
    code: str
    name: str
    field: str | None = None
    levels: list[str] = Field(default_factory=list)
    agencies: list[str] = Field(default_factory=list)
    competent_authority: str | None = None
    target_groups: list[str] = Field(default_factory=list)
    submission_methods: list[SubmissionMethod] = Field(default_factory=list)
    documents: list[Document] = Field(default_factory=list)
    document_notes: list[str] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list)
    legal_basis: list[LegalDocument] = Field(default_factory=list)
    result: list[str] = Field(default_factory=list)
    conditions: str | None = None
    online: OnlineInfo = Field(default_factory=OnlineInfo)
    decision_number: str | None = None
    source_url: str | None = None
    source_date: str | None = None
    aliases: list[str] = Field(default_factory=list)
    checklist: list[PaperOverride] = Field(default_factory=list)

    # --- convenience for the dialogue -------------------------------------------------
    def methods(self, channel: Channel) -> list[SubmissionMethod]:
        return [m for m in self.submission_methods if m.channel == channel]

    @property
    def channels(self) -> list[str]:
        seen: list[str] = []
        for m in self.submission_methods:
            if m.channel not in seen:
                seen.append(m.channel)
        return seen

    def documents_in(self, group: DocumentGroup) -> list[Document]:
        return [d for d in self.documents if d.group == group]

    @property
    def is_free(self) -> bool | None:
        """True if every stated fee is exempt, False if some fee is charged, None if unknown."""
        stated = [m.fee for m in self.submission_methods if m.fee.stated]
        if not stated:
            return None
        return all(f.exempt for f in stated)
