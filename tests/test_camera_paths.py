"""The media paths of protected cameras that would show a place (``amurkg.survey.sensitive._camera_paths``) are
found in one engine-side pass over a graph's paths, not by looking up each record linked to a camera. The pass
must find exactly what the record-by-record reading finds, on any graph: media of one camera or several, media
that share a path, records linked to a camera without a path, paths and links in other graphs, cameras that are
not protected. A path it misses would stay visible with a protected camera's place in it."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
from hypothesis import given
from hypothesis import strategies as st

from amurkg.namespaces import PREFIXES
from amurkg.survey.sensitive import _camera_paths, withholder

AKG = PREFIXES["akg"]
LINK = ox.NamedNode(AKG + "deployment")
PATHS = (ox.NamedNode(AKG + "filePath"), ox.NamedNode(AKG + "fileName"))
SOURCE, OTHER = ox.NamedNode("urn:graph:source"), ox.NamedNode("urn:graph:other")
CAMERAS = [ox.NamedNode(f"urn:camera:{i}") for i in range(4)]
MEDIA = [ox.NamedNode(f"urn:media:{i}") for i in range(8)]
#: place names and a GPS fix of the cameras, and path texts that do or do not repeat them
PLACES = ["Ridge Trail", "Salt Lick", "43.10001", "131.50001"]
TEXTS = st.sampled_from(
    ["media/ridge-trail/IMG_1.jpg", "SaltLick/2.jpg", "post_43.1000_x.jpg", "43,10001.jpg", "plain/IMG_3.jpg", "a.jpg"]
)

quads = st.lists(
    st.one_of(
        st.builds(
            lambda m, c, g: ox.Quad(m, LINK, c, g), st.sampled_from(MEDIA), st.sampled_from(CAMERAS), st.just(SOURCE)
        ),
        st.builds(lambda m, c: ox.Quad(m, LINK, c, OTHER), st.sampled_from(MEDIA), st.sampled_from(CAMERAS)),
        st.builds(
            lambda m, p, t, g: ox.Quad(m, p, ox.Literal(t), g),
            st.sampled_from(MEDIA),
            st.sampled_from(PATHS),
            TEXTS,
            st.sampled_from([SOURCE, SOURCE, SOURCE, OTHER]),
        ),
    ),
    max_size=30,
)
protected = st.dictionaries(
    st.sampled_from(CAMERAS).map(lambda c: c.value), st.lists(st.sampled_from(PLACES), max_size=3)
)


def by_record(store: Any, withholds: dict[str, withholder]) -> set[tuple[Any, Any]]:
    """What the record-by-record reading finds: each record linked to a protected camera, each of its paths."""
    found = set()
    for camera, withhold in withholds.items():
        for link in store.quads_for_pattern(None, LINK, ox.NamedNode(camera), SOURCE):
            for path in PATHS:
                for quad in store.quads_for_pattern(link.subject, path, None, SOURCE):
                    if withhold(quad.object.value) != quad.object.value:
                        found.add((link.subject, quad))
    return found


@given(quads, protected)
def test_the_one_pass_finds_what_the_record_by_record_reading_finds(
    content: list[Any], places: dict[str, list[str]]
) -> None:
    store = ox.Store()
    store.extend(content)
    withholds = {camera: withholder(names) for camera, names in places.items() if names}
    found = list(_camera_paths(store, SOURCE, withholds))
    assert set(found) == by_record(store, withholds)
    assert all(quad.graph_name == SOURCE and quad.subject == media for media, quad in found)


def test_a_path_shared_by_media_of_two_cameras_is_found_for_each() -> None:
    """The pass tries a (camera, path) once: the media of another camera with the same path are still found."""
    store = ox.Store()
    shared = ox.Literal("media/ridge-trail/IMG_1.jpg")
    store.extend(
        [
            ox.Quad(MEDIA[0], LINK, CAMERAS[0], SOURCE),
            ox.Quad(MEDIA[1], LINK, CAMERAS[1], SOURCE),
            ox.Quad(MEDIA[2], LINK, CAMERAS[2], SOURCE),  # not protected
            *(ox.Quad(m, PATHS[0], shared, SOURCE) for m in MEDIA[:3]),
        ]
    )
    withholds = {CAMERAS[0].value: withholder(["Ridge Trail"]), CAMERAS[1].value: withholder(["Ridge Trail"])}
    assert {media for media, _ in _camera_paths(store, SOURCE, withholds)} == {MEDIA[0], MEDIA[1]}
