#!/usr/bin/python
# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_snapshot
short_description: Snapshot the disks of ECS instances before they are released
version_added: 0.2.0
description:
  - Takes a snapshot of every disk in scope of each selected instance, or one consistent snapshot group per
    instance, waits until they are accomplished, and says which instances are safe to release.
  - "A backup run is named by O(run_id). Every snapshot it creates carries the tag
    C(alicloud_ecs.lifecycle:run=<run_id>). A rerun with the same O(run_id) lists the run's snapshots by that tag:
    accomplished snapshots are reused, progressing ones are waited for, and only disks with no snapshot, or whose
    every snapshot of the run failed, get a new one. So a run interrupted anywhere can be rerun without a second
    snapshot of anything already done."
  - Each create call carries a ClientToken derived from O(run_id), the disk (or instance) and the attempt, so a
    retried call cannot create a second snapshot either.
  - An instance is safe to release only when every disk in scope has an accomplished snapshot of the run.
    A failed snapshot, a refused create call, or a wait that timed out fails the task, and the result still lists
    every instance with RV(safe_to_release) and RV(not_safe_to_release).
  - A failed snapshot is not retried within a run; rerun with the same O(run_id) to replace it.
    The failed snapshot is left in place and never counts as a backup.
  - Local disks (C(ephemeral_ssd) and other instance-store categories) cannot be snapshotted. They are reported in
    RV(instances[].uncovered_disks) with a warning, and do not make the instance unsafe.
  - Lists instances 100 to a call, the run's snapshots by tag 100 to a page, and polls snapshot status 100 ids
    to a call. Creates snapshots up to 8 at a time, one per disk.
author:
  - Alibaba Cloud ECS lifecycle maintainers (@alicloud-ecs)
options:
  run_id:
    description:
      - Names this backup run, for example a change ticket. Snapshots of the run are found again by it.
      - Use a new value for a new backup. Reusing an old value reuses that run's snapshots, however old they are.
      - 1 to 64 letters, digits, C(.), C(_), C(:) or C(-).
    type: str
    required: true
  disks:
    description:
      - Which disks of each instance to snapshot.
    type: str
    choices: [all, system, data]
    default: all
  consistent:
    description:
      - Take one crash-consistent snapshot group per instance (CreateSnapshotGroup) instead of one snapshot per
        disk. A group holds at most 16 disks.
    type: bool
    default: false
  name_prefix:
    description:
      - Snapshots are named C(<name_prefix>-<disk id>), snapshot groups C(<name_prefix>-<instance id>).
      - Starts with a letter; at most 80 letters, digits, C(.), C(_), C(:) or C(-); not C(auto), C(http),
        C(acs:) or C(aliyun) first.
      - Defaults to O(run_id).
    type: str
  retention_days:
    description:
      - Days after which ECS deletes the snapshots, 1 to 65536. Unset keeps them until deleted.
    type: int
  snapshot_tags:
    description:
      - Tags to put on every snapshot (and snapshot group), besides the run tag. At most 19.
    type: dict
    default: {}
  wait:
    description:
      - Wait until every snapshot of the run is accomplished or failed.
      - Without waiting, instances whose snapshots are still progressing are in RV(not_safe_to_release).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait. When they run out the task fails; rerun with the same O(run_id) to wait again.
    type: int
    default: 3600
notes:
  - Requires at least one of O(instance_ids), O(tags) or O(name).
  - Check mode lists the run's existing snapshots and reports what would be created, creating nothing.
extends_documentation_fragment:
  - alicloud_ecs.lifecycle.connection
  - alicloud_ecs.lifecycle.selection
  - alicloud_ecs.lifecycle.attributes
  - alicloud_ecs.lifecycle.attributes.ACTIONS
"""

EXAMPLES = r"""
# Ad hoc, against the collection's emulator:
#   ansible localhost -m alicloud_ecs.lifecycle.ecs_snapshot \
#     -a 'region=cn-hangzhou ecs_endpoint=127.0.0.1:8042 run_id=CHG-1234 tags={"team":"retire"}'

- name: Snapshot every disk of the instances tagged for retirement
  alicloud_ecs.lifecycle.ecs_snapshot:
    region: cn-hangzhou
    tags:
      team: retire
    run_id: CHG-1234
    retention_days: 90
    snapshot_tags:
      ticket: CHG-1234
  register: backup

- name: Only release what is backed up
  ansible.builtin.assert:
    that: backup.not_safe_to_release | length == 0

- name: One consistent snapshot group per instance, data disks only, without waiting
  alicloud_ecs.lifecycle.ecs_snapshot:
    instance_ids:
      - i-bp1example0000001
    run_id: CHG-1234-data
    disks: data
    consistent: true
    wait: false
"""

RETURN = r"""
run_id:
  description: The run, as given.
  returned: always
  type: str
  sample: CHG-1234
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
      sample: batch-old-1
    safe_to_release:
      description: Whether every disk in scope has an accomplished snapshot of the run.
      type: bool
      sample: true
    reason:
      description: Why the instance is, or is not, safe to release.
      type: str
      sample: every disk in scope has an accomplished snapshot
    snapshot_group_id:
      description: The snapshot group of the run for this instance.
      type: str
      returned: when O(consistent=true)
      sample: ssg-bp1example0000001
    snapshots:
      description: One entry per disk in scope, system disk first.
      type: list
      elements: dict
      contains:
        id:
          description: Snapshot ID; null when none was created (check mode, or a refused call).
          type: str
          sample: s-bp1example0000001
        name:
          description: Snapshot name.
          type: str
          sample: CHG-1234-d-bp1example0000001
        disk_id:
          description: The disk the snapshot is of.
          type: str
          sample: d-bp1example0000001
        disk_type:
          description: C(system) or C(data).
          type: str
          sample: system
        status:
          description:
            - C(accomplished), C(progressing) or C(failed) as ECS reports it;
              C(planned) in check mode for a snapshot that would be created;
              C(not_created) when the create call was refused (see RV(instances[].snapshots[].error)).
          type: str
          sample: accomplished
        progress:
          description: Progress as ECS reports it.
          type: str
          sample: 100%
        created:
          description: Whether this task created the snapshot (false when it reused one of the run).
          type: bool
          sample: true
        error:
          description: Why there is no usable snapshot, or an empty string.
          type: str
          sample: ""
    uncovered_disks:
      description: Local disks in scope, which no snapshot can back up.
      type: list
      elements: dict
      sample: [{"id": "d-bp1local", "category": "ephemeral_ssd", "size": 447,
                "reason": "local disks cannot be snapshotted"}]
safe_to_release:
  description: IDs of the instances whose backup is complete.
  returned: always
  type: list
  elements: str
  sample: ["i-bp1example0000001"]
not_safe_to_release:
  description: IDs of the instances whose backup is not complete (failed, progressing, or not created).
  returned: always
  type: list
  elements: str
  sample: []
created_snapshot_ids:
  description: Snapshots this task created.
  returned: always
  type: list
  elements: str
  sample: ["s-bp1example0000001"]
created_snapshot_group_ids:
  description: Snapshot groups this task created.
  returned: when O(consistent=true)
  type: list
  elements: str
  sample: ["ssg-bp1example0000001"]
actions:
  description: What the task does, or would do in check mode.
  returned: always
  type: list
  elements: str
  sample: ["create a snapshot of d-bp1example0000001 (system) of i-bp1example0000001"]
missing_instance_ids:
  description: IDs from O(instance_ids) that do not exist in O(region).
  returned: always
  type: list
  elements: str
  sample: []
unmatched_instance_ids:
  description: IDs from O(instance_ids) that exist but do not match O(tags) or O(name).
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
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.snapshots import (
    SNAPSHOT_ARGUMENT_SPEC,
    back_up_instances,
)


def snapshot(module: AnsibleModule, client: EcsClient) -> t.Dict[str, t.Any]:
    return back_up_instances(client, module.params, module.check_mode, module._diff, module.warn)


def main() -> None:
    spec = ecs_argument_spec(SNAPSHOT_ARGUMENT_SPEC)
    run_module(spec.create_ansible_module(supports_check_mode=True), snapshot)


if __name__ == "__main__":
    main()
