#!/usr/bin/python
# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_release_protection
short_description: Turn ECS release protection on or off
version_added: 0.1.0
description:
  - Turns release protection (C(DeletionProtection)) on or off for the selected ECS instances, so that
    the console, the API and the CLI cannot release them by accident.
  - Release protection applies to pay-as-you-go instances only. Subscription instances in the selection
    are left alone, listed in RV(skipped_instances), and a warning says so.
  - Release protection does not stop a scheduled auto-release (nor a release for overdue payment or a
    security violation, nor an Auto Scaling scale-in). Protected instances that have an auto-release
    time are listed in RV(auto_release_scheduled) with a warning; cancel the schedule with
    M(alicloud_ecs.lifecycle.ecs_auto_release) and O(alicloud_ecs.lifecycle.ecs_auto_release#module:state=absent).
  - Reads the instances 100 to a call, then makes one C(ModifyInstanceAttribute) call per instance that
    needs a change (the API has no batch form), a few at a time. Instances already in the wanted state
    get no call.
  - O(instance_ids) that do not exist fail the task before any change, naming them. A O(tags) or O(name)
    filter that matches nothing changes nothing and warns.
author:
  - Alibaba Cloud ECS lifecycle maintainers (@alicloud-ecs)
options:
  state:
    description:
      - V(enabled) turns release protection on, V(disabled) turns it off.
    type: str
    choices: [enabled, disabled]
    default: enabled
notes:
  - At least one of O(instance_ids), O(tags) and O(name) is required.
extends_documentation_fragment:
  - alicloud_ecs.lifecycle.connection
  - alicloud_ecs.lifecycle.selection
  - alicloud_ecs.lifecycle.attributes
  - alicloud_ecs.lifecycle.attributes.ACTIONS
seealso:
  - module: alicloud_ecs.lifecycle.ecs_auto_release
  - module: alicloud_ecs.lifecycle.ecs_instance_info
"""

EXAMPLES = r"""
# Ad hoc, against the collection's emulator:
#   ansible localhost -m alicloud_ecs.lifecycle.ecs_release_protection \
#     -a 'region=cn-hangzhou ecs_endpoint=127.0.0.1:8042 tags={"env":"production"}' --check --diff

- name: Protect every production instance from release
  alicloud_ecs.lifecycle.ecs_release_protection:
    region: cn-hangzhou
    tags:
      env: production
  register: protected

- name: Say which protected instances will still be released on a schedule
  ansible.builtin.debug:
    msg: "{{ item.id }} ({{ item.name }}) is released at {{ item.auto_release_time }}"
  loop: "{{ protected.auto_release_scheduled }}"

- name: Lift protection from two instances before retiring them
  alicloud_ecs.lifecycle.ecs_release_protection:
    region: cn-hangzhou
    instance_ids:
      - i-bp1example0000001
      - i-bp1example0000002
    state: disabled

- name: Protect production in a whole play, connection set once
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/alicloud_ecs.lifecycle.ecs:
      region: cn-shanghai
  tasks:
    - name: Protect the web tier
      alicloud_ecs.lifecycle.ecs_release_protection:
        name: web-prod-*
"""

RETURN = r"""
instances:
  description: Every selected instance, with what the module did (or in check mode would do) to it and why.
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
    charge_type:
      description: C(PostPaid) (pay-as-you-go) or C(PrePaid) (subscription).
      type: str
      sample: PostPaid
    deletion_protection:
      description: Whether release protection was on when the module read the instance.
      type: bool
      sample: false
    auto_release_time:
      description: The scheduled auto-release, C(yyyy-MM-ddTHH:mm:ssZ) UTC; empty when none.
      type: str
      sample: ""
    before:
      description: Release protection before the change.
      type: dict
      sample: {"deletion_protection": false}
    after:
      description: Release protection after the change (in check mode, as it would be).
      type: dict
      sample: {"deletion_protection": true}
    changed:
      description: Whether the instance is (or in check mode would be) changed.
      type: bool
      sample: true
    skipped:
      description: Whether the instance was left alone because it is a subscription instance.
      type: bool
      sample: false
    reason:
      description: Why the instance changes, or is left alone.
      type: str
      sample: release protection will be enabled
changed_instances:
  description: IDs of the instances changed (in check mode, that would be changed).
  returned: always
  type: list
  elements: str
  sample: ["i-bp1example0000001"]
skipped_instances:
  description: Subscription instances left alone, and why.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "i-bp1example0000003", "name": "db-prod-1",
            "reason": "subscription instance: release protection applies to pay-as-you-go instances only"}]
auto_release_scheduled:
  description:
    - Instances that are (or in check mode would be) protected but have a scheduled auto-release, which
      protection does not stop. Empty with O(state=disabled).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "i-bp1example0000004", "name": "loadtest-1", "auto_release_time": "2026-12-01T10:00:00Z"}]
unmatched_instance_ids:
  description: IDs from O(instance_ids) that exist but do not match O(tags) or O(name), so are left alone.
  returned: always
  type: list
  elements: str
  sample: []
missing_instance_ids:
  description: IDs from O(instance_ids) that do not exist in O(region). The task fails before any change.
  returned: failure
  type: list
  elements: str
  sample: ["i-bp1doesnotexist01"]
failed_instances:
  description: Instances whose change the API refused, with the error. The other changes were made.
  returned: failure
  type: list
  elements: dict
  sample: [{"id": "i-bp1example0000001", "name": "web-prod-1", "code": "IncorrectInstanceStatus", "msg": "..."}]
"""

import typing as t

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_module import (
    AnsibleModule,
    ecs_argument_spec,
    run_module,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_plan import apply_instance_plan
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.release_protection import (
    release_protection_plan,
    write_release_protection,
)


def protect(module: AnsibleModule, client: EcsClient) -> t.Dict[str, t.Any]:
    enabled = module.params["state"] == "enabled"
    return apply_instance_plan(module, client, lambda instances: release_protection_plan(instances, enabled),
                               write_release_protection)


def main() -> None:
    spec = ecs_argument_spec({
        "state": {"type": "str", "choices": ["enabled", "disabled"], "default": "enabled"},
    }, required_one_of=[["instance_ids", "tags", "name"]])
    run_module(spec.create_ansible_module(supports_check_mode=True), protect)


if __name__ == "__main__":
    main()
