"""The baseline: a bare aiohttp server answering "hello" on every path (`python -m bench.hello PORT`).

The bench also puts it behind the gateway as a stand-in service, so the two figures differ by exactly
the gateway's work."""

import sys

import uvloop
from aiohttp import web


async def hello(_: web.Request) -> web.Response:
    return web.json_response({"hello": "world"})


def main() -> None:
    uvloop.install()  # the same event loop as the gateway: the comparison is of the work, not the loop
    app = web.Application()
    app.router.add_get("/{tail:.*}", hello)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
