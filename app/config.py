"""Settings: read once from the environment (docs/configuration.md), typed and frozen.
A bad value fails loudly and names its variable."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from collab.operators.alerts import ALERT_DEFAULTS, ALERT_METRICS
from collab.store.engine import DEFAULT_DATA_DIR, default_database_url


class ConfigError(ValueError):
    pass


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key} must be 1 or 0, not {raw!r}")


def _int(env: Mapping[str, str], key: str, default: int, minimum: int = 0) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{key} must be at least {minimum}, not {value}")
    return value


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number, not {raw!r}") from None


def _seconds(env: Mapping[str, str], key: str, default: float) -> float:
    value = _float(env, key, default)
    if value <= 0:
        raise ConfigError(f"{key} must be more than 0, not {value}")
    return value


def _thresholds(env: Mapping[str, str]) -> tuple[tuple[str, float], ...]:
    """`COLLAB_ALERT_<METRIC>` for each metric the monitor can alert on; 0 turns one off."""
    thresholds = []
    for name in ALERT_METRICS:
        key = f"COLLAB_ALERT_{name.upper()}"
        value = _float(env, key, ALERT_DEFAULTS.get(name, 0.0))
        if value < 0:
            raise ConfigError(f"{key} must be 0 (off) or more, not {value}")
        if value > 0:
            thresholds.append((name, value))
    return tuple(thresholds)


def _list(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(key, "").split(",") if item.strip())


_ORIGIN = re.compile(r"https?://[^/?#\s@]+")


def _origins(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    """Origins (`scheme://host[:port]`, no path), comma-separated, lower-cased."""
    origins = tuple(item.rstrip("/").lower() for item in _list(env, key))
    for origin in origins:
        try:
            valid = _ORIGIN.fullmatch(origin) is not None and urlsplit(origin).port != 0
        except ValueError:  # a port that is not a number, or out of range
            valid = False
        if not valid:
            raise ConfigError(f"{key} must be origins like https://chat.example.com (no path), not {origin!r}")
    return origins


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    # HS256 key (user and guest tokens). Unset: a secret generated in `data_dir` (app/local_secret.py),
    # never a key from the source; `collab serve` then refuses a non-loopback address (app/cli.py).
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_seconds: float = 30.0
    allow_guests: bool = True
    allowed_origins: tuple[str, ...] = ()
    # Where browsers reach this server (scheme://host[:port]). Set: a socket whose Host names another
    # server is refused (a DNS-rebinding page's Host follows its Origin). Unset: any Host (loopback use).
    public_origins: tuple[str, ...] = ()
    max_message_bytes: int = 1024 * 1024
    # A connection's outbox: frames queued beyond this, or bytes of frames beyond `send_queue_bytes`,
    # close it with 1013 (it resumes with `since`).
    send_queue_limit: int = 4096
    send_queue_bytes: int = 8 * 1024 * 1024
    # Per connection: frames per second on average, with bursts up to `rate_burst` (a flood guard; a
    # busy but honest client — a bot replaying a backlog — stays under it).
    rate_limit_per_second: float = 2000.0
    rate_burst: int = 10000
    # Per user, across all of the user's `/ws` connections to this process: the same kind of budget
    # (frames cost what they cost the server: collab.realtime.limits.FRAME_COSTS), so that opening
    # more connections buys no more; and how many such connections one user may have open.
    user_rate_limit_per_second: float = 2000.0
    user_rate_burst: int = 10000
    max_connections_per_user: int = 50
    # Channels one `/ws` socket may subscribe to besides its own; chat rooms one user may make
    # (create_room, or joining a name nobody used).
    max_subscriptions: int = 1000
    max_rooms_per_user: int = 100
    heartbeat_seconds: float = 30.0
    replay_batch_size: int = 1000
    log_level: str = "INFO"
    # Fan-out between server processes: "postgres" (LISTEN/NOTIFY, the default on PostgreSQL) or
    # "memory" (this process only; the only choice on SQLite). docs/deployment.md.
    broker: str = "memory"
    # The monitor (docs/monitor.md): a sample every interval, the last `history` seconds kept for pages
    # that (re)connect, alerts (metric, threshold) firing at or above it and resolved after
    # `alert_resolve_samples` samples below it.
    monitor_interval_seconds: float = 1.0
    monitor_history_seconds: float = 600.0
    alert_thresholds: tuple[tuple[str, float], ...] = tuple(ALERT_DEFAULTS.items())
    alert_resolve_samples: int = 5
    # The media library (docs/media.md): the largest upload accepted, the bytes one user's uploads may
    # take in all (0: no quota), and the uploads one user may start a minute, in bursts of as many (0: any).
    media_max_bytes: int = 25 * 1024 * 1024
    # Documents (docs/editor.md, "Limits"): the largest a document may grow (encoded as one update), and
    # the awareness one connection may announce (client ids, bytes of one state).
    doc_max_bytes: int = 4 * 1024 * 1024
    awareness_clients: int = 4
    awareness_state_bytes: int = 4096
    media_quota_bytes: int = 1024 * 1024 * 1024
    media_uploads_per_minute: int = 30
    # The publish API (docs/server-api.md): the largest request body, the channels one call may name,
    # and the events a second one service may publish, in bursts of `publish_burst` (per process; 0: any).
    publish_max_bytes: int = 256 * 1024
    publish_max_channels: int = 100
    publish_rate: float = 200.0
    publish_burst: int = 1000
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("COLLAB_DATA_DIR") or DEFAULT_DATA_DIR)
        database_url = env.get("COLLAB_DATABASE_URL") or default_database_url(str(data_dir))
        public_key = env.get("COLLAB_JWT_PUBLIC_KEY") or None
        if public_key and not public_key.lstrip().startswith("-----BEGIN"):
            path = Path(public_key)
            if not path.is_file():
                raise ConfigError("COLLAB_JWT_PUBLIC_KEY must be a PEM key or the path of a PEM file")
            public_key = path.read_text()
        return cls(
            database_url=database_url,
            data_dir=data_dir,
            jwt_secret=env.get("COLLAB_JWT_SECRET") or None,
            jwt_public_key=public_key,
            jwt_audience=env.get("COLLAB_JWT_AUDIENCE") or None,
            jwt_issuer=env.get("COLLAB_JWT_ISSUER") or None,
            jwt_leeway_seconds=_float(env, "COLLAB_JWT_LEEWAY_SECONDS", 30.0),
            allow_guests=_bool(env, "COLLAB_ALLOW_GUESTS", True),
            allowed_origins=_list(env, "COLLAB_ALLOWED_ORIGINS"),
            public_origins=_origins(env, "COLLAB_PUBLIC_ORIGIN"),
            max_message_bytes=_int(env, "COLLAB_MAX_MESSAGE_BYTES", 1024 * 1024, minimum=1024),
            send_queue_limit=_int(env, "COLLAB_SEND_QUEUE_LIMIT", 4096, minimum=16),
            send_queue_bytes=_int(env, "COLLAB_SEND_QUEUE_BYTES", 8 * 1024 * 1024, minimum=64 * 1024),
            rate_limit_per_second=_float(env, "COLLAB_RATE_LIMIT", 2000.0),
            rate_burst=_int(env, "COLLAB_RATE_BURST", 10000, minimum=1),
            user_rate_limit_per_second=_float(env, "COLLAB_USER_RATE_LIMIT", 2000.0),
            user_rate_burst=_int(env, "COLLAB_USER_RATE_BURST", 10000, minimum=1),
            max_connections_per_user=_int(env, "COLLAB_MAX_CONNECTIONS_PER_USER", 50, minimum=1),
            max_subscriptions=_int(env, "COLLAB_MAX_SUBSCRIPTIONS", 1000, minimum=0),
            max_rooms_per_user=_int(env, "COLLAB_MAX_ROOMS_PER_USER", 100, minimum=0),
            heartbeat_seconds=_float(env, "COLLAB_HEARTBEAT_SECONDS", 30.0),
            replay_batch_size=_int(env, "COLLAB_REPLAY_BATCH", 1000, minimum=1),
            log_level=(env.get("COLLAB_LOG_LEVEL") or "INFO").upper(),
            broker=_broker(env, database_url),
            monitor_interval_seconds=_seconds(env, "COLLAB_MONITOR_INTERVAL_SECONDS", 1.0),
            monitor_history_seconds=_seconds(env, "COLLAB_MONITOR_HISTORY_SECONDS", 600.0),
            alert_thresholds=_thresholds(env),
            alert_resolve_samples=_int(env, "COLLAB_ALERT_RESOLVE_SAMPLES", 5, minimum=1),
            media_max_bytes=_int(env, "COLLAB_MEDIA_MAX_BYTES", 25 * 1024 * 1024, minimum=1),
            doc_max_bytes=_int(env, "COLLAB_DOC_MAX_BYTES", 4 * 1024 * 1024, minimum=1024),
            awareness_clients=_int(env, "COLLAB_AWARENESS_CLIENTS", 4, minimum=1),
            awareness_state_bytes=_int(env, "COLLAB_AWARENESS_STATE_BYTES", 4096, minimum=256),
            media_quota_bytes=_int(env, "COLLAB_MEDIA_QUOTA_BYTES", 1024 * 1024 * 1024),
            media_uploads_per_minute=_int(env, "COLLAB_MEDIA_UPLOADS_PER_MINUTE", 30),
            publish_max_bytes=_int(env, "COLLAB_PUBLISH_MAX_BYTES", 256 * 1024, minimum=1024),
            publish_max_channels=_int(env, "COLLAB_PUBLISH_MAX_CHANNELS", 100, minimum=1),
            publish_rate=_float(env, "COLLAB_PUBLISH_RATE", 200.0),
            publish_burst=_int(env, "COLLAB_PUBLISH_BURST", 1000, minimum=1),
        )


def _broker(env: Mapping[str, str], database_url: str) -> str:
    postgres = database_url.startswith("postgresql")
    value = (env.get("COLLAB_BROKER") or ("postgres" if postgres else "memory")).strip().lower()
    if value not in ("memory", "postgres"):
        raise ConfigError(f"COLLAB_BROKER must be 'memory' or 'postgres', not {value!r}")
    if value == "postgres" and not postgres:
        raise ConfigError("COLLAB_BROKER=postgres needs a PostgreSQL COLLAB_DATABASE_URL")
    return value
