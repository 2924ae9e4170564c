"""PNG chart of a statistics report, for officials (matplotlib, Agg backend, no display needed).

``render_chart(report) -> bytes``: horizontal stacked bars (resolved on time, resolved late, in
progress within the deadline, overdue) per agency/sector when the report is grouped (the 12
largest), else one bar for the totals; counts are printed in vi_VN format.
"""

from __future__ import annotations

import io

from trolydvc.formatting import fmt_int, fmt_ratio
from trolydvc.tracking.stats import Counts, Report, _title

SERIES = (
    ("Đúng hạn", "on_time", "#2e7d32"),
    ("Trễ hạn", "late", "#c62828"),
    ("Đang giải quyết trong hạn", "in_progress_on_time", "#1565c0"),
    ("Đang giải quyết quá hạn", "in_progress_overdue", "#ef6c00"),
)
MAX_GROUPS = 12


def _shorten(text: str, width: int = 38) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_chart(report: Report) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    rows: list[tuple[str, Counts]] = (
        report.groups[:MAX_GROUPS] if report.groups else [("Tổng", report.totals)]
    )
    rows = list(reversed(rows))  # largest at the top
    height = 2.0 + 0.55 * len(rows)
    fig = Figure(figsize=(10, max(3.2, height)), dpi=110)
    ax = fig.add_subplot()
    labels = [_shorten(name) for name, _ in rows]
    left = [0] * len(rows)
    for label, attr, color in SERIES:
        values = [getattr(c, attr) for _, c in rows]
        bars = ax.barh(labels, values, left=left, color=color, label=label, height=0.6)
        for bar, value in zip(bars, values, strict=True):
            if value and bar.get_width() > max(1, max(c.received for _, c in rows)) * 0.06:
                ax.text(
                    bar.get_x() + bar.get_width() / 2,
                    bar.get_y() + bar.get_height() / 2,
                    fmt_int(value),
                    ha="center",
                    va="center",
                    color="white",
                    fontsize=8,
                )
        left = [a + b for a, b in zip(left, values, strict=True)]
    for i, (_, c) in enumerate(rows):
        ax.text(
            left[i],
            i,
            f"  {fmt_int(c.received)} hồ sơ, đúng hạn {fmt_ratio(c.on_time, c.resolved)}",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, max(left + [1]) * 1.35)
    ax.set_xlabel("Số hồ sơ tiếp nhận")
    ax.xaxis.set_major_formatter(lambda x, _pos: fmt_int(int(x)))
    ax.spines[["top", "right"]].set_visible(False)
    title = _title(report)
    ax.set_title(title if len(title) < 90 else title[:89] + "…", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, fontsize=8, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
