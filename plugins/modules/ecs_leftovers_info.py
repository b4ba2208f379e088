#!/usr/bin/python
# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_leftovers_info
short_description: Report what still bills in a region after instances are released
version_added: 0.2.0
description:
  - Releasing an instance leaves behind what is billed on its own. This module reports three kinds of it in
    O(region), with sizes, charge types and totals.
  - Unattached disks (status C(Available)), such as data disks that were not released with their instance.
  - Unbound EIPs (status C(Available)).
  - Orphan manual snapshots, whose source disk no longer exists in the region.
  - "Makes three listings: every disk of the region (500 to a call; the orphan check needs them all, and the
    unattached disks come from the same listing), the manual snapshots (C(SnapshotType=user), 100 to a call) and the
    unbound EIPs (100 to a call)."
author:
  - Alibaba Cloud ECS lifecycle maintainers (@alicloud-ecs)
options:
  tags:
    description:
      - Report only disks and snapshots that carry all of these tags (key and value). At most 20.
      - EIPs carry no tags in the ECS API, so with O(tags) set no EIP is listed, and RV(eips_listed) is false.
    type: dict
  min_age:
    description:
      - Report only leftovers at least this old, for example C(90m), C(36h), C(14d) or C(1d12h).
      - A disk's age counts from when it was detached (or created, if it never was attached); an EIP's from its
        allocation; a snapshot's from its creation.
    type: str
extends_documentation_fragment:
  - alicloud_ecs.lifecycle.connection
  - alicloud_ecs.lifecycle.attributes
  - alicloud_ecs.lifecycle.attributes.INFO_MODULE
"""

EXAMPLES = r"""
# Ad hoc, against the collection's emulator:
#   ansible localhost -m alicloud_ecs.lifecycle.ecs_leftovers_info \
#     -a 'region=cn-hangzhou ecs_endpoint=127.0.0.1:8042 min_age=7d'

- name: What still bills in Hangzhou, a week after the retirement
  alicloud_ecs.lifecycle.ecs_leftovers_info:
    region: cn-hangzhou
    min_age: 7d
  register: leftovers

- name: Say how much is left
  ansible.builtin.debug:
    msg: >-
      {{ leftovers.totals.unattached_disks.count }} disks ({{ leftovers.totals.unattached_disks.size_gib }} GiB),
      {{ leftovers.totals.unbound_eips.count }} EIPs,
      {{ leftovers.totals.orphan_snapshots.count }} snapshots ({{ leftovers.totals.orphan_snapshots.size_gib }} GiB)

- name: Only the leftovers of one project
  alicloud_ecs.lifecycle.ecs_leftovers_info:
    region: cn-hangzhou
    tags:
      project: shop
"""

RETURN = r"""
unattached_disks:
  description: Disks not attached to any instance.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Disk ID.
      type: str
      sample: d-bp1example0000001
    name:
      description: Disk name.
      type: str
    category:
      description: Disk category, such as C(cloud_essd).
      type: str
    size:
      description: Size in GiB.
      type: int
      sample: 500
    charge_type:
      description: C(PostPaid) or C(PrePaid).
      type: str
    zone:
      description: Zone ID.
      type: str
    creation_time:
      description: When the disk was created, UTC.
      type: str
    detached_time:
      description: When the disk was last detached, UTC; empty if never.
      type: str
    age_days:
      description: Days since it was detached (or created); null when unknown.
      type: float
      sample: 12.5
    tags:
      description: Tags as a dictionary.
      type: dict
unbound_eips:
  description: EIPs not bound to anything. Empty when O(tags) is set (see RV(eips_listed)).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Allocation ID.
      type: str
      sample: eip-bp1example0000001
    ip_address:
      description: The IP address.
      type: str
    bandwidth:
      description: Bandwidth in Mbit/s.
      type: int
    charge_type:
      description: C(PostPaid) or C(PrePaid).
      type: str
    internet_charge_type:
      description: C(PayByTraffic) or C(PayByBandwidth).
      type: str
    allocation_time:
      description: When the EIP was allocated, UTC.
      type: str
    age_days:
      description: Days since allocation; null when unknown.
      type: float
orphan_snapshots:
  description: Manual snapshots whose source disk no longer exists in the region.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Snapshot ID.
      type: str
      sample: s-bp1example0000001
    name:
      description: Snapshot name.
      type: str
    source_disk_id:
      description: The disk it was taken of, now gone.
      type: str
    source_disk_type:
      description: C(system) or C(data).
      type: str
    size:
      description: Size of the source disk in GiB.
      type: int
    status:
      description: C(accomplished), C(progressing) or C(failed).
      type: str
    usage:
      description: What uses the snapshot, such as C(image) when a custom image was made from it (it cannot be
        deleted before the image).
      type: str
    retention_days:
      description: Days ECS keeps it; 0 for until deleted.
      type: int
    creation_time:
      description: When it was taken, UTC.
      type: str
    age_days:
      description: Days since it was taken; null when unknown.
      type: float
    tags:
      description: Tags as a dictionary.
      type: dict
eips_listed:
  description: Whether EIPs were listed (false when O(tags) is set).
  returned: always
  type: bool
  sample: true
totals:
  description: Count, size and charge types per kind.
  returned: always
  type: dict
  sample:
    unattached_disks: {count: 2, size_gib: 800, by_charge_type: {PostPaid: 2}}
    unbound_eips: {count: 1, bandwidth_mbps: 5, by_charge_type: {PostPaid: 1}}
    orphan_snapshots: {count: 1, size_gib: 100}
"""

import typing as t

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_module import (
    AnsibleModule,
    ecs_argument_spec,
    run_module,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.leftovers import (
    LEFTOVERS_ARGUMENT_SPEC,
    find_leftovers,
)


def report(module: AnsibleModule, client: EcsClient) -> t.Dict[str, t.Any]:
    return find_leftovers(client, module.params)


def main() -> None:
    spec = ecs_argument_spec(LEFTOVERS_ARGUMENT_SPEC, selection=False)
    run_module(spec.create_ansible_module(supports_check_mode=True), report)


if __name__ == "__main__":
    main()
