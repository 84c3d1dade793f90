"""What each route and each of the app's GraphQL operations is, as a person knows it ("Upload a
file", "Dashboard: key figures"), for the performance page; the raw name stays beside it.

OPERATIONS is also the fixed set of GraphQL operation names the metrics count one by one: a
name a client makes up is not a label (it counts under the /graphql route only)."""

from __future__ import annotations

ROUTES = {
    "POST /api/ingest/upload": "Upload a file",
    "GET /api/ingest/tasks": "List the uploads",
    "GET /api/ingest/status/{task_id}": "An upload's progress",
    "POST /api/uploads": "Start a resumable upload",
    "GET /api/uploads": "List your resumable uploads",
    "GET /api/uploads/{session_id}": "A resumable upload and its parts",
    "POST /api/uploads/{session_id}/parts": "Addresses for a resumable upload's parts",
    "PUT /api/uploads/{session_id}/parts/{number}": "A part of a resumable upload",
    "POST /api/uploads/{session_id}/complete": "Complete a resumable upload",
    "DELETE /api/uploads/{session_id}": "Abort a resumable upload",
    "GET /api/ingest/tasks/{task_id}/events": "An upload's live progress",
    "GET /api/ingest/tasks/{task_id}/rejected": "Download an upload's rejected rows",
    "POST /api/ingest/tasks/{task_id}/retry": "Retry an upload",
    "POST /api/ingest/tasks/{task_id}/cancel": "Cancel an upload",
    "POST /api/ingest/tasks/{task_id}/reload": "Load an upload again with an option",
    "POST /api/ingest/tasks/{task_id}/confirm": "Load a previewed upload",
    "GET /api/datasources": "List the datasources",
    "POST /api/datasources": "Create a datasource",
    "GET /api/datasources/{name}": "A datasource",
    "PATCH /api/datasources/{name}": "Change a datasource's columns",
    "DELETE /api/datasources/{name}": "Drop a datasource",
    "GET /api/health": "Health of every part",
    "GET /healthz": "Is the service alive (probe)",
    "GET /readyz": "Is the service ready (probe)",
    "GET /metrics": "Prometheus figures",
    "GET /api/auth/session": "Who is signed in",
    "GET /api/auth/methods": "How to sign in",
    "POST /api/auth/login": "Sign in",
    "POST /api/auth/logout": "Sign out",
    "GET /api/access-logs": "Access log",
    "GET /api/sigma/status": "Engine status",
    "GET /api/sigma/capabilities": "What this installation can do",
    "POST /api/sigma/toggle-mode": "Switch the engine",
    "GET /api/notifications": "Notifications",
    "GET /api/notifications/unread-count": "Unread notifications",
    "GET /api/notifications/stream": "Live notifications",
    "GET /api/workbooks": "List the workbooks",
    "POST /api/workbooks": "Save a workbook",
    "GET /api/workbooks/{workbook_id}": "A workbook",
    "PATCH /api/workbooks/{workbook_id}": "Change a workbook",
    "GET /api/users/me": "Your profile",
    "GET /api/actions": "List the actions",
    "POST /api/actions": "Create an action",
    "GET /api/actions/schedule-preview": "A schedule in words",
    "GET /api/actions/{action_id}": "An action",
    "PATCH /api/actions/{action_id}": "Change an action",
    "DELETE /api/actions/{action_id}": "Delete an action",
    "POST /api/actions/{action_id}/execute": "Run an action now",
    "GET /api/actions/{action_id}/runs": "An action's runs",
    "POST /api/actions/{action_id}/runs/{run_id}/redeliver": "Send an action's run again",
    "POST /api/actions/{action_id}/rotate-secret": "A new secret for an action",
    "GET /api/sigma/actions": "List the actions (Sigma)",
    "POST /api/sigma/actions": "Create an action (Sigma)",
    "POST /api/sigma/actions/{action_id}/execute": "Run an action now (Sigma)",
    "GET /api/druid/files/{key}": "A dataset file for Druid",
    "GET /graphql": "GraphQL explorer",
    "POST /graphql": "Data for the app's pages (GraphQL), all together",
    "GET /": "The app's first page",
    "GET /assets/{name:path}": "The app's code and styles",
    "GET /{route:path}": "The app's pages",
}

OPERATIONS = {
    "DashboardHome": "Dashboard: datasource and dates",
    "DashboardOverview": "Dashboard: key figures",
    "FilterOptions": "Dashboard: filter choices",
    "Trend": "Dashboard: trend over time",
    "Profitability": "Dashboard: profitability",
    "DashboardDetails": "Dashboard: breakdowns",
    "DashboardDatasources": "Dashboard: the datasources it can open",
    "DashboardRows": "Dashboard: the rows behind a figure",
    "GenericAnalytics": "Dashboard of any datasource: its figures",
    "DatasourceNames": "Datasource names",
    "HeaderMe": "Who is signed in (page header)",
    "UnreadNotificationCount": "Unread notifications",
    "NotificationsList": "Notifications",
    "MarkNotificationsRead": "Mark notifications read",
    "Tasks": "Uploads list",
    "Task": "An upload's details",
    "RetryTask": "Retry an upload",
    "CancelTask": "Cancel an upload",
    "ReloadTask": "Load an upload again with an option",
    "ServiceSettings": "The service's settings (currency)",
    "Status": "Status page",
    "StatusMyRole": "Status page: your role",
    "StatusUserCount": "Status page: user count",
    "StatusUsers": "Status page: user accounts",
    "SetSigmaMode": "Switch the engine",
    "Performance": "Performance page",
    "AccessLogs": "Performance page: access log",
    "Workbooks": "Workbooks list",
    "WorkbookFeed": "Workbooks: your feed",
    "WorkbookTags": "Workbooks: tags",
    "MyWorkbooks": "Your workbooks",
    "WorkbookPage": "A workbook",
    "WorkbookWidget": "A workbook's widget",
    "WorkbookColumns": "A workbook's columns",
    "WorkbookMe": "A workbook: your role",
    "CreateWorkbook": "Save a workbook",
    "UpdateWorkbook": "Change a workbook",
    "FavoriteWorkbook": "Favorite a workbook",
    "ViewWorkbook": "Count a workbook view",
    "MySettings": "Your settings",
    "UpdateMe": "Change your settings",
    "GetUser": "A person's profile",
    "PublicUser": "A person's profile",
    "ListActions": "Actions list",
    "ActionRuns": "An action's runs",
    "DescribeSchedule": "Actions: a schedule in words",
    "CreateAction": "Create an action",
    "UpdateAction": "Change an action",
    "DeleteAction": "Delete an action",
    "ExecuteAction": "Run an action now",
    "RedeliverRun": "Send an action's run again",
    "RotateActionSecret": "A new secret for an action",
    "TaskActionName": "The action that fetched a task",
}
GRAPHQL_ROUTE = "POST /graphql"


def operation_route(operation: str) -> str:
    """The name a counted GraphQL operation has among the routes."""
    return f"{GRAPHQL_ROUTE} {operation}"


def known_operation(name: object) -> str | None:
    """`name` when it is one of the app's operations (a label may take it), else None."""
    return name if isinstance(name, str) and name in OPERATIONS else None


def is_operation(route: str) -> bool:
    """Whether a name among the routes is a counted GraphQL operation (also counted in its
    route, POST /graphql)."""
    return route.startswith(f"{GRAPHQL_ROUTE} ")


def label(route: str) -> str:
    """A route ("METHOD /template") or a counted operation in words; the raw name when it has
    none (a route added since, said as it is)."""
    if is_operation(route):
        operation = route.removeprefix(f"{GRAPHQL_ROUTE} ")
        return OPERATIONS.get(operation, f"GraphQL: {operation}")
    return ROUTES.get(route, route)
