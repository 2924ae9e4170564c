"""Start ``rasa run`` (in .venv-rasa, Python 3.10) with one performance fix; used by trolydvc.serve.

Rasa 3.6 checks every action-server response with ``jsonschema.validate(result, schema)``,
which re-validates the large (constant) events schema against the JSON Schema meta-schema on
every call: ~55 ms of CPU per custom action on these machines, more than the whole rest of a
turn. Here the validator is built and its schema checked once, then reused; every response is
still validated against the same schema, with the same error (jsonschema's best match) and
message as Rasa's own code.

Usage: .venv-rasa/bin/python -m trolydvc.rasa_server run -m models/assistant.tar.gz ...
(the same arguments as the ``rasa`` command).
"""

from __future__ import annotations

import re
import sys
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

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
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


def main() -> int:
    install_action_response_validator()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    rasa_main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
