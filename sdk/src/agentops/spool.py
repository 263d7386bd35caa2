"""The spool from the command line: what earlier runs could not deliver, and sending it now.

    python -m agentops.spool            # what is waiting, and where
    python -m agentops.spool send       # send it (each file once; kept if the server is down)

The directory is AGENTOPS_SPOOL_DIR, else $XDG_STATE_HOME/agentops/spool, else
~/.local/state/agentops/spool; `--dir` overrides it. Every file names its own server and key.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agentops._config import build
from agentops._spooling import spool_of
from agentops._transport import HttpTransport


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentops.spool",
        description="Show or send what agentops could not deliver (see docs/sdk.md).",
    )
    parser.add_argument("action", nargs="?", choices=["status", "send"], default="status")
    parser.add_argument("--dir", type=Path, help="the spool directory (default: as the SDK)")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per file at most (default 30)"
    )
    args = parser.parse_args(argv)
    config = build(spool_dir=str(args.dir) if args.dir else None)
    spool = spool_of(config)
    if not spool.available:
        print("the spool needs a POSIX system (fcntl)", file=sys.stderr)
        return 2
    waiting = spool.pending()
    if args.action == "status":
        print(f"{waiting} file(s) waiting in {spool.directory} ({spool.used_bytes():,} bytes)")
        return 0
    transport = HttpTransport()
    try:
        report = spool.send_all(transport, timeout=args.timeout)
    finally:
        transport.close()
    print(
        f"sent {report.events} event(s) of {report.sessions} session(s) from {report.files} "
        f"file(s); {report.kept} file(s) kept for later (server unreachable or busy)"
    )
    return 0 if report.kept == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
