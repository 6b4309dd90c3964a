"""`python -m handoff serve` starts the conversation service (settings from the environment);
`python -m handoff create-agent ...` creates an agent account (see `handoff.agents`)."""

from __future__ import annotations

import argparse
import gc
import logging
import sys

from pydantic import ValidationError

from handoff.config import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            print(f"configuration error: {name}: {err['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handoff serve", description="start the conversation service"
    )
    parser.add_argument("--host", help="override HOST")
    parser.add_argument("--port", type=int, help="override PORT")
    args = parser.parse_args(argv)
    settings = _settings()
    logging.basicConfig(level=settings.LOG_LEVEL, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    host = args.host or settings.HOST
    port = args.port or settings.PORT

    import uvicorn

    from handoff.app import create_app

    app = create_app(settings)
    # Everything imported and built so far lives as long as the process: moved out of the collector's
    # way, a full collection under load walks only what requests create. Measured under the load
    # benchmark: a full collection stopped the event loop for about 60 ms before, about 23 ms with this.
    gc.collect()
    gc.freeze()
    shown = "localhost" if host in ("0.0.0.0", "127.0.0.1") else host
    print(f"conversation service: http://{shown}:{port}/  (health: /healthz, API docs: /docs)", flush=True)
    # No per-message deflate on WebSockets: chat frames are a few hundred bytes, where compressing
    # saves little and costs CPU on both ends for every message (benchmarks/results/load.md).
    uvicorn.run(app, host=host, port=port, log_level=settings.LOG_LEVEL.lower(), proxy_headers=False,
                ws_per_message_deflate=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m handoff {serve,create-agent} [options]")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        return serve(rest)
    if command == "create-agent":
        from handoff import agents

        return agents.create_agent_cli(rest, _settings())
    print(f"unknown command {command!r}; expected serve or create-agent", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
