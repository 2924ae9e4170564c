"""`trolydvc cluster` (the production topology in the foreground) and `trolydvc conversations
purge` (officials delete stored conversations)."""

from __future__ import annotations

import click

from trolydvc import config
from trolydvc.cluster.topology import Cluster, Ports
from trolydvc.serve.commands import PidFile, supervise
from trolydvc.serve.runner import ServerError

CLUSTER_FILE = config.VAR_DIR / "cluster.json"


@click.command()
@click.option("--listen", default="127.0.0.1:8080", show_default=True,
              help="Địa chỉ công khai của nginx (ADDR:PORT).")  # fmt: skip
@click.option("--replicas", default=lambda: config.settings().rasa_replicas,
              show_default="2, or RASA_REPLICAS", type=click.IntRange(1, 16),
              help="Số bản Rasa (và số máy chủ action).")  # fmt: skip
@click.option("--rasa-port", default=5006, show_default=True, type=int,
              help="Cổng của bản Rasa đầu tiên (các bản sau: cổng kế tiếp).")  # fmt: skip
@click.option("--actions-port", default=5056, show_default=True, type=int,
              help="Cổng của máy chủ action đầu tiên.")  # fmt: skip
@click.option("--actions-entry-port", default=5055, show_default=True, type=int,
              help="Cổng nội bộ của nginx cho Rasa gọi máy chủ action.")  # fmt: skip
@click.option("--bot-port", default=8443, show_default=True, type=int,
              help="Cổng nội bộ của webhook bot Telegram.")  # fmt: skip
@click.option("--web-port", default=8000, show_default=True, type=int,
              help="Cổng nội bộ của trang web (khung trò chuyện, /quan-tri); 0: không chạy.")  # fmt: skip
@click.option("--config-only", is_flag=True,
              help="Chỉ ghi var/cluster/nginx.conf, endpoints.yml và tạo bảng hội thoại rồi "
                   "thoát (cho triển khai bằng systemd).")  # fmt: skip
def cluster(
    listen: str, replicas: int, rasa_port: int, actions_port: int, actions_entry_port: int,
    bot_port: int, web_port: int, config_only: bool,
) -> None:  # fmt: skip
    """Chạy cả cụm (nginx, các bản Rasa, các máy chủ action, bot) đến khi Ctrl-C hoặc SIGTERM.

    Cần DATABASE_URL (PostgreSQL) và REDIS_URL. Xem deploy/README.md."""
    ports = Ports(listen, rasa_port, actions_port, actions_entry_port, bot_port, web_port)
    servers = Cluster(ports, replicas)
    if config_only:
        try:
            servers.prepare()
        except ServerError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Đã ghi {servers.base_dir}/nginx.conf và {servers.base_dir}/endpoints.yml.")
        return
    supervise(
        servers,
        PidFile(CLUSTER_FILE, owner="cluster"),
        waiting=f"Đang khởi động {replicas} bản Rasa dưới supervisord (khoảng 1 phút)…",
        ready=(
            f"Sẵn sàng: {servers.entry_url}/webhooks/rest/webhook ({replicas} bản Rasa). "
            f"Danh sách tiến trình: {CLUSTER_FILE}; nhật ký: {servers.log_dir}. "
            "Nhấn Ctrl-C để dừng."
        ),
        on_ready=servers.warm_up,
    )


@click.group()
def conversations() -> None:
    """Hội thoại đã lưu (kho hội thoại PostgreSQL của cụm máy chủ) và nhật ký tin nhắn."""


@conversations.command()
@click.option("--older-than", "older_than", type=click.FloatRange(min=0), default=None,
              help="Xoá hội thoại im lặng quá số ngày này (mặc định: "
                   "TROLYDVC_CONVERSATION_RETENTION_DAYS, 30).")  # fmt: skip
def purge(older_than: float | None) -> None:
    """Xoá các hội thoại đã lưu mà lần trao đổi cuối cũ hơn số ngày cho trước, và các dòng
    nhật ký tin nhắn (trang phân tích) cũ hơn số ngày đó."""
    days = config.settings().conversation_retention_days if older_than is None else older_than
    # imported here: SQLAlchemy doubles the start-up time of every `trolydvc` command
    from trolydvc.cluster.retention import purge_conversation_log, purge_conversations

    count = purge_conversations(days)
    click.echo(f"Đã xoá {count} hội thoại im lặng quá {days:g} ngày.")
    logged = purge_conversation_log(days)
    click.echo(f"Đã xoá {logged} dòng nhật ký tin nhắn cũ hơn {days:g} ngày.")
