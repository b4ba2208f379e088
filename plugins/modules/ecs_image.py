#!/usr/bin/python
# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_image
short_description: Create a custom image of each selected ECS instance
version_added: 0.2.0
description:
  - Creates one custom image per selected instance, named C(<name_prefix>-<instance id>), and waits until it is
    C(Available).
  - Idempotent by name. An image of that name in any status (C(Creating), C(Waiting), C(Available)) is reused,
    and waited for, instead of creating a second one. An image of that name that is C(CreateFailed) or
    C(UnAvailable) fails the task, since ECS will not take the name again until it is deleted.
  - CreateImage carries a ClientToken derived from the name and the instance, so a retried call cannot create a
    second image.
  - Looks each name up with one DescribeImages call, creates up to 8 images at a time, and polls their status
    100 images to a call.
author:
  - Alibaba Cloud ECS lifecycle maintainers (@alicloud-ecs)
options:
  name_prefix:
    description:
      - Images are named C(<name_prefix>-<instance id>).
      - Starts with a letter; at most 100 letters, digits, C(.), C(_), C(:) or C(-); not C(http), C(aliyun) or
        C(acs:) first.
    type: str
    required: true
  description:
    description:
      - Description of the new images. Defaults to one naming the instance.
    type: str
  image_tags:
    description:
      - Tags to put on the new images. At most 20.
    type: dict
    default: {}
  wait:
    description:
      - Wait until every image is C(Available).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait. When they run out the task fails; rerun with the same O(name_prefix) to wait again.
    type: int
    default: 3600
notes:
  - Requires at least one of O(instance_ids), O(tags) or O(name).
  - Check mode looks the names up and reports which images would be created, creating nothing.
extends_documentation_fragment:
  - alicloud_ecs.lifecycle.connection
  - alicloud_ecs.lifecycle.selection
  - alicloud_ecs.lifecycle.attributes
  - alicloud_ecs.lifecycle.attributes.ACTIONS
"""

EXAMPLES = r"""
# Ad hoc, against the collection's emulator:
#   ansible localhost -m alicloud_ecs.lifecycle.ecs_image \
#     -a 'region=cn-hangzhou ecs_endpoint=127.0.0.1:8042 name_prefix=retire-2026 instance_ids=i-bp1example0000001'

- name: An image of every instance tagged for retirement
  alicloud_ecs.lifecycle.ecs_image:
    region: cn-hangzhou
    tags:
      team: retire
    name_prefix: retire-2026
    image_tags:
      ticket: CHG-1234
  register: images

- name: Show the image of each instance
  ansible.builtin.debug:
    msg: "{{ item.id }}: {{ item.image_id }} {{ item.status }}"
  loop: "{{ images.instances }}"
"""

RETURN = r"""
instances:
  description: The selected instances and their images, in the order of O(instance_ids) when given.
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
    image_id:
      description: The image ID; null in check mode for an image that would be created, or when CreateImage was refused.
      type: str
      sample: m-bp1example0000001
    image_name:
      description: The image name.
      type: str
      sample: retire-2026-i-bp1example0000001
    status:
      description:
        - The image status as ECS reports it, such as C(Available) or C(Creating);
          C(Planned) in check mode for an image that would be created; C(NotCreated) when CreateImage was refused.
      type: str
      sample: Available
    progress:
      description: Progress as ECS reports it.
      type: str
      sample: 100%
    created:
      description: Whether this task created the image.
      type: bool
      sample: true
    error:
      description: Why CreateImage was refused, or an empty string.
      type: str
      sample: ""
created_image_ids:
  description: Images this task created.
  returned: always
  type: list
  elements: str
  sample: ["m-bp1example0000001"]
actions:
  description: What the task does, or would do in check mode.
  returned: always
  type: list
  elements: str
  sample: ["create image retire-2026-i-bp1example0000001 of i-bp1example0000001"]
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
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.images import (
    IMAGE_ARGUMENT_SPEC,
    image_instances,
)


def image(module: AnsibleModule, client: EcsClient) -> t.Dict[str, t.Any]:
    return image_instances(client, module.params, module.check_mode, module._diff)


def main() -> None:
    spec = ecs_argument_spec(IMAGE_ARGUMENT_SPEC)
    run_module(spec.create_ansible_module(supports_check_mode=True), image)


if __name__ == "__main__":
    main()
