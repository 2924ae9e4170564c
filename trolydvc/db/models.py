"""Dossier tracking tables: ``dossiers``, their ``dossier_status_history`` and the
``lookup_counters`` of the status lookup's guard.

A dossier (hồ sơ) is one application received by a one-stop shop (Bộ phận Một cửa). Its times
are Vietnam wall-clock times, naive, as exported. The applicant's phone number is never stored:
only a keyed BLAKE2b hash (a MAC) of its digits under a deployment key (``phone_hash``, see
``trolydvc.tracking.privacy``) and its last four digits (``phone_last4``), which is what the
status lookup asks the user for.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, Double, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trolydvc.db.base import Base, BigIntPK, UTCDateTime, utcnow


class DossierStatus(StrEnum):
    RECEIVED = "received"  # Mới tiếp nhận
    PROCESSING = "processing"  # Đang xử lý
    SUPPLEMENT_REQUESTED = "supplement_requested"  # Chờ bổ sung
    RESOLVED = "resolved"  # Đã có kết quả
    RETURNED = "returned"  # Đã trả kết quả
    REJECTED = "rejected"  # Từ chối
    WITHDRAWN = "withdrawn"  # Đã rút


class Channel(StrEnum):
    DIRECT = "direct"  # Trực tiếp
    ONLINE = "online"  # Trực tuyến
    POSTAL = "postal"  # Bưu chính (dịch vụ bưu chính công ích)


# Statuses whose dossier has a result (counted as "resolved" in reports).
RESOLVED_STATUSES = (DossierStatus.RESOLVED, DossierStatus.RETURNED)
# Statuses that end processing without a result.
CLOSED_WITHOUT_RESULT = (DossierStatus.REJECTED, DossierStatus.WITHDRAWN)
# Statuses still being worked on.
OPEN_STATUSES = (
    DossierStatus.RECEIVED,
    DossierStatus.PROCESSING,
    DossierStatus.SUPPLEMENT_REQUESTED,
)


def _in_list(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Dossier(Base):
    __tablename__ = "dossiers"
    __table_args__ = (
        CheckConstraint(_in_list("status", DossierStatus), name="status"),
        CheckConstraint(_in_list("channel", Channel), name="channel"),
        Index("ix_dossiers_received_at", "received_at"),
        # Covers the statistics columns: per-agency reports read only the index.
        Index(
            "ix_dossiers_agency_stats",
            "agency",
            "received_at",
            "status",
            "channel",
            "due_at",
            "resolved_at",
            "returned_at",
        ),
        Index("ix_dossiers_sector_received_at", "sector", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    procedure_code: Mapped[str | None] = mapped_column(String(32))
    procedure_name: Mapped[str | None] = mapped_column(Text)
    applicant_name: Mapped[str | None] = mapped_column(String(255))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    phone_last4: Mapped[str | None] = mapped_column(String(4))
    received_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(16), default=Channel.DIRECT.value)
    agency: Mapped[str | None] = mapped_column(String(255))
    sector: Mapped[str | None] = mapped_column(String(255))
    commune: Mapped[str | None] = mapped_column(String(255))
    # Free text from the one-stop shop: what to supplement, why rejected, where to collect.
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    history: Mapped[list[DossierStatusHistory]] = relationship(
        back_populates="dossier",
        cascade="all, delete-orphan",
        order_by="DossierStatusHistory.id",
        passive_deletes=True,
    )

    def __repr__(self) -> str:  # never shows personal data
        return f"<Dossier {self.code} {self.status}>"


class DossierStatusHistory(Base):
    """One row per status a dossier was seen in (appended on import when the status changes)."""

    __tablename__ = "dossier_status_history"
    __table_args__ = (CheckConstraint(_in_list("status", DossierStatus), name="status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(
        ForeignKey("dossiers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(24))
    # When the status took effect if the export says so (e.g. resolved_at), else the import time
    # in Vietnam wall-clock time.
    changed_at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str | None] = mapped_column(String(255))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    dossier: Mapped[Dossier] = relationship(back_populates="history")


class LookupCounter(Base):
    """A counter shared by every process of the dossier lookup guard
    (``trolydvc.tracking.lookup_guard``): wrong phone digits for one dossier code, or across all
    codes, or unknown codes looked up. ``count`` counts within the fixed window that began at
    ``window_start``; ``locked_until`` is set when a code's verification is locked. Both times
    are seconds of the guard's clock (Unix time in production), so the counters need no
    time-zone handling and the SQL and Redis stores share one arithmetic.
    """

    __tablename__ = "lookup_counters"

    # "code:<dossier code>", "wrong", "unknown": no personal data.
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[float] = mapped_column(Double)
    locked_until: Mapped[float | None] = mapped_column(Double)
