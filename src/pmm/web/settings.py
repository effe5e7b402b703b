"""What a deployment chooses: the database, TLS, upload limits."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pmm.store.engine import resolve_url

MiB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """`secure`: the site is served over HTTPS (Secure cookies, HSTS). `secret_key`: signs
    cookies and CSRF tokens; empty means one generated once and kept in the database, so every
    worker and restart shares it."""

    database_url: str
    secure: bool = False
    secret_key: str = ""
    max_upload: int = 20 * MiB
    session_hours: int = 12

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        return cls(database_url=resolve_url(database_url),
                   secure=os.environ.get("PMM_SECURE", "").lower() in ("1", "true", "yes"),
                   secret_key=os.environ.get("PMM_SECRET_KEY", ""),
                   max_upload=int(os.environ.get("PMM_MAX_UPLOAD", 20 * MiB)))
