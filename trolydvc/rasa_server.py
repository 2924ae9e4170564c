"""Start ``rasa run`` (in .venv-rasa, Python 3.10) with performance fixes; used by trolydvc.serve.

Measured with py-spy under bench/e2e.py, each removes CPU time from every turn without changing
what Rasa computes:

1. Action responses: Rasa 3.6 checks every action-server response with
   ``jsonschema.validate(result, schema)``, which re-validates the large (constant) events
   schema against the JSON Schema meta-schema on every call (~55 ms per custom action here).
   The validator is built once; and since the schema's ``oneOf`` over event types pins a
   distinct ``event`` constant in each of its alternatives, each event is checked against the
   one alternative its ``event`` names (the others cannot match). Any response that this fast
   path does not accept goes through the full schema, so errors are exactly Rasa's.
2. Graph runner: predictions run the model's graph through dask's scheduler, whose per-call
   bookkeeping cost more than the NLU itself. ``SequentialGraphRunner`` evaluates the same
   nodes, each once, after its inputs, in the calling thread.
3. Action calls: Rasa opens a new aiohttp session (and TCP connection) for every call to the
   action server. Each endpoint here keeps one session per event loop, with keep-alive
   connections that the client drops after 15 s idle, well before the action server's own
   120 s, so a reused connection is never one the server has just closed.

Security (README "Security"), each a small patch installed before Rasa starts:

4. HTTP API: ``--auth-token`` comes from RASA_AUTH_TOKEN (not the command line, which every
   local user can read); ``--enable-api`` without it is refused. Besides Rasa's ``?token=``,
   the API accepts ``Authorization: Bearer <token>``, so clients keep the token out of URLs
   (and out of their request logs). ``PUT /model`` loads only a file under the project's
   models/ directory (never a model server or remote storage).

Usage: .venv-rasa/bin/python -m trolydvc.rasa_server run -m models/assistant.tar.gz ...
(the same arguments as the ``rasa`` command).
"""

from __future__ import annotations

import copy
import hmac
import os
import re
import sys
from collections.abc import Callable
from inspect import isawaitable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "models"


def install_action_response_validator() -> None:
    from jsonschema import ValidationError, validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, instead of once per action call
    validator = cls(schema)
    fast_path = _event_dispatch(schema, cls)

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        if fast_path is not None and fast_path(result):
            return True
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def _event_dispatch(schema: dict[str, Any], cls: Any) -> Callable[[Any], bool] | None:
    """A check accepting exactly the responses ``schema`` accepts that validate, or None when
    the schema is not shaped as expected (then every response takes the full path).

    Expected: ``events.items`` has ``required: [event]`` and a ``oneOf`` whose alternatives
    each pin ``event`` to a different constant. An event then satisfies the ``oneOf`` exactly
    when it satisfies the alternative of its own constant.
    """
    try:
        items = schema["properties"]["events"]["items"]
        alternatives = items["oneOf"]
        consts = [alt["properties"]["event"]["const"] for alt in alternatives]
    except (KeyError, TypeError):
        return None
    if "event" not in items.get("required", []) or len(set(consts)) != len(consts):
        return None
    base_schema = copy.deepcopy(schema)
    del base_schema["properties"]["events"]["items"]["oneOf"]
    base = cls(base_schema)
    by_event = {const: cls(alt) for const, alt in zip(consts, alternatives, strict=True)}

    def check(result: Any) -> bool:
        if not base.is_valid(result):
            return False
        for event in result.get("events") or []:
            alternative = by_event.get(event.get("event"))
            if alternative is None or not alternative.is_valid(event):
                return False
        return True

    return check


def install_sequential_graph_runner() -> None:
    import rasa.core.processor
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    class SequentialGraphRunner(DaskGraphRunner):
        """DaskGraphRunner's nodes and results, evaluated depth-first without dask."""

        def run(
            self, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
        ) -> dict[str, Any]:
            run_targets = targets if targets else self._graph_schema.target_names
            nodes = self._graph_schema.nodes
            inputs = inputs or {}
            for value in inputs.values():  # the same refusal as DaskGraphRunner
                if isinstance(value, str) and value in nodes:
                    raise GraphRunError(
                        f"Input value '{value}' clashes with a node name. Make sure that "
                        f"none of the input names passed to the `run` method are the same "
                        f"as node names in the graph schema."
                    )
            done: dict[str, Any] = {}

            def evaluate(name: str) -> Any:
                if name in done:
                    return done[name]
                if name in inputs:
                    done[name] = (name, inputs[name])
                elif name not in nodes:
                    done[name] = name  # unresolved: the node logs it, as under dask
                else:
                    parents = [evaluate(parent) for parent in nodes[name].needs.values()]
                    done[name] = self._instantiated_nodes[name](*parents)
                return done[name]

            try:
                return dict(evaluate(target) for target in run_targets)
            except RuntimeError as e:
                raise GraphRunError("Error running runner.") from e

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # type: ignore[misc]


class _BorrowedSession:
    """``async with`` yields the shared session and leaves it open for the next call."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        return None


def install_shared_endpoint_sessions() -> None:
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    # (id of the endpoint, id of the loop) -> (endpoint, loop, session); the endpoint and the
    # loop are kept so that their ids cannot be reused by other objects
    shared: dict[tuple[int, int], tuple[Any, Any, Any]] = {}

    def session(self: Any) -> _BorrowedSession:
        loop = asyncio.get_running_loop()
        key = (id(self), id(loop))
        entry = shared.get(key)
        if entry is None or entry[2].closed:
            auth = None
            if self.basic_auth:
                auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
            entry = (
                self,
                loop,
                aiohttp.ClientSession(
                    headers=self.headers,
                    auth=auth,
                    timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                    connector=aiohttp.TCPConnector(keepalive_timeout=15.0),
                ),
            )
            shared[key] = entry
        return _BorrowedSession(entry[2])

    EndpointConfig.session = session  # type: ignore[method-assign,assignment]


def install_api_token_header() -> None:
    """Rasa's ``requires_auth`` also accepting ``Authorization: Bearer <auth token>``."""
    import rasa.server

    original = rasa.server.requires_auth

    def requires_auth(app: Any, token: str | None = None) -> Callable[[Any], Any]:
        rasa_decorator = original(app, token)

        def decorator(handler: Any) -> Any:
            checked = rasa_decorator(handler)

            async def decorated(request: Any, *args: Any, **kwargs: Any) -> Any:
                if token and _bearer_matches(request.headers.get("authorization"), token):
                    result = handler(request, *args, **kwargs)
                    return await result if isawaitable(result) else result
                return await checked(request, *args, **kwargs)

            decorated.__name__ = checked.__name__  # Sanic names routes after their handler
            decorated.__wrapped__ = handler  # type: ignore[attr-defined]
            return decorated

        return decorator

    rasa.server.requires_auth = requires_auth  # type: ignore[assignment]


def _bearer_matches(header: str | None, token: str) -> bool:
    return header is not None and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def model_replacement_refusal(body: Any, models_dir: Path = MODELS_DIR) -> str | None:
    """Why a ``PUT /model`` body may not be loaded, or None when it names a model file under
    ``models_dir``. A model server or remote storage would run code from elsewhere."""
    if not isinstance(body, dict):
        return "the body must be a JSON object with model_file"
    if set(body) - {"model_file"}:
        return "only model_file is accepted (no model_server, no remote_storage)"
    model_file = body.get("model_file")
    if not isinstance(model_file, str) or not model_file:
        return "model_file is missing"
    path = Path(model_file)
    if not path.is_absolute():
        path = ROOT / path
    path = path.resolve()
    if not path.is_relative_to(models_dir.resolve()) or not path.is_file():
        return f"model_file must be a file under {models_dir}"
    return None


def install_server_limits() -> None:
    """The ``PUT /model`` check on the app Rasa builds."""
    import rasa.core.run
    from sanic import response

    original = rasa.core.run.configure_app

    async def guard_model_replacement(request: Any) -> Any:
        if request.method == "PUT" and request.path.rstrip("/") == "/model":
            reason = model_replacement_refusal(request.json)
            if reason is not None:
                return response.json(
                    {"status": "failure", "reason": "Forbidden", "message": reason}, status=403
                )
        return None

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        app.register_middleware(guard_model_replacement, "request")
        return app

    rasa.core.run.configure_app = configure_app  # type: ignore[assignment]


def _with_auth_token(argv: list[str]) -> list[str] | None:
    """``argv`` with ``--auth-token`` from RASA_AUTH_TOKEN added; None when the API would be
    open (``--enable-api`` and no token at all)."""
    if "--auth-token" in argv:
        return argv
    token = os.environ.get("RASA_AUTH_TOKEN", "").strip()
    if token:
        return [*argv, "--auth-token", token]
    return None if "--enable-api" in argv else argv


def main() -> int:
    argv = _with_auth_token(sys.argv[1:])
    if argv is None:
        print(
            "--enable-api cần mã RASA_AUTH_TOKEN (biến môi trường) hoặc --auth-token: "
            "HTTP API của Rasa không được mở cho mọi người.",
            file=sys.stderr,
        )
        return 2
    install_action_response_validator()
    install_sequential_graph_runner()
    install_shared_endpoint_sessions()
    install_api_token_header()
    install_server_limits()
    from rasa.__main__ import main as rasa_main

    sys.argv = [re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0]), *argv]
    rasa_main()
    return 0


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy: trolydvc.rasa_channel reads the
    # counters and the user-text variable of ``trolydvc.rasa_server``, which must be the ones the
    # patches use.
    from trolydvc import rasa_server

    raise SystemExit(rasa_server.main())
