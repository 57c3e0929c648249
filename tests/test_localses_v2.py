"""The local SES answers SES v2 template sends over HTTP (issue 15).

moto 5.2's ``sesv2`` raises NotImplementedError for ``Content.Template`` and
has no SendBulkEmail: the local SES takes both, renders them as the v1 path
does, records the headers each recipient gets, and shows them in the outbox.
Every test talks to it over real HTTP with boto3's ``sesv2`` client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from letterhead.authoring.build import build
from letterhead.authoring.payload import SesTemplate
from letterhead.authoring.safety import prepare_data
from letterhead.authoring.validate import render_parts
from letterhead.config import load_config
from letterhead.dev.devserver import DevServer
from letterhead.dev.localses import LOCAL_MAX_24_HOUR_SEND, LOCAL_MAX_SEND_RATE, LocalSes

from .helpers import make_project

pytestmark = pytest.mark.aws

SAMPLE = {"name": "Ada", "url": "https://example.com/start"}
SENDER = "Mini <hello@example.com>"
UNSUB = "<https://example.com/unsub?t=tok-ada>, <mailto:unsubscribe@example.com?subject=unsub-tok-ada>"
ONE_CLICK = ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")


def _h(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"Name": n, "Value": v} for n, v in pairs]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("localses-v2"))
    build(load_config(root))
    return root / "ses_templates"


@pytest.fixture
def ses(built: Path) -> Iterator[LocalSes]:
    with LocalSes(senders=["example.com"]) as local:
        local.load_templates(built)
        yield local


def _v2(ses: LocalSes) -> Any:
    return boto3.client("sesv2", endpoint_url=ses.endpoint_url, region_name=ses.region,
                        aws_access_key_id="app", aws_secret_access_key="app")


def _v1(ses: LocalSes) -> Any:
    return boto3.client("ses", endpoint_url=ses.endpoint_url, region_name=ses.region,
                        aws_access_key_id="app", aws_secret_access_key="app")


def _send(ses: LocalSes, data: Any = None, headers: list[dict[str, str]] | None = None,
          **template: Any) -> dict[str, Any]:
    tpl: dict[str, Any] = {"TemplateName": "welcome",
                           "TemplateData": json.dumps(prepare_data(SAMPLE) if data is None else data), **template}
    if headers is not None:
        tpl["Headers"] = headers
    resp: dict[str, Any] = _v2(ses).send_email(
        FromEmailAddress=SENDER, Destination={"ToAddresses": ["ada@example.org"]}, Content={"Template": tpl})
    return resp


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    r = info.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


# -- single sends -------------------------------------------------------------------------------------


def test_a_v2_template_send_is_rendered_and_its_headers_recorded(ses: LocalSes, built: Path) -> None:
    resp = _send(ses, headers=_h(("List-Unsubscribe", UNSUB), ONE_CLICK))
    assert set(resp) == {"MessageId", "ResponseMetadata"} and resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    [sent] = ses.sent_messages()
    assert sent.id == resp["MessageId"] and sent.kind == "templated" and sent.api == "v2"
    assert sent.call == "send_email"
    assert sent.source == SENDER and sent.to == ("ada@example.org",) and sent.template == "welcome"
    assert sent.headers == (("List-Unsubscribe", UNSUB), ONE_CLICK)
    assert json.loads(sent.template_data or "") == prepare_data(SAMPLE)
    [d] = ses.outbox()
    assert d.delivered and d.problem is None
    # the build's own renderer, same bytes as the v1 path gives
    assert d.parts == render_parts(SesTemplate.load(built / "welcome.json"), SAMPLE)
    assert d.parts is not None and d.parts["subject"] == "Welcome to Mini, Ada" and "Hello Ada" in d.parts["html"]
    assert d.to_dict()["message"]["headers"] == [{"name": "List-Unsubscribe", "value": UNSUB},
                                                 {"name": ONE_CLICK[0], "value": ONE_CLICK[1]}]


def test_a_template_named_by_arn_and_the_envelope_are_recorded(ses: LocalSes) -> None:
    arn = "arn:aws:ses:us-east-1:123456789012:template/welcome"
    resp = _v2(ses).send_email(
        FromEmailAddress="hello@example.com",
        Destination={"ToAddresses": ["a@example.org"], "CcAddresses": ["c@example.org"]},
        ReplyToAddresses=["help@example.com"], EmailTags=[{"Name": "template", "Value": "welcome"}],
        Content={"Template": {"TemplateArn": arn, "TemplateData": json.dumps(prepare_data(SAMPLE))}})
    [d] = ses.outbox()
    assert d.message.id == resp["MessageId"] and d.message.template == "welcome" and d.delivered
    assert d.message.cc == ("c@example.org",) and d.message.reply_to == ("help@example.com",)
    assert d.message.tags == (("template", "welcome"),) and d.message.headers == ()


def test_a_missing_variable_is_accepted_then_dropped_as_on_the_v1_path(ses: LocalSes) -> None:
    data = prepare_data({"url": "https://x.org"})
    v2 = _send(ses, data=data, headers=_h(ONE_CLICK))
    v1 = _v1(ses).send_templated_email(Source=SENDER, Destination={"ToAddresses": ["ada@example.org"]},
                                       Template="welcome", TemplateData=json.dumps(data))
    assert v2["MessageId"] and v1["MessageId"]  # SES accepts both, then drops both
    by_id = {d.message.id: d for d in ses.outbox()}
    dropped, same = by_id[v2["MessageId"]], by_id[v1["MessageId"]]
    assert not dropped.delivered and dropped.parts is None
    assert dropped.problem == same.problem == "missing variable `name` in the subject part"
    assert dropped.error is not None and dropped.error.variable == "name"
    assert dropped.message.headers == (ONE_CLICK,)


def test_simple_and_raw_v2_sends_pass_to_moto_and_keep_their_headers(ses: LocalSes) -> None:
    c = _v2(ses)
    simple = c.send_email(FromEmailAddress="hello@example.com", Destination={"ToAddresses": ["s@example.org"]},
                          Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Plain"}},
                                              "Headers": _h(("X-Entity-Ref-ID", "r-1"))}})
    raw = c.send_email(FromEmailAddress="hello@example.com", Destination={"ToAddresses": ["r@example.org"]},
                       Content={"Raw": {"Data": b"From: hello@example.com\r\nTo: r@example.org\r\n"
                                                b"Subject: raw\r\n\r\nbody"}})
    by_id = {d.message.id: d for d in ses.outbox()}
    s = by_id[simple["MessageId"]]
    assert s.delivered and s.message.kind == "email" and s.message.api == "v2"
    assert s.message.headers == (("X-Entity-Ref-ID", "r-1"),) and s.parts == {"subject": "Hi", "html": "",
                                                                              "text": "Plain"}
    r = by_id[raw["MessageId"]].message
    assert (r.kind, r.api, r.call, r.headers) == ("raw", "v2", "send_email", ())
    assert "Subject: raw" in (r.body or "")
    with pytest.raises(ClientError) as info:
        c.send_email(FromEmailAddress="hello@example.com", Destination={"ToAddresses": ["s@example.org"]},
                     Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Plain"}},
                                         "Headers": _h(("Bad Name", "x"))}})
    assert _error(info)[:2] == ("BadRequestException", 400)
    assert len(ses.sent_messages()) == 2


# -- bulk ---------------------------------------------------------------------------------------------------


def test_bulk_gives_each_recipient_its_own_data_and_headers(ses: LocalSes) -> None:
    resp = _v2(ses).send_bulk_email(
        FromEmailAddress=SENDER,
        DefaultContent={"Template": {"TemplateName": "welcome", "TemplateData": json.dumps(prepare_data(SAMPLE)),
                                     "Headers": _h(ONE_CLICK, ("X-Campaign", "spring"))}},
        DefaultEmailTags=[{"Name": "template", "Value": "welcome"}],
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": ["bo@example.org"]},
             "ReplacementEmailContent": {"ReplacementTemplate": {"ReplacementTemplateData": json.dumps(
                 prepare_data({"name": "Bo", "url": "https://example.com/bo"}))}},
             "ReplacementHeaders": _h(("List-Unsubscribe", "<https://example.com/unsub?t=tok-bo>"))},
            {"Destination": {"ToAddresses": ["ada@example.org"]},
             "ReplacementHeaders": _h(("x-campaign", "ada-only"), ("List-Unsubscribe", UNSUB)),
             "ReplacementTags": [{"Name": "template", "Value": "welcome-ada"}, {"Name": "cohort", "Value": "b"}]},
            {"Destination": {"ToAddresses": ["cy@example.org"]},  # a partial replacement: the rest is the default
             "ReplacementEmailContent": {"ReplacementTemplate": {"ReplacementTemplateData": json.dumps(
                 prepare_data({"name": "Cy"}))}}},
        ])
    results = resp["BulkEmailEntryResults"]
    assert [r["Status"] for r in results] == ["SUCCESS"] * 3
    assert all(set(r) == {"Status", "MessageId"} for r in results)
    deliveries = ses.outbox()
    assert [d.message.id for d in deliveries] == [r["MessageId"] for r in results]
    assert [d.message.to for d in deliveries] == [("bo@example.org",), ("ada@example.org",), ("cy@example.org",)]
    assert {(d.message.kind, d.message.api, d.message.call) for d in deliveries} == {("bulk", "v2", "send_bulk_email")}
    assert [d.delivered for d in deliveries] == [True, True, True]
    parts = [d.parts or {} for d in deliveries]
    assert [p["subject"] for p in parts] == ["Welcome to Mini, Bo", "Welcome to Mini, Ada", "Welcome to Mini, Cy"]
    assert "https://example.com/bo" in parts[0]["html"] and "Hello Ada" in parts[1]["html"]
    # SES merges ReplacementTemplateData into the default data key by key (objects too): Cy keeps the default url
    assert "Hello Cy" in parts[2]["html"] and "https://example.com/start" in parts[2]["html"]
    assert json.loads(deliveries[2].message.template_data or "") == {
        "name": "Cy", "url": "https://example.com/start", "_html": {"name": "Cy", "url": "https://example.com/start"}}
    # the default headers, a same-named replacement in place (names are case-insensitive), new ones added
    assert [d.message.headers for d in deliveries] == [
        (ONE_CLICK, ("X-Campaign", "spring"), ("List-Unsubscribe", "<https://example.com/unsub?t=tok-bo>")),
        (ONE_CLICK, ("x-campaign", "ada-only"), ("List-Unsubscribe", UNSUB)),
        (ONE_CLICK, ("X-Campaign", "spring")),
    ]
    assert [d.message.tags for d in deliveries] == [
        (("template", "welcome"),), (("template", "welcome-ada"), ("cohort", "b")), (("template", "welcome"),)]


def test_bulk_statuses_per_entry_and_a_missing_variable_is_accepted(ses: LocalSes) -> None:
    resp = _v2(ses).send_bulk_email(
        FromEmailAddress="hello@example.com",
        DefaultContent={"Template": {"TemplateName": "welcome", "TemplateData": json.dumps(prepare_data({}))}},
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": ["ok@example.org"]},
             "ReplacementEmailContent": {"ReplacementTemplate": {
                 "ReplacementTemplateData": json.dumps(prepare_data(SAMPLE))}}},
            {"Destination": {"ToAddresses": ["not-an-address"]}},
            {"Destination": {"ToAddresses": ["nodata@example.org"]}},
            {"Destination": {}},
        ])
    results = resp["BulkEmailEntryResults"]
    assert [r["Status"] for r in results] == ["SUCCESS", "INVALID_PARAMETER", "SUCCESS", "INVALID_PARAMETER"]
    assert "MessageId" not in results[1] and results[1]["Error"] and results[3]["Error"]
    deliveries = ses.outbox()
    assert [d.message.id for d in deliveries] == [results[0]["MessageId"], results[2]["MessageId"]]
    assert deliveries[0].delivered and not deliveries[1].delivered
    assert deliveries[1].problem is not None and "`name`" in deliveries[1].problem


def test_v2_sends_count_toward_the_quota_and_get_account_reports_it(ses: LocalSes) -> None:
    _send(ses)
    _v2(ses).send_bulk_email(
        FromEmailAddress="hello@example.com",
        DefaultContent={"Template": {"TemplateName": "welcome", "TemplateData": json.dumps(prepare_data(SAMPLE))}},
        BulkEmailEntries=[{"Destination": {"ToAddresses": [f"u{i}@example.org"]}} for i in range(3)])
    _v1(ses).send_templated_email(Source="hello@example.com", Destination={"ToAddresses": ["v1@example.org"]},
                                  Template="welcome", TemplateData=json.dumps(prepare_data(SAMPLE)))
    assert _v1(ses).get_send_quota()["SentLast24Hours"] == 5.0
    account = _v2(ses).get_account()
    assert account["SendQuota"] == {"Max24HourSend": LOCAL_MAX_24_HOUR_SEND, "MaxSendRate": LOCAL_MAX_SEND_RATE,
                                    "SentLast24Hours": 5.0}
    assert account["SendingEnabled"] and account["ProductionAccessEnabled"]


# -- refusals, as SES answers them ---------------------------------------------------------------------------


LONG_NAME = "X-" + "n" * 124  # 126 characters
HEADER_CASES = {
    "sixteen headers": _h(*[(f"X-H{i}", "v") for i in range(16)]),
    "a name of 127 characters": _h((LONG_NAME + "n", "v")),
    "a colon in a name": _h(("X-A:B", "v")),
    "a space in a name": _h(("X A", "v")),
    "a non-ASCII name": _h(("X-Ä", "v")),
    "a value of 996 characters": _h(("X", "v" * 996)),
    "name and value over 996 together": _h(("XY", "v" * 995)),
    "CR LF in a value": _h(("X-Evil", "a\r\nBcc: victim@example.org")),
    "a tab in a value": _h(("X-Tab", "a\tb")),
    "a non-ASCII value": _h(("X-Name", "Zoë")),
}


@pytest.mark.parametrize("case", list(HEADER_CASES))
def test_headers_beyond_the_ses_limits_are_a_400(ses: LocalSes, case: str) -> None:
    with pytest.raises(ClientError) as info:
        _send(ses, headers=HEADER_CASES[case])
    code, status, message = _error(info)
    assert (code, status) == ("BadRequestException", 400), message
    with pytest.raises(ClientError) as bulk:
        _v2(ses).send_bulk_email(
            FromEmailAddress="hello@example.com",
            DefaultContent={"Template": {"TemplateName": "welcome", "TemplateData": "{}"}},
            BulkEmailEntries=[{"Destination": {"ToAddresses": ["a@example.org"]}},
                              {"Destination": {"ToAddresses": ["b@example.org"]},
                               "ReplacementHeaders": HEADER_CASES[case]}])
    assert _error(bulk)[:2] == ("BadRequestException", 400)
    assert ses.sent_messages() == []  # nothing is sent, not even the valid entry


def test_headers_at_the_limits_are_accepted(ses: LocalSes) -> None:
    fifteen = _h(*[(f"X-H{i}", "v") for i in range(13)], (LONG_NAME, "v" * (996 - 126)), ("X", "v" * 995))
    _send(ses, headers=fifteen)
    [sent] = ses.sent_messages()
    assert len(sent.headers) == 15 and sent.headers[-1] == ("X", "v" * 995)


def test_bulk_headers_over_fifteen_once_merged_are_a_400(ses: LocalSes) -> None:
    with pytest.raises(ClientError) as info:
        _v2(ses).send_bulk_email(
            FromEmailAddress="hello@example.com",
            DefaultContent={"Template": {"TemplateName": "welcome", "TemplateData": "{}",
                                         "Headers": _h(*[(f"X-D{i}", "v") for i in range(10)])}},
            BulkEmailEntries=[{"Destination": {"ToAddresses": ["b@example.org"]},
                               "ReplacementHeaders": _h(*[(f"X-R{i}", "v") for i in range(6)])}])
    code, status, message = _error(info)
    assert (code, status) == ("BadRequestException", 400) and "15" in message
    assert ses.sent_messages() == []


def test_an_unknown_template_is_not_found(ses: LocalSes) -> None:
    with pytest.raises(ClientError) as info:
        _send(ses, TemplateName="nope")
    code, status, message = _error(info)
    assert (code, status) == ("NotFoundException", 404) and "nope" in message
    with pytest.raises(ClientError) as bulk:
        _v2(ses).send_bulk_email(FromEmailAddress="hello@example.com",
                                 DefaultContent={"Template": {"TemplateName": "nope", "TemplateData": "{}"}},
                                 BulkEmailEntries=[{"Destination": {"ToAddresses": ["b@example.org"]}}])
    assert _error(bulk)[:2] == ("NotFoundException", 404)
    assert ses.sent_messages() == []


def test_an_unverified_sender_is_rejected_as_on_the_v1_path(ses: LocalSes) -> None:
    with pytest.raises(ClientError) as v1:
        _v1(ses).send_templated_email(Source="someone@elsewhere.org", Destination={"ToAddresses": ["x@example.org"]},
                                      Template="welcome", TemplateData="{}")
    with pytest.raises(ClientError) as single:
        _v2(ses).send_email(FromEmailAddress="Someone <someone@elsewhere.org>",
                            Destination={"ToAddresses": ["x@example.org"]},
                            Content={"Template": {"TemplateName": "welcome", "TemplateData": "{}"}})
    with pytest.raises(ClientError) as bulk:
        _v2(ses).send_bulk_email(FromEmailAddress="someone@elsewhere.org",
                                 DefaultContent={"Template": {"TemplateName": "welcome", "TemplateData": "{}"}},
                                 BulkEmailEntries=[{"Destination": {"ToAddresses": ["b@example.org"]}}])
    assert _error(v1)[0] == "MessageRejected"
    for info in (single, bulk):
        code, status, message = _error(info)
        assert (code, status) == ("MessageRejected", 400) and "someone@elsewhere.org" in message
    assert ses.sent_messages() == []


def test_other_malformed_requests_are_a_400(ses: LocalSes) -> None:
    c = _v2(ses)
    cases = [
        dict(FromEmailAddress="hello@example.com", Destination={"ToAddresses": ["x@example.org"]},
             Content={"Template": {"TemplateContent": {"Subject": "Hi {{name}}", "Text": "t"}, "TemplateData": "{}"}}),
        dict(Destination={"ToAddresses": ["x@example.org"]},
             Content={"Template": {"TemplateName": "welcome", "TemplateData": "{}"}}),
        dict(FromEmailAddress="hello@example.com", Destination={},
             Content={"Template": {"TemplateName": "welcome", "TemplateData": "{}"}}),
        dict(FromEmailAddress="hello@example.com", Destination={"ToAddresses": ["x@example.org"]},
             EmailTags=[{"Name": "bad tag", "Value": "v"}],
             Content={"Template": {"TemplateName": "welcome", "TemplateData": "{}"}}),
    ]
    for params in cases:
        with pytest.raises(ClientError) as info:
            c.send_email(**params)
        assert _error(info)[:2] == ("BadRequestException", 400), params
    assert ses.sent_messages() == []


def test_errors_are_shaped_as_aws_rest_json(ses: LocalSes) -> None:
    """What SES v2 answers: the code in x-amzn-ErrorType, {"message": ...} in the body."""
    c = _v2(ses)
    seen: dict[str, Any] = {}
    c.meta.events.register("after-call.sesv2.SendEmail",
                           lambda http_response, **kw: seen.update(status=http_response.status_code,
                                                                   headers=dict(http_response.headers),
                                                                   body=http_response.content))
    with pytest.raises(ClientError):
        c.send_email(FromEmailAddress="hello@example.com", Destination={"ToAddresses": ["x@example.org"]},
                     Content={"Template": {"TemplateName": "nope", "TemplateData": "{}"}})
    assert seen["status"] == 404 and seen["headers"]["x-amzn-ErrorType"] == "NotFoundException"
    assert set(json.loads(seen["body"])) == {"message"}


def test_the_loopback_guard_covers_the_v2_routes(ses: LocalSes) -> None:
    body = json.dumps({"FromEmailAddress": "hello@example.com", "Destination": {"ToAddresses": ["x@example.org"]},
                       "Content": {"Template": {"TemplateName": "welcome", "TemplateData": "{}"}}})
    for headers in ({"Origin": "https://evil.example"}, {"Host": "evil.example"}):
        r = httpx.post(ses.endpoint_url + "/v2/email/outbound-emails", content=body, headers=headers)
        assert r.status_code in (400, 403), r.text
        assert "MessageId" not in r.text
        assert httpx.get(ses.endpoint_url + "/v2/email/account", headers=headers).status_code in (400, 403)
    assert ses.sent_messages() == []


# -- v1 unchanged, and the environment -------------------------------------------------------------------------


def test_v1_sends_are_unchanged_beside_v2_ones(ses: LocalSes) -> None:
    v1 = _v1(ses)
    single = v1.send_templated_email(Source="hello@example.com", Destination={"ToAddresses": ["a@example.org"]},
                                     Template="welcome", TemplateData=json.dumps(prepare_data(SAMPLE)))
    _send(ses, headers=_h(ONE_CLICK))
    bulk = v1.send_bulk_templated_email(
        Source="hello@example.com", Template="welcome", DefaultTemplateData=json.dumps(prepare_data(SAMPLE)),
        Destinations=[{"Destination": {"ToAddresses": ["b@example.org"]}},
                      {"Destination": {"ToAddresses": ["c@example.org"]},
                       "ReplacementTemplateData": json.dumps({"name": "Cy"})}])
    by_id = {d.message.id: d for d in ses.outbox()}
    first = by_id[single["MessageId"]]
    assert first.delivered and first.message.kind == "templated" and first.message.api == "v1"
    assert first.message.call == "send_templated_email" and first.message.headers == ()
    b, c = (by_id[s["MessageId"]] for s in bulk["Status"])
    assert b.message.call == c.message.call == "send_bulk_templated_email"
    assert b.delivered and not c.delivered  # the v1 path keeps its own behaviour
    assert len(by_id) == 4


def test_the_environment_points_a_plain_boto3_sesv2_client_here(ses: LocalSes) -> None:
    assert ses.environ()["AWS_ENDPOINT_URL_SESV2"] == ses.endpoint_url
    app = (
        "import boto3, json\n"
        "from letterhead.authoring.safety import prepare_data\n"
        "boto3.client('sesv2').send_email(FromEmailAddress='hello@example.com',"
        " Destination={'ToAddresses': ['z@example.org']}, Content={'Template': {'TemplateName': 'welcome',"
        " 'TemplateData': json.dumps(prepare_data({'name': 'Zed', 'url': 'https://x.org'})),"
        " 'Headers': [{'Name': 'List-Unsubscribe', 'Value': '<https://x.org/u?t=z>'}]}})\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ses.environ())
    subprocess.run([sys.executable, "-c", app], env=env, check=True, timeout=60)
    [d] = ses.outbox()
    assert d.delivered and d.parts is not None and "Hello Zed" in d.parts["html"]
    assert d.message.headers == (("List-Unsubscribe", "<https://x.org/u?t=z>"),)


# -- the outbox: JSON and page --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevServer, str]]:
    root = make_project(tmp_path_factory.mktemp("localses-v2-dev"))
    server = DevServer(load_config(root, environ={}), port=0, ses_port=0, senders=["example.com"])
    with server.serve() as url:
        yield server, url


def _send_to_dev(server: DevServer, url: str, token: str) -> str:
    assert server.local_ses is not None
    assert httpx.post(url + "/api/outbox/clear", json={}, timeout=30).status_code == 200
    unsub = f"<https://example.com/unsub?t={token}>, <mailto:unsubscribe@example.com?subject=unsub-{token}>"
    resp = _v2(server.local_ses).send_email(
        FromEmailAddress="hello@example.com", Destination={"ToAddresses": ["ada@example.org"]},
        ReplyToAddresses=["help@example.com"],
        Content={"Template": {"TemplateName": "welcome", "TemplateData": json.dumps(prepare_data(SAMPLE)),
                              "Headers": _h(("List-Unsubscribe", unsub), ONE_CLICK)}})
    message_id: str = resp["MessageId"]
    deadline = time.monotonic() + 30
    while message_id not in server.deliveries:
        assert time.monotonic() < deadline, "the outbox did not collect the send"
        time.sleep(0.05)
    return message_id


def test_the_outbox_json_shows_the_headers(dev: tuple[DevServer, str]) -> None:
    server, url = dev
    message_id = _send_to_dev(server, url, "tok-json")
    unsub = "<https://example.com/unsub?t=tok-json>, <mailto:unsubscribe@example.com?subject=unsub-tok-json>"
    expected = [{"name": "List-Unsubscribe", "value": unsub}, {"name": ONE_CLICK[0], "value": ONE_CLICK[1]}]
    body = httpx.get(url + f"/api/outbox/{message_id}", timeout=30).json()
    assert body["headers"] == expected and body["delivered"] and "Hello Ada" in body["html"]
    assert body["api"] == "v2" and body["call"] == "send_email" and body["reply_to"] == "help@example.com"
    [summary] = httpx.get(url + "/api/outbox", timeout=30).json()["messages"]
    assert summary["id"] == message_id and summary["headers"] == expected
    page = httpx.get(url + "/outbox", timeout=30).text
    assert "List-Unsubscribe" in page and "&lt;https://example.com/unsub?t=tok-json&gt;" in page
    assert "AWS_ENDPOINT_URL_SESV2=" + (server.local_ses.endpoint_url if server.local_ses else "?") in page


@pytest.mark.browser
def test_the_outbox_page_shows_the_list_unsubscribe_header(dev: tuple[DevServer, str]) -> None:
    from .browser import browser, stub_network

    server, url = dev
    message_id = _send_to_dev(server, url, "tok-browser")
    with browser() as b:
        page = b.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        stub_network(page)
        page.goto(url + "/outbox")
        message = page.locator(f'[data-message-id="{message_id}"]')
        headers = message.locator(".message-headers")
        assert headers.is_visible()
        names = headers.locator("dt").all_inner_texts()
        values = headers.locator("dd").all_inner_texts()
        assert dict(zip(names, values, strict=True)) == {
            "List-Unsubscribe": "<https://example.com/unsub?t=tok-browser>, "
                                "<mailto:unsubscribe@example.com?subject=unsub-tok-browser>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        assert "delivered" in message.locator(".chip").inner_text()
        assert "Reply-To" in message.locator(".fields").first.inner_text()
        page.close()
