"""`make bench`: each figure beside a baseline measured in the same run, on the same server.

Machines here are shared and noisy, so only ratios measured side by side mean anything. Results
are printed and saved under bench/results/ as JSON and as a Markdown table.
"""

import argparse
import asyncio
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.enroll_rate import enrollment_rate
from bench.harness import embedded
from bench.lateness import timer_lateness
from bench.pages_at_scale import pages_with_enrollments
from bench.sandbox import sandbox_cost
from bench.sleepers import sleeping_enrollments
from bench.steps import steps_per_second
from sequences import SequenceDefinition, parse_definition

RESULTS = Path(__file__).parent / "results"
# The results table in the benchmark docs, between these markers, is rewritten by a full run.
DOCS = Path(__file__).parents[1] / "docs" / "benchmarks.md"
TABLE_START, TABLE_END = "<!-- bench:start -->\n", "<!-- bench:end -->"


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


def _per_second(work: Callable[[], object], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        work()
    return rounds / (time.perf_counter() - start)


def validation_overhead(rounds: int, repeat: int) -> dict[str, Any]:
    """Full sequence validation (with error mapping and id checks) against bare pydantic parsing.

    The sides alternate and each keeps its best round, the least disturbed by other load.
    """
    raw = _definition(60)
    baseline = project = 0.0
    for _ in range(repeat):
        baseline = max(
            baseline, _per_second(lambda: SequenceDefinition.model_validate(raw), rounds)
        )
        project = max(project, _per_second(lambda: parse_definition(raw), rounds))
    return {
        "name": "sequence validation, 60 steps",
        "unit": "definitions/s",
        "baseline": round(baseline, 1),
        "project": round(project, 1),
        "ratio": round(project / baseline, 3),
    }


async def _stack_benchmarks(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    async with embedded(temporal_in_memory=args.temporal_in_memory) as services:
        if args.steps_contacts:
            results.append(
                await steps_per_second(services, args.steps_contacts, args.steps, args.workers)
            )
        if args.timers:
            results.append(await timer_lateness(services, args.timers, args.lead, args.workers))
        if args.sleepers:
            results.append(
                await sleeping_enrollments(services, args.sleepers, args.requests, args.workers)
            )
        if args.pages:
            results.append(await pages_with_enrollments(services, args.pages, args.requests))
        # Last: the enrollments it starts wait for a worker on the shared task queue, and any
        # worker started after it would run them beside what it measures.
        if args.enroll:
            results.append(await enrollment_rate(services, args.enroll))


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_show(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " / ".join(str(v) for v in value)
    return str(value)


def markdown(stamp: str, results: list[dict[str, Any]]) -> str:
    lines = [
        f"Measured {stamp} on {platform.machine()} with {platform.python_version()}.",
        "",
        "| benchmark | unit | baseline | project | ratio | target | detail |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        cells = [
            *(r[key] for key in ("name", "unit", "baseline", "project", "ratio")),
            *(r.get(key, "") for key in ("target", "detail")),
        ]
        lines.append("| " + " | ".join(_show(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a first look")
    parser.add_argument("--rounds", type=int, default=2000, help="validations per round")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--replays", type=int, default=5, help="rounds of history replays for the sandbox cost"
    )
    parser.add_argument("--steps-contacts", type=int, default=1000, help="0 skips it")
    parser.add_argument("--steps", type=int, default=3, help="steps per enrollment")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes for each measured side; one per core by default",
    )
    parser.add_argument("--enroll", type=int, default=10_000, help="contacts; 0 skips it")
    parser.add_argument("--timers", type=int, default=1000, help="enrollments; 0 skips it")
    parser.add_argument("--lead", type=float, default=60, help="seconds until the timers fire")
    parser.add_argument("--sleepers", type=int, default=100_000, help="enrollments; 0 skips")
    parser.add_argument(
        "--pages", type=int, default=100_000, help="enrollments the web pages see; 0 skips"
    )
    parser.add_argument("--requests", type=int, default=200, help="per measured route")
    parser.add_argument(
        "--temporal-in-memory",
        action="store_true",
        help="the Temporal server keeps its state in memory, not on disk (see bench/harness.py)",
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.replays, args.steps_contacts, args.enroll = 200, 1, 100, 500
        args.timers, args.lead, args.sleepers, args.requests = 100, 20, 1000, 50
        args.pages = 1000

    results = [validation_overhead(args.rounds, args.repeat)]
    try:
        if args.replays:
            results.append(asyncio.run(sandbox_cost(args.replays, args.repeat)))
        asyncio.run(_stack_benchmarks(args, results))
    finally:
        # A benchmark that fails leaves those measured before it on record.
        _save(args, results)


def _save(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    # A quick look keeps the full run's results.
    name = "quick" if args.quick else "latest"
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"at": stamp, "arguments": vars(args), "results": results}, indent=2) + "\n"
    )
    (RESULTS / f"{name}.md").write_text(markdown(stamp, results))
    sizes = (args.replays, args.steps_contacts, args.enroll, args.timers, args.sleepers, args.pages)
    if not args.quick and all(sizes) and args.requests:
        _write_docs_table(markdown(stamp, results))
    for result in results:
        print(
            f"{result['name']}: project {_show(result['project'])}; "
            f"baseline {_show(result['baseline'])}; ratio {result['ratio']}"
            + (f"; {_show(result['detail'])}" if "detail" in result else "")
        )
    print(f"saved bench/results/{name}.json and {name}.md")


def _write_docs_table(table: str) -> None:
    docs = DOCS.read_text()
    before, rest = docs.split(TABLE_START, 1)
    _, after = rest.split(TABLE_END, 1)
    DOCS.write_text(before + TABLE_START + table + TABLE_END + after)
    print(f"wrote the table in {DOCS.relative_to(DOCS.parents[1])}")


if __name__ == "__main__":
    main()
