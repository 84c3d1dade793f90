"""Strawberry GraphQL: one module per domain, merged into one Schema."""

from __future__ import annotations

import strawberry
from fastapi import Request
from fastapi.responses import HTMLResponse
from graphql import GraphQLError
from strawberry.fastapi import GraphQLRouter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from backend.errors import AppError
from backend.schema import graphiql
from backend.schema.analytics import AnalyticsQuery
from backend.schema.context import MultipartGuard, get_context
from backend.schema.extensions import schema_extensions
from backend.schema.ingestion import IngestionMutation, IngestionQuery
from backend.schema.monitoring import MonitoringMutation, MonitoringQuery, PerformanceQuery
from backend.schema.scalars import SCALARS

Query = merge_types("Query", (IngestionQuery, AnalyticsQuery, MonitoringQuery, PerformanceQuery))
Mutation = merge_types("Mutation", (IngestionMutation, MonitoringMutation))


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors are answers to the client, not server faults: keep them out of the log.
        unexpected = [e for e in errors if not isinstance(e.original_error, AppError)]
        super().process_errors(unexpected, execution_context)


def build_schema() -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=schema_extensions(),
        config=StrawberryConfig(scalar_map=SCALARS),
    )


class Router(GraphQLRouter[object, None]):
    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return graphiql.page()  # served by this app, not from a CDN


def graphql_router() -> GraphQLRouter[object, None]:
    return Router(
        build_schema(),
        path="/graphql",
        context_getter=get_context,
        multipart_uploads_enabled=True,
        dependencies=[MultipartGuard],
        tags=["graphql"],
    )
