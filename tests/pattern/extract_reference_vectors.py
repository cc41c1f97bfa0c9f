"""Extract test vectors from the OASIS reference matcher's own STIX 2.1 tests (stix2-matcher 3.0.0).

Runs the tests of the source distribution (``stix2matcher/test/v21``) in-process with pytest, with the
reference's ``match`` (and the two interval helpers those tests call directly) wrapped to record every call the
tests make: the pattern, the observations, the STIX version, and the reference's answer (whether it matched and
which observed-data the first binding holds, or which exception it raised). The vectors are written to
``tests/pattern/vectors/stix2_matcher_v21.json``; ``test_reference_vectors.py`` runs our evaluator on them.

Regenerate (needs the dev dependencies, ``stix2-matcher==3.0.0`` and ``stix2-patterns<2``)::

    .venv/bin/pip download --no-binary :all: --no-deps stix2-matcher==3.0.0 -d /tmp/dl
    tar -xzf /tmp/dl/stix2-matcher-3.0.0.tar.gz -C /tmp/dl
    .venv/bin/python tests/pattern/extract_reference_vectors.py /tmp/dl/stix2-matcher-3.0.0
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import stix2matcher.matcher as reference
from stix2patterns.exceptions import ParseException

OUTPUT = Path(__file__).parent / "vectors" / "stix2_matcher_v21.json"
DEFAULT_SDIST = Path("/tmp/dl/stix2-matcher-3.0.0")


class Recorder:
    """A pytest plugin: knows the running test, and keeps what the wrapped functions saw."""

    def __init__(self) -> None:
        self.vectors: list[dict[str, Any]] = []
        self.test = ""
        self.inside = 0  # > 0 while the reference's match runs: its own calls of the helpers are not vectors

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.test = item.nodeid.split("::", 1)[-1]
        self.module = Path(item.nodeid.split("::", 1)[0]).name

    def wrap_match(self, original: Any) -> Any:
        @functools.wraps(original)
        def match(pattern: str, observed_data_sdos: list[dict[str, Any]], verbose: bool = False,
                  stix_version: str = reference.DEFAULT_VERSION) -> Any:
            vector: dict[str, Any] = {
                "test": f"{self.module}::{self.test}", "function": "match", "pattern": pattern,
                "stix_version": stix_version, "observations": copy.deepcopy(observed_data_sdos),
            }
            self.vectors.append(vector)
            self.inside += 1
            try:
                result = original(pattern, observed_data_sdos, verbose, stix_version)
            except Exception as exc:
                vector["error"] = _error_name(exc)
                raise
            finally:
                self.inside -= 1
            vector["matched"] = bool(result)
            vector["bound"] = _bound(observed_data_sdos, result, stix_version)
            return result
        return match

    def wrap_helper(self, original: Any) -> Any:
        @functools.wraps(original)
        def helper(*args: Any) -> Any:
            if self.inside:
                return original(*args)
            self.inside += 1
            try:
                result = original(*args)
            finally:
                self.inside -= 1
            self.vectors.append({
                "test": f"{self.module}::{self.test}", "function": original.__name__,
                "args": _jsonable(args), "result": result,
            })
            return result
        return helper


def _error_name(exc: Exception) -> str:
    if isinstance(exc, ParseException):
        return "ParseException"
    if isinstance(exc, reference.MatcherException):
        return "MatcherException"
    return type(exc).__name__


def _bound(given: list[dict[str, Any]], result: list[dict[str, Any]], stix_version: str) -> list[int]:
    """The observed-data of the first binding, as indexes among the observed-data of the input, in order."""
    if stix_version == "2.1":
        observed = [obj for bundle in given for obj in bundle["objects"] if obj["type"] == "observed-data"]
        ids = [obj["id"] for obj in observed]
        return sorted(ids.index(sdo["objects"][0]["id"]) for sdo in result)
    return sorted(next(i for i, sdo in enumerate(given) if sdo is found) for found in result)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value


def main(sdist: Path) -> int:
    tests = sdist / "stix2matcher" / "test" / "v21"
    if not tests.is_dir():
        print(f"no STIX 2.1 tests at {tests}: see this script's docstring", file=sys.stderr)
        return 2
    recorder = Recorder()
    # The test modules import these names when pytest collects them: wrap them first.
    reference.match = recorder.wrap_match(reference.match)
    for name in ("_overlap", "_timestamp_intervals_within"):
        setattr(reference, name, recorder.wrap_helper(getattr(reference, name)))
    code = pytest.main([str(tests), "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
                        "--rootdir", str(sdist), "-o", "addopts=", "-W", "ignore::DeprecationWarning"],
                       plugins=[recorder])
    if code != 0:
        print(f"the reference's tests failed (pytest exit code {code}): vectors not written", file=sys.stderr)
        return 1
    license_text = (sdist / "LICENSE").read_text(encoding="utf-8")
    # Many vectors share their observations: keep each set once, and refer to it by its index.
    sets: list[Any] = []
    known: dict[str, int] = {}
    for vector in recorder.vectors:
        if "observations" in vector:
            key = json.dumps(vector["observations"], sort_keys=True)
            if key not in known:
                known[key] = len(sets)
                sets.append(vector["observations"])
            vector["observations"] = known[key]
    document = {
        "source": "stix2-matcher 3.0.0 sdist (stix2matcher/test/v21), https://github.com/oasis-open/cti-pattern-matcher",
        "license": "BSD-3-Clause",
        "copyright": license_text.splitlines()[0].strip(),
        "regenerate": ".venv/bin/python tests/pattern/extract_reference_vectors.py /tmp/dl/stix2-matcher-3.0.0 "
                      "(see the script's docstring to fetch the sdist)",
        "fields": {
            "match": "pattern, stix_version, observations (an index into observation_sets: what was given to "
                     "the reference, a list of bundles for 2.1, of observed-data for 2.0), then matched (bool) "
                     "and bound (indexes of the observed-data of the first binding, among the observed-data in "
                     "input order), or error (ParseException, MatcherException, or the name of another exception "
                     "the reference let escape)",
            "_overlap": "args (min1, max1, min2, max2) and result (0 none, 1 overlap, 2 touch inner, 3 touch "
                        "outer, 4 touch point)",
            "_timestamp_intervals_within": "args (intervals, duration) and result (bool)",
        },
        "count": len(recorder.vectors),
        "vectors": recorder.vectors,
        "observation_sets": sets,
    }
    OUTPUT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(recorder.vectors)} vectors written to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SDIST))
