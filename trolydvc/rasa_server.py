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

Usage: .venv-rasa/bin/python -m trolydvc.rasa_server run -m models/assistant.tar.gz ...
(the same arguments as the ``rasa`` command).
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Callable
from typing import Any


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


def main() -> int:
    install_action_response_validator()
    install_sequential_graph_runner()
    install_shared_endpoint_sessions()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    rasa_main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
