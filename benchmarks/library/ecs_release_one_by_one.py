#!/usr/bin/python
# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark baseline only: release instances the way the existing Alibaba Cloud module does.

One DeleteInstance call per instance, then poll that instance until it is gone, one after the other.
It goes through the collection's own client (the same SDK, retries and emulator), so the only
difference from ecs_release is the call pattern.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_release_one_by_one
short_description: Benchmark baseline, releases instances one DeleteInstance call at a time
description:
  - Not part of the collection. Selects by tag, then for each instance calls DeleteInstance and polls
    DescribeInstances by its id until it is gone, as the existing module does.
options:
  tags:
    description: Tags to select by.
    type: dict
    required: true
  region:
    description: Region.
    type: str
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import connect
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_module import CONNECTION_ARGUMENT_SPEC
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import EcsError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_selector import (
    InstanceSelection,
    select_instances,
)


def main():
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec["tags"] = {"type": "dict", "required": True}
    module = AnsibleModule(argument_spec=spec)
    try:
        client = connect(module.params)
        selected = select_instances(client, InstanceSelection(tags=module.params["tags"]))
        released = []
        for instance in selected.instances:
            instance_id = instance["InstanceId"]
            client.call("DeleteInstance", {"InstanceId": instance_id}, regional=False)
            while list(client.paginate("DescribeInstances", {"InstanceIds": json.dumps([instance_id])})):
                time.sleep(1)
            released.append(instance_id)
    except EcsError as error:
        module.fail_json(msg=error.message, **error.result)
    module.exit_json(changed=bool(released), released=released)


if __name__ == "__main__":
    main()
