"""The aiohttp application: configuration, the engine's lifetime, routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

from aiohttp import web

from app.auth import Authenticator
from app.catalog import setup as setup_catalog
from app.config import Settings
from app.docs_http import document_text
from app.docs_versions import setup_document_versions
from app.docs_ws import close_document_sockets, document_socket
from app.history import setup as setup_history
from app.keys import AUTH, DOC_BUDGETS, ENGINE, SETTINGS, USER_BUDGETS
from app.media_http import media_links
from app.media_http import setup as setup_media
from app.metrics import monitor_config
from app.metrics import setup as setup_metrics
from app.moderation import setup as setup_moderation
from app.openapi import setup as setup_openapi
from app.publish_http import setup as setup_publish
from app.search_http import setup as setup_search
from app.security_headers import setup as setup_security_headers
from app.ws import websocket_handler
from collab.documents.limits import DocumentLimits
from collab.engine import Engine
from collab.errors import StoreError
from collab.operators.uploads import UploadLimits
from collab.realtime.connection import CloseCode
from collab.realtime.hub import ChannelManager
from collab.realtime.limits import UserBudgets
from collab.realtime.publishing import PublishLimits
from collab.store.migrate import check_schema_current

log = logging.getLogger(__name__)
ChannelModule = Callable[[ChannelManager], None]
CHANNEL_MODULES = web.AppKey("channel_modules", tuple)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


async def _engine_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    await check_schema_current(settings.database_url)
    engine = await Engine.open(
        settings.database_url,
        replay_batch=settings.replay_batch_size,
        channel_modules=app[CHANNEL_MODULES],
        media_dir=settings.data_dir / "media",
        media_links=media_links,
        upload_limits=UploadLimits(settings.media_quota_bytes, settings.media_uploads_per_minute),
        monitor=monitor_config(settings),
        revoked=app[AUTH].revocations,
        broker=settings.broker,
        queue_limit=settings.send_queue_limit,
        queue_bytes=settings.send_queue_bytes,
        publish_limits=PublishLimits(
            max_channels=settings.publish_max_channels, rate=settings.publish_rate, burst=settings.publish_burst
        ),
        document_limits=DocumentLimits(
            max_bytes=settings.doc_max_bytes,
            awareness_clients=settings.awareness_clients,
            awareness_state_bytes=settings.awareness_state_bytes,
        ),
        max_subscriptions=settings.max_subscriptions,
        max_rooms_per_user=settings.max_rooms_per_user,
    )
    app[ENGINE] = engine
    yield
    # Sockets are closed (with 1001, after their outboxes) in on_shutdown; this flushes pending appends.
    await engine.close()


async def _close_sockets(app: web.Application) -> None:
    if ENGINE in app:
        await app[ENGINE].manager.close_all(CloseCode.GOING_AWAY, "server shutting down")


async def healthz(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    broker = engine.broker
    try:
        await engine.store.head("general")  # proves the database answers
    except StoreError as error:
        # Not ready while the database is out of reach: a balancer sends new clients elsewhere, and this
        # process comes back on its own when the database does (docs/reliability.md).
        log.warning("healthz: %s", error)
        status = "unavailable"
    else:
        # A process that lost its broker's connection is not ready until it has caught up: it would miss
        # what other processes deliver (its own clients still get everything once it has).
        status = "ok" if broker.healthy else "catching up"
    body = {
        "status": status,
        "connections": len(engine.manager.sessions),
        "node": broker.node,
        "broker": {"kind": broker.kind, "state": broker.state},
    }
    return web.json_response(body, status=200 if status == "ok" else 503)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def favicon(request: web.Request) -> web.FileResponse:
    """`/favicon.ico`, which browsers and tools ask for on their own (the pages name
    /static/favicon.svg too): an icon, not a 404 in every page's console and every access log."""
    return web.FileResponse(
        STATIC_DIR / "favicon.ico",
        headers={"Content-Type": "image/x-icon", "Cache-Control": "public, max-age=86400"},
    )


def create_app(settings: Settings | None = None, *, channel_modules: Sequence[ChannelModule] = ()) -> web.Application:
    """The server. `channel_modules` register channel kinds of their own (docs/channels.md)."""
    settings = settings or Settings.from_env()
    app = web.Application(client_max_size=settings.max_message_bytes)
    app[SETTINGS] = settings
    app[CHANNEL_MODULES] = tuple(channel_modules)
    app[AUTH] = Authenticator(settings)
    for key in (USER_BUDGETS, DOC_BUDGETS):
        app[key] = UserBudgets(
            settings.user_rate_limit_per_second, settings.user_rate_burst, settings.max_connections_per_user
        )
    app.cleanup_ctx.append(_engine_ctx)
    setup_security_headers(app)
    app.on_shutdown.append(_close_sockets)
    app.on_shutdown.append(close_document_sockets)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/ws", websocket_handler)
    app.router.add_get("/api/ws", websocket_handler)
    app.router.add_get("/ws/doc/{name}", document_socket)
    app.router.add_get("/api/docs/{name}", document_text)
    setup_document_versions(app)
    # GET /metrics (its registry after _engine_ctx) and the media library's endpoints.
    setup_metrics(app)
    setup_media(app)
    # Operators: history, moderation, the spec (the engine answers them).
    setup_history(app)
    setup_search(app)
    setup_catalog(app)
    setup_moderation(app)
    setup_publish(app)
    setup_openapi(app)
    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    return app
