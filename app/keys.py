"""Typed keys of the aiohttp application's state."""

from aiohttp import web

from app.auth import Authenticator
from app.config import Settings
from collab.engine import Engine

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
AUTH = web.AppKey("auth", Authenticator)
