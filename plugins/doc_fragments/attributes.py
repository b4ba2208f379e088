# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Attributes every module of the collection shares.
    DOCUMENTATION = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/alicloud_ecs.lifecycle.ecs) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - alicloud_ecs.lifecycle.ecs
"""

    # For modules that change things.
    ACTIONS = r"""
options: {}
attributes:
  check_mode:
    description: Reports the plan, what would change and why, and makes no write call.
    support: full
  diff_mode:
    description: Shows the selected instances before and after, from the same plan.
    support: full
  idempotent:
    description: A second run with the same arguments finds nothing to do and reports no change.
    support: full
"""

    # For modules that only read.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    description: This module only reads, and runs the same in check mode.
    support: full
    details: The module makes only Describe calls.
  diff_mode:
    description: This module changes nothing, so there is no diff.
    support: N/A
  idempotent:
    description: This module only reads.
    support: full
"""
