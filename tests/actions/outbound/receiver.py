"""A real HTTP server on 127.0.0.1 for the outbound tests: it records every request and answers
as the test scripts it (a status, headers and a body, or no answer at all)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.services import free_port


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: bool = False  # accept the request and never answer
    length: bool = True  # send Content-Length (else the body ends when the connection closes)
    drip: float = 0.0  # seconds between the body's bytes


Script = Callable[[Seen], Reply]


class Receiver:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.hits: list[Seen] = []
        self.port = free_port()
        self.stopping = threading.Event()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(receiver: Receiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                method=self.command,
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self.rfile.read(size) if size else b"",
            )
            receiver.hits.append(seen)
            reply = receiver.script(seen)
            if reply.hang:
                receiver.stopping.wait(30)
                self.close_connection = True
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.length:
                self.send_header("Content-Length", str(len(reply.body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command == "HEAD":
                return
            if not reply.drip:
                self.wfile.write(reply.body)
                return
            for byte in reply.body:
                if receiver.stopping.wait(reply.drip):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

        do_GET = do_POST = do_HEAD = do_PUT = _answer  # noqa: N815 (http.server's names)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def receiving(script: Script) -> Iterator[Receiver]:
    """A server answering as `script` says, stopped (hanging answers released) at the end."""
    receiver = Receiver(script)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", receiver.port), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def always(reply: Reply) -> Script:
    return lambda _seen: reply
