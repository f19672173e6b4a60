"""Parses a /metrics answer (stdin) with the Prometheus reference parser and prints its
families as JSON: [{"name", "type", "samples": [{"name", "labels", "value"}]}].

The parser is `prometheus_client.parser.text_string_to_metric_families` from PyPI
`prometheus-client` (installed by scripts/install-test-deps.sh). It raises on text that
is not the Prometheus text format; this script then exits non-zero.
"""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    families = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        families.append(
            {
                "name": family.name,
                "type": family.type,
                "samples": [
                    {
                        "name": s.name,
                        "labels": s.labels,
                        "value": s.value if math.isfinite(s.value) else str(s.value),
                    }
                    for s in family.samples
                ],
            }
        )
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
