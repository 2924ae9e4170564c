"""What the public entry lets through, against the running cluster (nginx in front)."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.rasa, pytest.mark.postgres]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/status"),
        ("GET", "/version"),
        ("GET", "/conversations/someone/tracker"),
        ("PUT", "/model"),
        ("POST", "/model/parse"),
        ("GET", "/webhooks/rest/"),
    ],
)
def test_rasa_admin_api_is_not_routed(cluster, method, path):
    # even with the API token: nginx does not route it to Rasa (what is not the REST webhook goes
    # to the web app, which has no such route)
    headers = {"Authorization": f"Bearer {cluster.env['RASA_AUTH_TOKEN']}"}
    response = cluster.http.request(method, cluster.entry + path, headers=headers)
    assert response.status_code == 404


def test_the_entry_serves_the_web_app_not_rasa(cluster):
    """/ is the web app's commune page with the widget, never Rasa's "Hello from Rasa"."""
    response = cluster.http.get(cluster.entry + "/")
    assert response.status_code == 200 and "widget.js" in response.text
    assert "Rasa" not in response.text
    assert cluster.http.get(cluster.entry + "/quan-tri/dang-nhap").status_code == 200


def test_rest_webhook_needs_the_channel_token(cluster, user):
    url = f"{cluster.entry}/webhooks/rest/webhook"
    body = {"sender": user(), "message": "xin chào"}
    assert cluster.http.post(url, json=body).status_code == 401
    assert cluster.http.post(url, json=body, headers=cluster.rest_headers).status_code == 200
    assert cluster.http.get(url, headers=cluster.rest_headers).status_code == 403  # POST only


def test_body_size_is_limited(cluster, user):
    body = {"sender": user(), "message": "a" * 20_000}
    response = cluster.http.post(
        f"{cluster.entry}/webhooks/rest/webhook", json=body, headers=cluster.rest_headers
    )
    assert response.status_code == 413


def test_requests_per_client_address_are_limited(cluster):
    # 10 r/s with a burst of 20: 60 requests sent at once cannot all pass. From 127.0.0.2, an
    # outside address for nginx (127.0.0.1, where the front ends run, is not limited).
    url = f"{cluster.entry}/webhooks/rest/webhook"
    outside = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(timeout=30.0, transport=outside) as http:
        codes = [http.post(url, json={}).status_code for _ in range(60)]
    assert codes.count(429) >= 30
    assert set(codes) <= {401, 429}  # without the token: refused by Rasa, or by nginx first
    with httpx.Client(timeout=30.0) as http:  # from the front ends' address
        assert {http.post(url, json={}).status_code for _ in range(60)} == {401}


def test_action_servers_are_not_reachable_from_the_entry(cluster):
    for path in ("/webhook", "/health", "/actions", "/nginx-health"):
        assert cluster.http.get(cluster.entry + path).status_code == 404
