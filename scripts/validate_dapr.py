#!/usr/bin/env python3
"""Validates Dapr resources (Component, Configuration, Resiliency, Subscription) offline against
the openAPIV3Schema of Dapr's own CRDs (../shared/reference/dapr-crds/ next to the repository).

Stricter than the API server's default: a field the schema does not know is an error (the API
server would prune it silently, and a misspelt `scope:` would then quietly apply a component to
every app). Usage: validate_dapr.py [--crds DIR] FILE_OR_DIR... ; exits 1 on any failure.
"""
import argparse
import copy
import pathlib
import sys

import jsonschema
import yaml

DAPR_GROUP = "dapr.io"


def load_crds(crd_dir):
    """(apiVersion, kind) -> JSON schema, for every served version of every CRD in crd_dir."""
    schemas = {}
    for path in sorted(pathlib.Path(crd_dir).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec["versions"]:
                if not version.get("served", True):
                    continue
                schema = strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
    return schemas


def strict(schema):
    """Forbid unknown properties wherever the schema lists properties and allows nothing else."""
    if isinstance(schema, dict):
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        for value in schema.values():
            strict(value)
    elif isinstance(schema, list):
        for item in schema:
            strict(item)
    return schema


def documents(paths):
    for arg in paths:
        path = pathlib.Path(arg)
        files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
        for file in files:
            for index, doc in enumerate(yaml.safe_load_all(file.read_text())):
                if doc:
                    yield f"{file}#{index}", doc


def main():
    here = pathlib.Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crds", default=here.parent.parent / "shared/reference/dapr-crds")
    parser.add_argument("--require-scopes", action="store_true",
                        help="also fail on a Component without top-level scopes")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()

    schemas = load_crds(args.crds)
    if not schemas:
        sys.exit(f"no CRDs found in {args.crds}")
    passed = failed = 0
    for where, doc in documents(args.paths):
        api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
        if not api_version.startswith(DAPR_GROUP + "/"):
            continue
        name = f"{kind}/{(doc.get('metadata') or {}).get('name', '?')}"
        errors = []
        schema = schemas.get((api_version, kind))
        if schema is None:
            errors.append(f"no CRD serves {kind} in {api_version}")
        else:
            validator = jsonschema.Draft7Validator(schema)
            for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
                location = ".".join(str(p) for p in error.absolute_path) or "(root)"
                errors.append(f"{location}: {error.message}")
        if not (doc.get("metadata") or {}).get("name"):
            errors.append("metadata.name is missing")
        if args.require_scopes and kind in ("Component", "Resiliency") and not doc.get("scopes"):
            errors.append("no top-level scopes: it would apply to every app in the namespace")
        if errors:
            failed += 1
            for error in errors:
                print(f"FAIL {where} {name}: {error}")
        else:
            passed += 1
            print(f"ok   {where} {name}")
    print(f"dapr resources: {passed} valid, {failed} invalid")
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
