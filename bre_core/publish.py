"""`publish`: each run's checkpoint to its own hub model repository, then a Space (or a folder) that serves them.

Order makes a failure half-way harmless: checkpoints first (each run folder records the hub id and commit it went
to), then the Space files, whose models file lists only the checkpoints that were published. Before uploading,
the repository's files are compared with the local ones by content hash: publishing unchanged runs uploads nothing,
and running the command again after a failure uploads only what is missing.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bre_core.atomic import write_text_atomic
from bre_core.config import ModelsFile
from bre_core.errors import BreError
from bre_core.model_card import model_card
from bre_core.runs import MANIFEST, Run, find_runs, read_run
from bre_core.runs.variants import CHECKPOINT, checkpoint_kind, run_variant_key, variant_id
from bre_core.space_folder import write_space

KEEP_REMOTE = {".gitattributes"}  # what a repository has that a publish never deletes


@dataclass(frozen=True)
class Published:
    """One checkpoint on the hub: its run, repository and commit, and whether this publish uploaded anything."""

    run: Run
    hub_id: str
    revision: str
    uploaded: bool


@dataclass(frozen=True)
class PublishResult:
    published: list[Published]
    failed: list[tuple[Path, str]]  # run folder, why
    space: str | None  # the Space's repository id or the folder written
    space_revision: str | None = None
    space_uploaded: bool = False


def repo_id_for(prefix: str, run: Run) -> str:
    """USER/bre- + 'flan-t5-base-chemprot-full-seed42': the hub's allowed characters, at most 96 in the name."""
    model, dataset, setting, seed = run_variant_key(run.manifest)
    owner, _, start = prefix.partition("/")
    if not owner or not _:
        raise BreError(
            f"--repo-prefix '{prefix}': give USER/PREFIX, e.g. yourname/bre- (the owner, a slash, a prefix)."
        )
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{start}{model}-{dataset}-{setting}-seed{seed}").strip("-.")[:96]
    return f"{owner}/{name}"


def collect_runs(paths: list[str | Path]) -> list[Run]:
    """The run folders named (a folder of run folders stands for all of them); a damaged one is an error."""
    runs = []
    for path in map(Path, paths):
        if (path / MANIFEST).is_file():
            runs.append(read_run(path))
            continue
        found, warnings = find_runs(path)
        if warnings:
            raise BreError(
                f"{path}: some run folders cannot be read; fix or remove them first:\n" + "\n".join(warnings)
            )
        if not found:
            raise BreError(f"{path}: no run folder (manifest.json) here or below; give folders written by finetune.")
        runs.extend(found)
    return runs


def publish(
    paths: list[str | Path],
    repo_prefix: str,
    models: ModelsFile,
    *,
    space: str | None = None,
    to: str | Path | None = None,
    api=None,
    log=print,
) -> PublishResult:
    """Publish the finetuned checkpoints of these runs, then the Space (`space`) or its folder (`to`)."""
    from huggingface_hub import HfApi

    if (space is None) == (to is None):
        raise BreError("give one of --space USER/NAME (a Space repository) or --to DIR (a folder to push later).")
    api = api or HfApi()
    runs = collect_runs(paths)
    for run in runs:
        model, dataset = run_variant_key(run.manifest)[:2]
        if (run.path / CHECKPOINT).is_dir() and (dataset is None or model not in models.names):
            raise BreError(
                f"{run.path}: its checkpoint is not a finetuning of a models-file model (model '{model}'); publish "
                f"runs written by `finetune --model NAME` with a NAME of the models file ({', '.join(models.names)})."
            )
    published, failed, plain = [], [], []
    for run in runs:
        kind = checkpoint_kind(run.path)
        if kind != "model":
            if kind == "adapter":  # a hub id names whole models only: the Space could not load an adapter repository
                log(f"not published: {run.name} holds a LoRA adapter; its run folder goes to the Space without it")
            plain.append(run)
            continue
        try:
            published.append(publish_checkpoint(api, run, repo_id_for(repo_prefix, run)))
            done = published[-1]
            log(f"{'uploaded' if done.uploaded else 'unchanged'}: {run.name} -> {done.hub_id}@{done.revision}")
        except BreError:
            raise
        except Exception as exc:  # a network or hub refusal: the others still go, and the Space lists what went
            failed.append((run.path, f"{type(exc).__name__}: {exc}"))
            log(f"failed: {run.name}: {type(exc).__name__}: {exc}")
    entries = list(published)
    space_runs = [p.run for p in published] + plain
    if to is not None:
        write_space(Path(to), space_runs, entries_yaml(models, entries), [p.hub_id for p in entries])
        return PublishResult(published, failed, str(to))
    with tempfile.TemporaryDirectory(prefix="bre-space-") as staging:
        folder = Path(staging) / "space"
        write_space(folder, space_runs, entries_yaml(models, entries), [p.hub_id for p in entries])
        api.create_repo(space, repo_type="space", space_sdk="gradio", exist_ok=True)
        files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
        revision, uploaded = sync(api, space, "space", files, "bre publish: dashboards and finetuned checkpoints")
    log(f"{'uploaded' if uploaded else 'unchanged'}: Space {space}@{revision}")
    return PublishResult(published, failed, space, revision, uploaded)


def publish_checkpoint(api, run: Run, repo_id: str) -> Published:
    """The run's checkpoint and model card to `repo_id`; the run's manifest then records the repository and commit."""
    api.create_repo(repo_id, exist_ok=True)
    checkpoint = run.path / CHECKPOINT
    files: dict[str, Path | bytes] = {
        p.relative_to(checkpoint).as_posix(): p for p in sorted(checkpoint.rglob("*")) if p.is_file()
    }
    files["README.md"] = model_card(run).encode("utf-8")
    revision, uploaded = sync(api, repo_id, "model", files, f"bre publish: {run.name}")
    record = {"hub_id": repo_id, "revision": revision}
    if run.manifest.get("published") != record:
        manifest = dict(run.manifest.raw, published=record)
        write_text_atomic(run.path / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        run = read_run(run.path)
    return Published(run, repo_id, revision, uploaded)


def sync(api, repo_id: str, repo_type: str, files: dict[str, Path | bytes], message: str) -> tuple[str, bool]:
    """Make the repository's main branch hold exactly `files` (plus .gitattributes): (commit sha, whether it changed).

    Nothing is sent when every file is there with the same content (git blob id, or sha256 for an LFS file).
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.hf_api import RepoFile

    remote = {
        entry.path: entry
        for entry in api.list_repo_tree(repo_id, repo_type=repo_type, recursive=True)
        if isinstance(entry, RepoFile)
    }
    changed = [path for path, content in files.items() if not _same(remote.get(path), content)]
    stale = [path for path in remote if path not in files and path not in KEEP_REMOTE]
    if not changed and not stale:
        return api.repo_info(repo_id, repo_type=repo_type).sha, False
    operations = [
        CommitOperationAdd(
            path_in_repo=path, path_or_fileobj=files[path] if isinstance(files[path], bytes) else str(files[path])
        )
        for path in changed
    ] + [CommitOperationDelete(path_in_repo=path) for path in stale]
    info = api.create_commit(repo_id, operations, commit_message=message, repo_type=repo_type)
    return info.oid, True


def _same(entry, content: Path | bytes) -> bool:
    if entry is None:
        return False
    if entry.lfs is not None:
        return _digest(content, hashlib.sha256()) == entry.lfs.sha256
    size = len(content) if isinstance(content, bytes) else content.stat().st_size
    return _digest(content, hashlib.sha1(b"blob %d\0" % size)) == entry.blob_id


def _digest(content: Path | bytes, hasher) -> str:
    if isinstance(content, bytes):
        hasher.update(content)
    else:
        with open(content, "rb") as stream:
            while chunk := stream.read(1 << 20):
                hasher.update(chunk)
    return hasher.hexdigest()


def entries_yaml(models: ModelsFile, published: list[Published]) -> dict:
    """The models file of the Space: every entry of `models`, and one per published checkpoint pinned by commit."""
    names = {variant_id(*run_variant_key(p.run.manifest)) for p in published}
    listed = [spec.model_dump(mode="json", exclude_none=True) for spec in models.models if spec.name not in names]
    for item in published:
        model, dataset, setting, seed = run_variant_key(item.run.manifest)
        listed.append(
            {
                "name": variant_id(model, dataset, setting, seed),
                "hub_id": item.hub_id,
                "revision": item.revision,
                "finetuned": {"base": model, "dataset": dataset, "setting": setting, "seed": seed},
            }
        )
    return {
        "models": listed,
        "pairs": {group: [list(pair) for pair in pairs] for group, pairs in models.pairs.items()},
        "default_pair": list(models.default_pair),
    }
