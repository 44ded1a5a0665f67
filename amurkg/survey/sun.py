"""Sunrise and sunset of many camera-days at once, equal to ``astral``'s one at a time.

Solar time (``amurkg.survey.patterns``) needs the sunrise and sunset of each day a detection fell on at its
deployment. ``astral.sun.sunrise`` takes about 170 µs a call in Python, so the activity page spent 20 of its
40 seconds there on 100,000 observations (68,000 detections, each asking for its own day again). Here the
same equations (NOAA's solar calculator, as ``astral`` 3 evaluates them: two passes of the transit time, the
apparent solar radius and the refraction at the horizon, the answer cut to whole microseconds) run on NumPy
arrays, once per distinct (place, UTC offset, local day): the same floating-point operations in the same order,
with ``math``'s own ``tan``, ``asin`` and ``acos`` (NumPy's differ from the C library's in the last bit), so the
instants are astral's to the microsecond (``tests/test_activity_series.py`` compares them).

``astral`` stays the reference: ``sun_instants`` refuses nothing that astral accepts and marks as missing what
astral refuses (no sunrise or sunset that day: polar day or night).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

#: Microseconds in a day.
DAY_US = 86_400_000_000
#: Julian day of 1970-01-01 at 00:00 UTC (Unix day 0).
_JD_UNIX = 2440587.5


def _transit_minutes(
    latitude: NDArray[np.float64], longitude: NDArray[np.float64], days: NDArray[np.int64], rising: bool
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Minutes after 00:00 UTC of Unix day ``days`` at which the sun's upper limb crosses the horizon, rising
    or setting, at each place; and where it does (False: it does not cross that day)."""
    import numpy as np
    from astral import refraction_at_zenith

    zenith = 90.0 + 32.0 / (60.0 * 2.0)  # the apparent radius of the sun below the horizon
    zenith_rad = math.radians(zenith + 0.0 + refraction_at_zenith(zenith + 0.0))
    cos_zenith = math.cos(zenith_rad)
    lat = np.clip(latitude, -89.8, 89.8)
    lat_rad = np.radians(lat)
    sin_lat, cos_lat = np.sin(lat_rad), np.cos(lat_rad)
    jd = days.astype(np.float64) + _JD_UNIX
    adjustment = np.zeros(days.shape, dtype=np.float64)
    ok = np.ones(days.shape, dtype=bool)
    minutes = np.zeros(days.shape, dtype=np.float64)
    for _ in range(2):
        jc = (jd + adjustment - 2451545.0) / 36525.0
        declination = np.degrees(_asin(np.sin(np.radians(_obliquity(jc))) * np.sin(np.radians(_apparent_long(jc)))))
        decl_rad = np.radians(declination)
        h = (cos_zenith - sin_lat * np.sin(decl_rad)) / (cos_lat * np.cos(decl_rad))
        ok &= np.abs(h) <= 1.0
        angle = _acos(np.where(ok, h, 0.0))
        if not rising:
            angle = -angle
        delta = -longitude - np.degrees(angle)
        offset = delta * 4.0 - _equation_of_time(jc)
        offset = np.where(offset < -720.0, offset + 1440, offset)
        minutes = 720.0 + offset
        adjustment = minutes / 1440.0
    return minutes, ok


def _obliquity(jc: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    seconds = 21.448 - jc * (46.815 + jc * (0.00059 - jc * (0.001813)))
    mean = 23.0 + (26.0 + (seconds / 60.0)) / 60.0
    omega = 125.04 - 1934.136 * jc
    return np.asarray(mean + 0.00256 * np.cos(np.radians(omega)))


def _mean_long(jc: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    return np.asarray(np.remainder(280.46646 + jc * (36000.76983 + 0.0003032 * jc), 360.0))


def _mean_anomaly(jc: NDArray[np.float64]) -> NDArray[np.float64]:
    return 357.52911 + jc * (35999.05029 - 0.0001537 * jc)


def _eccentricity(jc: NDArray[np.float64]) -> NDArray[np.float64]:
    return 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)


def _apparent_long(jc: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    m = np.radians(_mean_anomaly(jc))
    centre = (
        np.sin(m) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
        + np.sin(m + m) * (0.019993 - 0.000101 * jc)
        + np.sin(m + m + m) * 0.000289
    )
    true_long = _mean_long(jc) + centre
    omega = 125.04 - 1934.136 * jc
    return np.asarray(true_long - 0.00569 - 0.00478 * np.sin(np.radians(omega)))


def _equation_of_time(jc: NDArray[np.float64]) -> NDArray[np.float64]:
    """Minutes."""
    import numpy as np

    l0, e, m = _mean_long(jc), _eccentricity(jc), _mean_anomaly(jc)
    y = _tan(np.radians(_obliquity(jc)) / 2.0)
    y = y * y
    sin2l0 = np.sin(2.0 * np.radians(l0))
    sinm = np.sin(np.radians(m))
    cos2l0 = np.cos(2.0 * np.radians(l0))
    sin4l0 = np.sin(4.0 * np.radians(l0))
    sin2m = np.sin(2.0 * np.radians(m))
    value = y * sin2l0 - 2.0 * e * sinm + 4.0 * e * y * sinm * cos2l0 - 0.5 * y * y * sin4l0 - 1.25 * e * e * sin2m
    return np.asarray(np.degrees(value) * 4.0)


def _each(function: object, values: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    return np.fromiter(map(function, values.tolist()), dtype=np.float64, count=values.size)  # type: ignore[call-overload]


def _tan(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return _each(math.tan, values)


def _asin(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return _each(math.asin, values)


def _acos(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return _each(math.acos, values)


def _microseconds(minutes: NDArray[np.float64]) -> NDArray[np.int64]:
    """Whole microseconds of a number of minutes, cut as ``astral`` cuts them (days, seconds, microseconds, each
    towards zero)."""
    import numpy as np

    days = np.trunc(minutes / 1440)
    rest = (minutes - days * 1440) * 60
    seconds = np.trunc(rest)
    micro = np.trunc((rest - seconds) * 1_000_000)
    return np.asarray(days.astype(np.int64) * DAY_US + seconds.astype(np.int64) * 1_000_000 + micro.astype(np.int64))


def sun_instants(
    latitude: NDArray[np.float64],
    longitude: NDArray[np.float64],
    offset_us: NDArray[np.int64],
    local_day: NDArray[np.int64],
    rising: bool,
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Sunrise (``rising``) or sunset on each local day (days since 1970-01-01 in the local time of UTC offset
    ``offset_us``, microseconds) at each place, as microseconds since the Unix epoch, and where there is one:
    ``astral.sun.sunrise(Observer(lat, lon), day, tzinfo=timezone(offset))`` (or ``sunset``), which looks at the
    next or previous UTC day when the instant found falls on another local day, and gives up if that one does
    too."""
    import numpy as np

    def attempt(days: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int64]]:
        minutes, ok = _transit_minutes(latitude, longitude, days, rising)
        instant = days * DAY_US + _microseconds(minutes)
        return instant, ok, np.floor_divide(instant + offset_us, DAY_US)

    instant, ok, found = attempt(local_day)
    other = found != local_day
    if other.any():
        retry = local_day + np.where(found < local_day, 1, -1)
        again, ok_again, found_again = attempt(retry)
        instant = np.where(other, again, instant)
        ok = ok & np.where(other, ok_again & (found_again == local_day), True)  # astral stops at a first failure
    return instant, ok
