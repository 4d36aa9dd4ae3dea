"""mar-lint against the real MMS loader: every archive the tests build goes through both, and
their verdicts must agree.

The oracle (tests/mms_oracle) installs the `mxnet-model-server` wheels from the package
registry and loads each archive with MMS's own code in a limited child process, then sends one
predict request. mar-lint runs as its CLI (`--format json`). The rule: mar-lint reports an
error exactly when MMS refuses the archive or fails the request, except for the codes in
`HARM_MMS_DOES_NOT_SEE`, which predict harm that MMS itself never notices: for those the test
checks both halves of that claim (mar-lint reports the code, MMS serves the archive).
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from builders import (
    VISION_SERVICE,
    ArchiveSpec,
    ExportedModel,
    resave_params,
    unix_member,
    write_members,
    write_zip,
)
from graph_archives import FIXTURES, GraphArchive, graph_names
from mms_oracle.harness import OracleUnavailable, Verdict, install_mms, missing_runtime, serve

from mar_lint.zip_records import data_offset

pytestmark = [
    pytest.mark.mms_oracle,
    # the duplicate-member cases are written on purpose
    pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning"),
]

# Codes whose harm MMS does not see: MMS serves the archive, and mar-lint is right to say error.
HARM_MMS_DOES_NOT_SEE = {
    "MAR003": "a member name that climbs out of the folder: MMS flattens names, other unzip tools follow them",
    "MAR004": "a link member: MMS writes its target as a file, other unzip tools create the link",
    "MAR005": "two copies of a member: MMS keeps the last, other unzip tools the first",
    "MAR006": "a zip bomb: MMS extracts it in full, filling the disk of the server",
    "MAR009": "a path deeper than the limits: MMS flattens it, other unzip tools recreate every folder",
    "MAR203": "a fixed batch dimension: MMS forces it to 1, the mission asks for 0 (any batch size)",
    "MAR205": "outputs that differ from the signature: MMS never reads them, clients are misled",
    "MAR304": "missing weights: MMS leaves them zero (allow_missing=True) and serves wrong answers",
    "MAR402": "MMS 0.1.5 only: it instantiates the alphabetically last class, here the imported base, and serves while ignoring the archive's own class",
    "MAR601": "a synset shorter than the class count: MMS serves, and fails only when a top-5 index passes its end",
}

# Disagreements still open in the rules, each with what MMS does; strict, so the fix turns
# the xfail into a failure that removes the entry from here.
AWAITING_RULE_FIXES: dict[str, str] = {}
# Errors whose stated consequence is not what MMS does.
CONSEQUENCES_AWAITING_FIXES: dict[str, str] = {}


@dataclasses.dataclass(frozen=True)
class Case:
    """One archive: `build(folder, models)` writes it; `releases` are the MMS releases it runs
    under (mar-lint then targets each with --mms-version; without `pinned`, mar-lint detects
    the release from the manifest and MMS 0.4 serves); `risk` is the code of
    HARM_MMS_DOES_NOT_SEE the archive carries."""

    id: str
    build: Callable[[Path, dict[str, ExportedModel]], Path]
    releases: tuple[str, ...] = ("0.4",)
    pinned: bool = False
    risk: str | None = None


def spec(models: dict[str, ExportedModel], name: str = "mobilenet", **changes: Any) -> ArchiveSpec:
    return ArchiveSpec(models[name], **changes)


def written(folder: Path, case_id: str, members: Any) -> Path:
    return write_zip(folder / f"{case_id.split(':')[-1]}.model", members)


def replaced(archive: ArchiveSpec, name: str, data: bytes | str) -> list[tuple[str, Any]]:
    return [(n, data if n == name else d) for n, d in archive.members()]


def corrupt(path: Path, member: str) -> Path:
    """Flip one byte of a stored member's data: its CRC no longer matches."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        offset = archive.getinfo(member).header_offset
    data[data_offset(bytes(data[offset : offset + 30]), offset) + 64] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


TWO_LEAF_CLASSES = '''\
from mms.model_service.mxnet_vision_service import MXNetVisionService


class ClassifierService(MXNetVisionService):
    """Top-5 classes."""


class ZooService(MXNetVisionService):
    """A second leaf: MMS 0.2+ refuses to choose, 0.1.5 takes the alphabetically last."""
'''

# tests/builders.py's JSON service before issue 10: `super()._preprocess` is a map on Python 3
INHERITED_PREPROCESS = """\
from mms.model_service.mxnet_model_service import MXNetBaseService


class TabularService(MXNetBaseService):
    def _preprocess(self, data):
        return super(TabularService, self)._preprocess(data)
"""


def saved_by(symbol: bytes, version: int) -> bytes:
    """The graph as if a later MXNet (`version` as in attrs.mxnet_version) had saved it."""
    graph = json.loads(symbol)
    graph.setdefault("attrs", {})["mxnet_version"] = ["int", version]
    return json.dumps(graph).encode()


MANIFEST_015 = {"Model-Archive-Version": 0.1, "License": "Apache 2.0", "Model-Server": 0.1}


def first_weight(params: bytes, change: Callable[[Any], Any]) -> bytes:
    def edit(arrays: dict[str, Any]) -> dict[str, Any]:
        name = sorted(k for k in arrays if k.startswith("arg:"))[0]
        return change(dict(arrays), name)

    return resave_params(params, edit)


def without_weight(arrays: dict[str, Any], name: str) -> dict[str, Any]:
    del arrays[name]
    return arrays


def misshaped_weight(arrays: dict[str, Any], name: str) -> dict[str, Any]:
    import mxnet as mx

    arrays[name] = mx.nd.zeros((3, 3))
    return arrays


def duplicate_names(symbol: bytes, operators: bool) -> bytes:
    """Give a second node the name of a first: two operators, or two weights (variables)."""
    graph = json.loads(symbol)
    nodes = [
        n
        for n in graph["nodes"]
        if (n["op"] != "null") == operators and (operators or n["name"].endswith("_weight"))
    ]
    nodes[1]["name"] = nodes[0]["name"]
    return json.dumps(graph).encode()


def duplicate_variant(graph: str, kind: str) -> Case:
    """A published graph whose second operator (`kind` "operators") or weight ("weights")
    takes the name of the first."""
    symbol = (FIXTURES / f"graphs/{graph}-symbol.json").read_bytes()
    return graph_variant(
        f"real:{graph}-duplicate-{kind}", graph, symbol=duplicate_names(symbol, kind == "operators")
    )


def variant(
    case_id: str, make: Callable[[dict[str, ExportedModel]], ArchiveSpec], **kw: Any
) -> Case:
    return Case(
        case_id,
        lambda folder, models: make(models).write(folder / f"{case_id.split(':')[-1]}.model"),
        **kw,
    )


def graph_variant(case_id: str, graph: str, **changes: Any) -> Case:
    return Case(
        case_id,
        lambda folder, _: GraphArchive(graph, **changes).write(
            folder / f"{case_id.split(':')[-1]}.model"
        ),
    )


CASES: list[Case] = [
    # -- published graphs, each with the service it needs -------------------------------
    *(graph_variant(f"real:{name}", name) for name in graph_names()),
    duplicate_variant("gender-age", "operators"),
    duplicate_variant("mnist-mlp", "weights"),
    # -- committed samples ----------------------------------------------------------------
    *(
        Case(f"fixture:{path.name}", lambda folder, _, path=path: path)
        for path in sorted(FIXTURES.glob("*.model"))
    ),
    # -- builders: real gluon exports ------------------------------------------------------
    variant("builder:mobilenet", lambda m: spec(m)),
    variant("builder:digits", lambda m: spec(m, "cnn")),
    # tests/fixtures/digits.model before issue 10: the grey-scale graph behind the stock
    # vision service, which decodes every image to 3 channels
    Case(
        "builder:digits-stock-vision-service",
        lambda folder, m: written(
            folder,
            "digits-stock-vision-service",
            replaced(spec(m, "cnn"), "service.py", VISION_SERVICE),
        ),
    ),
    variant("builder:tabular", lambda m: spec(m, "mlp")),
    # -- one mistake each ---------------------------------------------------------------
    Case(
        "broken:unreadable",
        lambda folder, _: _bytes(folder / "unreadable.model", b"PK\x03\x04 not a zip"),
    ),
    Case(
        "broken:member-corrupt",
        lambda folder, m: corrupt(
            spec(m).write(folder / "member-corrupt.model"), "mobilenet0_25-0000.params"
        ),
    ),
    variant(
        "broken:escaping-name", lambda m: spec(m, extra=[("../../evil.txt", "x")]), risk="MAR003"
    ),
    Case(
        "broken:link-member",
        lambda folder, m: write_members(
            folder / "link-member.model",
            [*spec(m).members(), unix_member("notes.txt", stat.S_IFLNK | 0o777, "/etc/passwd")],
        ),
        risk="MAR004",
    ),
    variant("broken:duplicate-broken-last", lambda m: spec(m, extra=[("MANIFEST.json", "{")])),
    Case(
        "broken:duplicate-broken-first",
        lambda folder, m: written(
            folder, "duplicate-broken-first", [("MANIFEST.json", "{"), *spec(m).members()]
        ),
        risk="MAR005",
    ),
    Case(
        "broken:bomb",
        lambda folder, m: write_zip(
            folder / "bomb.model",
            [*spec(m).members(), ("padding.bin", bytes(32 << 20))],
            zipfile.ZIP_DEFLATED,
        ),
        risk="MAR006",
    ),
    Case(
        "broken:nested-root",
        lambda folder, m: written(
            folder, "nested-root", [(f"mobilenet/{n}", d) for n, d in spec(m).members()]
        ),
    ),
    variant("broken:junk-member", lambda m: spec(m, extra=[(".DS_Store", b"\0\0\0\1Bud1")])),
    variant("broken:manifest-missing", lambda m: spec(m, drop={"MANIFEST.json"})),
    variant("broken:manifest-schema", lambda m: spec(m, manifest={"Model-Server": "0.4"})),
    variant("broken:service-reference", lambda m: _with_model_entry(spec(m), Service="missing.py")),
    Case(
        "broken:signature-invalid",
        lambda folder, m: written(
            folder, "signature-invalid", replaced(spec(m), "signature.json", "{not json")
        ),
    ),
    variant("broken:mime-type", lambda m: spec(m, signature={"input_type": "image/jpg"})),
    variant(
        "broken:batch-dimension",
        lambda m: spec(
            m, signature={"inputs": [{"data_name": "data", "data_shape": [1, 3, 224, 224]}]}
        ),
        risk="MAR203",
    ),
    variant(
        "broken:input-name",
        lambda m: spec(
            m, signature={"inputs": [{"data_name": "input", "data_shape": [0, 3, 224, 224]}]}
        ),
    ),
    variant(
        "broken:output-shape",
        lambda m: spec(
            m,
            signature={
                "outputs": [{"data_name": m["mobilenet"].output_name, "data_shape": [0, 7]}]
            },
        ),
        risk="MAR205",
    ),
    Case(
        "broken:symbol-invalid",
        lambda folder, m: written(
            folder, "symbol-invalid", replaced(spec(m), "mobilenet0_25-symbol.json", "{not json")
        ),
    ),
    variant(
        "broken:shape-inference",
        lambda m: spec(
            m, "cnn", signature={"inputs": [{"data_name": "data", "data_shape": [0, 1, 32, 32]}]}
        ),
    ),
    Case(
        "broken:params-truncated",
        lambda folder, m: written(
            folder,
            "params-truncated",
            replaced(spec(m), "mobilenet0_25-0000.params", m["mobilenet"].params[:100]),
        ),
    ),
    variant(
        "broken:params-missing-weight",
        lambda m: spec_with_params(m, first_weight(m["mobilenet"].params, without_weight)),
        risk="MAR304",
    ),
    variant(
        "broken:params-misshaped",
        lambda m: spec_with_params(m, first_weight(m["mobilenet"].params, misshaped_weight)),
    ),
    variant(
        "broken:params-name-without-epoch", lambda m: _renamed_params(spec(m), "weights.params")
    ),
    Case(
        "broken:service-syntax",
        lambda folder, m: written(
            folder, "service-syntax", replaced(spec(m), "service.py", "def broken(:\n")
        ),
    ),
    Case(
        "broken:two-leaf-classes",
        lambda folder, m: written(
            folder, "two-leaf-classes", replaced(spec(m), "service.py", TWO_LEAF_CLASSES)
        ),
    ),
    variant(
        "broken:vision-without-image-shape",
        lambda m: spec_of_model(dataclasses.replace(m["mlp"], vision=True)),
    ),
    variant("broken:engine-missing", lambda m: spec(m, manifest={"Engine": {}})),
    variant(
        "broken:engine-newer-than-target",
        lambda m: spec(m, manifest={"Engine": {"MXNet": "2.0.0"}}),
    ),
    Case(
        "broken:graph-from-the-future",
        lambda folder, m: written(
            folder,
            "graph-from-the-future",
            replaced(spec(m), "mobilenet0_25-symbol.json", saved_by(m["mobilenet"].symbol, 20000)),
        ),
    ),
    Case(
        "broken:inherited-preprocess",
        lambda folder, m: written(
            folder,
            "inherited-preprocess",
            replaced(spec(m, "mlp"), "service.py", INHERITED_PREPROCESS),
        ),
    ),
    variant("broken:long-member-name", lambda m: spec(m, extra=[("n" * 300 + ".txt", "x")])),
    variant(
        "broken:deep-member-path",
        lambda m: spec(m, extra=[("d/" * 40 + "notes.txt", "x")]),
        risk="MAR009",
    ),
    variant(
        "broken:engine-older-than-graph", lambda m: spec(m, manifest={"Engine": {"MXNet": 0.12}})
    ),
    variant("broken:labels-missing", lambda m: spec(m, drop={"synset.txt"})),
    Case(
        "broken:labels-short",
        lambda folder, m: written(
            folder,
            "labels-short",
            replaced(spec(m), "synset.txt", "".join(f"class_{i}\n" for i in range(999))),
        ),
        risk="MAR601",
    ),
    variant(
        "builder:model-server-beats-license",
        lambda m: _without_parameters(spec(m, manifest={"License": "Apache 2.0"})),
    ),
    # -- where the release matters ------------------------------------------------------------
    variant(
        "release:manifest-0.1.5",
        lambda m: spec(m, manifest=dict(MANIFEST_015)),
        releases=("0.3", "0.4"),
        pinned=True,
    ),
    variant(
        "release:manifest-0.1.5-base-class-wins",
        lambda m: spec(m, manifest=dict(MANIFEST_015)),
        releases=("0.1.5",),
        pinned=True,
        risk="MAR402",
    ),
    Case(
        "release:two-leaf-classes-0.1.5-manifest",
        lambda folder, m: written(
            folder,
            "two-leaf-classes-0.1.5-manifest",
            replaced(spec(m, manifest=dict(MANIFEST_015)), "service.py", TWO_LEAF_CLASSES),
        ),
        releases=("0.1.5", "0.3", "0.4"),
        pinned=True,
    ),
    variant(
        "release:manifest-0.4", lambda m: spec(m), releases=("0.1.5", "0.3", "0.4"), pinned=True
    ),
    variant(
        "release:without-parameters",
        lambda m: _without_parameters(spec(m)),
        releases=("0.3", "0.4"),
        pinned=True,
    ),
]


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _with_model_entry(archive: ArchiveSpec, **entries: str) -> ArchiveSpec:
    archive.manifest["Model"].update(entries)
    return archive


def _without_parameters(archive: ArchiveSpec) -> ArchiveSpec:
    del archive.manifest["Model"]["Parameters"]
    return archive


def _renamed_params(archive: ArchiveSpec, name: str) -> ArchiveSpec:
    params = archive.model.params
    archive.drop.add(f"{archive.model.name}-0000.params")
    archive.extra.append((name, params))
    return _with_model_entry(archive, Parameters=name)


def spec_with_params(models: dict[str, ExportedModel], params: bytes) -> ArchiveSpec:
    return ArchiveSpec(dataclasses.replace(models["mobilenet"], params=params))


def spec_of_model(model: ExportedModel) -> ArchiveSpec:
    return ArchiveSpec(model, signature={"input_type": "image/jpeg"})


# -- running both -------------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    archive: Path
    verdict: Verdict
    findings: list[dict[str, Any]]

    @property
    def errors(self) -> list[str]:
        return sorted({f["code"] for f in self.findings if f["severity"] == "error"})

    def describe(self) -> str:
        listed = [f"{f['code']} {f['severity']}: {f['message'][:160]}" for f in self.findings]
        return f"{self.archive.name}\n  {self.verdict}\n  mar-lint: " + (
            "\n  ".join(listed) or "no findings"
        )


def lint(paths: list[Path], release: str | None) -> dict[str, list[dict[str, Any]]]:
    """`mar-lint check --format json` over many archives in one run (one MXNet sandbox)."""
    command = [sys.executable, "-m", "mar_lint", "check", "--format", "json"]
    command += ["--mms-version", release] if release else []
    done = subprocess.run(
        command + [str(p) for p in paths], capture_output=True, text=True, timeout=900
    )
    assert done.returncode in (0, 1), done.stderr
    return {a["path"]: a["findings"] for a in json.loads(done.stdout)["archives"]}


@pytest.fixture(scope="session")
def oracle_ready() -> None:
    absent = missing_runtime()
    if absent:
        pytest.skip(f"the MMS loader needs {', '.join(absent)}: pip install -e '.[mxnet,oracle]'")
    try:
        for release in ("0.1.5", "0.3", "0.4"):
            install_mms(release)
    except OracleUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def outcomes(
    oracle_ready: None,
    tmp_path_factory: pytest.TempPathFactory,
    mobilenet_model: ExportedModel,
    cnn_model: ExportedModel,
    mlp_model: ExportedModel,
) -> dict[tuple[str, str], Outcome]:
    """Every case under every release it names: archives built, mar-lint run once per target,
    MMS run per archive (two at a time, the CI's two cores)."""
    models = {"mobilenet": mobilenet_model, "cnn": cnn_model, "mlp": mlp_model}
    folder = tmp_path_factory.mktemp("oracle-archives")
    archives = {case.id: case.build(folder, models) for case in CASES}
    runs = [(case, release) for case in CASES for release in case.releases]
    targets = {release if case.pinned else None for case, release in runs}
    linted = {}
    for target in targets:
        paths = sorted({archives[c.id] for c, r in runs if (r if c.pinned else None) == target})
        linted[target] = lint(paths, target)
    with ThreadPoolExecutor(max_workers=2) as pool:
        verdicts = dict(zip(runs, pool.map(lambda run: serve(archives[run[0].id], run[1]), runs)))
    return {
        (case.id, release): Outcome(
            archives[case.id],
            verdicts[(case, release)],
            linted[release if case.pinned else None][str(archives[case.id])],
        )
        for case, release in runs
    }


def agreement_params(awaiting: dict[str, str]) -> list[Any]:
    params = []
    for case in CASES:
        for release in case.releases:
            reason = awaiting.get(case.id)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(case, release, id=f"{case.id}@{release}", marks=marks))
    return params


@pytest.mark.parametrize(("case", "release"), agreement_params(AWAITING_RULE_FIXES))
def test_mar_lint_errors_exactly_when_mms_fails(case: Case, release: str, outcomes) -> None:
    outcome = outcomes[(case.id, release)]
    if case.risk:
        reported = {f["code"] for f in outcome.findings}
        assert case.risk in reported, f"mar-lint missed {case.risk}:\n{outcome.describe()}"
        assert outcome.verdict.ok, f"MMS does see {case.risk}; it is no risk:\n{outcome.describe()}"
        return
    assert bool(outcome.errors) == (not outcome.verdict.ok), outcome.describe()


LOAD_STAGES = (
    "extract",
    "manifest",
    "files",
    "service-import",
    "service-class",
    "init",
    "endpoints",
)
HARMLESS_TO_SERVING = {"wrong-answers", "unchecked-risk"}


@pytest.mark.parametrize(("case", "release"), agreement_params(CONSEQUENCES_AWAITING_FIXES))
def test_each_error_states_what_mms_does(case: Case, release: str, outcomes) -> None:
    """The consequence mar-lint prints is what the oracle saw: a refusal at load, a failed
    request, or serving (for harm MMS does not see)."""
    outcome = outcomes[(case.id, release)]
    stated = {f["consequence"] for f in outcome.findings if f["severity"] == "error"}
    if outcome.verdict.stage in LOAD_STAGES:
        assert "refused" in stated, outcome.describe()
    elif outcome.verdict.stage == "request":
        assert "requests-fail" in stated, outcome.describe()
    else:
        assert outcome.verdict.ok, outcome.describe()
        assert stated <= HARMLESS_TO_SERVING, outcome.describe()


def test_every_risk_code_is_exercised() -> None:
    assert {c.risk for c in CASES if c.risk} == set(HARM_MMS_DOES_NOT_SEE)


def test_every_published_graph_is_served_by_mms_04(outcomes) -> None:
    refused = [
        o.describe()
        for (cid, rel), o in outcomes.items()
        if cid.startswith("real:")
        and rel == "0.4"
        and not o.verdict.ok
        and "duplicate-weights" not in cid
    ]
    assert refused == []


def test_old_digits_sample_fails_every_request(outcomes) -> None:
    outcome = outcomes[("builder:digits-stock-vision-service", "0.4")]
    assert outcome.verdict.stage == "request" and outcome.verdict.status == 500, outcome.describe()
    assert "[1, 1, 28, 28] expected but got (1, 3, 28, 28)" in outcome.verdict.error
    assert "MAR404" in outcome.errors, outcome.describe()


def test_readme_correct_sample_is_served_and_clean(outcomes) -> None:
    outcome = outcomes[("fixture:digits.model", "0.4")]
    assert outcome.verdict.ok and outcome.findings == [], outcome.describe()


def test_release_decides_the_two_leaf_classes(outcomes) -> None:
    by_release = {
        r: outcomes[("release:two-leaf-classes-0.1.5-manifest", r)].verdict
        for r in ("0.1.5", "0.3", "0.4")
    }
    assert by_release["0.1.5"].ok and by_release["0.1.5"].service_class == "ZooService"
    assert by_release["0.3"].stage == by_release["0.4"].stage == "service-class"


def test_the_oracle_reports_the_stage_and_the_exception(outcomes) -> None:
    stages = {cid: o.verdict.stage for (cid, rel), o in outcomes.items() if rel == "0.4"}
    assert stages["broken:unreadable"] == "extract"
    assert stages["broken:manifest-schema"] == "manifest"
    assert stages["broken:service-reference"] == "files"
    assert stages["broken:service-syntax"] == "service-import"
    assert stages["broken:input-name"] == "init"
    assert stages["broken:mime-type"] == "endpoints"
    assert stages["broken:labels-missing"] == "request"
    assert "labels" in outcomes[("broken:labels-missing", "0.4")].verdict.error


PROBE_SERVICE = '''\
"""Reports where it runs instead of predicting: the oracle's isolation, seen from inside."""
import importlib.util
import json
import os
import os
import sys

from mms.model_service.mxnet_vision_service import MXNetVisionService


class ProbeService(MXNetVisionService):
    def _postprocess(self, data):
        return [json.dumps({
            "path": sys.path,
            "cwd": os.getcwd(),
            "ours": [m for m in ("mar_lint", "builders", "conftest") if importlib.util.find_spec(m)],
        })]
'''


def test_archive_code_runs_isolated_in_a_throwaway_folder(oracle_ready, tmp_path, mobilenet_model):
    archive = written(
        tmp_path, "probe", replaced(ArchiveSpec(mobilenet_model), "service.py", PROBE_SERVICE)
    )
    verdict = serve(archive)
    assert verdict.ok, verdict
    seen = json.loads(json.loads(verdict.response)["prediction"][0])
    repository = Path(__file__).parents[1]
    assert seen["ours"] == []  # neither the repository nor our editable install is importable
    # the only entries under the repository are a venv living there (site-packages)
    assert all(not p.startswith(str(repository)) or "site-packages" in p for p in seen["path"]), (
        seen["path"]
    )
    assert str(Path(sys.executable).parent) not in seen["path"]
    assert not seen["cwd"].startswith((str(repository), str(tmp_path)))
    assert not Path(seen["cwd"]).exists()  # the throwaway folder is gone


def test_archive_code_cannot_outrun_the_cpu_limit(oracle_ready, tmp_path, mobilenet_model):
    spinning = "while True:\n    pass\n"
    archive = written(
        tmp_path, "spin", replaced(ArchiveSpec(mobilenet_model), "service.py", spinning)
    )
    verdict = serve(archive, cpu_seconds=2)
    assert verdict.stage == "crashed" and "signal" in verdict.error, verdict


def test_no_registry_means_a_clean_skip_reason(monkeypatch, tmp_path):
    """Offline (here: an index on a closed loopback port), installing MMS raises
    OracleUnavailable, which the session fixture turns into pytest.skip."""
    monkeypatch.setenv("MAR_LINT_TEST_CACHE", str(tmp_path))
    for name, value in {
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_FIND_LINKS": "",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
        "PIP_CONFIG_FILE": os.devnull,
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(OracleUnavailable, match="could not install mxnet-model-server==0.4"):
        install_mms("0.4")
    assert [p.name for p in tmp_path.iterdir()] == []  # no half-installed release left behind
