"""`trolydvc web`: the web app (sample commune page with the chat widget, its API, the
officials' dashboard) under uvicorn, in one process; `trolydvc analytics`: the dashboard's
analytics page on the command line."""

from __future__ import annotations

import os
from pathlib import Path

import click

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Địa chỉ lắng nghe.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Cổng.")
@click.option(
    "--rasa-url", default=None, help="Nơi gặp Rasa (mặc định: RASA_URL, http://127.0.0.1:5005)."
)
def web(host: str, port: int, rasa_url: str | None) -> None:
    """Chạy trang web: trang mẫu của xã có khung trò chuyện, và trang quản trị /quan-tri."""
    import uvicorn  # here, not at the top: keeps `trolydvc --help` fast

    if rasa_url:
        os.environ["RASA_URL"] = rasa_url  # read by create_app() through the settings
    # proxy headers are trusted from 127.0.0.1 only (uvicorn's default): behind a local reverse
    # proxy the limits count the real client address, and nobody else can forge it
    uvicorn.run("trolydvc.web.app:create_app", factory=True, host=host, port=port, log_level="info")


@click.command()
@click.option("--ky", "period_text", default="tháng này", show_default=True,
              help='Kỳ, viết như trên trang quản trị ("tháng trước", "Q3/2026", "2026").')  # fmt: skip
@click.option("--export-csv", type=click.Path(dir_okay=False, path_type=Path),
              help="Ghi các câu trợ lý chưa hiểu ra tệp CSV này.")  # fmt: skip
@click.option("--export-nlu", type=click.Path(dir_okay=False, path_type=Path),
              help="Ghi các câu đó ra tệp YAML dữ liệu NLU của Rasa (ví dụ ứng viên).")  # fmt: skip
def analytics(period_text: str, export_csv: Path | None, export_nlu: Path | None) -> None:
    """In số liệu phân tích hội thoại của một kỳ, như trang /quan-tri/phan-tich."""
    # imported here: SQLAlchemy doubles the start-up time of every `trolydvc` command
    from trolydvc.formatting import fmt_int, fmt_ratio
    from trolydvc.tracking.stats import parse_period_text
    from trolydvc.web.dashboard import analytics as figures

    try:
        period = parse_period_text(period_text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--ky") from None
    data = figures.compute(period)
    echo = click.echo
    echo(f"Phân tích {period.label}")
    echo(
        f"Tin nhắn: {fmt_int(data.messages)}; trợ lý hiểu {fmt_int(data.understood)} "
        f"({fmt_ratio(data.understood, data.messages)}), không hiểu {fmt_int(data.fallbacks)}, "
        f"ngoài phạm vi {fmt_int(data.out_of_scope)}"
    )
    echo(
        f"Hội thoại: {fmt_int(data.conversations)}; không cần chuyển cán bộ "
        f"{fmt_int(data.contained)} ({fmt_ratio(data.contained, data.conversations)})"
    )
    average = ""
    if data.average is not None:
        average = f", điểm trung bình {data.average:.2f}/5".replace(".", ",")
    echo(f"Đánh giá: {fmt_int(data.ratings)} lượt{average}")
    echo(f"Yêu cầu gặp cán bộ đã mở trên Telegram: {fmt_int(data.handoffs)}")
    if data.channels:
        echo(
            "Theo kênh: "
            + ", ".join(
                f"{figures.CHANNEL_LABELS.get(c, c)} {fmt_int(n)}" for c, n in data.channels
            )
        )
    if data.procedures:
        echo("Thủ tục được hỏi nhiều nhất:")
        for rank, p in enumerate(data.procedures, 1):
            echo(
                f"  {rank}. {p.name} ({p.code}): {fmt_int(p.messages)} tin nhắn, {fmt_int(p.senders)} người"
            )
    echo(f"Câu trợ lý chưa hiểu: {fmt_int(data.unanswered_distinct)} câu khác nhau")
    for item in data.unanswered[:20]:
        echo(f"  {fmt_int(item.count)} × {item.text} [{item.outcome_label}; {item.guess or '-'}]")
    if export_csv or export_nlu:
        items = figures.unanswered(period)
        if export_csv:
            export_csv.write_bytes(figures.unanswered_csv(period, items))
            echo(f"Đã ghi {export_csv}")
        if export_nlu:
            export_nlu.write_text(figures.unanswered_nlu_yaml(period, items), encoding="utf-8")
            echo(f"Đã ghi {export_nlu}")
