"""Generated requests from the OpenAPI document, for each role's token: never a 5xx.

A bounded run (a fixed number of examples per operation, derandomised so it is the same run
every time) against a real server on a database holding the demo layout and one member. Each
5xx found is listed with the request that caused it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from server.settings import Settings
from server.threaded import serve_in_thread
from tests.fix_db import make_token
from tests.helpers.ingest import LAYOUT

EXAMPLES = 20  # per operation and role (6 roles: about 2.5 min of `make test`)

# a stream that stays open, and revoking the tokens the run itself uses
EXCLUDED_PATHS = ("/api/v1/registers/{register_id}/scans",)
SCOPES: dict[str, dict[str, str]] = {
    "admin": {},
    "planner": {"store_id": "demo"},
    "cashier": {"store_id": "demo", "register_id": "T1"},
    "edge": {"store_id": "demo"},
    "register": {"store_id": "demo", "register_id": "T1"},
    "crm": {},
}


@pytest.fixture(scope="module")
def served(module_db_url: str) -> Iterator[str]:
    admin = {"Authorization": f"Bearer {make_token(module_db_url, 'admin')}"}
    # generous limits: the run is about what the handlers do, not about being slowed down
    lax = Settings(STOREFLOW_LOOKUP_BURST=100_000, STOREFLOW_AUTH_FAIL_BURST=100_000)  # type: ignore[call-arg]
    with serve_in_thread(module_db_url, settings=lax) as base:
        r = httpx.put(
            f"{base}/api/v1/stores/demo/layout",
            content=LAYOUT.read_bytes(),
            headers={**admin, "Content-Type": "application/yaml"},
        )
        assert r.status_code == 200, r.text
        r = httpx.post(
            f"{base}/api/v1/members", json={"name": "Li Wei", "phone": "1390000"}, headers=admin
        )
        assert r.status_code == 201, r.text
        yield base


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("role", list(SCOPES))
def test_no_generated_request_gets_a_server_error(
    served: str, module_db_url: str, role: str
) -> None:
    token = make_token(module_db_url, role, **SCOPES[role])
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{served}/openapi.json").exclude(
        path=list(EXCLUDED_PATHS)
    )
    schema = schema.exclude(path="/api/v1/credentials/{credential_id}", method="DELETE")
    errors: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=served, headers=headers, timeout=60)
            if response.status_code >= 500:
                errors.append(
                    f"{response.status_code} {case.as_curl_command(headers=headers)}"
                    f" -> {response.text[:200]}"
                )

        run()
    assert not errors, "\n".join(sorted(set(errors))[:30])
