from __future__ import annotations

import random

import pytest

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils import ecs_client
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import (
    EcsClient,
    TransportError,
    batches,
    connect,
    parse_endpoint,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import (
    EcsApiError,
    InvalidOptionError,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.retries import (
    CONNECTION_ERROR,
    RetryPolicy,
    is_retryable,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def make_client(transport, retries=3, max_elapsed=180.0):
    clock = Clock()
    policy = RetryPolicy(retries=retries, max_elapsed=max_elapsed, rng=random.Random(1))
    return EcsClient(transport, "cn-hangzhou", policy, sleep=clock.sleep, monotonic=clock.monotonic), clock


def throttled():
    return TransportError("Throttling.User", "Request was denied due to user flow control.", 400, "req-t")


@pytest.mark.parametrize("code, retry", [
    ("Throttling", True), ("Throttling.User", True), ("Throttling.Api", True),
    ("ServiceUnavailable", True), ("InternalError", True),
    ("IncorrectInstanceStatus.Initializing", True), (CONNECTION_ERROR, True),
    ("IncorrectInstanceStatus", False), ("InvalidOperation.DeletionProtection", False),
    ("MissingParameter", False), ("SignatureDoesNotMatch", False),
])
def test_retryable_codes(code, retry):
    assert is_retryable(code) is retry


def test_backoff_is_jittered_exponential_and_capped():
    policy = RetryPolicy(retries=20, base_delay=1.0, max_delay=8.0, rng=random.Random(7))
    for retry_number in range(1, 12):
        ceiling = min(8.0, 2 ** (retry_number - 1))
        drawn = [policy.delay(retry_number) for unused in range(200)]
        assert all(0 <= d <= ceiling for d in drawn)
        # jitter: the draws spread over the range instead of repeating one value
        assert max(drawn) - min(drawn) > ceiling / 2


def test_retry_after_is_respected():
    policy = RetryPolicy(retries=3, base_delay=0.01, max_delay=10.0, rng=random.Random(1))
    assert policy.delay(1, retry_after=4) >= 4


def test_call_sends_region_and_returns_body(fake_transport):
    transport = fake_transport({"Instances": {"Instance": []}})
    client = make_client(transport)[0]
    assert client.call("DescribeInstances", {"Status": "Running"}) == {"Instances": {"Instance": []}}
    assert transport.sent == [("DescribeInstances", {"Status": "Running", "RegionId": "cn-hangzhou"})]


def test_call_without_region_for_regionless_actions(fake_transport):
    transport = fake_transport({})
    client = make_client(transport)[0]
    client.call("DeleteInstance", {"InstanceId": "i-abc"}, regional=False)
    assert transport.sent == [("DeleteInstance", {"InstanceId": "i-abc"})]


def test_call_retries_throttling_and_connection_errors(fake_transport):
    transport = fake_transport(throttled(), TransportError(CONNECTION_ERROR, "refused"), {"ok": True})
    client, clock = make_client(transport)
    assert client.call("DescribeRegions") == {"ok": True}
    assert len(transport.sent) == 3
    assert len(clock.sleeps) == 2
    assert client.retried == 2


def test_call_gives_up_after_its_retries_with_rendered_error(fake_transport):
    transport = fake_transport(*[throttled()] * 4)
    client, clock = make_client(transport, retries=3)
    with pytest.raises(EcsApiError) as raised:
        client.call("DescribeInstances")
    assert len(transport.sent) == 4
    assert str(raised.value) == (
        "DescribeInstances failed: Throttling.User: Request was denied due to user flow control. (request id req-t)")
    assert raised.value.result["error"]["attempts"] == 4


def test_call_gives_up_when_time_budget_is_spent(fake_transport):
    transport = fake_transport(*[throttled()] * 50)
    client, clock = make_client(transport, retries=50, max_elapsed=5.0)
    with pytest.raises(EcsApiError):
        client.call("DescribeInstances")
    assert clock.now <= 5.0
    assert len(transport.sent) < 50


def test_refusal_is_not_retried(fake_transport):
    refusal = TransportError("InvalidOperation.DeletionProtection",
                             "The instance is protected.", 403, "req-1")
    transport = fake_transport(refusal)
    client, clock = make_client(transport)
    with pytest.raises(EcsApiError) as raised:
        client.call("DeleteInstances", {"InstanceId": ["i-a"]})
    assert len(transport.sent) == 1 and clock.sleeps == []
    error = raised.value
    assert (error.action, error.code, error.status, error.request_id) == (
        "DeleteInstances", "InvalidOperation.DeletionProtection", 403, "req-1")
    assert str(error) == ("DeleteInstances failed: InvalidOperation.DeletionProtection: "
                          "The instance is protected. (request id req-1)")


def test_token_paging_follows_next_token(fake_transport):
    transport = fake_transport(
        {"Instances": {"Instance": [{"InstanceId": "i-1"}, {"InstanceId": "i-2"}]}, "NextToken": "t2"},
        {"Instances": {"Instance": [{"InstanceId": "i-3"}]}, "NextToken": ""},
    )
    client = make_client(transport)[0]
    ids = [i["InstanceId"] for i in client.paginate("DescribeInstances", {"Status": "Stopped"})]
    assert ids == ["i-1", "i-2", "i-3"]
    assert [p.get("NextToken") for unused_action, p in transport.sent] == [None, "t2"]
    assert all(p["MaxResults"] == 100 for unused_action, p in transport.sent)


def test_page_number_paging_stops_at_total_count(fake_transport):
    page = [{"AllocationId": f"eip-{n}"} for n in range(100)]
    transport = fake_transport(
        {"EipAddresses": {"EipAddress": page}, "TotalCount": 150},
        {"EipAddresses": {"EipAddress": page[:50]}, "TotalCount": 150},
    )
    client = make_client(transport)[0]
    assert len(list(client.paginate("DescribeEipAddresses"))) == 150
    assert [p["PageNumber"] for unused_action, p in transport.sent] == [1, 2]


def test_page_number_paging_with_exact_multiple_makes_no_extra_call(fake_transport):
    page = [{"ImageId": f"m-{n}"} for n in range(100)]
    transport = fake_transport({"Images": {"Image": page}, "TotalCount": 100})
    client = make_client(transport)[0]
    assert len(list(client.paginate("DescribeImages"))) == 100
    assert len(transport.sent) == 1


def test_empty_list_shapes_are_tolerated(fake_transport):
    transport = fake_transport({"Instances": {"Instance": []}, "NextToken": ""}, {"Instances": ""})
    client = make_client(transport)[0]
    assert list(client.paginate("DescribeInstances")) == []
    assert list(client.paginate("DescribeInstances")) == []


@pytest.mark.parametrize("size, expected", [
    (100, [100, 100, 50]), (20, [20] * 12 + [10]), (250, [250]), (300, [250]),
])
def test_batches(size, expected):
    assert [len(b) for b in batches(list(range(250)), size)] == expected
    assert [x for b in batches(list(range(250)), size) for x in b] == list(range(250))


def test_batches_rejects_zero():
    with pytest.raises(ValueError):
        list(batches([1], 0))


@pytest.mark.parametrize("endpoint, allow, expected", [
    ("127.0.0.1:8042", False, ("127.0.0.1:8042", "http")),
    ("http://127.0.0.1:8042", False, ("127.0.0.1:8042", "http")),
    ("localhost:9", False, ("localhost:9", "http")),
    ("[::1]:8042", False, ("[::1]:8042", "http")),
    ("ecs-vpc.cn-hangzhou.aliyuncs.com", False, ("ecs-vpc.cn-hangzhou.aliyuncs.com", "https")),
    ("https://ecs.example.com:8443", False, ("ecs.example.com:8443", "https")),
    ("http://10.0.0.5:8042", True, ("10.0.0.5:8042", "http")),
])
def test_parse_endpoint(endpoint, allow, expected):
    assert parse_endpoint(endpoint, allow) == expected


@pytest.mark.parametrize("endpoint, words", [
    ("http://10.0.0.5:8042", "allow_insecure_endpoint"),
    ("ftp://127.0.0.1", "scheme"),
    ("127.0.0.1:notaport", "not a valid endpoint"),
    ("https://ecs.example.com/path", "host[:port]"),
    ("", "host[:port]"),
])
def test_parse_endpoint_refusals_name_the_option(endpoint, words):
    with pytest.raises(InvalidOptionError) as raised:
        parse_endpoint(endpoint, False)
    assert raised.value.option == "ecs_endpoint"
    assert str(raised.value).startswith("ecs_endpoint: ") and words in str(raised.value)


@pytest.mark.parametrize("params, option", [
    ({}, "region"),
    ({"region": "Hangzhou!"}, "region"),
    ({"region": "cn-hangzhou", "api_retries": -1}, "api_retries"),
    ({"region": "cn-hangzhou", "api_timeout": 0}, "api_timeout"),
])
def test_connect_validates_options(params, option):
    with pytest.raises(InvalidOptionError) as raised:
        connect(params, transport=lambda action, p: {})
    assert raised.value.option == option


@pytest.mark.parametrize("params, option", [
    ({"access_key_id": "LTAIx"}, "access_key_secret"),
    ({"access_key_secret": "s"}, "access_key_id"),
    ({"security_token": "tok"}, "security_token"),
])
def test_credentials_must_be_complete(params, option):
    with pytest.raises(InvalidOptionError) as raised:
        ecs_client._credential(params)
    assert raised.value.option == option


def test_static_credentials_pass_through():
    config = ecs_client._credential({"access_key_id": "LTAIx", "access_key_secret": "s", "security_token": "t"})
    assert config == {"access_key_id": "LTAIx", "access_key_secret": "s", "security_token": "t"}


def test_sdk_method_names():
    assert ecs_client._snake_case("DescribeInstances") == "describe_instances"
    assert ecs_client._snake_case("ConvertNatPublicIpToEip") == "convert_nat_public_ip_to_eip"


def test_sdk_errors_become_transport_errors():
    from alibabacloud_tea_openapi.exceptions import ClientException, ThrottlingException

    refusal = ClientException(status_code=403, code="IncorrectInstanceStatus", message="code: 403, x request id: r",
                              data={"Message": "The current status of the resource does not support this operation.",
                                    "RequestId": "r-1", "Code": "IncorrectInstanceStatus"})
    error = ecs_client._transport_error(refusal)
    assert (error.code, error.status, error.request_id) == ("IncorrectInstanceStatus", 403, "r-1")
    assert error.message == "The current status of the resource does not support this operation."
    throttle = ThrottlingException(status_code=400, code="Throttling.User", message="m", retry_after=2000,
                                   data={"Message": "slow down", "RequestId": "r-2"})
    assert ecs_client._transport_error(throttle).code == "Throttling.User"
    assert ecs_client._transport_error(ConnectionRefusedError("refused")).code == CONNECTION_ERROR
