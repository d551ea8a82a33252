"""Lists the tools of `eks-node-diag serve --http` with the Python MCP SDK's
Streamable HTTP client and a bearer credential, then takes a snapshot and
lists its findings; prints one JSON object for the Rust test to check.

usage: http_client.py URL TOKEN
"""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def main(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with create_mcp_http_client(headers=headers) as http:
        async with streamable_http_client(url, http_client=http) as (read, write, *_):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = sorted(tool.name for tool in (await session.list_tools()).tools)
                taken = await session.call_tool("take_snapshot", {"bundle": "dns-no-endpoints"})
                snapshot_id = taken.structured_content["snapshot_id"]
                found = await session.call_tool(
                    "list_findings", {"snapshot_id": snapshot_id, "min_severity": "critical"}
                )
                print(
                    json.dumps(
                        {
                            "tools": tools,
                            "snapshot_id": snapshot_id,
                            "critical": [f["code"] for f in found.structured_content["findings"]],
                        }
                    )
                )


asyncio.run(main(sys.argv[1], sys.argv[2]))
