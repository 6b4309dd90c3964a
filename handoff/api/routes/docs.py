"""`/docs`: the OpenAPI documentation, with Swagger UI served from an installed package.

FastAPI's own /docs (and /redoc) load their scripts from a CDN, without a pinned version or SRI, and
show a blank page offline. Here the two Swagger UI assets come from the `swagger-ui-py` package
(pinned in pyproject.toml, so a version change is a reviewed change), the page starts Swagger UI
from a same-origin module, and its CSP allows nothing from elsewhere. Swagger UI sets inline styles,
so this page alone allows `style-src 'unsafe-inline'` (styles cannot run code).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from handoff.api.headers import PAGE_HEADERS
from handoff.errors import NotFoundError


def _swagger_ui_dir() -> Path:
    spec = importlib.util.find_spec("swagger_ui")  # located, not imported: it would load its framework glue
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing; install the project's dependencies")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript"}
DOCS_CSP = PAGE_HEADERS["Content-Security-Policy"].replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conversation service API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script type="module" src="/static/docs/docs.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={**PAGE_HEADERS, "Content-Security-Policy": DOCS_CSP})


@router.get("/docs/{asset}")
async def docs_asset(asset: str) -> FileResponse:
    if asset not in ASSETS:
        raise NotFoundError(f"no such documentation asset; there are {', '.join(ASSETS)}", target_id=asset)
    return FileResponse(
        _swagger_ui_dir() / asset, media_type=ASSETS[asset], headers={"Cache-Control": "public, max-age=86400"}
    )
