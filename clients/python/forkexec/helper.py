"""Finding the ``forkexec`` helper binary."""

import os
import sys

#: Environment variable naming the helper binary.
HELPER_ENV = "FORKEXEC_HELPER"
#: The helper's file name.
HELPER_NAME = "forkexec"


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_helper() -> str:
    """The helper binary: ``$FORKEXEC_HELPER`` if set; else a ``forkexec`` file next to the
    running script (``sys.argv[0]``); else ``target/release/forkexec`` of the source checkout
    this package sits in (``clients/python/forkexec`` → the repository root); else the first
    ``forkexec`` on ``PATH``. Raises :class:`~forkexec.errors.HelperError` listing every place
    looked at."""
    from .errors import HelperError

    path = os.environ.get(HELPER_ENV)
    if path:
        return path
    looked = [f"${HELPER_ENV} (unset)"]
    candidates = []
    if sys.argv and sys.argv[0]:
        candidates.append(os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])),
                                       HELPER_NAME))
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    candidates.append(os.path.join(repo, "target", "release", HELPER_NAME))
    for candidate in candidates:
        if _executable(candidate):
            return candidate
        looked.append(candidate)
    search = os.environ.get("PATH", os.defpath)
    for d in search.split(os.pathsep):
        if d:
            candidate = os.path.join(d, HELPER_NAME)
            if _executable(candidate):
                return candidate
    looked.append(f"$PATH ({search})")
    raise HelperError(f"cannot find the `{HELPER_NAME}` binary; set {HELPER_ENV} or pass "
                      f"helper= (looked at: {', '.join(looked)})")
