"""The local SES: moto on loopback, preloaded with built templates, and an
outbox rendered as real SES would render each send."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from letterhead.authoring.build import build
from letterhead.config import load_config
from letterhead.dev.localses import LocalSes, SentMessage, parse_sent_messages, render_sent
from letterhead.authoring.payload import SesTemplate
from letterhead.authoring.safety import prepare_data
from letterhead.authoring.validate import render_parts

pytestmark = pytest.mark.aws

SAMPLE = {"name": "Ada", "url": "https://example.com/start"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from .helpers import make_project

    root = make_project(tmp_path_factory.mktemp("localses"))
    build(load_config(root))
    return root / "ses_templates"


@pytest.fixture
def ses(built: Path):  # type: ignore[no-untyped-def]
    with LocalSes(senders=["example.com"]) as local:
        local.load_templates(built)
        yield local


def _client(ses: LocalSes):  # type: ignore[no-untyped-def]
    return boto3.client("ses", endpoint_url=ses.endpoint_url, region_name=ses.region,
                        aws_access_key_id="any", aws_secret_access_key="any")


def test_starts_on_loopback_with_the_built_templates(ses: LocalSes) -> None:
    assert ses.endpoint_url.startswith("http://127.0.0.1:")
    names = [t["Name"] for t in _client(ses).list_templates()["TemplatesMetadata"]]
    assert names == ["welcome"]
    assert ses.verified == ("example.com",)
    assert ses.template("welcome") is not None and ses.template("nope") is None


def test_a_send_is_rendered_as_ses_would(ses: LocalSes, built: Path) -> None:
    resp = _client(ses).send_templated_email(
        Source="Mini <hello@example.com>", Destination={"ToAddresses": ["ada@example.org"]},
        Template="welcome", TemplateData=json.dumps(prepare_data(SAMPLE)))
    [sent] = ses.sent_messages()
    assert sent.id == resp["MessageId"] and sent.kind == "templated"
    assert sent.to == ("ada@example.org",) and sent.template == "welcome"
    assert json.loads(sent.template_data or "") == prepare_data(SAMPLE)
    [delivery] = ses.outbox()
    assert delivery.delivered and delivery.problem is None
    payload = SesTemplate.load(built / "welcome.json")
    assert delivery.parts == render_parts(payload, SAMPLE)  # the build's own renderer, same bytes
    assert "Hello Ada" in delivery.parts["html"]


def test_missing_data_is_marked_dropped(ses: LocalSes) -> None:
    _client(ses).send_templated_email(
        Source="hello@example.com", Destination={"ToAddresses": ["x@example.org"]},
        Template="welcome", TemplateData=json.dumps(prepare_data({"url": "https://x.org"})))
    [d] = ses.outbox()
    assert not d.delivered and d.parts is None
    assert d.problem == "missing variable `name` in the subject part"
    assert d.error is not None and d.error.variable == "name"


def test_html_only_variable_missing_names_the_plain_variable(ses: LocalSes) -> None:
    _client(ses).send_templated_email(
        Source="hello@example.com", Destination={"ToAddresses": ["x@example.org"]},
        Template="welcome", TemplateData=json.dumps(prepare_data({"name": "Ada"})))
    [d] = ses.outbox()
    assert not d.delivered
    assert d.problem == "missing variable `url` in the html part"  # not `_html.url`


def test_every_missing_variable_is_named_as_the_mailer_names_it(ses: LocalSes) -> None:
    _client(ses).send_templated_email(
        Source="hello@example.com", Destination={"ToAddresses": ["x@example.org"]},
        Template="welcome", TemplateData=json.dumps(prepare_data({})))
    [d] = ses.outbox()
    assert not d.delivered and d.error is not None
    assert [m.variable for m in d.error.missing] == ["name", "url"]  # both, each once, as the application sends them
    assert "`name`" in (d.problem or "") and "`url`" in (d.problem or "")
    assert "_html" not in (d.problem or "") + (d.error.hint or "")
    assert "TemplateData" in (d.error.hint or "")


def test_forgetting_prepare_data_is_marked_dropped(ses: LocalSes) -> None:
    _client(ses).send_templated_email(
        Source="hello@example.com", Destination={"ToAddresses": ["x@example.org"]},
        Template="welcome", TemplateData=json.dumps(SAMPLE))
    [d] = ses.outbox()
    assert not d.delivered and d.part == "html"
    assert "prepare_data" in (d.problem or "") and "prepare_data" in (d.error.hint or "")  # type: ignore[union-attr]


def test_bulk_sends_split_per_destination(ses: LocalSes) -> None:
    resp = _client(ses).send_bulk_templated_email(
        Source="hello@example.com", Template="welcome",
        DefaultTemplateData=json.dumps(prepare_data(SAMPLE)),
        Destinations=[
            {"Destination": {"ToAddresses": ["a@example.org"]},
             "ReplacementTemplateData": json.dumps(prepare_data({"name": "Bo", "url": "https://x.org"}))},
            {"Destination": {"ToAddresses": ["b@example.org"]}},
            {"Destination": {"ToAddresses": ["c@example.org"]},
             "ReplacementTemplateData": json.dumps({"name": "Cy"})},
        ])
    deliveries = ses.outbox()
    assert [d.message.id for d in deliveries] == [s["MessageId"] for s in resp["Status"]]
    assert [d.message.to for d in deliveries] == [("a@example.org",), ("b@example.org",), ("c@example.org",)]
    assert [d.delivered for d in deliveries] == [True, True, False]
    assert "Hello Bo" in deliveries[0].parts["html"] and "Hello Ada" in deliveries[1].parts["html"]  # type: ignore[index]


def test_unverified_sender_is_refused_like_ses(ses: LocalSes) -> None:
    with pytest.raises(ClientError) as info:
        _client(ses).send_templated_email(
            Source="someone@elsewhere.org", Destination={"ToAddresses": ["x@example.org"]},
            Template="welcome", TemplateData=json.dumps(prepare_data(SAMPLE)))
    assert info.value.response["Error"]["Code"] == "MessageRejected"
    ses.verify("Someone <someone@elsewhere.org>")
    _client(ses).send_templated_email(
        Source="someone@elsewhere.org", Destination={"ToAddresses": ["x@example.org"]},
        Template="welcome", TemplateData=json.dumps(prepare_data(SAMPLE)))
    assert len(ses.sent_messages()) == 1


def test_put_template_updates_in_place(ses: LocalSes, built: Path) -> None:
    payload = SesTemplate.load(built / "welcome.json")
    changed = SesTemplate(payload.name, "New {{name}}", payload.html, payload.text)
    ses.put_template(changed)
    assert ses.template("welcome") == changed
    ses.delete_template("welcome")
    ses.delete_template("welcome")  # twice is fine (moto would crash)
    assert ses.template("welcome") is None


def test_an_application_with_plain_boto3_and_the_environment(ses: LocalSes) -> None:
    app = (
        "import boto3, json\n"
        "from letterhead.authoring.safety import prepare_data\n"
        "ses = boto3.client('ses')\n"
        "ses.send_templated_email(Source='hello@example.com', Destination={'ToAddresses': ['z@example.org']},"
        " Template='welcome', TemplateData=json.dumps(prepare_data({'name': 'Zed', 'url': 'https://x.org'})))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ses.environ())
    subprocess.run([sys.executable, "-c", app], env=env, check=True, timeout=60)
    [d] = ses.outbox()
    assert d.delivered and d.message.to == ("z@example.org",) and "Hello Zed" in d.parts["html"]  # type: ignore[index]


def test_state_starts_clean(built: Path) -> None:
    with LocalSes(senders=["example.com"]) as first:
        first.load_templates(built)
        boto3.client("ses", **_kw(first)).send_templated_email(
            Source="hello@example.com", Destination={"ToAddresses": ["x@example.org"]},
            Template="welcome", TemplateData="{}")
    with LocalSes() as second:
        assert second.sent_messages() == [] and second.template("welcome") is None


def _kw(ses: LocalSes) -> dict[str, str]:
    return {"endpoint_url": ses.endpoint_url, "region_name": ses.region,
            "aws_access_key_id": "a", "aws_secret_access_key": "b"}


# -- the parts that need no server ----------------------------------------------


def test_parse_sent_messages_reads_moto_data() -> None:
    data = {"ses": {
        "TemplateMessage": [
            {"id": "m1", "source": "a@x.org", "template": "t", "template_data": "{}",
             "destinations": {"ToAddresses": ["b@y.org"], "CcAddresses": ["c@y.org"]}},
            {"id": "bulk", "source": "a@x.org", "template": "t", "template_data": '{"d": 1}',
             "destinations": [{"Destination": {"ToAddresses": ["p@y.org"]}, "ReplacementTemplateData": '{"r": 1}'},
                              {"Destination": {"ToAddresses": ["q@y.org"]}}]},
        ],
        "BulkTemplateMessage": [{"ids": ["b1", "b2"]}],
        "Message": [{"id": "m2", "source": "a@x.org", "subject": "s", "body": "b",
                     "destinations": {"ToAddresses": ["z@y.org"]}}],
    }}
    msgs = parse_sent_messages(data)
    assert [(m.id, m.kind, m.template_data) for m in msgs] == [
        ("m1", "templated", "{}"), ("b1", "bulk", '{"r": 1}'), ("b2", "bulk", '{"d": 1}'), ("m2", "email", None)]
    assert msgs[0].cc == ("c@y.org",)
    assert parse_sent_messages({}) == []


def test_render_sent_edge_cases(built: Path) -> None:
    payload = SesTemplate.load(built / "welcome.json")
    msg = SentMessage(id="1", kind="templated", source="a@x.org", to=("b@y.org",), template="welcome",
                      template_data="{not json")
    assert "not valid JSON" in (render_sent(msg, payload).problem or "")
    msg = SentMessage(id="1", kind="templated", source="a@x.org", template="welcome", template_data="[1]")
    assert "JSON object" in (render_sent(msg, payload).problem or "")
    assert "does not exist" in (render_sent(msg, None).problem or "")
    typed = SentMessage(id="1", kind="templated", source="a@x.org", template="welcome",
                        template_data=json.dumps(prepare_data({"name": 5, "url": "https://x.org"})))
    d = render_sent(typed, payload, {"name": {"type": "string"}})
    assert d.delivered and d.warnings and "should be" in d.warnings[0] and "string" in d.warnings[0]
    plain = SentMessage(id="2", kind="email", source="a@x.org", subject="Hi", body="Body")
    assert render_sent(plain, None).delivered
