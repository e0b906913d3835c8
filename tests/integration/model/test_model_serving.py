"""The packaged model directory served through the four handler functions, good and bad requests."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from types import ModuleType

import boto3
import numpy as np
import pytest
import torch
from countnet.loading import BinImageDataset
from countnet.model_config import ModelConfig
from countnet.preprocessing import load_tensor, normalize
from countnet.serving import load_count_model
from countnet.verification import probability_maps
from model_testkit import jpeg_bytes, png_claiming
from moto import mock_aws
from PIL import Image

from binventory.toolkit.untrained_model import RULE as UNTRAINED_RULE
from contracts.decision import statistic
from contracts.model_answer import parse_prediction


def _answer(
    inference: ModuleType,
    model: object,
    body: bytes | str,
    content_type: str | None,
    accept: str = "application/json",
) -> dict:
    """One request through input_fn -> predict_fn -> output_fn, as the container chains them."""
    data = inference.input_fn(body, content_type)
    payload, _ = inference.output_fn(inference.predict_fn(data, model), accept)
    return json.loads(payload)


def test_packaged_dir_is_self_contained(packaged_model_dir: Path) -> None:
    code = packaged_model_dir / "code"
    assert (code / "inference.py").is_file() and (code / "countnet" / "preprocessing.py").is_file()
    assert not list(code.rglob("__pycache__"))
    # what the inference container lacks ships inside, so the endpoint pip-installs nothing when it starts;
    # an ONNX model needs no network definition, so no timm
    assert not (code / "requirements.txt").exists()
    manifest = json.loads((code / "lib" / "vendored.json").read_text())
    assert manifest["distributions"].keys() == {"onnxruntime", "flatbuffers", "protobuf"}
    assert manifest["distributions"]["onnxruntime"] == "1.31.1"
    assert (code / "lib" / "onnxruntime" / "__init__.py").is_file() and not (code / "lib" / "timm").exists()
    for name in ("model.pt", "model.onnx", "model_config.json", "evaluation.json", "confusion_matrix.png"):
        assert (packaged_model_dir / name).is_file(), name


@pytest.mark.parametrize("content_type", ["image/jpeg", "application/x-image", "image/jpeg; charset=binary"])
def test_a_jpeg_gets_the_contract_response(
    inference: ModuleType, served_model: object, content_type: str
) -> None:
    answer = _answer(inference, served_model, jpeg_bytes(3), content_type)
    assert set(answer) == {
        "predicted_count",
        "predicted_label",
        "confidence",
        "probabilities",
        "model_version",
        "reconciliation_rule",
    }
    # the model's own evidence rule travels with every answer, for the Lambda and the backfill
    assert answer["reconciliation_rule"] == UNTRAINED_RULE.to_dict()
    assert list(answer["probabilities"]) == ["0", "1", "2", "3", "4", "5"]
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert answer["confidence"] == max(answer["probabilities"].values())
    assert answer["predicted_label"] == str(answer["predicted_count"])
    assert answer["model_version"] == "countnet-tf_efficientnet_lite0-20260101T000000Z"


def test_the_served_answer_is_what_the_lambda_parses_with_the_lookup_the_rule_was_fitted_with(
    inference: ModuleType, served_model: object, packaged_model_dir: Path
) -> None:
    # given the answer the packaged model's own inference.py writes for one photo (JSON, as sent)
    answer = _answer(inference, served_model, jpeg_bytes(2), "image/jpeg")

    # when the counting Lambda parses it
    parsed = parse_prediction(answer)

    # then every field arrives, with the model's own rule
    config = ModelConfig.read(packaged_model_dir)
    assert (parsed.count, parsed.label, parsed.model_version) == (
        answer["predicted_count"],
        answer["predicted_label"],
        config.model_version,
    )
    assert parsed.rule == config.reconciliation
    # and the evidence is the same whether the Lambda reads the answer or countnet.verification scores
    # the served probabilities (the statistic the rule was fitted on)
    probabilities = np.array([[answer["probabilities"][label] for label in config.label_space.labels]])
    (served,) = probability_maps(probabilities, config.label_space.labels)
    for expected in range(9):
        assert statistic(parsed.probabilities, expected, parsed.rule) == statistic(
            served, expected, config.reconciliation
        )


def test_png_and_grey_images_are_accepted(inference: ModuleType, served_model: object) -> None:
    buffer = io.BytesIO()
    Image.new("L", (300, 200), 90).save(buffer, format="PNG")
    assert 0 <= _answer(inference, served_model, buffer.getvalue(), "image/png")["predicted_count"] <= 5


def test_a_json_request_naming_an_object_is_refused_and_nothing_is_fetched(
    inference: ModuleType, served_model: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an object the endpoint's callers should not be able to make it read
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="bins")
        s3.put_object(Bucket="bins", Key="bin-images/01013.jpg", Body=jpeg_bytes(2))

        # when a request names it instead of carrying an image
        with pytest.raises(Exception) as refused:
            inference.input_fn('{"s3_uri": "s3://bins/bin-images/01013.jpg"}', "application/json")
        with pytest.raises(Exception) as missing:
            inference.input_fn('{"s3_uri": "s3://bins/bin-images/1013.jpg"}', "application/json")

    # then both get the same 415, which says nothing about whether the key exists
    assert refused.value.status_code == missing.value.status_code == 415
    assert refused.value.message == missing.value.message
    assert "application/json" in refused.value.message and "image/jpeg" in refused.value.message


def test_torch_and_onnx_runtimes_agree(packaged_model_dir: Path) -> None:
    batch = load_tensor(jpeg_bytes(4), ModelConfig.read(packaged_model_dir).preprocessing).unsqueeze(0)
    onnx = load_count_model(packaged_model_dir, runtime="onnx")
    torch_model = load_count_model(packaged_model_dir, runtime="torch")
    assert (onnx.runtime, torch_model.runtime) == ("onnx", "torch")
    np.testing.assert_allclose(onnx.probabilities(batch), torch_model.probabilities(batch), atol=1e-4)


def test_serving_prepares_images_exactly_as_evaluation_does(packaged_model_dir: Path, tmp_path: Path) -> None:
    # one definition of preprocessing: the validation loader and the endpoint give identical tensors
    path = tmp_path / "bin.jpg"
    path.write_bytes(jpeg_bytes(2, size=400))
    preprocessing = ModelConfig.read(packaged_model_dir).preprocessing
    from countnet.data import Sample

    from_loader = BinImageDataset([Sample("bin", path, 2)], [2], preprocessing)[0][0]
    assert from_loader.dtype == torch.uint8  # loaders carry pixels; normalising happens per batch
    assert normalize(from_loader, preprocessing).equal(load_tensor(path.read_bytes(), preprocessing))


BAD_REQUESTS = [
    pytest.param(b"", "image/jpeg", 400, "body is empty", id="empty body"),
    pytest.param(
        b"hello, I am not a picture", "image/jpeg", 400, "not a readable JPEG or PNG", id="not an image"
    ),
    pytest.param(
        png_claiming(10_000, 8_000), "image/png", 413, "above the 64 MP limit", id="huge dimensions"
    ),
    pytest.param(
        png_claiming(20_000, 20_000), "image/png", 413, "above the 64 MP limit", id="decompression bomb"
    ),
    pytest.param(
        jpeg_bytes(), "text/plain", 415, "content type 'text/plain' is not supported", id="text content type"
    ),
    pytest.param(jpeg_bytes(), "", 415, "no content type; send the image's bytes", id="empty content type"),
    pytest.param(jpeg_bytes(), None, 415, "no content type; send the image's bytes", id="no content type"),
    pytest.param(
        '{"s3_uri": "s3://b/k.jpg"}',
        "application/json",
        415,
        "'application/json' is not supported",
        id="json",
    ),
]


@pytest.mark.parametrize(("body", "content_type", "status", "message"), BAD_REQUESTS)
def test_bad_requests_get_a_4xx_with_a_message(
    inference: ModuleType,
    served_model: object,
    body: bytes,
    content_type: str | None,
    status: int,
    message: str,
) -> None:
    with pytest.raises(Exception) as raised:
        _answer(inference, served_model, body, content_type)
    assert raised.value.status_code == status
    assert message in raised.value.message
    # the model keeps answering after a bad request
    assert "predicted_count" in _answer(inference, served_model, jpeg_bytes(1), "image/jpeg")


def test_a_truncated_jpeg_is_a_400_not_a_crash(inference: ModuleType, served_model: object) -> None:
    whole = jpeg_bytes(3, size=256)
    data = inference.input_fn(whole[: len(whole) // 2], "image/jpeg")  # the header is intact
    with pytest.raises(Exception) as raised:
        inference.predict_fn(data, served_model)
    assert raised.value.status_code == 400
    assert "truncated or corrupt" in raised.value.message


def test_only_json_responses_are_offered(inference: ModuleType, served_model: object) -> None:
    prediction = inference.predict_fn(inference.input_fn(jpeg_bytes(), "image/jpeg"), served_model)
    for accept in ("*/*", "application/*", "application/json"):
        body, content_type = inference.output_fn(prediction, accept)
        assert (json.loads(body), content_type) == (prediction, "application/json")
    with pytest.raises(Exception) as raised:
        inference.output_fn(prediction, "text/csv")
    assert raised.value.status_code == 406


def test_a_directory_without_a_model_says_so(inference: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"model_config\.json not found"):
        inference.model_fn(str(tmp_path))


def test_auto_runtime_falls_back_to_what_the_directory_holds(
    packaged_model_dir: Path, tmp_path: Path
) -> None:
    # given a config that asks for int8 ONNX while only fp32 ONNX and the PyTorch weights are there
    model_dir = tmp_path / "model"
    shutil.copytree(packaged_model_dir, model_dir)
    config = json.loads((model_dir / "model_config.json").read_text())
    (model_dir / "model_config.json").write_text(json.dumps({**config, "runtime": "onnx-int8"}))
    # then
    assert load_count_model(model_dir).runtime == "onnx"
    (model_dir / "model.onnx").unlink()
    assert load_count_model(model_dir).runtime == "torch"
    with pytest.raises(FileNotFoundError, match=r"model\.int8\.onnx not found"):
        load_count_model(model_dir, runtime="onnx-int8")
