#!/usr/bin/python
# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_release
short_description: Release ECS instances, saying first what goes, what stays and what keeps billing
version_added: 0.1.0
description:
  - Releases the selected ECS instances. B(A release cannot be undone); there is no recycle bin.
  - Before any write the module reads the instances, their disks, snapshots and EIPs, and builds a
    RV(release_plan) - per instance, what is released with it and what stays behind, with the reason for each.
    Check mode returns that plan and writes nothing.
  - It refuses before any write when it cannot release every selected instance as asked, and names every
    offending instance at once - release protection, a security lock, running instances with
    O(running_instances=fail), unexpired subscriptions with O(subscription_instances=expired_only), disks
    that cannot be kept, instance IDs that do not match O(tags) or O(name), or a filter that matches more
    than O(max_instances).
  - Then, in this order, it switches unexpired subscriptions to pay-as-you-go and waits, stops running
    instances and waits, converts static public IPs to EIPs, sets the disks' C(DeleteWithInstance) and
    C(DeleteAutoSnapshot) flags to match the plan, and releases with C(DeleteInstances), 100 instances a call,
    a few calls at a time, each with a C(ClientToken) derived from its instances and options so a retried
    call cannot act twice.
  - IDs that no longer exist count as already released, so a second run reports no change.
  - This module never turns release protection off; use M(alicloud_ecs.lifecycle.ecs_release_protection).
author:
  - Alibaba Cloud ECS lifecycle maintainers (@alicloud-ecs)
options:
  max_instances:
    description:
      - The most instances O(tags) or O(name) may select. A larger match fails before any write, with the count.
      - Instances named in O(instance_ids) are not capped.
    type: int
    default: 10
  running_instances:
    description:
      - What to do with instances that are not stopped.
      - V(fail) refuses the task, before any write, listing them.
      - V(stop) stops them (C(StopInstances), 100 a call) and waits until they are C(Stopped).
      - V(force) releases them running (C(Force=true)); whatever the guest has not written to disk is lost.
    type: str
    choices: [fail, stop, force]
    default: fail
  subscription_instances:
    description:
      - What to do with subscription (C(PrePaid)) instances.
      - Expired subscriptions are always released, with C(TerminateSubscription=true).
      - V(expired_only) refuses the task, before any write, when a selected subscription has not expired.
      - V(convert_to_postpaid) first switches unexpired subscriptions to pay-as-you-go
        (C(ModifyInstanceChargeType), 20 a call, with their data disks) and waits for the switch.
        Check the refund and the fee with your account before you do this.
    type: str
    choices: [expired_only, convert_to_postpaid]
    default: expired_only
  data_disks:
    description:
      - What happens to cloud data disks.
      - V(as_configured) follows each disk's C(DeleteWithInstance) flag.
      - V(retain) keeps every data disk. A local or non-portable data disk cannot be kept, and fails the task
        before any write.
      - V(release) releases every data disk, except those in O(retain_disk_ids).
      - The system disk and local disks always go with the instance.
      - The module sets C(DeleteWithInstance) (C(ModifyDiskAttribute)) only on disks whose flag differs from the plan.
    type: str
    choices: [as_configured, retain, release]
    default: as_configured
  retain_disk_ids:
    description:
      - Data disks to keep whatever O(data_disks) says. They must be portable cloud disks attached to a selected
        instance; anything else fails the task before any write, naming them.
    type: list
    elements: str
  auto_snapshots:
    description:
      - What happens to the automatic snapshots of the disks that are released.
      - V(as_configured) follows each disk's C(DeleteAutoSnapshot) flag.
      - V(retain) keeps them, V(release) releases them with their disks.
      - Automatic snapshots of disks that stay, and manual snapshots, always stay.
    type: str
    choices: [as_configured, retain, release]
    default: as_configured
  retain_public_ip:
    description:
      - Convert each static (NAT) public IP to an EIP (C(ConvertNatPublicIpToEip)) before the release, so the
        address is kept. The EIP then stays, unbound, and keeps billing.
      - Without it a static public IP is reclaimed with its instance and cannot be recovered.
    type: bool
    default: false
  wait:
    description:
      - Wait until every released instance is gone from C(DescribeInstances).
      - Waiting for a subscription switch or for instances to stop happens whatever this says,
        since the release needs it.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for each of the switch, the stop and the release. On timeout the task fails and its
        result says what is still pending and what was already released.
    type: int
    default: 600
extends_documentation_fragment:
  - alicloud_ecs.lifecycle.connection
  - alicloud_ecs.lifecycle.selection
  - alicloud_ecs.lifecycle.attributes
  - alicloud_ecs.lifecycle.attributes.ACTIONS
notes:
  - 'Calls: the selection (C(DescribeInstances), 100 a call); C(DescribeDisks) and C(DescribeSnapshots) once
    per instance for up to 10 instances, else listed for the whole region (500 and 100 a call);
    C(DescribeEipAddresses) for bound EIPs, 50 a call; then the writes; then C(DescribeInstances) to wait.'
  - When a C(DeleteInstances) call is refused after others succeeded, the task fails and its result lists
    exactly which instances were released (RV(released)) and which were not (RV(not_released)).
seealso:
  - module: alicloud_ecs.lifecycle.ecs_instance_info
  - name: Release an instance
    description: The ECS guide to releasing instances and what stays behind.
    link: https://www.alibabacloud.com/help/en/ecs/user-guide/release-an-instance
"""

EXAMPLES = r"""
- name: Show what releasing the retired batch machines would do
  alicloud_ecs.lifecycle.ecs_release:
    region: cn-hangzhou
    tags:
      team: retire
  check_mode: true
  register: preview

- name: Release them, stopping any still running, keeping every data disk
  alicloud_ecs.lifecycle.ecs_release:
    region: cn-hangzhou
    tags:
      team: retire
    max_instances: 50
    running_instances: stop
    data_disks: retain
  register: retired

- name: Say what keeps billing
  ansible.builtin.debug:
    msg: "{{ retired.still_billing }}"

- name: Release two instances by ID, keeping one disk and the public IP as an EIP
  alicloud_ecs.lifecycle.ecs_release:
    region: cn-hangzhou
    instance_ids:
      - i-bp1example0000001
      - i-bp1example0000002
    retain_disk_ids:
      - d-bp1exampledisk01
    retain_public_ip: true

- name: Release a subscription before it expires
  alicloud_ecs.lifecycle.ecs_release:
    region: cn-hangzhou
    instance_ids: [i-bp1example0000003]
    subscription_instances: convert_to_postpaid
"""

RETURN = r"""
released:
  description:
    - The instances released by this run. In check mode, the instances that would be released.
    - When the task fails part way, exactly those released before it stopped.
  returned: always
  type: list
  elements: str
  sample: ["i-bp1example0000001"]
not_released:
  description: Selected instances that are not released, because the task was refused or stopped part way.
  returned: always
  type: list
  elements: str
  sample: []
already_absent:
  description: IDs from O(instance_ids) that do not exist (any more); they count as already released.
  returned: always
  type: list
  elements: str
  sample: ["i-bp1example0000009"]
refusals:
  description: Why the release cannot go ahead as asked, each reason with every instance or disk it applies to.
  returned: when the task is refused before any write
  type: list
  elements: dict
  contains:
    reason:
      description: Why.
      type: str
      sample: have release protection on
    ids:
      description: The instances (or disks, as C(disk (instance))) it applies to.
      type: list
      elements: str
      sample: ["i-bp1example0000001"]
selected_count:
  description: How many instances O(tags) and O(name) selected, when that is more than O(max_instances).
  returned: when the selection is over O(max_instances)
  type: int
  sample: 1000
actions:
  description: The writes made, in order, in words.
  returned: success, or a failure after a write
  type: list
  elements: str
  sample: ["stopped: i-bp1example0000001", "released 1 instances"]
pending:
  description: Instances still listed (or not yet switched or stopped) when a wait timed out.
  returned: when a wait timed out
  type: list
  elements: str
  sample: ["i-bp1example0000001"]
batch_errors:
  description: The refused C(DeleteInstances) calls, each with its error and instances.
  returned: when a C(DeleteInstances) call was refused
  type: list
  elements: dict
  sample: [{"code": "InvalidOperation.DeletionProtection", "instance_ids": ["i-bp1example0000001"]}]
release_plan:
  description: Per selected instance, what happens before its release, what goes with it and what stays, and why.
  returned: always, when the selection could be read
  type: list
  elements: dict
  contains:
    instance_id:
      description: Instance ID.
      type: str
    name:
      description: Instance name.
      type: str
    status:
      description: Status when planned.
      type: str
    charge_type:
      description: C(PostPaid) or C(PrePaid) when planned.
      type: str
    before_release:
      description: The writes for this instance before its release, in order.
      type: list
      elements: str
    force:
      description: Whether it is released with C(Force=true) (running, O(running_instances=force)).
      type: bool
    terminate_subscription:
      description: Whether it is released with C(TerminateSubscription=true) (an expired subscription).
      type: bool
    goes:
      description:
        - What is released with the instance, each a dict with C(kind) (C(system_disk), C(local_disk),
          C(data_disk), C(auto_snapshot), C(static_ip)), C(id), C(reason), and for disks C(size), C(category),
          C(charge_type), for snapshots C(name), C(size), C(source_disk_id).
      type: list
      elements: dict
    stays:
      description:
        - What stays behind, in the same shape, with the kinds C(data_disk), C(eip), C(static_ip) (converted
          to an EIP), C(auto_snapshot), C(manual_snapshot).
      type: list
      elements: dict
still_billing:
  description:
    - What the released instances leave behind that keeps costing money. In check mode, what would be left.
  returned: always, when the selection could be read
  type: dict
  contains:
    disks:
      description: Disks that stay. They become pay-as-you-go disks.
      type: list
      elements: dict
      contains:
        id:
          description: Disk ID.
          type: str
        size:
          description: Size in GiB.
          type: int
        category:
          description: Disk category, such as C(cloud_essd).
          type: str
        charge_type:
          description: The charge type after the release, C(PostPaid).
          type: str
        charge_type_before:
          description: The charge type while attached.
          type: str
        instance_id:
          description: The instance it was attached to.
          type: str
    eips:
      description: EIPs that stay, unbound, including static IPs converted by O(retain_public_ip).
      type: list
      elements: dict
      contains:
        allocation_id:
          description: EIP allocation ID (empty in check mode for a static IP not yet converted).
          type: str
        ip_address:
          description: The address.
          type: str
        charge_type:
          description: C(PostPaid) or C(PrePaid), as C(DescribeEipAddresses) reports it.
          type: str
        internet_charge_type:
          description: C(PayByTraffic) or C(PayByBandwidth).
          type: str
        instance_id:
          description: The instance it was bound to.
          type: str
    snapshots:
      description: Snapshots that stay, manual and automatic.
      type: list
      elements: dict
      contains:
        id:
          description: Snapshot ID.
          type: str
        name:
          description: Snapshot name.
          type: str
        size:
          description: Size of the source disk, in GiB.
          type: int
        type:
          description: C(manual) or C(auto).
          type: str
        source_disk_id:
          description: The disk it was taken of.
          type: str
        instance_id:
          description: The instance that disk was attached to.
          type: str
  sample: {"disks": [{"id": "d-bp1example", "size": 200, "category": "cloud_essd", "charge_type": "PostPaid",
           "charge_type_before": "PostPaid", "instance_id": "i-bp1example0000001"}], "eips": [], "snapshots": []}
"""

import typing as t

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_module import (
    AnsibleModule,
    ecs_argument_spec,
    run_module,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_release import (
    RELEASE_ARGUMENT_SPEC,
    Release,
    plan_release,
    validate_release_options,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_selector import InstanceSelection
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.release_plan import (
    ReleaseOptions,
    diff_before,
    still_billing,
)


def release(module: AnsibleModule, client: EcsClient) -> t.Dict[str, t.Any]:
    params = module.params
    selection = InstanceSelection.from_params(params)
    selection.require_some()
    validate_release_options(params)
    planned = plan_release(client, selection, ReleaseOptions.from_params(params), params["max_instances"])
    plan = planned.plan
    result: t.Dict[str, t.Any] = {
        "changed": bool(plan.instances),
        "released": plan.instance_ids if module.check_mode else [],
        "not_released": [],
        "already_absent": planned.selected.missing_ids,
        "release_plan": plan.report(),
        "still_billing": still_billing(plan),
        "actions": [],
    }
    if module._diff:
        result["diff"] = {"before": diff_before(plan), "after": {"instances": {}}}
    if module.check_mode or not plan.instances:
        return result
    applied = Release(client, plan, params["wait_timeout"], selection, planned.selected.missing_ids)
    applied.apply(params["wait"])
    result.update(applied.result())
    return result


def main() -> None:
    spec = ecs_argument_spec(RELEASE_ARGUMENT_SPEC)
    run_module(spec.create_ansible_module(supports_check_mode=True), release)


if __name__ == "__main__":
    main()
