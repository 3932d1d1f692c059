"""The forkexec package's build backend (PEP 517 and PEP 660), standard library only.

``pip install ./clients/python``, ``pip wheel ./clients/python`` and ``python -m build`` use it
(pyproject.toml: ``build-backend = "backend"``, ``backend-path = ["_build"]``). The package is
pure Python with no dependencies; a backend of its own, rather than setuptools or flit, means
building it downloads nothing (``requires = []`` on Python 3.11 and newer, where ``tomllib``
reads pyproject.toml; 3.10 needs ``tomli``), so a fresh virtualenv installs it offline.

What it builds, from pyproject.toml's ``[project]`` table (the one place the metadata lives):

- a wheel ``forkexec-VERSION-py3-none-any.whl``: the ``forkexec`` package (``*.py``,
  ``py.typed`` and the shipped policies ``policies/*.json``), ``METADATA`` (core metadata
  2.1), ``WHEEL``, the license files and ``RECORD``;
- an editable wheel: a ``.pth`` file that puts this directory on ``sys.path``;
- an sdist ``forkexec-VERSION.tar.gz``: what the wheel is built from, plus this backend.

Every archive member gets the same timestamp (``SOURCE_DATE_EPOCH``, else 1980-01-01) and a
sorted position, so a rebuild of the same tree is the same bytes.
"""

import base64
import gzip
import hashlib
import io
import os
import sys
import tarfile
import time
import zipfile
from typing import Any, Dict, List, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pyproject.toml requires tomli on 3.10
    import tomli as tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "forkexec"
# What goes into the package directory of a wheel.
PACKAGE_SUFFIXES = (".py", ".json", "py.typed")
# What an sdist holds besides the package.
SDIST_EXTRA = ("pyproject.toml", "README.md", "LICENSE-MIT", "LICENSE-APACHE",
               "_build/backend.py")
LICENSES = ("LICENSE-MIT", "LICENSE-APACHE")

Config = Optional[Dict[str, Any]]


def _project() -> Dict[str, Any]:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project: Dict[str, Any] = tomllib.load(f)["project"]
    return project


def _timestamp() -> int:
    return max(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")), 315532800)


def _metadata() -> str:
    p = _project()
    lines = ["Metadata-Version: 2.1", f"Name: {p['name']}", f"Version: {p['version']}",
             f"Summary: {p['description']}"]
    for key, value in sorted(p.get("urls", {}).items()):
        lines.append(f"Project-URL: {key}, {value}")
    lines.append(f"Author: {', '.join(a['name'] for a in p.get('authors', []))}")
    lines.append(f"License: {p['license']['text']}")
    if p.get("keywords"):
        lines.append(f"Keywords: {','.join(p['keywords'])}")
    lines += [f"Classifier: {c}" for c in p.get("classifiers", [])]
    lines.append(f"Requires-Python: {p['requires-python']}")
    lines.append("Description-Content-Type: text/markdown")
    with open(os.path.join(ROOT, p["readme"]), encoding="utf-8") as f:
        readme = f.read()
    return "\n".join(lines) + "\n\n" + readme


def _package_files() -> List[str]:
    """The package's files, relative to ROOT, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, PACKAGE)):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in filenames:
            if name.endswith(PACKAGE_SUFFIXES):
                out.append(os.path.relpath(os.path.join(dirpath, name), ROOT))
    return sorted(out)


def _read(relative: str) -> bytes:
    with open(os.path.join(ROOT, relative), "rb") as f:
        return f.read()


def _dist() -> Tuple[str, str]:
    p = _project()
    return p["name"].replace("-", "_"), p["version"]


def _wheel(wheel_directory: str, members: List[Tuple[str, bytes]]) -> str:
    name, version = _dist()
    info = f"{name}-{version}.dist-info"
    members = members + [(f"{info}/{lic}", _read(lic)) for lic in LICENSES]
    members.append((f"{info}/METADATA", _metadata().encode()))
    members.append((f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: forkexec _build/backend.py"
                    b"\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
    record = []
    for path, data in members:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    members.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    filename = f"{name}-{version}-py3-none-any.whl"
    date = time.gmtime(_timestamp())[:6]
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for path, data in members:
            entry = zipfile.ZipInfo(path, date_time=date)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(entry, data)
    return filename


def get_requires_for_build_wheel(config_settings: Config = None) -> List[str]:
    """Nothing beyond the ``build-system`` requirements."""
    return []


def get_requires_for_build_sdist(config_settings: Config = None) -> List[str]:
    """Nothing beyond the ``build-system`` requirements."""
    return []


def get_requires_for_build_editable(config_settings: Config = None) -> List[str]:
    """Nothing beyond the ``build-system`` requirements."""
    return []


def build_wheel(wheel_directory: str, config_settings: Config = None,
                metadata_directory: Optional[str] = None) -> str:
    """Writes the wheel into ``wheel_directory``; returns its file name."""
    return _wheel(wheel_directory, [(path, _read(path)) for path in _package_files()])


def build_editable(wheel_directory: str, config_settings: Config = None,
                   metadata_directory: Optional[str] = None) -> str:
    """An editable wheel: ``forkexec.pth`` adds this directory to ``sys.path``."""
    return _wheel(wheel_directory, [(f"{PACKAGE}.pth", (ROOT + "\n").encode())])


def build_sdist(sdist_directory: str, config_settings: Config = None) -> str:
    """Writes the sdist into ``sdist_directory``; returns its file name."""
    name, version = _dist()
    top = f"{name}-{version}"
    members = [(f"{top}/PKG-INFO", _metadata().encode())]
    members += [(f"{top}/{path}", _read(path)) for path in sorted(SDIST_EXTRA)]
    members += [(f"{top}/{path}", _read(path)) for path in _package_files()]
    filename = f"{top}.tar.gz"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in sorted(members):
            entry = tarfile.TarInfo(path)
            entry.size = len(data)
            entry.mtime = _timestamp()
            entry.mode = 0o644
            tar.addfile(entry, io.BytesIO(data))
    with open(os.path.join(sdist_directory, filename), "wb") as f:
        # mtime=0 in the gzip header: the same tree gives the same bytes.
        f.write(gzip.compress(archive.getvalue(), mtime=0))
    return filename
