"""docs/asyncapi.yaml must not drift from the code: it parses, has AsyncAPI's required top-level keys and only
references that resolve, and the frame types it lists for each socket and direction are exactly the ones the
code sends and accepts.

The code's frame types are read from its syntax tree: every `{"type": "<constant>", ...}` the socket modules
send, and every event published to a topic a socket forwards (`conversation_topic`: both sockets;
`AGENTS_TOPIC` and `agent_topic`: the agent socket). Frames accepted are the constants the socket handlers
compare a frame's type with. Any other such dict anywhere in `handoff/` must be one of these, or one of the two
bus-internal events named below, so a new event cannot reach a socket undocumented."""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from handoff.conversations.pushes import EVENTS as PUSH_EVENTS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "asyncapi.yaml"
HANDOFF = ROOT / "handoff"
BORROWER_SOCKET = HANDOFF / "api" / "routes" / "borrower_ws.py"
AGENT_SOCKET = [HANDOFF / "api" / "routes" / "agent_ws.py", HANDOFF / "api" / "agent_watches.py",
                HANDOFF / "agents" / "queue_feed.py"]
# Handlers of client frames: the constants they compare a frame's type with are the frames accepted.
HANDLERS = {BORROWER_SOCKET: ("_authenticate", "_handle_frame", "_reader"),
            HANDOFF / "api" / "routes" / "agent_ws.py": ("_authenticate", "handle")}
# Bus events that no socket passes on: the reason each is not a frame.
INTERNAL = {
    "resync": "a subscriber missed events; the sockets re-read the stored messages by seq instead",
    "session_ended": "closes the agent's sockets (the client sees an unauthorized error and 4401)",
}
REQUIRED_TOP_LEVEL = {"asyncapi", "info", "channels", "operations", "components"}


def _doc() -> dict[str, Any]:
    loaded = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are used: {ref}"
        target: Any = doc
        for part in ref[2:].split("/"):
            assert isinstance(target, dict) and part in target, f"{ref} does not resolve"
            target = target[part]
        node = target
    return node


def _frame_type(doc: dict[str, Any], message: Any) -> str:
    payload = _resolve(doc, _resolve(doc, message)["payload"])
    for part in payload.get("allOf", [payload]):
        part = _resolve(doc, part)
        const = part.get("properties", {}).get("type", {}).get("const")
        if const:
            return str(const)
    raise AssertionError(f"a message without a constant type: {message}")


def documented(channel: str, action: str) -> set[str]:
    doc = _doc()
    found: set[str] = set()
    for operation in doc["operations"].values():
        if _resolve(doc, operation["channel"]) is doc["channels"][channel] and operation["action"] == action:
            found |= {_frame_type(doc, m) for m in operation["messages"]}
    return found


# -- the code ---------------------------------------------------------------------------------------------
@functools.cache
def _tree(path: Path) -> ast.Module:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child.parent = parent  # type: ignore[attr-defined]
    return tree


def _type_of(node: ast.AST) -> str | None:
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "type" and isinstance(value, ast.Constant):
                return str(value.value)
    if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("state_event"):
        return "state"
    return None


def _is_frame_dict(node: ast.Dict) -> bool:
    kind = _type_of(node)
    if kind is None or "." in kind:  # ASGI messages (http.response.start, websocket.close)
        return False
    parent = getattr(node, "parent", None)
    if isinstance(parent, ast.Dict):  # {"custom": {"type": ...}}: a message payload's type, not a frame
        key = parent.keys[parent.values.index(node)]
        return not (isinstance(key, ast.Constant) and key.value == "custom")
    return True


def _function_of(node: ast.AST | None) -> ast.AST | None:
    while node is not None and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        node = getattr(node, "parent", None)
    return node


def _assigned(name: str, where: ast.AST) -> ast.AST | None:
    """The value assigned to `name` in the function around `where`, or in one around that."""
    scope = _function_of(where)
    while scope is not None:
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and any(ast.unparse(t) == name for t in node.targets):
                return node.value
            if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == name and node.value is not None:
                return node.value
        scope = _function_of(getattr(scope, "parent", None))
    return None


def _topic_kind(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        value = _assigned(node.id, node)
        node = value if value is not None else node
    text = ast.unparse(node)
    for marker, kind in (("conversation_topic", "conversation"), ("AGENTS_TOPIC", "agents"), ("agent_topic", "agent")):
        if marker in text:
            return kind
    return None


def published() -> dict[str, set[str]]:
    """topic kind -> event types published to it, over the whole package."""
    found: dict[str, set[str]] = {"conversation": set(), "agents": set(), "agent": set()}
    for path in HANDOFF.rglob("*.py"):
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name.endswith("publish_after_commit") and len(node.args) == 3:
                topic, event = node.args[1], node.args[2]
            elif name.endswith("bus.publish") and len(node.args) == 2:
                topic, event = node.args
            else:
                continue
            if isinstance(event, ast.Name):
                event = _assigned(event.id, event) or event
            kind, frame = _topic_kind(topic), _type_of(event)
            assert kind is not None and frame is not None, f"{path}:{node.lineno}: cannot read what is published"
            found[kind].add(frame)
    return found


def literal_frames(paths: list[Path]) -> set[str]:
    found = set()
    for path in paths:
        found |= {t for n in ast.walk(_tree(path)) if isinstance(n, ast.Dict) and _is_frame_dict(n)
                  if (t := _type_of(n)) is not None}
    return found


def accepted(path: Path, functions: tuple[str, ...]) -> set[str]:
    found = set()
    for node in ast.walk(_tree(path)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name not in functions:
            continue
        for compare in (n for n in ast.walk(node) if isinstance(n, ast.Compare)):
            left = ast.unparse(compare.left)
            if left in ("kind", 'frame.get("type")', "frame.get('type')"):
                found |= {c.value for c in compare.comparators if isinstance(c, ast.Constant)}
    return found


def code_sends() -> dict[str, set[str]]:
    topics = published()
    internal = set(INTERNAL)
    return {
        "borrowerConversation": (literal_frames([BORROWER_SOCKET]) | topics["conversation"]) - internal,
        "agent": (literal_frames(AGENT_SOCKET) | topics["conversation"] | topics["agents"] | topics["agent"])
        - internal,
    }


# -- the tests ---------------------------------------------------------------------------------------------
def test_the_file_is_asyncapi_with_its_required_keys_and_references_that_resolve() -> None:
    doc = _doc()
    assert REQUIRED_TOP_LEVEL <= set(doc), REQUIRED_TOP_LEVEL - set(doc)
    assert str(doc["asyncapi"]).startswith("3.0"), "operations/channels are written in AsyncAPI 3.0's shape"
    assert doc["info"]["title"] and doc["info"]["version"]
    for channel in doc["channels"].values():
        assert channel["address"] and channel["messages"]
        for message in channel["messages"].values():
            assert "payload" in _resolve(doc, message)
    for name, operation in doc["operations"].items():
        assert operation["action"] in ("send", "receive"), name
        channel = _resolve(doc, operation["channel"])
        for message in operation["messages"]:
            # An operation's messages must be its channel's (AsyncAPI 3.0).
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/"), (name, message)
            assert _resolve(doc, message) in [_resolve(doc, m) for m in channel["messages"].values()]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                _resolve(doc, node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)


@pytest.mark.parametrize("channel", ["borrowerConversation", "agent"])
def test_every_frame_the_code_sends_is_documented_and_nothing_else(channel: str) -> None:
    sent = code_sends()[channel]
    assert sent == documented(channel, "send"), {
        "sent but not documented": sorted(sent - documented(channel, "send")),
        "documented but never sent": sorted(documented(channel, "send") - sent),
    }


def test_every_frame_the_code_accepts_is_documented_and_nothing_else() -> None:
    borrower = accepted(BORROWER_SOCKET, HANDLERS[BORROWER_SOCKET])
    agent_ws = HANDOFF / "api" / "routes" / "agent_ws.py"
    agent = accepted(agent_ws, HANDLERS[agent_ws])
    assert borrower == documented("borrowerConversation", "receive") == {"auth", "message", "typing", "ping"}
    assert agent == documented("agent", "receive")


def test_no_event_reaches_a_socket_unaccounted_for() -> None:
    everywhere = literal_frames(list(HANDOFF.rglob("*.py")))
    sends = code_sends()
    assert set(INTERNAL) <= everywhere, "an internal event named here no longer exists; drop it"
    assert everywhere <= sends["borrowerConversation"] | sends["agent"] | set(INTERNAL), (
        everywhere - sends["borrowerConversation"] - sends["agent"] - set(INTERNAL)
    )


def test_the_push_channel_lists_exactly_the_live_chat_push_events() -> None:
    doc = _doc()
    messages = [_resolve(doc, m) for m in doc["channels"]["livePush"]["messages"].values()]
    assert {m["name"] for m in messages} == set(PUSH_EVENTS)
    for message in messages:  # the event travels in a header: pushes have no `type` field
        assert message["headers"]["properties"]["X-Handoff-Event"]["const"] == message["name"]
