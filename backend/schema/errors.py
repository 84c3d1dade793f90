"""Expected errors (AppError) reach GraphQL clients with a code and what to change; anything else
is masked so internals never leak."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

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


def _mask_errors() -> MaskErrors:
    return MaskErrors(should_mask_error=_should_mask)


def error_extensions() -> list[type[SchemaExtension] | Callable[[], SchemaExtension]]:
    return [AppErrorExtensions, _mask_errors]
