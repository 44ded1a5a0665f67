"""The cameras of imported surveys as GeoJSON (RFC 7946), for QGIS, Leaflet and any GIS.

One FeatureCollection, one Feature per deployment: a Point at ``[longitude, latitude]`` in WGS84 (RFC 7946 has
no other coordinate system, so no ``crs`` member), or ``null`` geometry for a deployment without coordinates.
Its properties are flat, as GIS attribute tables want them: the deployment's identifiers and dates, its
camera-days, and for each taxon detected there (or below the filter's taxon) its independent detections and
relative abundance index per 100 camera-days, as ``detections:<scientific name>`` and ``rai:<scientific name>``.

The locations of cameras that recorded a threatened taxon are generalised to the centre of a grid cell as in
every export (``amurkg.survey.sensitive``), with ``coordinateUncertaintyInMeters``, ``dataGeneralizations`` and
``informationWithheld`` saying so; ``grid=None`` gives the exact locations (not for publishing).

The text has ``<``, ``>`` and ``&`` escaped (``\\u003c``...), still the same JSON, so that a page which pastes it
into HTML cannot be made to run a script by a name in a package.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from amurkg.survey.filters import SurveyFilter


def deployments_geojson(
    kg: Any, flt: SurveyFilter | None = None, grid: float | None = 0.1, interval: float = 30
) -> dict[str, Any]:
    """The FeatureCollection of the deployments the filter keeps (see the module's description)."""
    import contextlib

    from amurkg.survey.effort import individual_counts
    from amurkg.survey.figures import map_locations
    from amurkg.survey.filters import deployments
    from amurkg.survey.sensitive import Grid, exact_view, sensitive_deployments

    flt = flt or SurveyFilter()
    cells = Grid(grid) if grid is not None else None
    located, _ = map_locations(kg, flt, grid)
    where = {p.deployment.iri: p for p in located}
    with exact_view(kg):
        reasons = sensitive_deployments(kg) if cells is not None else {}
    counts: dict[str, list[Any]] = {}
    for count in individual_counts(kg, flt, interval):
        counts.setdefault(f"{count.package}\n{count.deployment_id}", []).append(count)
    features = []
    lons: list[float] = []
    lats: list[float] = []
    # locality text of protected cameras is in the exact graph: shown with exact coordinates only
    with exact_view(kg) if cells is None else contextlib.nullcontext():
        cameras = deployments(kg, flt.with_taxon(None))
    for d in cameras:
        days = max(0.0, (d.end - d.start) / 86400)
        properties: dict[str, Any] = {
            "deploymentID": d.deployment_id,
            "locationID": d.location_id,
            "locationName": None if d.iri in reasons else d.location_name,
            "package": d.package,
            "deploymentStart": datetime.fromtimestamp(d.start, d.tz).isoformat(),
            "deploymentEnd": datetime.fromtimestamp(d.end, d.tz).isoformat(),
            "cameraDays": round(days, 6),
            "coordinatesGeneralised": False,
        }
        for c in sorted(counts.get(f"{d.package}\n{d.deployment_id}", []), key=lambda c: (c.scientific_name, c.taxon)):
            name = c.scientific_name or c.taxon
            found = properties.get(f"detections:{name}", 0) + c.detections
            properties[f"detections:{name}"] = found
            properties[f"rai:{name}"] = round(found * 100 / days, 3) if days > 0 else None
        point = where.get(d.iri)
        geometry: dict[str, Any] | None = None
        if point is not None:
            geometry = {"type": "Point", "coordinates": [point.longitude, point.latitude]}
            lons.append(point.longitude)
            lats.append(point.latitude)
            if point.generalised and cells is not None:
                properties["coordinatesGeneralised"] = True
                properties["coordinateUncertaintyInMeters"] = cells.uncertainty(point.latitude)
                properties["coordinatePrecision"] = cells.degrees
                properties["dataGeneralizations"] = cells.generalization(reasons.get(d.iri, set()))
                properties["informationWithheld"] = cells.withheld()
        features.append(
            {"type": "Feature", "id": f"{d.package}/{d.deployment_id}", "geometry": geometry, "properties": properties}
        )
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if lons:
        collection["bbox"] = [min(lons), min(lats), max(lons), max(lats)]
    return collection


def to_text(collection: dict[str, Any]) -> str:
    """The collection as JSON text, safe to paste into HTML."""
    text = json.dumps(collection, ensure_ascii=False, indent=1, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"
