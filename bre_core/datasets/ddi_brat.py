"""DDI-2013's BRAT release (.txt + .ann pairs in a zip) -> records in the `bigbio/ddi_corpus` source layout."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from bre_core.errors import DownloadError


def is_junk(name: str) -> bool:
    """macOS resource forks and Finder files that some zips of these corpora carry."""
    parts = PurePosixPath(name).parts
    return "__MACOSX" in parts or any(part.startswith(".") for part in parts)


def brat_documents(
    archive: zipfile.ZipFile, url: str, splits_wanted: tuple[str, ...]
) -> dict[str, list[tuple[tuple[str, str], dict]]]:
    """{"Train"|"Test": [((source folder, document id), record)]}; records in the `ddi_corpus_source` layout."""
    names = set(archive.namelist())
    splits: dict[str, list] = {}
    seen: dict[str, set[str]] = {}
    for name in sorted(names):
        parts = PurePosixPath(name).parts
        if not name.endswith(".txt") or is_junk(name) or "DDICorpusBrat" not in parts:
            continue
        root = parts.index("DDICorpusBrat")
        if len(parts) < root + 3 or parts[root + 1] not in splits_wanted:
            continue
        split, document_id = parts[root + 1], PurePosixPath(name).name[: -len(".txt")]
        if document_id in seen.setdefault(split, set()):
            raise DownloadError(f"{url}: document {document_id} appears twice under DDICorpusBrat/{split}/.")
        seen[split].add(document_id)
        ann_name = name[: -len(".txt")] + ".ann"
        ann = _read_text(archive, ann_name, url) if ann_name in names else ""
        record = _ddi_record(document_id, _read_text(archive, name, url), ann, f"{url}: {ann_name}")
        # DrugBank before MedLine, then by document id: the reference files' order.
        splits.setdefault(split, []).append(((parts[-2], document_id), record))
    return splits


def _read_text(archive: zipfile.ZipFile, name: str, url: str) -> str:
    """Text mode with universal newlines, as the hub loader reads the files: \\r\\n and \\r become \\n."""
    try:
        with io.TextIOWrapper(archive.open(name), encoding="utf-8", newline=None) as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        raise DownloadError(
            f"{url}: {name} is not valid UTF-8 ({exc.reason} at byte {exc.start}); the archive "
            f"is not the official release."
        ) from None


def _ddi_record(document_id: str, text: str, ann: str, where: str) -> dict:
    entities, relations = [], []
    for number, line in enumerate(ann.split("\n"), start=1):
        line = line.strip()
        try:
            if line.startswith("T"):
                entities.append(_brat_entity(line))
            elif line.startswith("R"):
                relations.append(_brat_relation(line))
        except (ValueError, IndexError):
            raise DownloadError(
                f"{where}, line {number}: not a BRAT annotation: {line[:120]!r}. The archive is "
                f"not the official release."
            ) from None
    return {"document_id": document_id, "text": text, "entities": entities, "relations": relations}


def _brat_entity(line: str) -> dict:
    """`T1<TAB>DRUG 45 53[;60 70]<TAB>mention`; a discontinuous mention keeps its first fragment, as on the hub."""
    tid, type_and_spans, mention = line.split("\t")[:3]
    etype = type_and_spans.split()[0]
    spans = [tuple(int(x) for x in span.split()) for span in type_and_spans[len(etype) :].strip().split(";")]
    start, end = spans[0]
    first_text = mention[: end - start] if len(spans) > 1 else mention
    return {"offsets": [start, end], "text": first_text, "type": etype, "id": tid}


def _brat_relation(line: str) -> dict:
    """`R1<TAB>EFFECT Arg1:T1 Arg2:T2`."""
    rid, body = line.split("\t")[:2]
    rtype, head, tail = body.split()[:3]
    head_role, head_ref = head.split(":")[:2]
    tail_role, tail_ref = tail.split(":")[:2]
    return {
        "id": rid,
        "head": {"ref_id": head_ref, "role": head_role},
        "tail": {"ref_id": tail_ref, "role": tail_role},
        "type": rtype,
    }
