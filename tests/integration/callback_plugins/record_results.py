"""Test-only callback: appends every task result, as JSON, to the file named by ECS_TEST_RESULTS."""

from __future__ import annotations

DOCUMENTATION = r"""
name: record_results
type: aggregate
short_description: Record task results for the integration tests
description:
  - Appends one JSON line per task result to the file named by E(ECS_TEST_RESULTS).
options: {}
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_results"
    CALLBACK_NEEDS_ENABLED = False

    def _record(self, result, status):
        path = os.environ.get("ECS_TEST_RESULTS")
        if not path:
            return
        line = {"task": result.task_name, "host": result._host.get_name(), "status": status,
                "result": self._dump_results_dict(result)}
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

    @staticmethod
    def _dump_results_dict(result):
        data = dict(result._result)
        data.pop("_ansible_verbose_always", None)
        return json.loads(json.dumps(data, default=str))

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")
