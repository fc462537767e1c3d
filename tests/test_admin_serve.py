"""The admin API on `hub serve` over loopback: a version activated over HTTP is used by the
running worker for the next file (no restart), and an exception is worked to a booked order."""

from __future__ import annotations

import httpx

from tests.conftest import DOCUMENTS, token_for
from tests.live import running


def test_a_running_hub_takes_a_new_mapping_and_works_an_exception(hub, settings):
    integration, operations = token_for(settings, "integration"), token_for(settings, "operations")
    summit = token_for(settings, "partner", partner="P-SUMMIT")
    with running(settings) as service:
        base = f"http://127.0.0.1:{service.http_port}"
        canadian = "extends: _base/x12-850.yaml\nfields:\n  currency: {value: CAD}\n"
        created = httpx.post(f"{base}/v1/mappings/P-SUMMIT/850/versions", content=canadian,
                             headers={**integration, "Content-Type": "application/yaml"})
        assert created.status_code == 201, created.text
        assert httpx.post(f"{base}/v1/mappings/P-SUMMIT/850/versions/2/activate", headers=integration).status_code == 200

        body = (DOCUMENTS / "summit-850-price-mismatch.edi").read_bytes()
        answer = httpx.post(f"{base}/v1/inbound/P-SUMMIT", content=body, params={"wait": 20}, headers=summit, timeout=60)
        assert answer.status_code == 202, answer.text
        [document] = answer.json()["documents"]
        assert document["state"] == "held"
        mapped = httpx.get(f"{base}/v1/documents/{document['id']}", headers=operations).json()
        assert mapped["canonical"]["currency"] == "CAD"  # the worker started before the activation, and used it

        [held] = httpx.get(f"{base}/v1/exceptions", headers=operations).json()
        done = httpx.post(f"{base}/v1/exceptions/{held['id']}/resolve", json={"action": "override_price"}, headers=operations, timeout=60)
        assert done.status_code == 200, done.text
        assert done.json()["document"]["state"] == "answered"
        refused = httpx.post(f"{base}/v1/exceptions/{held['id']}/resolve", json={"action": "release"}, headers=summit)
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
