"""`trolydvc serve`'s supervision (trolydvc.serve.commands.supervise) over two fake servers.

    python supervised.py PIDFILE ACTIONS_PORT RASA_PORT [fake_server.py options...]

Fast health settings, so the tests see restarts within seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trolydvc.serve.commands import PidFile, supervise
from trolydvc.serve.runner import Child, Supervisor

FAKE = Path(__file__).with_name("fake_server.py")


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("pid_file", type=click.Path(path_type=Path))
@click.argument("actions_port", type=int)
@click.argument("rasa_port", type=int)
@click.argument("options", nargs=-1, type=click.UNPROCESSED)
def main(pid_file: Path, actions_port: int, rasa_port: int, options: tuple[str, ...]) -> None:
    def child(name: str, label: str, port: int) -> Child:
        command = [sys.executable, str(FAKE), "--port", str(port), *options]
        return Child(name, label, command, f"http://127.0.0.1:{port}/health")

    supervisor = Supervisor(
        [child("actions", "Máy chủ action", actions_port), child("rasa", "Rasa", rasa_port)],
        health_interval=0.3,
        health_timeout=0.5,
        health_failures=2,
        restart_limit=2,
        restart_window=60.0,
        ready_timeout=20.0,
        stop_grace=2.0,
    )
    supervise(supervisor, PidFile(pid_file), waiting="Đang chờ…", ready="Sẵn sàng.")


if __name__ == "__main__":
    main()
