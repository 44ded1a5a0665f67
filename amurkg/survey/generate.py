"""Synthetic Camtrap DP packages for benchmarks and tests: plausible, reproducible, of any size.

Cameras stand in the Land of the Leopard (Primorsky Krai, UTC+10) and across the border in Hunchun (Jilin,
UTC+8); each records for one to three months of 2023. Events follow one another at random through a
deployment; each has an event-level observation and, for most, a media-level one on its first image. Taxa
are drawn with fixed weights: the leopard's prey most often, the leopard and the tiger rarely, other mammals,
people and blank triggers in between. NOT real data: the package says so in its title.

With ``time_lapse`` (a share, 0 to 1), the cameras also take time-lapse images, as many teams' do: one at local
noon each day of a deployment (a set-up check, on which nothing is observed), and that share of the events is
recorded on a time-lapse image instead of a motion-triggered one (an animal that walked past when the timer
fired): the survey analyses leave those out by default. Without it, the package is the one it always was.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

#: (scientific name or None for a blank, observationType, weight)
TAXA: list[tuple[str | None, str, float]] = [
    ("Capreolus pygargus", "animal", 26),
    ("Sus scrofa", "animal", 18),
    ("Cervus nippon mantchuricus", "animal", 12),
    ("Panthera pardus orientalis", "animal", 3),
    ("Panthera tigris altaica", "animal", 1.5),
    ("Meles leucurus", "animal", 5),
    ("Martes zibellina", "animal", 4),
    ("Lepus mandshuricus", "animal", 5),
    ("Nyctereutes procyonoides", "animal", 4),
    ("Ursus thibetanus", "animal", 2),
    ("Prionailurus bengalensis", "animal", 2.5),
    ("Homo sapiens", "human", 7),
    (None, "blank", 10),
]
REGIONS = [  # (name, latitude range, longitude range, UTC offset in hours)
    ("Primorsky Krai", (42.75, 43.55), (130.85, 131.75), 10),
    ("Jilin", (42.85, 43.45), (130.25, 130.80), 8),
]
_DEPLOYMENTS = [
    "deploymentID",
    "locationID",
    "locationName",
    "latitude",
    "longitude",
    "coordinateUncertainty",
    "deploymentStart",
    "deploymentEnd",
    "cameraModel",
    "cameraHeight",
    "baitUse",
    "featureType",
    "habitat",
]
_MEDIA = [
    "mediaID",
    "deploymentID",
    "captureMethod",
    "timestamp",
    "filePath",
    "filePublic",
    "fileName",
    "fileMediatype",
]
_OBSERVATIONS = [
    "observationID",
    "deploymentID",
    "mediaID",
    "eventID",
    "eventStart",
    "eventEnd",
    "observationLevel",
    "observationType",
    "scientificName",
    "count",
    "lifeStage",
    "sex",
    "classificationMethod",
    "classifiedBy",
    "classificationProbability",
]


def generate(folder: Path | str, observations: int, seed: int = 1, time_lapse: float = 0.0) -> Path:
    """Write a package of about ``observations`` observations into ``folder``; its path. ``time_lapse``: the
    share of events recorded on time-lapse images, with a time-lapse image each noon (see the module)."""
    if not 0.0 <= time_lapse <= 1.0:
        from amurkg.errors import ParameterError

        raise ParameterError(f"time_lapse is a share of the events, from 0 to 1, not {time_lapse!r}")
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    events = max(1, round(observations / 1.8))  # an event-level observation, and a media-level one for 80%
    cameras = max(2, events // 550)
    names = [t[0] for t in TAXA]
    types = {t[0]: t[1] for t in TAXA}
    weights = [t[2] for t in TAXA]
    written = 0
    with (
        (folder / "deployments.csv").open("w", newline="", encoding="utf-8") as d,
        (folder / "media.csv").open("w", newline="", encoding="utf-8") as m,
        (folder / "observations.csv").open("w", newline="", encoding="utf-8") as o,
    ):
        dw, mw, ow = (csv.writer(f, lineterminator="\n") for f in (d, m, o))
        dw.writerow(_DEPLOYMENTS)
        mw.writerow(_MEDIA)
        ow.writerow(_OBSERVATIONS)
        per_camera = [events // cameras + (1 if i < events % cameras else 0) for i in range(cameras)]
        for camera, count in enumerate(per_camera):
            region, lats, lons, hours = REGIONS[camera % len(REGIONS)]
            zone = timezone(timedelta(hours=hours))
            start = datetime(2023, 1, 1, tzinfo=zone) + timedelta(
                days=rng.randrange(0, 240), hours=rng.randrange(8, 18)
            )
            end = start + timedelta(days=rng.randrange(30, 92), minutes=rng.randrange(0, 600))
            deployment = f"dep{camera:05d}"
            dw.writerow(
                [
                    deployment,
                    f"loc{camera:05d}",
                    f"{region} camera {camera}",
                    round(rng.uniform(*lats), 5),
                    round(rng.uniform(*lons), 5),
                    rng.choice([10, 25, 50]),
                    start.isoformat(),
                    end.isoformat(),
                    "Reconyx-HF2X",
                    rng.choice([0.5, 0.7, 1.0]),
                    "false",
                    rng.choice(["trailGame", "roadDirt", "waterSource", "trailHiking"]),
                    "mixed broadleaf-Korean pine forest",
                ]
            )
            span = (end - start).total_seconds()
            moments = sorted(rng.uniform(0, span - 60) for _ in range(count))
            taxa = rng.choices(names, weights, k=count)
            for number, (moment, name) in enumerate(zip(moments, taxa, strict=True)):
                at = start + timedelta(seconds=int(moment))
                until = at + timedelta(seconds=rng.randrange(3, 40))
                event = f"{deployment}-e{number}"
                media = f"{event}-m1"
                utc = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                utc_end = until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                kind = types[name]
                method = "timeLapse" if time_lapse and rng.random() < time_lapse else "activityDetection"
                animal = kind == "animal"
                n = rng.choice([1, 1, 1, 1, 2, 3]) if animal else ""
                stage = rng.choice(["adult", "adult", "subadult", "juvenile"]) if animal else ""
                sex = rng.choice(["female", "male", ""]) if animal else ""
                mw.writerow(
                    [
                        media,
                        deployment,
                        method,
                        at.isoformat(),
                        f"media/{media}.jpg",
                        "false",
                        f"{media}.jpg",
                        "image/jpeg",
                    ]
                )
                ow.writerow(
                    [
                        f"{event}-o",
                        deployment,
                        "",
                        event,
                        utc,
                        utc_end,
                        "event",
                        kind,
                        name or "",
                        n,
                        stage,
                        sex,
                        "human",
                        "survey team",
                        "",
                    ]
                )
                written += 1
                if rng.random() < 0.8 and written < observations:
                    ow.writerow(
                        [
                            f"{media}-o",
                            deployment,
                            media,
                            event,
                            utc,
                            utc,
                            "media",
                            kind,
                            name or "",
                            n,
                            stage,
                            sex,
                            "machine",
                            "classifier v1",
                            round(rng.uniform(0.6, 1.0), 2),
                        ]
                    )
                    written += 1
            if time_lapse:  # the daily set-up check: a time-lapse image at local noon, nothing observed on it
                noon = datetime(start.year, start.month, start.day, 12, tzinfo=zone)
                noon += timedelta(days=1) if noon < start else timedelta(0)
                day = 0
                while noon < end:
                    check = f"{deployment}-t{day}"
                    row = [check, deployment, "timeLapse", noon.isoformat(), f"media/{check}.jpg", "false"]
                    mw.writerow([*row, f"{check}.jpg", "image/jpeg"])
                    noon += timedelta(days=1)
                    day += 1
    base = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/"
    descriptor = {
        "resources": [
            {
                "name": name,
                "path": f"{name}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": f"{base}{name}-table-schema.json",
            }
            for name in ("deployments", "media", "observations")
        ],
        "profile": f"{base}camtrap-dp-profile.json",
        "name": f"synthetic-amur-survey-{observations}{'-time-lapse' if time_lapse else ''}",
        "id": f"synthetic-amur-survey-{observations}-{seed}{'-time-lapse' if time_lapse else ''}",
        "created": "2024-01-15T00:00:00Z",
        "title": f"Synthetic camera-trap survey, {observations:,} observations (generated by amurkg; not real data)",
        "contributors": [{"title": "amurkg benchmark generator", "role": "contact"}],
        "licenses": [{"name": "CC0-1.0", "scope": "data"}, {"name": "CC0-1.0", "scope": "media"}],
        "project": {
            "title": "Synthetic transboundary survey",
            "samplingDesign": "systematicRandom",
            "captureMethod": ["activityDetection", "timeLapse"] if time_lapse else ["activityDetection"],
            "individualAnimals": False,
            "observationLevel": ["media", "event"],
        },
        "spatial": {
            "type": "Polygon",
            "coordinates": [[[130.25, 42.75], [131.75, 42.75], [131.75, 43.55], [130.25, 43.55], [130.25, 42.75]]],
        },
        "temporal": {"start": "2023-01-01", "end": "2023-12-31"},
        "taxonomic": [{"scientificName": name} for name in names if name],
    }
    (folder / "datapackage.json").write_text(json.dumps(descriptor, indent=2), encoding="utf-8")
    return folder
