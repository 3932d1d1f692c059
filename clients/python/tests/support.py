"""Shared test helpers: where the vectors, the docs and the helper are."""

import os
import struct
import unittest

from forkexec import find_helper
from forkexec.errors import HelperError

HERE = os.path.dirname(os.path.abspath(__file__))
# clients/python/tests -> the repository root
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def vectors_dir():
    """$FORKEXEC_VECTORS_DIR, else crates/spec/vectors of the checkout."""
    return os.environ.get("FORKEXEC_VECTORS_DIR") or os.path.join(REPO, "crates", "spec",
                                                                   "vectors")


def spec_md():
    """$FORKEXEC_SPEC_MD, else docs/spec.md of the checkout (None when neither exists)."""
    path = os.environ.get("FORKEXEC_SPEC_MD") or os.path.join(REPO, "docs", "spec.md")
    return path if os.path.isfile(path) else None


def helper_path():
    """The real helper ($FORKEXEC_HELPER, else find_helper()); the end-to-end tests fail, not
    skip, when there is none: build it with `make helper`."""
    try:
        return find_helper()
    except HelperError as e:
        raise unittest.SkipTest(str(e)) if os.environ.get("FORKEXEC_ALLOW_NO_HELPER") else e


class Vector:
    """One parsed .hex vector file (crates/spec/vectors/README.md, "File format")."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.meta = {}
        digits = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("#"):
                    if line.startswith("# ") and ": " in line:
                        key, value = line[2:].split(": ", 1)
                        if key in ("expect", "fault", "offset", "errno", "json", "canonical",
                                   "build", "length"):
                            if key in self.meta:
                                raise ValueError(f"{path}: `{key}` twice")
                            self.meta[key] = value
                    continue
                digits.append("".join(line.split()))
        self.data = bytes.fromhex("".join(digits))

    @property
    def expect(self):
        return self.meta["expect"]

    @property
    def fault(self):
        return int(self.meta["fault"].split()[0])

    @property
    def fault_name(self):
        return self.meta["fault"].split()[1]

    @property
    def offset(self):
        return int(self.meta["offset"])

    @property
    def declared_length(self):
        """The header's total length, if there is a whole header."""
        if len(self.data) < 12:
            return None
        return struct.unpack_from("<I", self.data, 8)[0]


def load_vectors():
    d = vectors_dir()
    files = sorted(f for f in os.listdir(d) if f.endswith(".hex"))
    if not files:
        raise AssertionError(f"no .hex vectors in {d}")
    return [Vector(os.path.join(d, f)) for f in files]


def read_all(fd):
    """Reads a pipe's read end to EOF and closes it."""
    with os.fdopen(fd, "rb") as f:
        return f.read()
