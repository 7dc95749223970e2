"""Serve the three vendor emulators: `python -m crm_sync.sandbox [--webhook-base URL]`.

Each listens on its own loopback port (HubSpot 8101, BambooHR 8102, QuickBooks 8103 by
default) and, when `--webhook-base` is given, sends its webhooks to
`<base>/<vendor>/webhook/`, the connection named after the vendor. Faults are switched at
`POST http://127.0.0.1:<port>/_sandbox/faults` (see crm_sync/sandbox/server.py).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from crm_sync.sandbox.bamboohr import BambooHREmulator
from crm_sync.sandbox.hubspot import HubSpotEmulator
from crm_sync.sandbox.quickbooks import QuickBooksEmulator
from crm_sync.sandbox.server import RunningEmulator

EMULATORS = (("hubspot", HubSpotEmulator, 8101), ("bamboohr", BambooHREmulator, 8102),
             ("quickbooks", QuickBooksEmulator, 8103))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port-base", type=int, default=0,
                        help="first port (the others follow); default 8101, 8102, 8103")
    parser.add_argument("--webhook-base", default="",
                        help="e.g. http://127.0.0.1:8000/api/v1/integrations")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(message)s")
    running = []
    for offset, (vendor, cls, default_port) in enumerate(EMULATORS):
        port = args.port_base + offset if args.port_base else default_port
        server = RunningEmulator(cls(), host=args.host, port=port)
        if args.webhook_base:
            server.emulator.webhook_url = f"{args.webhook_base.rstrip('/')}/{vendor}/webhook/"
        running.append(server)
        logging.info("%s emulator at %s (webhooks to %s)", vendor, server.url,
                     server.emulator.webhook_url or "nowhere")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for server in running:
        server.stop()


if __name__ == "__main__":
    main()
