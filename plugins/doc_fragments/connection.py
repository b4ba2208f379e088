# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every module of the collection.
    DOCUMENTATION = r"""
options:
  region:
    description:
      - The region of the instances, for example C(cn-hangzhou).
      - If not set, the value of E(ALIBABA_CLOUD_REGION_ID) or E(ALICLOUD_REGION) is used.
      - Required, from the option or the environment.
    type: str
    aliases: [region_id]
  access_key_id:
    description:
      - The AccessKey ID.
      - If not set, the value of E(ALIBABA_CLOUD_ACCESS_KEY_ID) or E(ALICLOUD_ACCESS_KEY) is used.
      - With no AccessKey given, the default credential chain of C(alibabacloud-credentials) applies
        (environment, the C(aliyun) CLI profile files, the ECS RAM role, OIDC).
    type: str
    aliases: [alicloud_access_key]
  access_key_secret:
    description:
      - The AccessKey secret. Required with O(access_key_id).
      - If not set, the value of E(ALIBABA_CLOUD_ACCESS_KEY_SECRET) or E(ALICLOUD_SECRET_KEY) is used.
    type: str
    aliases: [alicloud_secret_key]
  security_token:
    description:
      - The STS token that goes with a temporary O(access_key_id) and O(access_key_secret).
      - If not set, the value of E(ALIBABA_CLOUD_SECURITY_TOKEN) or E(ALICLOUD_SECURITY_TOKEN) is used.
    type: str
  profile:
    description:
      - The name of a profile of the C(aliyun) CLI (C(~/.aliyun/config.json)) to take credentials from,
        when no AccessKey is given.
      - If not set, the value of E(ALIBABA_CLOUD_PROFILE) is used.
    type: str
  ecs_endpoint:
    description:
      - The ECS API endpoint, C(host[:port]), optionally with C(https://) or C(http://).
      - Use it for a VPC endpoint such as C(ecs-vpc.cn-hangzhou.aliyuncs.com), or for the collection's
        ECS emulator, for example C(127.0.0.1:8042).
      - Without a scheme, loopback addresses use C(http) and every other host C(https).
      - Plain C(http) to a host that is not loopback is refused unless O(allow_insecure_endpoint=true).
      - If not set, the value of E(ALIBABA_CLOUD_ECS_ENDPOINT) is used; if that is unset too,
        the SDK's public endpoint for O(region).
    type: str
  allow_insecure_endpoint:
    description:
      - Allow an C(http://) O(ecs_endpoint) that is not a loopback address. Signed requests then travel unencrypted.
    type: bool
    default: false
  api_retries:
    description:
      - How many times one API call is retried when ECS throttles it (C(Throttling*)), is unavailable
        (C(ServiceUnavailable), C(InternalError)), the instance is still initializing, or the connection fails.
      - Retries wait with jittered exponential backoff, and stop after at most 3 minutes for one call.
    type: int
    default: 10
  api_timeout:
    description:
      - Seconds to wait for the answer to one API request.
    type: int
    default: 30
requirements:
  - alibabacloud-ecs20140526
  - alibabacloud-tea-openapi
  - alibabacloud-credentials
notes:
  - Set the connection options once for every module with C(module_defaults) and the action group
    C(group/alicloud_ecs.lifecycle.ecs).
"""
