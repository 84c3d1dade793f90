"""Plain keyword-only factories and helpers for the tests."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import httpx
import polars as pl

from backend.runtime import Runtime
from backend.storage import ObjectStore
from bench.generate_sales import HEADER, sales_rows

TERMINAL = {"succeeded", "failed", "cancelled"}


def sales_csv(*, rows: int = 50, seed: int = 1) -> bytes:
    out = io.StringIO()
    out.write(",".join(HEADER) + "\n")
    for row in sales_rows(rows, seed):
        out.write(",".join(row) + "\n")
    return out.getvalue().encode()


async def upload(
    client: httpx.AsyncClient,
    *,
    content: bytes,
    filename: str = "data.csv",
    datasource: str | None = "sales",
    extra: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    data = {"datasource_name": datasource} if datasource is not None else {}
    data.update(extra or {})
    return await client.post(
        "/api/ingest/upload", files={"file": (filename, content)}, data=data, params=params
    )


async def wait_for_task(
    client: httpx.AsyncClient, task_id: str, *, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"/api/ingest/status/{task_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in TERMINAL:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} still {body['status']} after {timeout}s: {body}")
        await asyncio.sleep(0.05)


async def read_dataset(store: ObjectStore, key: str) -> pl.DataFrame:
    data = bytearray()
    async for chunk in store.read_chunks(key):
        data += chunk
    return pl.read_parquet(io.BytesIO(bytes(data)))


async def stored_keys(runtime: Runtime, prefix: str = "") -> list[str]:
    """Objects in the store (and, for a local folder, any folder left behind, as 'dir/')."""
    keys = []
    root = runtime.store.local_path("raw")
    if root is not None and root.parent.exists():
        keys += [
            f"{p.relative_to(root.parent).as_posix()}/"
            for p in root.parent.rglob("*")
            if p.is_dir() and not any(p.iterdir())
        ]
    for top in [prefix] if prefix else ["raw", "datasets"]:
        keys += [info.key for info in await runtime.store.list_prefix(top)]
    return keys


async def task_count(client: httpx.AsyncClient) -> int:
    response = await client.get("/api/ingest/tasks")
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


# The cell kinds xlsx_bytes writes from a "kind:raw" value: by the style (number format) of a
# number, h:mm:ss, m/d/yyyy, m/d/yy h:mm and [h]:mm:ss; or by the cell's type.
_XLSX_STYLES = {"time": 1, "date": 2, "datetime": 3, "duration": 4}
_XLSX_TYPES = {"bool": "b", "error": "e", "iso": "d"}


def xlsx_bytes(*, rows: list[list[str]]) -> bytes:
    """A minimal valid .xlsx (inline strings, numbers as numbers) built with zipfile, so tests
    can also craft broken workbooks byte by byte. A value "kind:raw" writes a cell of that kind
    (see _XLSX_CELLS): "time:0.5" a time-of-day cell (a fraction of a day formatted h:mm:ss),
    "date:45000" and "datetime:45000.5" serial days formatted as a date and a date and time,
    "duration:1.5" days formatted [h]:mm:ss, "bool:1", "error:#N/A", "iso:2023-03-15T10:00:00"
    a date as ISO text (a cell of type d), "text:0.1" a number written as text."""
    import zipfile
    from xml.sax.saxutils import escape

    def cell(ref: str, value: str) -> str:
        kind, _, raw = value.partition(":")
        if kind in _XLSX_STYLES:
            return f'<c r="{ref}" s="{_XLSX_STYLES[kind]}"><v>{raw}</v></c>'
        if kind in _XLSX_TYPES:
            return f'<c r="{ref}" t="{_XLSX_TYPES[kind]}"><v>{escape(raw)}</v></c>'
        if kind == "text":
            return f'<c r="{ref}" t="inlineStr"><is><t>{escape(raw)}</t></is></c>'
        try:
            float(value)
            return f'<c r="{ref}"><v>{value}</v></c>'
        except ValueError:
            return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'

    def column(index: int) -> str:
        name = ""
        index += 1
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        return name

    sheet_rows = "".join(
        f'<row r="{r + 1}">'
        + "".join(cell(f"{column(c)}{r + 1}", v) for c, v in enumerate(row))
        + "</row>"
        for r, row in enumerate(rows)
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    parts = {
        "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{pkg}/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>",
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{pkg}/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rel}">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{pkg}/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{rel}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'<?xml version="1.0"?><styleSheet xmlns="{main}">'
        '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="21" applyNumberFormat="1"/>'
        '<xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="22" applyNumberFormat="1"/>'
        '<xf numFmtId="46" applyNumberFormat="1"/></cellXfs>'
        "</styleSheet>",
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet xmlns="{main}">'
        f"<sheetData>{sheet_rows}</sheetData></worksheet>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()
