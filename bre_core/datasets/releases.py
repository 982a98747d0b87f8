"""The four corpora's official releases: where each is published, the SHA-256 of every file made from it, and
how its archive unpacks into the data folder's layout."""

from __future__ import annotations

import functools
import json
import shutil
import urllib.parse
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bre_core.datasets.ddi_brat import brat_documents, is_junk
from bre_core.errors import DownloadError

_CHUNK = 1 << 20

CHEMPROT_URL = "https://biocreative.bioinformatics.udc.es/media/store/files/2017/ChemProt_Corpus.zip"
CDR_URL = "https://github.com/JHnlp/BioCreative-V-CDR-Corpus/raw/master/CDR_Data.zip"
DDI_URL = "https://github.com/isegura/DDICorpus/raw/master/DDICorpus-2013(BRAT).zip"
DCE_BASE_URL = (
    "https://raw.githubusercontent.com/allenai/drug-combo-extraction/219717e8c2f7139584c605e211acbd86b26c93dd/data"
)

# SHA-256 of every file this module installs, relative to the data folder. Computed from the official
# files in the project's shared data copy; a download that differs from these is not the official release.
CHECKSUMS: dict[str, str] = {
    "chemprot/original/chemprot_training/chemprot_training_abstracts.tsv": "2eef8782dc6c1474115ce5b780d6b4bc8f68d98e34fbf1619b9502fafc97685b",
    "chemprot/original/chemprot_training/chemprot_training_entities.tsv": "ec01f954803d6854965b36b4c222001246b93b683a8fde4f4944132779161a7e",
    "chemprot/original/chemprot_training/chemprot_training_relations.tsv": "f7fad40e618b60a048db7131ddbc49d8b1cf06340528bbdbd9cf30026d72eb85",
    "chemprot/original/chemprot_training/chemprot_training_gold_standard.tsv": "dc1333bf582ecf67ca1a1fe05c27bfaa03969a5ef3d70543d0c7a90e2dd9896e",
    "chemprot/original/chemprot_development/chemprot_development_abstracts.tsv": "186a45a6b604d602c3fcf2a04fe6cc9b5f5d6dbe5542babfc685d56db1fd617d",
    "chemprot/original/chemprot_development/chemprot_development_entities.tsv": "7b75bd8e5397a72a29a387bb12f847487938b7469c84d04b289ccaa8009ec12a",
    "chemprot/original/chemprot_development/chemprot_development_relations.tsv": "dff73eb2a6f88137d6d358e713bfd56d6cba047013105f2a742ec660448379a7",
    "chemprot/original/chemprot_development/chemprot_development_gold_standard.tsv": "7fc258e29160c18807b12cb34e30fce6a4c26df835247febaafa21dc49e6ec60",
    "chemprot/original/chemprot_test_gs/chemprot_test_abstracts_gs.tsv": "9b7de664f0b4231d6e58992f091aa36bc577ca3f12f0565bc2d898af3982645b",
    "chemprot/original/chemprot_test_gs/chemprot_test_entities_gs.tsv": "37a9addd54822a1fd8636cddca01dd9ddadc0776b76140271869bf9e02203d99",
    "chemprot/original/chemprot_test_gs/chemprot_test_relations_gs.tsv": "ca3ba8a7b205c909efef2ab7113f007e3e05a6c82be60cff904c4b7772e81421",
    "chemprot/original/chemprot_test_gs/chemprot_test_gold_standard.tsv": "3dc760bf88a0a9b3ef4b2374b97d67c89bb8f4309905729546bab10beccb236b",
    "bc5cdr/CDR_TrainingSet.PubTator.txt": "7afcec134e3d4871e74b0398d92850d3c9ac94c0bdc780003f2d60184c012bd8",
    "bc5cdr/CDR_DevelopmentSet.PubTator.txt": "9e18d8e700168887a7919e62f67ac2ce2357e3f409a48ee992906abdd80fe3e5",
    "bc5cdr/CDR_TestSet.PubTator.txt": "a3c48d5f35bdfce20c2371778abedc9fd24d1da092207072e5181ad53c8d0e2f",
    "bc5cdr/CDR_TrainingSet.BioC.xml": "37d03c8ebb22369fbf8f2099e4bc6570accba8473e9129dddd6278e7e01e1adc",
    "bc5cdr/CDR_DevelopmentSet.BioC.xml": "6ec138899a4b6448b40adf4e159a06184f68f8a5a7e13575903c5e127d734d88",
    "bc5cdr/CDR_TestSet.BioC.xml": "32d94f03c52e028931513ab52719b5bc7bb8e4fc0e3d99bba37e2b7442e3da35",
    "ddi/bigbio_source/train.jsonl": "6cfafb6934c8b34a292222ca442bed28102a6fe4afdbd8d2dbb3b7ae049ab762",
    "ddi/bigbio_source/test.jsonl": "1617b18da883a1b059363d4599be64c60b42b21909445ed62831a86da1ed9663",
    "dce/final_train_set.jsonl": "001e8cd0fa1bf5e62c2778fb34a9ea970c44fc2f05549763bfe9c8dba405b1c7",
    "dce/final_test_set.jsonl": "8b893a8a10a7fe3205ffa52769bdcf330358aed709cb73ea9ae017cdef0570c4",
    "dce/label2idx.json": "372b26e0dc094e07f8c9255f95bf6103e0df91b66421a7769d5ac1d1a27a387b",
}

# (archive or file, folder to unpack into, url for messages) -> {path relative to the data folder: unpacked file}
Unpacker = Callable[[Path, Path, str], dict[str, Path]]


@dataclass(frozen=True)
class Source:
    """One published file and the data-folder files made from it."""

    url: str
    files: tuple[str, ...]
    unpack: Unpacker

    @property
    def filename(self) -> str:
        """The published file's name: what a mirror must serve."""
        return urllib.parse.unquote(PurePosixPath(urllib.parse.urlsplit(self.url).path).name)


# --- unpacking ------------------------------------------------------------------------------------------


def _member(archive: zipfile.ZipFile, wanted: str, url: str) -> str:
    """The member at `wanted`, else the only member with its file name (a release re-zipped under another top folder)."""
    names = [n for n in archive.namelist() if not n.endswith("/") and not is_junk(n)]
    if wanted in names:
        return wanted
    base = PurePosixPath(wanted).name
    same_name = [n for n in names if PurePosixPath(n).name == base]
    if len(same_name) == 1:
        return same_name[0]
    raise DownloadError(
        f"{url}: the archive has no member '{wanted}' (it holds {len(names)} files"
        f"{', e.g. ' + ', '.join(names[:3]) if names else ''}). It is not the official release; check the URL "
        f"or the --mirror."
    )


def _extract(archive: zipfile.ZipFile, member: str, dest: Path) -> Path:
    # Written to a path of our own choosing, never to the member's name, so a hostile zip cannot escape.
    dest.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(member) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, _CHUNK)
    return dest


def _unpack_plain(path: Path, work: Path, url: str, *, rel: str) -> dict[str, Path]:
    """A file published as is: the download is the data file."""
    return {rel: path}


def _unpack_chemprot(path: Path, work: Path, url: str) -> dict[str, Path]:
    """ChemProt_Corpus.zip holds one zip per split (chemprot_training.zip, ...), each with a folder of TSVs."""
    produced: dict[str, Path] = {}
    with zipfile.ZipFile(path) as outer:
        for folder in _CHEMPROT_FOLDERS:
            inner_path = _extract(outer, _member(outer, f"ChemProt_Corpus/{folder}.zip", url), work / f"{folder}.zip")
            with zipfile.ZipFile(inner_path) as inner:
                for rel in _chemprot_files(folder):
                    name = PurePosixPath(rel).name
                    produced[rel] = _extract(inner, _member(inner, f"{folder}/{name}", url), work / rel)
    return produced


def _unpack_cdr(path: Path, work: Path, url: str) -> dict[str, Path]:
    with zipfile.ZipFile(path) as archive:
        return {
            rel: _extract(
                archive, _member(archive, f"CDR_Data/CDR.Corpus.v010516/{PurePosixPath(rel).name}", url), work / rel
            )
            for rel in _CDR_FILES
        }


def _unpack_ddi(path: Path, work: Path, url: str) -> dict[str, Path]:
    """DDICorpusBrat/{Train,Test}/... .txt + .ann pairs -> the `ddi_corpus_source` JSON lines of each split."""
    with zipfile.ZipFile(path) as archive:
        splits = brat_documents(archive, url, tuple(_DDI_SPLITS))
    produced = {}
    for folder, rel in _DDI_SPLITS.items():
        if not splits.get(folder):
            raise DownloadError(
                f"{url}: the archive has no documents under DDICorpusBrat/{folder}/. It is not "
                f"the official BRAT release; check the URL or the --mirror."
            )
        produced[rel] = work / rel
        produced[rel].parent.mkdir(parents=True, exist_ok=True)
        # json.dumps defaults (ASCII escapes, ", " and ": ") are how the reference files were written.
        lines = "".join(json.dumps(record) + "\n" for _, record in sorted(splits[folder], key=lambda kv: kv[0]))
        produced[rel].write_bytes(lines.encode("utf-8"))
    return produced


# --- the sources ----------------------------------------------------------------------------------------

_CHEMPROT_FOLDERS = ("chemprot_training", "chemprot_development", "chemprot_test_gs")
_CDR_FILES = tuple(rel for rel in CHECKSUMS if rel.startswith("bc5cdr/"))
_DDI_SPLITS = {"Train": "ddi/bigbio_source/train.jsonl", "Test": "ddi/bigbio_source/test.jsonl"}


def _chemprot_files(folder: str) -> tuple[str, ...]:
    return tuple(rel for rel in CHECKSUMS if rel.startswith(f"chemprot/original/{folder}/"))


def _plain(name: str) -> Source:
    rel = f"dce/{name}"
    return Source(f"{DCE_BASE_URL}/{name}", (rel,), functools.partial(_unpack_plain, rel=rel))


SOURCES: dict[str, tuple[Source, ...]] = {
    "chemprot": (
        Source(CHEMPROT_URL, tuple(r for f in _CHEMPROT_FOLDERS for r in _chemprot_files(f)), _unpack_chemprot),
    ),
    "cdr": (Source(CDR_URL, _CDR_FILES, _unpack_cdr),),
    "ddi": (Source(DDI_URL, tuple(_DDI_SPLITS.values()), _unpack_ddi),),
    "dce": tuple(_plain(name) for name in ("final_train_set.jsonl", "final_test_set.jsonl", "label2idx.json")),
}
