"""`trolydvc`: the one command-line tool for everything an operator does.

Each area's click group or command is imported here and registered on `main`; an area that fails
to import fails the tool, loudly. The command modules keep heavy imports inside the commands so
`trolydvc --help` stays fast.
"""

from __future__ import annotations

import logging

import click

from bot.cli import bot, officials
from trolydvc.catalog.cli import catalog
from trolydvc.chat import chat
from trolydvc.cluster import cluster, conversations
from trolydvc.locality_gen import locality_cli
from trolydvc.nlu_data import nlu
from trolydvc.serve import run, serve
from trolydvc.tracking.cli import db, demo_data, dossiers, stats
from trolydvc.tracking.follow_cli import follow
from trolydvc.web.cli import analytics, web


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Ghi nhật ký chi tiết hơn.")
def main(verbose: bool) -> None:
    """Trợ lý Dịch vụ công: danh mục thủ tục, hồ sơ, thống kê, trò chuyện và bot Telegram."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


for command in (
    catalog,
    nlu,
    dossiers,
    stats,
    demo_data,
    db,
    locality_cli,
    chat,
    serve,
    run,
    cluster,
    conversations,
    bot,
    officials,
    web,
    analytics,
    follow,
):
    main.add_command(command)


if __name__ == "__main__":
    main()
