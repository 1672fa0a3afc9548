"""Command implementations behind ``tuneforge``: each parses nothing, calls a recipe or stage
function, and prints its result. Heavy imports stay inside the functions so ``--help`` is fast."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import TuneforgeError


def _runs_dir(args) -> Path:
    from .store import default_runs_dir

    return default_runs_dir(args.runs_dir)


def _image_flags(args) -> dict:
    """The image-source flags, named as DataConfig and evaluate_run name them."""
    return {
        "image_column": args.image_column,
        "image_shape": args.image_shape,
        "labels_file": args.labels_file,
    }


def cmd_data_check(args) -> int:
    from .config import DataConfig
    from .data import check_file, check_images, detect_task, format_check_report, format_image_check

    flags = {"text_column": args.text_column, "format": args.format, **_image_flags(args)}
    if detect_task(DataConfig(args.file, task=args.task or "auto", **flags)) == "image":
        image_report = check_images(
            args.file,
            image_column=args.image_column,
            label_column=args.label_column,
            shape=args.image_shape,
            labels_path=args.labels_file,
        )
        print(format_image_check(image_report))
        return 1 if image_report.blocking else 0

    from .models import load_tokenizer, resolve_model_dir
    from .train import count_tokens

    tokenizer = load_tokenizer(resolve_model_dir(args.model))
    report = check_file(
        args.file,
        args.text_column,
        args.label_column,
        args.format,
        count_tokens=lambda texts: count_tokens(tokenizer, texts),
        max_length=args.max_length,
    )
    print(format_check_report(report))
    return 1 if report.blocking else 0


def _set_flags(base: dict, flags: dict) -> None:
    for (section, key), value in flags.items():
        if value is not None:
            base[section][key] = value


def _run_base(args, method: str | None) -> dict:
    """The run config that `train` and `tune` share: data, model, seed and method flags."""
    base: dict = {"data": {}, "model": {}, "train": {}, "method": {}}
    base["runs_dir"] = str(_runs_dir(args))
    _set_flags(
        base,
        {
            ("data", "train_file"): args.train_file,
            ("data", "val_file"): args.val,
            ("data", "test_file"): args.test,
            ("data", "task"): args.task,
            ("data", "text_column"): args.text_column,
            ("data", "label_column"): args.label_column,
            ("data", "image_column"): args.image_column,
            ("data", "image_shape"): args.image_shape,
            ("data", "labels_file"): args.labels_file,
            ("data", "format"): args.format,
            ("model", "name"): args.model,
            ("data", "seed"): args.seed,
            ("train", "seed"): args.seed,
            ("method", "name"): method,
        },
    )
    return base


def cmd_train(args) -> int:
    from .config import load_config
    from .console import metrics_table, out
    from .recipes.finetune import run_finetune

    if args.nproc is not None and args.nproc > 1 and "LOCAL_RANK" not in os.environ:
        from .train.distributed import relaunch_with_torchrun

        return relaunch_with_torchrun(args.argv, args.nproc)
    if not args.resume and not args.train_file and not args.config:
        raise TuneforgeError("train needs a TRAIN_FILE (or --resume RUN, or --config YAML).")
    base = _run_base(args, method=args.method)
    _set_flags(
        base,
        {
            ("model", "max_length"): args.max_length,
            ("train", "epochs"): args.epochs,
            ("train", "batch_size"): args.batch_size,
            ("train", "lr"): args.lr,
            ("train", "precision"): args.precision,
        },
    )
    if args.name:
        base["name"] = args.name
    cfg = load_config(args.config, args.overrides, base=base)
    result = run_finetune(cfg, resume=args.resume, progress=not args.no_progress)
    if result is None:  # a helper rank of a torchrun job: rank 0 reports the run
        return 0
    out.print(f"run id:  {result.run_id}")
    out.print(f"run dir: {result.run_dir}")
    out.print(metrics_table(f"{result.eval.split} metrics", result.eval.to_dict()))
    out.print(f"report:  {result.run_dir / 'report.html'}")
    return 0


def cmd_tune(args) -> int:
    from .console import out, trials_table
    from .recipes.sweep import run_search
    from .store import default_store_url
    from .tune import TuneConfig, default_space, load_space

    runs_dir = _runs_dir(args)
    base = _run_base(args, method=args.method)
    space = load_space(args.space) if args.space else default_space(args.method)
    cfg = TuneConfig(
        study=args.study or f"tune-{args.method}",
        storage=args.storage or default_store_url(runs_dir),
        trials=args.trials,
        timeout_s=args.timeout,
        jobs=args.jobs,
        prune=not args.no_prune,
        seed=args.seed if args.seed is not None else 42,
    )
    result = run_search(base, args.overrides, space, cfg)
    out.print(trials_table(result))
    report = runs_dir / "studies" / cfg.study / "report.html"
    if result.best_run_id:
        out.print(f"best run: {result.best_run_id}  ({runs_dir / result.best_run_id})")
    out.print(f"report:   {report}")
    return 0


def cmd_evaluate(args) -> int:
    from .console import metrics_table, out
    from .recipes.use import evaluate_run

    report, path = evaluate_run(
        args.run,
        _runs_dir(args),
        args.data,
        args.text_column,
        args.label_column,
        args.format,
        **_image_flags(args),
    )
    out.print(metrics_table(f"{args.data}", report.to_dict()))
    out.print(f"written: {path}")
    return 0


def cmd_predict(args) -> int:
    from .console import out, predictions_table, to_json_lines
    from .recipes.use import predict_run

    if not args.texts and not args.input:
        raise TuneforgeError("predict needs TEXT (or IMAGE file) arguments or --input FILE.")
    inputs, predictions, image = predict_run(
        args.run,
        _runs_dir(args),
        args.texts,
        args.input,
        text_column=args.text_column,
        image_column=args.image_column,
        fmt=args.format,
        top_k=args.top_k,
    )
    name = "image" if image else "text"
    if args.output:
        _write_predictions(Path(args.output), inputs, predictions, name)
        out.print(f"written: {args.output} ({len(inputs)} predictions)")
    elif sys.stdout.isatty() or len(inputs) <= 20:
        out.print(predictions_table(inputs, predictions, name))
    else:
        sys.stdout.write(to_json_lines(inputs, predictions, name))
    return 0


def cmd_export(args) -> int:
    from .console import out, parity_table
    from .recipes.release import export_run

    path, report = export_run(args.run, _runs_dir(args), args.format, args.quantize, args.output)
    out.print(parity_table([report.to_dict()]))
    out.print(f"artifact: {path}")
    return 0


def cmd_compress(args) -> int:
    from .console import out, tradeoff_table
    from .recipes.release import compress_run

    variants = [v.strip() for v in args.variants.split(",")] if args.variants else None
    data = compress_run(
        args.run,
        _runs_dir(args),
        variants,
        args.max_accuracy_drop,
        args.data,
        log=lambda m: print(m, file=sys.stderr),
    )
    out.print(tradeoff_table(data))
    out.print(
        f"recommended: {data['recommended']} (fastest single request within "
        f"{data['max_accuracy_drop']} accuracy points)"
    )
    return 0


def cmd_serve(args) -> int:
    from .recipes.serving import serve
    from .serve import ServeSettings, load_token

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
        token=load_token(args.token_file),
        workers=args.workers,
    )
    serve(
        args.model,
        _runs_dir(args),
        args.variant,
        settings,
        log_predictions=not args.no_log,
        log_inputs=args.log_inputs,
    )
    return 0


def cmd_monitor(args) -> int:
    import datetime as dt
    import json

    from .monitor.page import write_monitor_page
    from .monitor.rules import AlertState, load_rules, parse_duration
    from .recipes.monitoring import (
        evaluate_rules,
        monitored_model,
        open_store,
        series,
        watch,
        window_stats,
    )

    runs_dir = _runs_dir(args)
    store = open_store(runs_dir)
    name, reference = monitored_model(args.model, runs_dir)
    now = dt.datetime.fromisoformat(args.at) if args.at else dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    window = parse_duration(args.window)
    stats = window_stats(store, name, reference, now - window, now)
    print(json.dumps(stats, indent=1))
    if args.html:
        write_monitor_page(Path(args.html), name, series(store, name, reference, now - window, now))
        print(f"written: {args.html}", file=sys.stderr)
    if args.rules:
        rules, sinks = load_rules(args.rules)
        state = AlertState(runs_dir / "monitor" / f"{name}-alerts.json")
        if args.watch:
            watch(
                store,
                name,
                reference,
                rules,
                sinks,
                state,
                args.interval,
                log=lambda m: print(m, file=sys.stderr),
            )
        for alert in evaluate_rules(store, name, reference, rules, sinks, state, now):
            print(f"alert fired: {alert['rule']}", file=sys.stderr)
    return 0


def _registry(args):
    from .store import Registry

    return Registry(_store(args))


def cmd_registry_list(args) -> int:
    from .console import out, versions_table

    registry = _registry(args)
    names = registry.names()
    if not names:
        out.print("no registered models yet")
    for name in names:
        out.print(versions_table(name, registry.versions(name)))
    return 0


def cmd_registry_show(args) -> int:
    from .console import out, versions_table

    versions = _registry(args).versions(args.name)
    if not versions:
        raise TuneforgeError(f"No model named '{args.name}' in the registry.")
    out.print(versions_table(args.name, versions))
    return 0


def cmd_registry_promote(args) -> int:
    from .console import out
    from .recipes.release import promote

    v = promote(args.ref, _runs_dir(args), args.name, args.stage, force=args.force)
    forced = " (forced)" if v.forced else ""
    out.print(f"{v.name} v{v.version} → {v.stage}{forced}: {v.run_id}:{v.variant}")
    return 0


def cmd_registry_rollback(args) -> int:
    from .console import out

    v = _registry(args).rollback(args.name, args.stage)
    out.print(f"{v.name}@{v.stage} is now v{v.version} ({v.run_id}:{v.variant})")
    return 0


def _write_predictions(path: Path, inputs, predictions, name: str = "text") -> None:
    from .console import to_json_lines

    if path.suffix == ".csv":
        import pandas as pd

        rows = [{name: t, "label": p.label, "score": p.score} for t, p in zip(inputs, predictions)]
        pd.DataFrame(rows).to_csv(path, index=False)
    else:
        path.write_text(to_json_lines(inputs, predictions, name), encoding="utf-8")


def _store(args):
    from .store import RunStore, default_store_url

    return RunStore(default_store_url(_runs_dir(args)))


def _final_metrics(store, run_id: str) -> dict:
    return store.latest_metrics(run_id, "test") or store.latest_metrics(run_id, "val")


def cmd_runs_list(args) -> int:
    from .console import out, runs_table

    store = _store(args)
    records = store.list_runs(limit=args.limit)
    if not records:
        out.print(f"no runs yet in {_runs_dir(args)}")
        return 0
    out.print(runs_table(records, {r.id: _final_metrics(store, r.id) for r in records}))
    return 0


def cmd_runs_show(args) -> int:
    import json

    from .console import out
    from .store import resolve_run

    run = resolve_run(args.run, _runs_dir(args))
    status = run.status()
    out.print(json.dumps(status, indent=2))
    ev = run.eval_path
    if ev.is_file():
        data = json.loads(ev.read_text(encoding="utf-8"))
        out.print(
            f"{data['split']}: accuracy {data['accuracy']:.4f}  "
            f"macro-F1 {data['macro_f1']:.4f}  (n={data.get('n')})"
        )
    out.print(f"report: {run.report_path}")
    return 0


def cmd_runs_compare(args) -> int:
    from .console import compare_table, out
    from .store import resolve_run

    store = _store(args)
    ids = [resolve_run(r, _runs_dir(args)).run_id for r in args.runs]
    params = [store.params(i) for i in ids]
    finals = [_final_metrics(store, i) for i in ids]
    out.print(compare_table(ids, params, finals))
    return 0
