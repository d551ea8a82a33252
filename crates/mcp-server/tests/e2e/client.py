"""End-to-end check of eks-node-diag with the MCP Python SDK as the client.

Usage: python client.py BINARY BUNDLES_DIR

Spawns `BINARY serve --bundles BUNDLES_DIR` over stdio, lists the tools,
takes a snapshot of the dns-no-endpoints scenario, lists its findings and
fetches the first finding's evidence, then prints one JSON object on stdout
for the Rust test to assert on.
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def field(obj, snake: str, camel: str):
    """Reads a result field under its SDK 2.x (snake_case) or 1.x (camelCase) name."""
    return getattr(obj, snake) if hasattr(obj, snake) else getattr(obj, camel)


async def main(binary: str, bundles: str) -> None:
    params = StdioServerParameters(command=binary, args=["serve", "--bundles", bundles])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            taken = await session.call_tool("take_snapshot", {"bundle": "conntrack-exhaustion"})
            snapshot_id = field(taken, "structured_content", "structuredContent")["snapshot_id"]
            findings = await session.call_tool("list_findings", {"snapshot_id": snapshot_id, "limit": 5})
            first = field(findings, "structured_content", "structuredContent")["findings"][0]
            finding = await session.call_tool(
                "get_finding", {"snapshot_id": snapshot_id, "finding_id": first["id"]}
            )
            bad = await session.call_tool("get_snapshot_summary", {"snapshot_id": "s1_unknown"})
            print(
                json.dumps(
                    {
                        "server": field(init, "server_info", "serverInfo").name,
                        "protocol": str(field(init, "protocol_version", "protocolVersion")),
                        "tools": sorted(tool.name for tool in tools.tools),
                        "snapshot_id": snapshot_id,
                        "findings_total": field(findings, "structured_content", "structuredContent")["page"]["total"],
                        "first_finding": first,
                        "evidence": field(finding, "structured_content", "structuredContent")["finding"]["evidence"],
                        "evidence_refs": field(finding, "structured_content", "structuredContent")["evidence_refs"],
                        "bad_is_error": field(bad, "is_error", "isError"),
                    }
                )
            )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
