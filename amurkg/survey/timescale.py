"""Times of day of detections, in clock or solar time, computed for many at once: the one place both the
analyses (``amurkg.survey.patterns``) and the import-time series (``amurkg.survey.series``) turn POSIX starts into
fractions of a day. Solar time anchors sunrise at 0.25 and sunset at 0.75 (``amurkg.survey.sun``: NOAA's
equations as astral computes them, once per place and local day)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

from amurkg.errors import ParameterError
from amurkg.survey.filters import Deployment

TimeScale = Literal["clock", "solar"]
_EPOCH_DAY = date(1970, 1, 1)


def run_times(starts: Any, which: Any, places: Sequence[Deployment], scale: TimeScale | str) -> tuple[Any, int]:
    """``scale_times`` of detections whose deployments are ``places[which[i]]``."""
    return kept_times(aligned_times(starts, which, places, scale), scale)


def aligned_times(starts: Any, which: Any, places: Sequence[Deployment], scale: TimeScale | str) -> Any:
    """The time of day of each detection in ``scale``, in the detections' order: NaN where a detection has no
    solar time (a place without coordinates, a day without sunrise or sunset). Each value depends only on its
    own detection, so the times of several samples may be computed together and split."""
    import numpy as np

    if scale not in ("clock", "solar"):
        raise ParameterError(f"unknown time scale {scale!r}: use clock or solar")
    which = np.asarray(which, dtype=np.int64)
    offsets = np.array([p.offset // timedelta(microseconds=1) for p in places], dtype=np.int64)
    clock, day = _local(np.asarray(starts, dtype=np.float64), offsets[which], places, which)
    if scale == "clock":
        return clock
    lat = np.array([math.nan if p.latitude is None else p.latitude for p in places], dtype=np.float64)
    lon = np.array([math.nan if p.longitude is None else p.longitude for p in places], dtype=np.float64)
    return _solar(clock, day, which, offsets, lat, lon)


def kept_times(values: Any, scale: TimeScale | str) -> tuple[Any, int]:
    """``aligned_times``'s values without those that have no time (below 1), and how many those were."""
    import numpy as np

    if scale == "clock":
        return values, 0
    kept = np.minimum(values[~np.isnan(values)], math.nextafter(1.0, 0.0))
    return kept, int(values.size - kept.size)


def _local(starts: Any, offsets_us: Any, places: Sequence[Deployment], which: Any) -> tuple[Any, Any]:
    """``Detection.day_fraction`` and the local day (days since 1970-01-01, local time) of each start. Whole
    seconds at a whole-second offset are computed on the array (exactly: integers below 2**53); any other
    start goes through ``datetime`` as ``day_fraction`` does (microseconds rounded half to even)."""
    import numpy as np

    whole = (np.floor(starts) == starts) & (offsets_us % 1_000_000 == 0)
    local = starts + (offsets_us // 1_000_000).astype(np.float64)
    seconds = np.where(whole, np.remainder(local, 86400.0), 0.0)
    day = np.where(whole, np.floor_divide(local, 86400.0), 0.0).astype(np.int64)
    fraction = seconds / 86400
    for i in np.flatnonzero(~whole).tolist():
        moment = datetime.fromtimestamp(float(starts[i]), places[int(which[i])].tz)
        since = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
        fraction[i] = since / 86400
        day[i] = (moment.date() - _EPOCH_DAY).days
    return np.minimum(fraction, math.nextafter(1.0, 0.0)), day


def _solar(clock: Any, day: Any, which: Any, offsets_us: Any, lat: Any, lon: Any) -> Any:
    """``solar_time`` of each detection (NaN where it has none), from its clock time and local day, at the place
    ``which`` (an index into ``lat``, ``lon`` and the UTC offsets ``offsets_us``): the sunrise and sunset of each
    distinct place and day once (``amurkg.survey.sun``)."""
    import numpy as np

    out = np.full(clock.shape, np.nan)
    placed = ~(np.isnan(lat) | np.isnan(lon))[which]
    if not placed.any():
        return out
    first = int(day[placed].min())
    days = int(day[placed].max()) - first + 1
    # one key per place and local day: a sort of integers, not of rows of four floats
    keys, inverse = np.unique(which[placed] * days + (day[placed] - first), return_inverse=True)
    inverse = inverse.reshape(-1)
    place, u_day = keys // days, keys % days + first
    u_sr, u_ss, u_sun = _SUN.fractions(lat[place], lon[place], offsets_us[place], u_day, place)
    sr, ss, sun = u_sr[inverse], u_ss[inverse], u_sun[inverse]
    t = clock[placed]
    day_length = np.remainder(ss - sr, 1.0)
    daytime = np.where(sr < ss, (sr < t) & (t < ss), (t > sr) | (t < ss))
    since = np.where(daytime, np.remainder(t - sr, 1.0), np.remainder(t - ss, 1.0))
    span = np.where(daytime, day_length, 1.0 - day_length)
    anchor = np.where(daytime, 0.25, 0.75)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.remainder(anchor + since / span * 0.5, 1.0)
    out[np.flatnonzero(placed)] = np.where(sun, value, np.nan)
    return out


def _sun_of(lat: Any, lon: Any, offset_us: Any, day: Any) -> tuple[Any, Any, Any]:
    """Sunrise and sunset as fractions of each local day (``day``, at UTC offset ``offset_us``) at each place,
    and whether the sun rose and set that day (``amurkg.survey.sun``)."""
    import numpy as np

    from amurkg.survey.sun import DAY_US, sun_instants

    rise, rose = sun_instants(lat, lon, offset_us, day, rising=True)
    fall, fell = sun_instants(lat, lon, offset_us, day, rising=False)
    midnight = day * DAY_US - offset_us
    sr = np.remainder((rise - midnight).astype(np.float64) / DAY_US, 1.0)
    ss = np.remainder((fall - midnight).astype(np.float64) / DAY_US, 1.0)
    return sr, ss, rose & fell


class _Days:
    """One place's sunrise and sunset fractions by local day, from day ``first``, and which days are known."""

    def __init__(self, first: int, size: int) -> None:
        import numpy as np

        self.first = first
        self.sr = np.zeros(size, dtype=np.float64)
        self.ss = np.zeros(size, dtype=np.float64)
        self.sun = np.zeros(size, dtype=bool)
        self.known = np.zeros(size, dtype=bool)

    def covering(self, lo: int, hi: int) -> _Days:
        """This table, or a larger copy of it that holds the days lo..hi (inclusive)."""
        end = self.first + self.sr.size
        if lo >= self.first and hi < end:
            return self
        grown = _Days(min(lo, self.first), max(hi + 1, end) - min(lo, self.first))
        at = self.first - grown.first
        for name in ("sr", "ss", "sun", "known"):
            getattr(grown, name)[at : at + self.sr.size] = getattr(self, name)
        return grown


class _SunTable:
    """The sunrise and sunset of every place and local day asked for so far in this process, each computed once:
    they never change, and the activity page asks for the same camera-days at every interval and for every
    taxon (the zygote of ``amurkg serve`` fills it for its workers). The values are those ``_sun_of`` gives
    (each depends only on its place and day), so a table answer equals a fresh one. Cleared past
    ``MOST_DAYS`` place-days (about 18 bytes each)."""

    MOST_DAYS = 4_000_000

    def __init__(self) -> None:
        import threading

        self.places: dict[tuple[float, float, int], _Days] = {}
        self.days = 0
        self.lock = threading.Lock()

    def fractions(self, lat: Any, lon: Any, offset_us: Any, day: Any, place: Any) -> tuple[Any, Any, Any]:
        """``_sun_of(lat, lon, offset_us, day)``, for place-days sorted by ``place`` (an index that is the same
        for every row of one place)."""
        import numpy as np

        n = int(day.size)
        if n == 0:
            return _sun_of(lat, lon, offset_us, day)
        cuts = (np.flatnonzero(np.diff(place)) + 1).tolist()
        bounds = list(zip([0, *cuts], [*cuts, n], strict=True))
        with self.lock:
            if self.days > self.MOST_DAYS:
                self.places.clear()
                self.days = 0
            rows: list[tuple[_Days, int, int, Any]] = []
            unknown: list[Any] = []
            for lo, hi in bounds:
                key = (float(lat[lo]), float(lon[lo]), int(offset_us[lo]))
                days = day[lo:hi]
                table = self.places.get(key) or _Days(int(days[0]), 0)
                grown = table.covering(int(days.min()), int(days.max()))
                self.days += grown.sr.size - table.sr.size
                self.places[key] = grown
                at = days - grown.first
                rows.append((grown, lo, hi, at))
                unknown.append(lo + np.flatnonzero(~grown.known[at]))
            missing = np.concatenate(unknown)
            if missing.size:
                sr, ss, sun = _sun_of(lat[missing], lon[missing], offset_us[missing], day[missing])
                done = 0
                for (table, lo, _, at), which in zip(rows, unknown, strict=True):
                    slots = at[which - lo]
                    table.sr[slots] = sr[done : done + which.size]
                    table.ss[slots] = ss[done : done + which.size]
                    table.sun[slots] = sun[done : done + which.size]
                    table.known[slots] = True
                    done += which.size
            out_sr = np.empty(n, dtype=np.float64)
            out_ss = np.empty(n, dtype=np.float64)
            out_sun = np.empty(n, dtype=bool)
            for table, lo, hi, at in rows:
                out_sr[lo:hi], out_ss[lo:hi], out_sun[lo:hi] = table.sr[at], table.ss[at], table.sun[at]
        return out_sr, out_ss, out_sun


_SUN = _SunTable()
