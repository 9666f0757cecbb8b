"""Events-file writer and reader: layout, completion mark, atomic writes, bad files."""

import h5py
import numpy as np
import pytest

from gen.events import EventChunk
from gen.io import (
    EVENTS_FORMAT,
    FileFormatError,
    chunk_arrays,
    events_writer,
    iter_event_chunks,
    open_events,
    read_events,
)


def _chunk(n, per_event, start=0.0):
    c = EventChunk.fixed_multiplicity(n, per_event, truth={"m_x": np.full(n, 1.5)})
    c.particles["px"][:] = start + np.arange(n * per_event)
    c.particles["pdg"][:] = 13
    return c


def _write(path, chunks):
    with events_writer(
        path, {"process": "test", "n_events": sum(c.n_events for c in chunks), "seed": 1}
    ) as w:
        for c in chunks:
            w.append(chunk_arrays(c))


def test_round_trip_with_global_offsets(tmp_path):
    path = tmp_path / "ev.h5"
    _write(path, [_chunk(3, 2), _chunk(4, 3, start=100.0)])
    attrs, ev = read_events(path)
    assert attrs["format"] == EVENTS_FORMAT
    assert attrs["complete"]
    np.testing.assert_array_equal(ev.offset, [0, 2, 4, 6, 9, 12, 15, 18])
    np.testing.assert_array_equal(ev.particles["px"][6:9], [100.0, 101.0, 102.0])
    assert ev.particles["pdg"].dtype == np.int32
    assert ev.truth["m_x"].shape == (7,)
    with open_events(path) as f:
        chunks = list(iter_event_chunks(f, 5))
    assert [s for s, _ in chunks] == [0, 5]
    np.testing.assert_array_equal(chunks[1][1].offset, [0, 3, 6])


def test_failure_leaves_no_file(tmp_path):
    path = tmp_path / "ev.h5"
    def fail():
        with events_writer(path, {"n_events": 1}) as w:
            w.append(chunk_arrays(_chunk(1, 2)))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert list(tmp_path.iterdir()) == []


def test_missing_truncated_foreign_incomplete(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        open_events(tmp_path / "nope.h5")
    good = tmp_path / "good.h5"
    _write(good, [_chunk(50, 4)])
    data = good.read_bytes()
    bad = tmp_path / "trunc.h5"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError):
        open_events(bad)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f.attrs["format"] = "something/else"
    with pytest.raises(FileFormatError, match="not a 'b2dark.events/1'"):
        open_events(foreign)
    newer = tmp_path / "newer.h5"
    with h5py.File(newer, "w") as f:
        f.attrs["format"] = "b2dark.events/9"
    with pytest.raises(FileFormatError, match="upgrade b2dark"):
        open_events(newer)
    incomplete = tmp_path / "incomplete.h5"
    with h5py.File(incomplete, "w") as f:
        f.attrs["format"] = EVENTS_FORMAT
    with pytest.raises(FileFormatError, match="incomplete"):
        open_events(incomplete)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(FileFormatError, match="not an HDF5"):
        open_events(text)


def test_wrong_lengths_are_refused(tmp_path):
    path = tmp_path / "ev.h5"
    _write(path, [_chunk(3, 2)])
    with h5py.File(path, "r+") as f:
        f.attrs["n_events"] = 4
    with pytest.raises(FileFormatError, match="n_events"):
        open_events(path)
