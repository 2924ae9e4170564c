"""A small client for Rasa's REST channel and HTTP API, used by the terminal chat and the bot."""

from __future__ import annotations

from typing import Any

import httpx

from trolydvc.config import rasa_url


class RasaUnavailable(Exception):
    """Rasa did not answer (down, still loading its model, or too slow)."""


class RasaClient:
    """`await client.send(sender, text)` returns Rasa's bot messages (dicts with text/buttons/image)."""

    def __init__(self, base_url: str | None = None, timeout: float = 15.0) -> None:
        self.base_url = (base_url or rasa_url()).rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            payload["metadata"] = metadata
        try:
            response = await self._http.post("/webhooks/rest/webhook", json=payload)
            response.raise_for_status()
        except (httpx.HTTPError, OSError) as exc:
            raise RasaUnavailable(str(exc) or exc.__class__.__name__) from exc
        data = response.json()
        return data if isinstance(data, list) else []

    async def parse(self, text: str) -> dict[str, Any]:
        try:
            response = await self._http.post("/model/parse", json={"text": text})
            response.raise_for_status()
        except (httpx.HTTPError, OSError) as exc:
            raise RasaUnavailable(str(exc) or exc.__class__.__name__) from exc
        return response.json()

    async def is_ready(self) -> bool:
        """True once Rasa answers /status with a loaded model."""
        try:
            response = await self._http.get("/status")
        except (httpx.HTTPError, OSError):
            return False
        return response.status_code == 200 and bool(response.json().get("model_file"))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> RasaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
