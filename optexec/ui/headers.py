"""Security headers on every HTTP response of the app server (issue 14, item 7).

Streamlit has no setting for response headers, but an ``st.App`` takes ASGI middleware: app.py is served through
one with ``SecurityHeaders``. The page may not be framed by another site (clickjacking), and the browser loads
images, plugins and form targets only from the app itself, so even a user's text that slipped through as Markdown
could not make the browser fetch from elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: frame-ancestors 'none' is the modern X-Frame-Options: DENY; img-src keeps images to the app's own, inline ones
#: (Plotly) and the Material icon Streamlit fetches from Google's font server for a ``:material/...:`` page icon
#: (the tab's icon); scripts and styles are left to Streamlit, whose frontend needs its own inline styles
CONTENT_SECURITY_POLICY = (
    "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "img-src 'self' data: blob: https://fonts.gstatic.com"
)
HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),  # a plan's link holds the order: never sent to another site
)


class SecurityHeaders:
    """ASGI middleware: ``HEADERS`` on every HTTP response (replacing any of the same name); websockets untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._names = {name.lower().encode() for name, _ in HEADERS}
        self._headers = [(name.lower().encode(), value.encode()) for name, value in HEADERS]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self._names]
                message = {**message, "headers": [*kept, *self._headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
