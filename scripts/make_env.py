"""Write a .env for local development on first run, with freshly generated secrets.

Runs before Django is installed or configured, so it uses the standard library only. An existing
.env is never touched, and none is written when TASKSYNC_IGNORE_DOTENV is set (the settings then
read only the environment).
"""

import base64
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    target = ROOT / ".env"
    if target.exists() or os.environ.get("TASKSYNC_IGNORE_DOTENV", "").lower() in ("1", "true"):
        return 0
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    target.write_text(
        "# Written by `make run` for local development. See .env.example for every variable.\n"
        "DEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"TOKEN_ENCRYPTION_KEYS={key}\n"
        "# The demo polls Salesforce every 15 seconds (production default: 60).\n"
        "SYNC_POLL_SECONDS=15\n"
        "# Under a minute the poll dispatcher keeps one worker busy: one more for syncing.\n"
        "Q_WORKERS=3\n"
        "# A local edit starts its push within this many seconds (B6: 0.1 s; default 0.5).\n"
        "Q_POLL=0.1\n"
    )
    target.chmod(0o600)
    print(f"Wrote {target} with new development secrets.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
