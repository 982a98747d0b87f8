"""`download_datasets` against a local HTTP server: real releases rebuilt from the shared data, and failures."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import re
import socket
import threading
import time
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bre_core.datasets import DATASETS, dataset_files, download, load_documents
from bre_core.datasets.download import CHECKSUMS, download_datasets, expected_files, source_url
from bre_core.errors import DownloadError, UnknownNameError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no shared corpus copy at {SHARED}")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- a local HTTP server ---------------------------------------------------------------------------------


@dataclass
class Mirror:
    url: str
    folder: Path
    requests: list[str] = field(default_factory=list)
    truncate: set[str] = field(default_factory=set)  # file names served with a too-large Content-Length


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self):
        name = urllib.parse.unquote(self.path.lstrip("/"))
        self.server.mirror.requests.append(name)
        if name in self.server.mirror.truncate:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"only a few bytes")
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):  # keep the test output clean
        pass


@contextlib.contextmanager
def serve(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(folder)))
    server.mirror = Mirror(f"http://127.0.0.1:{server.server_address[1]}", folder)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.mirror
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def mirror(tmp_path):
    with serve(tmp_path / "mirror") as served:
        yield served


def data_files(data_dir: Path) -> set[str]:
    """Every file under data_dir, relative, with '/' separators."""
    return {p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*") if p.is_file()}


def leftovers(data_dir: Path) -> list[str]:
    return [p.name for p in data_dir.iterdir() if p.name.startswith(".bre-download-")]


# --- small DCE fixtures with their checksums patched in ----------------------------------------------------

DCE_ROW = {
    "doc_id": "d1",
    "sentence": "aspirin and heparin together",
    "paragraph": "p",
    "source": "s",
    "spans": [
        {"span_id": 0, "text": "aspirin", "start": 0, "end": 7, "token_start": 0, "token_end": 1},
        {"span_id": 1, "text": "heparin", "start": 12, "end": 19, "token_start": 2, "token_end": 3},
    ],
    "rels": [{"class": "POS", "spans": [0, 1], "is_context_needed": False}],
}
DCE_FILES = {
    "final_train_set.jsonl": (json.dumps(DCE_ROW) + "\n").encode(),
    "final_test_set.jsonl": (json.dumps(DCE_ROW) + "\n" + json.dumps({**DCE_ROW, "doc_id": "d2"}) + "\n").encode(),
    "label2idx.json": b'{"POS": 2, "COMB": 1, "NEG": 1}',
}


@pytest.fixture
def dce_release(mirror, monkeypatch):
    """The mirror serves three small DCE files, and the checksum table expects exactly them."""
    for name, data in DCE_FILES.items():
        (mirror.folder / name).write_bytes(data)
        monkeypatch.setitem(CHECKSUMS, f"dce/{name}", sha256(data))
    return mirror


# --- tests that need no shared data ---------------------------------------------------------------------


def test_every_file_a_loader_reads_is_downloaded_with_a_recorded_checksum():
    for name in DATASETS:
        assert set(dataset_files(name)) <= set(expected_files(name)), name
        for rel in expected_files(name):
            assert re.fullmatch(r"[0-9a-f]{64}", CHECKSUMS[rel]), rel
    assert {name: len(expected_files(name)) for name in DATASETS} == {"cdr": 6, "chemprot": 12, "ddi": 2, "dce": 3}


def test_unknown_dataset_name_is_refused_before_any_download(tmp_path):
    with pytest.raises(UnknownNameError) as err:
        download_datasets(["ddy"], tmp_path / "data", progress=False)
    assert "Did you mean 'ddi'" in str(err.value)
    assert not (tmp_path / "data").exists()


def test_mirror_urls_use_the_published_file_names():
    sources = {
        name: [source_url(s, "http://mirror.example/corpora/") for s in download.SOURCES[name]] for name in DATASETS
    }
    assert sources == {
        "chemprot": ["http://mirror.example/corpora/ChemProt_Corpus.zip"],
        "cdr": ["http://mirror.example/corpora/CDR_Data.zip"],
        "ddi": ["http://mirror.example/corpora/DDICorpus-2013(BRAT).zip"],
        "dce": [
            "http://mirror.example/corpora/final_train_set.jsonl",
            "http://mirror.example/corpora/final_test_set.jsonl",
            "http://mirror.example/corpora/label2idx.json",
        ],
    }
    ddi = download.SOURCES["ddi"][0]
    assert source_url(ddi, None) == "https://github.com/isegura/DDICorpus/raw/master/DDICorpus-2013(BRAT).zip"


def test_download_installs_the_verified_files(dce_release, tmp_path):
    data_dir = tmp_path / "data"
    paths = download_datasets(["dce"], data_dir, mirror=dce_release.url, progress=False)

    assert paths == [data_dir / "dce" / name for name in DCE_FILES]
    assert {p.name: p.read_bytes() for p in paths} == DCE_FILES
    assert sorted(dce_release.requests) == sorted(DCE_FILES)
    assert data_files(data_dir) == {f"dce/{name}" for name in DCE_FILES}
    assert [d.id for d in load_documents("dce", "test", data_dir)] == ["d1", "d2"]
    assert leftovers(data_dir) == []


def test_second_download_is_a_no_op_and_force_fetches_again(dce_release, tmp_path, caplog):
    data_dir = tmp_path / "data"
    download_datasets(["dce"], data_dir, mirror=dce_release.url, progress=False)
    before = {p: p.stat().st_mtime_ns for p in (data_dir / "dce").iterdir()}
    dce_release.requests.clear()

    caplog.set_level(logging.INFO, logger="bre_core.datasets.download")
    again = download_datasets(["dce"], data_dir, mirror=dce_release.url, progress=False)
    assert dce_release.requests == []
    assert {p: p.stat().st_mtime_ns for p in again} == before
    assert "All 3 file(s) of dce already present" in caplog.text

    download_datasets(["dce"], data_dir, mirror=dce_release.url, force=True, progress=False)
    assert sorted(dce_release.requests) == sorted(DCE_FILES)


def test_only_missing_or_damaged_files_are_fetched(dce_release, tmp_path, caplog):
    data_dir = tmp_path / "data"
    (data_dir / "dce").mkdir(parents=True)
    (data_dir / "dce" / "label2idx.json").write_bytes(DCE_FILES["label2idx.json"])
    (data_dir / "dce" / "final_test_set.jsonl").write_bytes(b"edited by hand\n")
    valid_mtime = (data_dir / "dce" / "label2idx.json").stat().st_mtime_ns

    caplog.set_level(logging.INFO, logger="bre_core.datasets.download")
    download_datasets(["dce"], data_dir, mirror=dce_release.url, progress=False)

    assert sorted(dce_release.requests) == ["final_test_set.jsonl", "final_train_set.jsonl"]
    assert (data_dir / "dce" / "label2idx.json").stat().st_mtime_ns == valid_mtime
    assert (data_dir / "dce" / "final_test_set.jsonl").read_bytes() == DCE_FILES["final_test_set.jsonl"]
    assert "checksum is wrong; it will be replaced" in caplog.text
    assert "installed 2 file(s)" in caplog.text and "1 already present" in caplog.text


def test_checksum_mismatch_names_file_sums_and_url_and_changes_nothing(dce_release, tmp_path):
    (dce_release.folder / "final_test_set.jsonl").write_bytes(b"not the official file\n")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "keep.txt").write_text("mine")

    with pytest.raises(DownloadError) as err:
        download_datasets(["dce"], data_dir, mirror=dce_release.url, progress=False)

    message = str(err.value)
    assert "dce/final_test_set.jsonl" in message
    assert CHECKSUMS["dce/final_test_set.jsonl"] in message
    assert sha256(b"not the official file\n") in message
    assert f"{dce_release.url}/final_test_set.jsonl" in message
    # The two good files were fetched too, but nothing is installed unless everything verifies.
    assert sorted(p.name for p in data_dir.iterdir()) == ["keep.txt"]


def test_http_404_names_the_url_quickly_and_removes_what_it_created(mirror, tmp_path):
    data_dir = tmp_path / "new" / "data"
    start = time.monotonic()
    with pytest.raises(DownloadError) as err:
        download_datasets(["cdr"], data_dir, mirror=mirror.url, progress=False)
    assert time.monotonic() - start < 5
    assert f"{mirror.url}/CDR_Data.zip answered HTTP 404" in str(err.value)
    assert "Check that the mirror serves CDR_Data.zip" in str(err.value)
    assert "download https://github.com/JHnlp/BioCreative-V-CDR-Corpus/raw/master/CDR_Data.zip by hand" in str(
        err.value
    )
    assert not (tmp_path / "new").exists()


def test_connection_refused_names_the_url_and_suggests_a_mirror(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/CDR_Data.zip"
    start = time.monotonic()
    with pytest.raises(DownloadError) as err:
        download_datasets(["cdr"], tmp_path, mirror=f"http://127.0.0.1:{port}", progress=False)
    assert time.monotonic() - start < 5
    assert str(err.value).startswith(f"Cannot reach {url}: ")
    assert "Connection refused" in str(err.value) and "--mirror" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_never_answers_times_out(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "TIMEOUT_S", 0.5)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # the kernel accepts the connection; nobody ever answers
        start = time.monotonic()
        with pytest.raises(DownloadError) as err:
            download_datasets(["dce"], tmp_path, mirror=f"http://127.0.0.1:{sock.getsockname()[1]}", progress=False)
    assert time.monotonic() - start < 5
    assert "timed out" in str(err.value).lower()
    assert "/final_train_set.jsonl" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_truncated_download_is_reported(dce_release, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    dce_release.truncate.add("final_train_set.jsonl")
    with pytest.raises(DownloadError) as err:
        download_datasets(["dce"], data_dir, mirror=dce_release.url, progress=False)
    message = str(err.value)
    assert f"{dce_release.url}/final_train_set.jsonl" in message
    assert "is truncated: got 16 of 100000 bytes" in message
    assert list(data_dir.iterdir()) == []


def test_corrupt_zip_is_reported(mirror, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (mirror.folder / "CDR_Data.zip").write_bytes(b"<html>Rate limit exceeded</html>")
    with pytest.raises(DownloadError) as err:
        download_datasets(["cdr"], data_dir, mirror=mirror.url, progress=False)
    assert f"{mirror.url}/CDR_Data.zip did not give a readable zip archive" in str(err.value)
    assert list(data_dir.iterdir()) == []


def test_zip_without_the_expected_member_is_reported(mirror, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with zipfile.ZipFile(mirror.folder / "CDR_Data.zip", "w") as archive:
        archive.writestr("CDR_Data/README.txt", "no corpus here")
    with pytest.raises(DownloadError) as err:
        download_datasets(["cdr"], data_dir, mirror=mirror.url, progress=False)
    assert "has no member 'CDR_Data/CDR.Corpus.v010516/CDR_TrainingSet.PubTator.txt'" in str(err.value)
    assert list(data_dir.iterdir()) == []


def test_file_url_and_plain_folder_mirrors(dce_release, tmp_path):
    for mirror_arg, data_dir in (
        (dce_release.folder.as_uri(), tmp_path / "a"),
        (str(dce_release.folder), tmp_path / "b"),
    ):
        paths = download_datasets(["dce"], data_dir, mirror=mirror_arg, progress=False)
        assert {p.name: p.read_bytes() for p in paths} == DCE_FILES
    assert dce_release.requests == []  # nothing went through HTTP


def test_keyboard_interrupt_leaves_no_temp_folder(dce_release, tmp_path, monkeypatch):
    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(download, "sha256_file", interrupted)
    data_dir = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        download_datasets(["dce"], data_dir, mirror=dce_release.url, progress=False)
    assert len(dce_release.requests) == 1
    assert not data_dir.exists()


def test_progress_bar_only_when_asked(dce_release, tmp_path, capsys):
    download_datasets(["dce"], tmp_path / "quiet", mirror=dce_release.url, progress=False)
    assert capsys.readouterr().err == ""
    download_datasets(["dce"], tmp_path / "loud", mirror=dce_release.url, progress=True)
    err = capsys.readouterr().err
    assert "final_train_set.jsonl" in err and "label2idx.json" in err


def _brat_zip(documents: dict[str, str], extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in {**documents, **(extra or {})}.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_ddi_brat_conversion_of_a_small_archive(mirror, tmp_path, monkeypatch):
    train_txt = "Aspirin and warfarin.\r\nNo effect on heparin."
    train_ann = (
        "T1\tDRUG 0 7\tAspirin\nT2\tDRUG 12 20\twarfarin\n"
        "T3\tGROUP 22 24;29 35\tNo effect\nR1\tEFFECT Arg1:T1 Arg2:T2\n"
    )
    files = {
        "DDICorpusBrat/Train/MedLine/123.txt": "Drug A.",
        "DDICorpusBrat/Train/MedLine/123.ann": "",
        "DDICorpusBrat/Train/DrugBank/Zeta_ddi.txt": train_txt,
        "DDICorpusBrat/Train/DrugBank/Zeta_ddi.ann": train_ann,
        "DDICorpusBrat/Train/DrugBank/Alpha_ddi.txt": "Nothing.",
        "DDICorpusBrat/Test/DrugBank/Beta.txt": "Beta \u00e9.",
        "DDICorpusBrat/Test/DrugBank/Beta.ann": "T1\tBRAND 0 4\tBeta\r\n",
        "DDICorpusBrat/annotation.conf": "[entities]\n",
    }
    junk = {"__MACOSX/DDICorpusBrat/Train/DrugBank/._Alpha_ddi.txt": b"\x00\x05\x16\x07"}
    (mirror.folder / "DDICorpus-2013(BRAT).zip").write_bytes(_brat_zip(files, junk))
    expected = {
        "ddi/bigbio_source/train.jsonl": '{"document_id": "Alpha_ddi", "text": "Nothing.", "entities": [], "relations": []}\n'
        '{"document_id": "Zeta_ddi", "text": "Aspirin and warfarin.\\nNo effect on heparin.", "entities": ['
        '{"offsets": [0, 7], "text": "Aspirin", "type": "DRUG", "id": "T1"}, '
        '{"offsets": [12, 20], "text": "warfarin", "type": "DRUG", "id": "T2"}, '
        '{"offsets": [22, 24], "text": "No", "type": "GROUP", "id": "T3"}], "relations": ['
        '{"id": "R1", "head": {"ref_id": "T1", "role": "Arg1"}, "tail": {"ref_id": "T2", "role": "Arg2"}, '
        '"type": "EFFECT"}]}\n'
        '{"document_id": "123", "text": "Drug A.", "entities": [], "relations": []}\n',
        "ddi/bigbio_source/test.jsonl": '{"document_id": "Beta", "text": "Beta \\u00e9.", "entities": ['
        '{"offsets": [0, 4], "text": "Beta", "type": "BRAND", "id": "T1"}], "relations": []}\n',
    }
    for rel, text in expected.items():
        monkeypatch.setitem(CHECKSUMS, rel, sha256(text.encode()))

    paths = download_datasets(["ddi"], tmp_path, mirror=mirror.url, progress=False)

    assert mirror.requests == ["DDICorpus-2013(BRAT).zip"]
    assert {p.relative_to(tmp_path).as_posix(): p.read_text() for p in paths} == expected
    assert [d.id for d in load_documents("ddi", "test", tmp_path)] == ["Beta"]


def test_malformed_brat_line_is_reported(mirror, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    files = {
        "DDICorpusBrat/Train/DrugBank/A.txt": "Aspirin",
        "DDICorpusBrat/Train/DrugBank/A.ann": "T1\tDRUG zero 7\tAspirin\n",
        "DDICorpusBrat/Test/DrugBank/B.txt": "B",
    }
    (mirror.folder / "DDICorpus-2013(BRAT).zip").write_bytes(_brat_zip(files))
    with pytest.raises(DownloadError) as err:
        download_datasets(["ddi"], data_dir, mirror=mirror.url, progress=False)
    assert "DDICorpusBrat/Train/DrugBank/A.ann, line 1: not a BRAT annotation" in str(err.value)
    assert list(data_dir.iterdir()) == []


# --- the real releases, rebuilt from the shared corpus copy --------------------------------------------


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _chemprot_release() -> bytes:
    """ChemProt_Corpus.zip: ChemProt_Corpus/<split>.zip, each holding <split>/<file>.tsv."""
    original = SHARED / "chemprot" / "original"
    members = {}
    for folder in ("chemprot_training", "chemprot_development", "chemprot_test_gs"):
        inner = {f"{folder}/{p.name}": p.read_bytes() for p in sorted((original / folder).glob("*.tsv"))}
        members[f"ChemProt_Corpus/{folder}.zip"] = _zip_bytes(inner)
    members["ChemProt_Corpus/chemprot_sample.zip"] = _zip_bytes({"chemprot_sample/readme.txt": b"sample"})
    return _zip_bytes(members)


def _cdr_release() -> bytes:
    folder = SHARED / "bc5cdr"
    return _zip_bytes(
        {f"CDR_Data/CDR.Corpus.v010516/{p.name}": p.read_bytes() for p in sorted(folder.glob("CDR_*"))}
        | {"CDR_Data/README.txt": b"readme"}
    )


def _ddi_release() -> bytes:
    """DDICorpus-2013(BRAT).zip rebuilt from the converted files: DDICorpusBrat/{Train,Test}/{DrugBank,MedLine}/."""
    members = {}
    for split, rel in (("Train", "train.jsonl"), ("Test", "test.jsonl")):
        for line in (SHARED / "ddi" / "bigbio_source" / rel).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            source = "MedLine" if row["document_id"].isdigit() else "DrugBank"
            base = f"DDICorpusBrat/{split}/{source}/{row['document_id']}"
            # The release's line breaks; text mode turns them back into the "\n" of the converted text.
            members[f"{base}.txt"] = row["text"].replace("\n", "\r\n").encode("utf-8")
            ann = [
                f"{e['id']}\t{e['type']} {e['offsets'][0]} {e['offsets'][1]}\t{e['text']}\n" for e in row["entities"]
            ]
            ann += [
                f"{r['id']}\t{r['type']} {r['head']['role']}:{r['head']['ref_id']} "
                f"{r['tail']['role']}:{r['tail']['ref_id']}\n"
                for r in row["relations"]
            ]
            members[f"{base}.ann"] = "".join(ann).encode("utf-8")
    return _zip_bytes(members)


@pytest.fixture(scope="module")
def real_release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("official")
    (folder / "ChemProt_Corpus.zip").write_bytes(_chemprot_release())
    (folder / "CDR_Data.zip").write_bytes(_cdr_release())
    (folder / "DDICorpus-2013(BRAT).zip").write_bytes(_ddi_release())
    for name in ("final_train_set.jsonl", "final_test_set.jsonl", "label2idx.json"):
        (folder / name).write_bytes((SHARED / "dce" / name).read_bytes())
    with serve(folder) as served:
        yield served


@needs_shared
def test_recorded_checksums_are_those_of_the_shared_official_files():
    assert {rel: sha256((SHARED / rel).read_bytes()) for rel in CHECKSUMS} == CHECKSUMS


@needs_shared
@pytest.mark.parametrize("name, test_documents", [("chemprot", 800), ("cdr", 500), ("ddi", 303), ("dce", 272)])
def test_download_of_the_official_release(real_release, tmp_path, name, test_documents):
    real_release.requests.clear()
    data_dir = tmp_path / "data"

    paths = download_datasets([name], data_dir, mirror=real_release.url, progress=False)

    assert [p.relative_to(data_dir).as_posix() for p in paths] == expected_files(name)
    assert data_files(data_dir) == set(expected_files(name))
    assert {rel: sha256((data_dir / rel).read_bytes()) for rel in expected_files(name)} == {
        rel: sha256((SHARED / rel).read_bytes()) for rel in expected_files(name)
    }
    assert len(real_release.requests) == len(download.SOURCES[name])
    assert len(load_documents(name, "test", data_dir)) == test_documents
    assert leftovers(data_dir) == []


@needs_shared
def test_download_of_all_four_then_nothing_to_do(real_release, tmp_path):
    real_release.requests.clear()
    data_dir = tmp_path / "data"

    paths = download_datasets(None, data_dir, mirror=real_release.url, progress=False)

    assert len(paths) == 23 and data_files(data_dir) == set(CHECKSUMS)
    assert sorted(real_release.requests) == sorted(
        [
            "ChemProt_Corpus.zip",
            "CDR_Data.zip",
            "DDICorpus-2013(BRAT).zip",
            "final_train_set.jsonl",
            "final_test_set.jsonl",
            "label2idx.json",
        ]
    )
    assert len(load_documents("ddi", "train", data_dir)) + len(load_documents("ddi", "validation", data_dir)) == 714

    real_release.requests.clear()
    assert download_datasets([], data_dir, mirror=real_release.url, progress=False) == paths
    assert real_release.requests == []
