"""The client side of a replay's live control (:mod:`replay.control`): ``python -m replay ctl`` and a
small Python API for tools, e.g. the demo's live view (``+``/``-`` speed, space pause).

Kept light (no Kafka, no Prometheus, no feed code): ``replay ctl`` starts in a few tens of milliseconds,
which is all the CPU it takes from the replay it steers.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from typing import Any
from urllib.parse import urlsplit

DEFAULT_CONTROL_PORT = 9109  # the replayer's metrics port in deploy/ (docker-compose.yml, Dockerfile)
CONTROL_URL_ENV = "REPLAY_URL"
METRICS_PORT_ENV = "REPLAY_METRICS_PORT"
DEFAULT_TIMEOUT = 5.0


def default_url() -> str:
    """``$REPLAY_URL``, else the local replay on ``$REPLAY_METRICS_PORT`` (default 9109)."""
    if url := os.environ.get(CONTROL_URL_ENV):
        return url
    return f"http://127.0.0.1:{os.environ.get(METRICS_PORT_ENV) or DEFAULT_CONTROL_PORT}"


class ControlError(RuntimeError):
    """The replay could not be reached, or refused the command: ``str()`` is one line saying which."""


class ReplayClient:
    """Steers a running replay over HTTP; each call returns the replay's status (a dict) after it,
    with ``message`` saying what a command did. Raises :class:`ControlError`.

        client = ReplayClient("http://127.0.0.1:9109")   # default: default_url()
        client.faster(); client.slower(); client.toggle_pause(); client.status()["speed"]
    """

    def __init__(self, url: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = (url or default_url()).rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http:// URL: {self.url!r}")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"bad port in {self.url!r}: {exc}") from None
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self.timeout = timeout

    def status(self) -> dict[str, Any]:
        return self._call("GET", "/status")

    def set_speed(self, speed: float | str | None) -> dict[str, Any]:
        """``speed``: a factor, or None / ``"max"`` for max speed."""
        return self._call("POST", "/speed", "max" if speed is None else f"{speed}")

    def faster(self) -> dict[str, Any]:
        return self._call("POST", "/faster")

    def slower(self) -> dict[str, Any]:
        return self._call("POST", "/slower")

    def pause(self) -> dict[str, Any]:
        return self._call("POST", "/pause")

    def resume(self) -> dict[str, Any]:
        return self._call("POST", "/resume")

    def toggle_pause(self) -> dict[str, Any]:
        return self._call("POST", "/toggle")

    def seek(self, ts: float | str) -> dict[str, Any]:
        """``ts``: epoch seconds, or RFC 3339 text (``2009-06-13T12:00Z``)."""
        return self._call("POST", "/seek", ts if isinstance(ts, str) else repr(float(ts)))

    def _call(self, method: str, path: str, body: str | None = None) -> dict[str, Any]:
        connection_class = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = connection_class(self._host, self._port, timeout=self.timeout)
        headers = {"Content-Type": "text/plain; charset=utf-8"} if body is not None else {}
        try:
            connection.request(method, self._prefix + path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except ConnectionRefusedError:
            raise ControlError(
                f"no replay is listening at {self.url} (connection refused); start one with "
                "`python -m replay send ... --metrics-port PORT`, or pass --url"
            ) from None
        except TimeoutError:
            raise ControlError(f"{self.url} did not answer within {self.timeout:g} s") from None
        except socket.gaierror as exc:
            raise ControlError(f"cannot resolve the host of {self.url} ({exc.strerror})") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ControlError(f"cannot talk to {self.url}: {exc!r}") from None
        finally:
            connection.close()
        try:
            answer = json.loads(payload)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ControlError(
                f"{self.url}{path} answered {response.status} without a replay's JSON: is it a replay's "
                "metrics port?"
            )
        if response.status != 200:
            raise ControlError(answer.get("error") or f"{self.url}{path} answered {response.status}")
        return answer
