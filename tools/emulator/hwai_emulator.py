#!/usr/bin/env python3
"""Local emulator of the Huawei Cloud endpoints used by the hwai SDK.

One loopback HTTP/1.1 server serves Pangu and OpenAI-compatible chat, NLP
sentiment and IAM (token issue, project lookup). It checks AK/SK
signatures, IAM tokens and API keys, and injects faults on request through
the /_emulator/ control endpoints. Only the Python standard library is used.

The first stdout line is ``listening on http://HOST:PORT``; logs go to stderr.
"""

import argparse
import ipaddress
import logging
import os
import signal
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import server  # noqa: E402
import state  # noqa: E402

DEFAULT_PORT = 8790
LOG = logging.getLogger("hwai_emulator")


def parse_project_mapping(text):
    """Parse ``REGION=ID[:NAME][,ID[:NAME]...]`` into (region, [(id, name), ...]).

    An empty id list (``REGION=``) makes the region return zero projects.
    A project without ``:NAME`` is named after the region.
    """
    region, separator, ids = text.partition("=")
    region = region.strip()
    if not separator or not region:
        raise argparse.ArgumentTypeError("invalid --project value %r: expected REGION=ID[:NAME][,ID[:NAME]...]" % text)
    projects = []
    for item in ids.split(","):
        item = item.strip()
        if not item:
            continue
        project_id, _, name = item.partition(":")
        projects.append((project_id, name or region))
    return region, projects


def loopback_host(text):
    """Accept only loopback addresses, so the emulator is never reachable from another host."""
    host = "127.0.0.1" if text == "localhost" else text
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise argparse.ArgumentTypeError("--host must be a loopback IP address, got %r" % text) from None
    if not address.is_loopback:
        raise argparse.ArgumentTypeError("--host must be a loopback address (127.0.0.0/8 or ::1), got %r" % text)
    return host


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("invalid value %r: expected an integer >= 0" % text)
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        description="Local emulator of the Huawei Cloud Pangu, MaaS, NLP and IAM endpoints (loopback only).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--port", type=non_negative_int, default=DEFAULT_PORT,
                        help="TCP port; 0 picks a free port")
    parser.add_argument("--host", type=loopback_host, default="127.0.0.1",
                        help="loopback address to bind")

    parser.add_argument("--ak", default=state.DEFAULT_ACCESS_KEY, help="accepted access key (AK)")
    parser.add_argument("--sk", default=state.DEFAULT_SECRET_KEY, help="secret key (SK) of --ak")
    parser.add_argument("--security-token", default=state.DEFAULT_SECURITY_TOKEN,
                        help="value that a signed X-Security-Token header must have")
    parser.add_argument("--project-id", default=state.DEFAULT_PROJECT_ID,
                        help="project id that service paths must contain")
    parser.add_argument("--api-key", default=state.DEFAULT_API_KEY,
                        help="API key accepted as 'Authorization: Bearer KEY' on OpenAI-compatible chat")

    parser.add_argument("--pangu-api-key", nargs="?", const="", default=None, metavar="KEY",
                        help="also accept a Bearer API key on the Pangu chat routes: KEY, or --api-key "
                             "when given without a value; unset means Pangu accepts no API key")
    parser.add_argument("--stream-delay-ms", type=non_negative_int, default=state.DEFAULT_STREAM_DELAY_MS,
                        help="pause between streamed events, in milliseconds")
    parser.add_argument("--token-lifetime-s", type=non_negative_int, default=state.DEFAULT_TOKEN_LIFETIME_S,
                        help="lifetime of issued IAM tokens, in seconds")

    parser.add_argument("--iam-user", default=state.DEFAULT_IAM_USER, help="IAM user name for password auth")
    parser.add_argument("--iam-password", default=state.DEFAULT_IAM_PASSWORD, help="IAM user password")
    parser.add_argument("--iam-domain", default=state.DEFAULT_IAM_DOMAIN, help="IAM domain (account) name")
    parser.add_argument("--project", action="append", type=parse_project_mapping, default=[],
                        metavar="REGION=ID[:NAME][,...]",
                        help="project ids returned by GET /v3/projects?name=REGION (repeatable); "
                             "'REGION=' returns none; unlisted regions return --project-id")

    parser.add_argument("--no-100-continue", action="store_true",
                        help="never send '100 Continue' to requests with 'Expect: 100-continue'")
    parser.add_argument("--quiet", action="store_true",
                        help="log only warnings, errors and 5xx responses, not every request")
    return parser


def build_config(args):
    pangu_api_key = args.pangu_api_key
    if pangu_api_key == "":
        pangu_api_key = args.api_key
    return state.Config(
        access_key=args.ak,
        secret_key=args.sk,
        security_token=args.security_token,
        project_id=args.project_id,
        api_key=args.api_key,
        pangu_api_key=pangu_api_key,
        stream_delay_ms=args.stream_delay_ms,
        token_lifetime_s=args.token_lifetime_s,
        iam_user=args.iam_user,
        iam_password=args.iam_password,
        iam_domain=args.iam_domain,
        region_projects=dict(args.project),
        send_100_continue=not args.no_100_continue,
    )


def create_server(host, port, config, quiet=False):
    """Bind the emulator server; an IPv6 host gets an IPv6 socket."""
    server_class = server.EmulatorServer
    if ":" in host:
        server_class = type("EmulatorServerV6", (server.EmulatorServer,), {"address_family": socket.AF_INET6})
    return server_class((host, port), state.EmulatorState(config), quiet=quiet)


def main(argv=None):
    args = build_parser().parse_args(argv)
    level = logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(message)s")
    config = build_config(args)
    emulator = create_server(args.host, args.port, config, quiet=args.quiet)
    port = emulator.server_address[1]
    shown_host = "[%s]" % args.host if ":" in args.host else args.host
    print("listening on http://%s:%d" % (shown_host, port), flush=True)
    if not args.quiet:
        LOG.info(
            "emulator started on %s:%d (access key %s, project %s)",
            shown_host,
            port,
            config.access_key,
            config.project_id,
        )

    def stop(signum, _frame):
        LOG.info("received %s, stopping", signal.Signals(signum).name)
        # shutdown() waits for serve_forever() to return, so it must not run on the serving thread.
        threading.Thread(target=emulator.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        emulator.serve_forever(poll_interval=0.2)
    finally:
        emulator.server_close()
        LOG.info("emulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
