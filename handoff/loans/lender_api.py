"""A lender REST API that implements docs/loan-system-api.yaml over any `LoanSystem`.

It is the "other side" of `HttpLoanSystem`: the contract tests run the HTTP adapter against this app
served by a real uvicorn on a free port, and `python -m handoff lender-api` serves the reference loan
system through it for trying the HTTP adapter by hand.
"""

from __future__ import annotations

import hmac
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from handoff.loans.system import LoanSystem, LoanSystemError

STATUS_OF = {"borrower_not_found": 404, "loan_not_found": 404, "invalid_request": 422,
             "loan_system_unavailable": 503}


class LetterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["payoff", "paid_in_full"]


def create_lender_api(system: LoanSystem, *, api_key: str) -> FastAPI:
    app = FastAPI(title="Lender loan-system API (reference)", version="1")

    def check_key(authorization: Annotated[str | None, Header()] = None) -> None:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), api_key.encode()):
            raise LoanSystemError("missing or wrong API key")

    @app.exception_handler(LoanSystemError)
    async def _error(_request: Request, exc: LoanSystemError) -> JSONResponse:
        status = STATUS_OF.get(exc.code, 401 if type(exc) is LoanSystemError else 500)
        code = exc.code if type(exc) is not LoanSystemError else "unauthorized"
        return JSONResponse({"error": {"code": code, "message": exc.message}}, status_code=status)

    auth = [Depends(check_key)]

    @app.get("/borrowers/{borrower_id}", dependencies=auth)
    def profile(borrower_id: str) -> dict[str, Any]:
        return system.profile(borrower_id).to_json()

    @app.get("/borrowers/{borrower_id}/loans", dependencies=auth)
    def loans(borrower_id: str) -> dict[str, Any]:
        return {"loans": [loan.to_json() for loan in system.loans(borrower_id)]}

    @app.get("/borrowers/{borrower_id}/loans/{loan_id}/payoff", dependencies=auth)
    def payoff(borrower_id: str, loan_id: str, on: date | None = None) -> dict[str, Any]:
        return system.payoff_quote(borrower_id, loan_id, on=on).to_json()

    @app.post("/borrowers/{borrower_id}/loans/{loan_id}/letters", status_code=201, dependencies=auth)
    def letter(
        borrower_id: str, loan_id: str, body: LetterIn,
        idempotency_key: Annotated[str, Header(min_length=8, max_length=128)],
    ) -> dict[str, Any]:
        return system.request_letter(
            borrower_id, loan_id, kind=body.kind, idempotency_key=idempotency_key
        ).to_json()

    @app.get("/reminder-accounts", dependencies=auth)
    def reminder_accounts(
        after: str | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 500
    ) -> dict[str, Any]:
        found = system.reminder_accounts(after=after, limit=limit)
        return {"accounts": [account.to_json() for account in found]}

    @app.get("/payments", dependencies=auth)
    def payments(
        start: Annotated[date, Query(alias="from")], end: Annotated[date, Query(alias="to")],
        limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    ) -> dict[str, Any]:
        return {"payments": [p.to_json() for p in system.payments_between(start=start, end=end, limit=limit)]}

    return app
