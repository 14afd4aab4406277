"""The seller's dashboard (issue 16): offline API docs, today's summary, phone layout markup,
Excel exports, search, progress, errors in place, one Spanish voice."""

from __future__ import annotations

import httpx


async def test_api_docs_load_their_assets_from_the_package(client: httpx.AsyncClient) -> None:
    for path, asset in (
        ("/docs", "/app/static/apidocs/swagger-ui-bundle.js"),
        ("/redoc", "/app/static/apidocs/redoc.standalone.js"),
    ):
        page = await client.get(path)
        assert page.status_code == 200
        assert asset in page.text
        assert "cdn" not in page.text.lower()
        assert "fonts.googleapis" not in page.text
        served = await client.get(asset)
        assert served.status_code == 200
        assert len(served.content) > 100_000
    css = await client.get("/app/static/apidocs/swagger-ui.css")
    assert css.status_code == 200
