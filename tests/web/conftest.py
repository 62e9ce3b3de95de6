from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kidshield.dns.service import DnsService
from kidshield.web.server import create_app
from tests.web.helpers import offline_service, set_up_parent


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DnsService]:
    svc = offline_service(tmp_path)
    yield svc
    assert svc.db is not None
    svc.db.close()


@pytest.fixture
def client(service: DnsService) -> Iterator[TestClient]:
    with TestClient(create_app(service)) as c:
        yield c


@pytest.fixture
def parent(client: TestClient) -> tuple[TestClient, dict[str, str]]:
    return client, set_up_parent(client)
