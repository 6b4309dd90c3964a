"""The agent API (JSON, under /api/agent) and the console page (/console).

Every route needs a logged-in agent; supervisor and admin routes are in `agent_supervisor`. The data
work lives in `handoff.agents.operations` / `handoff.agents.chat` / `handoff.agents.accounts`; routes only call it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from handoff.agents import accounts, borrower, chat, operations
from handoff.api.deps import ServicesDep, client_address
from handoff.api.deps_agent import SESSION_COOKIE, AccountDep, AgentDep, console_kb, request_token
from handoff.api.headers import PAGE_HEADERS
from handoff.api.ids import AfterSeq, BodyId, PathId
from handoff.api.routes import callbacks, canned, supervisor
from handoff.api.schemas.messages import AgentMessageIn
from handoff.conversations.pushes import PushContext
from handoff.conversations.records import messages_after
from handoff.errors import UnauthorizedError
from handoff.masking import mask
from handoff.queue import claims, unread

api = APIRouter(prefix="/api/agent", tags=["agent"])
console_router = APIRouter(include_in_schema=False)
CONSOLE = Path(__file__).resolve().parents[2] / "static" / "console" / "index.html"
ConversationId = Annotated[str, Field(min_length=1, max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class StatusIn(Strict):
    status: Literal["online", "away"] = Field(description="offline is what logging out (or vanishing) does")


class KbSearchIn(Strict):
    q: str = Field(min_length=1, max_length=500, description="what to look for, in the agent's words")
    lang: Literal["en", "zh"] | None = None


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=chat.MAX_TEXT_CHARS)


class TransferIn(Strict):
    agent_id: BodyId


class HandBackIn(Strict):
    note: str = Field("", max_length=1000, description="what the agent did; the bot's tracker receives it")


class ReadIn(Strict):
    seq: int = Field(ge=0, le=2**31 - 1)


class CloseIn(Strict):
    resolution_code: Literal[claims.RESOLUTION_CODES]  # type: ignore[valid-type]


@console_router.get("/console")
async def console_page() -> FileResponse:
    return FileResponse(CONSOLE, headers=PAGE_HEADERS)


@api.post("/login")
async def login(body: LoginIn, request: Request, response: Response, svc: ServicesDep) -> dict[str, Any]:
    # Per username and per address: wrong guesses at one name (or from one address) do not lock out an
    # agent who logs in correctly under another name from behind the same proxy.
    await svc.limiter.hit(f"login-user:{body.username.casefold()}",
                          limit=svc.settings.LOGIN_ATTEMPTS_PER_USERNAME_PER_MIN, what="username")
    await svc.limiter.hit(f"login:{client_address(request)}",
                          limit=svc.settings.LOGIN_ATTEMPTS_PER_ADDRESS_PER_MIN, what="client address")

    def work(session: Any) -> dict[str, Any]:
        agent = accounts.authenticate(session, username=body.username, password=body.password)
        if agent is None:
            raise UnauthorizedError("wrong username or password")
        token, expires_at = accounts.start_session(
            session, agent=agent, clock=svc.clock, ttl_s=svc.settings.AGENT_SESSION_TTL_S
        )
        return {"token": token, "expires_at": expires_at.isoformat(), "agent": chat.agent_dict(agent)}

    result = await svc.db(work, offload=True)  # argon2 takes tens of ms: not on the event loop
    response.set_cookie(
        SESSION_COOKIE, result["token"], max_age=svc.settings.AGENT_SESSION_TTL_S, httponly=True,
        samesite="strict", secure=svc.settings.APP_ENV == "production", path="/",
    )
    return result


@api.post("/logout")
async def logout(request: Request, response: Response, svc: ServicesDep, agent: AccountDep) -> dict[str, Any]:
    token = request_token(request) or ""
    await svc.db(lambda s: accounts.end_session(s, token=token, agent=operations.me(s, agent)))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"ok": True}


@api.get("/me")
async def whoami(svc: ServicesDep, agent: AccountDep) -> dict[str, Any]:
    me = await svc.db(lambda s: chat.agent_dict(agent, load=claims.load_count(s, agent_id=agent.id)), write=False)
    # The console warns the holder of a chat before the idle requeue takes it away.
    return {**me, "agent_response_target_s": svc.settings.AGENT_RESPONSE_TARGET_S}


@api.post("/me/status")
async def set_status(body: StatusIn, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        me = operations.me(session, agent)
        accounts.set_status(session, agent=me, status=body.status, clock=svc.clock)
        operations.announce(session, clock=svc.clock)
        return chat.agent_dict(me)

    return await svc.db(work)


@api.get("/colleagues")
async def colleagues(svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    """Agents who are online to take a transfer (name, languages, load)."""
    everyone = await svc.db(chat.agents_view, write=False)
    keep = ("id", "display_name", "role", "languages", "status", "load", "max_concurrent")
    return {"agents": [{k: a[k] for k in keep} for a in everyone
                       if a["status"] == "online" and a["role"] != "admin" and a["id"] != agent.id]}


@api.get("/queue")
async def queue_view(svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    entries = await svc.db(lambda s: chat.queue_view(s, agent=agent, clock=svc.clock), write=False)
    return {"entries": entries}


@api.post("/queue/next")
async def take_next(svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    """Claim the first waiting chat in your languages; `entry` is null when none waits."""
    entry = await svc.db(lambda s: operations.take_next_chat(s, agent=agent, clock=svc.clock, push=PushContext.of(svc)))
    return {"entry": entry}


@api.post("/queue/{entry_id}/claim")
async def claim(entry_id: PathId, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    """Exactly one of several agents claiming the same chat wins; the others get 409 already_claimed."""
    return await svc.db(lambda s: operations.claim_chat(s, entry_id=entry_id, agent=agent, clock=svc.clock,
                                                        push=PushContext.of(svc)))


@api.post("/queue/{entry_id}/callback-done")
async def callback_done(entry_id: PathId, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    return await svc.db(
        lambda s: operations.complete_callback(s, entry_id=entry_id, agent=agent, clock=svc.clock)
    )


@api.get("/chats")
async def my_chats(svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    """The chats you hold, each with `unread` (borrower messages after your read mark) and `last_message`."""
    def work(session: Any) -> dict[str, Any]:
        entries = chat.queue_view(session, agent=agent, clock=svc.clock)
        held = [e for e in entries if e["assigned_agent"] and e["assigned_agent"]["id"] == agent.id]
        return {"entries": unread.held_summary(session, entries=held)}

    return await svc.db(work, write=False)


@api.post("/conversations/{conversation_id}/read")
async def mark_read(conversation_id: str, body: ReadIn, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    """You have read the chat up to `seq` (its unread count drops accordingly)."""
    return await svc.db(
        lambda s: unread.mark_read(s, conversation_id=conversation_id, agent=operations.me(s, agent), seq=body.seq)
    )


@api.get("/conversations/{conversation_id}/borrower")
async def chat_borrower(conversation_id: str, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    """The signed-in borrower of this chat: profile, loans (masked), past conversations."""
    return await borrower.borrower_view(svc, conversation_id=conversation_id, agent=agent)


@api.get("/conversations/{conversation_id}")
async def chat_detail(conversation_id: str, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    return await svc.db(
        lambda s: chat.chat_detail(s, conversation_id=conversation_id, agent=agent, clock=svc.clock),
        write=False,
    )


@api.get("/conversations/{conversation_id}/messages")
async def chat_messages(
    conversation_id: str, svc: ServicesDep, agent: AgentDep, after: AfterSeq = 0
) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        chat.can_view(session, conversation_id=conversation_id, agent=agent)
        return {"messages": messages_after(session, conversation_id=conversation_id, after=after)}

    return await svc.db(work, write=False)


@api.post("/conversations/{conversation_id}/messages")
async def send_message(conversation_id: str, body: AgentMessageIn, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        message = chat.reply(
            session, conversation_id=conversation_id, agent=operations.me(session, agent), text=body.text,
            clock=svc.clock, client_message_id=body.client_message_id, mask_policy=svc.mask_policy,
            push=PushContext.of(svc),
        )
        return {"message": messages_after(session, conversation_id=conversation_id, after=message.seq - 1, limit=1)[0]}

    return await svc.db(work)


@api.post("/conversations/{conversation_id}/notes", status_code=201)
async def add_note(conversation_id: str, body: NoteIn, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        note = chat.add_note(session, conversation_id=conversation_id, agent=agent, text=body.text,
                                   clock=svc.clock)
        return {"id": note.id, "text": note.text, "agent": agent.display_name}

    return await svc.db(work)


@api.post("/conversations/{conversation_id}/release")
async def release(conversation_id: str, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    return await svc.db(
        lambda s: operations.release_chat(s, conversation_id=conversation_id, agent=agent, clock=svc.clock)
    )


@api.post("/conversations/{conversation_id}/transfer")
async def transfer(conversation_id: str, body: TransferIn, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        entry_id = operations.held_entry_id(session, conversation_id=conversation_id, agent=agent)
        return operations.assign_chat(
            session, entry_id=entry_id, to_agent_id=body.agent_id, actor=agent, clock=svc.clock,
            push=PushContext.of(svc),
        )

    return await svc.db(work)


@api.post("/conversations/{conversation_id}/hand-back")
async def hand_back(conversation_id: str, body: HandBackIn, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    """Write the note into the bot's tracker first (503 and nothing changes if Rasa is down), then
    route the conversation to the bot again. Holds the turn lock so no borrower turn interleaves."""
    note = mask(body.note).text
    async with svc.locks.hold(conversation_id):
        await svc.db(lambda s: operations.held_entry_id(s, conversation_id=conversation_id, agent=agent),
                     write=False)
        await svc.rasa.hand_back(conversation_id, note)
        return await svc.db(
            lambda s: operations.hand_back_chat(
                s, conversation_id=conversation_id, agent=agent, note=note, clock=svc.clock
            )
        )


@api.post("/conversations/{conversation_id}/close")
async def close(conversation_id: str, body: CloseIn, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    return await svc.db(
        lambda s: operations.close_chat(
            s, conversation_id=conversation_id, agent=agent, resolution_code=body.resolution_code, clock=svc.clock
        )
    )


@api.post("/kb/search")
async def kb_search(body: KbSearchIn, request: Request, agent: AgentDep) -> dict[str, Any]:
    """A POST, so the query (often the borrower's words) stays out of URLs and access logs."""
    kb = console_kb(request)
    return await anyio.to_thread.run_sync(lambda: kb.search(body.q, lang=body.lang))


@api.get("/kb/faq/{lang}/{faq_id}")
async def kb_faq_source(lang: str, faq_id: str, request: Request, agent: AgentDep) -> dict[str, str]:
    kb = console_kb(request)
    return await anyio.to_thread.run_sync(lambda: kb.source_text(lang=lang, faq_id=faq_id))


api.include_router(supervisor.router)
api.include_router(callbacks.router)
api.include_router(canned.router)
router = APIRouter()  # what `create_app` includes
router.include_router(api)
router.include_router(console_router)
