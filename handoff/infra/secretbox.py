"""Encryption at rest for the few values that must be readable again (a callback's phone number or e-mail).

`cryptography`'s MultiFernet: the first key of CONTACT_KEYS encrypts, every key decrypts, so a key is
rotated by putting a new one first, running `python -m handoff rotate-contact-keys` (re-encrypts every
stored value with it) and then dropping the old one (README, "Callback contacts").
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBoxError(ValueError):
    """A stored value cannot be decrypted with any configured key, or a key is malformed."""


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretBoxError("no encryption key configured (CONTACT_KEYS)")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise SecretBoxError(
                "CONTACT_KEYS: each key must be 32 url-safe base64-encoded bytes; make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
            ) from exc

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretBoxError("stored value cannot be decrypted with any key in CONTACT_KEYS") from None

    def rotate(self, token: str) -> str:
        """The same value encrypted with the current (first) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretBoxError("stored value cannot be decrypted with any key in CONTACT_KEYS") from None
