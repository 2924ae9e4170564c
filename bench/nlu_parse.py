"""Parse texts with a trained Rasa NLU model, in-process (run with .venv-rasa's python).

    .venv-rasa/bin/python bench/nlu_parse.py MODEL.tar.gz < texts.jsonl > parses.jsonl

Each input line is a JSON string; each output line is Rasa's parse result for it. Used by the NLU
regression test (no HTTP server needed); `make nlu-eval` measures through the HTTP API instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys


async def _main(model_path: str) -> None:
    # results go to the real stdout; anything libraries print goes to stderr
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        result = await agent.parse_message(json.loads(line))
        out.write(json.dumps(result, ensure_ascii=False, default=str) + "\n")
    out.flush()


def main() -> None:
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if len(sys.argv) != 2:
        sys.exit("usage: nlu_parse.py MODEL.tar.gz < texts.jsonl")
    asyncio.run(_main(sys.argv[1]))


if __name__ == "__main__":
    main()
