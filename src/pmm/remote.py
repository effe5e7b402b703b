"""Talking to a running platform from the command line (standard library only).

`upload` sends a submission file to `/api/v1/.../import` with an API token, so an administration
can measure its data items at home and send only the figures. The platform's error answer
(`{"error": {status, kind, messages}}`) becomes the same error kind here, with its messages.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit

from pmm.errors import ConflictError, NotFound, PermissionDenied, PmmError, Unavailable
from pmm.i18n import _

KINDS = {401: PermissionDenied, 403: PermissionDenied, 404: NotFound, 409: ConflictError}


def upload(server: str, token: str, year: int, member: str, path: Path,
           timeout: float = 120) -> dict:
    """POST the file; returns the platform's answer (`version`, `changes`)."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PmmError(_("--server {url!r}: expected an address like https://pmm.example.org")
                       .format(url=server))
    if not token:
        raise PermissionDenied(_("Set PMM_TOKEN to an API token (made on your account page of "
                                 "the platform)."))
    boundary = "pmm-" + secrets.token_hex(16)
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{quote(path.name)}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
    body = head.encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    url = (server.rstrip("/") + f"/api/v1/cycles/{int(year)}/members/"
           f"{quote(member.upper())}/import")
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Accept": "application/json",
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read())["error"]
            lines = [str(line) for line in error["messages"]]
        except (ValueError, KeyError, TypeError):
            lines = [_("{url}: the platform answered HTTP {status}").format(url=url,
                                                                         status=exc.code)]
        raise KINDS.get(exc.code, PmmError)(*lines) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unavailable(_("Cannot reach the platform at {url}: {reason}").format(
            url=server, reason=reason)) from None
