"""Hub rows -> Documents: the bigbio ChemProt and BC5CDR schemas, converted to what the local loaders produce."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bre_core.datasets.cdr import Concepts
from bre_core.datasets.hub_fields import mapping_at, offsets_pair, records_at, typed_field
from bre_core.errors import DataError
from bre_core.schema import Document, Entity, Relation

CHEMPROT_SHARED_TASK = "chemprot_shared_task_eval_source"
CHEMPROT_FULL = "chemprot_full_source"
CDR_SOURCE = "bc5cdr_source"
CDR_KB = "bc5cdr_bigbio_kb"
CHEMPROT_GOLD_GROUPS = ("CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9")

# --- ChemProt ------------------------------------------------------------------------------------------------


def document_from_chemprot_row(
    row: Mapping, split: str, where: str = "chemprot: hub row", *, config: str = CHEMPROT_SHARED_TASK
) -> Document:
    """One `bigbio/chemprot` source row (`pmid`, `text`, `entities`, `relations`) -> Document.

    The hub `text` is title + "\\n" + abstract; the local text (and the entity offsets) use one space instead.
    With `chemprot_full_source` the relations are every annotated one (CPR:0-10, duplicates included): the gold
    standard is the CPR:3/4/5/6/9 ones, deduplicated, in the order of the official *_gold_standard.tsv (sorted by
    group and arguments, comparing letters and digits only). With `chemprot_shared_task_eval_source` they are the
    gold-standard rows already, kept in their order.
    """
    pmid = typed_field(row, "pmid", str, where)
    text = typed_field(row, "text", str, where).replace("\n", " ", 1)
    entities = []
    for i, entity in enumerate(records_at(row, "entities", where), start=1):
        at = f"{where}, entity {i}"
        offsets = offsets_pair(typed_field(entity, "offsets", (list, tuple), at), at)
        entities.append(
            Entity(
                id=typed_field(entity, "id", str, at),
                type=typed_field(entity, "type", str, at),
                names=(typed_field(entity, "text", str, at),),
                spans=(offsets,),
            )
        )
    known = {e.id for e in entities}
    relations = []
    for i, relation in enumerate(records_at(row, "relations", where), start=1):
        at = f"{where}, relation {i}"
        group = typed_field(relation, "type", str, at).strip()
        if config == CHEMPROT_FULL and group not in CHEMPROT_GOLD_GROUPS:
            continue
        args = (
            _strip_role(typed_field(relation, "arg1", str, at), "Arg1"),
            _strip_role(typed_field(relation, "arg2", str, at), "Arg2"),
        )
        for arg in args:
            if arg not in known:
                raise DataError(f"relation argument {arg} is not an entity of PMID {pmid}.", path=at)
        relations.append(Relation(label=group, args=args))
    if config == CHEMPROT_FULL:
        relations = sorted(dict.fromkeys(relations), key=_gold_order)
    return Document(
        id=pmid, dataset="chemprot", split=split, text=text, entities=tuple(entities), relations=tuple(relations)
    )


def _strip_role(cell: str, role: str) -> str:
    return cell[len(role) + 1 :] if cell.startswith(role + ":") else cell


def _gold_order(relation: Relation) -> str:
    """The order of the official gold-standard files: a locale sort of `CPR:n<TAB>Arg1:Tx<TAB>Arg2:Ty` lines."""
    return re.sub(r"[^0-9A-Za-z]", "", f"{relation.label}Arg1:{relation.args[0]}Arg2:{relation.args[1]}")


def chemprot_shared_task_row(row, split, where):
    return document_from_chemprot_row(row, split, where, config=CHEMPROT_SHARED_TASK)


def chemprot_full_row(row, split, where):
    return document_from_chemprot_row(row, split, where, config=CHEMPROT_FULL)


# --- CDR -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mention:
    id: str
    type: str
    name: str
    span: tuple[int, int] | None  # None: one part of a composite mention (a name, no span of its own)
    ids: tuple[str, ...]  # the normalised ids on the hub, "-1" included
    credit: tuple[str, ...]  # the concepts that get this name (and span)


def document_from_cdr_source_row(row: Mapping, split: str, where: str = "cdr: hub row") -> Document:
    """One `bc5cdr_source` row (BioC passages, each with its annotations and the document's CID relations) -> Document.

    Entities are MeSH concepts as in `bre_core.datasets.cdr`: names are every mention text normalised to the concept
    plus the parts of composite mentions, spans the mention spans; unnormalised mentions (-1) form no entity.
    The hub drops BioC's CompositeRole infon: a composite mention is one with several ids, and the annotations
    right after it that lie inside it are its parts (BioC lists them there). A part gives a name, not a span, to the
    composite's id at its position, as PubTator's 7th column pairs them (see `_cdr_mentions`).
    """
    passages = records_at(row, "passages", where)
    if not passages:
        raise DataError("no passages.", path=where)
    document_id = typed_field(passages[0], "document_id", str, f"{where}, passage 1")
    texts, entities, relations = [], [], []
    for i, passage in enumerate(passages, start=1):
        at = f"{where}, passage {i}"
        if typed_field(passage, "document_id", str, at) != document_id:
            raise DataError(f"passage of document {passage['document_id']} inside document {document_id}.", path=at)
        texts.append(typed_field(passage, "text", str, at))
        entities.extend((f"{at}, entity {j}", e) for j, e in enumerate(records_at(passage, "entities", at), start=1))
        listed = []
        for j, relation in enumerate(records_at(passage, "relations", at), start=1):
            rat = f"{at}, relation {j}"
            listed.append(
                Relation(
                    label=typed_field(relation, "type", str, rat),
                    args=(typed_field(relation, "arg1_id", str, rat), typed_field(relation, "arg2_id", str, rat)),
                )
            )
        # Every passage repeats the document's relations: keep the first list as it is (a CID listed twice stays
        # twice, as the local loader keeps it), and only what another passage adds to it.
        if i == 1:
            relations = listed
        else:
            for relation in listed:
                if relation not in relations:
                    relations.append(relation)
    mentions = _cdr_mentions(entities)
    return _cdr_document(document_id, split, " ".join(texts), mentions, relations)


def document_from_cdr_kb_row(row: Mapping, split: str, where: str = "cdr: hub row") -> Document:
    """One `bc5cdr_bigbio_kb` row -> Document (entities as in `document_from_cdr_source_row`).

    The kb schema expands each document-level CID (chemical MeSH, disease MeSH) to every pair of their mentions, in
    CID order. The concept pairs are read back block by block: a CID is the pair of concepts whose full mention
    product is the next run of relations. A CID whose concepts have no mention in the text is lost in this schema.
    """
    document_id = typed_field(row, "document_id", str, where)
    texts = []
    for i, passage in enumerate(records_at(row, "passages", where), start=1):
        texts.extend(typed_field(passage, "text", list, f"{where}, passage {i}"))
    if not all(isinstance(t, str) for t in texts):
        raise DataError("passage text is not a list of strings.", path=where)
    mentions = _cdr_mentions((f"{where}, entity {j}", e) for j, e in enumerate(records_at(row, "entities", where), 1))
    pairs = []
    for i, relation in enumerate(records_at(row, "relations", where), start=1):
        at = f"{where}, relation {i}"
        pairs.append(
            (
                typed_field(relation, "type", str, at),
                typed_field(relation, "arg1_id", str, at),
                typed_field(relation, "arg2_id", str, at),
            )
        )
    by_id = {m.id: m for m in mentions}
    for _label, arg1, arg2 in pairs:
        for arg in (arg1, arg2):
            if arg not in by_id:
                raise DataError(f"relation argument {arg} is not an entity of document {document_id}.", path=where)
    relations = _cdr_concept_relations(mentions, pairs)
    return _cdr_document(document_id, split, " ".join(texts), mentions, relations)


def _cdr_mentions(entities) -> list[_Mention]:
    """Mentions in document order; the parts of a composite mention credit their name as PubTator pairs them.

    PubTator's 7th column pairs the i-th part with the i-th id of the composite mention, and the local loader adds
    the parts only when there are as many parts as ids. BioC (hence the hub) gives each part its own id, which in a
    few documents is not the positional one; the positional pairing is used here, so that names match the local ones.
    """
    mentions: list[_Mention] = []
    composite: _Mention | None = None
    parts: list[int] = []  # positions in `mentions` of the parts of `composite`

    def close():
        paired = composite is not None and len(parts) == len(composite.ids)
        for i, position in enumerate(parts):
            part = mentions[position]
            mentions[position] = _Mention(
                part.id, part.type, part.name, None, part.ids, (composite.ids[i],) if paired else ()
            )

    for at, entity in entities:
        entity = mapping_at(entity, at)
        fragments = [offsets_pair(f, at) for f in typed_field(entity, "offsets", (list, tuple), at)]
        names = typed_field(entity, "text", (list, tuple), at)
        if not fragments or not all(isinstance(n, str) for n in names):
            raise DataError("expected `offsets` as [[start, end], ...] and `text` as a list of strings.", path=at)
        ids = tuple(typed_field(n, "db_id", str, at) for n in records_at(entity, "normalized", at))
        extent = (min(s for s, _ in fragments), max(e for _, e in fragments))
        mention = _Mention(
            id=str(typed_field(entity, "id", (str, int), at)),
            type=typed_field(entity, "type", str, at),
            name=" ".join(names),
            span=extent,
            ids=ids,
            credit=ids,
        )
        if (
            composite is not None
            and len(ids) <= 1
            and all(composite.span[0] <= s and e <= composite.span[1] for s, e in fragments)
        ):
            parts.append(len(mentions))
        else:
            close()
            composite, parts = (mention if len(ids) > 1 else None), []
        mentions.append(mention)
    close()
    return mentions


def _cdr_concept_relations(mentions: list[_Mention], pairs: list[tuple[str, str, str]]) -> list[Relation]:
    """Document-level relations from kb mention-pair relations (see `document_from_cdr_kb_row`)."""
    by_id = {m.id: m for m in mentions}
    index: dict[str, list[str]] = {}
    for mention in mentions:
        for concept in mention.ids:
            index.setdefault(concept, []).append(mention.id)
    relations: list[Relation] = []
    i = 0
    while i < len(pairs):
        label, arg1, arg2 = pairs[i]
        matches = []  # concept pairs whose whole mention product is the run of relations starting here
        for chemical in dict.fromkeys(by_id[arg1].ids):
            for disease in dict.fromkeys(by_id[arg2].ids):
                block = [(label, a, b) for a in index[chemical] for b in index[disease]]
                if pairs[i : i + len(block)] == block:
                    matches.append(Relation(label=label, args=(chemical, disease)))
        if not matches:  # not the bigbio expansion: keep the concept pairs whose mention product is complete
            return _cdr_covered_pairs(index, by_id, pairs)
        # Concepts with the very same mentions give identical runs: take them in turn (their order is lost).
        relation = next((m for m in matches if m not in relations), matches[0])
        relations.append(relation)
        i += len(index[relation.args[0]]) * len(index[relation.args[1]])
    return relations


def _cdr_covered_pairs(index, by_id, pairs) -> list[Relation]:
    present = set(pairs)
    relations = []
    for label, arg1, arg2 in pairs:
        for chemical in by_id[arg1].ids:
            for disease in by_id[arg2].ids:
                if all((label, a, b) in present for a in index[chemical] for b in index[disease]):
                    relations.append(Relation(label=label, args=(chemical, disease)))
    return list(dict.fromkeys(relations))


def _cdr_document(
    document_id: str, split: str, text: str, mentions: list[_Mention], relations: list[Relation]
) -> Document:
    concepts = Concepts()
    for mention in mentions:
        for concept_id in mention.credit:
            concepts.add(concept_id, mention.type, mention.name, mention.span)
    return Document(
        id=document_id,
        dataset="cdr",
        split=split,
        text=text,
        entities=concepts.entities(relations),
        relations=tuple(relations),
    )
