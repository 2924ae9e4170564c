"""The action server (rasa-sdk) that answers only Rasa: `python -m trolydvc.action_server`.

rasa-sdk has no authentication: anyone who reaches its port can POST a crafted tracker to
/webhook and run any action. This module builds rasa-sdk's own app and adds what it lacks:

- every route but /health requires ``Authorization: Bearer <ACTION_SERVER_TOKEN>`` (the secret
  `trolydvc serve` gives both Rasa, through endpoints.yml, and this server); without it: 401;
- a request body limit (:data:`MAX_REQUEST_BYTES`) instead of Sanic's 100 MB;
- an error reply that does not echo the request (rasa-sdk returns the whole tracker, user
  texts included, in its 500 body, which Rasa then carries into its exception logs).

Takes rasa-sdk's arguments (``--actions actions --port 5055``); listens on SANIC_HOST,
127.0.0.1 unless set. Refuses to start without ACTION_SERVER_TOKEN.
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
from functools import partial

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app_for_serve, create_argument_parser, create_ssl_config
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from trolydvc.catalog import load_catalog
from trolydvc.locality import load_locality

TOKEN_ENV = "ACTION_SERVER_TOKEN"
OPEN_PATHS = frozenset({"/health"})
# Rasa posts the whole tracker (every event since the conversation began) with each action
# call: 44 KB after the README's ten-turn tour (~4.4 KB a turn), so 8 MiB holds about 1,900
# turns, far more than a conversation has (Redis-stored ones expire after an hour of silence).
MAX_REQUEST_BYTES = 8 * 1024 * 1024


def authorized(header: str | None, token: str) -> bool:
    """True when ``header`` is ``Bearer <token>`` (compared in constant time)."""
    expected = f"Bearer {token}".encode()
    return header is not None and hmac.compare_digest(header.encode(), expected)


def warm_up() -> None:
    """Load what the first answer needs before the worker serves: the catalog with its search
    index, and the locality. Loading them took 5 s on a calm machine and over 10 s on a busy
    one, so the first question after a start could exceed Rasa's 10 s action timeout and get
    the apology (seen in tests/e2e/test_serve_process.py under load)."""
    load_catalog().index  # noqa: B018 - builds and caches the search index
    load_locality()


def create_app(
    executor: ActionExecutor,
    cors_origins: str | list[str] | None,
    auto_reload: bool,
    endpoints: str,
) -> Sanic:
    """rasa-sdk's app with the token check, the body limit and a quiet error reply.

    Module-level so that Sanic's worker processes can rebuild it (AppLoader); each reads the
    token from its environment."""
    token = os.environ[TOKEN_ENV]  # set by `trolydvc serve` (config.ensure_secrets)
    app = create_app_for_serve(
        executor, cors_origins=cors_origins, auto_reload=auto_reload, endpoints=endpoints
    )
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES

    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path not in OPEN_PATHS and not authorized(
            request.headers.get("authorization"), token
        ):
            return response.json({"error": "unauthorized"}, status=401)
        # Sanic refuses a longer body too, but rasa-sdk's catch-all handler turns that into 500
        if int(request.headers.get("content-length") or 0) > MAX_REQUEST_BYTES:
            return response.json({"error": "request body too large"}, status=413)
        return None

    async def quiet_errors(request: Request, reply: HTTPResponse) -> HTTPResponse | None:
        # rasa-sdk's own handler has logged the exception; its reply echoes the request
        if reply.status >= 500:
            return response.json({"error": "internal error"}, status=reply.status)
        return None

    # in each worker, before it serves (not in Sanic's main process, which only supervises)
    app.register_listener(lambda *_: warm_up(), "before_server_start")
    app.on_request(require_token)
    app.on_response(quiet_errors)
    return app


def main(argv: list[str] | None = None) -> int:
    if not os.environ.get(TOKEN_ENV, "").strip():
        print(
            f"{TOKEN_ENV} chưa được đặt: máy chủ action không chạy khi không có mã bí mật "
            "(`trolydvc serve` tự tạo mã này).",
            file=sys.stderr,
        )
        return 2
    args = create_argument_parser().parse_args(argv)
    # the same set-up as rasa_sdk.__main__.main_from_args
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    executor.register_package(args.actions_module or args.actions)
    loader = AppLoader(
        factory=partial(
            create_app,
            executor,
            cors_origins=args.cors,
            auto_reload=args.auto_reload,
            endpoints=args.endpoints,
        )
    )
    app = loader.load()
    app.prepare(
        host=os.environ.get("SANIC_HOST", "127.0.0.1"),
        port=args.port,
        ssl=create_ssl_config(args.ssl_certificate, args.ssl_keyfile, args.ssl_password),
        workers=utils.number_of_sanic_workers(),
    )
    Sanic.serve(primary=app, app_loader=loader)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
