"""Close a deal in the running HubSpot emulator, as a salesperson would:
`python -m crm_sync.sandbox.close_deal [--url http://127.0.0.1:8101] [--deal ID]`.

Without `--deal` it first creates a fresh company, deal and line items. The emulator then sends
the signed `deal.propertyChange` webhook, and the project appears in the application.
"""

from __future__ import annotations

import argparse
import json
import time
from urllib.request import Request, urlopen


def _post(url: str, body: dict) -> dict:
    request = Request(url, data=json.dumps(body).encode(), method="POST",  # noqa: S310
                      headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=10) as answer:  # noqa: S310 (a loopback http URL)
        return json.loads(answer.read() or b"{}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8101")
    parser.add_argument("--deal", default="")
    args = parser.parse_args()
    if not args.url.startswith(("http://", "https://")):
        parser.error("--url must be an http(s) URL")
    deal_id = args.deal
    if not deal_id:
        stamp = time.strftime("%H%M%S")
        created = _post(f"{args.url}/_sandbox/seed-deal", {
            "company": {"name": f"Demo Prospect {stamp}", "domain": f"prospect-{stamp}.example"},
            "deal": {"dealname": f"Demo engagement {stamp}", "amount": "120000",
                     "deal_currency_code": "USD", "dealstage": "contractsent"},
            "line_items": [{"name": "Senior Consultant", "quantity": "300", "price": "225",
                            "psa_role": "SCON"},
                           {"name": "Consultant", "quantity": "240", "price": "175",
                            "psa_role": "CONS"}],
        })
        deal_id = str(created["deal_id"])
    _post(f"{args.url}/_sandbox/deals/{deal_id}/stage", {"stage": "closedwon"})
    print(f"Deal {deal_id} moved to closedwon; watch /integrations/ and /projects/.")


if __name__ == "__main__":
    main()
