"""The four corpora read from the Hugging Face hub through `datasets`, as the same Documents as the local files.

Where each corpus comes from (see `HUB_SOURCES`):

- chemprot: `bigbio/chemprot`, parquet export (`refs/convert/parquet`), config `chemprot_shared_task_eval_source`
  (the official *_gold_standard.tsv: CPR:3/4/5/6/9 only); if that folder is missing, `chemprot_full_source` (every
  relation CPR:0-10, eval flag dropped) filtered to the five groups, deduplicated and put back in gold-file order.
- cdr: `bigbio/bc5cdr`, parquet export, config `bc5cdr_source` (BioC with document-level CID relations between MeSH
  ids); if missing, `bc5cdr_bigbio_kb` (CID expanded to mention pairs, folded back to concept pairs here).
- ddi: `bigbio/ddi_corpus`, parquet export, config `ddi_corpus_source` (train and test only).
- dce: `allenai/drug-combo-extraction`, the repository's own JSON-lines files (train and test only).

`datasets` >= 4 no longer runs loading scripts, hence the parquet exports of the bigbio repositories. A split's files
are fetched with `huggingface_hub.snapshot_download` into the hub cache and read with `datasets.load_dataset`; both
libraries are imported inside functions only. When the hub cannot be reached (a 3-second probe of the endpoint) or
HF_HUB_OFFLINE / HF_DATASETS_OFFLINE is set, only the local cache is used, and `HubUnavailableError` is raised within
seconds if the files are not in it.

The row -> Document converters are plain functions, so that they can be tested on rows shaped like the hub's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from bre_core.datasets.hub_documents import documents_from_hub_rows
from bre_core.datasets.hub_rows import (
    CDR_KB,
    CDR_SOURCE,
    CHEMPROT_FULL,
    CHEMPROT_SHARED_TASK,
    document_from_cdr_kb_row,
    document_from_cdr_source_row,
    document_from_chemprot_row,
)
from bre_core.datasets.hub_sources import (
    DCE_REVISION,
    DDI_SOURCE,
    HUB_SOURCES,
    PARQUET_REVISION,
    SPLITS,
    HubSource,
    hub_source,
    hub_split,
    origin_of,
)
from bre_core.datasets.splits import DEFAULT_SPLIT_SEED
from bre_core.errors import BreError, DataError, HubUnavailableError, UnknownNameError
from bre_core.hub_access import endpoint, offline_setting, probe
from bre_core.schema import Document

# --- loading ---------------------------------------------------------------------------------------------


def load_split(dataset: str, split: str, split_seed: int | str = DEFAULT_SPLIT_SEED) -> list[Document]:
    """The documents of one split read from the hub, equal to what the local loader makes of the official files.

    The split's files are fetched with `huggingface_hub.snapshot_download` (so they stay in the hub cache for later
    offline use) and read with `datasets.load_dataset`. Raises HubUnavailableError within seconds when the hub
    cannot be reached (or offline mode is set) and the files are not cached; DataError for anything else.
    """
    source = hub_source(dataset)
    if split not in SPLITS:
        raise UnknownNameError("split", split, SPLITS)
    rows, config = _fetch_rows(dataset, split, source)
    return documents_from_hub_rows(
        dataset,
        split,
        rows,
        config=config,
        split_seed=split_seed,
        origin=origin_of(source, config, hub_split(dataset, split)),
    )


def _fetch_rows(dataset: str, split: str, source: HubSource) -> tuple[list[dict], str | None]:
    """The raw rows of the hub split, and the config they came from."""
    wanted = hub_split(dataset, split)
    offline = offline_setting()
    unreachable = None if offline else probe(endpoint())
    local_only = offline is not None or unreachable is not None
    try:
        import datasets
        import huggingface_hub  # noqa: F401
    except ImportError as exc:
        raise BreError(
            f"Reading {dataset} from the hub needs the `datasets` package ({exc}). Install it with "
            f"`pip install -r requirements.txt`, or read the local files with --data-dir."
        ) from None

    failures = []
    for config in source.configs:
        origin = origin_of(source, config, wanted)
        try:
            files = _hub_files(source, config, wanted, local_only)
        except Exception as exc:  # noqa: BLE001 - an unreachable hub, a missing revision, an uncached file ...
            failures.append(f"{origin}: {_describe(exc)}")
            if not local_only and _is_connection_error(exc):
                # The hub went away half-way (snapshot_download already looked in the cache for this config).
                unreachable, local_only = f"the connection failed while fetching {source.repo}", True
            continue
        if not files:
            failures.append(
                f"{origin}: no files for this split" + (" in the local cache" if local_only else " in the repository")
            )
            continue
        try:
            with _no_download_counts():
                table = datasets.load_dataset(
                    source.builder, data_files={wanted: [str(f) for f in files]}, split=wanted
                )
        except Exception as exc:  # noqa: BLE001 - a damaged or unexpected file: say which
            raise DataError(
                f"could not read {origin} with `datasets` ({type(exc).__name__}: {exc}).",
                path=", ".join(str(f) for f in files),
                hint="Delete these files from the Hugging Face cache and run again.",
            ) from None
        return table.to_list(), config

    if local_only:
        reason = f"{offline} is set" if offline is not None else unreachable
        raise HubUnavailableError(_unavailable_message(dataset, split, source, reason, failures))
    raise DataError(
        f"could not read the {dataset} {split} split from the Hugging Face hub:\n  " + "\n  ".join(failures),
        hint=f"Read the official files instead: `python -m bre_core data download --dataset {dataset} "
        f"--data-dir DIR`, then --data-dir DIR (or BRE_DATA_DIR=DIR).",
    )


def _split_patterns(source: HubSource, config: str | None, split: str) -> list[str]:
    """Where the files of a split lie: `config/split/NNNN.parquet` (current export layout), `config/partial-split/`
    (export of a large split), `config/<name>-split[-NNNNN-of-NNNNN].parquet` (older layout), or a named file."""
    if config is None:
        return [source.files[split]] if source.files and split in source.files else []
    return [
        f"{config}/{split}/*",
        f"{config}/partial-{split}/*",
        f"{config}/*-{split}.parquet",
        f"{config}/*-{split}-*-of-*.parquet",
        f"{config}/{split}.parquet",
    ]


def _hub_files(source: HubSource, config: str | None, split: str, local_only: bool) -> list:
    """The local paths of the split's files, downloaded into (or, with `local_only`, found in) the hub cache."""
    import fnmatch
    from pathlib import Path

    from huggingface_hub import snapshot_download

    patterns = _split_patterns(source, config, split)
    if not patterns:
        return []
    folder = Path(
        snapshot_download(
            source.repo,
            repo_type="dataset",
            revision=source.revision,
            allow_patterns=patterns,
            local_files_only=local_only,
        )
    )
    if not folder.is_dir():  # nothing matched: the config or split is not in this revision
        return []
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
            found.append(path)
    return found


def _unavailable_message(dataset: str, split: str, source: HubSource, reason: str, failures: list[str]) -> str:
    return (
        f"The Hugging Face hub is unreachable ({reason}), and the {dataset} {split} split ({source.repo}) is "
        f"not in the local cache.\n"
        f"To proceed, either download the corpus on a machine with internet access with "
        f"`python -m bre_core data download --dataset {dataset} --data-dir DIR` and copy DIR here, or use the "
        f"local release files: --data-dir DIR (or BRE_DATA_DIR=DIR) instead of the hub source.\n"
        f"(tried: " + "; ".join(failures) + ")"
    )


def _describe(exc: BaseException) -> str:
    if type(exc).__name__ in ("LocalEntryNotFoundError", "IncompleteSnapshotError"):
        return "not in the local hub cache" + (" (incomplete)" if "Incomplete" in type(exc).__name__ else "")
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


@contextlib.contextmanager
def _no_download_counts() -> Iterator[None]:
    """`datasets` pings a download counter (up to 3 s) even for local files; there is nothing to count here."""
    import datasets.config as ds_config

    saved = ds_config.HF_UPDATE_DOWNLOAD_COUNTS
    ds_config.HF_UPDATE_DOWNLOAD_COUNTS = False
    try:
        yield
    finally:
        ds_config.HF_UPDATE_DOWNLOAD_COUNTS = saved


def _is_connection_error(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (ConnectionError, TimeoutError)) or type(exc).__name__ in (
            "ConnectError",
            "ConnectTimeout",
            "ReadTimeout",
            "TimeoutException",
            "OfflineModeIsEnabled",
            "LocalEntryNotFoundError",
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


__all__ = [
    "CDR_KB",
    "CDR_SOURCE",
    "CHEMPROT_FULL",
    "CHEMPROT_SHARED_TASK",
    "DCE_REVISION",
    "DDI_SOURCE",
    "PARQUET_REVISION",
    "HUB_SOURCES",
    "HubSource",
    "load_split",
    "hub_split",
    "documents_from_hub_rows",
    "document_from_chemprot_row",
    "document_from_cdr_source_row",
    "document_from_cdr_kb_row",
]
