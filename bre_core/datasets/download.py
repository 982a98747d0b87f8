"""Fetch the four corpora's official releases, verify them by SHA-256 and lay them out as the loaders expect."""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from bre_core.datasets import DATASETS, check_dataset
from bre_core.datasets.ddi_brat import brat_documents, is_junk
from bre_core.errors import DownloadError

log = logging.getLogger(__name__)

TIMEOUT_S = 60.0
_CHUNK = 1 << 20
_USER_AGENT = "bre_core-data-download (Python urllib)"
_TEMP_PREFIX = ".bre-download-"

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


def download_datasets(
    names: Iterable[str] | None,
    data_dir: str | os.PathLike,
    *,
    mirror: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Download, verify and install the official files of `names` (all four when empty) under `data_dir`.

    Files already present with the recorded SHA-256 are kept (`force` fetches them again). Everything is
    fetched and checked in a temporary folder inside `data_dir` before anything is moved into place, so a
    failure leaves `data_dir` as it was. `mirror` is a base URL (http(s):// or file://) or a local folder
    serving the published files under their own names. Returns every file of the requested corpora.
    Raises DownloadError (what failed, what to do) and UnknownNameError for a name that is not a corpus.
    """
    names = _dataset_names(names)
    data_dir = Path(data_dir)
    plan, kept = _plan(names, data_dir, force)
    if plan:
        fetched_bytes = _run(plan, data_dir, mirror, progress)
        installed = sum(len(needed) for _, needed in plan)
        log.info(
            "Downloaded %d file(s) (%.1f MiB); installed %d file(s) into %s; %d already present.",
            len(plan),
            fetched_bytes / 2**20,
            installed,
            data_dir,
            kept,
        )
    else:
        log.info(
            "All %d file(s) of %s already present and verified in %s; nothing to download.",
            kept,
            ", ".join(names),
            data_dir,
        )
    return [data_dir / rel for name in names for source in SOURCES[name] for rel in source.files]


def expected_files(name: str) -> list[str]:
    """Every file `download_datasets([name], ...)` installs, relative to the data folder."""
    return [rel for source in SOURCES[check_dataset(name)] for rel in source.files]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _dataset_names(names: Iterable[str] | None) -> list[str]:
    chosen = [names] if isinstance(names, str) else list(names or DATASETS)
    for name in chosen:
        check_dataset(name)
    return list(dict.fromkeys(chosen))


def _plan(names: list[str], data_dir: Path, force: bool) -> tuple[list[tuple[Source, list[str]]], int]:
    """The sources to fetch with the files each must install, and how many files are kept as they are."""
    plan, kept = [], 0
    for name in names:
        for source in SOURCES[name]:
            needed = [rel for rel in source.files if force or not _is_valid(data_dir, rel)]
            kept += len(source.files) - len(needed)
            if needed:
                plan.append((source, needed))
            else:
                log.info(
                    "%s: %d file(s) from %s already present with the right checksum; skipped.",
                    name,
                    len(source.files),
                    source.filename,
                )
    return plan, kept


def _is_valid(data_dir: Path, rel: str) -> bool:
    path = data_dir / rel
    if not path.is_file():
        return False
    if sha256_file(path) == CHECKSUMS[rel]:
        return True
    log.warning("%s is present but its checksum is wrong; it will be replaced.", path)
    return False


def _run(plan: list[tuple[Source, list[str]]], data_dir: Path, mirror: str | None, progress: bool) -> int:
    """Fetch and verify every source in a private folder, then move the files into place."""
    work, created = _workspace(data_dir)
    try:
        staged, fetched_bytes = [], 0
        for number, (source, needed) in enumerate(plan):
            produced, size = _fetch_source(source, work / str(number), mirror, progress, data_dir)
            staged.append((produced, needed))
            fetched_bytes += size
        for produced, needed in staged:
            _install(produced, needed, data_dir)
    except BaseException:  # KeyboardInterrupt too: never leave a temp folder or a half-made data folder
        shutil.rmtree(work, ignore_errors=True)
        _remove_empty(created)
        raise
    shutil.rmtree(work, ignore_errors=True)
    return fetched_bytes


def _workspace(data_dir: Path) -> tuple[Path, list[Path]]:
    """A fresh temporary folder inside data_dir, and the folders made to hold it (outermost first)."""
    created = [p for p in [data_dir, *data_dir.parents] if not p.exists()][::-1]
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        # Inside data_dir so that os.replace is a rename on the same file system, never a partial copy.
        return Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=data_dir)), created
    except OSError as exc:
        _remove_empty(created)
        raise DownloadError(
            f"Cannot write to the data folder {data_dir}: {exc}. Choose another --data-dir or fix its permissions."
        ) from None


def _remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:  # not empty: something else put files there
            pass


def _fetch_source(
    source: Source, work: Path, mirror: str | None, progress: bool, data_dir: Path
) -> tuple[dict[str, Path], int]:
    url = source_url(source, mirror)
    (work / "unpacked").mkdir(parents=True)
    archive = work / source.filename
    size = _fetch(url, archive, progress, source, data_dir)
    try:
        produced = source.unpack(archive, work / "unpacked", url)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise DownloadError(
            f"{url} did not give a readable zip archive ({exc}). The download is damaged, or the server or "
            f"mirror serves something other than the official {source.filename}. Nothing was changed in "
            f"{data_dir}. Run the command again; with --mirror, check that the mirror holds the official file."
        ) from None
    except OSError as exc:
        raise DownloadError(
            f"Unpacking {source.filename} from {url} failed: {exc}. Nothing was changed in "
            f"{data_dir}. Check the free disk space and run the command again."
        ) from None
    for rel in source.files:
        _verify(produced[rel], rel, url, data_dir)
    return produced, size


def source_url(source: Source, mirror: str | None) -> str:
    """The official URL, or the same file name under `mirror`."""
    if not mirror:
        return source.url
    if "://" not in mirror and Path(mirror).is_dir():
        mirror = Path(mirror).resolve().as_uri()
    return f"{mirror.rstrip('/')}/{source.filename}"


def _fetch(url: str, dest: Path, progress: bool, source: Source, data_dir: Path) -> int:
    """Stream `url` into `dest` with a progress bar; returns the byte count."""
    retry = "Check the network connection and try again."
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, open(dest, "wb") as out:
            expected = _content_length(response)
            received = _stream(response, out, expected, source.filename, progress)
    except urllib.error.HTTPError as exc:
        exc.close()
        moved = "The file may have moved." if url == source.url else f"Check that the mirror serves {source.filename}."
        raise DownloadError(
            f"Download failed: {url} answered HTTP {exc.code} {exc.reason}. {moved} {_manual_hint(source, data_dir)}"
        ) from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"Cannot reach {url}: {exc.reason}. {retry} {_manual_hint(source, data_dir)}") from None
    except TimeoutError:
        raise DownloadError(
            f"Timed out after {TIMEOUT_S:g} s waiting for {url}. {retry} {_manual_hint(source, data_dir)}"
        ) from None
    except ValueError as exc:
        raise DownloadError(
            f"Invalid download URL {url!r}: {exc}. Give --mirror as an http(s):// or file:// "
            f"URL, or as an existing folder."
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(
            f"Downloading {url} failed part-way ({exc!r}). {retry} {_manual_hint(source, data_dir)}"
        ) from None
    if expected is not None and received != expected:
        raise DownloadError(
            f"Download of {url} is truncated: got {received} of {expected} bytes. {retry} "
            f"{_manual_hint(source, data_dir)}"
        )
    return received


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _stream(response, out, total: int | None, label: str, progress: bool) -> int:
    received = 0
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, disable=not progress) as bar:
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))
    return received


def _manual_hint(source: Source, data_dir: Path) -> str:
    return (
        f"Nothing was changed in {data_dir}. To do without this connection, download {source.url} by hand "
        f"(or take it from a mirror), put {source.filename} in a folder and pass that folder (or its URL) "
        f"as --mirror; or copy the corpus files by hand into {data_dir} in the layout of the README, "
        f"section 'Data'."
    )


def _verify(path: Path, rel: str, url: str, data_dir: Path) -> None:
    actual, expected = sha256_file(path), CHECKSUMS[rel]
    if actual != expected:
        raise DownloadError(
            f"Checksum mismatch for {rel} (made from {url}): expected sha256 {expected}, got {actual}. "
            f"The download is damaged, or the source or mirror no longer serves the official release. "
            f"Nothing was changed in {data_dir}. Run the command again or try another --mirror; if it "
            f"persists, the published file itself has changed: report it."
        )


def _install(produced: dict[str, Path], needed: list[str], data_dir: Path) -> None:
    for rel in needed:
        target = data_dir / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(produced[rel], target)
        except OSError as exc:
            raise DownloadError(
                f"Cannot move the verified {rel} into place at {target}: {exc}. Fix the "
                f"folder's permissions (or remove what is in the way) and run again."
            ) from None


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

__all__ = [
    "download_datasets",
    "expected_files",
    "source_url",
    "sha256_file",
    "CHECKSUMS",
    "SOURCES",
    "Source",
    "TIMEOUT_S",
]
