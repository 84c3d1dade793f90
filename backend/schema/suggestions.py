"""graphql-core's "Did you mean 'accessLogs'?" names fields, arguments, types and enum values the
caller did not know: with introspection off they would reveal the schema piece by piece. They are
taken out of every error message then, and always for callers without a token."""

from __future__ import annotations

import re

from graphql import GraphQLError

from backend.auth.principal import Principal

# did_you_mean(): " Did you mean 'A'?", "... 'A' or 'B'?", "... 'A', 'B', or 'C'?", with a
# sub-message such as "the enum value" or "to use an inline fragment on" before the names.
_SUGGESTION = re.compile(
    r" Did you mean (?:[a-z][a-z ]*? )?'[_A-Za-z0-9]+'(?:(?:,|, or| or) '[_A-Za-z0-9]+')*\?"
)


def hidden_for(principal: Principal | None, introspection: bool) -> bool:
    return not introspection or principal is None or principal.kind == "anonymous"


def without_suggestions(errors: list[GraphQLError]) -> list[GraphQLError]:
    """The errors with their suggestions taken out (copies: validation's errors are cached)."""
    return [_without(error) for error in errors]


def _without(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )
