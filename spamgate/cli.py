"""The ``spamgate`` command: train, evaluate, score, check."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import config

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    try:
        settings = config.load()
        return args.run(args, settings)
    except config.ConfigError as e:
        print(f"spamgate: configuration: {e}", file=sys.stderr)
        return EXIT_USAGE
    except _UserError as e:
        print(f"spamgate: {e}", file=sys.stderr)
        return 1


class _UserError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spamgate", description="Comment spam moderation with reasons.")
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser("train", help="train a model, evaluate it on held-out data, publish it")
    _data_args(p)
    p.add_argument("--out", required=True, type=Path, help="model folder to write (model/artifacts ships)")
    p.add_argument("--force", action="store_true", help="publish even if the current model scores better")
    p.set_defaults(run=_train)

    p = sub.add_parser("evaluate", help="measure a model on labelled data")
    _data_args(p)
    _model_arg(p)
    p.set_defaults(run=_evaluate)

    p = sub.add_parser("score", help="score JSON Lines from stdin, one result per line on stdout")
    _model_arg(p)
    p.set_defaults(run=_score)

    p = sub.add_parser("check", help="score one comment and explain the verdict")
    p.add_argument("content", help="the comment's text")
    p.add_argument("--author-url", default="", help="the author's website")
    p.add_argument("--author", default="", help="the author's name")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _model_arg(p)
    p.set_defaults(run=_check)

    p = sub.add_parser("serve", help="run the HTTP service under gunicorn (starts a local Redis if none answers)")
    p.add_argument("--bind", help="HOST:PORT to listen on (default: SPAMGATE_BIND, 127.0.0.1:8000)")
    p.add_argument("--workers", type=int, help="worker processes (default: SPAMGATE_WORKERS, 2)")
    p.add_argument("--no-redis", action="store_true", help="never start a Redis; use the one at SPAMGATE_REDIS_URL")
    p.set_defaults(run=_serve)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(metavar="ACTION")
    p = keys.add_parser("add", help="make a key; only its hash is stored, the key is printed once")
    p.add_argument("--site", required=True)
    p.add_argument("--role", required=True, choices=("client", "moderator", "admin"))
    p.add_argument("--rate-limit", default="", help="this key's own limit, e.g. 100/minute (default: SPAMGATE_RATE_LIMIT)")
    p.set_defaults(run=_keys_add)

    feedback = sub.add_parser("feedback", help="labelled feedback").add_subparsers(metavar="ACTION")
    p = feedback.add_parser("export", help="write the feedback stream as JSON Lines for `spamgate train --data`")
    p.add_argument("--out", type=Path, help="file to write (default: stdout)")
    p.set_defaults(run=_feedback_export)
    return parser


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", nargs="+", required=True, metavar="PATH",
                   help="CSV, TSV or JSON Lines files, or folders (shared/data and its subfolders are recognised)")
    p.add_argument("--text-column", help="column or key holding the comment text (default: content, text, message...)")
    p.add_argument("--label-column", help="column or key holding the label (default: label, class...)")


def _model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, help="model folder (default: SPAMGATE_MODEL_DIR or the shipped model)")


def _scorer(args, settings):
    from model.artifact import ArtifactError
    from model.scorer import Scorer

    try:
        return Scorer.load(args.model or settings.model_dir, settings.policy())
    except ArtifactError as e:
        raise _UserError(str(e)) from None


def _examples(args):
    from training.data import DataError, load

    try:
        return load(args.data, text_column=args.text_column, label_column=args.label_column)
    except DataError as e:
        raise _UserError(str(e)) from None


def _train(args, settings) -> int:
    from training.train import TrainError, train

    examples = _examples(args)
    try:
        result = train(examples, args.out, policy=settings.policy(), force=args.force)
    except TrainError as e:
        raise _UserError(str(e)) from None
    print(result.table)
    print(result.message)
    return 0 if result.published else 1


def _evaluate(args, settings) -> int:
    from training.evaluate import evaluate, format_table

    scorer = _scorer(args, settings)
    examples = _examples(args)
    rows = {"all": evaluate(scorer, examples).metrics}
    families = sorted({ex.family for ex in examples})
    if len(families) > 1:
        for family in families:
            rows[family] = evaluate(scorer, [ex for ex in examples if ex.family == family]).metrics
    print(f"model {scorer.model_version}; review at {settings.review_threshold}, block at {settings.block_threshold}")
    print(format_table(rows))
    return 0


def _score(args, settings) -> int:
    from model.comment import Comment, InvalidComment

    scorer = _scorer(args, settings)
    out = sys.stdout
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        item_id = None
        try:
            data = json.loads(line)
            if isinstance(data, dict):
                item_id = data.get("id")
            result = scorer.check(Comment.from_mapping(data))
        except json.JSONDecodeError as e:
            result = _error(number, "invalid_json", f"not JSON: {e.msg}")
        except InvalidComment as e:
            result = _error(number, "invalid_comment", e.message, e.field)
        if item_id is not None:
            result = {"id": item_id, **result}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()
    return 0


def _error(line: int, code: str, message: str, field: str | None = None) -> dict:
    error = {"code": code, "message": message, "line": line}
    if field:
        error["field"] = field
    return {"error": error}


def _check(args, settings) -> int:
    from model.comment import Comment, InvalidComment

    scorer = _scorer(args, settings)
    try:
        comment = Comment.from_mapping({"content": args.content, "author_url": args.author_url, "author": args.author})
    except InvalidComment as e:
        raise _UserError(str(e)) from None
    result = scorer.check(comment)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"{result['verdict'].upper()}  spam probability {result['spam_probability']:.3f}  (model {result['model_version']})")
    for reason in result["reasons"]:
        weight = reason["weight"]
        shown = "+inf" if weight == "inf" else f"{weight:+.2f}"
        print(f"  {shown:>7}  {reason['code']}: {reason['message']}")
    for link in result["links"]:
        flags = [name for name in ("shortener", "obfuscated", "ip") if link[name]]
        print(f"  link {link['url']} ({link['registered_domain'] or link['host']}{'; ' + ', '.join(flags) if flags else ''})")
    return 0


def _serve(args, settings) -> int:
    from service import runner

    bind = args.bind or settings.bind
    workers = args.workers or settings.workers
    try:
        runner.ensure_redis(settings, start=not args.no_redis)
    except runner.RunnerError as e:
        if not args.no_redis:
            raise _UserError(str(e)) from None
        # The service scores without Redis (and says so in /readyz); it connects when Redis comes.
        print(f"spamgate: warning: {e}; serving anyway", file=sys.stderr)
    if not settings.keys_file.exists():
        print(f"spamgate: no API keys yet in {settings.keys_file}; make one with "
              "`spamgate keys add --site SITE --role client`", file=sys.stderr)
    runner.exec_gunicorn(bind, workers)
    return 0  # not reached: exec replaces this process


def _keys_add(args, settings) -> int:
    from service.auth import KeysError, add_key

    try:
        key, token = add_key(settings.keys_file, args.site, args.role, args.rate_limit)
    except KeysError as e:
        raise _UserError(str(e)) from None
    print(f"added key {key.id} for site {key.site!r}, role {key.role}, to {settings.keys_file}")
    print("the key is shown once, here; only its SHA-256 is stored:")
    print(token)
    return 0


def _feedback_export(args, settings) -> int:
    from service.store import Store, StoreUnavailable

    store = Store(settings.redis_url, prefix=settings.redis_prefix, timeout=max(settings.redis_timeout, 2.0))
    # A moderator may change their mind: only the last label given to a comment is training data.
    latest: dict[str, dict] = {}
    try:
        for stream_id, entry in store.feedback():
            subject = entry.get("verdict_id") or json.dumps(
                [entry.get("site")] + [entry.get(f) for f in ("content", "author", "author_email", "author_url")])
            entry["feedback_id"] = stream_id
            # One group per comment: its labels stay on one side of a split.
            entry.setdefault("group", f"{entry.get('site', '')}/{entry.get('verdict_id') or stream_id}")
            latest.pop(subject, None)  # re-inserted last: the output keeps the order of the final decisions
            latest[subject] = entry
    except StoreUnavailable as e:
        raise _UserError(f"cannot read the feedback: {e}") from None
    out = args.out.open("w", encoding="utf-8") if args.out else sys.stdout
    try:
        for entry in latest.values():
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
    finally:
        if args.out:
            out.close()
    print(f"exported {len(latest)} labelled comments", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
