"""The client's side of HTTP: the service's answers as JSON, its refusals as a Stop carrying
the exit code and the message to print."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from backend.client.advice import in_cli_words

OK, FAILED, USAGE = 0, 1, 2
Advice = dict[int, str]  # by status code: what to do, in this client's terms
TOKEN_ADVICE = "an admin creates tokens with `python -m backend tokens create`"


class Stop(Exception):
    """Ends the command with `code` after printing `message` (to stderr)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Token:
    value: str
    source: str  # where it came from, for messages: --token, $SALES_INGEST_TOKEN or the file


class Api:
    def __init__(
        self, url: str, token: Token | None, timeout: float, command: str = "upload"
    ) -> None:
        headers = {"Authorization": f"Bearer {token.value}"} if token else {}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=timeout)
        self.url = url
        self.token = token
        self.command = command  # the service's advice is said in this command's flags

    def call(
        self,
        method: str,
        path: str,
        advice: Advice | None = None,
        *,
        unchecked: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """The answer; an error answer is a Stop (`advice`: this client's words, by status
        code, in place of the service's advice in REST terms), unless `unchecked`."""
        try:
            response = self.client.request(method, path, **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise Stop(USAGE, f"cannot reach {self.url}: {exc}") from exc
        if not unchecked:
            check(response, self.token, advice, self.command)
        return response

    def json(
        self, method: str, path: str, advice: Advice | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The answer's JSON object; a Stop when it is none (--url is not the service)."""
        response = self.call(method, path, advice, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            kind = response.headers.get("content-type") or "no content type"
            raise Stop(
                USAGE,
                f"{self.url} did not answer {path} with a JSON object (HTTP "
                f"{response.status_code}, {kind}); is --url the service's address?",
            )
        return body

    def check(self, response: httpx.Response) -> None:
        check(response, self.token, command=self.command)

    def graphql(self, query: str) -> dict[str, Any]:
        body = self.json("POST", "/graphql", json={"query": query})
        if body.get("errors"):
            raise Stop(USAGE, f"the service refused the query: {body['errors'][0]['message']}")
        data: dict[str, Any] = body["data"]
        return data


def check(
    response: httpx.Response,
    token: Token | None,
    advice: Advice | None = None,
    command: str = "upload",
) -> None:
    """An error answer becomes a Stop with the service's own message and advice in `command`'s
    words (a redirect too: the client does not follow them, so --url should be the address
    redirected to)."""
    if response.status_code < 300:
        return
    if response.status_code < 400:
        where = response.headers.get("location") or "elsewhere"
        raise Stop(
            USAGE,
            f"{response.status_code}: {response.url} redirects to {where}; "
            "pass the service's own address as --url",
        )
    try:
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        said = in_cli_words(str(body.get("error") or body), command)
        detail = body.get("detail")
        detail = in_cli_words(str(detail), command) if detail else None
    except ValueError:
        said, detail = response.text[:200] or response.reason_phrase, None
    instead = (advice or {}).get(response.status_code)
    if instead is not None:
        message = f"{response.status_code}: {said} {instead}"
    else:
        message = f"{response.status_code}: {said}" + (f" ({detail})" if detail else "")
    if response.status_code == 401:
        message += "\n" + refused(token)
    raise Stop(USAGE, message)


def refused(token: Token | None) -> str:
    """Advice for a 401: no token was sent, or the one sent was not accepted."""
    if token is None:
        return f"Pass --token, or set SALES_INGEST_TOKEN ({TOKEN_ADVICE})."
    return (
        f"The token from {token.source} was refused: it is wrong, revoked or expired. "
        f"Check it, or use a new one ({TOKEN_ADVICE})."
    )
