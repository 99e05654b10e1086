"""The desk from Python with dotdo's client (`pip install dotdo[client]`).

    python clients/python_client.py http://acme.localhost:8787

A `*.localhost` host is reached on 127.0.0.1 with its name in the Host header.
"""

import asyncio
import sys
from typing import Any

from dotdo.client import Client


async def main(url: str) -> dict[str, Any]:
    async with Client(url) as desk:
        ticket = await desk.Ticket.create(
            title="Cannot log in", customer="bob@example.com", priority="low", status="open"
        )
        by_rpc = await desk.call("open_ticket", "Refund please", "cy@example.com", "urgent")
        low = await desk.Ticket.list(where={"status": "open", "priority": "low"})
        return {
            "created": ticket,
            "opened": by_rpc,
            "low": low,
            "urgent": await desk.call("open_tickets", "urgent"),
        }


if __name__ == "__main__":
    sys.stdout.write(f"{asyncio.run(main(sys.argv[1]))}\n")
