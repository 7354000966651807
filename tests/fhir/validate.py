#!/usr/bin/env python3
"""Checks FHIR R4 JSON with an independent client library (SMART on FHIR's `fhirclient`,
R4 4.0.1 models) in strict mode: unknown elements, wrong types and missing required
elements are errors. Usage: validate.py FILE_OR_DIR...  Exits non-zero on any failure, or if
nothing was checked (a run that checks nothing proves nothing)."""

import json
import pathlib
import sys

from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirelementfactory import FHIRElementFactory


def check(path: pathlib.Path) -> str | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return f"not readable JSON: {e}"
    kind = data.get("resourceType")
    if not kind:
        return "no resourceType"
    try:
        resource = FHIRElementFactory.instantiate(kind, data)
    except FHIRValidationError as e:
        return "; ".join(str(x) for x in e.errors[:5]) or str(e)
    except Exception as e:  # the library raises plain errors for some shapes
        return f"{type(e).__name__}: {e}"
    if type(resource).__name__ != kind:
        return f"unknown resource type {kind}"
    # Round trip: what the library writes back must be what we sent.
    if resource.as_json().get("resourceType") != kind:
        return "did not survive the library's round trip"
    return None


def main(args: list[str]) -> int:
    files: list[pathlib.Path] = []
    for a in args:
        p = pathlib.Path(a)
        files.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    failures = 0
    for f in files:
        problem = check(f)
        print(f"{'FAIL' if problem else 'ok  '} {f.name}" + (f": {problem}" if problem else ""))
        failures += problem is not None
    print(f"{len(files) - failures} passed, {failures} failed")
    if not files:
        print("no FHIR files to check", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
