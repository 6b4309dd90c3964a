"""Entry point: ``python -m actions --host 127.0.0.1 --port 5055``.

Reads ActionServerSettings and KBSettings from the environment once, then serves with uvicorn.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from actions.settings import ActionServerSettings, SettingsError
from contract.settings import UnknownSettingError
from telemetry import configure_logging


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m actions", description="Rasa action server")
    parser.add_argument("--host", help="bind address (default ACTION_SERVER_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default ACTION_SERVER_PORT or 5055)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = ActionServerSettings()
    except ValidationError as exc:
        # Only the messages: the input values may hold the secret.
        for error in exc.errors(include_input=False):
            print(f"action server: {'.'.join(map(str, error['loc'])) or 'settings'}: {error['msg']}", file=sys.stderr)
        return 2
    except (SettingsError, UnknownSettingError) as exc:
        print(f"action server: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT)

    import uvicorn

    from actions.account_client import AccountClient
    from actions.kb import KnowledgeBaseProvider
    from actions.metrics import ActionMetrics
    from actions.registry import build_actions
    from actions.server import create_app
    from knowledge_base import KBSettings, KnowledgeBase

    # Queries are embedded with ONNX Runtime alone (KB_QUERY_RUNTIME=onnx): PyTorch is never imported here
    # (tests/integration/test_action_server_memory.py); `python -m knowledge_base build` made the export.
    kb_settings = KBSettings()
    metrics = ActionMetrics()
    kb = KnowledgeBaseProvider(
        lambda: KnowledgeBase(settings=kb_settings), search_timeout_s=settings.ACTION_KB_TIMEOUT_S, metrics=metrics
    )
    accounts = (
        AccountClient(
            base_url=settings.SERVICE_URL, token=settings.INTERNAL_API_TOKEN, timeout_s=settings.account_timeout_s,
            metrics=metrics,
        )
        if settings.SERVICE_URL
        else None
    )
    app = create_app(settings, build_actions(kb, accounts), kb, metrics)
    host = args.host or settings.ACTION_SERVER_HOST
    port = args.port or settings.ACTION_SERVER_PORT
    log_config = None if settings.LOG_FORMAT == "json" else uvicorn.config.LOGGING_CONFIG
    uvicorn.run(app, host=host, port=port, log_level=settings.LOG_LEVEL.lower(), access_log=False,
                log_config=log_config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
