"""Shared fixtures: committed mini-projects copied to a temp folder, a CLI
runner, and the stand-ins for AWS (helpers live in tests/helpers.py).

moto, one way each: ``moto`` is moto in-process (``mock_aws``) for one test;
``moto_server`` is moto's HTTP server, one per session; ``moto_url`` is its
address with the state reset for the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from .helpers import MotoServer, make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def moto() -> Iterator[None]:
    """moto in-process: every boto3 client made inside the test talks to it."""
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's HTTP server on loopback, shared by the session: reset it (or use
    ``moto_url``) before relying on its state."""
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def moto_url(moto_server: MotoServer) -> str:
    """The address of moto's HTTP server, its state reset for this test."""
    moto_server.reset()
    return moto_server.url


@pytest.fixture
def moto_ses(moto: None) -> Iterator[tuple[Any, Any]]:
    """moto in-process loaded with the committed ses_templates/: (client, the SES backend)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from .send_support import REGION, client, load_templates

    c = client()
    load_templates(c)
    yield c, ses_backends[DEFAULT_ACCOUNT_ID][REGION]


@pytest.fixture
def server_ses(moto_server: MotoServer) -> Iterator[tuple[MotoServer, Any]]:
    """moto's server, reset and loaded with the committed ses_templates/: (the server, a client)."""
    from .send_support import client, load_templates

    moto_server.reset()
    c = client(moto_server.url)
    load_templates(c)
    yield moto_server, c
