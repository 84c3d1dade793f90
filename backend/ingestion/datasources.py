"""Datasources as records: which contract each has, and dropping one from every place it lives
(the metadata database, storage, the embedded engine's caches, Druid)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import druid_rollup_load
from backend.analytics.rollup import rollup_key
from backend.analytics.service import Analytics
from backend.auth.principal import Principal
from backend.config import Settings
from backend.contracts import evolution
from backend.contracts.declared import (
    DECLARED,
    Declaration,
    DeclaredColumn,
    check_column,
)
from backend.contracts.evolution import Change
from backend.contracts.sales import SALES, sales_schema
from backend.contracts.schema import INFERRED, ColumnSpec
from backend.contracts.stored import DatasourceSchema
from backend.contracts.types import POLARS_TYPES, ColumnType
from backend.db import SessionMaker, session_scope, utcnow
from backend.druid.client import DruidClient, DruidError
from backend.druid.rollup import rollup_datasource
from backend.druid_load import druid_datasource
from backend.errors import Conflict, InvalidInput, NotFound
from backend.events import outbox
from backend.events.models import EventKind
from backend.ingestion import access
from backend.ingestion.models import DatasourceAccess
from backend.ingestion.service import validate_datasource_name
from backend.monitoring import audit
from backend.redaction import scrub
from backend.storage import ObjectStore
from backend.tasks import repository
from backend.tasks.models import (
    ACTIVE_STATUSES,
    TaskStatus,
)


class Services(Protocol):
    """What showing, dropping, evolving and granting a datasource use of the running service
    (the composition root, `backend.runtime.Runtime`, has each), handed in by the API and
    GraphQL."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> SessionMaker: ...

    def reading(self) -> SessionMaker: ...

    @property
    def store(self) -> ObjectStore: ...

    @property
    def druid(self) -> DruidClient | None: ...

    @property
    def analytics(self) -> Analytics: ...


log = logging.getLogger(__name__)
MAX_CHANGES = 200
BUSY = tuple(s.value for s in ACTIVE_STATUSES | {TaskStatus.QUEUED})


@dataclass(frozen=True)
class Record:
    """A datasource's contract and its schema's versions (each change: when, by whom, what)."""

    contract: str = INFERRED
    version: int = 1
    versions: tuple[dict[str, Any], ...] = ()
    columns: tuple[dict[str, Any], ...] = ()  # as the contract declares them
    created_at: dt.datetime | None = None  # by its first upload, or by createDatasource
    ownership: access.Ownership = access.Ownership()  # who may write to it


async def records(session: AsyncSession) -> dict[str, Record]:
    """Each recorded datasource's contract, schema versions and ownership (`sales` is always
    sales)."""
    rows = await session.execute(
        select(
            DatasourceSchema.datasource, DatasourceSchema.definition, DatasourceSchema.created_at
        )
    )
    found = {name: record_of(definition, created) for name, definition, created in rows}
    found.setdefault(SALES, Record(SALES))
    for row in await session.scalars(select(DatasourceAccess)):
        known = found.get(row.datasource, Record())
        found[row.datasource] = dataclasses.replace(known, ownership=access.Ownership.of(row))
    return found


def record_of(definition: dict[str, Any], created_at: dt.datetime | None = None) -> Record:
    return Record(
        str(definition.get("contract", INFERRED)),
        evolution.version_of(definition),
        tuple(definition.get("versions") or ()),
        tuple(definition.get("columns") or ()),
        created_at,
    )


_TYPE_NAMES = {t.value for t in ColumnType}


def listed_columns(record: Record, served: dict[str, str]) -> dict[str, str]:
    """What a datasource lists: the columns its data has (as the engine types them), then the
    ones its contract declares that no file has brought yet (a datasource created ahead, a
    column added by a contract change)."""
    declared = {
        str(c["name"]): str(POLARS_TYPES[ColumnType(c["type"])])
        for c in record.columns
        if c.get("name") not in served and c.get("type") in _TYPE_NAMES
    }
    return {**served, **declared}


def storage_prefix(name: str) -> str:
    """Where its datasets are kept, as a key in the service's storage (not a server path)."""
    return f"datasets/{name}/"


@dataclass(frozen=True)
class ContractUpdate:
    name: str
    record: Record
    changes: list[Change]


async def update_contract(
    session: AsyncSession,
    name: str,
    added: list[DeclaredColumn],
    widened: list[str],
    actor: Principal,
) -> ContractUpdate:
    """Evolves a datasource's schema: columns added (they may be empty: rows already loaded
    have no value for them) and integer columns widened to float; anything else is refused with
    the reason. A new schema version, audited; uploads from now on are checked against it."""
    name = validate_datasource_name(name)
    if len(added) + len(widened) > MAX_CHANGES:
        raise InvalidInput(f"at most {MAX_CHANGES} changes at once", "Send them in parts.")
    stored = await session.get(DatasourceSchema, name, with_for_update=True)
    if stored is None:
        raise NotFound(
            f"datasource {name!r} has no schema yet",
            "Create it (createDatasource) or upload its first file; then change its contract.",
        )
    await access.require_write(session, name, actor, "change its contract")
    contract = str(stored.definition.get("contract", INFERRED))
    if contract == SALES or name == SALES:
        raise Conflict(
            f"datasource {name!r} has the sales contract, which is fixed",
            "Declare a datasource of your own (createDatasource with contract DECLARED).",
        )
    present = {str(c["name"]).strip().casefold() for c in stored.definition.get("columns", [])}
    for column in added:
        check_column(column)
        if column.name.strip().casefold() in present:
            raise Conflict(f"column {column.name[:128]!r} exists already", "Choose another name.")
        if contract != DECLARED and (
            column.allowed or column.minimum is not None or column.maximum is not None
        ):
            raise InvalidInput(
                f"column {column.name[:128]!r}: an inferred contract checks types only",
                "Leave out allowed values and bounds, or declare a datasource of your own.",
            )
    columns = [
        c.as_dict() if contract == DECLARED else ColumnSpec(c.name, c.type).as_dict() for c in added
    ]
    definition, changes = evolution.apply(
        stored.definition, columns, widened, by=actor.name[:128], at=utcnow().isoformat()
    )
    if not changes:
        raise InvalidInput(
            "nothing to change: the columns to widen are float already",
            "Send columns to add (addColumns) or integer columns to widen (widen).",
        )
    stored.definition = definition
    _changed(session, name, definition, changes, actor)
    return ContractUpdate(name, record_of(definition, stored.created_at), changes)


def _changed(
    session: AsyncSession,
    name: str,
    definition: dict[str, Any],
    changes: list[Change],
    actor: Principal,
) -> None:
    """A contract's change, audited, and its event (datasource.schema_changed) in the same
    transaction."""
    described = {
        "version": evolution.version_of(definition),
        "changes": [c.as_dict() for c in changes],
    }
    audit.record(session, actor.label, "update_datasource_contract", name, described)
    outbox.emit(
        session,
        EventKind.SCHEMA_CHANGED,
        subject=name,
        datasource=name,
        payload={"datasource": name, **described, "created": False, "by": actor.name[:128]},
    )


async def update_contract_now(
    runtime: Services, name: str, added: list[DeclaredColumn], widened: list[str], actor: Principal
) -> ContractUpdate:
    """update_contract() committed before the caller answers."""
    async with session_scope(runtime.sessions) as session:
        update = await update_contract(session, name, added, widened, actor)
    runtime.analytics.landed(name)
    return update


@dataclass(frozen=True)
class Dropped:
    """What a drop removed from the database; storage and Druid are cleaned after it commits."""

    name: str
    tasks: int
    task_ids: list[str]
    # Rollups still loading in Druid after their upload succeeded: stopped before the drop.
    rollup_tasks: list[str] = dataclasses.field(default_factory=list)


async def drop(session: AsyncSession, name: str, actor: Principal) -> Dropped:
    """Removes the datasource's tasks, events, schema record and ownership in the caller's
    transaction (audited). Refused while one of its uploads is queued or running: cancel it
    first. Its tasks are locked before their states are read: a retry being accepted meanwhile
    ends first, and its queued task refuses the drop instead of being removed."""
    await access.require_write(session, name, actor, "drop it")
    task_ids = await repository.ids_for(session, name, lock=True)
    known = await session.get(DatasourceSchema, name)
    if not task_ids and known is None:
        raise NotFound(f"no datasource {name!r}", "GraphQL's datasources lists them.")
    busy = await repository.count_for(session, name, BUSY)
    if busy:
        raise Conflict(
            f"datasource {name!r} has {busy} upload(s) queued or in progress",
            "Cancel them (or wait until they end), then drop the datasource.",
        )
    loading = await druid_rollup_load.loading(session, name)
    if task_ids:
        await repository.delete_tasks(session, task_ids)
    if known is not None:
        await session.delete(known)
    await access.forget(session, name)
    audit.record(session, actor.label, "drop_datasource", name, {"tasks": len(task_ids)})
    return Dropped(name, len(task_ids), task_ids, loading)


async def remove_stored(store: ObjectStore, sessions: SessionMaker, dropped: Dropped) -> int:
    """Deletes the dropped tasks' objects (datasets, rollups, Druid copies, uploads, rejected
    rows) once their records are gone, and any object there whose task no longer exists (left
    by an earlier drop that storage failed); the number of objects removed. Not the objects of
    an upload under the same name accepted since: its task exists (its objects are written
    after its record). A failure here leaves unreferenced objects, never records pointing at
    missing data."""
    shared = (storage_prefix(dropped.name), rollup_key(storage_prefix(dropped.name)))
    removed = 0
    try:
        found = [
            info.key
            for p in (*shared, f"druid/{dropped.name}/")
            for info in await store.list_prefix(p)
        ]
        live = await _live_tasks(sessions, {task_of(key) for key in found})
        for key in found:
            if task_of(key) not in live:
                await store.delete(key)
                removed += 1
    except Exception as exc:  # storage down: the records are gone, say so in the log
        _left(dropped.name, exc)
    for task_id in sorted(dropped.task_ids):
        try:
            removed += await store.delete_prefix(f"raw/{task_id}/")
        except Exception as exc:
            _left(dropped.name, exc)
    return removed


async def _live_tasks(sessions: SessionMaker, ids: set[str]) -> set[str]:
    """Those of `ids` that are tasks (asked 500 at a time: bound parameters are limited)."""
    ordered, live = sorted(ids), set()
    async with session_scope(sessions) as session:
        for start in range(0, len(ordered), 500):
            live |= await repository.existing(session, ordered[start : start + 500])
    return live


def task_of(key: str) -> str:
    """The task whose object `key` under a datasource's prefix is: its name starts with the
    task's id (`<id>.parquet`, `<id>-<run>.parquet`, `<id>.rollup.json`)."""
    name = key.rsplit("/", 1)[-1]
    return name.split(".", 1)[0].split("-", 1)[0]


def _left(name: str, exc: Exception) -> None:
    log.warning(
        "drop %s: objects left under a prefix (%s); they are unreferenced", name, type(exc).__name__
    )


@dataclass(frozen=True)
class DropReport:
    name: str
    tasks_removed: int
    objects_removed: int
    druid_segments_dropped: int | None  # None: no Druid configured, or it did not answer
    druid_error: str | None


async def drop_everywhere(runtime: Services, name: str, actor: Principal) -> DropReport:
    """Drops the datasource: its records (one audited transaction), then its stored objects,
    the embedded engine's cached answers, and its segments in Druid."""
    name = validate_datasource_name(name)
    async with session_scope(runtime.sessions) as session:
        dropped = await drop(session, name, actor)
    runtime.analytics.landed(name)
    objects = await remove_stored(runtime.store, runtime.sessions, dropped)
    segments, error = None, None
    if runtime.druid is not None:
        try:
            await druid_rollup_load.stop(runtime.druid, dropped.rollup_tasks)
            segments = await runtime.druid.drop_datasource(druid_datasource(runtime.settings, name))
            # and its rolled-up datasource: a datasource made again under this name starts empty
            await runtime.druid.drop_datasource(
                rollup_datasource(druid_datasource(runtime.settings, name))
            )
        except DruidError as exc:
            error = scrub(str(exc))
            log.warning("drop %s: Druid did not drop its segments: %s", name, error)
    log.info("datasource %s dropped by %s: %d task(s)", name, actor.label, dropped.tasks)
    return DropReport(name, dropped.tasks, objects, segments, error)


async def create(
    session: AsyncSession,
    name: str,
    contract: str,
    declaration: Declaration | None,
    actor: Principal,
) -> None:
    """Records a datasource before its first upload: the sales contract, or a declared one."""
    name = validate_datasource_name(name)
    taken = await session.get(DatasourceSchema, name) is not None or await repository.count_for(
        session, name
    )
    if taken or name == SALES:
        raise Conflict(
            f"datasource {name!r} exists already",
            "Choose another name, or drop it first (dropDatasource, admin).",
        )
    if contract == SALES:
        definition = sales_schema().as_dict()
    elif contract == DECLARED and declaration is not None:
        definition = declaration.definition()
    elif contract == DECLARED:
        raise InvalidInput("a declared contract needs its columns", "Send columns.")
    else:
        raise InvalidInput(
            f"contract {contract[:20]!r} cannot be created ahead",
            "An inferred datasource is created by its first upload over REST; create sales or "
            "declared ones here.",
        )
    await access.require_write(session, name, actor, "create it", claim_new=True)
    session.add(
        DatasourceSchema(
            datasource=name, definition=definition, source_task_id="", created_at=utcnow()
        )
    )
    audit.record(session, actor.label, "create_datasource", name, {"contract": contract})


async def create_now(
    runtime: Services,
    name: str,
    contract: str,
    declaration: Declaration | None,
    actor: Principal,
) -> None:
    """create() in a transaction of its own, committed before the caller answers, so the very
    next request sees the datasource (the engine forgets its list of datasources)."""
    async with session_scope(runtime.sessions) as session:
        await create(session, name, contract, declaration, actor)
    runtime.analytics.landed(name)


async def grant_now(runtime: Services, name: str, grantee: str, actor: Principal) -> None:
    """access.grant() committed before the caller answers."""
    name = validate_datasource_name(name)
    served = name in {d.name for d in await runtime.analytics.datasources()}
    async with session_scope(runtime.sessions) as session:
        users = runtime.settings.oidc is not None  # a name may be a user's, not a token's
        await access.grant(session, name, grantee, actor, known=served, users=users)


async def revoke_now(runtime: Services, name: str, grantee: str, actor: Principal) -> None:
    """access.revoke() committed before the caller answers."""
    name = validate_datasource_name(name)
    async with session_scope(runtime.sessions) as session:
        await access.revoke(session, name, grantee, actor)
