"""Parsing and validation of GraphQL documents: one cache for both, keyed by a hash of the query
and bounded in entries and in size, and the document's cost (depth, aliases, fields) checked in
time linear in its size before any validation walk or execution."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from backend.schema.cost import FragmentCycle, document_cost, most_repeated

# A parsed document takes about 80 times its query's size (measured: 12.7 kB -> 1.07 MB), and
# documents of the same query text are shared: the cache holds at most this much query text
# (about 20 MB of documents), and never a single query past an eighth of it.
CACHED_QUERY_CHARS = 256 * 1024
CACHED_ENTRIES = 256


@dataclass(frozen=True)
class DocumentLimits:
    depth: int
    aliases: int
    fields: int
    repeats: int


@dataclass
class _Entry:
    size: int
    document: DocumentNode
    operations: int
    refusal: GraphQLError | None  # what the document costs past a limit (the same every time)
    errors: list[GraphQLError] | None = None  # validation's answer, once asked


class DocumentCache:
    """Least recently used documents by the SHA-256 of their query (a key never holds the query
    text itself), within CACHED_ENTRIES and CACHED_QUERY_CHARS."""

    def __init__(
        self, entries: int = CACHED_ENTRIES, query_chars: int = CACHED_QUERY_CHARS
    ) -> None:
        self.entries = entries
        self.query_chars = query_chars
        self._found: OrderedDict[bytes, _Entry] = OrderedDict()
        self._chars = 0

    @staticmethod
    def key(query: str, options: dict[str, Any]) -> bytes:
        digest = hashlib.sha256(query.encode("utf-8", "surrogatepass"))
        digest.update(repr(sorted(options.items())).encode())
        return digest.digest()

    def get(self, key: bytes) -> _Entry | None:
        entry = self._found.get(key)
        if entry is not None:
            self._found.move_to_end(key)
        return entry

    def put(self, key: bytes, entry: _Entry) -> None:
        if entry.size > self.query_chars // 8 or key in self._found:
            return
        self._found[key] = entry
        self._chars += entry.size
        while len(self._found) > self.entries or self._chars > self.query_chars:
            _, dropped = self._found.popitem(last=False)
            self._chars -= dropped.size

    @property
    def size(self) -> int:
        """The query text behind the cached documents, in characters."""
        return self._chars


def refusal_of(document: DocumentNode, limits: DocumentLimits) -> GraphQLError | None:
    try:
        cost = document_cost(document)
    except FragmentCycle as cycle:
        return GraphQLError(
            f"Fragment '{cycle.name}' spreads itself (directly or through other fragments). "
            "Remove the cycle."
        )
    if cost.depth > limits.depth:
        return GraphQLError(
            f"The query nests fields {cost.depth} levels deep, more than the maximum depth of "
            f"{limits.depth}. Ask for less nested fields."
        )
    if cost.aliases > limits.aliases:
        return GraphQLError(
            f"The query uses {_count(cost.aliases)} aliases (each fragment counted every time "
            f"it is spread), more than the limit of {limits.aliases}. Use fewer aliases."
        )
    if cost.fields > limits.fields:
        return GraphQLError(
            f"The query selects {_count(cost.fields)} fields (each fragment counted every time "
            f"it is spread), more than the limit of {limits.fields}. Select fewer fields, or "
            "spread fragments fewer times."
        )
    # Last: within the limits above, counting the keys of a level costs little.
    repeats = most_repeated(document, limits.repeats)
    if repeats > limits.repeats:
        return GraphQLError(
            f"The query selects one field {_count(repeats)} times side by side (each fragment "
            f"counted every time it is spread), more than the limit of {limits.repeats}. Select "
            "each field once per level, or give the copies different arguments under aliases."
        )
    return None


def _count(value: int) -> str:
    return f"{value}" if value < 1_000_000_000 else "more than a billion"


class Documents(SchemaExtension):
    """Parses through the cache, refuses a document that costs too much (or names several
    operations without saying which to run) before validation, validates through the cache.
    A query that does not parse is left to Strawberry, which says why."""

    def __init__(self, cache: DocumentCache, limits: DocumentLimits) -> None:
        self.cache = cache
        self.limits = limits
        self.entry: _Entry | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and context.graphql_document is None:
            options = dict(context.parse_options)
            key = DocumentCache.key(context.query, options)
            self.entry = self.cache.get(key) or self._parsed(context.query, options)
            if self.entry is not None:
                context.graphql_document = self.entry.document
                self.cache.put(key, self.entry)
        yield

    def _parsed(self, query: str, options: dict[str, Any]) -> _Entry | None:
        try:
            document = parse(query, **options)
        except GraphQLError:
            return None
        operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
        return _Entry(len(query), document, operations, refusal_of(document, self.limits))

    def on_validate(self) -> Iterator[None]:
        context, entry = self.execution_context, self.entry
        if entry is not None and context.pre_execution_errors is None:
            if entry.refusal is not None:
                context.pre_execution_errors = [entry.refusal]
            elif context._provided_operation_name is None and entry.operations > 1:
                # The spec's rule; Strawberry would run the first one.
                context.pre_execution_errors = [
                    GraphQLError(
                        "the document has several operations: say which to run in operationName"
                    )
                ]
            else:
                if entry.errors is None:
                    entry.errors = validate_document(
                        context.schema._schema, entry.document, context.validation_rules
                    )
                context.pre_execution_errors = list(entry.errors)
        yield
