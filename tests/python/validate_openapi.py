"""Validates an OpenAPI document (the file named as the argument) as OpenAPI 3.1 with
PyPI `openapi-spec-validator` (installed by scripts/install-test-deps.sh); prints its
paths as JSON. Exits non-zero when the document is not valid 3.1."""

import json
import sys

from openapi_spec_validator import OpenAPIV31SpecValidator, validate


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        document = json.load(f)
    if not str(document.get("openapi", "")).startswith("3.1"):
        sys.exit(f"not OpenAPI 3.1: openapi = {document.get('openapi')!r}")
    validate(document, cls=OpenAPIV31SpecValidator)
    json.dump(sorted(document["paths"]), sys.stdout)


if __name__ == "__main__":
    main()
