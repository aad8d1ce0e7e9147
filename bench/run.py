"""`make bench`: each figure beside a baseline measured in the same run, as a ratio.

Machines here are shared and noisy, so only ratios measured side by side mean anything.
Results are printed and saved under bench/results/.
"""

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sequences import SequenceDefinition, parse_definition

RESULTS = Path(__file__).parent / "results"


def _definition(steps: int) -> dict[str, Any]:
    kinds = [
        {"kind": "delay", "duration": "P1D"},
        {
            "kind": "email",
            "subject": "Hi {{ contact.first_name }}",
            "body": "Body {{ contact.email }}",
        },
        {"kind": "apply_tag", "tag": "engaged"},
    ]
    return {
        "tracks": [{"id": "main", "steps": [{"id": f"s{i}", **kinds[i % 3]} for i in range(steps)]}]
    }


def _per_second(work: Callable[[], object], rounds: int, repeat: int) -> float:
    """Best-of-`repeat` throughput, which is the least disturbed by other load."""
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(rounds):
            work()
        timings.append(time.perf_counter() - start)
    return rounds / min(timings)


def validation_overhead(rounds: int, repeat: int) -> dict[str, Any]:
    """Full sequence validation (with error mapping and id checks) against bare pydantic parsing."""
    raw = _definition(60)
    baseline = _per_second(lambda: SequenceDefinition.model_validate(raw), rounds, repeat)
    project = _per_second(lambda: parse_definition(raw), rounds, repeat)
    return {
        "name": "sequence validation, 60 steps",
        "unit": "definitions/s",
        "baseline": round(baseline, 1),
        "project": round(project, 1),
        "ratio": round(project / baseline, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    results = [validation_overhead(args.rounds, args.repeat)]
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    (RESULTS / "latest.json").write_text(json.dumps({"at": stamp, "results": results}, indent=2))
    for result in results:
        print(
            f"{result['name']}: project {result['project']} {result['unit']}, "
            f"baseline {result['baseline']} {result['unit']}, ratio {result['ratio']:.2f}x"
        )
    print(
        f"median ratio {statistics.median(r['ratio'] for r in results):.2f}x; saved bench/results/latest.json"
    )


if __name__ == "__main__":
    main()
