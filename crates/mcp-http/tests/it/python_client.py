"""Python MCP SDK Streamable HTTP client for the mcp-http tests.

usage: python_client.py URL HEADER VALUE [session|stateless]
`session` uses ClientSession (protocol 2025-11-25, MCP sessions); `stateless`
uses mcp.Client (protocol 2026-07-28, no sessions).
Prints one JSON line: {"tools": [...sorted names], "call": text} or {"error": ...}.
"""
import asyncio
import json
import sys

import httpx2 as httpx
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def main(url: str, header: str, value: str, era: str = "session") -> dict:
    http_client = create_mcp_http_client(headers={header: value})
    if era == "stateless":
        async with http_client:
            async with Client(streamable_http_client(url, http_client=http_client)) as client:
                tools = sorted(t.name for t in (await client.list_tools()).tools)
                result = await client.call_tool("read_status", {"snapshot_id": "sha256:py"})
                text = result.content[0].text if result.content else None
                return {"tools": tools, "call": text, "is_error": result.is_error}
    async with http_client:
        async with streamable_http_client(url, http_client=http_client) as (read, write, *_):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = sorted(t.name for t in (await session.list_tools()).tools)
                result = await session.call_tool("read_status", {"snapshot_id": "sha256:py"})
                text = result.content[0].text if result.content else None
                return {"tools": tools, "call": text, "is_error": result.is_error}


def has_401(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code == 401:
        return True
    if "401" in str(exc):
        return True
    inner = getattr(exc, "exceptions", None) or []
    return any(has_401(e) for e in inner) or (exc.__cause__ is not None and has_401(exc.__cause__))


if __name__ == "__main__":
    try:
        out = asyncio.run(main(*sys.argv[1:5]))
    except BaseException as exc:  # noqa: BLE001 - report any failure as data
        out = {"error": "unauthorized" if has_401(exc) else repr(exc)}
    print(json.dumps(out))
