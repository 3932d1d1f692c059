"""The client as a package: a wheel builds, a fresh virtualenv installs it (offline: the build
backend is the package's own, standard library only) and ``import forkexec`` works there, with
its type marker and shipped seccomp policies."""

import os
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

from forkexec import policies

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(PROJECT, "forkexec")


def run(*argv, cwd=None):
    """Runs argv; fails the test with its output when it fails."""
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=dict(os.environ, PIP_NO_CACHE_DIR="1",
                                              PIP_DISABLE_PIP_VERSION_CHECK="1"))
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}")
    return done.stdout


def source_files():
    """The package's files in the source tree, relative to the project, e.g.
    ``forkexec/policies/judge.json``."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(PACKAGE):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if not name.endswith((".pyc", ".pyo")):
                out.add(os.path.relpath(os.path.join(dirpath, name), PROJECT))
    return out


class PackageTest(unittest.TestCase):
    """Everything runs in one fresh virtualenv and with its pip (``python3 -m venv``)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.venv = os.path.join(cls.tmp.name, "venv")
        run(sys.executable, "-m", "venv", cls.venv)
        cls.python = os.path.join(cls.venv, "bin", "python")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def pip(self, *args, cwd):
        return run(self.python, "-m", "pip", *args, cwd=cwd)

    def test_the_wheel_holds_the_package_its_type_marker_and_policies(self):
        with tempfile.TemporaryDirectory() as out:
            self.pip("wheel", "--no-deps", "--no-index", "-q", "-w", out, PROJECT, cwd=out)
            wheels = [n for n in os.listdir(out) if n.endswith(".whl")]
            self.assertEqual(wheels, ["forkexec-0.1.0-py3-none-any.whl"])
            with zipfile.ZipFile(os.path.join(out, wheels[0])) as z:
                members = set(z.namelist())
                metadata = z.read("forkexec-0.1.0.dist-info/METADATA").decode()
                record = z.read("forkexec-0.1.0.dist-info/RECORD").decode()
            package = {m for m in members if m.startswith("forkexec/")}
            self.assertEqual(package, source_files())
            self.assertIn("forkexec/py.typed", package)
            self.assertIn("forkexec/policies/judge.json", package)
            for name in ("LICENSE-MIT", "LICENSE-APACHE", "WHEEL", "METADATA"):
                self.assertIn(f"forkexec-0.1.0.dist-info/{name}", members)
            self.assertIn("\nLicense: MIT OR Apache-2.0\n", metadata)
            self.assertIn("\nRequires-Python: >=3.10\n", metadata)
            for member in members - {"forkexec-0.1.0.dist-info/RECORD"}:
                self.assertIn(f"\n{member},sha256=", "\n" + record)

    def test_the_sdist_builds_a_wheel_of_the_same_package(self):
        with tempfile.TemporaryDirectory() as out:
            code = ("import sys; sys.path.insert(0, sys.argv[1]); import backend; "
                    "print(backend.build_sdist(sys.argv[2]))")
            name = run(self.python, "-c", code, os.path.join(PROJECT, "_build"), out).strip()
            self.assertEqual(name, "forkexec-0.1.0.tar.gz")
            with tarfile.open(os.path.join(out, name)) as tar:
                tar.extractall(out, filter="data") if hasattr(tarfile, "data_filter") \
                    else tar.extractall(out)
            unpacked = os.path.join(out, "forkexec-0.1.0")
            for f in ("PKG-INFO", "pyproject.toml", "LICENSE-MIT", "_build/backend.py",
                      "forkexec/py.typed", "forkexec/policies/judge.json"):
                self.assertTrue(os.path.isfile(os.path.join(unpacked, f)), f)
            self.pip("wheel", "--no-deps", "--no-index", "-q", "-w", os.path.join(out, "wheel"),
                     unpacked, cwd=out)
            self.assertEqual(os.listdir(os.path.join(out, "wheel")),
                             ["forkexec-0.1.0-py3-none-any.whl"])

    def test_a_fresh_virtualenv_installs_it_and_imports_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            venv, python = self.venv, self.python
            self.pip("install", "--no-index", "-q", PROJECT, cwd=tmp)
            # From a directory without the source tree next to it: the installed copy.
            code = ("import forkexec, forkexec.policies, os; "
                    "print(os.path.dirname(forkexec.__file__)); "
                    "print(forkexec.__version__); "
                    "print(os.path.isfile(os.path.join(os.path.dirname(forkexec.__file__), "
                    "'py.typed'))); "
                    "print(','.join(forkexec.policies.names())); "
                    "print(len(forkexec.Spec(args=['/bin/true'], seccomp='judge').seccomp))")
            lines = run(python, "-c", code, cwd=tmp).split()
            self.assertTrue(lines[0].startswith(os.path.join(venv, "lib")), lines[0])
            self.assertEqual(lines[1:4], ["0.1.0", "True", ",".join(policies.names())])
            self.assertEqual(int(lines[4]), len(policies.program("judge")))


if __name__ == "__main__":
    unittest.main()
