"""How every process reads its settings: one typed class, and no environment variable that looks like one of
its settings but names none of them (a typo in `SLA_FIRST_REPLY_S` must stop start-up, not pass silently).

Each class names its variable families (`ENV_FAMILIES`, prefixes such as ``"SLA_"``) and the variables of
those families that another process reads (`ENV_READ_ELSEWHERE`): `make run` hands one environment to all
three processes.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource


class UnknownSettingError(ValueError):
    """An environment variable of a settings family that names no setting (usually a typo)."""


class _RejectUnknownEnv(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        cls = self.settings_cls
        prefix = str(cls.model_config.get("env_prefix") or "")
        known = {f"{prefix}{name}".upper() for name in cls.model_fields}
        families: tuple[str, ...] = getattr(cls, "ENV_FAMILIES", ())
        elsewhere: frozenset[str] = getattr(cls, "ENV_READ_ELSEWHERE", frozenset())
        unknown = sorted(
            key for key in os.environ
            if key.upper().startswith(families) and key.upper() not in known and key.upper() not in elsewhere
        )
        if unknown:
            raise UnknownSettingError(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return {}


class StrictSettings(BaseSettings):
    """A settings class whose families of environment variables hold no unknown names."""

    ENV_FAMILIES: ClassVar[tuple[str, ...]] = ()
    ENV_READ_ELSEWHERE: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _RejectUnknownEnv(settings_cls), env_settings)
