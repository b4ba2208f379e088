#!/usr/bin/env python3
"""Emulator benchmark: 100,000-instance fleet load, tag-filtered page latency, signed requests per second.

Usage: python benchmarks/emulator_bench.py [--duration SECONDS] [--clients N]

A fourth line checks that injected latency overlaps across concurrent clients, as the collection's
benchmarks rely on. Prints a table and writes benchmarks/results/emulator.json. "attainment" is goal/measured for
lower-is-better metrics and measured/goal for higher-is-better ones, so >= 1.0 means the goal is met.
The rps clients run in separate processes (the GIL stays with the server) and sign with the raw v3
signer from ecs_emulator.auth, which is checked once against the official SDK first.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "emulator"))

from ecs_emulator import Emulator  # noqa: E402
from ecs_emulator.auth import AccessKey, sign_v3  # noqa: E402

FLEET = REPO / "emulator" / "examples" / "large-100k.yaml"
RESULTS = REPO / "benchmarks" / "results" / "emulator.json"
REGION = "cn-hangzhou"
# large-100k.yaml tags every instance with shard s0..s9: one shard is 10,000 instances.
TAG_QUERY = {"RegionId": REGION, "Tag.1.Key": "shard", "Tag.1.Value": "s3", "PageSize": "100", "PageNumber": "3"}
LATENCY_SAMPLES = 200
INJECTED_LATENCY_MS = 20


@dataclass
class Metric:
    name: str
    measured: float
    unit: str
    goal: float
    lower_is_better: bool

    @property
    def attainment(self) -> float:
        if self.lower_is_better:
            return self.goal / self.measured if self.measured else float("inf")
        return self.measured / self.goal

    def row(self) -> dict[str, object]:
        return {**asdict(self), "attainment": round(self.attainment, 2), "met": self.attainment >= 1.0}


class SignedConnection:
    """One keep-alive connection that sends v3-signed requests, like an SDK client minus its weight."""

    def __init__(self, endpoint: str, key: AccessKey) -> None:
        host, port = endpoint.split(":")
        self.endpoint = endpoint
        self.key = key
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def call(self, action: str, query: dict[str, str]) -> tuple[int, bytes]:
        headers = sign_v3(self.key, action, query, self.endpoint)
        self.connection.request("POST", "/?" + urlencode(query), headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()


def check_raw_signer_agrees_with_sdk(emu: Emulator, key: AccessKey) -> None:
    from alibabacloud_ecs20140526 import models
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi.models import Config

    config = Config(access_key_id=key.id, access_key_secret=key.secret, endpoint=emu.endpoint, protocol="http", region_id=REGION)
    sdk_body = Client(config).describe_instance_attribute(models.DescribeInstanceAttributeRequest(instance_id=instance_id(1))).body.to_map()
    status, raw = SignedConnection(emu.endpoint, key).call("DescribeInstanceAttribute", {"InstanceId": instance_id(1)})
    raw_body = json.loads(raw)
    if status != 200 or {k: v for k, v in raw_body.items() if k != "RequestId"} != {k: v for k, v in sdk_body.items() if k != "RequestId"}:
        raise SystemExit(f"raw signer and SDK disagree: {status} {raw[:300]!r}")


def instance_id(n: int) -> str:
    return f"i-bplarge{n:011d}"  # the id pattern of large-100k.yaml


def measure_load(emu: Emulator) -> Metric:
    started = time.perf_counter()
    emu.load_fleet(FLEET)
    return Metric("load 100k-instance fleet", time.perf_counter() - started, "s", 10.0, True)


def measure_tag_page_latency(emu: Emulator, key: AccessKey) -> Metric:
    connection = SignedConnection(emu.endpoint, key)
    status, body = connection.call("DescribeInstances", TAG_QUERY)
    page = json.loads(body)
    if status != 200 or len(page["Instances"]["Instance"]) != 100 or page["TotalCount"] != 10_000:
        raise SystemExit(f"unexpected tag page: {status} {body[:300]!r}")
    samples = []
    for _ in range(LATENCY_SAMPLES):
        started = time.perf_counter()
        connection.call("DescribeInstances", TAG_QUERY)
        samples.append((time.perf_counter() - started) * 1000)
    return Metric("DescribeInstances, tag filter, page of 100 (median)", statistics.median(samples), "ms", 20.0, True)


def _client_process(endpoint: str, key: AccessKey, worker: int, start_at: float, stop_at: float, results: multiprocessing.Queue) -> None:
    connection = SignedConnection(endpoint, key)
    done = failed = 0
    n = worker * 6151
    while time.time() < start_at:
        time.sleep(0.001)
    while time.time() < stop_at:
        n = (n + 7919) % 100_000
        status, _ = connection.call("DescribeInstanceAttribute", {"InstanceId": instance_id(n)})
        done += 1
        failed += status != 200
    results.put((done, failed))


def measure_throughput(emu: Emulator, key: AccessKey, clients: int, duration: float, name: str, goal: float) -> Metric:
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue = context.Queue()
    start_at = time.time() + 1.5  # every process connected and waiting before the window opens
    processes = [
        context.Process(target=_client_process, args=(emu.endpoint, key, w, start_at, start_at + duration, results)) for w in range(clients)
    ]
    for process in processes:
        process.start()
    counts = [results.get(timeout=duration + 60) for _ in processes]
    for process in processes:
        process.join()
    done = sum(c[0] for c in counts)
    failed = sum(c[1] for c in counts)
    if failed:
        raise SystemExit(f"{failed} of {done} signed requests failed")
    return Metric(name, done / duration, "req/s", goal, False)


def print_table(metrics: list[Metric]) -> None:
    print(f"{'metric':<55} {'measured':>16} {'goal':>10}  {'attainment':>10}")
    for metric in metrics:
        sign = "<" if metric.lower_is_better else ">="
        print(
            f"{metric.name:<55} {metric.measured:>9.2f} {metric.unit:<3}"
            f" {sign + format(metric.goal, 'g'):>9}  {metric.attainment:>9.2f}{'' if metric.attainment >= 1 else ' MISSED'}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the throughput window")
    parser.add_argument("--clients", type=int, default=16, help="concurrent client processes for throughput")
    args = parser.parse_args()
    with Emulator(start_timeout=120) as emu:
        key = AccessKey(emu.access_key_id, emu.access_key_secret)
        metrics = [measure_load(emu)]
        check_raw_signer_agrees_with_sdk(emu, key)
        metrics.append(measure_tag_page_latency(emu, key))
        emu.clear_calls()
        metrics.append(
            measure_throughput(emu, key, args.clients, args.duration, f"signed requests/s, {args.clients} client processes", 1000.0)
        )
        recorded = len(emu.calls())
        # Injected latency is awaited, so concurrent requests overlap their delays: with 20 ms per call,
        # N clients approach N * 50 requests/s, where serialised delays would cap everything at 50.
        # The goal asks for half the ideal: the clients' own work shares the two cores.
        emu.set_faults(actions={"*": {"latency_ms": INJECTED_LATENCY_MS}})
        ideal = args.clients * 1000 / INJECTED_LATENCY_MS
        name = f"requests/s with {INJECTED_LATENCY_MS} ms injected, {args.clients} clients"
        metrics.append(measure_throughput(emu, key, args.clients, min(args.duration, 5.0), name, 0.5 * ideal))
    print_table(metrics)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "throughput_calls_recorded": recorded,
        "metrics": [metric.row() for metric in metrics],
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
