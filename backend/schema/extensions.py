"""Schema extensions: typed expected errors, masking of unexpected ones, cache reporting, the
document limits with one bounded parse and validation cache (backend.schema.documents).
Unexpected errors are masked so internals never leak."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    SchemaExtension,
)

from backend.config import Settings
from backend.errors import as_app_error
from backend.pipeline import remedies
from backend.pipeline.remedies import Door
from backend.schema.documents import DocumentCache, DocumentLimits, Documents
from backend.schema.socket import SocketSlots


class AppErrorExtensions(SchemaExtension):
    """Every error a client can act on carries `extensions.code` (and `detail` when we have one):
    our AppErrors with their own code; a request that is not valid GraphQL for this schema
    (syntax, unknown fields, variables of the wrong type) with BAD_REQUEST."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        for error in result.errors:
            original = as_app_error(error.original_error)
            if original is not None:
                error.message = original.message
                error.extensions = {
                    **(error.extensions or {}),
                    "code": original.code.upper(),
                    "status": original.status_code,
                    "detail": remedies.detail(original.detail, original.remedies, Door.GRAPHQL),
                }
                if original.remedies:
                    error.extensions["remedies"] = original.remedies
                retry_after = original.headers.get("Retry-After", "")
                if retry_after.isdigit():  # a 503 or 429: what HTTP says in Retry-After
                    error.extensions["retryAfter"] = int(retry_after)
            elif is_request_error(error):
                error.extensions = {
                    **(error.extensions or {}),
                    "code": "BAD_REQUEST",
                    "status": 400,
                    "detail": "Fix the query or its variables as the message says (see the "
                    "schema in GraphiQL at /graphql).",
                }


def is_request_error(error: GraphQLError) -> bool:
    """An error in the request itself (parse, validation, variable coercion), raised before any
    resolver ran: the client's mistake, never an internal failure."""
    return not error.path


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and as_app_error(original) is None and not is_request_error(error)


class CacheExtensions(SchemaExtension):
    """Says in the response's `extensions` whether results came from the analytics cache, and
    what the client may want to know about its filters (values no row has)."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        trace = getattr(context, "cache_trace", None)
        if trace is None:
            return {}
        found: dict[str, Any] = {}
        if trace.hits or trace.misses:
            found["cache"] = {"hits": trace.hits, "misses": trace.misses}
        if trace.warnings:
            found["warnings"] = list(dict.fromkeys(trace.warnings))
        return found


def _mask_errors() -> MaskErrors:
    return MaskErrors(should_mask_error=_should_mask)


def limits(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """How big a request may be: its tokens, its depth, its aliases and its fields, fragments
    counted each time they are spread (before any validation walk; refusals are GraphQL errors
    with BAD_REQUEST); introspection can be turned off."""
    tokens = settings.graphql_max_tokens
    documents = DocumentLimits(
        depth=settings.graphql_max_depth,
        aliases=settings.graphql_max_aliases,
        fields=settings.graphql_max_fields,
        repeats=settings.graphql_max_repeats,
    )
    cache = DocumentCache()  # one per schema, shared by its requests
    found: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=tokens),
        lambda: Documents(cache, documents),
    ]
    if not settings.graphql_introspection:
        found.append(DisableIntrospection)
    return found


def schema_extensions(
    settings: Settings, slots: asyncio.Semaphore
) -> list[type[SchemaExtension] | Callable[[], SchemaExtension]]:
    return [
        lambda: SocketSlots(slots),  # first: the slot is held around the others' work
        *limits(settings),
        AppErrorExtensions,
        _mask_errors,
        CacheExtensions,
    ]
