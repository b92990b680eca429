"""How soon after its token expires a connected socket is closed with 1008 (not part of the tests).

    PYTHONPATH=. .venv/bin/python bench/expiry_bench.py [--ttl 2]

The tests check the close and its code (tests/app/test_auth.py); this prints the delay past the expiry.
The suite used to require the close within 4 s of connecting with a 2 s token.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import jwt
from aiohttp import WSMsgType
from served import served

SECRET = "bench-hs256-secret-of-at-least-32-bytes"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ttl", type=float, default=2.0)
    args = parser.parse_args()
    async with served(allow_guests=False, jwt_secret=SECRET, jwt_leeway_seconds=0.0) as client:
        expires = int(time.time() + args.ttl)
        token = jwt.encode({"sub": "brief", "exp": expires, "iat": int(time.time())}, SECRET, algorithm="HS256")
        ws = await client.ws_connect("/ws", params={"token": token})
        code = None
        while code is None:
            msg = await ws.receive(timeout=args.ttl + 30)
            if msg.type is WSMsgType.CLOSE:
                code = msg.data
            elif msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                code = ws.close_code
        late = time.time() - expires
    print(f"closed with {code}, {late:+.3f} s after the token's exp ({args.ttl} s token)")


if __name__ == "__main__":
    asyncio.run(main())
