"""Where the load client sends a conversation when the service has several replicas: a stand-in for the load
balancer in front of the pods (docs/production.md, "The layout").

New conversations go round-robin over the replicas and stick to theirs, as behind a balancer with sticky
sessions. The chat page's WebSocket is a connection of its own, which a balancer may put on another replica:
`ws_elsewhere` of the conversations get theirs there, so what their replica stores reaches them only through
Redis. `hop_share` of the conversations do not stick at all (a balancer without stickiness, which the layout
allows): their turns alternate between the replicas, so each replica's own Rasa takes every other turn of one
conversation from the shared tracker store.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Route:
    home: int  # the replica of the conversation's first request
    ws: int  # the replica holding its WebSocket
    hops: bool  # its turns alternate between the replicas

    def replica_for(self, turn: int, replicas: int) -> int:
        """The replica that takes the conversation's `turn`-th message (0 = the first)."""
        return (self.home + turn) % replicas if self.hops else self.home


ONE_REPLICA = Route(home=0, ws=0, hops=False)


@dataclass
class Balancer:
    replicas: int
    ws_elsewhere: float = 0.0
    hop_share: float = 0.0
    seed: int = 0
    _placed: int = field(default=0, init=False)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        if self.replicas < 1 or not 0 <= self.ws_elsewhere <= 1 or not 0 <= self.hop_share <= 1:
            raise ValueError("replicas must be at least 1, ws_elsewhere and hop_share within 0..1")
        self._rng = random.Random(self.seed)

    def place(self) -> Route:
        """The route of the next new conversation."""
        home = self._placed % self.replicas
        self._placed += 1
        if self.replicas == 1:
            return ONE_REPLICA
        elsewhere = self._rng.random() < self.ws_elsewhere
        ws = (home + 1 + self._rng.randrange(self.replicas - 1)) % self.replicas if elsewhere else home
        return Route(home=home, ws=ws, hops=self._rng.random() < self.hop_share)
