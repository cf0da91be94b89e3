#!/usr/bin/env python3
"""Validate a FHIR R4 Bundle read from stdin with an independent validator:
PyPI fhir.resources 8.3.0, its R4B models (R4B's resources used here are R4's).

Every entry's resource is validated as its own type as well as the Bundle as a
whole. Prints one line per problem and exits 1 when there is any; exits 2 when
the validator itself is missing (a check that could not run says so).

    python scripts/fhir_validate.py < bundle.json
"""
import importlib
import json
import sys

try:
    from fhir.resources.R4B.bundle import Bundle
except ImportError as e:  # pragma: no cover
    print(f"the FHIR validator is not installed ({e}); run scripts/setup.sh", file=sys.stderr)
    sys.exit(2)

MODULES = {
    "Patient": "patient",
    "AllergyIntolerance": "allergyintolerance",
    "Condition": "condition",
    "Observation": "observation",
    "Encounter": "encounter",
    "DocumentReference": "documentreference",
    "MedicationRequest": "medicationrequest",
    "MedicationDispense": "medicationdispense",
}


def main() -> int:
    data = json.load(sys.stdin)
    problems = []
    try:
        Bundle.model_validate(data)
    except Exception as e:  # pydantic.ValidationError
        problems.append(f"Bundle: {e}")
    for i, entry in enumerate(data.get("entry", [])):
        resource = entry.get("resource", {})
        kind = resource.get("resourceType")
        module = MODULES.get(kind)
        if module is None:
            problems.append(f"entry {i}: unexpected resource type {kind!r}")
            continue
        cls = getattr(importlib.import_module(f"fhir.resources.R4B.{module}"), kind)
        try:
            cls.model_validate(resource)
        except Exception as e:
            problems.append(f"entry {i} ({kind}/{resource.get('id')}): {e}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
