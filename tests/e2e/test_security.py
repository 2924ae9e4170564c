"""Issue #11's attacks on the servers, against the real Rasa + action server pair: only the
project's front ends (with their tokens) get in, long messages and stuck actions cost seconds at
most, and no user text reaches Rasa's log."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from trolydvc.config import ROOT
from trolydvc.locality import load_locality
from trolydvc.rasa_client import RasaClient, RasaRefused

pytestmark = pytest.mark.rasa

TOO_LONG = "Tin nhắn của Bạn dài quá"
LOOKUP = "tra cứu hồ sơ 000.00.20.H99-250415-9002"


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def channel_status(assistant) -> dict[str, Any]:
    response = assistant.http.get(
        f"{assistant.url}/webhooks/rest/status", headers=assistant.rest_headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- 1. trusted channels only -------------------------------------------------------------


def test_action_server_runs_nothing_without_the_secret(assistant):
    actions = assistant.servers.actions_url
    crafted = {
        "next_action": "action_check_dossier_status",
        "sender_id": "attacker",
        "tracker": {"sender_id": "attacker", "slots": {}, "latest_message": {}, "events": []},
        "domain": {},
        "version": "3.6.21",
    }
    for headers in ({}, bearer("wrong"), {"Authorization": "acttok"}):
        response = assistant.http.post(f"{actions}/webhook", json=crafted, headers=headers)
        assert response.status_code == 401, response.text
        assert assistant.http.get(f"{actions}/actions", headers=headers).status_code == 401
    assert assistant.http.get(f"{actions}/health").status_code == 200
    token = assistant.servers.secrets["ACTION_SERVER_TOKEN"]
    listed = assistant.http.get(f"{actions}/actions", headers=bearer(token))
    assert listed.status_code == 200 and {"name": "action_check_dossier_status"} in listed.json()


def test_action_server_refuses_a_huge_body(assistant):
    token = assistant.servers.secrets["ACTION_SERVER_TOKEN"]
    response = assistant.http.post(
        f"{assistant.servers.actions_url}/webhook",
        content=b"{" + b" " * (9 * 1024 * 1024) + b"}",
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_rest_channel_refuses_requests_without_the_token(assistant, user):
    me = user()
    url = f"{assistant.url}/webhooks/rest/webhook"
    for headers in ({}, bearer("wrong"), assistant.api_headers):
        response = assistant.http.post(
            url, json={"sender": me, "message": "xin chào"}, headers=headers
        )
        assert response.status_code == 401, response.text
        status = assistant.http.get(f"{assistant.url}/webhooks/rest/status", headers=headers)
        assert status.status_code == 401
    # nothing reached the conversation
    tracker = assistant.http.get(
        f"{assistant.url}/conversations/{me}/tracker", headers=assistant.api_headers
    ).json()
    assert not [e for e in tracker["events"] if e["event"] == "user"]
    assert assistant.http.get(f"{assistant.url}/webhooks/rest/").json() == {"status": "ok"}
    assert "Xin chào" in text_of(assistant.say(me, "xin chào"))


# --- 2. the HTTP API needs the token; the model comes only from models/ ------------------------


def test_http_api_requires_the_token(assistant, user):
    me = user()
    assistant.say(me, "xin chào")
    tracker_url = f"{assistant.url}/conversations/{me}/tracker"
    for headers in ({}, bearer("wrong"), assistant.rest_headers):
        assert assistant.http.get(tracker_url, headers=headers).status_code == 401
        assert assistant.http.get(f"{assistant.url}/status", headers=headers).status_code == 401
        events = assistant.http.post(
            f"{tracker_url}/events",
            json={"event": "slot", "name": "procedure", "value": "1.001193"},
            headers=headers,
        )
        assert events.status_code == 401
        put = assistant.http.put(
            f"{assistant.url}/model",
            json={"model_file": str(assistant.servers.model)},
            headers=headers,
        )
        assert put.status_code == 401
        assert assistant.http.delete(f"{assistant.url}/model", headers=headers).status_code == 401
    tracker = assistant.http.get(tracker_url, headers=assistant.api_headers)
    assert tracker.status_code == 200 and tracker.json()["sender_id"] == me
    token = assistant.servers.secrets["RASA_AUTH_TOKEN"]
    assert assistant.http.get(f"{assistant.url}/status?token={token}").status_code == 200


def test_model_is_loaded_only_from_the_projects_models_directory(assistant, tmp_path):
    elsewhere = tmp_path / "assistant.tar.gz"
    elsewhere.write_bytes(assistant.servers.model.read_bytes())
    model_dir = assistant.servers.model.parent
    for body in (
        {"model_file": str(elsewhere)},
        {"model_file": str(model_dir / ".." / ".." / elsewhere)},
        {"model_file": "models/no-such-model.tar.gz"},
        {"model_file": str(assistant.servers.model), "model_server": {"url": "http://evil"}},
        {"model_file": str(assistant.servers.model), "remote_storage": "aws"},
        {"model_server": {"url": "http://evil.example/model.tar.gz"}},
    ):
        response = assistant.http.put(
            f"{assistant.url}/model", json=body, headers=assistant.api_headers
        )
        assert response.status_code == 403, (body, response.text)
    status = assistant.http.get(f"{assistant.url}/status", headers=assistant.api_headers)
    assert status.json()["model_file"] == assistant.servers.model.name


def test_tokens_are_not_on_the_command_lines(assistant):
    for pid in assistant.servers.pids().values():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
        for token in assistant.servers.secrets.values():
            assert token not in cmdline


# --- 3. bounded work per message --------------------------------------------------------------


def test_a_huge_message_gets_the_short_reply_and_delays_nobody(assistant, user):
    attacker, citizen = user(), user()
    before = channel_status(assistant)["too_long_messages"]
    huge = "xin chào " * 33_334  # 300,006 characters, ~330 KB as JSON

    def timed(sender: str, text: str) -> tuple[list[dict[str, Any]], float]:
        started = time.perf_counter()
        return assistant.say(sender, text), time.perf_counter() - started

    with ThreadPoolExecutor(2) as pool:
        long_reply = pool.submit(timed, attacker, huge)
        time.sleep(0.05)  # the citizen writes just after
        short_reply = pool.submit(timed, citizen, "xin chào")
        (answer, long_took), (greeting, short_took) = long_reply.result(), short_reply.result()
    assert TOO_LONG in text_of(answer) and "2.000 ký tự" in text_of(answer)
    assert "Xin chào" in text_of(greeting)
    # before the limit: 12 s and 11 s; a generous bound, the figures are well under a second
    assert long_took < 5 and short_took < 5, (long_took, short_took)
    tracker = assistant.http.get(
        f"{assistant.url}/conversations/{attacker}/tracker", headers=assistant.api_headers
    ).json()
    assert not [e for e in tracker["events"] if e["event"] == "user"]
    assert "chào xin" not in str(tracker)
    assert channel_status(assistant)["too_long_messages"] == before + 1


def test_the_limit_is_2000_characters(assistant, user):
    me = user()
    at_limit = ("làm giấy khai sinh cần giấy tờ gì " * 60)[:2000]
    assert TOO_LONG not in text_of(assistant.say(me, at_limit))
    assert TOO_LONG in text_of(assistant.say(me, at_limit + "x"))


def test_rasa_refuses_a_body_over_one_mebibyte(assistant, user):
    response = assistant.http.post(
        f"{assistant.url}/webhooks/rest/webhook",
        json={"sender": user(), "message": "a" * (1024 * 1024 + 1)},
        headers=assistant.rest_headers,
    )
    assert response.status_code == 413


def test_a_stuck_action_server_gives_the_apology_with_the_hotline(assistant, user):
    loc = load_locality()
    # the shipped locality (generated, phones not filled yet) has no hotline: the one-stop shop
    contact = loc.hotline.phone if loc.hotline else "bộ phận một cửa nơi Bạn cư trú"
    me = user()
    before = channel_status(assistant)["failed_actions"]
    # the action server's session (its keeper, the server and its workers)
    group = os.getpgid(assistant.servers.pids()["actions"])
    os.killpg(group, signal.SIGSTOP)  # the port stays open, nothing answers (issue #11)
    try:
        started = time.perf_counter()
        answer = text_of(assistant.say(me, LOOKUP))
        took = time.perf_counter() - started
    finally:
        os.killpg(group, signal.SIGCONT)
    assert "Xin lỗi Bạn, hệ thống đang gặp sự cố" in answer and contact in answer
    assert took < 60, took  # Rasa's own limit was 300 s
    assert channel_status(assistant)["failed_actions"] == before + 1
    log = assistant.logs()
    assert "Custom action action_check_dossier_status failed (TimeoutError" in log
    assert "failed action call(s) since start" in log
    # the next call reaches the action server again
    answer = text_of(assistant.say(user(), LOOKUP))
    assert "000.00.20.H99-250415-9002" in answer and "sự cố" not in answer


# --- 4. no user text in Rasa's log ---------------------------------------------------------


def test_user_text_stays_out_of_rasas_warnings_and_errors(assistant, user):
    secret = f"bimat{uuid.uuid4().hex[:8]}"
    # an intent-like message Rasa warns about, quoting the message and its parts
    assistant.say(user(), f'/{secret}_intent{{"{secret}_entity": "{secret} 0912345678"}}')
    # and an action failure while the message is handled
    group = os.getpgid(assistant.servers.pids()["actions"])
    os.killpg(group, signal.SIGSTOP)
    try:
        assistant.say(user(), f"{LOOKUP} {secret}")
    finally:
        os.killpg(group, signal.SIGCONT)
    log = assistant.logs()
    assert "Failed to parse arguments in line '<user text>'" in log  # the warning was written
    assert secret not in log and "0912345678" not in log


# --- the project's client with the tokens ----------------------------------------------------


def test_rasa_client_sends_the_tokens(assistant, user):
    secrets = assistant.servers.secrets

    async def scenario() -> None:
        async with RasaClient(
            assistant.url,
            rest_token=secrets["RASA_REST_TOKEN"],
            auth_token=secrets["RASA_AUTH_TOKEN"],
        ) as client:
            assert await client.is_ready()
            assert "Xin chào" in text_of(await client.send(user(), "xin chào"))
            parsed = await client.parse("làm giấy khai sinh cần giấy tờ gì")
            assert parsed["intent"]["name"] == "ask_required_documents"
        async with RasaClient(assistant.url, rest_token="wrong", auth_token="wrong") as client:
            with pytest.raises(RasaRefused):
                await client.is_ready()
            with pytest.raises(RasaRefused):
                await client.send(user(), "xin chào")
            with pytest.raises(RasaRefused):
                await client.parse("xin chào")

    asyncio.run(scenario())


def test_the_health_routes_stay_open(assistant):
    assert httpx.get(f"{assistant.servers.actions_url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{assistant.url}/webhooks/rest/").json() == {"status": "ok"}


def run_terminal_chat(assistant, rest_token: str, typed: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RASA_REST_TOKEN", "RASA_AUTH_TOKEN")}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from trolydvc.cli import main; main()",
            "chat",
            "--url",
            assistant.url,
        ],
        input=typed,
        env={**env, "RASA_REST_TOKEN": rest_token, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_terminal_chat_talks_with_the_token(assistant):
    done = run_terminal_chat(
        assistant, assistant.servers.secrets["RASA_REST_TOKEN"], "xin chào\n" + "a" * 2500 + "\n"
    )
    assert done.returncode == 0, done.stderr
    assert "Trợ lý: Xin chào" in done.stdout
    assert TOO_LONG in done.stdout  # the server's reply, not a local cut
    refused = run_terminal_chat(assistant, "wrong", "xin chào\n")
    assert "từ chối kết nối" in refused.stderr and "Xin chào" not in refused.stdout
