"""Running the assistant's servers: the process runner (:mod:`.runner`), the database bootstrap
on start (:mod:`.database`) and the `serve`/`run` commands (:mod:`.commands`)."""

from trolydvc.serve.commands import PIDS_FILE, run, serve
from trolydvc.serve.database import prepare_embedded_database
from trolydvc.serve.runner import MODEL, ServerError, Servers

__all__ = [
    "MODEL",
    "PIDS_FILE",
    "ServerError",
    "Servers",
    "prepare_embedded_database",
    "run",
    "serve",
]
