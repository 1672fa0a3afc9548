"""``tuneforge serve``: a model over HTTP."""

from __future__ import annotations

import argparse

from .common import abstention, add_abstention, add_command, add_runs_dir, runs_dir

EXAMPLE = (
    "TUNEFORGE_TOKEN=$(cat token) tuneforge serve intents@production --port 8000\n"
    "  tuneforge serve shop-rec   # a recommend run: POST /v1/recommend"
)


def register(sub) -> None:
    p = add_command(
        sub,
        "serve",
        "Serve a model over HTTP with micro-batching, limits, auth, "
        "health checks and Prometheus metrics.",
        EXAMPLE,
    )
    p.add_argument("model", help="run id, run dir, NAME@stage or artifact directory")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--variant", help="artifact variant of the run (e.g. onnx-int8-dynamic)")
    p.add_argument(
        "--max-batch-size", type=int, default=32, help="inputs one model call takes at most"
    )
    p.add_argument(
        "--max-wait-ms", type=float, default=5.0, help="how long a batch waits for company"
    )
    p.add_argument("--max-inputs", type=int, default=256, help="inputs per request")
    p.add_argument("--max-chars", type=int, default=5000, help="characters per text")
    p.add_argument("--max-body-bytes", type=int, default=1_000_000, help="per request")
    p.add_argument("--max-image-bytes", type=int, default=1_000_000, help="per image file")
    p.add_argument(
        "--max-image-pixels", type=int, default=4096 * 4096, help="per image, from its header"
    )
    p.add_argument(
        "--overlong",
        choices=["reject", "truncate"],
        default="reject",
        help="texts over --max-chars: answer 413, or cut them",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="request timeout, seconds")
    p.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        help="seconds a client has to send a request's head (else 408, connection closed)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=30.0,
        help="seconds a client has to send a request's body after its head (else 408)",
    )
    p.add_argument(
        "--keep-alive",
        type=float,
        default=5.0,
        help="seconds a connection stays open for its next request after an answer",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=512,
        help="open connections per worker; past them requests get 503",
    )
    p.add_argument("--workers", type=int, default=1, help="server processes sharing the port")
    p.add_argument(
        "--explain", action="store_true", help="also answer POST /v1/explain (attributions)"
    )
    p.add_argument(
        "--explain-concurrency",
        type=int,
        default=1,
        help="explanations computed at once; the rest wait up to --timeout",
    )
    p.add_argument(
        "--label-studio",
        action="store_true",
        help="also answer Label Studio's ML backend calls (/health, /setup, /predict, /webhook)",
    )
    p.add_argument(
        "--label-queue",
        metavar="NAME",
        help="with --label-studio: store the annotation events Label Studio sends to /webhook "
        "in this labeling queue",
    )
    p.add_argument(
        "--embed",
        action="store_true",
        help="also answer POST /v1/embed (unit sentence embeddings; torch text models)",
    )
    p.add_argument(
        "--index",
        metavar="DIR",
        help="also answer POST /v1/similar from this index (tuneforge index build, with this "
        "model); turns /v1/embed on",
    )
    p.add_argument(
        "--max-neighbours", type=int, default=100, help="the most neighbours one query may ask"
    )
    p.add_argument("--token-file", help="bearer token file (else $TUNEFORGE_TOKEN)")
    p.add_argument("--no-log", action="store_true", help="do not log predictions to the store")
    p.add_argument(
        "--log-inputs",
        nargs="?",
        const="redacted",
        type=_log_inputs_mode,
        metavar="{redacted,raw}",
        help="also store the input texts (default: only their hash and length), with emails, "
        "phones, cards, IBANs, IPs and URLs replaced by [EMAIL], [PHONE], ...; "
        "'--log-inputs raw' stores them as sent",
    )
    p.add_argument(
        "--retention",
        metavar="WINDOW",
        help="blank logged inputs older than this (e.g. 30d, 12h), at start and periodically; "
        "hashes, labels, confidences and latencies stay",
    )
    add_abstention(p)
    add_runs_dir(p)
    p.set_defaults(func=run)


def _log_inputs_mode(value: str) -> str:
    """``--log-inputs``' optional value; anything else was most likely the model, written
    after the flag (``serve --log-inputs intents@production``)."""
    if value not in ("redacted", "raw"):
        raise argparse.ArgumentTypeError(
            f"'{value}' is neither redacted nor raw; to serve it, put the model first: "
            f"tuneforge serve {value} --log-inputs"
        )
    return value


def run(args: argparse.Namespace) -> int:
    from ..recipes.serve import serve
    from ..serve import ServeSettings, load_token

    settings = ServeSettings(
        host=args.host,
        port=args.port,
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
        max_inputs=args.max_inputs,
        max_chars=args.max_chars,
        max_body_bytes=args.max_body_bytes,
        max_image_bytes=args.max_image_bytes,
        max_image_pixels=args.max_image_pixels,
        overlong=args.overlong,
        request_timeout_s=args.timeout,
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout,
        keep_alive_s=args.keep_alive,
        max_connections=args.max_connections,
        token=load_token(args.token_file),
        workers=args.workers,
        explain=args.explain,
        explain_concurrency=args.explain_concurrency,
        label_studio=args.label_studio,
        label_queue=args.label_queue,
        embed=args.embed,
        index=args.index,
        max_neighbours=args.max_neighbours,
    )
    serve(
        args.model,
        runs_dir(args),
        args.variant,
        settings,
        log_predictions=not args.no_log,
        log_inputs=args.log_inputs,
        abstain=abstention(args),
        retention=args.retention,
    )
    return 0
