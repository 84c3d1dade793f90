"""The outbound client against a real HTTP server on 127.0.0.1: what it reaches, what it
refuses (the server's hit counter stays at 0), redirects, time-outs and size limits."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager

import httpcore
import httpx
import pytest

from backend.actions.outbound.client import (
    DestinationRefused,
    OutboundClient,
    OutboundFailed,
    TooLarge,
    describe_target,
)
from backend.actions.outbound.transport import GuardedTransport, SocketOption
from tests.actions.outbound.receiver import Reply, Seen, always, receiving

ALLOWED = ["127.0.0.1"]


class Recording(httpcore.AsyncNetworkBackend):
    """The real backend, recording every address it is asked to connect to."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@pytest.fixture
async def client() -> AsyncIterator[OutboundClient]:
    made = OutboundClient(ALLOWED, timeout_seconds=2, max_redirects=2)
    yield made
    await made.aclose()


async def test_an_allowed_receiver_is_reached_and_a_refused_one_gets_nothing() -> None:
    with receiving(always(Reply(200, {"X-Kind": "ok"}, b"thanks"))) as receiver:
        allowed = OutboundClient(ALLOWED, timeout_seconds=2, max_redirects=2)
        closed = OutboundClient([], timeout_seconds=2, max_redirects=2)
        try:
            with pytest.raises(DestinationRefused) as refusal:
                await closed.send("POST", receiver.url("/hook"), content=b"{}")
            assert receiver.hits == []
            answer = await allowed.send("POST", receiver.url("/hook?x=1"), content=b"{}")
        finally:
            await allowed.aclose()
            await closed.aclose()
    assert refusal.value.reason == (
        "127.0.0.1 is a loopback address; outbound calls go only to public addresses unless "
        "ACTIONS_ALLOWED_HOSTS names it."
    )
    assert (answer.status, answer.head, answer.headers["x-kind"]) == (200, b"thanks", "ok")
    assert answer.url == receiver.url("/hook?x=1") and answer.latency_ms > 0
    assert [(hit.method, hit.path, hit.body) for hit in receiver.hits] == [
        ("POST", "/hook?x=1", b"{}")
    ]


async def test_the_guard_is_in_the_transport_httpx_uses() -> None:
    # GuardedTransport replaces httpx's private pool: if a new httpx stopped using `_pool`,
    # this request would reach the listening server.
    with receiving(always(Reply(200))) as receiver:
        async with httpx.AsyncClient(transport=GuardedTransport([])) as plain:
            with pytest.raises(DestinationRefused):
                await plain.get(receiver.url())
        assert receiver.hits == []
        async with httpx.AsyncClient(transport=GuardedTransport(ALLOWED)) as plain:
            assert (await plain.get(receiver.url())).status_code == 200
        assert len(receiver.hits) == 1


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://127.0.0.1/file.csv", "is not an http:// or https:// URL"),
        ("file:///etc/passwd", "is not an http:// or https:// URL"),
        ("http://user:pw@127.0.0.1:{port}/", "A URL with a user name or password is refused"),
        ("http://[::1]:{port}/", "::1 is a loopback address"),
    ],
)
async def test_urls_other_than_plain_http_are_refused_before_any_connection(
    client: OutboundClient, url: str, words: str
) -> None:
    with receiving(always(Reply(200))) as receiver:
        with pytest.raises(DestinationRefused, match=words.replace("(", r"\(")):
            await client.send("GET", url.format(port=receiver.port))
        assert receiver.hits == []


async def test_a_redirect_to_the_metadata_address_is_refused_without_connecting() -> None:
    network = Recording()
    client = OutboundClient(ALLOWED, timeout_seconds=2, max_redirects=3, network=network)
    script = always(Reply(302, {"Location": "http://169.254.169.254/latest/meta-data/"}))
    try:
        with receiving(script) as receiver:
            with pytest.raises(DestinationRefused, match="169.254.169.254 is a link-local"):
                await client.send("POST", receiver.url("/hook"), content=b"{}")
    finally:
        await client.aclose()
    assert len(receiver.hits) == 1
    assert network.connects == [("127.0.0.1", receiver.port)]


async def test_a_redirect_loop_stops_after_max_redirects_with_a_sentence(
    client: OutboundClient,
) -> None:
    with receiving(always(Reply(302, {"Location": "/again"}))) as receiver:
        with pytest.raises(OutboundFailed) as failed:
            await client.send("GET", receiver.url("/start"))
    assert failed.value.reason == (
        f"http://127.0.0.1:{receiver.port} redirected more than 2 times; give the URL the "
        "redirects end at."
    )
    assert failed.value.retryable is False
    assert [hit.path for hit in receiver.hits] == ["/start", "/again", "/again"]


async def test_a_redirect_is_followed_and_a_post_becomes_a_get_on_302(
    client: OutboundClient,
) -> None:
    def script(seen: Seen) -> Reply:
        if seen.path == "/old":
            return Reply(302, {"Location": "/new"})
        return Reply(200, body=b"moved here")

    with receiving(script) as receiver:
        answer = await client.send(
            "POST", receiver.url("/old"), headers={"X-Token": "t0ken"}, content=b"{}"
        )
    assert (answer.status, answer.head, answer.url) == (200, b"moved here", receiver.url("/new"))
    assert [(hit.method, hit.path) for hit in receiver.hits] == [("POST", "/old"), ("GET", "/new")]
    # Same origin: the caller's header goes along.
    assert receiver.hits[1].headers["x-token"] == "t0ken"


async def test_the_callers_headers_do_not_follow_a_redirect_to_another_origin(
    client: OutboundClient,
) -> None:
    with receiving(always(Reply(200, body=b"other"))) as other:
        moved = always(Reply(307, {"Location": other.url("/elsewhere")}))
        with receiving(moved) as first:
            answer = await client.send("GET", first.url("/"), headers={"X-Token": "t0ken"})
    assert answer.head == b"other"
    assert first.hits[0].headers["x-token"] == "t0ken"
    assert "x-token" not in other.hits[0].headers


async def test_send_keeps_the_first_kilobyte_of_a_long_answer(client: OutboundClient) -> None:
    with receiving(always(Reply(200, body=b"a" * 5000))) as receiver:
        answer = await client.send("GET", receiver.url())
    assert answer.head == b"a" * 1024


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "until-close"])
async def test_a_download_over_max_bytes_raises_too_large(
    client: OutboundClient, length: bool
) -> None:
    with receiving(always(Reply(200, body=b"x" * 50_000, length=length))) as receiver:
        got = bytearray()
        with pytest.raises(TooLarge) as too_large:
            async with client.download(receiver.url("/big.csv"), max_bytes=10_000) as download:
                assert download.status == 200
                async for chunk in download.chunks():
                    got += chunk
    assert len(got) <= 10_000
    assert too_large.value.reason == (
        f"The answer from http://127.0.0.1:{receiver.port} is over 10000 bytes, the limit."
    )


async def test_a_download_within_max_bytes_gives_every_byte(client: OutboundClient) -> None:
    body = b"".join(b"%d,row\n" % i for i in range(5000))
    with receiving(always(Reply(200, {"ETag": '"v1"'}, body))) as receiver:
        async with client.download(receiver.url("/sales.csv"), max_bytes=len(body)) as download:
            got = b"".join([chunk async for chunk in download.chunks()])
    assert got == body
    assert download.headers["etag"] == '"v1"' and download.url == receiver.url("/sales.csv")


async def test_a_server_that_never_answers_times_out_and_may_be_retried() -> None:
    client = OutboundClient(ALLOWED, timeout_seconds=0.5, max_redirects=2)
    started = time.monotonic()
    try:
        with receiving(always(Reply(hang=True))) as receiver:
            with pytest.raises(OutboundFailed) as failed:
                await client.send("POST", receiver.url("/slow?token=s3cret"), content=b"{}")
    finally:
        await client.aclose()
    assert time.monotonic() - started < 5
    assert failed.value.retryable is True
    assert failed.value.reason == (
        f"http://127.0.0.1:{receiver.port} did not answer within 0.5 seconds; check that it is "
        "up, it will be tried again."
    )


async def test_a_download_that_drips_slower_than_the_deadline_fails_in_time() -> None:
    # Each byte comes well within the read time-out; the whole never comes within the deadline.
    client = OutboundClient(ALLOWED, timeout_seconds=2, max_redirects=2, download_seconds=1)
    started = time.monotonic()
    got = bytearray()
    try:
        with receiving(always(Reply(200, body=b"y" * 100, drip=0.05))) as receiver:
            with pytest.raises(OutboundFailed) as failed:
                async with client.download(receiver.url("/slow.csv"), max_bytes=1000) as download:
                    async for chunk in download.chunks():
                        got += chunk
    finally:
        await client.aclose()
    assert time.monotonic() - started < 4
    assert 0 < len(got) < 100
    assert failed.value.retryable is True
    assert failed.value.reason == (
        f"http://127.0.0.1:{receiver.port} did not finish answering within 1 second; check "
        "that it is up, it will be tried again."
    )


async def test_a_closed_port_is_a_retryable_failure_that_names_only_the_target(
    client: OutboundClient,
) -> None:
    with receiving(always(Reply(200))) as receiver:
        port = receiver.port
    # The server is stopped: nothing listens on the port any more.
    with pytest.raises(OutboundFailed) as failed:
        await client.send("GET", f"http://127.0.0.1:{port}/private/path?api_key=s3cret")
    assert failed.value.retryable is True
    assert failed.value.reason.startswith(f"Could not connect to http://127.0.0.1:{port} ")
    assert "s3cret" not in failed.value.reason and "/private" not in failed.value.reason


def test_describe_target_keeps_scheme_host_and_port_only() -> None:
    assert describe_target("https://u:p@hooks.example.com/a/b?token=x#f") == (
        "https://hooks.example.com"
    )
    assert describe_target("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080"
    assert describe_target("http://[::1]:81/") == "http://[::1]:81"
    assert describe_target("not a url at all") == "an unreadable URL"


async def test_a_name_is_resolved_and_refused_or_allowed_by_its_name() -> None:
    # localhost resolves from the hosts file: no packet leaves this machine.
    with receiving(always(Reply(200, body=b"hi"))) as receiver:
        url = f"http://localhost:{receiver.port}/"
        closed = OutboundClient([], timeout_seconds=2, max_redirects=2)
        try:
            with pytest.raises(DestinationRefused) as refusal:
                await closed.send("GET", url)
        finally:
            await closed.aclose()
        # The sentence says the name is not public, not what kind of address it resolves to.
        assert refusal.value.reason == (
            "localhost is not a public address; outbound calls go only to public addresses "
            "unless ACTIONS_ALLOWED_HOSTS names it."
        )
        assert receiver.hits == []
        named = OutboundClient(["LOCALHOST"], timeout_seconds=2, max_redirects=2)
        try:
            answer = await named.send("GET", url)
        finally:
            await named.aclose()
    assert (answer.status, answer.head) == (200, b"hi")


async def test_an_allowed_host_with_a_port_is_reached_on_that_port_only() -> None:
    with receiving(always(Reply(200, body=b"hi"))) as receiver:
        with receiving(always(Reply(200, body=b"other"))) as other:
            client = OutboundClient(
                [f"127.0.0.1:{receiver.port}"], timeout_seconds=2, max_redirects=2
            )
            try:
                answer = await client.send("GET", receiver.url("/"))
                with pytest.raises(DestinationRefused) as refusal:
                    await client.send("GET", other.url("/"))
            finally:
                await client.aclose()
    assert (answer.status, answer.head) == (200, b"hi")
    assert other.hits == []
    assert refusal.value.reason == (
        f"127.0.0.1 may not be called on port {other.port}: ACTIONS_ALLOWED_HOSTS names it "
        "with other ports only."
    )


async def test_a_download_slower_than_the_minimum_rate_fails_after_the_grace() -> None:
    # 50 bytes a second, each byte well within the read time-out: the old flat deadline of
    # 900 seconds let such a server hold a worker for a quarter of an hour.
    client = OutboundClient(ALLOWED, timeout_seconds=0.5, max_redirects=2, download_min_rate=1024)
    started = time.monotonic()
    got = bytearray()
    try:
        with receiving(always(Reply(200, body=b"y" * 500, drip=0.02))) as receiver:
            with pytest.raises(OutboundFailed) as failed:
                async with client.download(receiver.url("/slow.csv"), max_bytes=10_000) as download:
                    async for chunk in download.chunks():
                        got += chunk
    finally:
        await client.aclose()
    assert time.monotonic() - started < 3
    assert 0 < len(got) < 500
    assert failed.value.retryable is True
    assert failed.value.reason == (
        f"http://127.0.0.1:{receiver.port} sent the file slower than 1 KiB a second (only "
        f"{len(got)} bytes came); check that it is up, it will be tried again, or lower "
        "ACTIONS_DOWNLOAD_MIN_KB_PER_S on the server for a slow source."
    )


async def test_a_download_at_the_minimum_rate_or_faster_gives_every_byte() -> None:
    # 2 KiB in about half a second: faster than the 1 KiB a second asked, past the grace.
    client = OutboundClient(ALLOWED, timeout_seconds=0.5, max_redirects=2, download_min_rate=1024)
    body = b"z" * 2048
    try:
        with receiving(always(Reply(200, body=body, drip=0.0002))) as receiver:
            async with client.download(receiver.url("/ok.csv"), max_bytes=10_000) as download:
                got = b"".join([chunk async for chunk in download.chunks()])
    finally:
        await client.aclose()
    assert got == body


async def test_the_download_deadline_follows_the_size_limit_and_the_rate() -> None:
    client = OutboundClient(ALLOWED, timeout_seconds=10, max_redirects=2)
    try:
        # One send (5 s to connect, 2 x 10 s), the grace (10 s), the limit at 64 KiB a second.
        assert client.download_deadline(10 * 1024 * 1024) == 5 + 20 + 10 + 160
        assert client.download_deadline(64 * 1024) == 5 + 20 + 10 + 1
    finally:
        await client.aclose()


@contextmanager
def dripping_head() -> Iterator[int]:
    """A server on 127.0.0.1 that answers a status line, then one header byte at a time, for
    ever (its port)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not stop.wait(0.05):
                    connection.sendall(b"a")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(5)


async def test_a_download_whose_headers_drip_fails_within_one_sends_time() -> None:
    # Every byte within the read time-out; the head never ends. The whole download's deadline
    # (the size limit at the minimum rate) would be far longer than one send's.
    client = OutboundClient(ALLOWED, timeout_seconds=0.2, max_redirects=2, download_min_rate=1024)
    started = time.monotonic()
    try:
        with dripping_head() as port:
            with pytest.raises(OutboundFailed) as failed:
                async with client.download(f"http://127.0.0.1:{port}/", max_bytes=100_000):
                    pass
    finally:
        await client.aclose()
    assert client.download_deadline(100_000) > 90
    assert time.monotonic() - started < 8
    assert failed.value.retryable is True
    assert failed.value.reason == (
        f"http://127.0.0.1:{port} did not finish answering within 5.4 seconds; check that it "
        "is up, it will be tried again."
    )
