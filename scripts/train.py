#!/usr/bin/env python3
"""Train models/assistant.tar.gz only when a training input changed (`make train`).

1. `trolydvc nlu build` regenerates nlu_data/generated/ from the catalog (cheap, always run,
   so an alias added to a catalog file reaches the model).
2. A SHA-256 over every training input (nlu_data/**, domain, config, the repository's NLU
   component code, the Rasa constraints) is compared with the one stored beside the model
   (models/assistant.sha256). Equal and the model exists: nothing to do.
3. Otherwise `rasa train --fixed-model-name assistant --out models`, then the new hash is
   written. A lock file serialises concurrent runs (tests and `make run` in parallel).

Usage: .venv/bin/python scripts/train.py [--force] [--check]
  --check  exit 0 when the model is up to date, 1 when it needs training (no side effects
           other than the NLU data build).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from trolydvc.config import MODEL_CODE_INPUTS

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
MODEL = MODELS / "assistant.tar.gz"
HASH_FILE = MODELS / "assistant.sha256"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
TROLYDVC = ROOT / ".venv" / "bin" / "trolydvc"

# Files and folders whose content defines the model.
INPUTS = [
    "domain.yml",
    "domain",
    "config.yml",
    "nlu_data",
    *MODEL_CODE_INPUTS,
]
SUFFIXES = {".yml", ".yaml", ".py", ".txt", ".json"}


def input_files() -> list[Path]:
    files: list[Path] = []
    for rel in INPUTS:
        path = ROOT / rel
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts
            ]
    return sorted(files)


def training_hash() -> str:
    digest = hashlib.sha256()
    for path in input_files():
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def up_to_date() -> bool:
    return (
        MODEL.is_file() and HASH_FILE.is_file() and HASH_FILE.read_text().strip() == training_hash()
    )


def build_nlu_data() -> None:
    if not TROLYDVC.exists():
        sys.exit(f"error: {TROLYDVC} not found; run `make setup` first")
    subprocess.run([str(TROLYDVC), "nlu", "build"], cwd=ROOT, check=True)


def train() -> None:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [
        str(RASA),
        "train",
        "--domain",
        "domain.yml",
        "--data",
        "nlu_data",
        "--config",
        "config.yml",
        "--fixed-model-name",
        "assistant",
        "--out",
        "models",
        "--force",  # our own hash decides; Rasa's fingerprint check compares with other files
    ]
    started = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    print(f"trained {MODEL.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="train even if nothing changed")
    parser.add_argument("--check", action="store_true", help="only report whether training is due")
    args = parser.parse_args()

    MODELS.mkdir(exist_ok=True)
    with open(MODELS / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            build_nlu_data()
        except subprocess.CalledProcessError as exc:
            print(f"error: `trolydvc nlu build` failed (exit {exc.returncode})", file=sys.stderr)
            return 2
        if args.check:
            fresh = up_to_date()
            print("model up to date" if fresh else "model needs training")
            return 0 if fresh else 1
        if not args.force and up_to_date():
            print(f"{MODEL.relative_to(ROOT)} is up to date (training inputs unchanged)")
            return 0
        digest = training_hash()
        HASH_FILE.unlink(missing_ok=True)
        try:
            train()
        except subprocess.CalledProcessError as exc:
            print(f"error: rasa train failed (exit {exc.returncode})", file=sys.stderr)
            return 2
        if training_hash() != digest:
            print("warning: training inputs changed while training; run `make train` again")
            return 0
        HASH_FILE.write_text(digest + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
