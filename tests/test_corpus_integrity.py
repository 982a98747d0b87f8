"""Corpus files are checked, not trusted: empty or cut files are errors; the official release is told apart."""

import logging
import shutil

import pytest

from bre_core.cli import main
from bre_core.datasets import load_documents
from bre_core.errors import DataError


def copy_corpus(source, folder, tmp_path):
    shutil.copytree(source / folder, tmp_path / "data" / folder)
    return tmp_path / "data"


@pytest.mark.parametrize(
    "rel", ["ddi/bigbio_source/test.jsonl", "dce/final_test_set.jsonl", "bc5cdr/CDR_TestSet.PubTator.txt"]
)
def test_an_empty_test_file_is_an_error_not_zero_documents(fixture_data, tmp_path, rel):
    data = copy_corpus(fixture_data, rel.split("/")[0], tmp_path)
    (data / rel).write_text("")
    with pytest.raises(DataError, match=rf"{rel}, line 1: the file is empty"):
        load_documents(rel.split("/")[0].replace("bc5cdr", "cdr"), "test", data)


def test_an_empty_file_stops_evaluate_with_exit_2(fixture_data, tmp_path, capsys):
    data = copy_corpus(fixture_data, "dce", tmp_path)
    (data / "dce/final_test_set.jsonl").write_text("")
    argv = ["evaluate", "--model", "t5-small", "--dataset", "dce", "--split", "test", "--out", str(tmp_path / "runs")]
    assert main([*argv, "--data-dir", str(data)]) == 2
    assert "the file is empty" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_cdr_file_cut_like_head_c_is_an_error(shared_data, tmp_path):
    data = copy_corpus(shared_data, "bc5cdr", tmp_path)
    path = data / "bc5cdr/CDR_TestSet.PubTator.txt"
    raw = path.read_bytes()
    for cut in (1500, len(raw) // 2):  # the red team's cuts: `head -c 1500` and half the file
        path.write_bytes(raw[:cut])
        with pytest.raises(DataError, match="CDR_TestSet.PubTator.txt, line"):
            load_documents("cdr", "test", data)


def test_an_official_file_cut_at_a_document_boundary_has_too_few_documents(shared_data, tmp_path, caplog):
    data = copy_corpus(shared_data, "bc5cdr", tmp_path)
    path = data / "bc5cdr/CDR_TestSet.PubTator.txt"
    blocks = path.read_text().split("\n\n")
    path.write_text("\n\n".join(blocks[:271]) + "\n\n")  # 271 whole documents of 500
    with caplog.at_level(logging.WARNING), pytest.raises(DataError) as caught:
        load_documents("cdr", "test", data)
    assert "271 documents where the official release has 500" in str(caught.value)
    assert "data download --dataset cdr --force" in str(caught.value)
    assert f"{path} differs from the official cdr release" in caplog.text
    # The training file is untouched and official: it loads.
    assert len(load_documents("cdr", "train", data)) == 500


def test_fixture_corpora_are_read_as_user_supplied_and_the_shared_as_official(fixture_data, shared_data):
    from bre_core.datasets import dce
    from bre_core.datasets.integrity import OFFICIAL, USER_SUPPLIED, check_corpus

    # Which kind a corpus was taken as is logged once per process; the function says it every time.
    assert check_corpus("dce", fixture_data, dce.files(), dce.split_files("test")) == USER_SUPPLIED
    assert check_corpus("dce", shared_data, dce.files(), dce.split_files("test")) == OFFICIAL
