"""docs/loan-system-api.yaml must not drift from the code: the same operations as the reference lender
API, and every schema's fields exactly those the adapter's types write and read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from handoff.loans.lender_api import create_lender_api
from handoff.loans.types import (
    BorrowerProfile,
    LetterRequest,
    Loan,
    Payment,
    PayoffQuote,
    PostedPayment,
    ReminderAccount,
)

DOC = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "loan-system-api.yaml").read_text("utf-8"))


class _Nothing:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError("the routes are only listed, never called")


def test_the_documented_operations_are_the_served_ones() -> None:
    served = {
        (method, path)
        for path, item in create_lender_api(_Nothing(), api_key="k").openapi()["paths"].items()  # type: ignore[arg-type]
        for method in item
    }
    documented = {(method, path) for path, item in DOC["paths"].items() for method in item}
    assert served == documented


def test_every_schema_lists_exactly_the_fields_of_its_type() -> None:
    samples = {
        "BorrowerProfile": BorrowerProfile("b", "n", "en", None, None, "standard", None, "UTC"),
        "Payment": Payment(date(2026, 1, 1), Decimal("1.00")),
        "Loan": Loan("l", "****1234", "USD", Decimal(1), Decimal(1), None, None, 0, Decimal(0), False, "active"),
        "PayoffQuote": PayoffQuote("l", "****1234", "USD", date(2026, 1, 1), Decimal(1), Decimal(0)),
        "LetterRequest": LetterRequest("r", "l", "payoff", "requested", datetime(2026, 1, 1, tzinfo=UTC)),
        "ReminderAccount": ReminderAccount("l", "b", "****1234", "USD", "zh", "Asia/Shanghai", date(2026, 1, 5),
                                           Decimal("1.00"), False, date(2025, 12, 5), Decimal("2.00"),
                                           date(2026, 1, 2), None),
        "PostedPayment": PostedPayment("l", "b", date(2026, 1, 1), Decimal("1.00")),
    }
    for name, sample in samples.items():
        schema = DOC["components"]["schemas"][name]
        assert set(schema["properties"]) == set(sample.to_json()) == set(schema["required"]), name
        assert type(sample).from_json(sample.to_json()) == sample, name
