"""Schema extensions: typed expected errors, masking of unexpected ones, cache reporting, bounded
parser and validation caches. Unexpected errors are masked so internals never leak."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension, ValidationCache

from backend.errors import AppError


class AppErrorExtensions(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        for error in result.errors:
            original = error.original_error
            if isinstance(original, AppError):
                error.extensions = {
                    **(error.extensions or {}),
                    "code": original.code.upper(),
                    "status": original.status_code,
                    "detail": original.detail,
                }


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, AppError)


class CacheExtensions(SchemaExtension):
    """Says in the response's `extensions` whether results came from the analytics cache."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        trace = getattr(context, "cache_trace", None)
        if trace is None or not (trace.hits or trace.misses):
            return {}
        return {"cache": {"hits": trace.hits, "misses": trace.misses}}


def _mask_errors() -> MaskErrors:
    return MaskErrors(should_mask_error=_should_mask)


def schema_extensions() -> list[type[SchemaExtension] | Callable[[], SchemaExtension]]:
    return [
        AppErrorExtensions,
        _mask_errors,
        CacheExtensions,
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
