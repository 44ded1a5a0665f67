"""Survey figures on the command line: each kind renders in each format, says what it shows, and bad input is
one line and exit 2 with nothing written."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_survey import SMALL, run

import amurkg
from amurkg.errors import ParameterError
from amurkg.survey.figures import KINDS, PlotOptions, figure_format, map_locations, plot
from amurkg.survey.filters import SurveyFilter

SVG = "{http://www.w3.org/2000/svg}"
TWO = ("--taxon", "Amur leopard", "--taxon", "wild boar")
ARGS = {"activity": TWO, "rai": TWO, "effort": (), "map": ("--taxon", "Amur leopard"), "overlap": TWO}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plots") / "store"
    amurkg.import_package(folder, SMALL)
    return folder


def _draw(store: Path, tmp_path: Path, kind: str, suffix: str, *extra: str) -> bytes:
    target = tmp_path / f"{kind}.{suffix}"
    result = run(
        "survey", "plot", kind, "--store", str(store), "--interval", "0", *ARGS[kind], *extra, "-o", str(target)
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"amurkg: wrote {target}\n"
    return target.read_bytes()


def _texts(svg: bytes) -> str:
    root = ET.fromstring(svg)
    return " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


@pytest.mark.parametrize("kind", KINDS)
def test_png_is_an_image_with_something_drawn(store: Path, tmp_path: Path, kind: str) -> None:
    from matplotlib.image import imread

    data = _draw(store, tmp_path, kind, "png")
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = imread(io.BytesIO(data), format="png")
    # 80 mm wide at 300 dpi; less than 97 % of it white, and more than one colour besides black and white
    assert abs(pixels.shape[1] - 80 / 25.4 * 300) < 40
    rgb = pixels[..., :3].reshape(-1, 3)
    assert (rgb.min(axis=1) < 0.95).mean() > 0.03
    coloured = (rgb.max(axis=1) - rgb.min(axis=1)) > 0.3
    assert coloured.sum() > 200


@pytest.mark.parametrize("kind", KINDS)
def test_pdf_is_one_page_with_text(store: Path, tmp_path: Path, kind: str) -> None:
    data = _draw(store, tmp_path, kind, "pdf")
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 1
    assert b"/Font" in data and len(data) > 5000


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("activity", ["Local clock time (h, UTC+10:00)", "Activity density (per hour)", "Amur leopard (n = 3)"]),
        ("rai", ["RAI (detections per 100 camera-days)", "Deployment", "D1", "D2", "wild boar"]),
        ("effort", ["Date (UTC)", "Deployment", "Effort: 14.5 camera-days, 2 deployments"]),
        ("map", ["Longitude (° E, WGS84)", "Latitude (° N, WGS84)", "km", "N", "generalised to a 0.1° grid"]),
        ("overlap", ["Local clock time", "Activity density (per hour)", "overlap", "wild boar (n = 2)"]),
    ],
)
def test_svg_says_what_it_shows(store: Path, tmp_path: Path, kind: str, words: list[str]) -> None:
    text = _texts(_draw(store, tmp_path, kind, "svg"))
    caption = " ".join(text.split())
    assert "Data: amurkg-test-survey-2023 (2022-12-31 to 2023-01-10)." in caption
    assert re.search(r"Drawn \d{4}-\d\d-\d\d with amurkg\.", caption)
    for word in words:
        assert word in caption, (word, caption)


def test_svg_text_is_at_least_7_points(store: Path, tmp_path: Path) -> None:
    svg = _draw(store, tmp_path, "overlap", "svg").decode()
    sizes = [float(s) for s in re.findall(r"font-size:\s*([\d.]+)px", svg)]
    # matplotlib writes sizes in px at 72 per inch, so px are points here
    assert sizes and min(sizes) >= 7


def test_overlap_title_gives_the_coefficient_of_the_library(store: Path, tmp_path: Path) -> None:
    from amurkg.survey.patterns import activity_curve

    kg = amurkg.KnowledgeGraph(store=store)
    times = [activity_curve(kg, SurveyFilter(taxon=t), interval=0).times for t in ("Amur leopard", "wild boar")]
    # with its smoothed-bootstrap interval, seeded: the library's own numbers, and the same figure every time
    expected = amurkg.activity_overlap(times[0], times[1], ci=0.95, n_boot=999, seed=0)
    assert expected.lower is not None and expected.upper is not None and expected.lower < expected.upper
    svg = _draw(store, tmp_path, "overlap", "svg")
    shown = f"= {expected.estimate:.2f}, 95% CI {expected.lower:.2f}\u2013{expected.upper:.2f} (clock time)"
    assert shown in _texts(svg)
    assert "basic0 of 999 smoothed-bootstrap resamples (seed 0)" in " ".join(_texts(svg).split())
    assert ET.fromstring(svg).find(f".//{SVG}g[@id='overlap-area']") is not None
    assert _draw(store, tmp_path, "overlap", "svg") == svg


def test_the_overlap_figures_json_twin_has_its_numbers(store: Path) -> None:
    """What the web draws from: the numbers of the figure, as JSON (no NaN), the same on every call."""
    import json

    from amurkg.survey.figures import overlap_data
    from amurkg.survey.patterns import activity_curve

    kg = amurkg.KnowledgeGraph(store=store)
    options = PlotOptions(taxa=("Amur leopard", "wild boar"), interval=0)
    data = overlap_data(kg, SurveyFilter(), options)
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    times = [activity_curve(kg, SurveyFilter(taxon=t), interval=0).times for t in ("Amur leopard", "wild boar")]
    expected = amurkg.activity_overlap(times[0], times[1], ci=0.95, n_boot=999, seed=0)
    assert data["overlap"] == expected.as_dict()
    assert [t["n"] for t in data["taxa"]] == [len(times[0]), len(times[1])]
    # basic0, as R's overlap::bootCI: not clipped to [0, 1] (small samples can pass 1, as they do in R)
    assert data["overlap"]["lower"] < data["overlap"]["upper"] and data["overlap"]["ci"] == 0.95
    assert f"{expected.lower:.2f}\u2013{expected.upper:.2f}" in data["title"]
    assert overlap_data(kg, SurveyFilter(), options) == data


def _markers(svg: bytes) -> int:
    group = ET.fromstring(svg).find(f".//{SVG}g[@id='deployments']")
    assert group is not None
    # matplotlib writes a scatter's markers as one <use> or one <path> each, by how alike they are
    return len(list(group.iter(f"{SVG}use"))) or len(list(group.iter(f"{SVG}path")))


def _with_deployments(folder: Path, rows: list[dict[str, str]], keep_observations: bool = True) -> Path:
    """survey-small with ``rows`` (deploymentID, latitude, longitude, locationName) as extra deployments."""
    import csv
    import shutil

    target = folder / "package"
    shutil.copytree(SMALL, target)
    with (target / "deployments.csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    for row in rows:
        table.append({**table[1], "locationID": "", "coordinateUncertainty": "", **row})
    with (target / "deployments.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    return target


@pytest.mark.parametrize("extra", [0, 1, 9])
def test_map_has_one_marker_per_deployment(tmp_path: Path, extra: int) -> None:
    rows = [
        {"deploymentID": f"X{i}", "latitude": f"{42.6 + 0.07 * i:.4f}", "longitude": f"{130.9 + 0.05 * i:.4f}"}
        for i in range(extra)
    ]
    store = tmp_path / "store"
    amurkg.import_package(store, _with_deployments(tmp_path, rows))
    for args in ((), ("--taxon", "wild boar"), ("--exact-locations",), ("--deployment", "D2")):
        target = tmp_path / "map.svg"
        result = run("survey", "plot", "map", "--store", str(store), *args, "-o", str(target))
        assert result.exit_code == 0, result.stderr
        assert _markers(target.read_bytes()) == (1 if args[:1] == ("--deployment",) else 2 + extra)


def test_names_from_a_package_are_shown_as_written(tmp_path: Path) -> None:
    """A deploymentID with markup and dollar signs is text in the SVG: no element, no mathtext."""
    hostile = "<img src=x onerror=alert(1)>$x^2$"
    store = tmp_path / "store"
    amurkg.import_package(
        store, _with_deployments(tmp_path, [{"deploymentID": hostile, "latitude": "43.0", "longitude": "131.0"}])
    )
    for kind in ("rai", "effort"):
        target = tmp_path / f"{kind}.svg"
        result = run("survey", "plot", kind, "--store", str(store), "--taxon", "wild boar", "-o", str(target))
        assert result.exit_code == 0, result.stderr
        root = ET.fromstring(target.read_bytes())
        assert not [e for e in root.iter() if e.tag.endswith("img") or e.tag.endswith("script")]
        assert hostile in _texts(target.read_bytes())


def test_map_generalises_the_leopards_camera_unless_asked(store: Path) -> None:
    kg = amurkg.KnowledgeGraph(store=store)
    default, missing = map_locations(kg, SurveyFilter())
    assert missing == 0
    where = {p.deployment.deployment_id: (p.latitude, p.longitude, p.generalised) for p in default}
    # D1 (43.1, 131.5) recorded the Critically Endangered leopard: the centre of its 0.1 degree cell
    assert where == {"D1": (43.15, 131.55, True), "D2": (43.2, 131.6, False)}
    coarse = {p.deployment.deployment_id: (p.latitude, p.longitude) for p in map_locations(kg, SurveyFilter(), 1.0)[0]}
    assert coarse["D1"] == (43.5, 131.5)
    exact = {p.deployment.deployment_id: (p.latitude, p.longitude) for p in map_locations(kg, SurveyFilter(), None)[0]}
    assert exact["D1"] == (43.1, 131.5)


def test_exact_map_warns(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "m.svg"
    result = run("survey", "plot", "map", "--store", str(store), "--exact-locations", "-o", str(target))
    assert result.exit_code == 0 and "warning: exact coordinates" in result.stderr
    assert "Exact locations: not for publishing." in " ".join(_texts(target.read_bytes()).split())


def test_the_same_figure_twice_is_the_same_bytes(store: Path) -> None:
    kg = amurkg.KnowledgeGraph(store=store)
    options = PlotOptions(taxa=("Amur leopard",), interval=0, drawn=date(2024, 5, 1))
    for fmt in ("svg", "pdf"):
        assert plot(kg, "activity", SurveyFilter(), fmt, options) == plot(kg, "activity", SurveyFilter(), fmt, options)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bogus",), "unknown plot 'bogus': use one of activity, rai, effort, map, overlap"),
        (("map", "-o", "{dir}/x.gif"), "a figure is written as .png, .svg or .pdf"),
        (("rai", "--taxon", "no such beast", "-o", "{dir}/x.png"), "no entity 'no such beast'"),
        (("overlap", "--taxon", "wild boar", "-o", "{dir}/x.png"), "an overlap plot compares two taxa"),
        (("map", "--grid", "0", "-o", "{dir}/x.png"), "--grid 0.0: the grid is a number of degrees"),
        (("effort", "--since", "2024-01-01", "-o", "{dir}/x.svg"), "no deployment was active"),
        (("activity", "--taxon", "Lynx lynx", "-o", "{dir}/x.png"), "a curve needs at least 2 different times"),
    ],
)
def test_bad_input_is_one_line_and_nothing_written(
    store: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    argv = [a.replace("{dir}", str(tmp_path)) for a in args]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "x.png")]
    result = run("survey", "plot", *argv, "--store", str(store))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("amurkg: error: ")
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=30))
def test_only_png_svg_and_pdf_names_are_figures(name: str) -> None:
    suffix = Path(name).suffix.lower()
    if suffix in (".png", ".svg", ".pdf"):
        assert figure_format(name) == suffix[1:]
    else:
        with pytest.raises(ParameterError, match=r"\.png, \.svg or \.pdf") as info:
            figure_format(name)
        assert "\n" not in str(info.value).replace(repr(name), "")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.text(max_size=12), taxon=st.text(max_size=20))
def test_any_kind_or_taxon_is_a_figure_or_one_line(
    store: Path, tmp_path_factory: pytest.TempPathFactory, kind: str, taxon: str
) -> None:
    folder = tmp_path_factory.mktemp("any")
    target = folder / "x.svg"
    result = run(
        "survey", "plot", kind, "--taxon", taxon, "--taxon", "wild boar", "--store", str(store), "-o", str(target)
    )
    if result.exit_code == 0:
        assert kind in KINDS and target.stat().st_size > 1000
    else:
        assert result.exit_code == 2, result.stderr
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("amurkg: error: ")
        assert "Traceback" not in result.stderr and not target.exists()


@pytest.mark.parametrize(
    ("module", "extra", "command"),
    [
        ("matplotlib", "viz", ("survey", "plot", "overlap", *TWO, "--interval", "0", "-o", "{out}/overlap.svg")),
        ("numpy", "survey", ("survey", "prey-activity-overlap", "--interval", "0", "-o", "{out}/overlap.csv")),
        ("numpy", "survey", ("survey", "activity", "--taxon", "Amur leopard", "-o", "{out}/curve.csv")),
    ],
)
def test_without_an_optional_part_a_command_names_the_extra_to_install(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, extra: str, command: tuple[str, ...]
) -> None:
    """A newcomer who installed amurkg[web] only got a traceback and exit 1 from these: one line, exit 2."""
    import sys

    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed: importing it fails
    result = run(*(a.format(out=tmp_path) for a in command), "--store", str(store))
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [result.stderr.strip()] and "Traceback" not in result.stderr
    assert f"pip install 'amurkg[{extra}]'" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing half-written
