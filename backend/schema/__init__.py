"""Strawberry GraphQL: one module per domain, merged into one Schema."""

from __future__ import annotations

import strawberry
from strawberry.fastapi import GraphQLRouter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from backend.schema.context import MultipartGuard, get_context
from backend.schema.errors import error_extensions
from backend.schema.ingestion import IngestionMutation, IngestionQuery
from backend.schema.scalars import SCALARS

Query = merge_types("Query", (IngestionQuery,))
Mutation = merge_types("Mutation", (IngestionMutation,))


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=error_extensions(),
        config=StrawberryConfig(scalar_map=SCALARS),
    )


def graphql_router() -> GraphQLRouter[object, None]:
    return GraphQLRouter(
        build_schema(),
        path="/graphql",
        context_getter=get_context,
        multipart_uploads_enabled=True,
        dependencies=[MultipartGuard],
        tags=["graphql"],
    )
