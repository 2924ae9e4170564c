"""`trolydvc`: the one command-line tool for everything an operator does.

Each area registers its own click group here; imports of heavy modules happen
inside the commands so `trolydvc --help` stays fast.
"""

from __future__ import annotations

import importlib
import logging

import click

# (module, attribute) of each command or group; a module that is not there yet is skipped.
COMMANDS: list[tuple[str, str]] = [
    ("trolydvc.catalog.cli", "catalog"),
    ("trolydvc.nlu_data", "nlu"),
    ("trolydvc.tracking.cli", "dossiers"),
    ("trolydvc.tracking.cli", "stats"),
    ("trolydvc.tracking.cli", "demo_data"),
    ("trolydvc.tracking.cli", "db"),
    ("trolydvc.locality_gen", "locality_cli"),
    ("trolydvc.chat", "chat"),
    ("trolydvc.serve", "serve"),
    ("trolydvc.serve", "run"),
    ("bot.cli", "bot"),
    ("bot.cli", "officials"),
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Ghi nhật ký chi tiết hơn.")
def main(verbose: bool) -> None:
    """Trợ lý Dịch vụ công: danh mục thủ tục, hồ sơ, thống kê, trò chuyện và bot Telegram."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    for module_name, attr in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that area is not built yet
            raise
        main.add_command(getattr(module, attr))


_register()
