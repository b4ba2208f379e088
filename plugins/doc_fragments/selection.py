# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The instance selection every module shares.
    DOCUMENTATION = r"""
options:
  instance_ids:
    description:
      - IDs of the instances to select.
      - Combined with O(tags) and O(name), an instance must match all of them.
    type: list
    elements: str
    aliases: [instance_id]
  tags:
    description:
      - Select instances that carry all of these tags (key and value).
      - At most 20 tags.
    type: dict
  name:
    description:
      - Select instances whose name matches. C(*) is a wildcard, for example C(batch-*); nothing else is special.
    type: str
"""
