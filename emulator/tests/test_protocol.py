"""The wire protocol through both SDKs and raw HTTP: signatures, credentials, errors, parameters, robustness."""

from __future__ import annotations

import json
import random
from urllib.parse import quote, urlencode

import pytest
from alibabacloud_ecs20140526 import models
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkecs.request.v20140526.DescribeInstancesRequest import DescribeInstancesRequest
from aliyunsdkecs.request.v20140526.ModifyInstanceAttributeRequest import ModifyInstanceAttributeRequest
from emulator_clients import (
    DEFAULT_KEY,
    REGION,
    STS_KEY,
    ecs_client,
    legacy_call,
    raw_request,
    resign_v1,
    send_bytes,
    small_fleet,
    v1_request,
    v3_request,
)
from Tea.exceptions import TeaException

from ecs_emulator import Emulator
from ecs_emulator.auth import AccessKey, sign_v1, sign_v3

ERROR_FIELDS = {"RequestId", "HostId", "Code", "Message", "Recommend"}
PROTOCOL_PARAMS = {
    "Signature", "AccessKeyId", "SignatureNonce", "Timestamp", "SignatureMethod", "SignatureVersion", "Format", "Version", "Action"
}


def sdk_describe(emu: Emulator, key: AccessKey = DEFAULT_KEY) -> dict:
    return ecs_client(emu, key).describe_instances(models.DescribeInstancesRequest(region_id=REGION)).body.to_map()


def legacy_describe(emu: Emulator, key: AccessKey = DEFAULT_KEY) -> dict:
    return legacy_call(emu, DescribeInstancesRequest(), key)


def sdk_error(emu: Emulator, key: AccessKey) -> TeaException:
    with pytest.raises(TeaException) as raised:
        sdk_describe(emu, key)
    return raised.value


def legacy_error(emu: Emulator, key: AccessKey) -> ServerException:
    with pytest.raises(ServerException) as raised:
        legacy_describe(emu, key)
    return raised.value


def instance_field(emu: Emulator, field: str = "InstanceName") -> dict[str, str]:
    response = ecs_client(emu).describe_instances(models.DescribeInstancesRequest(region_id=REGION, page_size=100))
    return {instance["InstanceId"]: instance[field] for instance in response.body.to_map()["Instances"]["Instance"]}


# ----- success through both SDKs --------------------------------------------------------------


def test_v3_sdk_call_succeeds_and_is_recorded(emu: Emulator) -> None:
    body = sdk_describe(emu)
    assert body["RequestId"] and body["TotalCount"] == 0
    (call,) = emu.calls()
    assert call["action"] == "DescribeInstances" and call["region"] == REGION
    assert call["access_key_id"] == DEFAULT_KEY.id and call["request_id"] == body["RequestId"]
    assert (call["status"], call["code"], call["write"], call["reached_world"]) == (200, "", False, True)
    assert call["params"] == {"RegionId": REGION}


def test_v1_sdk_call_succeeds_and_protocol_params_are_not_recorded(emu: Emulator) -> None:
    body = legacy_describe(emu)
    assert body["RequestId"] and body["TotalCount"] == 0
    (call,) = emu.calls()
    assert call["action"] == "DescribeInstances" and call["status"] == 200
    assert not PROTOCOL_PARAMS & set(call["params"])
    assert call["params"]["RegionId"] == REGION


def test_the_new_sdk_with_v1_signatures_is_understood(emu: Emulator) -> None:
    """``signature_algorithm='v2'`` makes the current SDK sign like the legacy one, with Action in both places."""
    client = ecs_client(emu, signature_algorithm="v2")
    assert client.describe_instances(models.DescribeInstancesRequest(region_id=REGION)).body.request_id
    assert emu.calls()[0]["params"] == {"RegionId": REGION}


def test_every_response_carries_the_request_id_header(emu: Emulator) -> None:
    headers = sign_v3(DEFAULT_KEY, "DescribeInstances", {"RegionId": REGION}, emu.endpoint)
    status, response_headers, body = raw_request(emu, "POST", "/?RegionId=" + REGION, headers)
    assert status == 200 and response_headers["x-acs-request-id"] == json.loads(body)["RequestId"]
    assert response_headers["content-type"].startswith("application/json")
    status, response_headers, body = raw_request(emu, "POST", "/?RegionId=" + REGION)
    assert status == 400 and response_headers["x-acs-request-id"] == json.loads(body)["RequestId"]


def test_get_and_form_bodies_are_accepted(emu: Emulator) -> None:
    signed = sign_v1(DEFAULT_KEY, "DescribeInstances", {"RegionId": REGION}, method="GET")
    status, _, body = raw_request(emu, "GET", "/?" + urlencode(signed))
    assert status == 200, body
    # v1 signs query and form parameters together; here everything travels in the body.
    signed = sign_v1(DEFAULT_KEY, "DescribeInstances", {"RegionId": REGION})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, body = raw_request(emu, "POST", "/", form, urlencode(signed).encode())
    assert status == 200, body
    assert emu.calls()[-1]["params"] == {"RegionId": REGION}


# ----- credentials and signatures ------------------------------------------------------------


def test_wrong_secret_is_signature_does_not_match(emu: Emulator) -> None:
    error = sdk_error(emu, AccessKey(DEFAULT_KEY.id, "not-the-secret"))
    assert (error.code, error.status_code) == ("SignatureDoesNotMatch", 400)
    assert set(error.data) >= ERROR_FIELDS and error.data["HostId"] == emu.endpoint
    status, body = v1_request(emu, "DescribeInstances", {"RegionId": REGION}, key=AccessKey(DEFAULT_KEY.id, "nope"))
    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")
    # The legacy SDK compares our string to sign with its own; equal strings prove the canonical forms
    # agree, and it then names the real cause.
    assert legacy_error(emu, AccessKey(DEFAULT_KEY.id, "nope")).get_error_code() == "InvalidAccessKeySecret"
    assert [call["code"] for call in emu.calls()] == ["SignatureDoesNotMatch"] * 3
    assert not any(call["reached_world"] for call in emu.calls())


def test_unknown_key_is_not_found(emu: Emulator) -> None:
    stranger = AccessKey("LTAI5tStranger", "whatever")
    error = sdk_error(emu, stranger)
    assert (error.code, error.status_code) == ("InvalidAccessKeyId.NotFound", 404)
    assert legacy_error(emu, stranger).get_http_status() == 404
    assert emu.calls()[0]["access_key_id"] == stranger.id


@pytest.mark.parametrize("sign", ["v3", "v1"])
def test_a_replayed_request_is_refused(emu: Emulator, sign: str) -> None:
    query = {"RegionId": REGION}
    if sign == "v3":
        headers, target = sign_v3(DEFAULT_KEY, "DescribeInstances", query, emu.endpoint), "/?" + urlencode(query)
    else:
        headers, target = {}, "/?" + urlencode(sign_v1(DEFAULT_KEY, "DescribeInstances", query))
    first = raw_request(emu, "POST", target, headers)
    replay = raw_request(emu, "POST", target, headers)
    assert first[0] == 200
    assert (replay[0], json.loads(replay[2])["Code"]) == (400, "SignatureNonceUsed")


def test_a_forged_request_does_not_burn_the_nonce(emu: Emulator) -> None:
    query = {"RegionId": REGION}
    headers = sign_v3(DEFAULT_KEY, "DescribeInstances", query, emu.endpoint)
    forged = {**headers, "Authorization": headers["Authorization"][:-4] + "0000"}
    assert raw_request(emu, "POST", "/?" + urlencode(query), forged)[0] == 400
    assert raw_request(emu, "POST", "/?" + urlencode(query), headers)[0] == 200


def test_tampered_parameters_break_the_signature(emu: Emulator) -> None:
    headers = sign_v3(DEFAULT_KEY, "DescribeInstances", {"RegionId": REGION}, emu.endpoint)
    status, _, body = raw_request(emu, "POST", "/?RegionId=cn-beijing", headers)
    assert (status, json.loads(body)["Code"]) == (400, "SignatureDoesNotMatch")


def test_sts_credentials_work_through_both_sdks(emu: Emulator) -> None:
    assert sdk_describe(emu, STS_KEY)["RequestId"]
    assert legacy_describe(emu, STS_KEY)["RequestId"]
    assert [call["access_key_id"] for call in emu.calls()] == [STS_KEY.id, STS_KEY.id]
    assert "SecurityToken" not in emu.calls()[1]["params"]


def test_a_wrong_or_missing_sts_token_is_refused(emu: Emulator) -> None:
    wrong = AccessKey(STS_KEY.id, STS_KEY.secret, "some-other-token")
    error = sdk_error(emu, wrong)
    assert (error.code, error.status_code) == ("InvalidSecurityToken.MismatchWithAccessKey", 400)
    assert legacy_error(emu, wrong).get_error_code() == "InvalidSecurityToken.MismatchWithAccessKey"
    error = sdk_error(emu, AccessKey(STS_KEY.id, STS_KEY.secret))
    assert (error.code, error.status_code) == ("MissingSecurityToken", 400)


def test_missing_or_incomplete_credentials(emu: Emulator) -> None:
    status, _, body = raw_request(emu, "POST", "/?RegionId=" + REGION, {"x-acs-action": "DescribeInstances", "x-acs-version": "2014-05-26"})
    assert (status, json.loads(body)["Code"]) == (400, "MissingAccessKeyId")
    status, _, body = raw_request(emu, "POST", "/", {"Authorization": "ACS3-HMAC-SHA256 Credential=x"})
    assert (status, json.loads(body)["Code"]) == (400, "IncompleteSignature")
    status, _, body = raw_request(emu, "POST", "/", {"Authorization": "Basic dXNlcjpwYXNz"})
    assert (status, json.loads(body)["Code"]) == (400, "IncompleteSignature")


def test_a_stale_timestamp_is_refused(emu: Emulator) -> None:
    signed = resign_v1(sign_v1(DEFAULT_KEY, "DescribeInstances", {"RegionId": REGION}), Timestamp="2020-01-01T00:00:00Z")
    status, _, body = raw_request(emu, "POST", "/?" + urlencode(signed))
    assert (status, json.loads(body)["Code"]) == (400, "InvalidTimeStamp.Expired")


# ----- actions and versions --------------------------------------------------------------------


def test_unknown_action_is_not_found(emu: Emulator) -> None:
    status, body = v3_request(emu, "DescribeUnicorns", {"RegionId": REGION})
    assert (status, body["Code"]) == (404, "InvalidAction.NotFound")
    assert set(body) == ERROR_FIELDS
    (call,) = emu.calls()
    assert (call["action"], call["write"], call["reached_world"]) == ("DescribeUnicorns", False, False)


def test_wrong_version_is_refused(emu: Emulator) -> None:
    signed = resign_v1(sign_v1(DEFAULT_KEY, "DescribeInstances", {"RegionId": REGION}), Version="2016-03-14")
    status, _, body = raw_request(emu, "POST", "/?" + urlencode(signed))
    assert (status, json.loads(body)["Code"]) == (400, "InvalidVersion")


def test_world_errors_keep_their_status_and_code(emu: Emulator) -> None:
    status, body = v3_request(emu, "DescribeInstanceAttribute", {"InstanceId": "i-doesnotexist"})
    assert (status, body["Code"]) == (404, "InvalidInstanceId.NotFound")
    assert set(body) == ERROR_FIELDS and body["HostId"] == emu.endpoint
    assert emu.calls()[0]["reached_world"] is True


# ----- parameters as the world sees them ------------------------------------------------------


@pytest.mark.parametrize("spelling", ["true", "True", "TRUE", "tRuE"])
def test_booleans_are_case_insensitive(emu: Emulator, spelling: str) -> None:
    emu.load_fleet(small_fleet(1))
    (instance_id,) = instance_field(emu)
    status, body = v3_request(emu, "ModifyInstanceAttribute", {"InstanceId": instance_id, "DeletionProtection": spelling})
    assert status == 200, body
    status, body = v3_request(emu, "DescribeInstances", {"RegionId": REGION, "InstanceIds": json.dumps([instance_id])})
    assert body["Instances"]["Instance"][0]["DeletionProtection"] is True


def test_json_arrays_and_numbered_lists_both_reach_the_world(emu: Emulator) -> None:
    emu.load_fleet(small_fleet(3))
    ids = sorted(instance_field(emu))[:2]
    _, by_json = v3_request(emu, "DescribeInstances", {"RegionId": REGION, "InstanceIds": json.dumps(ids)})
    assert sorted(i["InstanceId"] for i in by_json["Instances"]["Instance"]) == ids
    numbered = {"RegionId": REGION, **{f"InstanceId.{n}": instance_id for n, instance_id in enumerate(ids, 1)}}
    _, by_number = v3_request(emu, "DescribeInstanceStatus", numbered)
    assert sorted(s["InstanceId"] for s in by_number["InstanceStatuses"]["InstanceStatus"]) == ids
    assert emu.calls()[-1]["params"] == numbered


def test_unicode_and_reserved_characters_survive_both_signatures(emu: Emulator) -> None:
    emu.load_fleet(small_fleet(1))
    (instance_id,) = instance_field(emu)
    text = "web 01/+&=*~%20 é 東京"
    ecs_client(emu).modify_instance_attribute(models.ModifyInstanceAttributeRequest(instance_id=instance_id, description=text))
    assert instance_field(emu, "Description")[instance_id] == text
    request = ModifyInstanceAttributeRequest()
    request.set_InstanceId(instance_id)
    request.set_Description(text + " legacy")
    legacy_call(emu, request)
    assert instance_field(emu, "Description")[instance_id] == text + " legacy"


# ----- robustness: malformed input is a 4xx, never a 500 ------------------------------------------


def mangled_requests(rng: random.Random) -> list[tuple[str, bytes, dict[str, str | bytes], bytes]]:
    """Requests a careless or hostile client might send: bad encodings, garbage auth, huge values."""
    signed_headers: dict[str, str | bytes] = dict(sign_v3(DEFAULT_KEY, "DescribeInstances", {"RegionId": REGION}, "h"))
    form: dict[str, str | bytes] = {"Content-Type": "application/x-www-form-urlencoded"}
    garbage = [
        b"%", b"%zz", b"%ff%fe", b"%C3%28", b"a=%", b"&&&", b"=", b"==x", b"%00", b"RegionId=%E4%B8", b"+%2B+", b"\x7f",
        b"\xff\xfe=\xc3", b"RegionId=" + b"x" * 5000, b";".join([b"a"] * 300), b"InstanceIds=[", b"Tag.999.Key=a",
        b"&".join(b"k%d=v" % n for n in range(3000)),
    ]
    requests: list[tuple[str, bytes, dict[str, str | bytes], bytes]] = []
    for text in garbage:
        requests.append(("POST", b"/?" + text, {}, b""))
        requests.append(("POST", b"/?" + text, signed_headers, b""))
        requests.append(("POST", b"/", form, text))
    headers: list[dict[str, str | bytes]] = [
        {"Authorization": "ACS3-HMAC-SHA256"},
        {"Authorization": "ACS3-HMAC-SHA256 ,,,,=,="},
        {"Authorization": "ACS3-HMAC-SHA256 Credential=,SignedHeaders=;;;,Signature="},
        {"Authorization": "ACS3-HMAC-SHA256 Credential=LTAI5tEcsEmulatorDefault,SignedHeaders=host;nothere,Signature=00"},
        {"Authorization": "x" * 7000},
        {"Authorization": "y" * 70000},
        {"Authorization": b"ACS3-HMAC-SHA256 Credential=\xff\xfe,SignedHeaders=host,Signature=1"},
        {**signed_headers, "x-acs-date": "yesterday"},
        {**signed_headers, "x-acs-signature-nonce": b"\xc3\x28"},
        {**signed_headers, "host": b"\xff"},
        {"x-acs-action": b"\xff\xfe", "x-acs-version": "2014-05-26"},
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-16"},
        {"Transfer-Encoding": "chunked"},
        {"Content-Type": b"\x00\x01"},
    ]
    requests += [("POST", b"/", h, b"") for h in headers]
    requests.append(("POST", b"/", form, b"x=" + b"y" * 3_000_000))
    requests.append(("PUT", b"/anything/else?x=1", {}, b"{}"))
    requests.append(("GET", b"/%2e%2e/%2e%2e/etc/passwd", {}, b""))
    requests.append(("BREW", b"/", {}, b""))
    for _ in range(120):
        raw = bytes(rng.randrange(33, 256) for _ in range(rng.randrange(1, 60)))
        requests.append(("POST", b"/?" + raw, {}, b""))
        requests.append(("POST", b"/", form, raw))
        requests.append(("POST", b"/?" + quote(raw, safe="=&%").encode(), signed_headers, b""))
    return requests


def test_malformed_requests_never_cause_a_500(emu: Emulator) -> None:
    for method, target, headers, body in mangled_requests(random.Random(20240601)):
        status, answer = send_bytes(emu, method, target, headers, body)
        assert 400 <= status < 500, (method, target[:200], headers, body[:200], status, answer[:300])
    assert sdk_describe(emu)["RequestId"]  # and the server still serves


def test_signed_nonsense_reaching_the_world_never_causes_a_500(emu: Emulator) -> None:
    emu.load_fleet(small_fleet(2))
    rng = random.Random(7)
    values = ["", "[", "]", "[1,2", "{}", "null", "-1", "0", "99999999999999999999", "abc", "true", "maybe", "%", "é", "\x00", "a" * 300,
              '["i-x"]', "[" + ",".join(['"i-x"'] * 150) + "]", "2020-13-45T99:99Z", "1e309", "NaN"]
    names = ["RegionId", "InstanceId", "InstanceIds", "PageSize", "PageNumber", "MaxResults", "NextToken", "Tag.1.Key", "Tag.1.Value",
             "Tag.30.Key", "Status", "InstanceChargeType", "DeletionProtection", "AutoReleaseTime", "Force", "DryRun", "InstanceId.1",
             "InstanceName", "DiskIds", "DiskId", "SnapshotIds", "ClientToken", "ZoneId", "InstanceId.101"]
    actions = sorted(emu.info()["actions"])
    for _ in range(400):
        action = rng.choice(actions)
        params = {rng.choice(names): rng.choice(values) for _ in range(rng.randrange(0, 5))}
        if rng.random() < 0.7:
            params["RegionId"] = REGION
        status, body = v3_request(emu, action, params)
        assert status != 500, (action, params, body)
