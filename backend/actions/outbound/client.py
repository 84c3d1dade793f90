"""The one HTTP client actions use to reach the outside.

Only http(s) URLs without a user name or password; every connection, redirects' too, goes
through the destination check (transport.py); redirects are followed by hand, at most
max_redirects, and the caller's headers are dropped when a redirect leaves the first origin;
no cookies are kept; each answer has time-outs (connect 5 s, read and write timeout_seconds)
and a total deadline, and is read up to a size limit; a download's body must also keep a
minimum rate (Pace). Failures are sentences that name the
destination only as describe_target does (no path, no query, no header value)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpcore
import httpx

from backend.actions.outbound.guard import DestinationRefused
from backend.actions.outbound.transport import GuardedTransport, Resolver

__all__ = [
    "Answer",
    "DestinationRefused",
    "Download",
    "OutboundClient",
    "OutboundFailed",
    "TooLarge",
    "describe_target",
    "refused_header",
]

CONNECT_SECONDS = 5.0
# The slowest a download may come once it has waited timeout_seconds (ACTIONS_DOWNLOAD_MIN_KB_PER_S).
DOWNLOAD_MIN_RATE = 64 * 1024
HEAD_BYTES = 1024
USER_AGENT = "sales-ingest-actions/1"
_SCHEMES = ("http", "https")


class OutboundFailed(Exception):
    """The call got no usable answer: a connection error, a time-out, a bad URL or redirect."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class TooLarge(Exception):
    """The answer is over the size limit the caller gave."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    head: bytes  # the first HEAD_BYTES of the body
    latency_ms: float
    url: str  # the final URL, after redirects


# Headers a caller may not set: the client frames the request and sets them itself (Host,
# Content-Length, Transfer-Encoding and the hop-by-hop ones), or they tell a proxy or the
# receiver where the request comes from or whom it is for (Forwarded, X-Forwarded-*, Proxy-*,
# Cookie): set by a user, they would smuggle requests or pick another virtual host.
_OWN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "forwarded",
        "cookie",
    }
)
_OWN_PREFIXES = ("proxy-", "x-forwarded-")


def refused_header(name: str) -> str | None:
    """A sentence when a caller may not set the header `name`, else None."""
    lowered = name.strip().lower()
    if lowered not in _OWN_HEADERS and not lowered.startswith(_OWN_PREFIXES):
        return None
    return (
        f"The header {name} may not be set by an action: it frames or routes the request "
        "(Host, Content-Length, Transfer-Encoding, Connection, Cookie, Forwarded, Proxy-* and "
        "X-Forwarded-* are set by the client or proxies); send the credential in a header such "
        "as Authorization or X-API-Key."
    )


def describe_target(url: str) -> str:
    """scheme://host[:port] of a URL: all that logs and delivery rows may show of it."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "an unreadable URL"
    host = parsed.host
    if not host:
        return "an unreadable URL"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{host}{port}"[:255]


def _checked(url: httpx.URL | str) -> httpx.URL:
    """The URL when it is http(s) with a host and no user name or password."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise OutboundFailed(
            "The URL could not be read; give a full http:// or https:// URL.", retryable=False
        ) from None
    if parsed.scheme not in _SCHEMES or not parsed.host:
        raise DestinationRefused(
            f"{describe_target(str(parsed))} is not an http:// or https:// URL; outbound calls "
            "use those only."
        )
    if parsed.userinfo:
        raise DestinationRefused(
            "A URL with a user name or password is refused; send credentials in a header instead."
        )
    return parsed


def _failure(
    exc: Exception, target: str, timeout_seconds: float, deadline: float
) -> OutboundFailed:
    """A sentence for an httpx error or the deadline that names the destination as `target`."""
    if isinstance(exc, httpx.TimeoutException):
        words = f"{target} did not answer within {_seconds(timeout_seconds)}"
    elif isinstance(exc, TimeoutError):
        words = f"{target} did not finish answering within {_seconds(deadline)}"
    elif isinstance(exc, httpx.ConnectError):
        words = f"Could not connect to {target} (the name did not resolve or nothing answered)"
    elif isinstance(exc, httpx.RemoteProtocolError):
        words = f"{target} broke off the answer or sent one that is not HTTP"
    else:
        words = f"The call to {target} failed ({type(exc).__name__})"
    return OutboundFailed(f"{words}; check that it is up, it will be tried again.", retryable=True)


def _seconds(value: float) -> str:
    return f"{value:g} second" if value == 1 else f"{value:g} seconds"


@dataclass(frozen=True)
class Pace:
    """The slowest a download may be: past `grace` seconds of waiting for the body, it must have
    come at `min_rate` bytes a second (as uploads' BODY_MIN_KB_PER_S), so a server that drips a
    few bytes now and then cannot hold a worker for long. Only the time spent waiting for the
    network counts, not the time the caller takes to store what came."""

    grace: float
    min_rate: int

    def left(self, received: int, waited: float) -> float:
        """Seconds the next read may wait."""
        return self.grace + received / self.min_rate - waited


class Download:
    """An answer whose body is read in chunks, at most max_bytes in all, at least as fast as
    `pace` says."""

    def __init__(
        self, response: httpx.Response, max_bytes: int, failed: _Failed, pace: Pace
    ) -> None:
        self.status = response.status_code
        self.headers = {name.lower(): value for name, value in response.headers.items()}
        self.url = str(response.url)
        self._response = response
        self._max_bytes = max_bytes
        self._failed = failed
        self._pace = pace

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes (decoded as Content-Encoding says); TooLarge past max_bytes,
        OutboundFailed (retryable) when the body comes slower than the pace."""
        declared = self.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise TooLarge(_too_large(self.url, self._max_bytes))
        body = self._response.aiter_bytes()
        loop = asyncio.get_running_loop()
        seen, waited = 0, 0.0
        try:
            while True:
                began = loop.time()
                try:
                    async with asyncio.timeout(max(self._pace.left(seen, waited), 0.0)):
                        chunk = await anext(body)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise _too_slow(self.url, self._pace, seen) from None
                waited += loop.time() - began
                seen += len(chunk)
                if seen > self._max_bytes:
                    raise TooLarge(_too_large(self.url, self._max_bytes))
                yield chunk
        except httpx.HTTPError as exc:
            raise self._failed(exc) from None


def _too_slow(url: str, pace: Pace, seen: int) -> OutboundFailed:
    rate = pace.min_rate / 1024
    return OutboundFailed(
        f"{describe_target(url)} sent the file slower than {rate:g} KiB a second (only "
        f"{seen} bytes came); check that it is up, it will be tried again, or lower "
        "ACTIONS_DOWNLOAD_MIN_KB_PER_S on the server for a slow source.",
        retryable=True,
    )


def _too_large(url: str, max_bytes: int) -> str:
    return f"The answer from {describe_target(url)} is over {max_bytes} bytes, the limit."


class _Failed:
    """Turns the failures of one call into OutboundFailed."""

    def __init__(self, target: str, timeout_seconds: float, deadline: float) -> None:
        self.target = target
        self.timeout_seconds = timeout_seconds
        self.deadline = deadline

    def __call__(self, exc: Exception) -> OutboundFailed:
        return _failure(exc, self.target, self.timeout_seconds, self.deadline)


class OutboundClient:
    """One client per process: its connection pool is shared by every action's calls."""

    def __init__(
        self,
        allowed: Sequence[str],
        *,
        timeout_seconds: float,
        max_redirects: int,
        resolver: Resolver | None = None,
        network: httpcore.AsyncNetworkBackend | None = None,
        download_min_rate: int = DOWNLOAD_MIN_RATE,
        download_seconds: float | None = None,
    ) -> None:
        """`resolver` and `network` (the backend that opens checked connections) are for tests;
        a download's body must come at `download_min_rate` bytes a second once it has waited
        timeout_seconds; `download_seconds` (tests) replaces the deadline of download_deadline."""
        self._timeout_seconds = timeout_seconds
        self._max_redirects = max_redirects
        # The whole of one send (connections, redirects, the body).
        self._send_seconds = CONNECT_SECONDS + 2 * timeout_seconds
        self._pace = Pace(timeout_seconds, download_min_rate)
        self._download_seconds = download_seconds
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(allowed, resolver=resolver, inner=network),
            timeout=httpx.Timeout(timeout_seconds, connect=CONNECT_SECONDS),
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": USER_AGENT},
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        )

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes = b"",
        max_bytes: int = HEAD_BYTES,
    ) -> Answer:
        """One call, redirects followed; the body is read up to max_bytes and the rest left
        unread (the answer keeps its first HEAD_BYTES)."""
        failed = _Failed(describe_target(url), self._timeout_seconds, self._send_seconds)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._send_seconds):
                response = await self._open(method, url, headers, content)
                try:
                    body = await _read_up_to(response, max_bytes)
                finally:
                    await response.aclose()
        except (httpx.HTTPError, TimeoutError) as exc:
            raise failed(exc) from None
        return Answer(
            status=response.status_code,
            headers={name.lower(): value for name, value in response.headers.items()},
            head=body[:HEAD_BYTES],
            latency_ms=(time.perf_counter() - started) * 1000,
            url=str(response.url),
        )

    def download(
        self, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int
    ) -> AbstractAsyncContextManager[Download]:
        """A GET whose body the caller reads with `chunks()` inside the `async with`."""
        return self._download(url, headers, max_bytes)

    def download_deadline(self, max_bytes: int) -> float:
        """Seconds a whole download of at most max_bytes may take: one send's, plus the grace
        and max_bytes at the slowest rate kept (what the pace lets the largest file take)."""
        if self._download_seconds is not None:
            return self._download_seconds
        return self._send_seconds + self._pace.grace + max_bytes / self._pace.min_rate

    @asynccontextmanager
    async def _download(
        self, url: str, headers: Mapping[str, str] | None, max_bytes: int
    ) -> AsyncIterator[Download]:
        seconds = self.download_deadline(max_bytes)
        failed = _Failed(describe_target(url), self._timeout_seconds, seconds)
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                response = await self._head(url, headers)
                try:
                    yield Download(response, max_bytes, failed, self._pace)
                finally:
                    await response.aclose()
        except httpx.HTTPError as exc:
            raise failed(exc) from None
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            raise failed(exc) from None

    async def _head(self, url: str, headers: Mapping[str, str] | None) -> httpx.Response:
        """A GET's answer up to its body, redirects followed, within one send's time: a server
        that drips its status line and headers gets no more than a webhook's receiver does."""
        try:
            async with asyncio.timeout(self._send_seconds):
                return await self._open("GET", url, headers, b"")
        except TimeoutError as exc:
            target = describe_target(url)
            raise _failure(exc, target, self._timeout_seconds, self._send_seconds) from None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _open(
        self, method: str, url: str, headers: Mapping[str, str] | None, content: bytes
    ) -> httpx.Response:
        """The final answer, streamed, after following at most max_redirects redirects."""
        request = self._client.build_request(
            method, _checked(url), headers=dict(headers or {}), content=content or None
        )
        first = request.url
        for _hop in range(self._max_redirects + 1):
            response = await self._client.send(request, stream=True)
            if not response.has_redirect_location:
                return response
            await response.aclose()
            request = self._redirect(request, response, first, headers, content)
        raise OutboundFailed(
            f"{describe_target(str(first))} redirected more than {self._max_redirects} times; "
            "give the URL the redirects end at.",
            retryable=False,
        )

    def _redirect(
        self,
        request: httpx.Request,
        response: httpx.Response,
        first: httpx.URL,
        headers: Mapping[str, str] | None,
        content: bytes,
    ) -> httpx.Request:
        """The next request of a redirect, its URL checked again; the caller's headers go only
        to the first origin."""
        try:
            target = _checked(request.url.join(response.headers["location"]))
        except httpx.InvalidURL:
            raise OutboundFailed(
                f"{describe_target(str(request.url))} redirected to a URL that could not be read.",
                retryable=False,
            ) from None
        method = _redirect_method(response.status_code, request.method)
        same_origin = (target.scheme, target.host, target.port) == (
            first.scheme,
            first.host,
            first.port,
        )
        return self._client.build_request(
            method,
            target,
            headers=dict(headers or {}) if same_origin else {},
            content=(content or None) if method == request.method else None,
        )


def _redirect_method(status: int, method: str) -> str:
    """301 and 302 turn a POST into a GET (as browsers do), 303 anything but HEAD; 307 and 308
    keep the method and the body."""
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        return "GET"
    return method


async def _read_up_to(response: httpx.Response, max_bytes: int) -> bytes:
    """At most max_bytes of the body (the rest is not read)."""
    kept = bytearray()
    async for chunk in response.aiter_bytes():
        kept += chunk[: max_bytes - len(kept)]
        if len(kept) >= max_bytes:
            break
    return bytes(kept)
