"""amurkg survey geojson: RFC 7946 for QGIS and Leaflet, and no exact location of a threatened taxon in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geojson
import pytest
from conftest import new_store
from hypothesis import HealthCheck, given, settings
from places import PLACES, hidden_cameras, numbers, package_at
from test_survey import SMALL, run

import amurkg
from amurkg.survey.geojson import to_text
from amurkg.survey.sensitive import Grid


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("geojson") / "store"
    amurkg.import_package(folder, SMALL)
    return folder


def _collection(*args: str) -> tuple[dict[str, Any], str]:
    result = run("survey", "geojson", *args)
    assert result.exit_code == 0, result.stderr
    parsed = geojson.loads(result.stdout)  # python-geojson, the judge of the structure
    assert parsed.is_valid, parsed.errors()
    return json.loads(result.stdout), result.stderr


def _check_rfc7946(collection: dict[str, Any]) -> None:
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    for feature in collection["features"]:
        assert feature["type"] == "Feature" and isinstance(feature["id"], str)
        lon, lat = feature["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
    west, south, east, north = collection["bbox"]
    points = [f["geometry"]["coordinates"] for f in collection["features"]]
    assert (west, south) == (min(p[0] for p in points), min(p[1] for p in points))
    assert (east, north) == (max(p[0] for p in points), max(p[1] for p in points))


def test_small_survey_as_geojson(store: Path) -> None:
    collection, stderr = _collection("--store", str(store), "--interval", "0")
    assert stderr == ""
    _check_rfc7946(collection)
    by_id = {f["properties"]["deploymentID"]: f for f in collection["features"]}
    assert set(by_id) == {"D1", "D2"}
    # longitude first; D2 (43.2 N, 131.6 E) recorded no threatened taxon and stays where it is
    assert by_id["D2"]["geometry"]["coordinates"] == [131.6, 43.2]
    assert by_id["D2"]["properties"]["coordinatesGeneralised"] is False
    # D1 (43.1 N, 131.5 E) recorded the Critically Endangered leopard: the centre of its 0.1 degree cell
    d1 = by_id["D1"]
    assert d1["geometry"]["coordinates"] == [131.55, 43.15]
    assert d1["properties"]["coordinatesGeneralised"] is True
    assert "Panthera pardus orientalis (IUCN CR)" in d1["properties"]["dataGeneralizations"]
    assert d1["properties"]["coordinateUncertaintyInMeters"] == Grid(0.1).uncertainty(43.15)
    assert d1["properties"]["coordinatePrecision"] == 0.1
    # counted as individuals does: 3 leopard records at different instants over 10 camera-days
    assert d1["properties"]["cameraDays"] == 10
    assert d1["properties"]["detections:Panthera pardus orientalis"] == 3
    assert d1["properties"]["rai:Panthera pardus orientalis"] == 30
    assert d1["properties"]["locationName"] is None  # withheld with the coordinates (Chapman 2020)
    assert "locality text withheld" in d1["properties"]["informationWithheld"]
    assert by_id["D2"]["properties"]["locationName"] == "stream, upper"
    assert by_id["D2"]["properties"]["rai:Sus scrofa"] == pytest.approx(100 / 4.5, abs=1e-3)


def test_taxon_and_interval_choose_the_counts(store: Path) -> None:
    collection, _ = _collection("--store", str(store), "--taxon", "Amur leopard", "--interval", "30")
    by_id = {f["properties"]["deploymentID"]: f["properties"] for f in collection["features"]}
    assert len(by_id) == 2  # every camera, with or without the taxon
    assert by_id["D1"]["detections:Panthera pardus orientalis"] == 2  # 11:20 is 20 minutes after 11:00
    assert not any(key.startswith("detections:") for key in by_id["D2"])
    assert not any("Sus scrofa" in key for key in by_id["D1"])


def test_exact_locations_only_when_asked_with_a_warning(store: Path) -> None:
    collection, stderr = _collection("--store", str(store), "--exact-locations")
    assert "warning: exact coordinates of threatened taxa" in stderr
    d1 = next(f for f in collection["features"] if f["properties"]["deploymentID"] == "D1")
    assert d1["geometry"]["coordinates"] == [131.5, 43.1]
    assert d1["properties"]["coordinatesGeneralised"] is False


def test_text_is_safe_to_paste_into_html() -> None:
    text = to_text({"type": "FeatureCollection", "features": [], "name": "<script>alert('&')</script>"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["name"] == "<script>alert('&')</script>"


def test_bad_grid_and_store_without_survey(store: Path) -> None:
    result = run("survey", "geojson", "--store", str(store), "--grid", "-1")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "--grid" in result.stderr
    assert result.stdout == ""


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**PLACES)
def test_no_exact_coordinate_of_a_threatened_taxon_in_geojson(
    tmp_path_factory: pytest.TempPathFactory,
    empty_store: Path,
    coordinates: dict[str, tuple[float, float]],
    leopard_at: set[str],
    grid: float,
) -> None:
    folder = tmp_path_factory.mktemp("geo")
    store = new_store(empty_store, folder)
    assert run("import", str(package_at(folder, coordinates, leopard_at)), "--store", str(store)).exit_code == 0
    result = run("survey", "geojson", "--store", str(store), "--grid", str(grid))
    assert result.exit_code == 0, result.stderr
    written = numbers(result.stdout.encode())
    cells = Grid(grid)
    features = {f["properties"]["deploymentID"]: f for f in json.loads(result.stdout)["features"]}
    hidden = hidden_cameras(coordinates, leopard_at)
    public = {v for d, point in coordinates.items() if d not in hidden for v in point}
    for deployment, (lat, lon) in coordinates.items():
        shown = features[deployment]["geometry"]["coordinates"]
        if deployment in hidden:
            for value in {lat, lon} - public:  # a value another camera shares openly is no secret of this one
                assert value not in written, (deployment, value)
            assert (shown[1], shown[0]) == cells.point(lat, lon)
        else:
            assert shown == [lon, lat]  # the check would see an exact value
