#!/usr/bin/python
# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_instance_info
short_description: Report ECS instances and their disks
version_added: 0.1.0
description:
  - Selects ECS instances by ID, tags and name, and reports for each what matters before a release
    or a hardening run, in the same shape every module of the collection uses.
  - The charge type and expiry, release protection, a scheduled auto-release, the public IPs and EIP,
    and every attached disk with what happens to it when the instance is released.
  - With no selection, reports every instance in O(region).
  - Lists instances 100 to a call. Disks are listed per instance for up to 10 instances, and for
    larger selections once for the whole region, 500 to a call.
author:
  - Alibaba Cloud ECS lifecycle maintainers (@alicloud-ecs)
options:
  include_disks:
    description:
      - Report the disks of each instance. Without them the module makes only DescribeInstances calls.
    type: bool
    default: true
extends_documentation_fragment:
  - alicloud_ecs.lifecycle.connection
  - alicloud_ecs.lifecycle.selection
  - alicloud_ecs.lifecycle.attributes
  - alicloud_ecs.lifecycle.attributes.INFO_MODULE
"""

EXAMPLES = r"""
# Ad hoc, against the collection's emulator:
#   ansible localhost -m alicloud_ecs.lifecycle.ecs_instance_info \
#     -a 'region=cn-hangzhou ecs_endpoint=127.0.0.1:8042 tags={"env":"production"}'

- name: Report the production instances of a region
  alicloud_ecs.lifecycle.ecs_instance_info:
    region: cn-hangzhou
    tags:
      env: production
  register: production

- name: Report two instances by ID, without their disks
  alicloud_ecs.lifecycle.ecs_instance_info:
    region: cn-hangzhou
    instance_ids:
      - i-bp1example0000001
      - i-bp1example0000002
    include_disks: false

- name: Set the connection once for the whole play
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/alicloud_ecs.lifecycle.ecs:
      region: cn-shanghai
      ecs_endpoint: ecs-vpc.cn-shanghai.aliyuncs.com
  tasks:
    - name: Every instance whose name starts with batch-
      alicloud_ecs.lifecycle.ecs_instance_info:
        name: batch-*
"""

RETURN = r"""
instances:
  description: The selected instances, in the order of O(instance_ids) when given.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Instance ID.
      type: str
      sample: i-bp1example0000001
    name:
      description: Instance name.
      type: str
      sample: web-prod-1
    status:
      description: C(Pending), C(Starting), C(Running), C(Stopping) or C(Stopped).
      type: str
      sample: Running
    charge_type:
      description: C(PostPaid) (pay-as-you-go) or C(PrePaid) (subscription).
      type: str
      sample: PostPaid
    expired:
      description: Whether a subscription instance is past its expiry (only expired subscriptions can be released).
      type: bool
      sample: false
    expired_time:
      description: When a subscription expires; pay-as-you-go instances show a far-future time.
      type: str
      sample: "2099-12-31T15:59Z"
    deletion_protection:
      description: Whether release protection is on. It does not stop a scheduled auto-release.
      type: bool
      sample: true
    auto_release_time:
      description: When the instance is scheduled to be released, UTC; empty when not scheduled.
      type: str
      sample: "2026-12-01T00:00:00Z"
    tags:
      description: Tags as a dictionary.
      type: dict
      sample: {"env": "production"}
    public_ips:
      description: Static public IPs. These are lost on release unless converted to an EIP.
      type: list
      elements: str
      sample: ["47.96.1.10"]
    eip:
      description: The bound EIP, or null. An EIP survives the release and keeps billing.
      type: dict
      sample: {"allocation_id": "eip-bp1example", "ip_address": "47.96.1.11"}
    zone:
      description: Zone ID.
      type: str
      sample: cn-hangzhou-h
    region:
      description: Region ID.
      type: str
      sample: cn-hangzhou
    disks:
      description: Attached disks, system disk first. Only with O(include_disks=true).
      type: list
      elements: dict
      returned: when O(include_disks=true)
      contains:
        id:
          description: Disk ID.
          type: str
        name:
          description: Disk name.
          type: str
        type:
          description: C(system) or C(data).
          type: str
        category:
          description: C(cloud_essd), C(cloud_efficiency), C(ephemeral_ssd) (a local disk) and so on.
          type: str
        size:
          description: Size in GiB.
          type: int
        status:
          description: Disk status, such as C(In_use).
          type: str
        device:
          description: Device name on the instance.
          type: str
        charge_type:
          description: C(PostPaid) or C(PrePaid).
          type: str
        portable:
          description: Whether the disk can be detached and kept; local and some system disks cannot.
          type: bool
        delete_with_instance:
          description: Whether the disk is released with the instance.
          type: bool
        delete_auto_snapshot:
          description: Whether the disk's automatic snapshots are deleted with it.
          type: bool
missing_instance_ids:
  description: IDs from O(instance_ids) that do not exist in O(region).
  returned: always
  type: list
  elements: str
  sample: []
unmatched_instance_ids:
  description: IDs from O(instance_ids) that exist but do not match O(tags) or O(name), so are not reported.
  returned: always
  type: list
  elements: str
  sample: []
"""

import typing as t

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_module import (
    AnsibleModule,
    ecs_argument_spec,
    run_module,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_report import (
    disks_by_instance,
    report_instance,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_selector import (
    InstanceSelection,
    select_instances,
)


def report(module: AnsibleModule, client: EcsClient) -> t.Dict[str, t.Any]:
    selected = select_instances(client, InstanceSelection.from_params(module.params))
    disks = None
    if module.params["include_disks"] and selected.instances:
        disks = disks_by_instance(client, [i["InstanceId"] for i in selected.instances])
    return {
        "changed": False,
        "instances": [report_instance(i, disks[i["InstanceId"]] if disks is not None else None)
                      for i in selected.instances],
        "missing_instance_ids": selected.missing_ids,
        "unmatched_instance_ids": selected.unmatched_ids,
    }


def main() -> None:
    spec = ecs_argument_spec({"include_disks": {"type": "bool", "default": True}})
    run_module(spec.create_ansible_module(supports_check_mode=True), report)


if __name__ == "__main__":
    main()
