"""A document's cost (depth, aliases, fields) is counted in time linear in its size and refused
before any validation walk: fragments that each spread the previous one twice made the depth and
alias limiters walk 2^n paths (n=22 froze the process for 63 s, /healthz too)."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import App, Backend, app_for
from tests.e2e.processes import process_env, uvicorn_server


def fan_out(n: int, leaf: str = "a: __typename") -> str:
    """F0 selects `leaf`; each next fragment spreads the previous one twice: 2^n leaves."""
    fragments = [f"fragment F0 on Query {{ {leaf} }}"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, n + 1)]
    return f"query {{ ...F{n} }}\n" + "\n".join(fragments)


def refusal(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["data"] is None and body["errors"], body
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST", error
    return error


class HealthProbe(threading.Thread):
    """Asks /healthz every 50 ms and keeps its slowest answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.slowest, self.failures = url, 0.0, 0
        self.done = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.done.is_set():
                began = time.perf_counter()
                if client.get("/healthz").status_code != 200:
                    self.failures += 1
                self.slowest = max(self.slowest, time.perf_counter() - began)
                time.sleep(0.05)


def test_fragment_fan_outs_are_refused_in_time_linear_in_the_document(
    embedded: Backend, tmp_path: Path
) -> None:
    env = process_env(embedded.env, AUTH_ANONYMOUS_ROLE="none")  # the attack needs no token
    cross_site = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    with (
        uvicorn_server(env, tmp_path / "server.log") as url,
        httpx.Client(base_url=url, timeout=15) as client,
    ):
        probe = HealthProbe(url)
        probe.start()
        times: dict[tuple[str, int], float] = {}
        try:
            for n in range(10, 25, 2):
                for method in ("POST", "GET"):
                    best = float("inf")
                    for _ in range(3):
                        began = time.perf_counter()
                        if method == "POST":
                            answer = client.post("/graphql", json={"query": fan_out(n)})
                        else:
                            answer = client.get(
                                "/graphql", params={"query": fan_out(n)}, headers=cross_site
                            )
                        best = min(best, time.perf_counter() - began)
                        assert str(2**n) in refusal(answer)["message"]
                    times[method, n] = best
        finally:
            probe.done.set()
            probe.join()
    for method in ("POST", "GET"):
        # 2^14 times the paths: linear in the document means about 2.4 times its size
        assert times[method, 24] < 5 * max(times[method, 10], 0.05), times
    assert probe.failures == 0 and probe.slowest < 2.0, probe.slowest


HEALTH = "fragment H on Query { health { checks { name } } }"


@pytest.mark.parametrize(
    ("query", "said"),
    [
        (fan_out(12, leaf="__typename"), "4096 fields"),  # no alias, no depth: the field count
        (fan_out(40, leaf="rowCount"), "more than a billion fields"),
        ("{ ...A } fragment A on Query { ...B } fragment B on Query { rowCount ...A }", "cycle"),
        (f"{{ ...H ...H }} {HEALTH}", None),  # a fragment spread twice is fine
        # One field side by side: validation compared every two copies (490: 2 s of the loop; 240 here, within the field limit).
        ("{" + " health { status }" * 240 + "}", "one field 240 times side by side"),
        ("{ health { " + " checks { name }" * 11 + " } }", "11 times side by side"),
        ("{ ...R ...R } fragment R on Query { health { checks { name } } }", None),
        ("{" + " ...R" * 11 + " } fragment R on Query { health { status } }", "11 times"),
        ("{" + " health { checks { name } }" * 10 + "}", None),  # at the limit
    ],
)
async def test_costly_documents_are_refused_and_cheap_ones_run(
    app: App, query: str, said: str | None
) -> None:
    answer = await app.client.post("/graphql", json={"query": query})
    if said is None:
        assert answer.json()["data"]["health"]["checks"], answer.text
    else:
        assert said in refusal(answer)["message"]


async def test_depth_is_counted_through_the_fragments_spread(embedded: Backend) -> None:
    shallow = dataclasses.replace(
        embedded, settings=embedded.settings.model_copy(update={"graphql_max_depth": 1})
    )
    async with app_for(shallow) as app:
        flat = "{ ...S } fragment S on Query { health { status } }"
        fits = await app.client.post("/graphql", json={"query": flat})
        assert fits.json()["data"]["health"]["status"], fits.text
        inside = "{ health { ...C } } fragment C on Health { checks { name } }"
        for query in (f"{{ ...H }} {HEALTH}", inside):
            answer = await app.client.post("/graphql", json={"query": query})
            assert "more than the maximum depth of 1" in refusal(answer)["message"], query
