"""Running the assistant's servers: supervised child processes (:mod:`.runner`, each under a
:mod:`.keeper`), the Rasa + action server pair (:mod:`.servers`), the database bootstrap on start
(:mod:`.database`) and the `serve`/`run` commands (:mod:`.commands`)."""

from trolydvc.serve.commands import PIDS_FILE, run, serve
from trolydvc.serve.database import prepare_embedded_database
from trolydvc.serve.runner import ServerError, Supervisor
from trolydvc.serve.servers import MODEL, Servers

__all__ = [
    "MODEL",
    "PIDS_FILE",
    "ServerError",
    "Servers",
    "Supervisor",
    "prepare_embedded_database",
    "run",
    "serve",
]
