"""What a public deployment exposes: one API endpoint, listed models only, no uploads, no file access widened."""

import urllib.error
import urllib.request

import pytest
from served_app import served

from bre_core.errors import InputError
from bre_core.ui.compare_tab import compare_text

UPLOADS = {"File", "UploadButton", "Image", "Audio", "Video", "Gallery", "Model3D", "MultimodalTextbox", "ImageEditor"}


@pytest.fixture(scope="module")
def app(ui_context):
    with served(ui_context, max_size=8) as app:
        yield app


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize(
    "name",
    [
        "google/flan-t5-base",  # a hub id, even of a listed model's checkpoint
        "gpt2",
        "/etc/passwd",
        "../models.yaml",
        "t5-base ",
        "T5-BASE",
        "https://huggingface.co/gpt2",
        "t5-base; rm -rf /",
    ],
)
def test_only_names_of_the_models_file_are_accepted(ui_context, name):
    with pytest.raises(InputError, match="Unknown model") as refused:
        compare_text(ui_context, "ddi", name, "t5-base", "Warfarin and aspirin.")
    assert "Available: t5-base, scifive-base, gone" in str(refused.value)


def test_the_app_has_no_upload_inputs_and_its_downloads_are_outputs(app):
    kinds = {type(block).__name__ for block in app.blocks.values()}
    assert not kinds & UPLOADS
    assert {"DownloadButton", "Textbox", "Dropdown"} <= kinds  # the scan sees the app's real components


def test_only_compare_text_is_an_api(app):
    from gradio_client import Client

    api = Client(app.local_url, verbose=False).view_api(return_format="dict", print_info=False)
    assert list(api["named_endpoints"]) == ["/compare_text"] and not api["unnamed_endpoints"]
    parameters = [p["parameter_name"] for p in api["named_endpoints"]["/compare_text"]["parameters"]]
    assert parameters == ["task", "model_a", "model_b", "text"]


def test_files_outside_gradios_own_are_not_served(app, ui_context):
    model_config = f"{ui_context.spec('t5-base').path}/config.json"
    url = app.local_url.rstrip("/")
    for path in ["/etc/passwd", model_config, __file__]:
        assert status_of(f"{url}/gradio_api/file={path}") in (403, 404), path
    assert status_of(url) == 200
