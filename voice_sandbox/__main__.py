"""``python -m voice_sandbox``: the sandbox without Django (it needs only uvicorn, httpx, PyJWT, cryptography).

Same options as ``manage.py sandbox``; state goes to ``--data-dir`` (default ``$SANDBOX_DATA_DIR`` or
``$VAR_DIR``; in memory when neither is set).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from voice_sandbox.config import ConfigError, SandboxConfig
from voice_sandbox.server import describe, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voice_sandbox", description="Vonage Voice API sandbox")
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8001")))
    parser.add_argument("--speed", type=float, default=None)
    parser.add_argument("--certfile", default=None)
    parser.add_argument("--keyfile", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--media", choices=["audio", "estimate"], default=os.environ.get("SANDBOX_MEDIA", "audio"))
    args = parser.parse_args(argv)
    os.environ["SANDBOX_MEDIA"] = args.media
    if bool(args.certfile) != bool(args.keyfile):
        parser.error("--certfile and --keyfile go together")
    try:
        config = SandboxConfig.from_env(data_dir=Path(args.data_dir) if args.data_dir else None, speed=args.speed)
    except ConfigError as exc:
        parser.error(str(exc))
    scheme = "https" if args.certfile else "http"
    if not config.public_url_fixed:
        config.public_url = f"{scheme}://{args.host}:{args.port}"
    sys.stdout.write(describe(config))
    sys.stdout.flush()
    serve(config, host=args.host, port=args.port, certfile=args.certfile, keyfile=args.keyfile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
