"""Fetch the four corpora's official releases, verify them by SHA-256 and lay them out as the loaders expect."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from bre_core.datasets import DATASETS, check_dataset
from bre_core.datasets.releases import CHECKSUMS, SOURCES, Source
from bre_core.errors import DownloadError

log = logging.getLogger(__name__)

TIMEOUT_S = 60.0
_CHUNK = 1 << 20
_USER_AGENT = "bre_core-data-download (Python urllib)"
_TEMP_PREFIX = ".bre-download-"


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
