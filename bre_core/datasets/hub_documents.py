"""Hub rows -> Documents: each corpus's rows converted, ordered and split as the local loader does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bre_core.datasets import dce as _dce
from bre_core.datasets import ddi as _ddi
from bre_core.datasets.hub_rows import (
    CDR_KB,
    CDR_SOURCE,
    CHEMPROT_FULL,
    CHEMPROT_SHARED_TASK,
    chemprot_full_row,
    chemprot_shared_task_row,
    document_from_cdr_kb_row,
    document_from_cdr_source_row,
)
from bre_core.datasets.hub_sources import DDI_SOURCE, SPLITS, hub_source, hub_split, origin_of
from bre_core.datasets.splits import DEFAULT_SPLIT_SEED, seeded_split
from bre_core.errors import BreError, DataError, UnknownNameError
from bre_core.schema import Document


def documents_from_hub_rows(
    dataset: str,
    split: str,
    rows: Sequence[Mapping],
    *,
    config: str | None = None,
    split_seed: int | str | None = DEFAULT_SPLIT_SEED,
    origin: str | None = None,
) -> list[Document]:
    """The Documents of `split` from the rows of hub split `hub_split(dataset, split)`, in the local loader's order.

    `config` names the hub config the rows come from (None: the first of `HUB_SOURCES[dataset].configs`).
    DDI rows are put in the reference order first (DrugBank documents, then MedLine, each by document id): the hub
    builder lists the files in directory order. Validation of DDI and DCE is the seeded share of train, as locally.
    """
    source = hub_source(dataset)
    if split not in SPLITS:
        raise UnknownNameError("split", split, SPLITS)
    config = source.configs[0] if config is None else config
    if config not in source.configs:
        raise UnknownNameError(f"{dataset} hub config", str(config), [str(c) for c in source.configs])
    origin = origin or origin_of(source, config, hub_split(dataset, split))
    numbered = [(i, _mapping(row, dataset, origin, i)) for i, row in enumerate(rows, start=1)]
    if dataset == "ddi":
        numbered.sort(key=lambda item: _ddi_order(item[1]))
    if source.seeded_validation:
        numbered = seeded_split(numbered, split, split_seed, dataset)
    convert = _CONVERTERS[(dataset, config)]
    documents = []
    for number, row in numbered:
        where = f"{dataset}: hub row {number} of {origin}{_row_label(dataset, row)}"
        try:
            documents.append(convert(row, split, where))
        except BreError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"malformed row ({type(exc).__name__}: {exc}).", path=where) from None
    return documents


def _mapping(row, dataset: str, origin: str, number: int) -> Mapping:
    if not isinstance(row, Mapping):
        raise DataError(
            f"expected a mapping of column names to values, got {type(row).__name__}.",
            path=f"{dataset}: hub row {number} of {origin}",
        )
    return row


def _row_label(dataset: str, row: Mapping) -> str:
    key = {"chemprot": "pmid", "ddi": "document_id", "dce": "doc_id"}.get(dataset)
    value = row.get(key) if key else row.get("document_id")
    if dataset == "cdr" and value is None:
        passages = row.get("passages")
        if isinstance(passages, list) and passages and isinstance(passages[0], Mapping):
            value, key = passages[0].get("document_id"), "document_id"
    return f" ({key or 'document_id'} {value})" if value is not None else ""


def _ddi_order(row: Mapping) -> tuple[bool, str]:
    document_id = str(row.get("document_id", ""))
    return document_id.isdigit(), document_id  # MedLine documents are PubMed ids; DrugBank ones are drug names


def _ddi_row(row: Mapping, split: str, where: str) -> Document:
    return _ddi.document_from_row(dict(row), split, where, None)


def _dce_row(row: Mapping, split: str, where: str) -> Document:
    return _dce.document_from_row(dict(row), split, where, None)


_CONVERTERS = {
    ("chemprot", CHEMPROT_SHARED_TASK): chemprot_shared_task_row,
    ("chemprot", CHEMPROT_FULL): chemprot_full_row,
    ("cdr", CDR_SOURCE): document_from_cdr_source_row,
    ("cdr", CDR_KB): document_from_cdr_kb_row,
    ("ddi", DDI_SOURCE): _ddi_row,
    ("dce", None): _dce_row,
}
