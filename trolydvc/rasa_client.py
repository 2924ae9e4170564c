"""A small client for Rasa's REST channel and HTTP API, used by the terminal chat and the bot.

Both are protected (README "Security"): the REST channel by RASA_REST_TOKEN, the HTTP API by
RASA_AUTH_TOKEN, each sent as ``Authorization: Bearer`` (never in the URL, so never in a
request log). By default the tokens come from trolydvc.config: the environment, else the ones
`trolydvc serve` keeps in var/secrets.json.
"""

from __future__ import annotations

from typing import Any

import httpx

from trolydvc.config import rasa_auth_token, rasa_rest_token, rasa_url


class RasaUnavailable(Exception):
    """Rasa did not answer (down, still loading its model, or too slow)."""


class RasaRefused(RasaUnavailable):
    """Rasa refused the request: a missing or wrong token (401/403) or a body too large (413)."""

    def __init__(self, status: int) -> None:
        self.status = status
        reason = "request body too large" if status == 413 else "missing or wrong token"
        super().__init__(f"{status}: {reason}")


class RasaClient:
    """`await client.send(sender, text)` returns Rasa's bot messages (dicts with text/buttons/image)."""

    def __init__(
        self,
        base_url: str | None = None,
        timeout: float = 15.0,
        rest_token: str | None = None,
        auth_token: str | None = None,
    ) -> None:
        self.base_url = (base_url or rasa_url()).rstrip("/")
        self._rest = _bearer(rest_token or rasa_rest_token())
        self._api = _bearer(auth_token or rasa_auth_token())
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def _request(
        self, method: str, path: str, headers: dict[str, str], **kwargs: Any
    ) -> httpx.Response:
        try:
            response = await self._http.request(method, path, headers=headers, **kwargs)
        except (httpx.HTTPError, OSError) as exc:
            raise RasaUnavailable(str(exc) or exc.__class__.__name__) from exc
        if response.status_code in (401, 403, 413):
            raise RasaRefused(response.status_code)
        try:
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(str(exc) or exc.__class__.__name__) from exc
        return response

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            payload["metadata"] = metadata
        response = await self._request("POST", "/webhooks/rest/webhook", self._rest, json=payload)
        data = response.json()
        return data if isinstance(data, list) else []

    async def parse(self, text: str) -> dict[str, Any]:
        response = await self._request("POST", "/model/parse", self._api, json={"text": text})
        return response.json()

    async def is_ready(self) -> bool:
        """True once the REST channel reports a loaded model; raises RasaRefused when the
        token is refused (the caller can say so instead of "not running")."""
        try:
            response = await self._request("GET", "/webhooks/rest/status", self._rest)
        except RasaRefused:
            raise
        except RasaUnavailable:
            return False
        return bool(response.json().get("ready"))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> RasaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
