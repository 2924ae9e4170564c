"""Parsing of the values one-stop-shop exports contain: statuses, channels, dates.

- ``parse_status(text) -> str``: ``received``/``Mới tiếp nhận``/... -> a ``DossierStatus`` value.
- ``parse_channel(text) -> str``: ``direct``/``Trực tiếp``/... -> a ``Channel`` value.
- ``parse_datetime(value) -> datetime | None``: ``YYYY-MM-DD`` or ``DD/MM/YYYY`` with an optional
  time (before or after the date), ISO 8601 with an offset, or epoch milliseconds; aware values are
  converted to Vietnam wall-clock time (UTC+7) and returned naive.
All raise ``ValueError`` with a Vietnamese reason on bad input.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from trolydvc.db.models import Channel, DossierStatus
from trolydvc.formatting import fmt_int
from trolydvc.i18n import N_
from trolydvc.textnorm import fold
from trolydvc.vietnam_time import VN_TZ

# Labels of the answers domain (trolydvc.i18n): shown through ``tr`` in the dossier lookup.
STATUS_LABELS: dict[str, str] = {
    DossierStatus.RECEIVED: N_("Mới tiếp nhận"),
    DossierStatus.PROCESSING: N_("Đang xử lý"),
    DossierStatus.SUPPLEMENT_REQUESTED: N_("Chờ bổ sung"),
    DossierStatus.RESOLVED: N_("Đã có kết quả"),
    DossierStatus.RETURNED: N_("Đã trả kết quả"),
    DossierStatus.REJECTED: N_("Từ chối"),
    DossierStatus.WITHDRAWN: N_("Đã rút"),
}
CHANNEL_LABELS: dict[str, str] = {
    Channel.DIRECT: N_("Trực tiếp"),
    Channel.ONLINE: N_("Trực tuyến"),
    Channel.POSTAL: N_("Bưu chính"),
}

_STATUS_ALIASES: dict[str, str] = {}
for _status, _words in {
    DossierStatus.RECEIVED: [
        "received",
        "new",
        "moi tiep nhan",
        "da tiep nhan",
        "tiep nhan",
        "moi",
        "cho tiep nhan",
        "cho xu ly",
    ],
    DossierStatus.PROCESSING: [
        "processing",
        "in progress",
        "dang xu ly",
        "dang giai quyet",
        "dang thu ly",
        "dang tham dinh",
        "dang xu ly ho so",
        "cho phe duyet",
        "dang cho ky duyet",
    ],
    DossierStatus.SUPPLEMENT_REQUESTED: [
        "supplement_requested",
        "supplement requested",
        "cho bo sung",
        "yeu cau bo sung",
        "cho bo sung ho so",
        "bo sung ho so",
        "dang yeu cau bo sung",
    ],
    DossierStatus.RESOLVED: [
        "resolved",
        "da co ket qua",
        "co ket qua",
        "da giai quyet",
        "cho tra ket qua",
        "da xu ly xong",
    ],
    DossierStatus.RETURNED: [
        "returned",
        "da tra ket qua",
        "tra ket qua",
        "hoan thanh",
        "da hoan thanh",
        "da tra",
        "ket thuc",
    ],
    DossierStatus.REJECTED: [
        "rejected",
        "tu choi",
        "da tu choi",
        "khong giai quyet",
        "khong du dieu kien",
        "tra lai ho so",
    ],
    DossierStatus.WITHDRAWN: [
        "withdrawn",
        "da rut",
        "rut ho so",
        "cong dan rut ho so",
        "da rut ho so",
        "dung xu ly",
    ],
}.items():
    for _w in _words:
        _STATUS_ALIASES[_w] = _status.value

_CHANNEL_ALIASES: dict[str, str] = {}
for _channel, _words in {
    Channel.DIRECT: ["direct", "truc tiep", "nop truc tiep", "tai bo phan mot cua", "offline"],
    Channel.ONLINE: [
        "online",
        "truc tuyen",
        "nop truc tuyen",
        "dich vu cong truc tuyen",
        "qua mang",
        "dvc truc tuyen",
        "cong dich vu cong",
    ],
    Channel.POSTAL: [
        "postal",
        "buu chinh",
        "buu chinh cong ich",
        "qua buu chinh",
        "qua buu dien",
        "buu dien",
    ],
}.items():
    for _w in _words:
        _CHANNEL_ALIASES[_w] = _channel.value

_PUNCT = re.compile(r"[_\-:;,.()]+")
# How much of a bad value a message shows: enough to find it, never a whole 1 MB cell.
SHOWN_CHARS = 40


def shown(value: object) -> str:
    """``value`` quoted for a message, cut to ``SHOWN_CHARS`` characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > SHOWN_CHARS:
        return f"{text[:SHOWN_CHARS]!r}… ({fmt_int(len(text))} ký tự)"
    return repr(text)


def _key(text: str) -> str:
    return _PUNCT.sub(" ", fold(text)).strip().replace("  ", " ")


def parse_status(text: str) -> str:
    key = _key(text)
    status = _STATUS_ALIASES.get(key) or _STATUS_ALIASES.get(key.replace(" ", "_"))
    if status is None:
        if not key:
            raise ValueError("thiếu trạng thái")
        raise ValueError(f"trạng thái không rõ: {shown(text)}")
    return status


def parse_channel(text: str) -> str:
    key = _key(text)
    if not key:
        return Channel.DIRECT.value
    channel = _CHANNEL_ALIASES.get(key)
    if channel is None:
        raise ValueError(
            f"hình thức nộp không rõ: {shown(text)} (trực tiếp, trực tuyến, bưu chính)"
        )
    return channel


_DMY = re.compile(
    r"^(?:(?P<t1>\d{1,2}:\d{2}(?::\d{2})?)\s+)?"
    r"(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4})"
    r"(?:[ T,]+(?P<t2>\d{1,2}:\d{2}(?::\d{2})?))?$"
)


def _to_local_naive(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(VN_TZ).replace(tzinfo=None)


def parse_datetime(value: object) -> datetime | None:
    """See the module docstring; empty -> None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"ngày giờ không hợp lệ: {value!r}")
    if isinstance(value, int | float):
        # epoch milliseconds (as JSON exports write them) or seconds
        try:
            seconds = value / 1000 if abs(value) > 1e11 else value
            return _to_local_naive(datetime.fromtimestamp(seconds, tz=timezone.utc))
        except (OverflowError, OSError, ValueError):  # out of range, NaN, infinity
            raise ValueError(f"ngày giờ không hợp lệ: {shown(value)}") from None
    text = str(value).strip()
    if not text:
        return None
    c = text[:1]
    if len(text) >= 10 and text[4:5] == "-" and c.isdigit():
        try:
            return _to_local_naive(datetime.fromisoformat(text))
        except ValueError:
            pass
    else:
        m = _DMY.match(text)
        if m:
            t = m.group("t1") or m.group("t2")
            try:
                if t:
                    parts = [int(x) for x in t.split(":")]
                    return datetime(int(m.group("y")), int(m.group("m")), int(m.group("d")), *parts)
                return datetime(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            except ValueError:
                pass
    raise ValueError(
        f"ngày giờ không hợp lệ: {shown(text)} (YYYY-MM-DD hoặc DD/MM/YYYY, có thể kèm giờ)"
    )


_CODE_CHARS = re.compile(r"^[0-9A-Z][0-9A-Z.\-/_]*$")
# Unicode hyphens and dashes typed or pasted in codes, as ASCII "-".
DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-"})
_CODE_SPACES = re.compile(r"\s+")


def clean_code(text: object) -> str:
    """Canonical form of a dossier code: upper case, no spaces, ASCII dashes."""
    code = _CODE_SPACES.sub("", str(text or "").translate(DASHES)).upper()
    if not code:
        raise ValueError("thiếu mã hồ sơ")
    if len(code) > 64 or not _CODE_CHARS.match(code):
        raise ValueError(f"mã hồ sơ không hợp lệ: {shown(code)}")
    return code
