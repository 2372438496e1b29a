"""Remote services: one client for OpenAI-compatible servers (the `openai` evaluation backend and the
decontamination judge) and a preflight for the Hugging Face hub.

One retry policy (connection errors and overload statuses, exponential backoff), one API-key convention
(the `api_key` given, else $OPENAI_API_KEY, else no Authorization header) and one preflight: a GET of
/models that fails in seconds, naming the way out, before any work is queued behind a dead server. The hub gets the same: one connection attempt before
a download, so an unreachable hub costs seconds instead of a library's minute of retries.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from deepmath_ext.errors import UserError, redact

log = logging.getLogger(__name__)

API_KEY_ENV = "OPENAI_API_KEY"
# Statuses a healthy server may answer while overloaded or restarting; any other status is not retried.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
PREFLIGHT_TIMEOUT_S = 5.0
HUB_URL = "https://huggingface.co"  # or $HF_ENDPOINT, as huggingface_hub reads it
TRUE_WORDS = {"1", "true", "yes", "on"}
DATA_FILE_SUFFIXES = {".parquet", ".jsonl", ".json", ".ndjson", ".csv", ".txt", ".arrow"}


class _Retryable(Exception):
    """A failure worth retrying: a connection problem or an overload status."""


class Endpoint:
    """An OpenAI-compatible base URL (ending in /v1) with the retry policy and API key of every request."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        max_retries: int = 5,
        backoff_s: float = 1.0,
    ) -> None:
        url = urllib.parse.urlsplit(base_url.rstrip("/"))
        # urllib sends no user-info: it becomes a Basic Authorization header, and leaves the URL.
        self._basic = None
        if url.username is not None:
            pair = f"{urllib.parse.unquote(url.username)}:{urllib.parse.unquote(url.password or '')}"
            self._basic = base64.b64encode(pair.encode()).decode()
            url = url._replace(netloc=url.netloc.rpartition("@")[2])
        # A query (`?api_key=...`) goes after each request's path, not between /v1 and it.
        self._query = f"?{url.query}" if url.query else ""
        self.base_url = url._replace(query="", fragment="").geturl()
        self.display_url = redact(self.base_url + self._query)  # what messages and manifests show
        self.api_key = api_key or os.environ.get(API_KEY_ENV)
        self.timeout_s, self.max_retries, self.backoff_s = timeout_s, max_retries, backoff_s
        self.retries = 0  # retried attempts so far, over all threads
        self._lock = threading.Lock()

    def preflight(self, way_out: str) -> dict[str, Any]:
        """GET /models once with a short timeout; UserError naming the URL and `way_out` when it fails."""
        try:
            return self._once("GET", "/models", None, PREFLIGHT_TIMEOUT_S)
        except (_Retryable, UserError) as error:
            raise UserError(f"cannot reach {self.display_url}: {error}; {way_out}") from None

    def get(self, path: str) -> dict[str, Any]:
        """GET `path` (e.g. "/models") with retries."""
        return self.request("GET", path)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON body to `path` (e.g. "/completions") with retries."""
        return self.request("POST", path, body)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON reply; transient failures are retried with backoff, then UserError says what failed."""
        for attempt in range(self.max_retries + 1):
            try:
                return self._once(method, path, body, self.timeout_s)
            except _Retryable as error:
                if attempt == self.max_retries:
                    raise UserError(
                        f"{method} {self.display_url + path}: gave up after {attempt + 1} attempts: {error}"
                    ) from None
                with self._lock:
                    self.retries += 1
                log.warning("%s %s: %s; retry %d/%d", method, path, error, attempt + 1, self.max_retries)
                time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def _once(self, method: str, path: str, body: dict[str, Any] | None, timeout_s: float) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif self._basic:
            headers["Authorization"] = f"Basic {self._basic}"
        data = None if body is None else json.dumps(body).encode()
        url = self.base_url + path + self._query
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:300]
            if error.code in RETRY_STATUSES:
                raise _Retryable(f"HTTP {error.code}: {detail}") from None
            raise UserError(f"{method} {self.display_url + path}: HTTP {error.code}: {detail}") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException) as error:
            # HTTPException: a reply cut short (IncompleteRead) or garbled, as a restarting server sends
            raise _Retryable(f"{type(error).__name__}: {getattr(error, 'reason', error)}") from None
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise UserError(
                f"{method} {self.display_url + path}: the reply is not JSON: {raw[:200]!r}"
            ) from None


def is_hub_id(name: str | Path) -> bool:
    """True for an `owner/name` hub id that is not a local path (`data/x.parquet` is a missing file)."""
    text = str(name)
    return (
        text.count("/") == 1
        and not text.startswith((".", "/", "~"))
        and Path(text).suffix.lower() not in DATA_FILE_SUFFIXES  # "Qwen/Qwen2.5-7B" has a "suffix"
        and not Path(text).expanduser().exists()
    )


def require_hub(resource: str, way_out: str) -> None:
    """Before a hub download of `resource`: fail in seconds, naming `way_out`, when the hub cannot be reached.

    With HF_HUB_OFFLINE set nothing is checked: the libraries then read their local cache and fail fast.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUE_WORDS:
        return
    url = urllib.parse.urlsplit(os.environ.get("HF_ENDPOINT", HUB_URL))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=PREFLIGHT_TIMEOUT_S).close()
    except OSError as error:
        raise UserError(
            f"{resource} is on the Hugging Face hub, which cannot be reached ({url.geturl()}: {error}); "
            f"{way_out}, or set HF_HUB_OFFLINE=1 to use the local cache"
        ) from None
