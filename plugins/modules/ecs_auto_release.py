#!/usr/bin/python
# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_auto_release
short_description: Schedule or cancel the automatic release of ECS instances
version_added: 0.1.0
description:
  - Schedules the selected ECS instances to be released at a time (C(ModifyInstanceAutoReleaseTime)),
    or cancels a schedule, without the console.
  - Auto-release applies to pay-as-you-go instances only. With O(state=present), subscription instances
    in the selection fail the task before any change, listing them. With O(state=absent) they are left
    alone and listed in RV(skipped_instances), as there is nothing to cancel.
  - B(Release protection does not stop a scheduled release.) With O(state=present), instances with
    release protection on fail the task before any change, listing them, unless O(allow_protected=true).
  - The API keeps whole minutes, so times are converted to UTC and rounded down to the minute. A time less
    than 30 minutes or more than 3 years ahead fails before any change, naming the option and the UTC
    time it came to.
  - Reads the instances 100 to a call, then makes one C(ModifyInstanceAutoReleaseTime) call per instance
    that needs a change (the API takes one instance a call), a few at a time.
  - O(instance_ids) that do not exist fail the task before any change, naming them. A O(tags) or O(name)
    filter that matches nothing changes nothing and warns.
author:
  - Alibaba Cloud ECS lifecycle maintainers (@alicloud-ecs)
options:
  state:
    description:
      - V(present) schedules the release at O(release_time) or after O(release_in).
      - V(absent) cancels any scheduled release.
    type: str
    choices: [present, absent]
    default: present
  release_time:
    description:
      - When to release, as an ISO 8601 time B(with) a UTC offset or C(Z), for example
        C(2026-12-01T18:00:00+08:00) or C(2026-12-01T10:00:00Z). A time without an offset is refused
        rather than guessed. Quote it in YAML.
      - Converted to UTC and rounded down to the minute, as the API does.
      - Must be at least 30 minutes and at most 3 years ahead.
      - Mutually exclusive with O(release_in); one of them is required with O(state=present).
    type: str
  release_in:
    description:
      - When to release, as a duration from now in days, hours and minutes, for example C(90m), C(36h),
        C(14d) or C(1d12h).
      - The resulting time is rounded down to the minute, and must be at least 30 minutes and at most
        3 years ahead.
      - A rerun finds the schedule of the first run within O(tolerance) and changes nothing.
      - Mutually exclusive with O(release_time); one of them is required with O(state=present).
    type: str
  tolerance:
    description:
      - An existing schedule this close to the wanted time, either way, counts as correct and is left
        as it is. Same format as O(release_in); V(0m) asks for the exact minute.
    type: str
    default: 5m
  allow_protected:
    description:
      - Schedule the release of instances with release protection on. Protection does not stop a
        scheduled release, so they B(will) be released at that time.
      - Without it, such instances fail the task before any change.
    type: bool
    default: false
notes:
  - At least one of O(instance_ids), O(tags) and O(name) is required.
  - The 30-minute and 3-year bounds are checked against the clock of the host that runs the module,
    which should be in sync.
extends_documentation_fragment:
  - alicloud_ecs.lifecycle.connection
  - alicloud_ecs.lifecycle.selection
  - alicloud_ecs.lifecycle.attributes
  - alicloud_ecs.lifecycle.attributes.ACTIONS
seealso:
  - module: alicloud_ecs.lifecycle.ecs_release_protection
  - module: alicloud_ecs.lifecycle.ecs_instance_info
"""

EXAMPLES = r"""
# Ad hoc, against the collection's emulator:
#   ansible localhost -m alicloud_ecs.lifecycle.ecs_auto_release \
#     -a 'region=cn-hangzhou ecs_endpoint=127.0.0.1:8042 name=loadtest-* release_in=36h' --check --diff

- name: Release the load-test boxes in 36 hours (a rerun keeps the first schedule)
  alicloud_ecs.lifecycle.ecs_auto_release:
    region: cn-hangzhou
    tags:
      team: perf
    release_in: 36h

- name: Release two instances at 18:00 Beijing time
  alicloud_ecs.lifecycle.ecs_auto_release:
    region: cn-hangzhou
    instance_ids:
      - i-bp1example0000001
      - i-bp1example0000002
    release_time: "2026-12-01T18:00:00+08:00"

- name: Cancel every scheduled release of production
  alicloud_ecs.lifecycle.ecs_auto_release:
    region: cn-hangzhou
    tags:
      env: production
    state: absent

- name: Retire a protected sandbox on a schedule, knowing protection will not stop it
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/alicloud_ecs.lifecycle.ecs:
      region: cn-hangzhou
  tasks:
    - name: Schedule the release in two weeks
      alicloud_ecs.lifecycle.ecs_auto_release:
        name: dev-sandbox-1
        release_in: 14d
        allow_protected: true
      register: scheduled

    - name: Show when
      ansible.builtin.debug:
        msg: "{{ scheduled.instances | map(attribute='after.auto_release_time') | list }}"
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
      sample: loadtest-1
    charge_type:
      description: C(PostPaid) (pay-as-you-go) or C(PrePaid) (subscription).
      type: str
      sample: PostPaid
    deletion_protection:
      description: Whether release protection is on. It does not stop a scheduled release.
      type: bool
      sample: false
    auto_release_time:
      description: The scheduled release when the module read the instance, C(yyyy-MM-ddTHH:mm:ssZ) UTC; empty when none.
      type: str
      sample: ""
    before:
      description: The release time before the change, C(yyyy-MM-ddTHH:mm:ssZ) UTC, empty when none.
      type: dict
      sample: {"auto_release_time": ""}
    after:
      description: The release time after the change (in check mode, as it would be); empty when cancelled.
      type: dict
      sample: {"auto_release_time": "2026-12-01T10:00:00Z"}
    changed:
      description: Whether the instance is (or in check mode would be) changed.
      type: bool
      sample: true
    skipped:
      description: Whether the instance was left alone because it is a subscription instance (O(state=absent) only).
      type: bool
      sample: false
    reason:
      description: Why the instance changes, or is left alone.
      type: str
      sample: auto-release will be set to 2026-12-01T10:00:00Z
changed_instances:
  description: IDs of the instances changed (in check mode, that would be changed).
  returned: always
  type: list
  elements: str
  sample: ["i-bp1example0000001"]
skipped_instances:
  description: Subscription instances left alone with O(state=absent), and why.
  returned: always
  type: list
  elements: dict
  sample: []
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
refused_instance_ids:
  description:
    - Subscription instances (with O(state=present)), or instances with release protection on (without
      O(allow_protected=true)), that made the task fail before any change.
  returned: failure
  type: list
  elements: str
  sample: ["i-bp1example0000003"]
failed_instances:
  description: Instances whose change the API refused, with the error. The other changes were made.
  returned: failure
  type: list
  elements: dict
  sample: [{"id": "i-bp1example0000001", "name": "loadtest-1", "code": "ChargeTypeViolation", "msg": "..."}]
"""

import typing as t
from datetime import datetime, timezone

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.auto_release import (
    auto_release_plan,
    parse_duration,
    wanted_release_time,
    write_auto_release,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_module import (
    AnsibleModule,
    ecs_argument_spec,
    run_module,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_plan import apply_instance_plan


def schedule(module: AnsibleModule, client: EcsClient) -> t.Dict[str, t.Any]:
    params = module.params
    # Bad times fail here, before the first call.
    tolerance = parse_duration("tolerance", params["tolerance"])
    wanted = None
    if params["state"] == "present":
        wanted = wanted_release_time(params["release_time"], params["release_in"], datetime.now(timezone.utc))
    return apply_instance_plan(
        module, client,
        lambda instances: auto_release_plan(instances, wanted, tolerance, params["allow_protected"]),
        write_auto_release)


def main() -> None:
    spec = ecs_argument_spec({
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "release_time": {"type": "str"},
        "release_in": {"type": "str"},
        "tolerance": {"type": "str", "default": "5m"},
        "allow_protected": {"type": "bool", "default": False},
    },
        required_one_of=[["instance_ids", "tags", "name"]],
        mutually_exclusive=[["release_time", "release_in"]],
        required_if=[["state", "present", ["release_time", "release_in"], True]],
    )
    run_module(spec.create_ansible_module(supports_check_mode=True), schedule)


if __name__ == "__main__":
    main()
