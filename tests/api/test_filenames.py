"""File names in uploads and downloads: any name a user's file has comes back exactly as it was
(task, answers), the storage key stays ASCII with no path, and a download's Content-Disposition
is valid ASCII that decodes to the name (RFC 6266)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from backend.filenames import attachment, filename_of, parse_disposition, stem, storage_name
from backend.storage import create_store
from tests.conftest import App, Backend
from tests.e2e.processes import process_env, uvicorn_server, wait_for_status
from tests.factories import sales_csv, upload, wait_for_task

NAMES = ["売上.csv", "données.csv", 'we;ird "quoted"; name\\2024.csv']
EXTENDED = "売上 2024 (final).csv"  # sent only as filename*=UTF-8''...


def with_a_bad_row(seed: int) -> bytes:
    """A sales CSV whose second row is invalid: the task ends with rejected rows to download."""
    lines = sales_csv(rows=4, seed=seed).decode().splitlines()
    cells = lines[2].split(",")
    cells[1] = "Z"  # Branch
    lines[2] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode()


def assert_valid_disposition(disposition: str, expected: str) -> None:
    """Valid as RFC 6266 says, and `filename*` (which clients read first) decodes to the name."""
    assert disposition.isascii() and "\r" not in disposition and "\n" not in disposition
    found = re.fullmatch(
        r'attachment; filename="([ -~]*)"; filename\*=UTF-8\'\'([A-Za-z0-9%._~-]+)', disposition
    )
    assert found is not None, disposition
    assert not set(found.group(1)) & set('"\\;'), disposition
    assert unquote(found.group(2), errors="strict") == expected


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["curl", "-sS", *args], check=True, capture_output=True, timeout=60)


def curl_file_argument(path: Path) -> str:
    # curl's -F syntax: a quoted path, with \" and \\ as escapes.
    quoted = str(path).replace("\\", "\\\\").replace('"', '\\"')
    return f'file=@"{quoted}"'


def extended_body(content: bytes) -> tuple[bytes, str]:
    boundary = "b0undary"
    encoded = "%E5%A3%B2%E4%B8%8A%202024%20%28final%29.csv"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="datasource_name"\r\n\r\n'
            f'sales\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f"filename=\"fallback.csv\"; filename*=UTF-8''{encoded}\r\n"
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (apt-get install curl)")
def test_curl_uploads_keep_their_names_and_downloads_are_named_after_them(
    backend: Backend, tmp_path: Path
) -> None:
    sent: dict[str, dict[str, Any]] = {}
    with uvicorn_server(process_env(backend.env), tmp_path / "server.log") as url:
        for seed, name in enumerate(NAMES):
            path = tmp_path / name
            path.write_bytes(with_a_bad_row(seed))
            done = curl(
                "-w",
                "\n%{http_code}",
                "-F",
                curl_file_argument(path),
                "-F",
                "datasource_name=sales",
                f"{url}/api/ingest/upload",
            )
            body, status = done.stdout.decode().rsplit("\n", 1)
            assert status == "202", body
            sent[name] = json.loads(body)
        content, content_type = extended_body(with_a_bad_row(len(NAMES)))
        (tmp_path / "body").write_bytes(content)
        done = curl(
            "-w",
            "\n%{http_code}",
            "-H",
            f"Content-Type: {content_type}",
            "--data-binary",
            f"@{tmp_path / 'body'}",
            f"{url}/api/ingest/upload",
        )
        body, status = done.stdout.decode().rsplit("\n", 1)
        assert status == "202", body
        sent[EXTENDED] = json.loads(body)

        for name, accepted in sent.items():
            assert accepted["filename"] == name
            task = wait_for_status(url, accepted["task_id"], {"succeeded", "failed"})
            assert task["filename"] == name
            assert task["error"] and task["error"]["code"] == "invalid_rows", task  # type: ignore[index]
            headers = curl("-D", "-", "-o", "/dev/null", str(task["rejected_rows_url"])).stdout
            assert headers.isascii()
            disposition = next(
                line.split(":", 1)[1].strip()
                for line in headers.decode().splitlines()
                if line.lower().startswith("content-disposition:")
            )
            stem = name.rsplit(".", 1)[0]
            assert_valid_disposition(disposition, f"{stem}-rejected.csv")

    store = create_store(backend.settings)
    for accepted in sent.values():
        keys = asyncio.run(store.list_prefix(f"raw/{accepted['task_id']}"))
        uploaded = [k.key.rsplit("/", 1)[-1] for k in keys if not k.key.endswith("_rejected.csv")]
        assert len(uploaded) == 1 and uploaded[0].isascii(), uploaded
        assert re.fullmatch(r"[A-Za-z0-9%][A-Za-z0-9._%-]*", uploaded[0]), uploaded


async def test_names_sent_by_httpx_come_back_exactly(app: App) -> None:
    for seed, name in enumerate(NAMES):
        response = await upload(app.client, content=sales_csv(rows=3, seed=seed), filename=name)
        assert response.status_code == 202, response.text
        assert response.json()["filename"] == name
        task = await wait_for_task(app.client, response.json()["task_id"])
        assert task["filename"] == name


async def test_graphql_uploads_keep_utf8_names(app: App) -> None:
    mutation = """mutation($file: Upload!) { uploadSalesData(file: $file, dataSourceName: "sales")
      { task { filename } } }"""
    for seed, name in enumerate(["売上.csv", "données.csv", 'say "hi".csv']):
        operations = {"query": mutation, "variables": {"file": None}}
        response = await app.client.post(
            "/graphql",
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.file"]}),
            },
            files={"0": (name, sales_csv(rows=3, seed=seed + 10), "text/csv")},
            headers={"GraphQL-Preflight": "1"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["uploadSalesData"]["task"]["filename"] == name


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('form-data; name="file"; filename="売上.csv"', "売上.csv"),
        ('form-data; name="file"; filename="a;b%22c\\d.csv"', 'a;b"c\\d.csv'),  # curl
        ('form-data; name="file"; filename="a;b%22c\\\\d.csv"', 'a;b"c\\d.csv'),  # httpx
        ('form-data; name="file"; filename="\\"q\\".csv"', '"q".csv'),  # RFC quoted-pair
        ('form-data; name="file"; filename="x.csv"; filename*=UTF-8\'\'%E5%A3%B2.csv', "売.csv"),
        ("form-data; name=\"file\"; filename*=iso-8859-1'fr'donn%E9es.csv", "données.csv"),
        ('form-data; name="file"; filename*=koi8-r\'\'abc; filename="kept.csv"', "kept.csv"),
        ('form-data; name="file"; filename="C:\\Users\\me\\data.csv"', "data.csv"),  # old IE
        ("form-data; name=file; filename=plain.csv", "plain.csv"),
    ],
)
def test_file_names_are_read_from_every_form_clients_send(header: str, name: str) -> None:
    kind, parameters = parse_disposition(header)
    assert kind == "form-data" and parameters["name"] == "file"
    assert filename_of(parameters) == name


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("données.csv", "donnees.csv"),
        ("売上.csv", "%E5%A3%B2%E4%B8%8A.csv"),
        ("100%.csv", "100%25.csv"),
        ('we;ird "quoted".csv', "we_ird_quoted_.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\data.csv", "data.csv"),
        ("_rejected.csv", "rejected.csv"),
        ("売" * 100, "%E5%A3%B2" * 22),  # cut at 200 characters, never inside an escape
        ("", "upload"),
    ],
)
def test_storage_keys_are_ascii_readable_and_have_no_path(name: str, key: str) -> None:
    assert storage_name(name) == key


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("売上.csv", "売上"),
        ("sales.2024.csv", "sales.2024"),
        ("a/b.csv", "b"),
        ("data", "data"),
        (".csv", ""),
    ],
)
def test_a_download_made_from_a_file_is_named_after_its_stem(name: str, expected: str) -> None:
    assert stem(name) == expected


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("données-rejected.csv", "donnees-rejected.csv"),
        ("売上-rejected.csv", "T-rejected.csv"),
        ('a;b"c\\d\r\n-rejected.csv', "a_b_c_d_-rejected.csv"),
    ],
)
def test_download_names_are_valid_headers_that_decode_to_the_name(name: str, fallback: str) -> None:
    disposition = attachment(name, "T-rejected.csv")
    assert_valid_disposition(disposition, name)
    assert f'filename="{fallback}"' in disposition
