"""Request and response shapes of push-device registration (handoff/api/routes/borrower_devices.py); the
push token's rules per platform are `handoff.conversations.devices.check_token`'s."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from handoff.conversations.devices import check_token

APP_VERSION = r"^[0-9A-Za-z][0-9A-Za-z.+_\-]{0,31}$"
Platform = Literal["ios", "android", "web"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceIn(Strict):
    platform: Platform = Field(description="ios (APNs), android (FCM) or web")
    push_token: str = Field(min_length=1, max_length=4096, description="the push provider's token for this install")
    app_version: str = Field(pattern=APP_VERSION, description="the app's version, e.g. 3.12.0 or 3.12.0+build.7")
    lang: Literal["en", "zh"] | None = Field(
        None, description="language of this device's pushes; omit it to follow the conversation's language"
    )

    @model_validator(mode="after")
    def _token_fits_platform(self) -> Self:
        check_token(self.platform, self.push_token)
        return self


class DeviceUpdate(Strict):
    platform: Platform | None = None
    push_token: str | None = Field(None, min_length=1, max_length=4096, description="a refreshed token")
    app_version: str | None = Field(None, pattern=APP_VERSION)
    lang: Literal["en", "zh", "auto"] | None = Field(None, description="auto: follow the conversation's language")


class DeviceOut(BaseModel):
    id: str = Field(description="the device id for PATCH and DELETE")
    platform: str
    token_hint: str = Field(description="the last 4 characters of the push token; the token is never shown")
    app_version: str
    lang: str | None = Field(description="null: pushes follow the conversation's language")
    borrower_wide: bool = Field(description="the conversation is signed in: this device takes the borrower's "
                                "pushes from their other conversations too")
    created_at: str
    updated_at: str


class DeviceList(BaseModel):
    devices: list[DeviceOut]
