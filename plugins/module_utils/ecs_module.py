# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every module of the collection shares: its argument spec, its start, and its one error handler."""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import (
    CREDENTIALS_IMPORT_ERROR,
    SDK_IMPORT_ERROR,
    SDK_REQUIREMENTS,
    EcsClient,
    connect,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import EcsError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_selector import (
    SELECTION_ARGUMENT_SPEC,
)

# Mirrors the ``alicloud_ecs.lifecycle.connection`` doc fragment.
CONNECTION_ARGUMENT_SPEC: t.Dict[str, t.Any] = {
    "region": {"type": "str", "aliases": ["region_id"],
               "fallback": (env_fallback, ["ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION"])},
    "access_key_id": {"type": "str", "no_log": False, "aliases": ["alicloud_access_key"],
                      "fallback": (env_fallback, ["ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY"])},
    "access_key_secret": {"type": "str", "no_log": True, "aliases": ["alicloud_secret_key"],
                          "fallback": (env_fallback, ["ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECRET_KEY"])},
    "security_token": {"type": "str", "no_log": True,
                       "fallback": (env_fallback, ["ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_SECURITY_TOKEN"])},
    "profile": {"type": "str", "fallback": (env_fallback, ["ALIBABA_CLOUD_PROFILE"])},
    "ecs_endpoint": {"type": "str", "fallback": (env_fallback, ["ALIBABA_CLOUD_ECS_ENDPOINT"])},
    "allow_insecure_endpoint": {"type": "bool", "default": False},
    "api_retries": {"type": "int", "default": 10},
    "api_timeout": {"type": "int", "default": 30},
}


class ArgumentSpec:
    """An argument spec with its constraints, so shared parts merge in one step."""

    def __init__(self, argument_spec: t.Optional[t.Dict[str, t.Any]] = None, **constraints: t.Any) -> None:
        self.argument_spec = dict(argument_spec or {})
        self.constraints: t.Dict[str, t.List[t.Any]] = {}
        self.add(**constraints)

    def add(self, **constraints: t.Any) -> "ArgumentSpec":
        for name, entries in constraints.items():
            self.constraints.setdefault(name, []).extend(entries)
        return self

    def merge(self, other: "ArgumentSpec") -> "ArgumentSpec":
        self.argument_spec.update(other.argument_spec)
        return self.add(**other.constraints)

    def create_ansible_module(self, **kwargs: t.Any) -> AnsibleModule:
        return AnsibleModule(argument_spec=self.argument_spec, **self.constraints, **kwargs)


def ecs_argument_spec(options: t.Optional[t.Dict[str, t.Any]] = None, selection: bool = True,
                      **constraints: t.Any) -> ArgumentSpec:
    """Connection options, the shared selection (unless ``selection=False``), then the module's own."""
    spec = ArgumentSpec(CONNECTION_ARGUMENT_SPEC)
    if selection:
        spec.merge(ArgumentSpec(SELECTION_ARGUMENT_SPEC))
    return spec.merge(ArgumentSpec(options, **constraints))


def run_module(module: AnsibleModule, work: t.Callable[[AnsibleModule, EcsClient], t.Dict[str, t.Any]]) -> None:
    """Connect, run ``work``, and report: every EcsError becomes one ``fail_json`` here."""
    for error in (SDK_IMPORT_ERROR, CREDENTIALS_IMPORT_ERROR):
        if error:
            module.fail_json(msg=missing_required_lib(SDK_REQUIREMENTS), exception=error)
    try:
        result = work(module, connect(module.params))
    except EcsError as error:
        module.fail_json(msg=error.message, **error.result)
    module.exit_json(**result)
