"""Typed keys of the aiohttp application's state."""

from aiohttp import web

from app.auth import Authenticator
from app.config import Settings
from collab.engine import Engine
from collab.realtime.limits import UserBudgets

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
AUTH = web.AppKey("auth", Authenticator)
USER_BUDGETS = web.AppKey("user_budgets", UserBudgets)
# The same budgets for `/ws/doc`: a user's document connections, counted and rate-limited together.
DOC_BUDGETS = web.AppKey("doc_budgets", UserBudgets)
