"""The tests' one local HTTP server: an OpenAI-compatible stand-in whose replies a function decides."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# reply(method, path, JSON body or None) -> (HTTP status, JSON-ready payload, or raw bytes sent as they are,
# or Cut(bytes): sent under a Content-Length promising more, then the connection closes, as a crashing server)
Reply = Callable[[str, str, Any], tuple[int, Any]]


class Cut(bytes):
    """A reply body cut short: the client reads fewer bytes than promised (http.client.IncompleteRead)."""


class StubServer(ThreadingHTTPServer):
    """Serves on a free local port from a thread; records every request as {"method", "path", **body}."""

    daemon_threads = True

    def __init__(self, reply: Reply | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self._reply = reply or self.reply
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ending in /v1."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def reply(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """Subclasses answer here when no reply function is given."""
        raise NotImplementedError

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timed out) before the reply is no server error; anything else is printed."""
        import sys

        if not isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            super().handle_error(request, client_address)

    def close(self) -> None:
        """Stop serving and release the port."""
        self.shutdown()
        self.server_close()

    def __enter__(self) -> StubServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    server: StubServer

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        with self.server._lock:
            self.server.requests.append({"method": method, "path": self.path, **(body or {})})
        status, payload = self.server._reply(method, self.path, body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data) + (100 if isinstance(payload, Cut) else 0)))
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = isinstance(payload, Cut)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")
