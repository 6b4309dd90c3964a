"""docs/borrower-api.md must not drift from the code: every borrower route and setting it names exists."""

from __future__ import annotations

import re
from pathlib import Path

from handoff.app import create_app
from handoff.config import Settings
from handoff.reminder_settings import NotifierSettings, ReminderSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "borrower-api.md"


def test_every_borrower_route_is_documented_and_every_documented_route_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    app = create_app(Settings(DATABASE_URL="sqlite:///:memory:"))
    served = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/api/conversations")
        for method in item
    }
    documented = {
        (m, p.replace("{id}", "{conversation_id}"))
        for m, p in re.findall(r"^\| (GET|POST|PATCH|PUT|DELETE) \| `([^`?]+)", text, re.MULTILINE)
    }
    assert served == documented
    assert "/ws/conversations/{id}" in text


def test_settings_named_in_the_doc_exist_and_all_settings_are_described() -> None:
    text = DOC.read_text(encoding="utf-8")
    known = {*Settings.model_fields, *NotifierSettings.model_fields, *ReminderSettings.model_fields}
    for name in re.findall(r"`([A-Z][A-Z_]+)`", text):
        assert name in known, name
    for cls in (Settings, NotifierSettings, ReminderSettings):
        for name, field in cls.model_fields.items():
            assert field.description, f"{cls.__name__}.{name} has no description"
