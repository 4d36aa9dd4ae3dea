"""MAR601 labels-mismatch: synset.txt against the classes the real exported graph outputs;
MAR602 labels-missing: only a class that runs the stock labelling `_postprocess` needs it."""

from __future__ import annotations

from builders import VISION_SERVICE, ArchiveSpec
from conftest import check


def with_labels(model, labels: str | None, drop: frozenset[str] = frozenset()) -> ArchiveSpec:
    spec = ArchiveSpec(model, drop={"synset.txt", *drop})
    if labels is not None:
        spec.extra.append(("synset.txt", labels))
    return spec


def test_matching_labels_are_clean(tmp_path, cnn_model, mlp_model):
    windows = "".join(f"digit {i}\r\n" for i in range(10))
    for name, spec in {
        "vision": ArchiveSpec(cnn_model),
        "crlf": with_labels(cnn_model, windows),
        "no-final-newline": with_labels(cnn_model, "\n".join(map(str, range(10)))),
        "json-without-labels": ArchiveSpec(mlp_model),
        "json-with-labels": with_labels(mlp_model, "a\nb\nc\nd\ne\n"),
    }.items():
        assert check(spec.write(tmp_path / f"{name}.model")).only("MAR601") == [], name


def test_999_labels_for_1000_classes(tmp_path, resnet_model):
    labels = "".join(f"n{i:08d} class {i}\n" for i in range(999))
    result = check(with_labels(resnet_model, labels).write(tmp_path / "m.model"))
    [finding] = result.only("MAR601")
    assert finding["message"] == (
        f"999 labels for 1000 classes (the graph's output {resnet_model.output_name} is [1, 1000])"
    )
    assert finding["member"] == "synset.txt" and result.exit_code == 1


def test_blank_line_at_the_end_is_a_label_for_mms(tmp_path, cnn_model):
    labels = "".join(f"digit {i}\n" for i in range(10)) + "\n"
    result = check(with_labels(cnn_model, labels).write(tmp_path / "m.model"))
    count, blank = result.only("MAR601")
    assert count["message"].startswith("11 labels for 10 classes") and count["severity"] == "error"
    assert blank["message"] == "blank labels on lines 11" and blank["severity"] == "warning"


def test_duplicate_and_blank_labels_are_warnings(tmp_path, cnn_model):
    labels = "zero\none\ntwo\n  \nfour\nfive\nsix\nseven\none\nnine\n"
    result = check(with_labels(cnn_model, labels).write(tmp_path / "m.model"))
    blank, duplicate = sorted(result.only("MAR601"), key=lambda f: f["message"])
    assert blank["message"] == "blank labels on lines 4"
    assert duplicate["message"] == "labels given to several classes: 'one' (lines 2, 9)"
    assert {blank["severity"], duplicate["severity"]} == {"warning"} and result.exit_code == 0


def test_vision_service_without_labels(tmp_path, cnn_model):
    result = check(with_labels(cnn_model, None).write(tmp_path / "m.model"))
    [finding] = result.only("MAR602")
    assert finding["message"] == (
        "DigitsService inherits MXNetVisionService._postprocess, which answers with labels "
        "from synset.txt, and the archive has none: every request fails"
    )
    assert finding["member"] == "service.py" and result.exit_code == 1
    assert result.only("MAR601") == []


OWN_POSTPROCESS = VISION_SERVICE.replace(
    "return super(ClassifierService, self)._postprocess(data)",
    "return [str(d.argmax(axis=1).asnumpy().tolist()) for d in data]",
)


def test_labels_follow_the_postprocess_the_class_runs(tmp_path, resnet_model):
    # Only the stock `_postprocess` reads labels: a class with its own needs no synset.txt;
    # one that only returns super()'s result runs the stock one and does.
    own = with_labels(resnet_model, None)
    own.drop.add("service.py")
    own.extra.append(("service.py", OWN_POSTPROCESS))
    assert check(own.write(tmp_path / "own.model")).only("MAR602") == []
    delegating = with_labels(resnet_model, None)  # VISION_SERVICE: `return super()...`
    [finding] = check(delegating.write(tmp_path / "delegating.model")).only("MAR602")
    assert finding["message"].startswith("ClassifierService inherits MXNetVisionService.")


def test_a_trailing_blank_line_is_a_label_as_mms_reads_it(tmp_path, cnn_model):
    labels = "".join(f"digit {i}\n" for i in range(10)) + "\n"
    result = check(with_labels(cnn_model, labels).write(tmp_path / "m.model"))
    count, blank = sorted(result.only("MAR601"), key=lambda f: f["message"])
    assert count["message"].startswith("11 labels for 10 classes")
    assert blank["message"] == "blank labels on lines 11"


def test_class_count_from_the_signature_without_a_graph(tmp_path, cnn_model):
    spec = with_labels(cnn_model, "a\nb\n", drop=frozenset({"digits-symbol.json"}))
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR601")
    assert finding["message"] == (
        f"2 labels for 10 classes (the signature's output '{cnn_model.output_name}' is [0, 10])"
    )
