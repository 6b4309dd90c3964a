"""Conversation id -> stored token hash, kept by each replica (bounded; least recently used goes first).

A token hash is written once, when its conversation is created, so a remembered hash never goes stale.
"""

from __future__ import annotations

from collections import OrderedDict


class TokenHashes:
    """conversation id -> stored token hash, at most `capacity` of them."""

    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._hashes: OrderedDict[str, str] = OrderedDict()

    def get(self, conversation_id: str) -> str | None:
        found = self._hashes.get(conversation_id)
        if found is not None:
            self._hashes.move_to_end(conversation_id)
        return found

    def put(self, conversation_id: str, token_hash: str) -> None:
        self._hashes[conversation_id] = token_hash
        self._hashes.move_to_end(conversation_id)
        while len(self._hashes) > self._capacity:
            self._hashes.popitem(last=False)

    def __len__(self) -> int:
        return len(self._hashes)
